"""Answering-machine detection (dial `amd`) with the embedded detector, on real RTP: the callee's media peer
plays speech made by flite (and a beep), rtpengine forks it to dialplane, and the events reach amd.actionHook.

  a1. a voicemail greeting and a beep on the answered leg: amd_machine_detected (long greeting),
      amd_tone_detected (~1 kHz), amd_machine_stopped_speaking, amd_stopped, in that order, with the parent's
      call info; the call stays up (the hook returned nothing).
  a2. "Hello?": amd_human_detected (short greeting), then amd_stopped; the hook answers it with a hangup verb,
      which on a proxy ends the bridged call (the caller gets a BYE).
  a3. voicemail-safe simring (amd.voicemailSafe, a dialplane extension): the leg a machine answers first is
      dropped while the other target keeps ringing; the human who answers later is connected.
"""

from __future__ import annotations

import time
from typing import Any

from media_peer import PT_PCMU, speech_payloads, tone_payload
from test_core_call_path import dial, parent_of, sip_target
from test_media import MEDIA_TIMEOUT_S, media, rtpengine_addr  # noqa: F401  (fixture)
from test_screening import assert_answered_by, assert_bye_answered, wait_answered, wait_caller_answered

GREETING = ("Hi, you have reached the voicemail of John Smith. I am not available right now. "
            "Please leave your name and number after the tone.")
BEEP = [tone_payload(1000)] * 25  # 500 ms


def amd_events(webhook: Any, key: str) -> list:
    return webhook.snapshot(lambda r: r.path == f"/amd/{key}")


def types(reqs: list) -> list:
    return [r.get("type") for r in reqs]


def test_a1_machine_greeting_and_beep_on_the_answered_leg(full_stack, sipp, webhook, numbers, media, tmp_path):
    st = full_stack
    called = numbers.take()
    a, b = media.peer("caller"), media.peer("callee")
    uas = sipp.uas("callee", "uas_media.xml", duration_ms=300, keys={"rtp_port": b.port})
    hook = webhook.set_route(f"/amd/{called}", None)
    webhook.set_app(called, dial(webhook, called, [sip_target(uas)], timeout=20, amd={"actionHook": hook}))
    uac = sipp.uac("caller", "uac_media.xml", called, caller="+15551119201", duration_ms=14000, timeout_s=40,
                   keys={"rtp_port": a.port})
    parent = parent_of(webhook, called)
    b.set_remote(*rtpengine_addr(st, uas, "INVITE"))
    wait_answered(uas)
    b.play_script(speech_payloads(GREETING, str(tmp_path)) + BEEP)
    a.set_remote(*rtpengine_addr(st, uac, "200"))
    a.start_audio()
    got = webhook.wait_for(lambda rs: "amd_stopped" in types(amd_events(webhook, called)) and amd_events(webhook, called),
                           20, "amd events up to amd_stopped")
    assert types(got) == ["amd_machine_detected", "amd_tone_detected", "amd_machine_stopped_speaking",
                          "amd_stopped"], got
    first = got[0].json
    assert first.get("reason") == "long greeting" and first.get("call_sid") == parent, first
    assert "parent_call_sid" not in first and first.get("direction") == "inbound", first
    assert abs(got[1].get("frequency", 0) - 1000) <= 60, got[1].json
    assert all(r.sig_ok for r in got), [r.sig_error for r in got]
    # the media still flows both ways (the hook returned nothing: the call goes on)
    a.wait_packets(20, MEDIA_TIMEOUT_S, t0=a.now(), pt=PT_PCMU)
    uac.assert_ok(timeout=25)
    uas.assert_ok(timeout=10)


