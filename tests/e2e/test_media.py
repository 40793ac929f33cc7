"""Media-plane end-to-end tests: real RTP through rtpengine, observed at stdlib RTP endpoints (media_peer.py).

Each SIP party is a sipp process running a media scenario (sipp/uac_media.xml, sipp/uas_media.xml) whose SDP
names a MediaPeer's port; the scenario logs the SDP it received, from which the test learns the rtpengine port
its peer must send to. Assertions are on packet counts measured at the peers.

  m0. the harness's own self-test (two peers on loopback, no SIP)
  m1. a plain `dial` (sip target, and phone target through the named carrier): caller and callee hear each
      other through rtpengine (each peer's pattern arrives at the other, from rtpengine's port only), an RFC 4733
      digit sent by the callee reaches the caller as one telephone-event and vice versa, and the media stops
      when the caller hangs up
  m2. the harness's classifier against rtpengine's own injected audio (`play media` over NG, no SIP): the file
      (a tone, or silence) reaches the from-tag party as a stream of its own labelled `other`/`silence`, never
      as a peer's pattern, interleaved with the other party's audio, which is still recognised; the other party
      gets no file; nothing injected is left once the file has ended

Ports: every MediaPeer takes the media port of a fresh sipp (SIP, media) pair of the conftest layout
(base+1000..+1599, four ports per pair), so it never collides with rtpengine's range (base+500..+999) nor with
a sipp process's own -mp sockets.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
import wave
from pathlib import Path
from typing import Any, Optional

import pytest

from conftest import LOOPBACK, Sipp, bencode
import media_peer
from media_peer import (PT_PCMU, PT_TELEPHONE_EVENT, MediaPeer, describe, label_payload, mp3_bytes, wait_sipp_sdp,
                        wav_bytes)
from test_core_call_path import dial, final_reply, parent_of, sip_target

AUDIO_PACKETS = 50  # one second of each side's audio must cross rtpengine
SDP_TIMEOUT_S = 10
MEDIA_TIMEOUT_S = 5
HOLD_MS = 4000  # the caller's hold: long enough for the media checks on a busy 2-core machine


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------
class MediaPeers:
    """MediaPeers on ports of the conftest layout's sipp media range; all closed at the test's end."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.all: list[MediaPeer] = []

    def peer(self, name: str, **kw: Any) -> MediaPeer:
        _, port = self.stack.ports.sipp()  # a pair of its own: port..port+3 are nobody else's
        p = self.stack.ports
        assert not p.rtp_min <= port <= p.rtp_max, f"media peer port {port} inside rtpengine's range"
        peer = MediaPeer(name, port, **kw).start()
        self.all.append(peer)
        peer.related = self.all  # a failed wait describes every peer of the test
        return peer

    def describe(self) -> str:
        return describe(self.all)

    def close(self) -> None:
        for peer in self.all:
            peer.close()


@pytest.fixture
def media(full_stack: Any) -> Any:
    peers = MediaPeers(full_stack)
    yield peers
    peers.close()


def rtpengine_addr(stack: Any, sipp_party: Sipp, what: str) -> tuple[str, int]:
    """rtpengine's address for this party, from the SDP its media scenario logged; checks it is anchored."""
    addr, port = wait_sipp_sdp(sipp_party.log_file, what, SDP_TIMEOUT_S, alive=lambda: sipp_party.rc is None)
    p = stack.ports
    top = getattr(p, "rtp2_max", p.rtp_max)  # a stack with a second rtpengine node has the range above
    assert addr == LOOPBACK and p.rtp_min <= port <= top, (
        f"{sipp_party.name}: SDP of {what} names {addr}:{port}, not rtpengine's range "
        f"{p.rtp_min}-{top} (media not anchored)")
    return addr, port


def ng(stack: Any, command: dict, timeout: float = 3.0) -> dict:
    """One rtpengine NG command over UDP; returns the decoded reply (a dict with 'result')."""
    cookie = secrets.token_hex(6).encode()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(cookie + b" " + bencode(command), (LOOPBACK, stack.ports.rtpengine_ng))
        while True:
            data, _ = s.recvfrom(65535)
            if data.startswith(cookie + b" "):
                reply, _ = bdecode(data[len(cookie) + 1:])
                assert isinstance(reply, dict), reply
                return reply
    finally:
        s.close()


