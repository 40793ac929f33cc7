"""An RTP endpoint for dialplane's end-to-end media tests (stdlib only).

A ``MediaPeer`` is one side of a call's media: a UDP socket on 127.0.0.1:<port> with a receiver thread and a
20 ms sender clock. The SIP side is a sipp party (``sipp/uac_media.xml``, ``sipp/uas_media.xml``) whose SDP names
the peer's port (``-key rtp_port``) and logs the SDP it received, so the test learns rtpengine's port::

    caller = MediaPeer("caller", port_a).start()
    callee = MediaPeer("callee", port_b).start()
    uas = sipp.uas("callee", "uas_media.xml", keys={"rtp_port": callee.port})
    uac = sipp.uac("caller", "uac_media.xml", called, keys={"rtp_port": caller.port}, duration_ms=4000)
    callee.set_remote(*wait_sipp_sdp(uas.log_file, "INVITE", 10))   # rtpengine's port for the callee
    caller.set_remote(*wait_sipp_sdp(uac.log_file, "200", 10))      # rtpengine's port for the caller
    caller.start_audio(); callee.start_audio()
    caller.wait_packets(50, 5, match=callee)      # 50 packets carrying the callee's pattern reached the caller
    callee.send_dtmf("5")                         # RFC 4733 start/continuation/3 x end, PT 101
    caller.wait_digits("5", 5)

Sending: PCMU (PT 0) at 50 packets/s, 160-byte payloads, seq/timestamp/SSRC kept like a real phone; the payload
is the peer's *pattern*: a PCMU tone (default 400 Hz, 550 Hz, ... one frequency per peer) whose 160 samples hold
a whole number of periods, so every packet is the same bytes. ``send_dtmf`` interleaves telephone-events (audio
is suppressed while an event plays, as phones do).

Receiving: every packet is kept (arrival time on ``time.monotonic()``, source, PT, seq, timestamp, SSRC,
payload). A payload *matches* a peer when it is one of the rotations of that peer's pattern (so a re-framed
but otherwise untouched tone still matches after rtpengine decodes and re-encodes PCMU); ``label_payload``
names a payload ``peer:<name>``, ``silence`` (mu-law values around zero, what a silent file or a comfort-noise
generator gives) or ``other`` (e.g. rtpengine's ``play media`` file). Tests assert on counts: ``count``,
``count_between``, ``fraction_matching``, ``rate``, ``wait_packets``, ``labels``, ``streams`` (per source and
SSRC); telephone-events are decoded into ``DtmfEvent`` (one per event, however many end packets were
retransmitted): ``dtmf_events``, ``received_digits``, ``wait_digits``. ``summary()`` is for assertion messages
(a failed wait includes it, and that of the ``related`` peers).

What rtpengine 10.5 does, as seen by these peers (tests/e2e/test_media.py): plain PCMU and telephone-events are
forwarded byte for byte (payload, SSRC, seq, marker, all three end packets) from the rtpengine port the peer
sends to. ``play media`` with from-tag X sends the file to X only, transcoded to PCMU, as a stream of its own
(own SSRC and seq, marker on its first packet, 50 packets/s) interleaved with the other party's audio, which is
still forwarded: count the non-peer stream (``labels``/``streams``), not the fraction of the peer's pattern.

Where to send: ``set_remote(addr, port)`` from the SDP the other side returned (``parse_sdp`` for a body,
``wait_sipp_sdp`` for the ``MEDIA-SDP`` lines the media scenarios log), or, with ``latch=True`` (default) and no
remote set yet, the source of the first packet received (symmetric RTP, as rtpengine latches).

``python3 media_peer.py --self-test`` runs two peers against each other on loopback.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import select
import socket
import struct
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

LOOPBACK = "127.0.0.1"
PT_PCMU = 0
PT_TELEPHONE_EVENT = 101
SAMPLE_RATE = 8000
PTIME_MS = 20
SAMPLES_PER_PACKET = SAMPLE_RATE * PTIME_MS // 1000  # 160
PACKET_INTERVAL = PTIME_MS / 1000.0
DTMF_EVENT_CODES = "0123456789*#ABCD"  # RFC 4733 events 0..15 (16 is flash, not a digit)
MAX_KEPT_PACKETS = 60000  # 20 minutes at 50/s: the records stay bounded on a long-lived peer

Addr = tuple[str, int]


# ---------------------------------------------------------------------------------------------------------
# G.711 mu-law and the peers' patterns
# ---------------------------------------------------------------------------------------------------------
def ulaw_encode(sample: int) -> int:
    """16-bit linear sample -> G.711 mu-law byte (the classic Sun g711.c algorithm)."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    if sample < 0:
        sample = -sample
    sample = min(sample, clip) + bias
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not sample & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def ulaw_decode(byte: int) -> int:
    """G.711 mu-law byte -> 16-bit linear sample."""
    u = ~byte & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    return (0x84 - t) if u & 0x80 else (t - 0x84)


