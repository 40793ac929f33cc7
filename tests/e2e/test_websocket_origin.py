"""SIP over WebSocket: only the web pages in Kamailio's WS_ORIGINS may open a connection (run-kamailio.sh
--ws-origins; the e2e stack allows test_webrtc's two pages). A browser always sends its page's Origin with the
handshake, so another site's script cannot use a visitor's browser to reach the proxy. Real Kamailio, raw sockets.
"""

from __future__ import annotations

import base64
import os
import socket
from typing import Any, Optional

from conftest import LOOPBACK, ws_origins

TIMEOUT_S = 5


def handshake(port: int, origin: Optional[str]) -> tuple[str, socket.socket]:
    """Sends a WebSocket upgrade for subprotocol "sip"; returns the response head and the open socket."""
    s = socket.create_connection((LOOPBACK, port), timeout=TIMEOUT_S)
    key = base64.b64encode(os.urandom(16)).decode()
    head = (f"GET / HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n")
    if origin is not None:
        head += f"Origin: {origin}\r\n"
    s.sendall((head + "\r\n").encode())
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    return got.split(b"\r\n\r\n", 1)[0].decode(errors="replace"), s


def send_text(s: socket.socket, text: str) -> None:
    """One masked text frame (a client must mask, RFC 6455 5.3)."""
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def read_text(s: socket.socket) -> str:
    """One unmasked frame from the server."""
    def exactly(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            assert chunk, "the server closed the WebSocket"
            buf += chunk
        return buf
    b0, b1 = exactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(exactly(2), "big")
    elif n == 127:
        n = int.from_bytes(exactly(8), "big")
    return exactly(n).decode(errors="replace")


def refused(st: Any, origin: Optional[str]) -> None:
    head, s = handshake(st.ports.kamailio_ws, origin)
    try:
        assert head.startswith("HTTP/1.1 403"), f"Origin {origin!r}: expected 403, got {head!r}"
    finally:
        s.close()


def test_allowed_origin_opens_a_sip_websocket(full_stack: Any) -> None:
    st = full_stack
    origin = ws_origins(st.ports)[0]
    head, s = handshake(st.ports.kamailio_ws, origin)
    try:
        assert head.startswith("HTTP/1.1 101"), head
        assert "sec-websocket-protocol: sip" in head.lower(), head
        # SIP flows over it: an OPTIONS to the proxy is answered on the same connection.
        send_text(s, f"OPTIONS sip:{LOOPBACK}:{st.ports.kamailio_ws};transport=ws SIP/2.0\r\n"
                     "Via: SIP/2.0/WS ws-origin.invalid;branch=z9hG4bKwsorigin1\r\n"
                     f"From: <sip:probe@{LOOPBACK}>;tag=wso1\r\nTo: <sip:{LOOPBACK}>\r\n"
                     "Call-ID: ws-origin-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        reply = read_text(s)
        assert reply.startswith("SIP/2.0 200"), reply
    finally:
        s.close()


def test_other_origin_is_refused(full_stack: Any) -> None:
    allowed = ws_origins(full_stack.ports)[0]
    refused(full_stack, "https://evil.example")
    refused(full_stack, allowed + "0")               # a longer port: a list entry is matched whole
    refused(full_stack, allowed.replace("http:", "https:"))


def test_handshake_without_origin_is_refused(full_stack: Any) -> None:
    refused(full_stack, None)