def bdecode(data: bytes, i: int = 0) -> tuple[Any, int]:
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c == b"l":
        out, i = [], i + 1
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        d, i = {}, i + 1
        while data[i:i + 1] != b"e":
            k, i = bdecode(data, i)
            d[k], i = bdecode(data, i)
        return d, i + 1
    colon = data.index(b":", i)
    n = int(data[i:colon])
    raw = data[colon + 1:colon + 1 + n]
    try:
        return raw.decode(), colon + 1 + n
    except UnicodeDecodeError:
        return raw, colon + 1 + n


def peer_sdp(peer: MediaPeer, session: str) -> str:
    return ("v=0\r\n" f"o={session} 1 1 IN IP4 {LOOPBACK}\r\n" "s=-\r\n" f"c=IN IP4 {LOOPBACK}\r\n" "t=0 0\r\n"
            f"m=audio {peer.port} RTP/AVP 0 101\r\n" "a=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\n" "a=fmtp:101 0-16\r\n" "a=ptime:20\r\n" "a=sendrecv\r\n")


def write_wav(path: Path, seconds: float, freq_hz: Optional[int]) -> Path:
    """8 kHz 16-bit mono WAV: a tone (or silence when freq_hz is None)."""
    import math
    n = int(seconds * 8000)
    amp = 0 if freq_hz is None else 8000
    frames = b"".join(int(amp * math.sin(2 * math.pi * (freq_hz or 0) * i / 8000)).to_bytes(2, "little", signed=True)
                      for i in range(n))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(frames)
    return path


# ---------------------------------------------------------------------------------------------------------
# m0. the harness itself: two peers on loopback (audio, latching, RFC 4733 encode/decode, SDP parsing)
# ---------------------------------------------------------------------------------------------------------
def test_m0_media_peer_self_test(stack):
    (_, port_a), (_, port_b) = stack.ports.sipp(), stack.ports.sipp()
    media_peer.self_test(port_a, port_b)