def test_a2_human_hello_and_a_hangup_verb_from_the_hook(full_stack, sipp, webhook, numbers, media, tmp_path):
    st = full_stack
    called = numbers.take()
    a, b = media.peer("caller"), media.peer("callee")
    uas = sipp.uas("callee", "uas_media.xml", duration_ms=300, keys={"rtp_port": b.port})
    hook = webhook.set_route(f"/amd/{called}", lambda req: (
        200, [{"verb": "hangup"}] if req.get("type") == "amd_human_detected" else None))
    webhook.set_app(called, dial(webhook, called, [sip_target(uas)], timeout=20, amd={"actionHook": hook}))
    uac = sipp.uac("caller", "uac_media_hold.xml", called, caller="+15551119202", timeout_s=30,
                   keys={"rtp_port": a.port})
    b.set_remote(*rtpengine_addr(st, uas, "INVITE"))
    wait_answered(uas)
    t_answer = time.time()
    b.play_script(speech_payloads("Hello?", str(tmp_path)))
    got = webhook.wait_for(lambda rs: "amd_stopped" in types(amd_events(webhook, called)) and amd_events(webhook, called),
                           15, "amd events up to amd_stopped")
    assert types(got) == ["amd_human_detected", "amd_stopped"], got
    assert got[0].get("reason") == "short greeting", got[0].json
    assert got[0].ts - t_answer < 5, got[0].ts - t_answer
    uac.assert_ok(timeout=15)  # the network's BYE ended the caller's call
    assert uac.received("BYE"), uac.describe()


def test_a3_voicemail_safe_simring_drops_the_machine_and_connects_the_human(full_stack, sipp, webhook, numbers,
                                                                           media, tmp_path):
    st = full_stack
    called = numbers.take()
    a, bm, bh = media.peer("caller"), media.peer("machine"), media.peer("human")
    machine = sipp.uas("machine", "uas_screened.xml", duration_ms=300, keys={"rtp_port": bm.port})
    human = sipp.uas("human", "uas_screened.xml", duration_ms=6000, keys={"rtp_port": bh.port})
    hook = webhook.set_route(f"/amd/{called}", None)
    greeting, hello = speech_payloads(GREETING, str(tmp_path)), speech_payloads("Hello?", str(tmp_path))
    targets = [sip_target(machine), sip_target(human)]
    webhook.set_app(called, dial(webhook, called, targets, timeout=25,
                                 amd={"actionHook": hook, "voicemailSafe": True}))
    uac = sipp.uac("caller", "uac_media.xml", called, caller="+15551119203", duration_ms=3000, timeout_s=40,
                   keys={"rtp_port": a.port})
    parent = parent_of(webhook, called)
    bm.set_remote(*rtpengine_addr(st, machine, "INVITE"))
    bh.set_remote(*rtpengine_addr(st, human, "INVITE"))
    wait_answered(machine)
    bm.play_script(greeting + BEEP)
    # the machine is dropped while the human's phone still rings
    webhook.wait_for(lambda rs: machine.received("BYE"), 15, "the machine leg's BYE")
    assert not [m for m in human.sent() if m.code == 200], "the human answered before the machine was dropped"
    wait_answered(human, timeout=15)
    bh.play_script(hello)
    ok = wait_caller_answered(uac, timeout=15)
    assert_answered_by(ok, human)
    a.set_remote(*rtpengine_addr(st, uac, "200"))
    a.start_audio()
    bh.start_audio()
    a.wait_packets(10, MEDIA_TIMEOUT_S, t0=a.now(), pt=PT_PCMU)
    uac.assert_ok(timeout=20)
    assert_bye_answered(machine)
    assert_bye_answered(human)
    events = amd_events(webhook, called)
    kids = {r.get("to"): r.get("call_sid")
            for r in webhook.snapshot(lambda r: r.kind == "callStatus" and r.get("parent_call_sid") == parent)}
    by_leg = {}
    for r in events:
        by_leg.setdefault(r.get("dial_call_sid"), []).append(r.get("type"))
    assert by_leg.get(kids[targets[0]["sipUri"]], [])[:1] == ["amd_machine_detected"], by_leg
    assert by_leg.get(kids[targets[1]["sipUri"]], [])[:1] == ["amd_human_detected"], by_leg