# mu-law bytes whose samples are within +-32 of zero: what silence, or a quiet file, encodes to
ULAW_NEAR_ZERO = frozenset(b for b in range(256) if abs(ulaw_decode(b)) <= 32)

# One tone per live peer (the first free one): multiples of 50 Hz (a 20 ms packet holds whole periods, so every
# packet carries the same bytes), 400 Hz first, none within 40 Hz of a DTMF frequency, nor 1000 Hz (the usual
# test tone a played file may hold).
_DTMF_FREQS = (697, 770, 852, 941, 1209, 1336, 1477, 1633)
TONES_HZ = tuple(f for f in range(400, 3401, 150) if f != 1000 and all(abs(f - d) > 40 for d in _DTMF_FREQS)) \
    + tuple(f for f in range(450, 3401, 150) if f != 1000 and all(abs(f - d) > 40 for d in _DTMF_FREQS))
_tone_lock = threading.Lock()
_live_tones: set[int] = set()


def _take_tone() -> int:
    with _tone_lock:
        for f in TONES_HZ:
            if f not in _live_tones:
                _live_tones.add(f)
                return f
    raise RuntimeError(f"more than {len(TONES_HZ)} live media peers with a default tone")


def _release_tone(freq: int) -> None:
    with _tone_lock:
        _live_tones.discard(freq)


SILENCE_PAYLOAD = bytes([0xFF]) * 160  # µ-law zero


def tone_payload(freq_hz: int, amplitude: int = 6000, samples: int = SAMPLES_PER_PACKET) -> bytes:
    """`samples` PCMU samples of a sine tone starting at phase 0."""
    return bytes(ulaw_encode(int(round(amplitude * math.sin(2 * math.pi * freq_hz * i / SAMPLE_RATE))))
                 for i in range(samples))


def rotations(pattern: bytes) -> frozenset[bytes]:
    """Every cyclic rotation of `pattern` (a tone re-framed by a transcoder is one of them)."""
    return frozenset(pattern[i:] + pattern[:i] for i in range(len(pattern)))


# Known patterns -> peer name, for labelling what arrives (``label_payload``)
_KNOWN: dict[bytes, str] = {}
_known_lock = threading.Lock()


def register_pattern(name: str, pattern: bytes) -> None:
    with _known_lock:
        for r in rotations(pattern):
            _KNOWN[r] = name


def unregister_pattern(pattern: bytes) -> None:
    with _known_lock:
        for r in rotations(pattern):
            _KNOWN.pop(r, None)


def label_payload(payload: bytes) -> str:
    """'peer:<name>' for a known peer's pattern, 'silence' for near-zero mu-law, 'other' otherwise."""
    with _known_lock:
        name = _KNOWN.get(payload)
    if name is not None:
        return f"peer:{name}"
    if payload and all(b in ULAW_NEAR_ZERO for b in payload):
        return "silence"
    return "other"


# ---------------------------------------------------------------------------------------------------------
# SDP
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SdpMedia:
    """The first m=audio of an SDP: where to send (addr, port) and what its payload types mean."""
    addr: str
    port: int
    payload_types: tuple[int, ...]
    rtpmap: dict[int, str]

    @property
    def remote(self) -> Addr:
        return (self.addr, self.port)

    def pt_of(self, encoding: str) -> Optional[int]:
        """The payload type mapped to e.g. 'telephone-event' or 'PCMU' (case-insensitive), or None."""
        enc = encoding.lower()
        for pt, name in self.rtpmap.items():
            if name.split("/", 1)[0].lower() == enc:
                return pt
        if enc == "pcmu" and 0 in self.payload_types:
            return 0
        return None