# ---------------------------------------------------------------------------------------------------------
# m1. a plain dial: RTP both ways through rtpengine, RFC 4733 both ways
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["sip", "phone"])
def test_m1_dial_rtp_and_rfc4733_both_ways(full_stack, sipp, webhook, numbers, media, target):
    st = full_stack
    called = numbers.take()
    a, b = media.peer("caller"), media.peer("callee")
    if target == "sip":
        uas = sipp.uas("callee", "uas_media.xml", duration_ms=300, keys={"rtp_port": b.port})
        targets = [sip_target(uas)]
    else:
        uas = sipp.uas("carrier_gw", "uas_media.xml", port=st.ports.carrier_gw, duration_ms=300,
                       keys={"rtp_port": b.port})
        targets = [{"type": "phone", "number": "+15557770001", "trunk": "e2e-gw"}]
    webhook.set_app(called, dial(webhook, called, targets, timeout=20))
    uac = sipp.uac("caller", "uac_media.xml", called, caller="+15551119001", duration_ms=HOLD_MS,
                   keys={"rtp_port": a.port})

    # where each peer sends: rtpengine's port in the SDP its sipp party received
    b.set_remote(*rtpengine_addr(st, uas, "INVITE"))
    a.set_remote(*rtpengine_addr(st, uac, "200"))
    assert a.remote != b.remote, f"caller and callee got the same rtpengine port {a.remote}"
    a.start_audio()
    b.start_audio()
    t0 = a.now()

    # audio both ways: each peer's pattern arrives at the other, only from its rtpengine port
    a.wait_packets(AUDIO_PACKETS, MEDIA_TIMEOUT_S, pt=PT_PCMU, match=b)
    b.wait_packets(AUDIO_PACKETS, MEDIA_TIMEOUT_S, pt=PT_PCMU, match=a)
    for rx, tx in ((a, b), (b, a)):
        assert set(rx.sources()) == {rx.remote}, (
            f"{rx.name} got RTP from {rx.sources()}, expected only rtpengine's {rx.remote}\n{media.describe()}")
        frac = rx.fraction_matching(tx, t0=t0 + 0.2)
        assert frac >= 0.95, f"only {frac:.0%} of {rx.name}'s audio is {tx.name}'s pattern\n{media.describe()}"
        assert 30 <= rx.rate(1.0, pt=PT_PCMU) <= 70, (
            f"{rx.name} receives {rx.rate(1.0, pt=PT_PCMU):.0f} packets/s, expected ~50\n{media.describe()}")

    # RFC 4733: callee -> caller, then caller -> callee; one event each, its end retransmissions merged
    b.send_dtmf("5", duration_ms=100)
    a.wait_digits("5", MEDIA_TIMEOUT_S)
    a.send_dtmf("#", duration_ms=100)
    b.wait_digits("#", MEDIA_TIMEOUT_S)
    time.sleep(0.2)  # late end retransmissions
    for rx, digit in ((a, "5"), (b, "#")):
        evs = rx.dtmf_events()
        assert [e.digit for e in evs] == [digit] and evs[0].ended, f"{rx.name}: events {evs}\n{media.describe()}"
        assert evs[0].src == rx.remote and rx.by_pt().get(PT_TELEPHONE_EVENT, 0) >= 4, (
            f"{rx.name}: telephone-events by PT {rx.by_pt()}, from {evs[0].src}\n{media.describe()}")
        assert evs[0].duration == 800 and evs[0].end_packets >= 1, f"{rx.name}: {evs}"

    # the caller hangs up after HOLD_MS: Kamailio has rtpengine forget the call before it relays the BYE, so
    # nothing is forwarded from the BYE's 200 on (the peers keep sending)
    uac.assert_ok()
    assert final_reply(uac).code == 200
    bye_ok = [m for m in uac.received(200) if m.cseq_method == "BYE"]
    assert bye_ok, f"caller got no 200 for its BYE: {uac.describe()}"
    t_hangup = bye_ok[0].ts - (time.time() - time.monotonic())  # the trace's wall clock -> the peers' clock
    time.sleep(max(0.0, t_hangup + 0.7 - a.now()))
    before = {p.name: p.count_between(t_hangup - 0.5, t_hangup - 0.1) for p in (a, b)}
    after = {p.name: p.count_between(t_hangup + 0.2, t_hangup + 0.7) for p in (a, b)}
    assert min(before.values()) >= 10 and after == {"caller": 0, "callee": 0}, (
        f"packets received in the 0.4 s before the BYE's 200: {before}, from 0.2 to 0.7 s after it: {after} "
        f"(expected media until the hangup, none after)\n{media.describe()}")
    uas.assert_ok()
    print(media.describe())  # shown with -s


