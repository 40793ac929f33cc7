"""Who may start a call under dialplane's --inbound-auth devices (jambonz's SBC: INVITEs from a known carrier are
let in, devices and browsers authenticate): raw SIP over UDP and over a SIP WebSocket against the real Kamailio,
dialplane and Redis of the stack. The app declines every admitted call with 486, so an admitted INVITE ends in
486 after a callHook, a challenged one in 407 without a callHook, a refused one in 403 with an X-Reason.

Runs in run-webrtc.sh's stack (DP_E2E_INBOUND_AUTH=devices: the account has a carrier whose source address is
127.0.0.1; the calls below that must not be a carrier's come from 127.0.0.2 or over a WebSocket). Skipped
elsewhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import socket
import time
from typing import Any

import pytest
import websockets

from conftest import INBOUND_AUTH, LOOPBACK, SIP_REALM, ws_origins

if INBOUND_AUTH != "devices":
    pytest.skip("needs dialplane --inbound-auth devices: tests/e2e/run-webrtc.sh", allow_module_level=True)

TIMEOUT_S = 8
NOT_A_CARRIER = "127.0.0.2"  # on lo like 127.0.0.1, but no carrier's source address
DECLINE = [{"verb": "sip:decline", "status": 486, "reason": "Busy Here"}]


def md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


def digest_answer(challenge: str, user: str, password: str, uri: str) -> str:
    """A Proxy-Authorization value answering a Proxy-Authenticate `challenge` (RFC 2617, qop=auth)."""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge.split(" ", 1)[1]))
    realm, nonce, cnonce, nc = params["realm"], params["nonce"], secrets.token_hex(8), "00000001"
    response = md5(f"{md5(f'{user}:{realm}:{password}')}:{nonce}:{nc}:{cnonce}:auth:{md5(f'INVITE:{uri}')}")
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{response}", '
            f'algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"')


class Reply:
    def __init__(self, text: str) -> None:
        self.text = text
        self.code = int(text.split(" ", 2)[1])

    def header(self, name: str) -> str:
        m = re.search(rf"^{name}:\s*(.*?)\r?$", self.text, re.M | re.I)
        return m.group(1) if m else ""


class Caller:
    """One SIP UA that sends INVITEs (no SDP) and ACKs their final replies, over UDP from `ip` or over a SIP
    WebSocket (the allowed page's Origin)."""

    def __init__(self, st: Any, transport: str, user: str, domain: str, ip: str = LOOPBACK) -> None:
        self.st, self.transport, self.user, self.domain, self.ip = st, transport, user, domain, ip
        self.call_id = f"inbound-auth-{secrets.token_hex(6)}"
        self.cseq = 0
        self.tag = secrets.token_hex(4)

    def _request(self, method: str, uri: str, branch: str, cseq: int, to_tag: str = "", extra: str = "") -> str:
        via_host = f"{self.ip}:{{port}}" if self.transport == "udp" else "inbound-auth.invalid"
        to = f"<{uri}>" + (f";tag={to_tag}" if to_tag else "")
        return (f"{method} {uri} SIP/2.0\r\nVia: SIP/2.0/{self.transport.upper()} {via_host};branch={branch};rport\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:{self.user}@{self.domain}>;tag={self.tag}\r\nTo: {to}\r\n"
                f"Call-ID: {self.call_id}\r\nCSeq: {cseq} {method}\r\n"
                f"Contact: <sip:{self.user}@{self.ip}>\r\n{extra}Content-Length: 0\r\n\r\n")

    def invite(self, number: str, auth: str = "") -> Reply:
        """INVITE sip:<number>@<realm>; returns the final reply (after ACKing it)."""
        self.cseq += 1
        uri = f"sip:{number}@{SIP_REALM}"
        branch = "z9hG4bK" + secrets.token_hex(8)
        extra = f"Proxy-Authorization: {auth}\r\n" if auth else ""
        invite = self._request("INVITE", uri, branch, self.cseq, extra=extra)
        return self._exchange(invite, lambda final: self._request(
            "ACK", uri, branch, self.cseq, to_tag=re.search(r"tag=([^;>\s]+)", final.header("To")).group(1)))

    def _exchange(self, request: str, ack_for: Any) -> Reply:
        if self.transport == "udp":
            return self._exchange_udp(request, ack_for)
        return asyncio.run(self._exchange_ws(request, ack_for))

    def _exchange_udp(self, request: str, ack_for: Any) -> Reply:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((self.ip, 0))
            port = s.getsockname()[1]
            dst = (LOOPBACK, self.st.ports.kamailio_sip)
            s.sendto(request.replace("{port}", str(port)).encode(), dst)
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    reply = Reply(s.recv(65535).decode(errors="replace"))
                except socket.timeout:
                    raise AssertionError(f"no final reply within {TIMEOUT_S}s over udp from {self.ip}") from None
                if reply.code >= 200:
                    s.sendto(ack_for(reply).replace("{port}", str(port)).encode(), dst)
                    return reply

    async def _exchange_ws(self, request: str, ack_for: Any) -> Reply:
        async with websockets.connect(f"ws://{LOOPBACK}:{self.st.ports.kamailio_ws}/", subprotocols=["sip"],
                                      origin=ws_origins(self.st.ports)[0], open_timeout=TIMEOUT_S) as ws:
            await ws.send(request)
            while True:
                raw = await asyncio.wait_for(ws.recv(), TIMEOUT_S)
                reply = Reply(raw if isinstance(raw, str) else raw.decode(errors="replace"))
                if reply.code >= 200:
                    await ws.send(ack_for(reply))
                    return reply

    def authenticated_invite(self, number: str, password: str) -> tuple[Reply, Reply]:
        """The INVITE, then (it must be challenged) its retry answering the 407: both final replies."""
        first = self.invite(number)
        assert first.code == 407, f"expected a 407 challenge:\n{first.text}"
        challenge = first.header("Proxy-Authenticate")
        return first, self.invite(number, digest_answer(challenge, self.user, password, f"sip:{number}@{SIP_REALM}"))


@pytest.fixture
def declined_number(webhook: Any, numbers: Any) -> str:
    n = numbers.take()
    webhook.set_app(n, DECLINE)
    return n


@pytest.fixture(scope="module")
def other_account_user(full_stack: Any) -> tuple[str, str]:
    """A SIP user of another account (its own domain): it authenticates, but may not call into the e2e account."""
    st = full_stack
    acct = st.create("/v1/Accounts", {"name": "e2e-other", "sip_realm": "other.e2e.dialplane.test"})
    password = "pw-" + secrets.token_hex(6)
    st.create("/v1/SipUsers", {"username": "mallory", "domain": "other.e2e.dialplane.test", "account_sid": acct,
                               "password": password})
    return "mallory", password


def test_carrier_address_gets_in_without_credentials(full_stack: Any, webhook: Any, declined_number: str) -> None:
    reply = Caller(full_stack, "udp", "15557000001", "carrier.invalid", LOOPBACK).invite(declined_number)
    assert reply.code == 486, f"a carrier's INVITE runs the app (its 486):\n{reply.text}"
    assert webhook.call_hooks(declined_number), "the app's callHook was not asked"


def test_device_is_challenged_then_let_in_with_its_sip_users_password(full_stack: Any, webhook: Any,
                                                                      declined_number: str) -> None:
    st = full_stack
    caller = Caller(st, "udp", st.prov["user"], SIP_REALM, NOT_A_CARRIER)
    first, second = caller.authenticated_invite(declined_number, st.prov["user_password"])
    assert f'realm="{SIP_REALM}"' in first.header("Proxy-Authenticate"), first.text
    assert second.code == 486, f"the authenticated INVITE runs the app (its 486):\n{second.text}"
    hooks = webhook.call_hooks(declined_number)
    assert len(hooks) == 1 and hooks[0].get("from") == st.prov["user"], [h.json for h in hooks]


def test_wrong_password_is_challenged_again_and_never_reaches_the_app(full_stack: Any, webhook: Any,
                                                                       declined_number: str) -> None:
    st = full_stack
    first, second = Caller(st, "udp", st.prov["user"], SIP_REALM, NOT_A_CARRIER).authenticated_invite(
        declined_number, "not-" + st.prov["user_password"])
    assert second.code == 407, f"a wrong password gets a new challenge:\n{second.text}"
    assert not webhook.call_hooks(declined_number)


def test_browser_on_a_carriers_address_still_authenticates(full_stack: Any, webhook: Any,
                                                           declined_number: str) -> None:
    st = full_stack
    first, second = Caller(st, "ws", st.prov["user"], SIP_REALM).authenticated_invite(
        declined_number, st.prov["user_password"])
    assert first.code == 407 and second.code == 486, (first.text, second.text)
    assert len(webhook.call_hooks(declined_number)) == 1


def test_user_of_another_account_is_refused(full_stack: Any, webhook: Any, declined_number: str,
                                            other_account_user: tuple[str, str]) -> None:
    user, password = other_account_user
    first, second = Caller(full_stack, "udp", user, "other.e2e.dialplane.test", NOT_A_CARRIER).authenticated_invite(
        declined_number, password)
    assert second.code == 403, f"expected 403:\n{second.text}"
    assert "not of the called account" in second.header("X-Reason"), second.text
    assert not webhook.call_hooks(declined_number)


def test_credentials_of_someone_else_in_the_from_are_refused(full_stack: Any, webhook: Any,
                                                            declined_number: str) -> None:
    """Authenticating as alice while the From says another user: 403 before dialplane is asked."""
    st = full_stack
    caller = Caller(st, "udp", "bob", SIP_REALM, NOT_A_CARRIER)
    first = caller.invite(declined_number)
    assert first.code == 407, first.text
    uri = f"sip:{declined_number}@{SIP_REALM}"
    second = caller.invite(declined_number, digest_answer(first.header("Proxy-Authenticate"), st.prov["user"],
                                                          st.prov["user_password"], uri))
    assert second.code == 403 and "From is bob" in second.header("X-Reason"), second.text
    assert not webhook.call_hooks(declined_number)
