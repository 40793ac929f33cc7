"""Acceptance tests of issue #2: the jambonz `dial` verb through real Kamailio, rtpengine, Redis and dialplane.

Every SIP party is a sipp process on 127.0.0.1; the customer's application is the in-process webhook receiver.
Assertions are made only on what the system under test produced: SIP messages as received by sipp (-trace_msg),
webhook requests as received by the receiver, keys in Redis.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from typing import Any

import pytest

from conftest import DECISION_TIMEOUT_MS, LOOPBACK, SIP_REALM, Sipp, SipMsg, wait_until
from webhook_receiver import Request, WebhookReceiver, sign, verify_signature

FINAL_STATUSES = {"completed", "busy", "no-answer", "failed"}


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------
def norm(n: Any) -> str:
    s = str(n or "")
    return s[1:] if s.startswith("+") else s


def sip_target(s: Sipp, user: str = "callee", **extra: Any) -> dict:
    return {"type": "sip", "sipUri": f"sip:{user}@{LOOPBACK}:{s.port}", **extra}


def dial(webhook: WebhookReceiver, key: str, targets: list, **props: Any) -> list:
    return [{"verb": "dial", "actionHook": webhook.url(f"/actionHook/{norm(key)}"), "target": targets, **props}]


def collapse(seq: list) -> list:
    out: list = []
    for x in seq:
        if not out or out[-1] != x:
            out.append(x)
    return out


def statuses(reqs: list[Request]) -> list[str]:
    return collapse([r.get("call_status") for r in reqs])


def brief(reqs: list[Request]) -> list:
    """(call_status, sip_status, sip_reason) of each status webhook, for assertion messages."""
    return [(r.get("call_status"), r.get("sip_status"), r.get("sip_reason")) for r in reqs]


def parent_of(webhook: WebhookReceiver, called: str, timeout: float = 10) -> str:
    hook = webhook.wait_call_hook(called, timeout)
    sid = hook.get("call_sid")
    assert sid, f"callHook without call_sid: {hook.json}"
    return sid


def wait_children_final(webhook: WebhookReceiver, parent: str, n: int, timeout: float = 15) -> dict[str, list[Request]]:
    """Waits until `n` child legs of `parent` have each reported a final status."""
    def done(_: Any) -> Any:
        ch = webhook.children(parent)
        if len(ch) >= n and all(reqs[-1].get("call_status") in FINAL_STATUSES for reqs in ch.values()):
            return ch
        return None
    try:
        return webhook.wait_for(done, timeout, f"{n} child legs of {parent} with a final status")
    except AssertionError:
        ch = webhook.children(parent)
        summary = {sid: [(r.get("call_status"), r.get("sip_status"), r.get("to")) for r in reqs]
                   for sid, reqs in ch.items()}
        raise AssertionError(f"expected {n} child legs of {parent} ending in {sorted(FINAL_STATUSES)} "
                             f"within {timeout}s; got {summary}") from None


def wait_action_hooks(webhook: WebhookReceiver, parent: str, n: int = 1, timeout: float = 15) -> list[Request]:
    return webhook.wait_for(lambda _: len(webhook.action_hooks(parent)) >= n and webhook.action_hooks(parent), timeout,
                            f"{n} actionHook request(s) for {parent}")


def child_for(children: dict[str, list[Request]], sipp_party: Sipp) -> tuple[str, list[Request]]:
    """The child leg whose `to` names this sipp party's port."""
    hits = [(sid, reqs) for sid, reqs in children.items()
            if any(f":{sipp_party.port}" in str(r.get("to") or "") for r in reqs)]
    assert len(hits) == 1, (f"expected exactly one child leg with to=...:{sipp_party.port}, got "
                            f"{[(sid, reqs[0].get('to')) for sid, reqs in children.items()]}")
    return hits[0]


def first_invite(s: Sipp) -> SipMsg:
    inv = s.received("INVITE")
    assert inv, f"{s.name} received no INVITE: {s.describe()}"
    return inv[0]


def final_reply(uac: Sipp) -> SipMsg:
    finals = [m for m in uac.received() if m.code and m.code >= 200 and m.cseq_method == "INVITE"]
    assert finals, f"{uac.name} got no final reply to its INVITE: {uac.describe()}"
    return finals[0]