def parse_sdp(text: str) -> SdpMedia:
    """Parses the first m=audio of an SDP body; a media-level c= overrides the session-level one."""
    session_c: Optional[str] = None
    media_c: Optional[str] = None
    port: Optional[int] = None
    pts: tuple[int, ...] = ()
    rtpmap: dict[int, str] = {}
    in_audio = seen_audio = False
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if line.startswith("m="):
            if seen_audio:
                break
            parts = line[2:].split()
            in_audio = parts[0] == "audio"
            if in_audio:
                seen_audio = True
                port = int(parts[1].split("/")[0])
                pts = tuple(int(p) for p in parts[3:] if p.isdigit())
        elif line.startswith("c="):
            parts = line[2:].split()
            if len(parts) >= 3:
                addr = parts[2].split("/")[0]
                if in_audio:
                    media_c = addr
                elif not seen_audio:
                    session_c = addr
        elif in_audio and line.startswith("a=rtpmap:"):
            m = re.match(r"a=rtpmap:(\d+)\s+(\S+)", line)
            if m:
                rtpmap[int(m.group(1))] = m.group(2)
    addr = media_c or session_c
    if port is None or addr is None:
        raise ValueError(f"no m=audio with a c= address in SDP:\n{text}")
    return SdpMedia(addr, port, pts, rtpmap)


_SIPP_SDP_LINE = re.compile(r"MEDIA-SDP (\S+) c=(\S*) m=(\d*)")


def sipp_sdp_lines(log_file: Union[str, Path]) -> list[tuple[str, str, int]]:
    """(what, address, port) of every complete ``MEDIA-SDP <what> c=<addr> m=<port>`` line a media scenario
    logged (``what`` is the SIP code, e.g. '183'/'200', or the method 'INVITE')."""
    try:
        text = Path(log_file).read_text(errors="replace")
    except OSError:
        return []
    return [(m.group(1), m.group(2), int(m.group(3))) for m in _SIPP_SDP_LINE.finditer(text)
            if m.group(2) and m.group(3)]


def wait_sipp_sdp(log_file: Union[str, Path], what: str, timeout: float,
                  alive: Optional[Callable[[], bool]] = None) -> Addr:
    """Waits for the (last) ``MEDIA-SDP <what>`` line in a sipp log; returns (address, port).
    `alive` (e.g. ``lambda: party.rc is None``) stops the wait early when the sipp process has ended."""
    deadline = time.monotonic() + timeout
    while True:
        hits = [(a, p) for w, a, p in sipp_sdp_lines(log_file) if w == what]
        if hits:
            return hits[-1]
        if alive is not None and not alive():
            hits = [(a, p) for w, a, p in sipp_sdp_lines(log_file) if w == what]
            if hits:
                return hits[-1]
            raise AssertionError(f"sipp ended without logging the SDP of {what} in {log_file} "
                                 f"(logged: {sipp_sdp_lines(log_file)})")
        if time.monotonic() > deadline:
            raise AssertionError(f"no SDP of {what} logged in {log_file} within {timeout}s "
                                 f"(logged: {sipp_sdp_lines(log_file)})")
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------------------
# RTP
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RtpPacket:
    at: float  # time.monotonic() at arrival
    src: Addr
    pt: int
    marker: bool
    seq: int
    ts: int
    ssrc: int
    payload: bytes


def rtp_pack(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool = False) -> bytes:
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | (pt & 0x7F), seq & 0xFFFF, ts & 0xFFFFFFFF,
                       ssrc & 0xFFFFFFFF) + payload


def rtp_unpack(data: bytes, src: Addr, at: float) -> Optional[RtpPacket]:
    """Parses an RTP packet (version 2; CSRCs, header extension and padding honoured); None if it is not one
    (or is RTCP: PT 72..76 with the marker bit, i.e. second byte 200..204)."""
    if len(data) < 12 or data[0] >> 6 != 2 or 200 <= data[1] <= 204:
        return None
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    off = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:
        if len(data) < off + 4:
            return None
        off += 4 + 4 * struct.unpack("!H", data[off + 2:off + 4])[0]
    end = len(data)
    if b0 & 0x20 and end > off:
        end -= data[-1]
    if end < off:
        return None
    return RtpPacket(at, src, b1 & 0x7F, bool(b1 & 0x80), seq, ts, ssrc, bytes(data[off:end]))


@dataclass
class DtmfEvent:
    """One RFC 4733 event as received: all its packets share (source, SSRC, timestamp)."""
    digit: str  # '0'-'9', '*', '#', 'A'-'D', or 'event-<n>'
    event: int
    src: Addr
    ssrc: int
    timestamp: int
    first_at: float
    marker: bool = False  # the first packet seen had the marker bit
    ended: bool = False
    end_at: Optional[float] = None
    duration: int = 0  # samples (the largest duration field seen)
    volume: int = 0
    packets: int = 0
    end_packets: int = 0

    def __repr__(self) -> str:
        return (f"<dtmf {self.digit!r} {'end' if self.ended else 'open'} dur={self.duration} vol=-{self.volume}dBm0 "
                f"pkts={self.packets} end_pkts={self.end_packets} from {self.src[0]}:{self.src[1]}>")


