"""A stand-in for one Microsoft Teams Direct Routing SIP proxy (sip.pstnhub.microsoft.com) in the e2e harness.

Debian 12's sipp has no TLS, so this is a small SIP-over-TLS UAS in Python: it listens on 127.0.0.1 with a
self-signed certificate made by the test, answers OPTIONS 200 (or stays silent while `answer_options` is False),
records every request it receives, answers an INVITE 100/180/200 with an SDES-SRTP SDP (RTP/SAVP, a=crypto,
ICE candidates, rtcp-mux), takes ACK and BYE, and can hang up itself (`bye`) on the connection the INVITE came on,
through the Record-Route set, as Microsoft does.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import ssl
import threading
import time
from typing import Optional


class SipRequest:
    def __init__(self, raw: str, conn: "ssl.SSLSocket") -> None:
        self.raw = raw
        self.conn = conn
        self.at = time.time()
        head, _, self.body = raw.partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.first = lines[0]
        self.method = self.first.split(" ", 1)[0]
        self.ruri = self.first.split(" ")[1] if " " in self.first else ""
        self.headers: list[tuple[str, str]] = []
        for ln in lines[1:]:
            if ":" in ln:
                k, v = ln.split(":", 1)
                self.headers.append((k.strip(), v.strip()))

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def header(self, name: str) -> Optional[str]:
        v = self.all(name)
        return v[0] if v else None


class TeamsStandin:
    def __init__(self, port: int, certfile: str, keyfile: str, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.answer_options = True
        self.requests: list[SipRequest] = []
        self.replies: list[str] = []  # first lines of replies received (to our BYE)
        self._lock = threading.Lock()
        self._stop = False
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(certfile, keyfile)
        self._srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind((host, port))
        self._srv.listen(16)
        self._srv.settimeout(0.2)
        self._conns: list[ssl.SSLSocket] = []
        self._dialogs: dict[str, dict] = {}
        threading.Thread(target=self._accept, daemon=True).start()

    # ---- recorded traffic ----
    def received(self, method: str) -> list[SipRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method]

    def wait(self, method: str, n: int = 1, timeout: float = 10) -> list[SipRequest]:
        end = time.time() + timeout
        while time.time() < end:
            got = self.received(method)
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise AssertionError(f"stand-in {self.port}: {n} {method} not received in {timeout}s; got "
                             f"{[r.first for r in self.requests]}")

    def stop(self) -> None:
        self._stop = True
        for c in list(self._conns):
            try:
                c.close()
            except OSError:
                pass
        self._srv.close()

    # ---- server ----
    def _accept(self) -> None:
        while not self._stop:
            try:
                raw, _ = self._srv.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            raw.settimeout(5)
            conn = self._ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        conn.settimeout(0.3)
        self._conns.append(conn)
        buf = b""
        while not self._stop:
            try:
                data = conn.recv(65535)
            except socket.timeout:
                continue
            except (ssl.SSLError, OSError):
                break
            if not data:
                break
            buf += data
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                head = buf[:end].decode(errors="replace")
                m = re.search(r"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
                blen = int(m.group(1)) if m else 0
                if len(buf) < end + 4 + blen:
                    break
                msg = buf[:end + 4 + blen].decode(errors="replace")
                buf = buf[end + 4 + blen:]
                if msg.startswith("\r\n"):
                    continue
                self._handle(msg, conn)

    def _send(self, conn: "ssl.SSLSocket", text: str) -> None:
        try:
            conn.sendall(text.encode())
        except (ssl.SSLError, OSError):
            pass

    def _reply(self, req: SipRequest, code: str, to_tag: str = "", extra: str = "", body: str = "") -> None:
        out = [f"SIP/2.0 {code}"]
        out += [f"Via: {v}" for v in req.all("Via")]
        if req.method == "INVITE" and not code.startswith("100"):
            out += [f"Record-Route: {v}" for v in req.all("Record-Route")]
        out.append(f"From: {req.header('From')}")
        to = req.header("To") or ""
        out.append(f"To: {to}" + (f";tag={to_tag}" if to_tag and "tag=" not in to else ""))
        out.append(f"Call-ID: {req.header('Call-ID')}")
        out.append(f"CSeq: {req.header('CSeq')}")
        out.append("Server: Microsoft.PSTNHub.SIPProxy stand-in")
        if extra:
            out.append(extra.rstrip("\r\n"))
        if body:
            out.append("Content-Type: application/sdp")
        out.append(f"Content-Length: {len(body.encode())}")
        self._send(req.conn, "\r\n".join(out) + "\r\n\r\n" + body)

    def _handle(self, msg: str, conn: "ssl.SSLSocket") -> None:
        if msg.startswith("SIP/2.0"):
            with self._lock:
                self.replies.append(msg.split("\r\n", 1)[0])
            return
        req = SipRequest(msg, conn)
        with self._lock:
            self.requests.append(req)
        if req.method == "OPTIONS":
            if self.answer_options:
                self._reply(req, "200 OK", to_tag="opt" + os.urandom(3).hex(),
                            extra="Allow: INVITE, ACK, CANCEL, BYE, OPTIONS")
        elif req.method == "INVITE":
            tag = "ms" + os.urandom(4).hex()
            self._dialogs[req.header("Call-ID") or ""] = {"invite": req, "tag": tag}
            self._reply(req, "100 Trying")
            self._reply(req, "180 Ringing", to_tag=tag)
            contact = f"Contact: <sip:teams@{self.host}:{self.port};transport=tls>"
            self._reply(req, "200 OK", to_tag=tag, extra=contact, body=self.sdp())
        elif req.method == "BYE":
            self._reply(req, "200 OK")
        elif req.method == "CANCEL":
            self._reply(req, "200 OK")

    def sdp(self) -> str:
        key = base64.b64encode(os.urandom(30)).decode()
        port = 20000 + self.port % 10000
        return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                f"m=audio {port} RTP/SAVP 0 101\r\n"
                "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
                f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^31\r\n"
                "a=ice-ufrag:msTs\r\na=ice-pwd:standinstandinstandin12\r\n"
                f"a=candidate:1 1 UDP 2130706431 127.0.0.1 {port} typ host\r\n"
                "a=rtcp-mux\r\na=sendrecv\r\n")

    def bye(self, call_id: str) -> None:
        """Hangs up the call as Microsoft does: to the INVITE's Contact, through its Record-Route set."""
        d = self._dialogs[call_id]
        inv: SipRequest = d["invite"]
        contact = re.search(r"<([^>]+)>", inv.header("Contact") or "")
        ruri = contact.group(1) if contact else (inv.header("Contact") or "")
        to_hdr = inv.header("To") or ""
        lines = [f"BYE {ruri} SIP/2.0",
                 f"Via: SIP/2.0/TLS {self.host}:{self.port};branch=z9hG4bK{os.urandom(6).hex()};rport",
                 "Max-Forwards: 70"]
        lines += [f"Route: {v}" for v in inv.all("Record-Route")]
        lines += [f"From: {to_hdr};tag={d['tag']}", f"To: {inv.header('From')}", f"Call-ID: {call_id}",
                  "CSeq: 2 BYE", "Content-Length: 0"]
        self._send(inv.conn, "\r\n".join(lines) + "\r\n\r\n")