def invite_sent(uac: Sipp) -> SipMsg:
    inv = uac.sent("INVITE")
    assert inv, f"{uac.name} sent no INVITE: {uac.describe()}"
    return inv[0]


def uri_user_hostport(uri: str) -> tuple[str, str]:
    m = re.match(r"<?sips?:(?:([^@;>]*)@)?([^;>?]+)", uri.strip())
    assert m, f"not a SIP URI: {uri!r}"
    return m.group(1) or "", m.group(2)


def header_uri(value: str) -> str:
    m = re.search(r"<([^>]+)>", value)
    return m.group(1) if m else value.split(";")[0]


def assert_rtpengine_sdp(stack: Any, msg: SipMsg, who: str) -> None:
    addr, port = msg.sdp_media()
    assert addr == LOOPBACK and port is not None, f"{who}: no c=/m=audio in SDP:\n{msg.body}"
    assert stack.ports.rtp_min <= port <= stack.ports.rtp_max, (
        f"{who}: m=audio port {port} is not in rtpengine's range {stack.ports.rtp_min}-{stack.ports.rtp_max} "
        f"(SDP not anchored by rtpengine):\n{msg.body}")


class UdpSink:
    """A UDP port where nothing must arrive (stands in for a target that must never be called)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, port))
        self.sock.setblocking(False)

    def drain(self) -> list[bytes]:
        out = []
        while True:
            try:
                out.append(self.sock.recv(65535))
            except BlockingIOError:
                return out

    def close(self) -> None:
        self.sock.close()


# ---------------------------------------------------------------------------------------------------------
# 1. simring: first answer wins, the ringing leg is cancelled, the busy leg fails
# ---------------------------------------------------------------------------------------------------------
def test_01_simring_first_answer_wins(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    ans = sipp.uas("answer_2s", "uas_answer.xml", duration_ms=2000)
    ring = sipp.uas("ring_forever", "uas_ring_cancel.xml")
    busy = sipp.uas("busy", "uas_reject_486.xml")
    webhook.set_app(called, dial(webhook, called, [sip_target(ans), sip_target(ring), sip_target(busy)], timeout=30))

    caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110001", duration_ms=1500)
    caller.assert_ok()
    ans.assert_ok()
    ring.assert_ok()
    busy.assert_ok()

    # caller connected to the first answerer, media anchored in rtpengine
    inv, ok = invite_sent(caller), final_reply(caller)
    assert ok.code == 200, f"caller got {ok.first_line}"
    assert ans.port == int(uri_user_hostport(header_uri(ok.header("Contact")))[1].split(":")[1]), (
        f"caller's 200 is not from the answering target: Contact {ok.header('Contact')}")
    assert 1.8 <= ok.ts - inv.ts <= 4.0, f"200 came {ok.ts - inv.ts:.2f}s after the INVITE (target answers after 2s)"
    assert_rtpengine_sdp(full_stack, ok, "caller's 200 OK")
    for party in (ans, ring, busy):
        assert_rtpengine_sdp(full_stack, first_invite(party), f"INVITE received by {party.name}")
    # the ringing target was cancelled, the busy one got its ACK
    assert ring.received("CANCEL"), f"ringing target got no CANCEL: {ring.describe()}"
    assert ring.received("CANCEL")[0].ts >= ans.sent(200)[0].ts - 0.05, "CANCEL sent before the winner answered"
    assert busy.received("ACK"), f"busy target got no ACK for its 486: {busy.describe()}"

    parent = parent_of(webhook, called)
    children = wait_children_final(webhook, parent, 3)
    assert len(children) == 3, f"expected 3 child legs, got {list(children)}"
    assert parent not in children and len(set(children)) == 3
    win_sid, win = child_for(children, ans)
    ring_sid, ringl = child_for(children, ring)
    busy_sid, busyl = child_for(children, busy)
    for sid, reqs, party in ((win_sid, win, ans), (ring_sid, ringl, ring), (busy_sid, busyl, busy)):
        assert all(r.get("parent_call_sid") == parent for r in reqs)
        assert all(r.get("direction") == "outbound" for r in reqs), [r.get("direction") for r in reqs]
        assert reqs[0].get("to") == sip_target(party)["sipUri"], reqs[0].json
    assert statuses(win) == ["trying", "ringing", "in-progress", "completed"], brief(win)
    assert [r.get("sip_status") for r in win if r.get("call_status") == "in-progress"][0] == 200
    assert 1 <= int(win[-1].get("duration", -1)) <= 3, f"winner's completed duration: {win[-1].json}"
    assert statuses(ringl) == ["trying", "ringing", "no-answer"], brief(ringl)
    assert ringl[-1].get("sip_status") == 487
    assert statuses(busyl) == ["trying", "busy"], brief(busyl)
    assert busyl[-1].get("sip_status") == 486

    act = wait_action_hooks(webhook, parent)
    assert len(act) == 1, act
    a = act[0]
    assert (a.get("dial_call_status"), a.get("dial_sip_status"), a.get("dial_call_sid")) == ("completed", 200, win_sid), \
        a.json
    bye = caller.sent("BYE")[0]
    assert a.ts >= bye.ts - 0.05, "actionHook sent before the call ended"


# ---------------------------------------------------------------------------------------------------------
# 2. all targets fail: the actionHook carries the last failure
# ---------------------------------------------------------------------------------------------------------
def test_02_all_targets_fail_last_failure_reported(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    busy = sipp.uas("busy_now", "uas_reject_486.xml")
    notfound = sipp.uas("notfound_after_1s", "uas_reject_404.xml", duration_ms=1000)
    webhook.set_app(called, dial(webhook, called, [sip_target(busy), sip_target(notfound)], timeout=20))

    caller = sipp.uac("caller", "uac_fail.xml", called, caller="+15551110002")
    caller.assert_ok()
    busy.assert_ok()
    notfound.assert_ok()
    fin = final_reply(caller)
    assert fin.code >= 400, fin.first_line

    parent = parent_of(webhook, called)
    children = wait_children_final(webhook, parent, 2)
    b_sid, b = child_for(children, busy)
    n_sid, n = child_for(children, notfound)
    assert statuses(b) == ["trying", "busy"] and b[-1].get("sip_status") == 486, brief(b)
    assert statuses(n) == ["trying", "failed"] and n[-1].get("sip_status") == 404, brief(n)
    a = wait_action_hooks(webhook, parent)[0]
    assert (a.get("dial_call_status"), a.get("dial_sip_status"), a.get("dial_call_sid")) == ("failed", 404, n_sid), \
        a.json
    assert a.ts - invite_sent(caller).ts >= 0.9, "actionHook before the last (404 after 1 s) leg failed"


# ---------------------------------------------------------------------------------------------------------
# 3. ring timeout
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cancel_confirm_ms", [0, 300], ids=["487_at_once", "487_after_300ms"])
def test_03_ring_timeout_no_answer(full_stack, sipp, webhook, numbers, cancel_confirm_ms):
    called = numbers.take()
    # the phones confirm the CANCEL at once, or 300 ms later (the ring-timer expiry and the 487s are then
    # reported to dialplane in separate event batches): either way every leg ends no-answer/487
    r1 = sipp.uas("ring1", "uas_ring_cancel.xml", duration_ms=cancel_confirm_ms)
    r2 = sipp.uas("ring2", "uas_ring_cancel.xml", duration_ms=cancel_confirm_ms)
    webhook.set_app(called, dial(webhook, called, [sip_target(r1), sip_target(r2)], timeout=3))

    caller = sipp.uac("caller", "uac_fail.xml", called, caller="+15551110003")
    caller.assert_ok()
    r1.assert_ok()
    r2.assert_ok()
    t_inv = invite_sent(caller).ts
    for r in (r1, r2):
        dt = r.received("CANCEL")[0].ts - first_invite(r).ts
        assert 2.7 <= dt <= 4.0, f"{r.name} cancelled {dt:.2f}s after its INVITE (timeout: 3)"
    fin = final_reply(caller)
    assert fin.code >= 400, fin.first_line
    assert 2.8 <= fin.ts - t_inv <= 6.0, f"caller's final reply {fin.first_line!r} after {fin.ts - t_inv:.2f}s"

    parent = parent_of(webhook, called)
    a = wait_action_hooks(webhook, parent)[0]
    assert (a.get("dial_call_status"), a.get("dial_sip_status")) == ("no-answer", 487), a.json
    assert 2.8 <= a.ts - t_inv <= 5.0, f"actionHook {a.ts - t_inv:.2f}s after the INVITE (timeout: 3)"
    children = wait_children_final(webhook, parent, 2)
    for r in (r1, r2):
        sid, reqs = child_for(children, r)
        assert statuses(reqs) == ["trying", "ringing", "no-answer"], brief(reqs)
        assert reqs[-1].get("sip_status") == 487


# ---------------------------------------------------------------------------------------------------------
# 4. phone target through a named carrier
# ---------------------------------------------------------------------------------------------------------
def test_04_phone_target_via_named_carrier(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    number, caller_id = "+15557770004", "+15553330004"
    gw = sipp.uas("carrier_gw", "uas_answer.xml", port=full_stack.ports.carrier_gw, duration_ms=500)
    webhook.set_app(called, dial(webhook, called, [{"type": "phone", "number": number, "trunk": "e2e-gw"}],
                                 callerId=caller_id, timeout=20))

    caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551114444", duration_ms=500)
    caller.assert_ok()
    gw.assert_ok()
    inv = first_invite(gw)
    user, hostport = uri_user_hostport(inv.ruri)
    assert norm(user) == norm(number), f"Request-URI {inv.ruri} does not carry {number}"
    assert hostport == f"{LOOPBACK}:{full_stack.ports.carrier_gw}", f"Request-URI {inv.ruri} is not the gateway's"
    from_user, _ = uri_user_hostport(header_uri(inv.header("From")))
    assert norm(from_user) == norm(caller_id), f"From {inv.header('From')} does not carry callerId {caller_id}"
    assert final_reply(caller).code == 200

    parent = parent_of(webhook, called)
    a = wait_action_hooks(webhook, parent)[0]
    assert (a.get("dial_call_status"), a.get("dial_sip_status")) == ("completed", 200), a.json


# ---------------------------------------------------------------------------------------------------------
# 5. user target: a UA registered with digest auth receives the call
# ---------------------------------------------------------------------------------------------------------
def test_05_user_target_registered_with_digest(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    port = full_stack.ports.registered_ua
    reg = sipp.uac("register", "uac_register.xml", "alice", port=port,
                   keys={"user": "alice", "domain": SIP_REALM, "expires": 600},
                   extra=["-au", "alice", "-ap", full_stack.prov["user_password"], "-auth_uri", SIP_REALM])
    reg.assert_ok()
    challenges = [m for m in reg.received() if m.code in (401, 407)]
    assert challenges, f"REGISTER was not challenged: {reg.describe()}"
    assert reg.received(200), reg.describe()

    ua = sipp.uas("alice", "uas_answer.xml", port=port, duration_ms=500)
    webhook.set_app(called, dial(webhook, called, [{"type": "user", "name": f"alice@{SIP_REALM}"}], timeout=20))
    caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110005", duration_ms=500)
    caller.assert_ok()
    ua.assert_ok()
    inv = first_invite(ua)
    user, hostport = uri_user_hostport(inv.ruri)
    assert hostport == f"{LOOPBACK}:{port}" and user == "alice", f"INVITE R-URI {inv.ruri} is not the contact"
    assert final_reply(caller).code == 200
    parent = parent_of(webhook, called)
    a = wait_action_hooks(webhook, parent)[0]
    assert (a.get("dial_call_status"), a.get("dial_sip_status")) == ("completed", 200), a.json


# ---------------------------------------------------------------------------------------------------------
# 6. actionHook returns a second dial: the caller ends up with the fallback target
# ---------------------------------------------------------------------------------------------------------
def test_06_action_hook_second_dial_fallback(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    busy = sipp.uas("busy", "uas_reject_486.xml")
    fallback = sipp.uas("fallback", "uas_answer.xml", duration_ms=500)
    webhook.set_app(called, dial(webhook, called, [sip_target(busy)], timeout=20))
    webhook.set_action(called, dial(webhook, called, [sip_target(fallback, user="fallback")], timeout=20), None)

    caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110006", duration_ms=1000)
    caller.assert_ok()
    busy.assert_ok()
    fallback.assert_ok()
    ok = final_reply(caller)
    assert ok.code == 200
    assert f":{fallback.port}" in ok.header("Contact"), f"caller connected to {ok.header('Contact')}, not the fallback"
    assert fallback.received("BYE"), "the caller's BYE did not reach the fallback target"

    parent = parent_of(webhook, called)
    acts = wait_action_hooks(webhook, parent, 2)
    assert len(acts) == 2, acts
    children = wait_children_final(webhook, parent, 2)
    b_sid, _ = child_for(children, busy)
    f_sid, f = child_for(children, fallback)
    assert (acts[0].get("dial_call_status"), acts[0].get("dial_sip_status"), acts[0].get("dial_call_sid")) == \
        ("busy", 486, b_sid), acts[0].json
    assert (acts[1].get("dial_call_status"), acts[1].get("dial_sip_status"), acts[1].get("dial_call_sid")) == \
        ("completed", 200, f_sid), acts[1].json
    assert statuses(f) == ["trying", "ringing", "in-progress", "completed"], brief(f)


# ---------------------------------------------------------------------------------------------------------
# 7. caller hangs up while the targets ring
# ---------------------------------------------------------------------------------------------------------
def test_07_caller_cancel_while_ringing(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    r1 = sipp.uas("ring1", "uas_ring_cancel.xml")
    r2 = sipp.uas("ring2", "uas_ring_cancel.xml")
    webhook.set_app(called, dial(webhook, called, [sip_target(r1), sip_target(r2)], timeout=30))

    caller = sipp.uac("caller", "uac_cancel.xml", called, caller="+15551110007")
    # while it rings, the call's state is in Redis (positive control for the key names checked in test 8)
    parent = parent_of(webhook, called)
    key = f"dp:call:{parent}"
    wait_until(lambda: full_stack.redis_keys(key), 3, f"{key} in Redis while the call rings")
    caller.assert_ok()
    r1.assert_ok()
    r2.assert_ok()
    assert final_reply(caller).code == 487
    t_cancel = caller.sent("CANCEL")[0].ts
    for r in (r1, r2):
        c = r.received("CANCEL")
        assert c and c[0].ts >= t_cancel - 0.05, f"{r.name}: {r.describe()}"

    a = wait_action_hooks(webhook, parent)[0]
    assert (a.get("dial_call_status"), a.get("dial_sip_status")) == ("no-answer", 487), a.json
    children = wait_children_final(webhook, parent, 2)
    for r in (r1, r2):
        _, reqs = child_for(children, r)
        assert statuses(reqs) == ["trying", "ringing", "no-answer"], brief(reqs)
    # the finished call is deleted from Redis (docs/redis-keys.md)
    call_id = invite_sent(caller).header("Call-ID")
    left = lambda: full_stack.redis_keys(key) + full_stack.redis_keys(f"dp:callid:{call_id}")  # noqa: E731
    deadline = time.monotonic() + 5
    while left() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left() == [], f"state of the ended call left in Redis: {left()}"


# ---------------------------------------------------------------------------------------------------------
# 8. invalid app: 480 + X-Reason, no call state left in Redis
# ---------------------------------------------------------------------------------------------------------
def test_08_invalid_app_rejected_without_state(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    before = set(full_stack.redis_keys("dp:call:*"))
    webhook.set_app(called, [{"verb": "dial", "actionHook": webhook.url("/actionHook/x"), "timeout": 10}])  # no target
    caller = sipp.uac("caller", "uac_480_xreason.xml", called, caller="+15551110008")
    caller.assert_ok()  # sipp itself requires a 480 with a non-empty X-Reason
    fin = final_reply(caller)
    assert fin.code == 480
    xr = fin.header("X-Reason") or ""
    assert "target" in xr.lower(), f"X-Reason {xr!r} does not say what is wrong with the app"
    assert len(webhook.call_hooks(called)) == 1, "the app was not fetched"
    parent = webhook.call_hooks(called)[0].get("call_sid")
    call_id = invite_sent(caller).header("Call-ID")

    def leftover() -> list[str]:
        return sorted(set(full_stack.redis_keys("dp:call:*")) - before)
    deadline = time.monotonic() + 5
    while leftover() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftover() == [], f"call state left in Redis after the rejected call: {leftover()}"
    mentions = [k for k in full_stack.redis_keys("dp:*") if (parent and parent in k) or call_id in k]
    assert mentions == [], f"keys naming the rejected call remain: {mentions}"


# ---------------------------------------------------------------------------------------------------------
# 9. custom headers
# ---------------------------------------------------------------------------------------------------------
def test_09a_custom_headers_reach_each_leg(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    a = sipp.uas("leg_a", "uas_answer.xml", duration_ms=1000)
    b = sipp.uas("leg_b", "uas_ring_cancel.xml")
    webhook.set_app(called, dial(
        webhook, called,
        [sip_target(a, headers={"X-Shared": "from-target", "X-Target-Only": "tA"}), sip_target(b)],
        headers={"X-Dial-Only": "d1", "X-Shared": "from-dial"}, timeout=20))
    caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110009", duration_ms=500)
    caller.assert_ok()
    a.assert_ok()
    b.assert_ok()
    ia, ib = first_invite(a), first_invite(b)
    assert ia.header_all("X-Dial-Only") == ["d1"], ia.headers
    assert ia.header_all("X-Shared") == ["from-target"], "target-level header must override the dial-level one"
    assert ia.header_all("X-Target-Only") == ["tA"], ia.headers
    assert ib.header_all("X-Dial-Only") == ["d1"], ib.headers
    assert ib.header_all("X-Shared") == ["from-dial"], ib.headers
    assert ib.header_all("X-Target-Only") == [], "a target's headers leaked to another leg"


@pytest.mark.parametrize("case", ["crlf_value", "forbidden_via"])
def test_09b_bad_custom_headers_refused(full_stack, sipp, webhook, numbers, case):
    called = numbers.take()
    port, _ = full_stack.ports.sipp()
    sink = UdpSink(port)
    try:
        target = {"type": "sip", "sipUri": f"sip:never@{LOOPBACK}:{port}"}
        if case == "crlf_value":
            verbs = dial(webhook, called, [target], headers={"X-Evil": "a\r\nVia: SIP/2.0/UDP 6.6.6.6:5060"})
            name = "X-Evil"
        else:
            verbs = dial(webhook, called, [{**target, "headers": {"Via": "SIP/2.0/UDP 6.6.6.6:5060"}}])
            name = "Via"
        webhook.set_app(called, verbs)
        caller = sipp.uac("caller", "uac_480_xreason.xml", called, caller="+15551110010")
        caller.assert_ok()
        fin = final_reply(caller)
        assert fin.code == 480
        xr = fin.header("X-Reason") or ""
        assert name.lower() in xr.lower(), f"X-Reason {xr!r} does not name the header {name}"
        time.sleep(0.3)
        got = sink.drain()
        assert got == [], f"the target was called despite the bad header: {got[0][:200]!r}"
    finally:
        sink.close()


# ---------------------------------------------------------------------------------------------------------
# 10. dialplane paused: 503 within the query timeout, OPTIONS still answered, recovery after SIGCONT
# ---------------------------------------------------------------------------------------------------------
def test_10_dialplane_paused_503_then_recovers(full_stack, sipp, webhook, numbers):
    called, called_after = numbers.take(), numbers.take()
    ans = sipp.uas("answer", "uas_answer.xml", duration_ms=300)
    webhook.set_app(called, dial(webhook, called, [sip_target(ans)], timeout=10))
    webhook.set_app(called_after, dial(webhook, called_after, [sip_target(ans)], timeout=10))
    dp = full_stack.services["dialplane"].proc
    os.kill(dp.pid, signal.SIGSTOP)
    try:
        callers = sipp.uac("caller_while_paused", "uac_fail.xml", called, caller="+15551110011", calls=3, rate=2)
        time.sleep(0.5)
        ping = sipp.uac("options_while_paused", "uac_options.xml", "ping")
        ping.assert_ok(10)
        callers.assert_ok()
    finally:
        os.kill(dp.pid, signal.SIGCONT)
    pong = ping.received(200)
    assert pong and pong[0].ts - ping.sent("OPTIONS")[0].ts < 0.5, ping.describe()

    msgs = callers.messages()
    invites = {m.header("Call-ID"): m for m in msgs if m.direction == "sent" and m.method == "INVITE"}
    assert len(invites) == 3, callers.describe()
    limit = DECISION_TIMEOUT_MS / 1000 + 1.5
    for cid, inv in invites.items():
        finals = [m for m in msgs if m.direction == "received" and m.header("Call-ID") == cid and m.code
                  and m.code >= 200]
        assert finals and finals[0].code == 503, f"{cid}: {[m.first_line for m in finals]}"
        dt = finals[0].ts - inv.ts
        assert dt <= limit, f"{cid}: 503 after {dt:.2f}s (query timeout {DECISION_TIMEOUT_MS} ms)"
        assert finals[0].header("Retry-After"), f"503 without Retry-After: {finals[0].headers}"

    caller = sipp.uac("caller_after_resume", "uac_call.xml", called_after, caller="+15551110012", duration_ms=300)
    caller.assert_ok()
    ans.assert_ok()
    assert final_reply(caller).code == 200
    assert webhook.call_hooks(called_after), "call after SIGCONT did not reach the app"


# ---------------------------------------------------------------------------------------------------------
# 11. Jambonz-Signature on every webhook request
# ---------------------------------------------------------------------------------------------------------
def test_11_webhook_signatures(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    ans = sipp.uas("answer", "uas_answer.xml", duration_ms=300)
    webhook.set_app(called, dial(webhook, called, [sip_target(ans)], timeout=10))
    caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110013", duration_ms=300)
    caller.assert_ok()
    ans.assert_ok()
    parent = parent_of(webhook, called)
    wait_action_hooks(webhook, parent)
    wait_children_final(webhook, parent, 1)

    reqs = webhook.snapshot(lambda r: r.kind in ("callHook", "callStatus", "actionHook"))
    mine = [r for r in reqs if parent in (r.get("call_sid"), r.get("parent_call_sid"))]
    assert {r.kind for r in mine} == {"callHook", "callStatus", "actionHook"}, mine
    bad = [(r, r.sig_error) for r in reqs if not r.sig_ok]
    assert bad == [], f"{len(bad)} of {len(reqs)} webhook requests have no valid Jambonz-Signature: {bad[:5]}"
    for r in mine:
        hdr = r.headers.get("jambonz-signature", "")
        assert re.fullmatch(r"t=\d{9,11},v1=[0-9a-f]{64}", hdr), f"signature header format: {hdr!r}"
        assert abs(int(hdr.split(",")[0][2:]) - r.ts) < 30, "signature timestamp is not the send time"
    # negative control: the receiver's check rejects the same header over a modified body or with another key
    r = mine[0]
    assert verify_signature(full_stack.webhook.secret, r.headers["jambonz-signature"], r.body + b" ") is not None
    assert verify_signature("another-secret", r.headers["jambonz-signature"], r.body) is not None
    assert verify_signature(full_stack.webhook.secret, sign(full_stack.webhook.secret, r.body), r.body) is None


# ---------------------------------------------------------------------------------------------------------
# 12. a From display name that is not UTF-8 (ISO-8859-1 from an old PBX): Kamailio's one-shot JSON encoding of
#     the invite decision request fails on it, the field-by-field fallback leaves it out, the call goes through
# ---------------------------------------------------------------------------------------------------------
def test_12_latin1_display_name_still_decided(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    ans = sipp.uas("answer", "uas_answer.xml", duration_ms=300)
    webhook.set_app(called, dial(webhook, called, [sip_target(ans)], timeout=10))
    caller = sipp.uac("caller", "uac_call_latin1.xml", called, caller="+15551110014", duration_ms=300)
    caller.assert_ok()
    ans.assert_ok()
    assert final_reply(caller).code == 200, caller.describe()
    hook = webhook.wait_call_hook(called, 10)
    assert hook.get("from") == "+15551110014", hook.json
    assert "+15551110014" in first_invite(ans).header("From"), first_invite(ans).header("From")
