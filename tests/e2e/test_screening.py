"""Screening inside a simring (confirmHook): real Kamailio holds a screened callee's 200, dialplane runs the
confirm app on that callee over rtpengine, and the first callee to pass wins.

  c1. two screened targets and a plain one ringing: the first screened callee hears the prompt, presses 1 and
      wins (the caller's 200 carries its tag); the second (still in its gather) gets a BYE, the plain one a
      CANCEL. Before the acceptance the caller hears nothing (no prompt, no callee) and the held callee only the
      prompt; after it both hear each other.
  c2. a screening app that hangs up: that callee gets a BYE, and a plain target answering later wins.
  c3. the caller hangs up while a callee is being screened: the held callee gets a BYE.
  c4. the only target is screened out: the caller gets its final reply at once (not after the ring timeout) and
      the dial's actionHook says no-answer.
  c5. one callee screened out and another accepted a second later: the answer goes to the caller's INVITE,
      not to the transaction of the BYE just sent to the first callee (same Call-ID; that BYE now has the next
      CSeq of its dialog).
  c6. phone targets through carriers (each leg an inner hop with the caller's Call-ID and CSeq): the screened
      callee that accepts answers the caller, the other carrier's ringing leg gets a CANCEL.
"""

from __future__ import annotations

import time
from typing import Any

from media_peer import PT_PCMU
from test_carriers import free_port, gw, phone
from test_core_call_path import dial, final_reply, parent_of, sip_target
from test_media import MEDIA_TIMEOUT_S, MediaPeers, media, rtpengine_addr  # noqa: F401  (fixture)

PROMPT = {"text": "Press one to accept this call."}


def confirm_app(webhook: Any, key: str, accept_digit: str = "1") -> str:
    """A confirmHook answering with a gather whose actionHook accepts on `accept_digit` and hangs up otherwise."""
    action = webhook.set_route(f"/confirmAction/{key}", lambda req: (
        200, [] if req.get("digits") == accept_digit else [{"verb": "hangup"}]))
    return webhook.set_route(f"/confirmHook/{key}", [
        {"verb": "gather", "input": ["digits"], "numDigits": 1, "timeout": 8, "actionHook": action, "say": PROMPT}])