# ---------------------------------------------------------------------------------------------------------
# m2. the classifier against rtpengine's injected audio (play media)
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("file_kind", ["tone", "silence"])
def test_m2_classifier_tells_peer_audio_from_rtpengine_play_media(full_stack, media, tmp_path, file_kind):
    """What rtpengine 10.5 does (seen here): `play media` with from-tag X sends the file, transcoded to PCMU, to
    X only, as a stream of its own (own SSRC and seq, marker on its first packet) from the port X sends to;
    the other party's audio keeps being forwarded to X untouched, interleaved with it. So a test of injected
    audio counts the non-peer stream (labels/streams), not the fraction of the peer's pattern (about half)."""
    st = full_stack
    a, b = media.peer("ng-caller"), media.peer("ng-callee")
    call_id = f"media-{secrets.token_hex(6)}"
    ftag, ttag = "ftag-" + secrets.token_hex(4), "ttag-" + secrets.token_hex(4)
    flags = {"replace": ["origin", "session-connection"], "ICE": "remove"}
    offer = ng(st, {"command": "offer", "call-id": call_id, "from-tag": ftag, "sdp": peer_sdp(a, "caller"), **flags})
    assert offer.get("result") == "ok", offer
    try:
        answer = ng(st, {"command": "answer", "call-id": call_id, "from-tag": ftag, "to-tag": ttag,
                         "sdp": peer_sdp(b, "callee"), **flags})
        assert answer.get("result") == "ok", answer
        b.set_remote_from_sdp(offer["sdp"])  # the offer as rtpengine rewrote it for the callee
        a.set_remote_from_sdp(answer["sdp"])
        a.start_audio()
        b.start_audio()
        a.wait_packets(25, MEDIA_TIMEOUT_S, match=b)
        b.wait_packets(25, MEDIA_TIMEOUT_S, match=a)
        peer_ssrcs = {p.ssrc for p in a.packets(match=b)}

        wav = write_wav(tmp_path / f"{file_kind}.wav", 1.0, 1000 if file_kind == "tone" else None)
        want = "other" if file_kind == "tone" else "silence"
        t_play = a.now()
        played = ng(st, {"command": "play media", "call-id": call_id, "from-tag": ftag, "file": str(wav)})
        assert played.get("result") == "ok", f"play media: {played}"
        a.wait_packets(40, MEDIA_TIMEOUT_S, t0=t_play, match=lambda pl: label_payload(pl) == want)
        time.sleep(max(0.0, t_play + 1.6 - a.now()))  # the 1 s file has ended

        during = (t_play, t_play + 1.3)
        injected = [p for p in a.packets(t0=during[0], t1=during[1], pt=PT_PCMU) if p.ssrc not in peer_ssrcs]
        assert injected and {p.src for p in injected} == {a.remote}, (
            f"the file should reach {a.name} from rtpengine's {a.remote}: {a.streams(t0=during[0])}\n"
            f"{media.describe()}")
        kinds = {label_payload(p.payload) for p in injected}
        assert kinds == {want} and 45 <= len(injected) <= 55, (
            f"{a.name} got {len(injected)} injected packets labelled {kinds} for 1 s of a {file_kind} file "
            f"(expected ~50, all {want!r})\n{media.describe()}")
        assert len({p.ssrc for p in injected}) == 1 and injected[0].marker, a.streams(t0=during[0])
        # the peer's audio is forwarded meanwhile, untouched; the other party gets no file
        assert a.count(t0=during[0] + 0.1, t1=during[1] - 0.2, match=b) >= 40, (
            f"{b.name}'s audio stopped reaching {a.name} while the file played\n{media.describe()}")
        assert b.labels(t0=during[0]) == {f"peer:{a.name}": b.count(t0=during[0], pt=PT_PCMU)}, (
            f"{b.name} got something other than {a.name}'s audio: {b.streams(t0=during[0])}")
        # the file has ended: only the peer's stream is left
        after = [p for p in a.packets(t0=t_play + 1.3, pt=PT_PCMU) if p.ssrc not in peer_ssrcs]
        assert not after, f"injected packets after the file's end: {a.streams(t0=t_play + 1.3)}"
        assert a.fraction_matching(b, t0=t_play + 1.3) == 1.0, a.streams(t0=t_play + 1.3)
        print(media.describe())  # shown with -s
    finally:
        ng(st, {"command": "delete", "call-id": call_id, "from-tag": ftag})


# ---------------------------------------------------------------------------------------------------------
# m3. dtmfCapture / dtmfHook: RFC 4733 keys from either leg, matched on that leg (rtpengine's DTMF log)
# ---------------------------------------------------------------------------------------------------------
def bridged_call(st: Any, sipp: Any, webhook: Any, media: MediaPeers, called: str, caller: str = "+15551119003",
                 hold: bool = False, **dial_props: Any) -> tuple:
    """A dial to a sip target with media peers on both sides, bridged and exchanging audio. The caller hangs up
    after HOLD_MS, or with `hold` waits for the network's BYE (uac_media_hold.xml)."""
    a, b = media.peer("caller"), media.peer("callee")
    uas = sipp.uas("callee", "uas_media.xml", duration_ms=300, keys={"rtp_port": b.port})
    webhook.set_app(called, dial(webhook, called, [sip_target(uas)], timeout=20, **dial_props))
    if hold:
        uac = sipp.uac("caller", "uac_media_hold.xml", called, caller=caller, timeout_s=40, keys={"rtp_port": a.port})
    else:
        uac = sipp.uac("caller", "uac_media.xml", called, caller=caller, duration_ms=HOLD_MS,
                       keys={"rtp_port": a.port})
    b.set_remote(*rtpengine_addr(st, uas, "INVITE"))
    a.set_remote(*rtpengine_addr(st, uac, "200"))
    a.start_audio()
    b.start_audio()
    a.wait_packets(10, MEDIA_TIMEOUT_S, pt=PT_PCMU, match=b)
    return a, b, uac, uas


