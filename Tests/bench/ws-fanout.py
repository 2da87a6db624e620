#!/usr/bin/env python3
"""Events fan-out latency: one POST /workspaces/:id/notify, seen by N operator
WebSocket subscribers on GET /ws. Prints p50/p99/max of (frame read - POST sent) over
every (round, subscriber) pair, plus the notify call's own answer time (the event is
published before notify answers, so a delivery can be seen before the answer). Standard library only: a minimal RFC 6455 client
(server frames are unmasked text; we never send data, only the handshake).

  Tests/bench/ws-fanout.py PORT ADMIN_TOKEN WORKSPACE_ID WORKSPACE_TOKEN [SUBSCRIBERS] [ROUNDS]
"""
import base64
import http.client
import json
import os
import selectors
import socket
import sys
import time


def connect(port, admin):
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    protocol = "molecule-ws, molecule-auth." + admin.encode().hex()
    sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {protocol}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("the server closed the WebSocket handshake")
        head += chunk
    status = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status:
        raise SystemExit(f"upgrade refused: {status.decode(errors='replace')}")
    sock.setblocking(False)
    return sock, head.split(b"\r\n\r\n", 1)[1]


def frames(buffer):
    """Complete frames at the front of buffer: (payloads, rest)."""
    payloads = []
    while len(buffer) >= 2:
        length = buffer[1] & 0x7F
        offset = 2
        if length == 126:
            if len(buffer) < 4:
                break
            length, offset = int.from_bytes(buffer[2:4], "big"), 4
        elif length == 127:
            if len(buffer) < 10:
                break
            length, offset = int.from_bytes(buffer[2:10], "big"), 10
        if len(buffer) < offset + length:
            break
        if buffer[0] & 0x0F == 1:
            payloads.append(buffer[offset:offset + length])
        buffer = buffer[offset + length:]
    return payloads, buffer


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    port, admin, workspace, token = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    subscribers = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 50
    selector = selectors.DefaultSelector()
    buffers = {}
    for _ in range(subscribers):
        sock, rest = connect(port, admin)
        buffers[sock] = rest
        selector.register(sock, selectors.EVENT_READ)
    time.sleep(1)  # every subscription is live before the first event
    client = http.client.HTTPConnection("127.0.0.1", port)
    latencies = []
    answers = []
    for round_number in range(rounds):
        marker = f"fanout-{round_number}-{os.getpid()}"
        body = json.dumps({"message": marker})
        started = time.perf_counter()
        client.request("POST", f"/workspaces/{workspace}/notify", body,
                       {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = client.getresponse()
        response.read()
        answers.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise SystemExit(f"notify answered {response.status}")
        waiting = set(buffers)
        deadline = started + 30
        while waiting and time.perf_counter() < deadline:
            for key, _ in selector.select(timeout=1):
                sock = key.fileobj
                chunk = sock.recv(65536)
                if not chunk:
                    raise SystemExit("a subscriber was disconnected")
                seen_at = time.perf_counter()
                payloads, buffers[sock] = frames(buffers[sock] + chunk)
                if sock in waiting and any(marker.encode() in payload for payload in payloads):
                    waiting.discard(sock)
                    latencies.append((seen_at - started) * 1000)
        if waiting:
            raise SystemExit(f"round {round_number}: {len(waiting)} subscribers never saw the event")
    print(f"subscribers={subscribers} rounds={rounds} deliveries={len(latencies)}")
    print(f"p50_ms={percentile(latencies, 0.50):.2f} p99_ms={percentile(latencies, 0.99):.2f} max_ms={max(latencies):.2f}")
    print(f"notify_answer_p50_ms={percentile(answers, 0.50):.2f} notify_answer_p99_ms={percentile(answers, 0.99):.2f}")


if __name__ == "__main__":
    main()
