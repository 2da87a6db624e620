#!/usr/bin/env python3
"""Steady client load for the upgrade lab (Tests/lab/upgrade.sh): real routes, every
request counted, every failure kept.

Per kind, CONCURRENCY threads send requests back to back until STOP_FILE exists:
  health   GET  {server}/health                           a new connection per request
  commit   POST {server}/workspaces/{ws}/memories          a new connection per request
  search   GET  {server}/workspaces/{ws}/memories?q=...    keep-alive
  plugin   GET  {plugin}/v1/health                         keep-alive

A request fails when it gets no response or a status other than 2xx. On a keep-alive
connection the server may close while idle (an old process draining after a handover);
a request that finds its reused connection already closed before any byte of a response is
sent again once on a new connection, as HTTP clients do for idempotent requests (RFC 9112
section 9.3.1). Those reconnects are counted and reported, not hidden.

Writes OUT (JSON): totals and failures per kind, the first errors, and the completion
time (epoch seconds, ms precision) of every successful request, for rates per window.

Usage: load_client.py SERVER_URL PLUGIN_URL WORKSPACE TOKEN STOP_FILE OUT [CONCURRENCY]
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

SERVER, PLUGIN, WORKSPACE, TOKEN, STOP_FILE, OUT = sys.argv[1:7]
CONCURRENCY = int(sys.argv[7]) if len(sys.argv) > 7 else 2
TIMEOUT = 60

lock = threading.Lock()
stats = {}
errors = []
completions = []


def record(kind, ok, detail=None, reconnected=False):
    now = time.time()
    with lock:
        entry = stats.setdefault(kind, {"requests": 0, "failed": 0, "reconnects": 0})
        entry["requests"] += 1
        if reconnected:
            entry["reconnects"] += 1
        if ok:
            completions.append(round(now, 3))
        else:
            entry["failed"] += 1
            if len(errors) < 20:
                errors.append({"kind": kind, "at": round(now, 3), "detail": detail})


def connect(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)


CLOSED_BEFORE_REPLY = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def exchange(connection, method, path, body, headers):
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    return response.status, data


def fresh_loop(kind, base, method, path_for, body_for):
    i = 0
    while not os.path.exists(STOP_FILE):
        i += 1
        connection = connect(base)
        try:
            body = body_for(i)
            headers = {"Authorization": "Bearer " + TOKEN, "Connection": "close"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            status, data = exchange(connection, method, path_for(i), body, headers)
            record(kind, 200 <= status < 300, None if 200 <= status < 300 else "HTTP %d %s" % (status, data[:200]))
        except Exception as error:  # every failure counts, whatever it is
            record(kind, False, "%s: %s" % (type(error).__name__, error))
        finally:
            connection.close()


def keepalive_loop(kind, base, path):
    connection, used = connect(base), False
    headers = {"Authorization": "Bearer " + TOKEN}
    while not os.path.exists(STOP_FILE):
        reconnected = False
        try:
            try:
                status, data = exchange(connection, "GET", path, None, headers)
            except CLOSED_BEFORE_REPLY:
                if not used:
                    raise
                # The idle connection was closed by the server: once more on a new one.
                connection.close()
                connection, reconnected = connect(base), True
                status, data = exchange(connection, "GET", path, None, headers)
            used = True
            record(kind, 200 <= status < 300, None if 200 <= status < 300 else "HTTP %d %s" % (status, data[:200]), reconnected)
        except Exception as error:
            record(kind, False, "%s: %s" % (type(error).__name__, error), reconnected)
            connection.close()
            connection, used = connect(base), False
    connection.close()


memories = "/workspaces/%s/memories" % WORKSPACE
workers = []
for n in range(CONCURRENCY):
    workers += [
        threading.Thread(target=fresh_loop, args=("health", SERVER, "GET", lambda i: "/health", lambda i: None)),
        threading.Thread(target=fresh_loop, args=(
            "commit", SERVER, "POST", lambda i: memories,
            lambda i, n=n: json.dumps({"content": "lab load note %d-%d" % (n, i), "scope": "LOCAL"}))),
        threading.Thread(target=keepalive_loop, args=("search", SERVER, memories + "?q=note&limit=5")),
        threading.Thread(target=keepalive_loop, args=("plugin", PLUGIN, "/v1/health")),
    ]
started = time.time()
for worker in workers:
    worker.daemon = True
    worker.start()
print("running", flush=True)
for worker in workers:
    worker.join()
with lock:
    summary = {"started": round(started, 3), "stopped": round(time.time(), 3), "concurrency": CONCURRENCY,
               "kinds": stats, "failed": sum(k["failed"] for k in stats.values()),
               "requests": sum(k["requests"] for k in stats.values()), "errors": errors,
               "completions": sorted(completions)}
with open(OUT, "w") as out:
    json.dump(summary, out)