def dtmf_hooks(webhook: Any, key: str) -> list:
    return webhook.snapshot(lambda r: r.path.split("?", 1)[0].rstrip("/") == f"/dtmfHook/{key}")


def press(peer: MediaPeer, keys: str) -> None:
    for k in keys:
        peer.send_dtmf(k, duration_ms=100)
        time.sleep(0.25)


def test_m3_dtmf_hook_fires_once_per_match_with_the_leg_that_pressed(full_stack, sipp, webhook, numbers, media):
    st = full_stack
    called = numbers.take()
    hook = webhook.url(f"/dtmfHook/{called}")
    a, b, uac, uas = bridged_call(st, sipp, webhook, media, called, dtmfCapture=["*1", "#"], dtmfHook=hook)
    parent = parent_of(webhook, called)
    press(b, "9*1")  # the callee: "*1" matches on the child leg ("9" alone matches nothing)
    got = webhook.wait_for(lambda rs: [r for r in rs if r.path.startswith(f"/dtmfHook/{called}")], 5,
                           "the callee's dtmfHook")
    press(a, "#")  # the caller: "#" on the parent leg
    got = webhook.wait_for(lambda rs: len(dtmf_hooks(webhook, called)) >= 2 and dtmf_hooks(webhook, called), 5,
                           "the caller's dtmfHook")
    time.sleep(0.5)  # nothing more may come
    got = dtmf_hooks(webhook, called)
    assert [(r.get("dtmf"), r.method) for r in got] == [("*1", "POST"), ("#", "POST")], got
    child, caller = got[0].json, got[1].json
    assert child.get("parent_call_sid") == parent and child.get("call_sid") != parent, child
    assert caller.get("call_sid") == parent and "parent_call_sid" not in caller, caller
    assert all(r.sig_ok for r in got), [r.sig_error for r in got]
    # the digits still reach the other side (rtpengine passes them through)
    a.wait_digits("9*1", MEDIA_TIMEOUT_S)
    uac.assert_ok()


def test_m3_dtmf_object_form_watches_each_leg_with_its_own_patterns_and_get_uses_the_query(
        full_stack, sipp, webhook, numbers, media):
    st = full_stack
    called = numbers.take()
    hook = {"url": webhook.url(f"/dtmfHook/{called}"), "method": "GET"}
    a, b, uac, uas = bridged_call(st, sipp, webhook, media, called,
                                  dtmfCapture={"childCall": ["1"], "parentCall": ["2"]}, dtmfHook=hook)
    parent = parent_of(webhook, called)
    press(b, "2")  # the callee's "2": only the parent watches "2" (jambonz's code would match it here)
    press(a, "1")  # the caller's "1": only the child watches "1"
    time.sleep(0.6)
    assert dtmf_hooks(webhook, called) == [], dtmf_hooks(webhook, called)
    press(a, "2")
    press(b, "1")
    webhook.wait_for(lambda rs: len(dtmf_hooks(webhook, called)) >= 2, 5, "two dtmfHooks")
    from urllib.parse import parse_qs, urlsplit
    got = [(r.method, parse_qs(urlsplit(r.path).query)) for r in dtmf_hooks(webhook, called)]
    assert [m for m, _ in got] == ["GET", "GET"], got
    assert got[0][1].get("dtmf") == ["2"] and got[0][1].get("call_sid") == [parent], got[0]
    assert got[1][1].get("dtmf") == ["1"] and got[1][1].get("parent_call_sid") == [parent], got[1]
    uac.assert_ok()