def wait_answered(uas: Any, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while not [m for m in uas.sent() if m.code == 200] and time.time() < deadline:
        time.sleep(0.05)
    assert [m for m in uas.sent() if m.code == 200], uas.describe()


def wait_caller_answered(uac: Any, timeout: float = 10) -> Any:
    """The caller's 200 to its INVITE (it may come seconds after the callee answered: screening)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ok = [m for m in uac.received() if m.code == 200 and m.cseq_method == "INVITE"]
        if ok:
            return ok[0]
        time.sleep(0.1)
    raise AssertionError(f"the caller was never answered: {uac.describe()}")


def assert_answered_by(reply: Any, uas: Any) -> None:
    """The caller's 200 carries the To tag of `uas`'s own 200: that callee won."""
    tag = [m for m in uas.sent() if m.code == 200][0].header("To").split("tag=")[-1]
    assert reply.header("To").split("tag=")[-1] == tag, (reply.header("To"), tag)


def assert_bye_answered(uas: Any, timeout: float = 15) -> None:
    """The callee got a BYE and answered it. uas_screened.xml then waits 1.5 s for the ACK of its branch's 487,
    which only a callee screened out while its branch was pending gets: sipp counts the wait's end as a failure."""
    rc = uas.wait(timeout)
    flow = uas.flow()
    assert rc in (0, 1) and "< BYE" in flow and flow[flow.index("< BYE") + 1] == "> 200", uas.describe()
    assert "Aborting" not in uas.describe() and "unexpected" not in uas.describe(), uas.describe()


def statuses_of(webhook: Any, sid: str) -> list:
    out: list = []
    for r in webhook.snapshot(lambda r: r.kind == "callStatus" and r.get("call_sid") == sid):
        if not out or out[-1] != r.get("call_status"):
            out.append(r.get("call_status"))
    return out


def child_sids(webhook: Any, parent: str) -> dict:
    """to (sip URI) -> child call_sid, from the children's status webhooks."""
    return {r.get("to"): r.get("call_sid")
            for r in webhook.snapshot(lambda r: r.kind == "callStatus" and r.get("parent_call_sid") == parent)}


def test_c1_first_screened_callee_to_accept_wins_the_simring(full_stack, sipp, webhook, numbers, media):
    st = full_stack
    called = numbers.take()
    a, b1, b2 = media.peer("caller"), media.peer("screened1"), media.peer("screened2")
    uas1 = sipp.uas("screened1", "uas_screened.xml", duration_ms=300, keys={"rtp_port": b1.port})
    uas2 = sipp.uas("screened2", "uas_screened.xml", duration_ms=1200, keys={"rtp_port": b2.port})
    plain = sipp.uas("plain", "uas_ring_cancel.xml")
    hook = confirm_app(webhook, called)
    targets = [sip_target(uas1, confirmHook=hook), sip_target(uas2, confirmHook=hook), sip_target(plain)]
    webhook.set_app(called, dial(webhook, called, targets, timeout=25))
    uac = sipp.uac("caller", "uac_media.xml", called, caller="+15551119101", duration_ms=3000, timeout_s=40,
                   keys={"rtp_port": a.port})
    parent = parent_of(webhook, called)

    b1.set_remote(*rtpengine_addr(st, uas1, "INVITE"))
    b2.set_remote(*rtpengine_addr(st, uas2, "INVITE"))
    # like phones, the callees send audio once they answered (early RTP of a target is heard with the music:
    # README semantics)
    wait_answered(uas1)
    t_answer = b1.now()
    b1.start_audio()
    wait_answered(uas2)
    b2.start_audio()
    # the first screened callee hears the prompt (rtpengine's file: neither peer's pattern nor silence)
    b1.wait_packets(25, 15, match=lambda p: _label(p) == "other")
    b1.send_dtmf("1", duration_ms=120)
    t_press = b1.now()

    ok = wait_caller_answered(uac)
    tag1 = [m for m in uas1.sent() if m.code == 200][0].header("To")
    assert ok.header("To").split("tag=")[-1] == tag1.split("tag=")[-1], (ok.header("To"), tag1)

    # before the acceptance: the caller heard no prompt, and no callee once its own screening began (its first
    # prompt packet; until dialplane's isolation, one event round trip after its 200, a callee's audio is heard
    # like early media: README semantics; the second callee's window falls inside the first one's screening),
    # and the held callee no caller
    assert a.labels(t1=t_press).get("other", 0) == 0, f"the caller heard the prompt: {media.describe()}"
    for b in (b1, b2):
        prompt = b.packets(pt=PT_PCMU, t1=t_press, match=lambda p: _label(p) == "other")
        if not prompt:
            continue  # its screening had not begun when the first callee accepted
        heard = a.labels(t0=prompt[0].at, t1=t_press).get(f"peer:{b.name}", 0)
        assert heard == 0, f"the caller heard {b.name} during its screening ({heard} packets)\n{media.describe()}"
    before_b1 = b1.labels(t1=t_press)
    leaked = [(round(p.at - t_answer, 3), p.seq) for p in b1.packets(pt=PT_PCMU, t1=t_press)
              if _label(p.payload) == f"peer:{a.name}"]
    assert before_b1.get(f"peer:{a.name}", 0) == 0, f"the held callee heard the caller: {before_b1} {leaked}"
    # after it: both ways
    a.set_remote(*rtpengine_addr(st, uac, "200"))
    a.start_audio()
    t200 = a.now()
    a.wait_packets(25, MEDIA_TIMEOUT_S, t0=t200, pt=PT_PCMU, match=b1)
    b1.wait_packets(25, MEDIA_TIMEOUT_S, t0=t200, match=a)

    # the loser still in screening got a BYE, the ringing plain target a CANCEL
    assert_bye_answered(uas2)
    plain.assert_ok(timeout=15)
    uac.assert_ok()
    assert_bye_answered(uas1)  # the caller's BYE

    kids = child_sids(webhook, parent)
    s1, s2, s3 = (kids.get(t["sipUri"]) for t in targets)
    webhook.wait_for(lambda rs: statuses_of(webhook, parent)[-1:] == ["completed"], 10, "the parent's completion")
    assert statuses_of(webhook, s1) == ["trying", "ringing", "in-progress", "completed"], statuses_of(webhook, s1)
    assert statuses_of(webhook, s2)[-2:] == ["in-progress", "completed"], statuses_of(webhook, s2)
    assert statuses_of(webhook, s3)[-1] == "no-answer", statuses_of(webhook, s3)
    confirms = webhook.snapshot(lambda r: r.path == f"/confirmHook/{called}")
    assert {r.get("call_sid") for r in confirms} >= {s1}, confirms
    assert all(r.get("parent_call_sid") == parent and r.sig_ok for r in confirms), confirms
    actions = webhook.snapshot(lambda r: r.path == f"/confirmAction/{called}")
    assert [r.get("digits") for r in actions if r.get("call_sid") == s1] == ["1"], actions


def _label(payload: bytes) -> str:
    from media_peer import label_payload
    return label_payload(payload)


def test_c2_screening_app_that_hangs_up_lets_a_later_target_win(full_stack, sipp, webhook, numbers, media):
    called = numbers.take()
    screened = sipp.uas("screened", "uas_screened.xml", duration_ms=200, keys={"rtp_port": media.peer("s").port})
    later = sipp.uas("later", "uas_answer.xml", duration_ms=2500)
    hook = webhook.set_route(f"/confirmHook/{called}", [{"verb": "hangup"}])
    targets = [sip_target(screened, confirmHook=hook), sip_target(later)]
    webhook.set_app(called, dial(webhook, called, targets, timeout=20))
    uac = sipp.uac("caller", "uac_call.xml", called, caller="+15551119102", duration_ms=500, timeout_s=30)
    parent = parent_of(webhook, called)
    assert_bye_answered(screened)
    t_bye = screened.received("BYE")[0].ts
    uac.assert_ok(timeout=20)
    reply = final_reply(uac)
    assert reply.code == 200 and reply.ts > t_bye, (reply.first_line, reply.ts, t_bye)
    assert_answered_by(reply, later)
    later.assert_ok(timeout=10)
    kids = child_sids(webhook, parent)
    assert statuses_of(webhook, kids[targets[0]["sipUri"]])[-2:] == ["in-progress", "completed"]


def test_c3_caller_hangup_during_screening_byes_the_held_callee(full_stack, sipp, webhook, numbers, media):
    called = numbers.take()
    screened = sipp.uas("screened", "uas_screened.xml", duration_ms=100, keys={"rtp_port": media.peer("s").port})
    hook = webhook.set_route(f"/confirmHook/{called}", [{"verb": "pause", "length": 20}])
    webhook.set_app(called, dial(webhook, called, [sip_target(screened, confirmHook=hook)], timeout=20))
    uac = sipp.uac("caller", "uac_cancel.xml", called, caller="+15551119103", timeout_s=20)
    parent = parent_of(webhook, called)
    uac.assert_ok(timeout=15)
    assert final_reply(uac).code == 487
    assert_bye_answered(screened)
    bye = screened.received("BYE")
    assert bye and bye[0].ts - uac.sent("CANCEL")[0].ts < 3, screened.describe()
    webhook.wait_for(lambda rs: statuses_of(webhook, parent)[-1:] == ["no-answer"], 10, "the parent's end")


def test_c4_last_target_screened_out_fails_the_dial_at_once(full_stack, sipp, webhook, numbers, media):
    called = numbers.take()
    screened = sipp.uas("screened", "uas_screened.xml", duration_ms=100, keys={"rtp_port": media.peer("s").port})
    hook = webhook.set_route(f"/confirmHook/{called}", [{"verb": "hangup"}])
    webhook.set_app(called, dial(webhook, called, [sip_target(screened, confirmHook=hook)], timeout=20))
    uac = sipp.uac("caller", "uac_fail.xml", called, caller="+15551119104", timeout_s=20)
    uac.assert_ok(timeout=15)
    reply = final_reply(uac)
    invite = uac.sent("INVITE")[0]
    assert reply.code >= 400 and reply.ts - invite.ts < 5, (reply.first_line, reply.ts - invite.ts)
    action = webhook.wait_for(lambda rs: [r for r in rs if r.path == f"/actionHook/{called.lstrip('+')}"
                                          or r.path.startswith("/actionHook/")
                                          and r.get("to") == called], 10, "the dial's actionHook")
    assert action[-1].get("dial_call_status") == "no-answer", action[-1].json
    assert_bye_answered(screened)


def test_c5_screened_out_then_accepted_answers_the_callers_invite(full_stack, sipp, webhook, numbers, media):
    called = numbers.take()
    out = sipp.uas("out", "uas_screened.xml", duration_ms=100, keys={"rtp_port": media.peer("o").port})
    won = sipp.uas("won", "uas_screened.xml", duration_ms=1200, keys={"rtp_port": media.peer("w").port})
    targets = [sip_target(out, confirmHook=webhook.set_route(f"/confirmHook/{called}/out", [{"verb": "hangup"}])),
               sip_target(won, confirmHook=webhook.set_route(f"/confirmHook/{called}/won", []))]
    webhook.set_app(called, dial(webhook, called, targets, timeout=20))
    uac = sipp.uac("caller", "uac_call.xml", called, caller="+15551119105", duration_ms=500, timeout_s=30)
    assert_bye_answered(out)
    bye = out.received("BYE")[0]
    invite_cseq = int(out.received("INVITE")[0].header("CSeq").split()[0])
    assert bye.header("CSeq") == f"{invite_cseq + 1} BYE", bye.header("CSeq")
    uac.assert_ok(timeout=20)
    reply = final_reply(uac)
    assert reply.code == 200 and reply.ts - bye.ts < 5, (reply.first_line, reply.ts - bye.ts)
    assert_answered_by(reply, won)
    assert_bye_answered(won)  # the caller's BYE


def test_c6_screened_phone_target_through_a_carrier_wins(full_stack, carrier_account, sipp, webhook, media):
    ca = carrier_account
    p_won, p_ring = free_port(full_stack), free_port(full_stack)
    ca.carrier("scr-won", [gw(p_won)])
    ca.carrier("scr-ring", [gw(p_ring)])
    won = sipp.uas("won", "uas_screened.xml", port=p_won, duration_ms=300, keys={"rtp_port": media.peer("w").port})
    ringing = sipp.uas("ringing", "uas_ring_cancel.xml", port=p_ring)
    called = ca.take()
    hook = webhook.set_route(f"/confirmHook/{called}", [])
    targets = [phone("+15557650001", trunk="scr-won", confirmHook=hook), phone("+15557650002", trunk="scr-ring")]
    webhook.set_app(called, dial(webhook, called, targets, timeout=20))
    uac = sipp.uac("caller", "uac_call.xml", called, caller="+15551119106", duration_ms=500, timeout_s=30)
    uac.assert_ok(timeout=20)
    reply = final_reply(uac)
    assert reply.code == 200, reply.first_line
    assert_answered_by(reply, won)
    assert webhook.snapshot(lambda r: r.path == f"/confirmHook/{called}"), "the confirmHook never ran"
    ringing.assert_ok(timeout=15)  # its CANCEL
    assert_bye_answered(won)  # the caller's BYE
