"""The dial verb's nested `listen` end to end: real Kamailio, rtpengine, sipp parties with media peers
(media_peer.py), and a websocket server of the test's own (ws_sink.py, python3-websockets).

  l1. stereo at 8 kHz with wsAuth, passDtmf and metadata: the handshake (subprotocol audio.jambonz.org, HTTP Basic),
      the metadata text frame first (the child leg's call info in camelCase, sampleRate, mixType, the app's
      metadata), then ~50 binary frames/s of 640 bytes whose left channel is the caller's pattern and right the
      callee's (decoded back through G.711); playAudio reaches the caller (not the callee) and a playDone with its id
      comes back; the caller's DTMF arrives as a dtmf event; REST listen_status pause stops the frames, silence sends
      zeros, resume restarts them; the server's disconnect ends the stream but not the call (audio still flows
      both ways), the listen's actionHook is posted and listen_status is then refused.
  l2. mono of the callee (channel 2) at 16 kHz with maxLength 2: 640-byte frames carrying the callee's tone (its
      frequency measured on the upsampled PCM), the stream ends after ~2 s, the actionHook says so; the call goes
      on.
  l3. a server that refuses the connection: the call is bridged and goes on, the actionHook reports 0 s.
  l4. mixed at 24 kHz of the callee (channel 2): 960-byte frames louder than either party alone; the caller's "#" is
      ignored, the callee's ends the listen (finishOnKey), the actionHook has digits "#"; the call goes on.
  l5. mono 8 kHz (the defaults): REST completed ends the call, the websocket closes within 1.5 s, the actionHook
      is sent.
"""

from __future__ import annotations

import base64
import math
import struct
import time
from typing import Any

import pytest

from conftest import LOOPBACK
from media_peer import PT_PCMU, label_payload, ulaw_decode, ulaw_encode
from test_core_call_path import norm, parent_of
from test_media import MEDIA_TIMEOUT_S, bridged_call, child_of, is_music, media, update  # noqa: F401  (fixture)
from ws_sink import WsSink, wait_for


@pytest.fixture
def sink(full_stack):
    """A websocket server of the test's own (ws_sink.py) on a free port, stopped after the test."""
    port, _ = full_stack.ports.sipp()
    s = WsSink(LOOPBACK, port).start()
    try:
        yield s
    finally:
        s.stop()


def hang_up(st: Any, parent: str, uac: Any, uas: Any) -> None:
    """REST completed on the call; both sipp parties end cleanly."""
    assert update(st, parent, {"call_status": "completed"})[0] == 202
    uac.assert_ok(15)
    uas.assert_ok(15)


def listen_hooks(webhook: Any, called: str) -> list:
    return webhook.snapshot(lambda r: r.path.split("?", 1)[0].rstrip("/") == f"/listenAction/{norm(called)}")


def samples(frame: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(frame) // 2}h", frame)


def label_pcm(pcm: tuple[int, ...] | list[int]) -> str:
    return label_payload(bytes(ulaw_encode(s) for s in pcm))


def crossings_hz(pcm: list[int], rate: int) -> float:
    n = sum(1 for i in range(1, len(pcm)) if (pcm[i - 1] < 0) != (pcm[i] < 0))
    return n / 2 / (len(pcm) / rate)


def tone_l16(seconds: float, hz: int, rate: int = 8000, amp: int = 8000) -> bytes:
    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(amp * math.sin(2 * math.pi * hz * i / rate)) for i in range(n)))


