"""A jambonz-style webhook receiver for the e2e tests (stdlib only).

It plays the customer's application server:

* ``POST /callHook``   -> the verbs registered for the call with :meth:`WebhookReceiver.set_app`
  (looked up by the payload's ``to``, then ``from``, with and without a leading ``+``), 404 when none;
* ``POST /actionHook[/<key>]`` -> the next response queued with :meth:`set_action` for the key
  (path key first, then ``to``/``from`` of the payload), else ``200`` with no body;
* ``POST /callStatus`` -> ``204``;
* anything else -> ``200`` with no body (still recorded).

Every request is recorded (method, path, headers, raw body, parsed JSON, arrival time) and its
``Jambonz-Signature`` header is verified: ``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`` keyed by
the account's webhook secret. The result is stored in ``Request.sig_ok`` / ``Request.sig_error``; the receiver
never rejects a request because of the signature, the tests assert on it.

Run standalone for a manual check: ``python3 webhook_receiver.py --port 3100 --secret s``.
``python3 webhook_receiver.py --self-test`` runs its own small test.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.server
import json
import socketserver
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

SIGNATURE_HEADER = "Jambonz-Signature"
SIGNATURE_MAX_SKEW_S = 300


def sign(secret: str, body: bytes, ts: Optional[int] = None) -> str:
    """Computes a Jambonz-Signature header value (used by the self-test and by tests of the verifier)."""
    ts = int(time.time()) if ts is None else ts
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def verify_signature(secret: str, header: Optional[str], body: bytes, now: Optional[float] = None) -> Optional[str]:
    """Returns None when ``header`` is a valid Jambonz-Signature for ``body``, else the reason it is not."""
    if not secret:
        return "receiver has no webhook secret configured"
    if not header:
        return f"missing {SIGNATURE_HEADER} header"
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        k, sep, v = item.strip().partition("=")
        if not sep:
            return f"malformed element {item!r} in {header!r}"
        parts.setdefault(k, []).append(v)
    if "t" not in parts or "v1" not in parts:
        return f"t= or v1= missing in {header!r}"
    ts_s = parts["t"][0]
    if not ts_s.isdigit():
        return f"timestamp {ts_s!r} is not a unix time"
    now = time.time() if now is None else now
    if abs(now - int(ts_s)) > SIGNATURE_MAX_SKEW_S:
        return f"timestamp {ts_s} is {now - int(ts_s):.0f}s away from now"
    want = hmac.new(secret.encode(), ts_s.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(want, v.lower()) for v in parts["v1"]):
        return f"HMAC mismatch (got v1={parts['v1']}, expected {want})"
    return None


def _norm(v: Any) -> str:
    s = str(v or "")
    return s[1:] if s.startswith("+") else s


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    json: Any
    ts: float  # time.time() at arrival
    sig_ok: bool
    sig_error: Optional[str]
    status: int = 0  # what the receiver answered

    @property
    def kind(self) -> str:
        """callHook | actionHook | callStatus | other"""
        p = self.path.split("?", 1)[0].strip("/").split("/")
        return p[0] if p and p[0] in ("callHook", "actionHook", "callStatus") else "other"

    def get(self, k: str, default: Any = None) -> Any:
        return self.json.get(k, default) if isinstance(self.json, dict) else default

    def __repr__(self) -> str:  # compact, for assertion messages
        j = self.json if isinstance(self.json, dict) else {}
        brief = {k: j.get(k) for k in ("call_sid", "parent_call_sid", "call_status", "sip_status", "from", "to",
                                       "dial_call_status", "dial_sip_status", "dial_call_sid") if k in j}
        return f"<{self.method} {self.path} +{self.ts:.3f} {brief}>"


@dataclass
class _AppEntry:
    call_hook: Any = None  # verbs (list) or a callable(Request) -> (status, body)
    actions: list = field(default_factory=list)  # queued actionHook responses
    delay_s: float = 0.0  # applied to call_hook and actionHook responses


class WebhookReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, secret: str = "") -> None:
        self.secret = secret
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._apps: dict[str, _AppEntry] = {}
        self._files: dict[str, tuple[str, bytes]] = {}  # path -> (content type, bytes)
        self._routes: dict[str, Any] = {}  # path -> responder (set_route)
        self.requests: list[Request] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, fmt: str, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                err = verify_signature(receiver.secret, hdrs.get(SIGNATURE_HEADER.lower()), body)
                req = Request(self.command, self.path, hdrs, body, parsed, time.time(), err is None, err)
                served = receiver._file(req)
                if served is not None:
                    with receiver._cond:
                        receiver.requests.append(req)
                        receiver._cond.notify_all()
                    status, ctype, data = served
                    req.status = status
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("ETag", f'"{len(data)}"')
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                    return
                status, out = receiver._respond(req)
                req.status = status
                with receiver._cond:
                    receiver.requests.append(req)
                    receiver._cond.notify_all()
                data = b"" if out is None else (out if isinstance(out, bytes) else json.dumps(out).encode())
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            do_POST = _handle
            do_GET = _handle
            do_HEAD = _handle
            do_PUT = _handle

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((host, port), Handler)
        self.host, self.port = self._server.server_address[:2]
        self._thread: Optional[threading.Thread] = None

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> "WebhookReceiver":
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"

    # ---- configuration ---------------------------------------------------------------------------
    def set_app(self, key: str, verbs: Any, delay_s: float = 0.0) -> None:
        """Verbs returned by callHook for calls whose ``to`` or ``from`` is ``key``."""
        with self._lock:
            e = self._apps.setdefault(_norm(key), _AppEntry())
            e.call_hook, e.delay_s = verbs, delay_s

    def serve_file(self, path: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Serves `data` at GET `path` (media files for dialMusic/whisper); returns its URL."""
        with self._lock:
            self._files["/" + path.lstrip("/")] = (content_type, data)
        return self.url(path)

    def _file(self, req: Request) -> "Optional[tuple[int, str, bytes]]":
        if req.method not in ("GET", "HEAD") or not req.path.startswith("/media/"):
            return None
        with self._lock:
            f = self._files.get(req.path.split("?", 1)[0])
        if f is None:
            return 404, "text/plain", b"not found"
        return 200, f[0], f[1]

    def set_route(self, path: str, responder: Any) -> str:
        """Answers requests to `path` (query string ignored) with `responder`: a JSON value, or a callable
        (Request) -> (status, body). For hooks that are neither callHook nor actionHook (confirmHook, gather's
        actionHook of a confirm app…). Returns the path's URL."""
        with self._lock:
            self._routes["/" + path.lstrip("/")] = responder
        return self.url(path)

    def set_action(self, key: str, *responses: Any) -> None:
        """Queues actionHook responses (verb lists, None for an empty 200) for the call keyed by ``key``."""
        with self._lock:
            self._apps.setdefault(_norm(key), _AppEntry()).actions.extend(responses)

    def _lookup(self, req: Request, path_key: Optional[str]) -> Optional[_AppEntry]:
        with self._lock:
            for k in (path_key, req.get("to"), req.get("from")):
                if k and _norm(k) in self._apps:
                    return self._apps[_norm(k)]
        return None

    def _respond(self, req: Request) -> tuple[int, Any]:
        with self._lock:
            route = self._routes.get(req.path.split("?", 1)[0])
        if route is not None:
            return route(req) if callable(route) else (200, route)
        parts = req.path.split("?", 1)[0].strip("/").split("/")
        path_key = parts[1] if len(parts) > 1 else None
        kind = req.kind
        if kind == "callStatus":
            return 204, None
        entry = self._lookup(req, path_key)
        if kind == "callHook":
            if entry is None or entry.call_hook is None:
                return 404, {"msg": "no app mapped for this call"}
            if entry.delay_s:
                time.sleep(entry.delay_s)
            if callable(entry.call_hook):
                return entry.call_hook(req)
            return 200, entry.call_hook
        if kind == "actionHook":
            if entry is None:
                return 200, None
            with self._lock:
                resp = entry.actions.pop(0) if entry.actions else None
            if entry.delay_s:
                time.sleep(entry.delay_s)
            if callable(resp):
                return resp(req)
            return 200, resp
        return 200, None

    # ---- inspection ------------------------------------------------------------------------------
    def snapshot(self, pred: Callable[[Request], bool] = lambda r: True) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if pred(r)]

    def wait_for(self, pred: Callable[[list[Request]], Any], timeout: float, what: str = "") -> Any:
        """Waits until ``pred(all requests)`` returns something truthy and returns it; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                res = pred(list(self.requests))
                if res:
                    return res
                left = deadline - time.monotonic()
                if left <= 0:
                    got = "\n  ".join(repr(r) for r in self.requests[-30:])
                    raise AssertionError(f"webhook: timed out after {timeout}s waiting for {what or pred}; "
                                         f"last requests:\n  {got}")
                self._cond.wait(min(left, 0.2))

    def call_hooks(self, key: str) -> list[Request]:
        k = _norm(key)
        return self.snapshot(lambda r: r.kind == "callHook" and k in (_norm(r.get("to")), _norm(r.get("from"))))

    def wait_call_hook(self, key: str, timeout: float = 10.0) -> Request:
        return self.wait_for(lambda _: self.call_hooks(key)[:1] and self.call_hooks(key)[0], timeout,
                             f"callHook for {key}")

    def statuses(self, call_sid: str) -> list[Request]:
        return self.snapshot(lambda r: r.kind == "callStatus" and r.get("call_sid") == call_sid)

    def children(self, parent_sid: str) -> dict[str, list[Request]]:
        """Status webhooks of the child legs of ``parent_sid``, grouped by child call_sid, in arrival order."""
        out: dict[str, list[Request]] = {}
        for r in self.snapshot(lambda r: r.kind == "callStatus" and r.get("parent_call_sid") == parent_sid
                               and r.get("call_sid") != parent_sid):
            out.setdefault(r.get("call_sid"), []).append(r)
        return out

    def action_hooks(self, parent_sid: str) -> list[Request]:
        return self.snapshot(lambda r: r.kind == "actionHook" and r.get("call_sid") == parent_sid)


# ---- self-test -----------------------------------------------------------------------------------
def _post(url: str, obj: Any, secret: Optional[str], tamper: bool = False) -> tuple[int, Any]:
    body = json.dumps(obj).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    if secret is not None:
        req.add_header(SIGNATURE_HEADER, sign(secret, body + (b" " if tamper else b"")))
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            data = r.read()
            return r.status, (json.loads(data) if data else None)
    except urllib.error.HTTPError as e:
        return e.code, None


def self_test() -> None:
    rx = WebhookReceiver(secret="topsecret").start()
    try:
        rx.set_app("+15550001", [{"verb": "dial", "target": [{"type": "sip", "sipUri": "sip:a@b"}]}])
        rx.set_action("+15550001", [{"verb": "hangup"}])
        st, body = _post(rx.url("/callHook"), {"call_sid": "p1", "to": "15550001", "from": "x"}, "topsecret")
        assert st == 200 and body[0]["verb"] == "dial", (st, body)
        st, body = _post(rx.url("/callHook"), {"call_sid": "p2", "to": "999", "from": "998"}, "topsecret")
        assert st == 404, st
        st, _ = _post(rx.url("/callStatus"), {"call_sid": "c1", "parent_call_sid": "p1", "call_status": "trying"},
                      "wrong")
        assert st == 204
        st, _ = _post(rx.url("/callStatus"), {"call_sid": "c1", "parent_call_sid": "p1", "call_status": "ringing"},
                      "topsecret", tamper=True)
        st, _ = _post(rx.url("/callStatus"), {"call_sid": "c1", "parent_call_sid": "p1"}, None)
        st, body = _post(rx.url("/actionHook"), {"call_sid": "p1", "to": "+15550001"}, "topsecret")
        assert st == 200 and body == [{"verb": "hangup"}], (st, body)
        st, body = _post(rx.url("/actionHook"), {"call_sid": "p1", "to": "+15550001"}, "topsecret")
        assert st == 200 and body is None, (st, body)
        reqs = rx.snapshot()
        assert [r.sig_ok for r in reqs] == [True, True, False, False, False, True, True], reqs
        assert "HMAC mismatch" in reqs[2].sig_error and "HMAC mismatch" in reqs[3].sig_error
        assert "missing" in reqs[4].sig_error
        assert list(rx.children("p1")) == ["c1"] and len(rx.children("p1")["c1"]) == 3
        assert len(rx.action_hooks("p1")) == 2 and rx.wait_call_hook("15550001").get("call_sid") == "p1"
        old = sign("topsecret", b"{}", ts=int(time.time()) - 3600)
        assert "away from now" in verify_signature("topsecret", old, b"{}")
        try:
            rx.wait_for(lambda rs: len(rs) > 100, 0.3, "never")
            raise RuntimeError("wait_for did not time out")
        except AssertionError:
            pass
    finally:
        rx.stop()
    print("webhook_receiver self-test OK")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=3100)
    ap.add_argument("--secret", default="")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        self_test()
    else:
        rx = WebhookReceiver(a.host, a.port, a.secret).start()
        print(f"listening on {rx.url('/')}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            rx.stop()