def _digit_of(event: int) -> str:
    return DTMF_EVENT_CODES[event] if event < len(DTMF_EVENT_CODES) else f"event-{event}"


def _event_of(digit: str) -> int:
    d = digit.upper()
    if len(d) != 1 or d not in DTMF_EVENT_CODES:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return DTMF_EVENT_CODES.index(d)


@dataclass
class _DtmfJob:
    event: int
    total: int  # duration in samples
    volume: int
    end_packets: int
    ts: Optional[int] = None  # the event's RTP timestamp, fixed by its first packet
    sent: int = 0  # packets sent so far
    ends_sent: int = 0
    done: threading.Event = field(default_factory=threading.Event)


Matcher = Union[None, bytes, "MediaPeer", Callable[[bytes], bool]]


class MediaPeer:
    """One RTP endpoint on host:port (see the module docstring). Use ``start()``/``close()`` or ``with``."""

    def __init__(self, name: str, port: int, *, host: str = LOOPBACK, pattern: Optional[bytes] = None,
                 tone_hz: Optional[int] = None, pt: int = PT_PCMU, dtmf_pt: int = PT_TELEPHONE_EVENT,
                 ssrc: Optional[int] = None, remote: Optional[Addr] = None, latch: bool = True) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.pt = pt
        self.dtmf_pt = dtmf_pt
        self.ssrc = ssrc if ssrc is not None else int.from_bytes(os.urandom(4), "big")
        self._own_tone: Optional[int] = None
        if pattern is None:
            if tone_hz is None:
                tone_hz = self._own_tone = _take_tone()
            pattern = tone_payload(tone_hz)
        if len(pattern) != SAMPLES_PER_PACKET:
            raise ValueError(f"pattern must be {SAMPLES_PER_PACKET} bytes, got {len(pattern)}")
        self.tone_hz = tone_hz
        self.pattern = pattern
        self.pattern_set = rotations(pattern)
        register_pattern(name, pattern)
        self.latch = latch
        self._remote: Optional[Addr] = remote
        self.remote_learned_from: Optional[str] = "given" if remote else None
        self._sock: Optional[socket.socket] = None
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._packets: list[RtpPacket] = []
        self._dropped = 0  # records dropped beyond MAX_KEPT_PACKETS
        self._non_rtp = 0
        self._events: dict[tuple[Addr, int, int], DtmfEvent] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # sender state
        self._audio_on = False
        self._script: Optional[list[bytes]] = None  # play_script: payloads to send instead of the pattern
        self._audio_marker = False
        self._seq = int.from_bytes(os.urandom(2), "big")
        self._ts = int.from_bytes(os.urandom(4), "big")
        self._dtmf_queue: list[_DtmfJob] = []
        self.sent_audio = 0
        self.sent_dtmf = 0
        self.send_errors: list[str] = []
        self.started_at: Optional[float] = None
        self.related: list[MediaPeer] = []  # peers whose summary a failed wait shows too

    # ---- life cycle ----------------------------------------------------------------------------------
    def start(self) -> "MediaPeer":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((self.host, self.port))
        except OSError as e:
            s.close()
            raise RuntimeError(f"media peer {self.name}: cannot bind {self.host}:{self.port}/udp: {e}") from e
        s.setblocking(False)
        self._sock = s
        self.started_at = time.monotonic()
        for target, what in ((self._recv_loop, "rx"), (self._send_loop, "tx")):
            t = threading.Thread(target=target, name=f"media-{self.name}-{what}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2)
        self._threads.clear()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with self._lock:
            for job in self._dtmf_queue:
                job.done.set()
            self._dtmf_queue.clear()
            self._cond.notify_all()
        if self._own_tone is not None:
            _release_tone(self._own_tone)
            self._own_tone = None
        unregister_pattern(self.pattern)

    def __enter__(self) -> "MediaPeer":
        return self if self._sock is not None else self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @staticmethod
    def now() -> float:
        """The clock of every arrival time (``time.monotonic()``), for ``count_between``."""
        return time.monotonic()

    # ---- where to send ---------------------------------------------------------------------------------
    @property
    def remote(self) -> Optional[Addr]:
        return self._remote

    def set_remote(self, addr: str, port: int) -> "MediaPeer":
        with self._lock:
            self._remote = (addr, int(port))
            self.remote_learned_from = "set"
        return self

    def set_remote_from_sdp(self, sdp: Union[str, SdpMedia]) -> "MediaPeer":
        """Sends to the SDP's c=/m=audio and uses its telephone-event PT (if it names one)."""
        m = parse_sdp(sdp) if isinstance(sdp, str) else sdp
        te = m.pt_of("telephone-event")
        with self._lock:
            self._remote = m.remote
            self.remote_learned_from = "sdp"
            if te is not None:
                self.dtmf_pt = te
        return self

    # ---- sending -----------------------------------------------------------------------------------------
    def start_audio(self) -> "MediaPeer":
        with self._lock:
            if not self._audio_on:
                self._audio_on = True
                self._audio_marker = True
        return self

    def play_script(self, payloads: list[bytes]) -> "MediaPeer":
        """Sends these 20 ms PCMU payloads (a greeting, a beep…) instead of the pattern, then µ-law silence for
        as long as audio is on: a phone's stream never stops, and silence after a greeting is what tells a
        human from a machine."""
        if any(len(p) != SAMPLES_PER_PACKET for p in payloads):
            raise ValueError(f"every payload must be {SAMPLES_PER_PACKET} bytes")
        with self._lock:
            self._script = list(payloads)
            self._audio_on = True
            self._audio_marker = True
        return self

    def stop_audio(self) -> "MediaPeer":
        with self._lock:
            self._audio_on = False
        return self

    @property
    def sending_audio(self) -> bool:
        return self._audio_on

    def send_dtmf(self, digit: str, duration_ms: int = 100, volume: int = 10, end_packets: int = 3,
                  wait: bool = True, timeout: float = 5.0) -> "MediaPeer":
        """Queues one RFC 4733 event on the 20 ms clock: a first packet with the marker bit, continuation
        packets every 20 ms (duration growing by 160), then `end_packets` packets with the E bit and the final
        duration, all with the event's timestamp and increasing seq. Audio pauses meanwhile. With `wait`,
        returns once the last end packet is sent."""
        if self._sock is None:
            raise RuntimeError(f"media peer {self.name} is not started")
        if self._remote is None:
            raise RuntimeError(f"media peer {self.name}: no remote to send DTMF to (set_remote, or latch first)")
        total = max(SAMPLES_PER_PACKET, (duration_ms * SAMPLE_RATE // 1000) // SAMPLES_PER_PACKET
                    * SAMPLES_PER_PACKET)
        if total > 0xFFFF:
            raise ValueError("duration_ms too long for one RFC 4733 event (max 8191 ms)")
        job = _DtmfJob(_event_of(digit), total, volume & 0x3F, max(1, end_packets))
        with self._lock:
            self._dtmf_queue.append(job)
        if wait and not job.done.wait(timeout):
            raise AssertionError(f"media peer {self.name}: DTMF {digit!r} not sent within {timeout}s")
        return self

    def _send_loop(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if next_tick - now > 0:
                if self._stop.wait(next_tick - now):
                    return
            elif now - next_tick > 5 * PACKET_INTERVAL:
                next_tick = now  # stalled (loaded machine): resume the clock rather than burst
            next_tick += PACKET_INTERVAL
            self._tick()

    def _tick(self) -> None:
        with self._lock:
            self._ts = (self._ts + SAMPLES_PER_PACKET) & 0xFFFFFFFF
            remote = self._remote
            if remote is None:
                return
            job = self._dtmf_queue[0] if self._dtmf_queue else None
            if job is not None:
                pkt = self._dtmf_packet(job)
                self.sent_dtmf += 1
                if job.done.is_set():
                    self._dtmf_queue.pop(0)
                    self._audio_marker = True  # a new talkspurt after the event
            elif self._audio_on:
                payload = self.pattern
                if self._script is not None:
                    payload = self._script.pop(0) if self._script else SILENCE_PAYLOAD
                pkt = rtp_pack(self.pt, self._seq, self._ts, self.ssrc, payload, self._audio_marker)
                self._audio_marker = False
                self.sent_audio += 1
            else:
                return
            self._seq = (self._seq + 1) & 0xFFFF
        sock = self._sock
        if sock is None:
            return
        try:
            sock.sendto(pkt, remote)
        except OSError as e:
            if len(self.send_errors) < 20:
                self.send_errors.append(f"{remote}: {e}")

    def _dtmf_packet(self, job: _DtmfJob) -> bytes:
        """The next packet of `job` (called with the lock held); sets job.done after the last end packet."""
        first = job.ts is None
        if first:
            job.ts = self._ts
        if job.sent * SAMPLES_PER_PACKET + SAMPLES_PER_PACKET < job.total:
            duration, end = (job.sent + 1) * SAMPLES_PER_PACKET, False
        else:
            duration, end = job.total, True
            job.ends_sent += 1
            if job.ends_sent >= job.end_packets:
                job.done.set()
        job.sent += 1
        payload = struct.pack("!BBH", job.event, (0x80 if end else 0) | job.volume, duration)
        assert job.ts is not None
        return rtp_pack(self.dtmf_pt, self._seq, job.ts, self.ssrc, payload, marker=first)

    # ---- receiving ---------------------------------------------------------------------------------------
    def _recv_loop(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            while True:
                try:
                    data, src = sock.recvfrom(4096)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:  # e.g. an ICMP error reported on the socket
                    break
                self._on_datagram(data, (src[0], src[1]), time.monotonic())

    def _on_datagram(self, data: bytes, src: Addr, at: float) -> None:
        pkt = rtp_unpack(data, src, at)
        with self._lock:
            if pkt is None:
                self._non_rtp += 1
                return
            if self._remote is None and self.latch:
                self._remote = src
                self.remote_learned_from = "latched"
            self._packets.append(pkt)
            if len(self._packets) > MAX_KEPT_PACKETS:
                drop = len(self._packets) - MAX_KEPT_PACKETS
                del self._packets[:drop]
                self._dropped += drop
            if pkt.pt == self.dtmf_pt and len(pkt.payload) >= 4:
                self._on_event(pkt)
            self._cond.notify_all()

    def _on_event(self, pkt: RtpPacket) -> None:
        event, flags, duration = struct.unpack("!BBH", pkt.payload[:4])
        key = (pkt.src, pkt.ssrc, pkt.ts)
        ev = self._events.get(key)
        if ev is None:
            ev = self._events[key] = DtmfEvent(_digit_of(event), event, pkt.src, pkt.ssrc, pkt.ts, pkt.at,
                                               marker=pkt.marker)
        ev.packets += 1
        ev.duration = max(ev.duration, duration)
        ev.volume = flags & 0x3F
        if flags & 0x80:
            ev.end_packets += 1
            if not ev.ended:
                ev.ended, ev.end_at = True, pkt.at

    # ---- queries (all thread-safe; times are time.monotonic()) -----------------------------------------
    def _matcher(self, match: Matcher) -> Optional[Callable[[bytes], bool]]:
        if match is None:
            return None
        if isinstance(match, MediaPeer):
            return match.pattern_set.__contains__
        if isinstance(match, (bytes, bytearray)):
            return rotations(bytes(match)).__contains__
        return match

    def packets(self, *, pt: Optional[int] = None, src: Optional[Addr] = None, t0: Optional[float] = None,
                t1: Optional[float] = None, match: Matcher = None) -> list[RtpPacket]:
        """Received packets filtered by payload type, source, arrival time in [t0, t1) and payload: `match` is
        a MediaPeer (its pattern), a pattern, or a predicate on the payload."""
        fn = self._matcher(match)
        with self._lock:
            pkts = list(self._packets)
        return [p for p in pkts if (pt is None or p.pt == pt) and (src is None or p.src == src)
                and (t0 is None or p.at >= t0) and (t1 is None or p.at < t1) and (fn is None or fn(p.payload))]

    def count(self, **filters: Any) -> int:
        return len(self.packets(**filters))

    def count_between(self, t0: float, t1: float, **filters: Any) -> int:
        return len(self.packets(t0=t0, t1=t1, **filters))

    def fraction_matching(self, match: Matcher, *, pt: Optional[int] = None, t0: Optional[float] = None,
                          t1: Optional[float] = None, src: Optional[Addr] = None) -> float:
        """Of the packets of `pt` (default: this peer's audio PT) in [t0, t1), the fraction whose payload
        matches; 0.0 when there are none."""
        pkts = self.packets(pt=self.pt if pt is None else pt, t0=t0, t1=t1, src=src)
        fn = self._matcher(match)
        assert fn is not None
        return sum(1 for p in pkts if fn(p.payload)) / len(pkts) if pkts else 0.0

    def rate(self, window: float = 1.0, **filters: Any) -> float:
        """Packets per second over the last `window` seconds."""
        now = time.monotonic()
        return self.count(t0=now - window, t1=now + 1, **filters) / window

    def sources(self, **filters: Any) -> dict[Addr, int]:
        out: dict[Addr, int] = {}
        for p in self.packets(**filters):
            out[p.src] = out.get(p.src, 0) + 1
        return out

    def by_pt(self, **filters: Any) -> dict[int, int]:
        out: dict[int, int] = {}
        for p in self.packets(**filters):
            out[p.pt] = out.get(p.pt, 0) + 1
        return out

    def streams(self, **filters: Any) -> dict[tuple[Addr, int], dict[str, int]]:
        """Received packets per stream (source, SSRC), counted by PT and, for audio, ``label_payload``:
        {(('127.0.0.1', 10512), 0x7b264a07): {'pt0/other': 50}, ...}. rtpengine's ``play media`` arrives as a
        stream of its own (own SSRC and seq, marker on its first packet) from the same port as the forwarded
        peer's stream, which goes on meanwhile: the two are interleaved."""
        out: dict[tuple[Addr, int], dict[str, int]] = {}
        for p in self.packets(**filters):
            d = out.setdefault((p.src, p.ssrc), {})
            k = f"pt{p.pt}" + (f"/{label_payload(p.payload)}" if p.pt == self.pt else "")
            d[k] = d.get(k, 0) + 1
        return out

    def labels(self, **filters: Any) -> dict[str, int]:
        """Audio packets (this peer's PT) counted by ``label_payload``: {'peer:callee': 97, 'other': 12}."""
        out: dict[str, int] = {}
        filters.setdefault("pt", self.pt)
        for p in self.packets(**filters):
            k = label_payload(p.payload)
            out[k] = out.get(k, 0) + 1
        return out

    def wait_for(self, pred: Callable[[], Any], timeout: float, what: str) -> Any:
        """Waits (woken by each packet) until pred() is truthy; AssertionError with ``summary()`` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            res = pred()
            if res:
                return res
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"media peer {self.name}: timed out after {timeout}s waiting for {what}\n"
                                     + describe([self] + [p for p in self.related if p is not self]))
            with self._cond:
                self._cond.wait(min(left, 0.1))

    def wait_packets(self, n: int, timeout: float, **filters: Any) -> int:
        """Waits until at least `n` received packets pass `filters` (see ``packets``); returns the count."""
        desc = ", ".join(f"{k}={v.name if isinstance(v, MediaPeer) else v!r}" for k, v in filters.items())
        return self.wait_for(lambda: (lambda c: c if c >= n else 0)(self.count(**filters)), timeout,
                             f"{n} packets ({desc or 'any'})")

    def dtmf_events(self) -> list[DtmfEvent]:
        """Received telephone-events, one per (source, SSRC, timestamp), in order of arrival."""
        with self._lock:
            return sorted((DtmfEvent(**vars(e)) for e in self._events.values()), key=lambda e: e.first_at)

    def received_digits(self, ended_only: bool = True) -> str:
        """The digits of the received events in order (only those whose end was seen, by default)."""
        return "".join(e.digit for e in self.dtmf_events() if e.ended or not ended_only)

    def wait_digits(self, digits: str, timeout: float) -> str:
        """Waits until the ended digits received end with `digits`; returns all received digits."""
        return self.wait_for(lambda: (lambda d: d if d.endswith(digits) else "")(self.received_digits()),
                             timeout, f"DTMF {digits!r}")

    def summary(self) -> str:
        """A few lines for assertion messages: what was sent, what arrived from where, DTMF events."""
        with self._lock:
            pkts = list(self._packets)
            remote, learned = self._remote, self.remote_learned_from
            non_rtp, dropped = self._non_rtp, self._dropped
        span = f"{pkts[0].at - (self.started_at or 0):.2f}s..{pkts[-1].at - (self.started_at or 0):.2f}s " \
               f"after start" if pkts else "none"
        lines = [f"[{self.name}] {self.host}:{self.port} -> {remote} ({learned}); tone {self.tone_hz} Hz; "
                 f"sent {self.sent_audio} audio + {self.sent_dtmf} event packets"
                 + (f"; send errors {self.send_errors[:3]}" if self.send_errors else ""),
                 f"  received {len(pkts)} RTP packets ({span})" + (f", {non_rtp} non-RTP" if non_rtp else "")
                 + (f", {dropped} old records dropped" if dropped else "")]
        for (src, ssrc), d in self.streams().items():
            lines.append(f"    from {src[0]}:{src[1]} ssrc {ssrc:#010x}: "
                         + ", ".join(f"{k}={v}" for k, v in sorted(d.items())))
        evs = self.dtmf_events()
        if evs:
            lines.append(f"  telephone-events: {evs}")
        return "\n".join(lines)


def describe(peers: Iterable[MediaPeer]) -> str:
    return "\n".join(p.summary() for p in peers)


# ---------------------------------------------------------------------------------------------------------
# self-test: two peers on loopback
# ---------------------------------------------------------------------------------------------------------
def self_test(port_a: int, port_b: int) -> None:
    with MediaPeer("a", port_a) as a, MediaPeer("b", port_b, remote=(LOOPBACK, port_a)) as b:
        assert rotations(tone_payload(400)) != rotations(tone_payload(550))
        assert all(ulaw_encode(ulaw_decode(x)) == x or ulaw_decode(x) == 0 for x in range(256))
        b.start_audio()
        a.wait_packets(10, 2, match=b)
        assert a.remote == (LOOPBACK, port_b) and a.remote_learned_from == "latched", a.summary()
        a.start_audio()
        t0 = a.now()
        b.wait_packets(25, 2, match=a)
        a.send_dtmf("7", duration_ms=100)
        b.send_dtmf("#", duration_ms=60)
        b.wait_digits("7", 2)
        a.wait_digits("#", 2)
        time.sleep(0.5)
        evs = b.dtmf_events()
        assert len(evs) == 1 and evs[0].ended and evs[0].end_packets == 3 and evs[0].duration == 800 \
            and evs[0].marker and evs[0].packets == 4 + 3, evs
        assert a.received_digits() == "#" and a.dtmf_events()[0].duration == 480, a.dtmf_events()
        assert b.fraction_matching(a, t0=t0) == 1.0 and a.count(match=a) == 0, a.summary()
        assert 40 <= b.rate(1.0, pt=PT_PCMU) <= 55, b.rate(1.0)
        assert a.labels() == {"peer:b": a.count(pt=PT_PCMU)}, a.labels()
        report = describe([a, b])
    sdp = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\n"
    m = parse_sdp(sdp)
    assert m.remote == ("10.0.0.1", 4000) and m.pt_of("telephone-event") == 96 and m.pt_of("PCMU") == 0, m
    print("media_peer self-test ok:\n" + report)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--ports", default="11596,11598", help="two UDP ports for the self-test")
    args = ap.parse_args()
    if args.self_test:
        pa, pb = (int(x) for x in args.ports.split(","))
        self_test(pa, pb)


# ---------------------------------------------------------------------------------------------------------
# audio files (dialMusic / whisper fixtures of the e2e tests and the media benchmark)
# ---------------------------------------------------------------------------------------------------------
def tone_samples(seconds: float, freq_hz: int, rate: int = 8000) -> list[int]:
    return [int(8000 * math.sin(2 * math.pi * freq_hz * i / rate)) for i in range(int(seconds * rate))]


def speech_payloads(text: str, workdir: str, voice: str = "slt") -> list[bytes]:
    """`text` spoken by flite's `voice`, resampled by sox to 8 kHz µ-law and cut into 20 ms payloads."""
    import subprocess
    wav = os.path.join(workdir, f"speech-{abs(hash((text, voice)))}.wav")
    raw = wav[:-4] + ".ul"
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", wav], check=True, timeout=30)
    subprocess.run(["sox", "-R", "-D", wav, "-r", "8000", "-c", "1", "-e", "mu-law", "-t", "raw", raw], check=True, timeout=30)
    data = open(raw, "rb").read()
    data += bytes([0xFF]) * (-len(data) % SAMPLES_PER_PACKET)
    return [data[i:i + SAMPLES_PER_PACKET] for i in range(0, len(data), SAMPLES_PER_PACKET)]


def wav_bytes(seconds: float, freq_hz: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(s.to_bytes(2, "little", signed=True) for s in tone_samples(seconds, freq_hz)))
    return buf.getvalue()


def mp3_bytes(seconds: float, freq_hz: int) -> bytes:
    """An MP3 encoded by libmp3lame (installed with rtpengine's ffmpeg libraries) through ctypes."""
    import ctypes
    import ctypes.util
    name = ctypes.util.find_library("mp3lame") or "libmp3lame.so.0"
    lame = ctypes.CDLL(name)
    lame.lame_init.restype = ctypes.c_void_p
    gfp = ctypes.c_void_p(lame.lame_init())
    assert gfp.value, "lame_init failed"
    for fn, v in (("lame_set_in_samplerate", 8000), ("lame_set_out_samplerate", 8000), ("lame_set_num_channels", 1),
                  ("lame_set_mode", 3), ("lame_set_brate", 32)):
        assert getattr(lame, fn)(gfp, v) == 0, fn
    assert lame.lame_init_params(gfp) >= 0, "lame_init_params"
    pcm = tone_samples(seconds, freq_hz)
    samples = (ctypes.c_short * len(pcm))(*pcm)
    out = ctypes.create_string_buffer(len(pcm) * 2 + 7200)
    n = lame.lame_encode_buffer(gfp, samples, samples, len(pcm), out, len(out))
    assert n >= 0, f"lame_encode_buffer: {n}"
    tail = ctypes.create_string_buffer(7200)
    m = lame.lame_encode_flush(gfp, tail, len(tail))
    lame.lame_close(gfp)
    return out.raw[:n] + tail.raw[:max(m, 0)]
