"""SIP over WebSocket: only the web pages in Kamailio's WS_ORIGINS may open a connection (run-kamailio.sh
--ws-origins; the e2e stack allows test_webrtc's two pages). A browser always sends its page's Origin with the
handshake, so another site's script cannot use a visitor's browser to reach the proxy. Real Kamailio, the
websockets client (Debian's python3-websockets, as ws_sink.py).
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import websockets

from conftest import LOOPBACK, ws_origins

TIMEOUT_S = 5


def handshake_status(st: Any, origin: Optional[str]) -> int:
    async def attempt() -> int:
        try:
            async with websockets.connect(f"ws://{LOOPBACK}:{st.ports.kamailio_ws}/", subprotocols=["sip"],
                                          origin=origin, open_timeout=TIMEOUT_S):
                return 101
        except websockets.InvalidStatusCode as e:
            return e.status_code
    return asyncio.run(attempt())


def refused(st: Any, origin: Optional[str]) -> None:
    status = handshake_status(st, origin)
    assert status == 403, f"Origin {origin!r}: expected 403, got {status}"


def test_allowed_origin_opens_a_sip_websocket(full_stack: Any) -> None:
    st = full_stack

    async def options_over_websocket() -> tuple[Optional[str], str]:
        async with websockets.connect(f"ws://{LOOPBACK}:{st.ports.kamailio_ws}/", subprotocols=["sip"],
                                      origin=ws_origins(st.ports)[0], open_timeout=TIMEOUT_S) as ws:
            # SIP flows over it: an OPTIONS to the proxy is answered on the same connection.
            await ws.send(f"OPTIONS sip:{LOOPBACK}:{st.ports.kamailio_ws};transport=ws SIP/2.0\r\n"
                          "Via: SIP/2.0/WS ws-origin.invalid;branch=z9hG4bKwsorigin1\r\n"
                          f"From: <sip:probe@{LOOPBACK}>;tag=wso1\r\nTo: <sip:{LOOPBACK}>\r\n"
                          "Call-ID: ws-origin-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
            reply = await asyncio.wait_for(ws.recv(), TIMEOUT_S)
            return ws.subprotocol, reply if isinstance(reply, str) else reply.decode(errors="replace")
    subprotocol, reply = asyncio.run(options_over_websocket())
    assert subprotocol == "sip"
    assert reply.startswith("SIP/2.0 200"), reply


def test_other_origin_is_refused(full_stack: Any) -> None:
    allowed = ws_origins(full_stack.ports)[0]
    refused(full_stack, "https://evil.example")
    refused(full_stack, allowed + "0")               # a longer port: a list entry is matched whole
    refused(full_stack, allowed.replace("http:", "https:"))


def test_page_at_an_ipv6_literal_is_allowed(full_stack: Any) -> None:
    ipv6_page = ws_origins(full_stack.ports)[2]
    assert ipv6_page.startswith("http://[::1]:")
    assert handshake_status(full_stack, ipv6_page) == 101
    refused(full_stack, ipv6_page.replace("[::1]", "[::2]"))


def test_handshake_without_origin_is_refused(full_stack: Any) -> None:
    refused(full_stack, None)