def test_l1_stereo_metadata_audio_play_dtmf_status_and_disconnect(full_stack, sipp, webhook, numbers, media, sink):
    st = full_stack
    called = numbers.take()
    listen = {"url": sink.url("/listen?x=1"), "mixType": "stereo", "sampleRate": 8000, "passDtmf": True,
              "wsAuth": {"username": "lu", "password": "lp"}, "metadata": {"foo": "bar"},
              "actionHook": webhook.url(f"/listenAction/{norm(called)}")}
    a, b, uac, uas = bridged_call(st, sipp, webhook, media, called, caller="+15551119021", hold=True, listen=listen)
    parent = parent_of(webhook, called)
    child = child_of(webhook, parent)
    conn = sink.wait_conn(timeout=10)

    # the handshake and the metadata frame, first
    assert conn.path == "/listen?x=1", conn.path
    assert conn.subprotocol == "audio.jambonz.org", conn.headers
    assert conn.headers.get("authorization") == "Basic " + base64.b64encode(b"lu:lp").decode(), conn.headers
    wait_for(lambda: conn.messages, 5, "the first frame")
    assert conn.messages[0].text, "the first frame is not text"
    meta = conn.texts()[0]
    assert meta["callSid"] == child and meta["parentCallSid"] == parent, meta
    assert meta["direction"] == "outbound" and meta["callStatus"] == "in-progress" and meta["sipStatus"] == 200
    assert meta["sampleRate"] == 8000 and meta["mixType"] == "stereo" and meta["foo"] == "bar", meta
    assert meta["accountSid"] == st.prov["account_sid"] and meta["callId"] and meta["from"] and meta["to"], meta
    assert "call_sid" not in meta, meta

    # audio: ~50 frames/s, left = the caller's pattern, right = the callee's
    time.sleep(1.5)
    t1 = time.monotonic()
    frames = conn.binaries(t1 - 1.0, t1)
    assert 35 <= len(frames) <= 65, f"{len(frames)} frames in 1 s"
    assert all(len(m.data) == 640 for m in frames), {len(m.data) for m in frames}
    left = [label_pcm(samples(m.data)[0::2]) for m in frames]
    right = [label_pcm(samples(m.data)[1::2]) for m in frames]
    want_l, want_r = label_payload(a.pattern), label_payload(b.pattern)
    assert want_l != want_r
    assert left.count(want_l) >= 0.9 * len(frames), f"left channel: {left}"
    assert right.count(want_r) >= 0.9 * len(frames), f"right channel: {right}"

    # playAudio: played to the caller only; then playDone with its id
    clip = base64.b64encode(tone_l16(1.0, 700)).decode()
    t_p = a.now()
    sink.send(conn, {"type": "playAudio", "data": {"audioContentType": "raw", "sampleRate": 8000,
                                                    "audioContent": clip, "id": "p1"}})
    a.wait_packets(20, MEDIA_TIMEOUT_S, t0=t_p, match=is_music)
    done = wait_for(lambda: [t for t in conn.texts() if t.get("type") == "playDone"], 5, "playDone")
    assert done[0]["data"]["id"] == "p1", done
    assert b.count(t0=t_p, pt=PT_PCMU, match=is_music) == 0, f"the callee heard the playAudio: {b.streams(t0=t_p)}"

    # passDtmf: the caller's key as a dtmf event
    a.send_dtmf("5", duration_ms=100)
    ev = wait_for(lambda: [t for t in conn.texts() if t.get("event") == "dtmf"], 5, "the dtmf event")
    assert ev[0]["dtmf"] == "5" and isinstance(ev[0]["duration"], int), ev

    # listen_status: pause → no frames; silence → zeros; resume → audio again
    assert update(st, parent, {"listen_status": "pause"})[0] == 202
    time.sleep(0.6)
    tp = time.monotonic()
    time.sleep(1.0)
    paused = conn.binaries(tp, tp + 1.0)
    assert not paused, f"{len(paused)} frames while paused"
    assert update(st, child, {"listen_status": "silence"})[0] == 202
    ts = time.monotonic()
    silent = wait_for(lambda: conn.binaries(ts + 0.5) if len(conn.binaries(ts + 0.5)) >= 20 else None, 4,
                      "silent frames")
    assert all(m.data == bytes(640) for m in silent), "frames under silence are not zeros"
    assert update(st, parent, {"listen_status": "resume"})[0] == 202
    tr = time.monotonic()
    back = wait_for(lambda: [m for m in conn.binaries(tr + 0.5) if m.data != bytes(640)], 4, "audio after resume")
    assert label_pcm(samples(back[-1].data)[0::2]) == want_l

    # disconnect: the stream ends, the call does not
    sink.send(conn, {"type": "disconnect"})
    wait_for(lambda: conn.closed_at, 5, "the websocket to close")
    hooks = wait_for(lambda: listen_hooks(webhook, called), 5, "the listen's actionHook")
    h = hooks[0]
    assert h.get("call_sid") == parent and h.get("digits") == "", h.json
    assert 4 <= h.get("dial_call_duration") <= 30, h.json
    t_d = a.now()
    a.wait_packets(25, MEDIA_TIMEOUT_S, t0=t_d, pt=PT_PCMU, match=b)
    b.wait_packets(25, MEDIA_TIMEOUT_S, t0=t_d, pt=PT_PCMU, match=a)
    status, body = update(st, parent, {"listen_status": "pause"})
    assert status == 422 and "no listen is active" in str(body), (status, body)
    assert len(sink.conns) == 1, "a second connection (no reconnect is expected)"

    hang_up(st, parent, uac, uas)


def test_l2_mono_callee_16k_max_length(full_stack, sipp, webhook, numbers, media, sink):
    st = full_stack
    called = numbers.take()
    listen = {"url": sink.url("/mono"), "channel": 2, "sampleRate": 16000, "maxLength": 2,
              "actionHook": webhook.url(f"/listenAction/{norm(called)}")}
    a, b, uac, uas = bridged_call(st, sipp, webhook, media, called, caller="+15551119022", hold=True,
                                  stream=listen)  # the `stream` alias
    conn = sink.wait_conn(timeout=10)
    wait_for(lambda: conn.closed_at, 8, "maxLength to end the stream")
    meta = conn.texts()[0]
    assert meta["sampleRate"] == 16000 and meta["mixType"] == "mono", meta
    frames = conn.binaries()
    assert all(len(m.data) == 640 for m in frames), {len(m.data) for m in frames}
    assert 70 <= len(frames) <= 110, f"{len(frames)} frames for a 2 s maxLength"
    # the callee's tone, upsampled: its frequency measured on the 16 kHz PCM
    pcm: list[int] = []
    for m in frames[10:-5]:
        pcm.extend(samples(m.data))
    callee_hz = crossings_hz([ulaw_decode(x) for x in b.pattern * 10], 8000)
    caller_hz = crossings_hz([ulaw_decode(x) for x in a.pattern * 10], 8000)
    got = crossings_hz(pcm, 16000)
    assert abs(got - callee_hz) < 0.05 * callee_hz and abs(got - caller_hz) > 40, (got, callee_hz, caller_hz)
    hooks = wait_for(lambda: listen_hooks(webhook, called), 5, "the listen's actionHook")
    assert hooks[0].get("dial_call_duration") == 2, hooks[0].json
    t_d = a.now()
    a.wait_packets(25, MEDIA_TIMEOUT_S, t0=t_d, pt=PT_PCMU, match=b)
    hang_up(st, parent_of(webhook, called), uac, uas)


