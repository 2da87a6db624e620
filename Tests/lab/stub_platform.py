#!/usr/bin/env python3
"""A stub platform for the install lab test (docs/platform-protocol.md), on loopback.

  POST /cp/tenants/register   bearer = the registration token; replies the shared secret
  GET  /cp/tenants/config     bearer = the shared secret, X-Molecule-Org-Id = the org
  POST /cp/tenants/status     same credentials; the status report {version, health, last_upgrade}
  POST /_stub/config          test control: the next config replies, as they are sent
                              ({"config", "secrets", "target_version"}, each optional)
  GET  /_stub/state           test control: registrations, config requests served, status reports

Usage: stub_platform.py PORT TOKEN_FILE ORG_ID   (prints "ready" once listening)
"""
import json
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
TOKEN = open(sys.argv[2]).read().strip()
ORG = sys.argv[3]
STATE = {"registrations": [], "config_requests": 0, "status_reports": [], "shared_secret": "cp-" + secrets.token_hex(24),
         "reply": {"config": {}, "secrets": {}}}


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def bearer(self):
        value = self.headers.get("Authorization", "")
        return value[7:] if value.startswith("Bearer ") else ""

    def is_tenant(self):
        return self.bearer() == STATE["shared_secret"] and self.headers.get("X-Molecule-Org-Id") == ORG

    def do_POST(self):
        if self.path == "/cp/tenants/register":
            if self.bearer() != TOKEN:
                return self.reply(401, {"error": "invalid registration token", "code": "unauthorized"})
            body = self.body()
            if body.get("org_id") != ORG or not body.get("tenant_url") or not body.get("version"):
                return self.reply(400, {"error": "org_id, tenant_url and version are required", "code": "bad_request"})
            STATE["registrations"].append(body)
            # Idempotent: the same org gets the same secret again.
            return self.reply(201, {"tenant_id": "tenant-" + ORG, "shared_secret": STATE["shared_secret"]})
        if self.path == "/cp/tenants/status":
            if not self.is_tenant():
                return self.reply(401, {"error": "unknown tenant", "code": "unauthorized"})
            body = self.body()
            if not isinstance(body.get("health"), str) or "version" not in body or "last_upgrade" not in body:
                return self.reply(400, {"error": "version, health and last_upgrade are required", "code": "bad_request"})
            STATE["status_reports"].append(body)
            return self.reply(200, {"ok": True})
        if self.path == "/_stub/config":
            STATE["reply"] = self.body()
            return self.reply(200, {"ok": True})
        self.reply(404, {"error": "not found", "code": "not_found"})

    def do_GET(self):
        if self.path == "/cp/tenants/config":
            if not self.is_tenant():
                return self.reply(401, {"error": "unknown tenant", "code": "unauthorized"})
            STATE["config_requests"] += 1
            return self.reply(200, STATE["reply"])
        if self.path == "/_stub/state":
            return self.reply(200, {"registrations": STATE["registrations"], "config_requests": STATE["config_requests"],
                                    "status_reports": STATE["status_reports"]})
        self.reply(404, {"error": "not found", "code": "not_found"})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("ready", flush=True)
server.serve_forever()
