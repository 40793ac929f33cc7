"""Acceptance tests of issue #4: carriers (selection, failover, per-leg digest auth, gateway health, limits).

Same harness as test_core_call_path.py: real Kamailio, rtpengine, Redis and dialplane; every SIP party is a sipp
process (or a tiny UDP responder for OPTIONS) on 127.0.0.1. The carriers live in an account of their own
(fixture carrier_account) that has no default carrier.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Any, Optional

import pytest

from conftest import LOOPBACK, Sipp, wait_until
from test_core_call_path import (UdpSink, dial, final_reply, first_invite, parent_of, sip_target,
                                 uri_user_hostport, wait_action_hooks, wait_children_final)
from webhook_receiver import WebhookReceiver

_port_seq = iter(range(60, 90))


def free_port(stack: Any) -> int:
    """A fixed port (base+60..89) for a gateway that must be provisioned before its sipp starts."""
    return stack.ports.base + next(_port_seq)


def gw(port: int, **extra: Any) -> dict:
    return {"host": LOOPBACK, "port": port, "transport": "udp", **extra}


def phone(number: str, **extra: Any) -> dict:
    return {"type": "phone", "number": number, **extra}


def invites(s: Sipp) -> list:
    return s.received("INVITE")


class OptionsResponder:
    """A gateway's UDP port: answers OPTIONS with 200 while `answering`, answers INVITE with 603, records all."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.answering = True
        self.received: list[tuple[float, str]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, port))
        self.sock.settimeout(0.2)
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _reply(self, msg: str, code: str, addr: Any) -> None:
        keep = [ln for ln in msg.split("\r\n") if re.match(r"(?i)^(via|from|to|call-id|cseq):", ln)]
        keep = [ln + (";tag=gw1" if ln.lower().startswith("to:") and "tag=" not in ln else "") for ln in keep]
        self.sock.sendto(("SIP/2.0 " + code + "\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode(),
                         addr)

    def _run(self) -> None:
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            msg = data.decode(errors="replace")
            first = msg.split("\r\n", 1)[0]
            self.received.append((time.time(), first))
            method = first.split(" ", 1)[0]
            if method == "OPTIONS" and self.answering:
                self._reply(msg, "200 OK", addr)
            elif method == "INVITE":
                self._reply(msg, "603 Decline", addr)

    def invites(self) -> list[str]:
        return [f for _, f in self.received if f.startswith("INVITE")]

    def close(self) -> None:
        self._stop = True
        self._t.join(2)
        self.sock.close()


def health(stack: Any, carrier_sid: str) -> dict:
    st, body = stack.api("GET", f"/v1/Carriers/{carrier_sid}/health")
    assert st == 200, (st, body)
    return {g["gateway"]: g for g in body["gateways"]}


# ---------------------------------------------------------------------------------------------------------
# 1. `phone` + `trunk`: that carrier's gateway, tech prefix and number format applied
# ---------------------------------------------------------------------------------------------------------
def test_c1_trunk_tech_prefix_and_number_format(full_stack, carrier_account, sipp, webhook):
    ca = carrier_account
    port = free_port(full_stack)
    ca.carrier("c1-trunk", [gw(port)], tech_prefix="99", e164_leading_plus=False, from_domain="trunk.example.com")
    other = free_port(full_stack)
    ca.lcr("", [ca.carrier("c1-other", [gw(other)])])  # LCR must not override a named trunk
    sink = UdpSink(other)
    try:
        g = sipp.uas("c1_gw", "uas_answer.xml", port=port, duration_ms=300)
        called = ca.take()
        webhook.set_app(called, dial(webhook, called, [phone("+15557654321", trunk="c1-trunk")], timeout=20))
        caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110401", duration_ms=500)
        caller.assert_ok()
        g.assert_ok()
        inv = first_invite(g)
        user, hostport = uri_user_hostport(inv.ruri)
        assert user == "9915557654321", f"Request-URI user {user!r}: want tech prefix 99 + number without '+'"
        assert hostport == f"{LOOPBACK}:{port}"
        assert "@trunk.example.com" in inv.header("From"), inv.header("From")
        assert not sink.drain(), "the LCR carrier got a request although the target named a trunk"
    finally:
        sink.close()


# ---------------------------------------------------------------------------------------------------------
# 2. no trunk: LCR by longest prefix; no route -> the leg fails with a clear reason
# ---------------------------------------------------------------------------------------------------------
def test_c2_lcr_longest_prefix_and_no_route(full_stack, carrier_account, sipp, webhook):
    ca = carrier_account
    p_short, p_long = free_port(full_stack), free_port(full_stack)
    short = ca.carrier("c2-short", [gw(p_short)], e164_leading_plus=True)
    long_ = ca.carrier("c2-long", [gw(p_long)], e164_leading_plus=True)
    ca.lcr("4420", [short])
    ca.lcr("+44207", [long_])
    sink = UdpSink(p_short)
    try:
        g = sipp.uas("c2_long_gw", "uas_answer.xml", port=p_long, duration_ms=300)
        called = ca.take()
        webhook.set_app(called, dial(webhook, called, [phone("+442071234567")], timeout=20))
        caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110402", duration_ms=500)
        caller.assert_ok()
        g.assert_ok()
        assert uri_user_hostport(first_invite(g).ruri)[0] == "+442071234567"
        assert not sink.drain(), "the shorter-prefix carrier got a request"
    finally:
        sink.close()

    # no route: a number no LCR prefix matches (c1 added a "" catch-all route: use a dedicated check instead)
    st, routes = full_stack.api("GET", f"/v1/LcrRoutes?account_sid={ca.account_sid}")
    assert st == 200 and any(r["prefix"] == "4420" for r in routes), routes
    for r in routes:
        if r["prefix"] == "":
            assert full_stack.api("DELETE", f"/v1/LcrRoutes/{r['lcr_route_sid']}")[0] == 204
    called = ca.take()
    webhook.set_app(called, dial(webhook, called, [phone("+33123456789")], timeout=20))
    caller = sipp.uac("caller_noroute", "uac_fail.xml", called, caller="+15551110403")
    caller.wait()
    parent = parent_of(webhook, called)
    children = wait_children_final(webhook, parent, 1)
    (leg,) = children.values()
    assert leg[-1].get("call_status") == "failed" and leg[-1].get("sip_status") == 503, leg[-1].json
    assert "no route for +33123456789" in str(leg[-1].get("sip_reason")), leg[-1].json
    action = wait_action_hooks(webhook, parent)[0]
    assert action.get("dial_call_status") == "failed" and action.get("dial_sip_status") == 503, action.json


# ---------------------------------------------------------------------------------------------------------
# 3. gateway 1 answers 503 -> gateway 2 gets the INVITE; 603 -> no second INVITE anywhere
# ---------------------------------------------------------------------------------------------------------
def test_c3_failover_on_503_not_on_603(full_stack, carrier_account, sipp, webhook):
    ca = carrier_account
    p1, p2 = free_port(full_stack), free_port(full_stack)
    ca.carrier("c3-two-gws", [gw(p1, priority=0), gw(p2, priority=1)])
    g1 = sipp.uas("c3_gw1_503", "uas_reject_503.xml", port=p1)
    g2 = sipp.uas("c3_gw2", "uas_answer.xml", port=p2, duration_ms=300)
    called = ca.take()
    webhook.set_app(called, dial(webhook, called, [phone("+15557000003", trunk="c3-two-gws")], timeout=20))
    caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110404", duration_ms=500)
    caller.assert_ok()
    g1.assert_ok()
    g2.assert_ok()
    assert final_reply(caller).code == 200
    assert len(invites(g1)) == 1 and len(invites(g2)) == 1
    assert invites(g2)[0].ts >= g1.sent(503)[0].ts

    g1 = sipp.uas("c3_gw1_603", "uas_reject_603.xml", port=p1)
    sink = UdpSink(p2)
    try:
        called = ca.take()
        webhook.set_app(called, dial(webhook, called, [phone("+15557000003", trunk="c3-two-gws")], timeout=20))
        caller = sipp.uac("caller603", "uac_fail.xml", called, caller="+15551110405")
        caller.wait()
        g1.assert_ok()
        assert final_reply(caller).code == 603, final_reply(caller).first_line
        assert len(invites(g1)) == 1, g1.describe()
        time.sleep(0.5)
        assert not [m for m in sink.drain() if m.startswith(b"INVITE")], "gateway 2 was tried after a 603"
    finally:
        sink.close()


# ---------------------------------------------------------------------------------------------------------
# 4. per-leg digest auth inside a simring: 407 (carrier) and 401 (sip target with auth), each answered at once
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("winner", ["carrier407", "sip401"])
def test_c4_per_leg_digest_auth(full_stack, carrier_account, sipp, webhook, winner):
    ca = carrier_account
    p407 = free_port(full_stack)
    ca.carrier(f"c4-auth-{winner}", [gw(p407)], auth_username="trunkuser", auth_password="trunk-secret-1")
    s407 = sipp.uas("gw407", "uas_auth407_answer.xml" if winner == "carrier407" else "uas_auth407_ring.xml",
                    port=p407, duration_ms=300)
    s401 = sipp.uas("ua401", "uas_auth401_answer.xml" if winner == "sip401" else "uas_auth401_ring.xml",
                    duration_ms=300)
    ring = sipp.uas("ringer", "uas_ring_cancel.xml")
    called = ca.take()
    webhook.set_app(called, dial(webhook, called, [
        phone("+15557000004", trunk=f"c4-auth-{winner}"),
        sip_target(s401, auth={"username": "phoneuser", "password": "phone-secret-2"}),
        sip_target(ring)], timeout=20))
    caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110406", duration_ms=500)
    caller.assert_ok()
    for s in (s407, s401, ring):
        s.assert_ok()
    assert final_reply(caller).code == 200
    for s, code, hdr, user in ((s407, 407, "Proxy-Authorization", "trunkuser"),
                               (s401, 401, "Authorization", "phoneuser")):
        inv = invites(s)
        assert len(inv) == 2, s.describe()
        assert inv[0].header(hdr) is None and inv[1].header(hdr), f"{s.name}: second INVITE without {hdr}"
        assert f'username="{user}"' in inv[1].header(hdr)
        delay = inv[1].ts - s.sent(code)[0].ts
        assert delay < 1.0, f"{s.name}: credentials came {delay:.2f}s after the challenge"
        assert inv[1].ts < ring.received("CANCEL")[0].ts, "auth waited for the other legs"
    # secrets never reach webhooks or logs
    blob = " ".join(str(r.json) for r in webhook.snapshot())
    assert "trunk-secret-1" not in blob and "phone-secret-2" not in blob
    for name in ("dialplane", "kamailio"):
        text = full_stack.log(name).read_text(errors="replace")
        assert "trunk-secret-1" not in text and "phone-secret-2" not in text, f"a password is in the {name} log"


# ---------------------------------------------------------------------------------------------------------
# 5. a gateway that stops answering OPTIONS is skipped, and used again when it answers
# ---------------------------------------------------------------------------------------------------------
def test_c5_gateway_health(full_stack, carrier_account, sipp, webhook):
    ca = carrier_account
    p1, p2 = free_port(full_stack), free_port(full_stack)
    sid = ca.carrier("c5-health", [gw(p1, priority=0, options_ping=True), gw(p2, priority=1)])
    key1 = f"sip:{LOOPBACK}:{p1};transport=udp"
    r1 = OptionsResponder(p1)
    try:
        wait_until(lambda: health(full_stack, sid)[key1]["state"] == "up" and len(r1.received) >= 2, 10,
                   "gateway 1 pinged and up")
        r1.answering = False
        t0 = time.time()
        wait_until(lambda: health(full_stack, sid)[key1]["state"] == "down", 10, "gateway 1 down")
        assert time.time() - t0 < 8
        assert health(full_stack, sid)[key1]["usable"] is False
        g2 = sipp.uas("c5_gw2", "uas_answer.xml", port=p2, duration_ms=300)
        called = ca.take()
        webhook.set_app(called, dial(webhook, called, [phone("+15557000005", trunk="c5-health")], timeout=20))
        caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110407", duration_ms=300)
        caller.assert_ok()
        g2.assert_ok()
        assert not r1.invites(), "a down gateway got an INVITE"

        r1.answering = True
        wait_until(lambda: health(full_stack, sid)[key1]["state"] == "up", 10, "gateway 1 up again")
        called = ca.take()
        webhook.set_app(called, dial(webhook, called, [phone("+15557000005", trunk="c5-health")], timeout=20))
        caller = sipp.uac("caller2", "uac_fail.xml", called, caller="+15551110408")
        caller.wait()
        assert r1.invites(), "gateway 1 was not used again after it answered OPTIONS"
        assert final_reply(caller).code == 603
    finally:
        r1.close()


# ---------------------------------------------------------------------------------------------------------
# 6. a carrier capped at 2 concurrent calls: the third call goes to the next carrier
# ---------------------------------------------------------------------------------------------------------
def test_c6_max_calls_goes_to_next_carrier(full_stack, carrier_account, sipp, webhook):
    ca = carrier_account
    pa, pb = free_port(full_stack), free_port(full_stack)
    capped = ca.carrier("c6-capped", [gw(pa)], max_calls=2, e164_leading_plus=True)
    spare = ca.carrier("c6-spare", [gw(pb)], e164_leading_plus=True)
    ca.lcr("3906", [capped, spare])
    ga = sipp.uas("c6_gw_capped", "uas_answer.xml", port=pa, duration_ms=300, calls=2)
    gb = sipp.uas("c6_gw_spare", "uas_answer.xml", port=pb, duration_ms=300)
    callers = []
    for i in range(2):
        called = ca.take()
        webhook.set_app(called, dial(webhook, called, [phone(f"+390600000{i}")], timeout=20))
        callers.append(sipp.uac(f"caller{i}", "uac_call.xml", called, caller=f"+1555111050{i}", duration_ms=6000))
    wait_until(lambda: len(ga.sent(200)) >= 2, 10, "two calls answered by the capped carrier")
    called = ca.take()
    webhook.set_app(called, dial(webhook, called, [phone("+3906000009")], timeout=20))
    third = sipp.uac("caller_third", "uac_call.xml", called, caller="+15551110509", duration_ms=300)
    third.assert_ok()
    gb.assert_ok()
    assert len(invites(gb)) == 1 and uri_user_hostport(invites(gb)[0].ruri)[0] == "+3906000009"
    for c in callers:
        c.assert_ok()
    ga.assert_ok()
    assert len(invites(ga)) == 2


# ---------------------------------------------------------------------------------------------------------
# 7. the dial's timeout with phone targets: every carrier leg (each an inner hop with the caller's Call-ID and
#    CSeq) is cancelled at the timeout, not only one of them
# ---------------------------------------------------------------------------------------------------------
def test_c7_timeout_cancels_every_phone_leg(full_stack, carrier_account, sipp, webhook):
    ca = carrier_account
    pa, pb = free_port(full_stack), free_port(full_stack)
    ca.carrier("c7-a", [gw(pa)])
    ca.carrier("c7-b", [gw(pb)])
    ga = sipp.uas("c7_gw_a", "uas_ring_cancel.xml", port=pa)
    gb = sipp.uas("c7_gw_b", "uas_ring_cancel.xml", port=pb)
    called = ca.take()
    webhook.set_app(called, dial(webhook, called, [phone("+15557670001", trunk="c7-a"),
                                                   phone("+15557670002", trunk="c7-b")], timeout=3))
    caller = sipp.uac("caller", "uac_fail.xml", called, caller="+15551110701")
    caller.assert_ok()
    ga.assert_ok()
    gb.assert_ok()
    for g in (ga, gb):
        dt = g.received("CANCEL")[0].ts - first_invite(g).ts
        assert 2.7 <= dt <= 4.0, f"{g.name} cancelled {dt:.2f}s after its INVITE (timeout: 3)"