# ---------------------------------------------------------------------------------------------------------
# m4. dialMusic: the caller hears the file from the 183 until the answer, then the callee
# ---------------------------------------------------------------------------------------------------------
def is_music(payload: bytes) -> bool:
    return label_payload(payload) == "other"  # neither peer's pattern nor silence: rtpengine's file


def music_call(st: Any, sipp: Any, webhook: Any, media: MediaPeers, called: str, music_url: str,
               ring_ms: int = 2500) -> tuple:
    a, b = media.peer("caller"), media.peer("callee")
    uas = sipp.uas("callee", "uas_media.xml", duration_ms=ring_ms, keys={"rtp_port": b.port})
    webhook.set_app(called, dial(webhook, called, [sip_target(uas)], timeout=20, dialMusic=music_url))
    uac = sipp.uac("caller", "uac_media.xml", called, caller="+15551119004", duration_ms=HOLD_MS,
                   keys={"rtp_port": a.port})
    return a, b, uac, uas


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_m4_dial_music_until_answer_then_the_callee(full_stack, sipp, webhook, numbers, media, fmt):
    st = full_stack
    called = numbers.take()
    data = wav_bytes(3.0, 440) if fmt == "wav" else mp3_bytes(3.0, 440)
    url = webhook.serve_file(f"/media/hold-{called}.{fmt}", data, "audio/wav" if fmt == "wav" else "audio/mpeg")
    a, b, uac, uas = music_call(st, sipp, webhook, media, called, url)

    # the 183 names rtpengine's port for the caller (a target's own RTP before its 2xx would be forwarded by
    # rtpengine next to the music: README semantics; this callee, like most phones, sends only once answered)
    rtpengine_addr(st, uac, "183")
    b.set_remote(*rtpengine_addr(st, uas, "INVITE"))
    t183 = a.now()
    a.wait_packets(40, MEDIA_TIMEOUT_S, t0=t183, match=is_music)
    a.set_remote(*rtpengine_addr(st, uac, "200"))  # the 200's SDP: the callee's stream has a port of its own
    t200 = a.now()
    a.start_audio()
    b.start_audio()
    a.wait_packets(AUDIO_PACKETS, MEDIA_TIMEOUT_S, t0=t200, pt=PT_PCMU, match=b)
    before = a.labels(t0=t183, t1=t200 - 0.1)
    assert before.get("other", 0) >= 40 and before.get(f"peer:{b.name}", 0) == 0, (
        f"before the answer the caller should hear only the music, got {before}\n{media.describe()}")
    rate = a.count(t0=t183 + 0.5, t1=t200 - 0.1, match=is_music) / max(0.1, t200 - t183 - 0.6)
    assert 35 <= rate <= 65, f"music at {rate:.0f} packets/s before the answer\n{media.describe()}"
    a.wait_packets(30, MEDIA_TIMEOUT_S, t0=t200 + 0.5, pt=PT_PCMU, match=b)
    after = a.labels(t0=t200 + 0.5)
    assert after.get("other", 0) == 0 and after.get(f"peer:{b.name}", 0) >= 30, (
        f"after the answer the caller should hear only the callee, got {after}\n{media.describe()}")
    b.wait_packets(30, MEDIA_TIMEOUT_S, t0=t200, match=a)  # and the callee hears the caller
    uac.assert_ok()
    assert final_reply(uac).code == 200
    uas.assert_ok()