def test_l3_refused_connection_the_call_goes_on(full_stack, sipp, webhook, numbers, media):
    st = full_stack
    called = numbers.take()
    nobody, _ = st.ports.sipp()  # a port nothing listens on (TCP)
    listen = {"url": f"ws://{LOOPBACK}:{nobody}/x", "actionHook": webhook.url(f"/listenAction/{norm(called)}")}
    a, b, uac, uas = bridged_call(st, sipp, webhook, media, called, caller="+15551119023", hold=True, listen=listen)
    hooks = wait_for(lambda: listen_hooks(webhook, called), 8, "the listen's actionHook")
    assert hooks[0].get("dial_call_duration") == 0, hooks[0].json
    t_d = a.now()
    a.wait_packets(25, MEDIA_TIMEOUT_S, t0=t_d, pt=PT_PCMU, match=b)
    b.wait_packets(25, MEDIA_TIMEOUT_S, t0=t_d, pt=PT_PCMU, match=a)
    hang_up(st, parent_of(webhook, called), uac, uas)


def test_l4_mixed_24k_callee_finish_on_key(full_stack, sipp, webhook, numbers, media, sink):
    st = full_stack
    called = numbers.take()
    listen = {"url": sink.url("/mixed"), "channel": 2, "mixType": "mixed", "sampleRate": 24000,
              "finishOnKey": "#", "actionHook": webhook.url(f"/listenAction/{norm(called)}")}
    a, b, uac, uas = bridged_call(st, sipp, webhook, media, called, caller="+15551119024", hold=True, listen=listen)
    conn = sink.wait_conn(timeout=10)
    wait_for(lambda: len(conn.binaries()) >= 25, 5, "mixed frames")
    frames = conn.binaries()
    assert all(len(m.data) == 960 for m in frames), {len(m.data) for m in frames}  # 20 ms at 24 kHz, 1 channel
    # both tones are in the mix: louder than either party alone
    peak = max(abs(s) for m in frames[5:] for s in samples(m.data))
    one = max(abs(ulaw_decode(x)) for x in a.pattern + b.pattern)
    assert peak > 1.3 * one, (peak, one)
    a.send_dtmf("#", duration_ms=100)  # the caller's key: not the listened party's, ignored
    time.sleep(1.0)
    assert conn.closed_at is None and not listen_hooks(webhook, called), "the caller's # ended the callee's listen"
    b.send_dtmf("#", duration_ms=100)  # the callee's: ends the listen
    wait_for(lambda: conn.closed_at, 5, "finishOnKey to end the stream")
    hooks = wait_for(lambda: listen_hooks(webhook, called), 5, "the listen's actionHook")
    assert hooks[0].get("digits") == "#", hooks[0].json
    t_d = a.now()
    a.wait_packets(25, MEDIA_TIMEOUT_S, t0=t_d, pt=PT_PCMU, match=b)
    hang_up(st, parent_of(webhook, called), uac, uas)


def test_l5_the_call_ending_ends_the_stream_within_a_second(full_stack, sipp, webhook, numbers, media, sink):
    st = full_stack
    called = numbers.take()
    listen = {"url": sink.url("/end"), "actionHook": webhook.url(f"/listenAction/{norm(called)}")}
    a, b, uac, uas = bridged_call(st, sipp, webhook, media, called, caller="+15551119025", hold=True, listen=listen)
    conn = sink.wait_conn(timeout=10)
    wait_for(lambda: len(conn.binaries()) >= 25, 5, "mono frames")
    assert all(len(m.data) == 320 for m in conn.binaries())  # 20 ms at 8 kHz, 1 channel (the defaults)
    t_end = time.monotonic()
    assert update(st, parent_of(webhook, called), {"call_status": "completed"})[0] == 202
    wait_for(lambda: conn.closed_at, 3, "the websocket to close after the call ended")
    assert conn.closed_at - t_end < 1.5, f"the stream outlived the call by {conn.closed_at - t_end:.2f} s"
    hooks = wait_for(lambda: listen_hooks(webhook, called), 5, "the listen's actionHook")
    assert hooks[0].get("dial_call_duration") >= 1, hooks[0].json
    uac.assert_ok(15)
    uas.assert_ok(15)
