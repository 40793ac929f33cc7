"""Regression tests of issue #8's bugs, seen from outside: real Kamailio, rtpengine, Redis, sipp and dialplane.

  f1. an unregistered `user` target (no SIP user, never registered, unregistered) fails its leg 404; the
      other legs go on; a dial with only such a target gets 404 + X-Reason, never 503
  f3. the call_hook carries an Idempotency-Key (the same on a re-send)
  f4. after a caller CANCEL the actionHook carries the parent's final state (no-answer/487), not trying/100
  f5. `target: []` fails the dial with an X-Reason for the caller and a `failed` actionHook
  f6. a leg whose 180 is reported after its 200 still reports `ringing` before `in-progress`
      (deterministic: events posted to dialplane in the wrong order; and 30 back-to-back 180/200 calls)
  f7. (issue 15) an event with seq = 2^63-1 does not silence the call's later events
The re-sent decision after an instance died during an actionHook (bug 2) needs two instances: test_scale.py.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from conftest import LOOPBACK, SIP_REALM, wait_until
from test_core_call_path import (brief, dial, final_reply, parent_of, sip_target, statuses, wait_action_hooks,
                                 wait_children_final)

IDEM = "idempotency-key"


def register(sipp: Any, user: str, password: str, port: int, expires: int) -> None:
    reg = sipp.uac(f"register-{user}-{expires}", "uac_register.xml", user, port=port,
                   keys={"user": user, "domain": SIP_REALM, "expires": expires},
                   extra=["-au", user, "-ap", password, "-auth_uri", SIP_REALM])
    reg.assert_ok()
    assert reg.received(200), reg.describe()


def post_events(stack: Any, batch: dict) -> int:
    req = urllib.request.Request(f"http://{LOOPBACK}:{stack.ports.dp_internal}/kamailio/events",
                                 data=json.dumps(batch).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status


# ---------------------------------------------------------------------------------------------------------
# f1. unregistered user targets
# ---------------------------------------------------------------------------------------------------------
def test_f1_unregistered_user_target_fails_404_and_the_call_goes_on(full_stack, sipp, webhook, numbers):
    st = full_stack
    acct = st.prov["account_sid"]
    # bob has a SIP user but never registers; dave registers and then unregisters (Expires: 0); carol has no
    # SIP user at all
    for user in ("bob", "dave"):
        st.create("/v1/SipUsers", {"username": user, "domain": SIP_REALM, "account_sid": acct, "password": "secret-" + user})
    dave_port, _ = st.ports.sipp()
    register(sipp, "dave", "secret-dave", dave_port, 600)
    register(sipp, "dave", "secret-dave", dave_port, 0)

    called = numbers.take()
    answer = sipp.uas("answer", "uas_answer.xml", duration_ms=500)
    users = [{"type": "user", "name": f"{u}@{SIP_REALM}"} for u in ("carol", "bob", "dave")]
    webhook.set_app(called, dial(webhook, called, users + [sip_target(answer)], timeout=20))
    caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551118001", duration_ms=500)
    caller.assert_ok()
    answer.assert_ok()
    assert final_reply(caller).code == 200
    parent = parent_of(webhook, called)
    children = wait_children_final(webhook, parent, 4)
    by_to = {reqs[0].get("to"): reqs for reqs in children.values()}
    for u in ("carol", "bob", "dave"):
        reqs = by_to.get(f"{u}@{SIP_REALM}")
        assert reqs, f"no status webhooks for the {u} leg: {list(by_to)}"
        last = reqs[-1]
        assert (last.get("call_status"), last.get("sip_status")) == ("failed", 404), \
            f"{u}: {brief(reqs)} (an unregistered user is a 404 leg, not a lookup failure)"
    a = wait_action_hooks(webhook, parent)[0]
    assert (a.get("dial_call_status"), a.get("dial_sip_status")) == ("completed", 200), a.json

    # only an unregistered target: the caller gets 404 saying why, not 503
    called2 = numbers.take()
    webhook.set_app(called2, dial(webhook, called2, [users[0]], timeout=20))
    c2 = sipp.uac("caller-only-unregistered", "uac_fail.xml", called2, caller="+15551118002")
    c2.assert_ok()
    fin = final_reply(c2)
    assert fin.code == 404, f"{fin.first_line} X-Reason={fin.header('X-Reason')!r}"
    assert "not registered" in (fin.header("X-Reason") or ""), fin.headers
    p2 = parent_of(webhook, called2)
    a2 = wait_action_hooks(webhook, p2)[0]
    assert (a2.get("dial_call_status"), a2.get("dial_sip_status")) == ("failed", 404), a2.json
    assert a2.get("dial_sip_reason") == "user not registered", a2.json


# ---------------------------------------------------------------------------------------------------------
# f3 + f5. call_hook Idempotency-Key; an empty target list
# ---------------------------------------------------------------------------------------------------------
def test_f5_empty_target_list_fails_with_x_reason_and_call_hook_has_idempotency_key(full_stack, sipp, webhook,
                                                                                     numbers):
    called = numbers.take()
    webhook.set_app(called, dial(webhook, called, [], timeout=20))
    caller = sipp.uac("caller", "uac_fail.xml", called, caller="+15551118005")
    caller.assert_ok()
    fin = final_reply(caller)
    assert fin.code == 404, fin.first_line
    xr = fin.header("X-Reason") or ""
    assert "no targets" in xr, f"X-Reason {xr!r} does not say the dial had no targets"
    hook = webhook.wait_call_hook(called)
    parent = hook.get("call_sid")
    assert hook.headers.get(IDEM) == f"{parent}-call_hook", f"call_hook headers: {hook.headers}"
    a = wait_action_hooks(webhook, parent)[0]
    assert a.get("dial_call_status") == "failed" and a.get("dial_sip_status") == 404, a.json
    assert a.headers.get(IDEM), f"actionHook without Idempotency-Key: {a.headers}"
    # the parent's final status names the same failure
    wait_until(lambda: [r for r in webhook.statuses(parent) if r.get("call_status") == "failed"], 5,
               "parent status webhook 'failed'")


# ---------------------------------------------------------------------------------------------------------
# f4. CANCEL: the actionHook carries the parent's final state
# ---------------------------------------------------------------------------------------------------------
def test_f4_action_hook_after_cancel_carries_parent_final_state(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    ring = sipp.uas("ring", "uas_ring_cancel.xml")
    webhook.set_app(called, dial(webhook, called, [sip_target(ring)], timeout=30))
    caller = sipp.uac("caller", "uac_cancel.xml", called, caller="+15551118004")
    caller.assert_ok()
    ring.assert_ok()
    assert final_reply(caller).code == 487
    parent = parent_of(webhook, called)
    a = wait_action_hooks(webhook, parent)[0]
    assert (a.get("call_status"), a.get("sip_status")) == ("no-answer", 487), \
        f"actionHook's parent call_status/sip_status after CANCEL: {a.json}"
    finals = [r for r in webhook.statuses(parent) if r.get("call_status") == "no-answer"]
    assert finals, f"parent status webhooks: {brief(webhook.statuses(parent))}"


# ---------------------------------------------------------------------------------------------------------
# f6. a provisional reported after its 200
# ---------------------------------------------------------------------------------------------------------
def quiet_call(st: Any, sipp: Any, webhook: Any, numbers: Any, caller_number: str) -> tuple[Any, dict, dict]:
    """A call whose only leg rings a port where nothing listens, so the leg stays `trying` and the test
    reports its replies itself. Returns (caller sipp, common event fields, a fake event source)."""
    called = numbers.take()
    silent, _ = st.ports.sipp()
    webhook.set_app(called, dial(webhook, called, [{"type": "sip", "sipUri": f"sip:quiet@{LOOPBACK}:{silent}"}],
                                 timeout=30))
    # the caller hears nothing; Kamailio's own timer ends its INVITE long after the test is done with it
    caller = sipp.uac("caller", "uac_fail.xml", called, caller=caller_number, timeout_s=30)
    hook = webhook.wait_call_hook(called)
    parent, call_id = hook.get("call_sid"), hook.get("call_id")
    wait_until(lambda: webhook.children(parent), 5, "the leg's trying webhook")
    ev = {"call_id": call_id, "call_sid": parent, "dial": 1, "leg": 0}
    src = {"node": f"http://{LOOPBACK}:1/RPC", "boot": str(int(time.time()))}
    return caller, ev, src


def test_f6_late_180_is_reported_before_in_progress(full_stack, sipp, webhook, numbers):
    """Kamailio reports the 200 first and the 180 (received 1 ms earlier) in a later batch, as two SIP
    workers can. The leg never reported a provisional, so dialplane holds the answer's status webhooks
    briefly and sends ringing first."""
    caller, ev, src = quiet_call(full_stack, sipp, webhook, numbers, "+15551118006")
    parent = ev["call_sid"]
    t = time.time()
    assert post_events(full_stack, {**src, "events": [
        {**ev, "seq": 1, "ev": "reply", "ts": f"{t:.6f}", "code": 200, "reason": "OK", "sdp": True}]}) == 200
    time.sleep(0.05)
    assert post_events(full_stack, {**src, "events": [
        {**ev, "seq": 2, "ev": "reply", "ts": f"{t - 0.001:.6f}", "code": 180, "reason": "Ringing", "sdp": False}]}) == 200
    leg = webhook.wait_for(lambda _: next((r for r in webhook.children(parent).values()
                                           if any(x.get("call_status") == "in-progress" for x in r)), None),
                           5, "the leg's in-progress webhook")
    assert statuses(leg) == ["trying", "ringing", "in-progress"], brief(leg)
    # end the fake dialog so nothing is left behind
    assert post_events(full_stack, {**src, "events": [
        {**ev, "seq": 3, "ev": "dialog_end", "ts": f"{time.time():.6f}", "h_entry": 0, "h_id": 0}]}) == 200
    wait_action_hooks(webhook, parent)
    caller.stop()


def test_f6_back_to_back_180_200_always_ring_first(full_stack, sipp, webhook, numbers):
    n = 30
    called = numbers.take()
    uas = sipp.uas("b2b", "uas_answer.xml", duration_ms=0, calls=n, timeout_s=30)  # 180 and 200 back to back
    webhook.set_app(called, dial(webhook, called, [sip_target(uas)], timeout=20))
    caller = sipp.uac("callers", "uac_call.xml", called, caller="+15551118007", duration_ms=200, calls=n, rate=20,
                      timeout_s=40)
    caller.assert_ok(40)
    parents = [r.get("call_sid") for r in webhook.call_hooks(called)]
    assert len(parents) == n, f"{len(parents)} call_hooks for {n} calls"
    bad = {}
    for p in parents:
        ch = wait_children_final(webhook, p, 1)
        (reqs,) = ch.values()
        if statuses(reqs) != ["trying", "ringing", "in-progress", "completed"]:
            bad[p] = brief(reqs)
    assert not bad, f"{len(bad)} of {n} legs did not report ringing before in-progress: {bad}"


# ---------------------------------------------------------------------------------------------------------
# issue 15 item 4: an event with seq = INT64_MAX must not silence the call's later events
# ---------------------------------------------------------------------------------------------------------
def test_f7_huge_event_seq_silences_nothing(full_stack, sipp, webhook, numbers):
    caller, ev, src = quiet_call(full_stack, sipp, webhook, numbers, "+15551118008")
    parent = ev["call_sid"]
    now = f"{time.time():.6f}"
    assert post_events(full_stack, {**src, "events": [
        {**ev, "seq": 9223372036854775807, "ev": "reply", "ts": now, "code": 100, "reason": "Trying", "sdp": False},
        {**ev, "seq": 1, "ev": "reply", "ts": now, "code": 180, "reason": "Ringing", "sdp": False}]}) == 200
    leg = webhook.wait_for(lambda _: next((r for r in webhook.children(parent).values()
                                           if any(x.get("call_status") == "ringing" for x in r)), None),
                           5, "the leg's ringing webhook after an event with seq 2^63-1")
    assert statuses(leg) == ["trying", "ringing"], brief(leg)
    caller.stop()