def test_m4_dial_music_that_404s_still_connects_without_music(full_stack, sipp, webhook, numbers, media):
    st = full_stack
    called = numbers.take()
    a, b, uac, uas = music_call(st, sipp, webhook, media, called, webhook.url("/media/missing.wav"), ring_ms=500)
    a.set_remote(*rtpengine_addr(st, uac, "200"))
    b.set_remote(*rtpengine_addr(st, uas, "INVITE"))
    a.start_audio()
    b.start_audio()
    a.wait_packets(AUDIO_PACKETS, MEDIA_TIMEOUT_S, pt=PT_PCMU, match=b)
    assert a.count(match=is_music) == 0, a.streams()
    uac.assert_ok()
    assert final_reply(uac).code == 200
    sdps = [w for w, _, _ in media_peer.sipp_sdp_lines(uac.log_file)]
    assert "183" not in sdps, f"a 183 with SDP although the music could not be fetched: {sdps}"
    fetched = webhook.snapshot(lambda r: r.path == "/media/missing.wav")
    assert fetched and fetched[0].status == 404, fetched
    log = st.log("dialplane").read_text(errors="replace")
    assert "dial_music_unavailable" in log and "HTTP 404" in log, "dialplane did not log why there was no music"


# ---------------------------------------------------------------------------------------------------------
# m5. REST updateCall on live calls: each operation's observable effect, and its refusals
# ---------------------------------------------------------------------------------------------------------
def calls_url(st: Any, sid: str = "") -> str:
    from conftest import LOOPBACK as lo
    return f"http://{lo}:{st.ports.dp_api}/v1/Accounts/{st.prov['account_sid']}/Calls" + (f"/{sid}" if sid else "")


def update(st: Any, sid: str, body: Any, method: str = "PUT") -> tuple[int, Any]:
    from conftest import API_KEY, http
    status, out, _ = http(method, calls_url(st, sid), body, headers={"Authorization": f"Bearer {API_KEY}"})
    return status, out


def child_of(webhook: Any, parent: str, timeout: float = 5) -> str:
    kids = webhook.wait_for(lambda _: webhook.children(parent), timeout, "a child leg's status webhook")
    assert len(kids) == 1, kids
    return next(iter(kids))


def test_m5_update_call_mute_dtmf_whisper_then_completed(full_stack, sipp, webhook, numbers, media):
    st = full_stack
    called = numbers.take()
    a, b, uac, uas = bridged_call(st, sipp, webhook, media, called, caller="+15551119005", hold=True)
    a.wait_packets(25, MEDIA_TIMEOUT_S, pt=PT_PCMU, match=b)
    parent = parent_of(webhook, called)
    child = child_of(webhook, parent)

    # the live call is listed, with its leg
    from conftest import API_KEY, http
    status, listed, _ = http("GET", calls_url(st), headers={"Authorization": f"Bearer {API_KEY}"})
    assert status == 200 and parent in {c.get("call_sid") for c in listed}, listed
    status, one, _ = http("GET", calls_url(st, child), headers={"Authorization": f"Bearer {API_KEY}"})
    assert status == 200 and one.get("parent_call_sid") == parent, one

    # mute the callee: the caller stops hearing it; unmute: it comes back
    assert update(st, child, {"mute_status": "mute"})[0] == 202
    time.sleep(0.3)
    t_mute = a.now()
    time.sleep(0.8)
    muted = a.count(t0=t_mute, match=b)
    assert muted == 0, f"the caller still got {muted} packets of the muted callee\n{media.describe()}"
    assert b.count(t0=t_mute, match=a) >= 25, "muting the callee also muted the caller"
    assert update(st, child, {"mute_status": "unmute"})[0] == 202
    t_unmute = a.now()
    a.wait_packets(25, MEDIA_TIMEOUT_S, t0=t_unmute, match=b)

    # a digit played into the callee's leg arrives there as an RFC 4733 event
    assert update(st, child, {"dtmf": {"digit": "7", "duration": 200}})[0] == 202
    b.wait_digits("7", MEDIA_TIMEOUT_S)
    assert a.received_digits() == "", f"the caller heard the digit meant for the callee: {a.received_digits()}"

    # whisper: a file played to the caller only
    url = webhook.serve_file(f"/media/whisper-{called}.wav", wav_bytes(1.0, 440), "audio/wav")
    t_w = a.now()
    assert update(st, parent, {"whisper": {"verb": "play", "url": url}})[0] == 202
    a.wait_packets(30, MEDIA_TIMEOUT_S, t0=t_w, match=is_music)
    assert b.count(t0=t_w, pt=PT_PCMU, match=is_music) == 0, f"the callee heard the whisper: {b.streams(t0=t_w)}"

    # completed: both sides get a BYE, the call leaves the list
    assert update(st, parent, {"call_status": "completed"})[0] == 202
    uac.assert_ok(15)
    uas.assert_ok(15)
    wait_until_gone = time.monotonic() + 5
    while update(st, parent, {"mute_status": "mute"})[0] != 404 and time.monotonic() < wait_until_gone:
        time.sleep(0.1)
    assert update(st, parent, {"mute_status": "mute"})[0] == 404


