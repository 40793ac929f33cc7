#!/usr/bin/env python3
"""Demo webhook application for scripts/demo.sh (stdlib only).

Answers dialplane's call_hook with a `dial` to the two demo "phones" (sipp UAS started by demo.sh), logs every
webhook it receives (call_hook, call_status, action) with the result of the Jambonz-Signature check.

Env: DEMO_APP_PORT (3100), DEMO_WEBHOOK_SECRET (the demo account's secret from deploy/seed-demo.json),
     DEMO_PHONES (comma-separated SIP URIs, default sip:phone1@127.0.0.1:5091,sip:phone2@127.0.0.1:5092),
     DEMO_CALLER_ID (optional callerId for the dial), DEMO_RING_TIMEOUT (20).
GET /healthz answers 200 (container healthcheck). SIGTERM stops it at once (it may run as a container's PID 1).
"""

import hashlib
import hmac
import http.server
import json
import os
import signal
import socketserver
import sys
import time

PORT = int(os.environ.get("DEMO_APP_PORT", "3100"))
SECRET = os.environ.get("DEMO_WEBHOOK_SECRET", "wh_secret_demo_7f3k9q2xv8m1")
PHONES = [u for u in os.environ.get(
    "DEMO_PHONES", "sip:phone1@127.0.0.1:5091,sip:phone2@127.0.0.1:5092").split(",") if u]
CALLER_ID = os.environ.get("DEMO_CALLER_ID", "")
RING_TIMEOUT = int(os.environ.get("DEMO_RING_TIMEOUT", "20"))


def signature_ok(header: str, body: bytes) -> str:
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        want = hmac.new(SECRET.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        return "valid" if hmac.compare_digest(want, parts["v1"]) else "INVALID"
    except (KeyError, ValueError, AttributeError):
        return "missing/malformed"


def app_for(call: dict) -> list:
    dial = {
        "verb": "dial",
        "actionHook": f"http://127.0.0.1:{PORT}/action",
        "timeout": RING_TIMEOUT,
        "target": [{"type": "sip", "sipUri": u} for u in PHONES],
        "headers": {"X-Demo": "dialplane"},
    }
    if CALLER_ID:
        dial["callerId"] = CALLER_ID
    return [dial]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        if self.path.split("?")[0] == "/healthz":
            self._send(200, {"ok": True})
        else:
            self._send(404, None)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            data = {}
        sig = signature_ok(self.headers.get("Jambonz-Signature", ""), body)
        path = self.path.split("?")[0].rstrip("/")
        brief = {k: data.get(k) for k in ("call_sid", "parent_call_sid", "from", "to", "call_status", "sip_status",
                                          "dial_call_status", "dial_sip_status", "dial_call_sid") if k in data}
        print(f"{time.strftime('%H:%M:%S')} {path} signature={sig} {json.dumps(brief)}", flush=True)
        if path == "/call_hook":
            self._send(200, app_for(data))
        elif path == "/action":
            self._send(200, None)  # nothing more to do: the call ends
        else:
            self._send(204, None)

    def _send(self, status, obj):
        data = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = Server(("127.0.0.1", PORT), Handler)
    print(f"demo app on http://127.0.0.1:{PORT} dialling {PHONES}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)
