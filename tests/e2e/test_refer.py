"""referHook: an in-dialog REFER on a dialled call is answered by Kamailio with what the app's referHook decides
(README semantics "referHook"); the other party never sees it and the call goes on.

  r1. the callee REFERs: the hook gets the child's call info and jambonz's refer_details (raw Refer-To and
      Referred-By, refer_to_user, the User-Agent, both call sids, X-* snake_cased) and answers 200 with verbs → the
      callee gets 202 (the verbs cannot run on a proxy: logged), the caller never sees the REFER, the call ends
      normally with the caller's BYE.
  r2. the caller REFERs to a tel: URI with Refer-Sub: false and the hook answers 404 → the caller gets 404 with
      an X-Reason; refer_to_user is the number.
  r3. a dial without referHook → 501 with an X-Reason, as jambonz answers.
"""

from __future__ import annotations

import time
from typing import Any

from test_core_call_path import dial, parent_of, sip_target


def refer_answer(s: Any, timeout: float = 10) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        finals = [m for m in s.received() if m.code and m.code >= 200 and m.cseq_method == "REFER"]
        if finals:
            return finals[0]
        time.sleep(0.1)
    raise AssertionError(f"{s.name} got no answer to its REFER: {s.describe()}")


def test_r1_callee_refer_goes_to_the_refer_hook_and_is_accepted(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    hook = webhook.set_route(f"/referHook/{called}", [{"verb": "say", "text": "this cannot run on a proxy"}])
    uas = sipp.uas("referrer", "uas_refer.xml", duration_ms=500, keys={"refer_to": "+15557654321"})
    webhook.set_app(called, dial(webhook, called, [sip_target(uas)], referHook=hook))
    uac = sipp.uac("caller", "uac_call.xml", called, caller="+15551112201", duration_ms=3000)
    parent = parent_of(webhook, called)

    ans = refer_answer(uas)
    assert ans.code == 202, uas.describe()
    reqs = webhook.wait_for(lambda _: webhook.snapshot(lambda r: r.path == f"/referHook/{called}"), 10,
                            "the referHook")
    assert len(reqs) == 1 and reqs[0].sig_ok, reqs
    body = reqs[0].json
    child = body.get("call_sid")
    assert body.get("parent_call_sid") == parent and child and child != parent, body
    assert body.get("direction") == "outbound", body
    d = body["refer_details"]
    assert d["sip_refer_to"] == "<sip:+15557654321@example.com>", d
    assert d["refer_to_user"] == "+15557654321", d
    assert d["sip_referred_by"].startswith("<sip:callee@127.0.0.1:") and d["referred_by_user"] == "callee", d
    assert d["sip_user_agent"] == "dialplane-e2e-referrer", d
    assert d["referring_call_sid"] == child and d["referred_call_sid"] == parent, d
    assert d["x_call_number"] == "42", d

    uac.assert_ok(timeout=15)  # it never saw a REFER (sipp aborts on an unexpected request) and hung up itself
    uas.assert_ok(timeout=10)
    assert not [m for m in uac.received() if m.method == "REFER"], uac.describe()


def test_r2_caller_refer_refused_by_the_hook(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    hook = webhook.set_route(f"/referHook/{called}", lambda req: (404, {"msg": "no such transfer target"}))
    uas = sipp.uas("callee", "uas_answer.xml", duration_ms=300)
    webhook.set_app(called, dial(webhook, called, [sip_target(uas)], referHook=hook))
    uac = sipp.uac("referrer", "uac_refer.xml", called, caller="+15551112202", duration_ms=800,
                   keys={"refer_to": "+15550001111"})
    parent = parent_of(webhook, called)

    ans = refer_answer(uac)
    assert ans.code == 404, uac.describe()
    assert ans.header("X-Reason") == "referHook answered 404", ans.header("X-Reason")
    assert ans.header("Refer-Sub") is None, uac.describe()  # only a 2xx says there is no subscription
    reqs = webhook.snapshot(lambda r: r.path == f"/referHook/{called}")
    assert len(reqs) == 1, reqs
    body = reqs[0].json
    assert body.get("call_sid") == parent and not body.get("parent_call_sid"), body
    d = body["refer_details"]
    assert d["sip_refer_to"] == "<tel:+15550001111>" and d["refer_to_user"] == "+15550001111", d
    assert "sip_referred_by" not in d and d["referring_call_sid"] == parent, d
    assert d["referred_call_sid"] and d["referred_call_sid"] != parent, d
    uac.assert_ok(timeout=10)
    uas.assert_ok(timeout=10)


def test_r3_no_refer_hook_is_501(full_stack, sipp, webhook, numbers):
    called = numbers.take()
    uas = sipp.uas("callee", "uas_answer.xml", duration_ms=300)
    webhook.set_app(called, dial(webhook, called, [sip_target(uas)]))
    uac = sipp.uac("referrer", "uac_refer.xml", called, caller="+15551112203", duration_ms=800,
                   keys={"refer_to": "+15550002222"})
    ans = refer_answer(uac)
    assert ans.code == 501 and ans.header("X-Reason") == "no referHook", uac.describe()
    uac.assert_ok(timeout=10)
    uas.assert_ok(timeout=10)