def test_m5_update_call_no_answer_cancels_the_ringing_dial_and_errors(full_stack, sipp, webhook, numbers):
    st = full_stack
    called = numbers.take()
    uas = sipp.uas("callee", "uas_ring_cancel.xml")
    webhook.set_app(called, dial(webhook, called, [sip_target(uas)], timeout=30))
    uac = sipp.uac("caller", "uac_fail.xml", called, caller="+15551119006")
    parent = parent_of(webhook, called)
    webhook.wait_for(lambda _: any(r.get("call_status") == "ringing" for rs in webhook.children(parent).values()
                                   for r in rs), 5, "the leg ringing")
    # refusals first: a malformed body, an unknown operation value, hang-up of an unanswered call, unknown sid
    assert update(st, parent, {"call_status": "sideways"})[0] == 400
    assert update(st, parent, {})[0] == 400
    status, body = update(st, parent, {"call_status": "completed"})
    assert status == 422 and "no-answer" in json_msg(body), body
    assert update(st, "0f0e0d0c-0000-4000-8000-00000000dead", {"call_status": "no-answer"})[0] == 404
    # no-answer: the callee gets CANCEL, the dial ends no-answer and its actionHook says so
    assert update(st, parent, {"call_status": "no-answer"})[0] == 202
    uas.assert_ok(10)
    acts = webhook.wait_for(lambda _: webhook.action_hooks(parent), 10, "the dial's actionHook")
    assert acts[0].get("dial_call_status") == "no-answer", acts
    uac.assert_ok(15)
    assert final_reply(uac).code == 480, uac.describe()


def json_msg(body: Any) -> str:
    return body.get("msg", "") if isinstance(body, dict) else str(body)


# ---------------------------------------------------------------------------------------------------------
# m6. jambonz's own Node client (@jambonz/node-client, pinned in tests/compat) drives the Calls API
# ---------------------------------------------------------------------------------------------------------
def test_m6_jambonz_node_client_drives_the_calls_api(full_stack, sipp, webhook, numbers, media):
    import shutil
    import subprocess
    from conftest import API_KEY, ROOT
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed for the client check (scripts/install-deps.sh installs them)"
    compat = ROOT / "tests" / "compat"
    if not (compat / "node_modules" / "@jambonz" / "node-client").exists():
        r = subprocess.run([npm, "ci", "--ignore-scripts", "--omit=optional", "--no-audit", "--no-fund"], cwd=compat,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"npm ci in {compat} failed:\n{r.stdout}\n{r.stderr}"
    st = full_stack
    called = numbers.take()
    # audio flows: rtpengine injects DTMF only into a stream it has seen
    a, b, uac, uas = bridged_call(st, sipp, webhook, media, called, caller="+15551119007", hold=True)
    parent = parent_of(webhook, called)
    child = child_of(webhook, parent)
    env = {**os.environ, "DP_API_URL": f"http://{LOOPBACK}:{st.ports.dp_api}", "DP_API_KEY": API_KEY,
           "DP_ACCOUNT_SID": st.prov["account_sid"], "DP_CALL_SID": parent, "DP_CHILD_SID": child, "DP_HANGUP": "1"}
    r = subprocess.run([node, "node_client_calls.mjs"], cwd=compat, env=env, capture_output=True, text=True,
                       timeout=60)
    print(r.stdout)
    assert r.returncode == 0, f"the jambonz client's checks failed:\n{r.stdout}\n{r.stderr}"
    uac.assert_ok(15)  # its last check hung the call up: both sides got a BYE
    uas.assert_ok(15)
