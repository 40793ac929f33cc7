#!/usr/bin/env python3
"""dialplane media benchmark: dialMusic, NG round trips and DTMF capture on 127.0.0.1, bounded in calls and time.

Not a CI test. Builds the stack of bench/bench.py (Redis, rtpengine, dialplane behind HAProxy, Kamailio, the
app's call_hook answered by HAProxy) with dialplane's own NG client (--rtpengine udp:…), its DTMF listener
(--dtmf-listen) and rtpengine's --dtmf-log-dest pointing at it, plus a local HTTP server (this process) that
serves the dialMusic WAV and receives the dtmfHooks. Ports: BENCH_PORT_BASE 40000 (services 40000..40160),
rtpengine's RTP range 41000-41999. Run through bench/run-media-bench.sh (global timeout).

Phases, one report:
  1+2. the same call — sipp UAC -> dial to a sipp UAS that rings MEDIA_RING_MS (1000) then answers, the caller
     holds MEDIA_HOLD_MS (1000), BYE — at MEDIA_RATE cps (20) x MEDIA_SECONDS (10), without and with dialMusic,
     MEDIA_ROUNDS times (2; the order alternates). Per variant: sipp ok/failed, CPU ms per call per process
     (utime+stime of every process of each spawned session from /proc; the sipp UACs, which exit, from
     RUSAGE_CHILDREN) and the difference music - plain. During the music phases: dialplane's
     dialplane_ng_request_seconds{command} p50/p99 (histogram delta, interpolated as bench.py does) and
     dialplane_dial_music_total{result}.
  3. DTMF: one bridged call (sipp uac_media/uas_media whose SDP names two media_peer.MediaPeer endpoints, audio
     flowing both ways) with dtmfCapture = every single key and a dtmfHook to this process; MEDIA_DTMF_DIGITS
     (120) RFC 4733 keys of 100 ms sent one at a time by the caller's peer; latency = hook arrival - the key's
     first packet, and - its first end packet (rtpengine reports a key when it ends), p50/p99/max.
  4. listen: MEDIA_LISTEN_CALLS (40) calls whose dial has a nested listen (mono, 8 kHz) to a websocket sink in this
     process (tests/e2e/ws_sink.py), placed at 10 cps and held MEDIA_LISTEN_HOLD_MS (25000); once every listen
     streams, MEDIA_LISTEN_WINDOW_S (10) seconds are measured: per listen-second, the Redis requests by command and
     the bytes Redis sent, dialplane's own requests by operation (what following the calls' state costs: the
     listens poll it) and dialplane's CPU. MEDIA_SKIP_LISTEN=1 skips it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# bench.py reads its ports at import: this benchmark's own range (e2e 25000-26999, scale 23000-24999, bench 28000-30120)
os.environ.setdefault("BENCH_PORT_BASE", "40000")
os.environ.setdefault("BENCH_RTP_MIN", "41000")
os.environ.setdefault("BENCH_RTP_MAX", "41999")
os.environ.setdefault("BENCH_INSTANCES", "1")
sys.path[:0] = [str(HERE), str(ROOT / "tests" / "e2e")]

import bench as B  # noqa: E402
from media_peer import PT_PCMU, MediaPeer, wait_sipp_sdp, wav_bytes  # noqa: E402
from ws_sink import WsSink  # noqa: E402

LO = B.LO
RATE = B.env_int("MEDIA_RATE", 20)
SECONDS = B.env_int("MEDIA_SECONDS", 10)
RING_MS = B.env_int("MEDIA_RING_MS", 1000)
HOLD_MS = B.env_int("MEDIA_HOLD_MS", 1000)
ROUNDS = B.env_int("MEDIA_ROUNDS", 2)
DIGITS = B.env_int("MEDIA_DTMF_DIGITS", 120)
WAV_SECONDS = float(os.environ.get("MEDIA_WAV_SECONDS", "2"))
LISTEN_CALLS = B.env_int("MEDIA_LISTEN_CALLS", 40)
LISTEN_HOLD_MS = B.env_int("MEDIA_LISTEN_HOLD_MS", 25000)
LISTEN_WINDOW_S = B.env_int("MEDIA_LISTEN_WINDOW_S", 10)
SIPP = ROOT / "tests" / "e2e" / "sipp"

BASE = B.BASE
PORT = {"hooks": BASE + 31, "dtmf": BASE + 2, "dt_uas": BASE + 95, "dt_uac": BASE + 96, "dt_uas_mp": BASE + 130,
        "dt_uac_mp": BASE + 140, "peer_a": BASE + 150, "peer_b": BASE + 152, "ws": BASE + 155}
HOOKS = f"http://{LO}:{PORT['hooks']}"
NUM_PLAIN, NUM_MUSIC, NUM_DTMF, NUM_LISTEN = "+15550003000", "+15550003001", "+15550004000", "+15550005000"
DT_UAS_URI = f"sip:dtmf@{LO}:{PORT['dt_uas']}"
KEYS = "123456789*0#"


def log(msg: str) -> None:
    print(f"[media-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------
# this process's HTTP server: the dialMusic file and the dtmfHook receiver
# ---------------------------------------------------------------------------------------------------------
class Hooks:
    lock = threading.Condition()
    received: list[tuple[float, str, dict]] = []  # (time.monotonic(), path, JSON body)
    music_gets = 0
    wav = b""


class Handler(BaseHTTPRequestHandler):
    def _reply(self, code: int, body: bytes, ctype: str, head: bool = False) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.split("?")[0] == "/music.wav":
            with Hooks.lock:
                Hooks.music_gets += 1
            self._reply(200, Hooks.wav, "audio/wav")
        else:
            self._reply(404, b"", "text/plain")

    def do_HEAD(self) -> None:  # noqa: N802
        self._reply(200 if self.path.split("?")[0] == "/music.wav" else 404, Hooks.wav, "audio/wav", head=True)

    def do_POST(self) -> None:  # noqa: N802
        at = time.monotonic()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        with Hooks.lock:
            if self.path.startswith("/dtmf"):
                Hooks.received.append((at, self.path, body if isinstance(body, dict) else {}))
            Hooks.lock.notify_all()
        self._reply(200, b"{}", "application/json")

    def log_message(self, *_: Any) -> None:
        pass


def start_hook_server() -> None:
    Hooks.wav = wav_bytes(WAV_SECONDS, 440)
    srv = ThreadingHTTPServer((LO, PORT["hooks"]), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()


# ---------------------------------------------------------------------------------------------------------
# CPU per process (per spawned session) and metrics
# ---------------------------------------------------------------------------------------------------------
TICK = os.sysconf("SC_CLK_TCK")


def group(name: str) -> str:
    for prefix in ("dialplane", "kamailio", "rtpengine", "redis", "haproxy"):
        if name.startswith(prefix):
            return prefix
    return {"uas": "sipp UAS"}.get(name, name)


def cpu_snapshot() -> dict[str, float]:
    """CPU seconds (user+system) of the live processes of every session bench.spawn started, by group; the
    exited children of this process (the sipp UACs) and this process itself (its HTTP server)."""
    out: dict[str, float] = {}
    for _, rest in B.proc_stats():
        name = B.NAMES.get(int(rest[3]))  # session id
        if name is None:
            continue
        g = group(name)
        out[g] = out.get(g, 0.0) + (int(rest[11]) + int(rest[12])) / TICK
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    out["sipp UAC"] = ch.ru_utime + ch.ru_stime
    out["media_bench.py (HTTP server)"] = me.ru_utime + me.ru_stime
    return out


def ng_histograms() -> dict[str, dict[float, float]]:
    """dialplane_ng_request_seconds cumulative buckets by command, summed over the instances."""
    out: dict[str, dict[float, float]] = {}
    for _, _, mport in B.DP:
        for n, labels, v in B.scrape(mport):
            if n == "dialplane_ng_request_seconds_bucket":
                le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
                h = out.setdefault(labels.get("command", "?"), {})
                h[le] = h.get(le, 0) + v
    return out


def counters(name: str, label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for _, _, mport in B.DP:
        for n, labels, v in B.scrape(mport):
            if n == name:
                out[labels.get(label, "")] = out.get(labels.get(label, ""), 0) + v
    return out


def delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) - a.get(k, 0)}


# ---------------------------------------------------------------------------------------------------------
# phases
# ---------------------------------------------------------------------------------------------------------
def write_apps() -> None:
    target = [{"type": "sip", "sipUri": B.UAS_URI}]
    plain = [{"verb": "dial", "timeout": 20, "target": target}]
    music = [{"verb": "dial", "timeout": 20, "target": target, "dialMusic": f"{HOOKS}/music.wav"}]
    dtmf = [{"verb": "dial", "timeout": 20, "target": [{"type": "sip", "sipUri": DT_UAS_URI}],
             "dtmfCapture": list(KEYS), "dtmfHook": f"{HOOKS}/dtmf"}]
    listen = [{"verb": "dial", "timeout": 20, "target": target,
               "listen": {"url": f"ws://{LO}:{PORT['ws']}/listen", "mixType": "mono", "sampleRate": 8000}}]
    B.EXTRA_APPS[:] = [("/media-plain", NUM_PLAIN, plain), ("/media-music", NUM_MUSIC, music),
                       ("/media-dtmf", NUM_DTMF, dtmf), ("/media-listen", NUM_LISTEN, listen)]


def load_phase(label: str, number: str, calls: int) -> dict:
    ng0, mus0, c0 = ng_histograms(), counters("dialplane_dial_music_total", "result"), cpu_snapshot()
    err0 = counters("dialplane_ng_errors_total", "kind")
    r = B.run_uac(label, SIPP / "uac_call.xml", number, RATE, calls, hold_ms=HOLD_MS,
                  bound_s=calls / RATE + (RING_MS + HOLD_MS) / 1000 + 30)
    time.sleep(1.5)  # the calls' last events (status hooks, deletes) land
    c1, ng1, mus1 = cpu_snapshot(), ng_histograms(), counters("dialplane_dial_music_total", "result")
    r.update(label=label, cpu=delta(c0, c1), ng0=ng0, ng1=ng1, music=delta(mus0, mus1),
             ng_errors=delta(err0, counters("dialplane_ng_errors_total", "kind")))
    log(f"{label}: {calls} calls at {RATE} cps: ok={r['ok']} failed={r['failed']} retrans={r['retrans']} "
        f"rc={r['rc']} music={r['music']} cpu={ {k: round(v, 2) for k, v in r['cpu'].items()} }")
    return r


def listen_phase() -> dict:
    """MEDIA_LISTEN_CALLS calls streaming a listen at once; what the window of LISTEN_WINDOW_S costs."""
    sink = WsSink(LO, PORT["ws"]).start()
    holder: dict[str, Any] = {}
    rate = 10
    th = threading.Thread(target=lambda: holder.update(r=B.run_uac(
        "listen", SIPP / "uac_call.xml", NUM_LISTEN, rate, LISTEN_CALLS, hold_ms=LISTEN_HOLD_MS,
        bound_s=LISTEN_CALLS / rate + (RING_MS + LISTEN_HOLD_MS) / 1000 + 30)))
    th.start()
    try:
        def streaming() -> int:
            return sum(1 for c in list(sink.conns) if c.closed_at is None and c.messages)
        end = time.monotonic() + LISTEN_CALLS / rate + RING_MS / 1000 + 10
        while streaming() < LISTEN_CALLS and time.monotonic() < end:
            time.sleep(0.1)
        n0 = streaming()
        time.sleep(1)
        r0, ops0, c0, t0 = B.redis_info(), counters("dialplane_redis_command_seconds_count", "op"), cpu_snapshot(), time.monotonic()
        time.sleep(LISTEN_WINDOW_S)
        r1, ops1, c1, t1 = B.redis_info(), counters("dialplane_redis_command_seconds_count", "op"), cpu_snapshot(), time.monotonic()
        n1 = streaming()
        th.join()
    finally:
        sink.stop()
    listen_s = min(n0, n1) * (t1 - t0)
    out = {"streaming": (n0, n1), "window_s": t1 - t0, "listen_s": listen_s, "redis": B.redis_delta(r0, r1),
           "ops": delta(ops0, ops1), "cpu": delta(c0, c1), "calls": holder.get("r", {})}
    log(f"listen: {n0} -> {n1} streaming over {t1 - t0:.1f} s; dialplane ops {out['ops']}; "
        f"Redis {out['redis']['by_command']}")
    return out


def dtmf_phase(label: str) -> dict:
    try:
        return _dtmf_phase(label)
    except (AssertionError, SystemExit, KeyError, RuntimeError) as e:  # report what the other phases measured
        log(f"{label}: DTMF phase failed: {e!r}")
        return {"label": label, "error": repr(e), "sent": 0, "hooks": 0, "lost": 0, "wrong": 0, "lat_start": [],
                "lat_end": []}


def _dtmf_phase(label: str) -> dict:
    hold_ms = int((DIGITS * 0.6 + 15) * 1000)
    bound = hold_ms // 1000 + 30
    a = MediaPeer("caller", PORT["peer_a"]).start()
    b = MediaPeer("callee", PORT["peer_b"]).start()
    uas_log, uac_log = B.RUN / "dtmf-uas.log", B.RUN / "dtmf-uac.log"
    uas = B.spawn("dtmf-uas", ["sipp", "-sf", str(SIPP / "uas_media.xml"), "-i", LO, "-p", str(PORT["dt_uas"]),
                               "-mp", str(PORT["dt_uas_mp"]), "-d", "300", "-key", "rtp_port", str(b.port),
                               "-m", "1", "-nostdin", "-timeout", f"{bound}s", "-trace_logs", "-log_file", str(uas_log),
                               "-trace_err", "-error_file", str(B.RUN / "dtmf-uas.err")])
    B.wait_until(lambda: not B.port_free(PORT["dt_uas"], udp=True), 5, "sipp DTMF UAS", uas)
    uac = B.spawn("dtmf-uac", ["sipp", f"{LO}:{B.P['sip']}", "-sf", str(SIPP / "uac_media.xml"), "-s", NUM_DTMF,
                               "-key", "from_user", "+15559990001", "-key", "rtp_port", str(a.port), "-i", LO,
                               "-p", str(PORT["dt_uac"]), "-mp", str(PORT["dt_uac_mp"]), "-m", "1", "-d", str(hold_ms),
                               "-nostdin", "-timeout", f"{bound}s", "-timeout_error", "-trace_logs", "-log_file",
                               str(uac_log), "-trace_err", "-error_file", str(B.RUN / "dtmf-uac.err")])
    res: dict[str, Any] = {"sent": 0, "hooks": 0, "wrong": 0, "lost": 0, "lat_start": [], "lat_end": []}
    try:
        b.set_remote(*wait_sipp_sdp(uas_log, "INVITE", 15, alive=lambda: uas.poll() is None))
        a.set_remote(*wait_sipp_sdp(uac_log, "200", 15, alive=lambda: uac.poll() is None))
        a.start_audio()
        b.start_audio()
        a.wait_packets(10, 10, pt=PT_PCMU, match=b)
        b.wait_packets(10, 10, pt=PT_PCMU, match=a)
        dg0, k0 = counters("dialplane_dtmf_datagrams_total", "result"), counters("dialplane_dtmf_keys_total", "outcome")
        # when the peer's sender builds a key's first packet and its first end packet (sent right after)
        mark: dict[str, float] = {}
        build = a._dtmf_packet

        def traced(job: Any) -> bytes:
            first, ends = job.ts is None, job.ends_sent
            pkt = build(job)
            now = time.monotonic()
            if first:
                mark["first"] = now
            if ends == 0 and job.ends_sent == 1:
                mark["end"] = now
            return pkt
        a._dtmf_packet = traced  # type: ignore[method-assign]
        with Hooks.lock:
            n = len(Hooks.received)
        for i in range(DIGITS):
            key = KEYS[i % len(KEYS)]
            mark.clear()
            a.send_dtmf(key, duration_ms=100)  # returns once the last of its 3 end packets is sent
            t0, t1 = mark["first"], mark["end"]
            res["sent"] += 1
            with Hooks.lock:
                got = Hooks.lock.wait_for(lambda: len(Hooks.received) > n, timeout=3)
                new = Hooks.received[n:]
                n = len(Hooks.received)
            if not got:
                res["lost"] += 1
                continue
            at, _, body = new[0]
            res["hooks"] += len(new)
            if body.get("dtmf") != key:
                res["wrong"] += 1
            res["lat_start"].append(at - t0)
            res["lat_end"].append(at - t1)
            time.sleep(0.12)  # a gap between keys, as a person pressing them
        time.sleep(0.5)
        res["datagrams"] = delta(dg0, counters("dialplane_dtmf_datagrams_total", "result"))
        res["keys"] = delta(k0, counters("dialplane_dtmf_keys_total", "outcome"))
        with Hooks.lock:
            res["sample_hook"] = next((b_ for _, p, b_ in Hooks.received if p.startswith("/dtmf")), {})
    finally:
        B.stop(uac)
        B.stop(uas)
        a.close()
        b.close()
    res["label"] = label
    log(f"{label}: sent {res['sent']}, hooks {res['hooks']}, lost {res['lost']}, wrong {res['wrong']}")
    return res


# ---------------------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------------------
def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(q * len(s) + 0.5)) - 1))]


def report_listen(ls: dict) -> None:
    n = ls["listen_s"] or float("nan")
    calls = ls["calls"]
    print(f"\nlisten: {ls['streaming'][0]} listens streaming at the window's start, {ls['streaming'][1]} at its end, "
          f"{ls['window_s']:.1f} s ({ls['listen_s']:.0f} listen-seconds); the calls: ok {calls.get('ok')}, "
          f"failed {calls.get('failed')}. Per second and per listen-second (the per-second figures include what an "
          f"instance does without calls, e.g. its timer poll: an `evalsha` and a `zrangebyscore` every 20 ms):\n")
    print("| what | per second | per listen-second |")
    print("|---|---|---|")
    w = ls["window_s"]

    def row(what: str, v: float, nd: int = 2) -> None:
        print(f"| {what} | {v / w:.{nd}f} | {v / n:.{nd}f} |")
    for op, v in sorted(ls["ops"].items()):
        row(f"dialplane Redis requests `{op}`", v)
    for cmd, v in list(ls["redis"]["by_command"].items())[:6]:
        row(f"Redis commands `{cmd}`", v)
    row("Redis bytes sent (replies)", ls["redis"]["net_out_bytes"], 0)
    row("Redis bytes received", ls["redis"]["net_in_bytes"], 0)
    for k in ("dialplane", "redis", "rtpengine"):
        row(f"CPU ms of {k}", ls["cpu"].get(k, 0) * 1000, 3)


def report(runs: list[dict], dts: list[dict], t_start: float) -> None:
    commit = B.subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
    calls = RATE * SECONDS
    print("\n=== dialplane media benchmark ===")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(t_start))}; commit {commit}; binary {B.BIN}; "
          f"{os.cpu_count()} CPUs shared by everything; {B.INSTANCES} dialplane instance(s) behind HAProxy")
    print(f"call: sipp UAC -> Kamailio -> dialplane dial -> sipp UAS (180, {RING_MS} ms, 200), hold {HOLD_MS} ms, "
          f"BYE; {calls} calls at {RATE} cps per phase, {ROUNDS} round(s) per variant; dialMusic = "
          f"{WAV_SECONDS:g} s 8 kHz WAV from a local HTTP server")
    print("\n| phase | calls | ok | failed | retrans | dialMusic playing |")
    print("|---|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['label']} | {r['calls']} | {r['ok']} | {r['failed']} | {r['retrans']} | "
              f"{int(r['music'].get('playing', 0))} {'' if set(r['music']) <= {'playing'} else r['music']} |")

    # CPU ms per call per process, summed over the rounds of each variant
    def per_call(variant: str) -> dict[str, float]:
        rs = [r for r in runs if r["label"].startswith(variant)]
        ok = sum(r["ok"] for r in rs) or 1
        tot: dict[str, float] = {}
        for r in rs:
            for k, v in r["cpu"].items():
                tot[k] = tot.get(k, 0) + v
        return {k: v * 1000 / ok for k, v in tot.items()}
    plain, music = per_call("plain"), per_call("music")
    order = ["kamailio", "rtpengine", "dialplane", "redis", "haproxy", "sipp UAS", "sipp UAC",
             "media_bench.py (HTTP server)"]
    names = order + sorted((set(plain) | set(music)) - set(order))
    print("\nCPU ms per call (user+system, all rounds):\n")
    print("| process | plain | dialMusic | added by dialMusic | ratio |")
    print("|---|---|---|---|---|")
    for k in names:
        p, m = plain.get(k, 0.0), music.get(k, 0.0)
        if p == 0 and m == 0:
            continue
        print(f"| {k} | {p:.2f} | {m:.2f} | {m - p:+.2f} | {m / p:.2f} |" if p else
              f"| {k} | {p:.2f} | {m:.2f} | {m - p:+.2f} | - |")
    tp, tm = sum(plain.values()), sum(music.values())
    print(f"| **total** | {tp:.2f} | {tm:.2f} | {tm - tp:+.2f} | {tm / tp if tp else float('nan'):.2f} |")
    for variant in ("plain", "music"):
        rows = [(r["label"], r["cpu"]) for r in runs if r["label"].startswith(variant)]
        for label, cpu in rows:
            ok = next(r["ok"] for r in runs if r["label"] == label) or 1
            print(f"  {label}: " + ", ".join(f"{k} {cpu.get(k, 0) * 1000 / ok:.2f}" for k in names if cpu.get(k)))

    print("\ndialplane_ng_request_seconds (dialplane's NG client, histogram delta over the phases):\n")
    print("| phases | command | requests | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    loads = [dt["load"] for dt in dts if dt.get("load", {}).get("ng1")]
    for variant, rs in (("music", [r for r in runs if r["label"].startswith("music")]),
                        ("plain", [r for r in runs if r["label"].startswith("plain")]),
                        ("music during DTMF", loads)):
        cmds = sorted({c for r in rs for c in r["ng1"]})
        for c in cmds:
            before: dict[float, float] = {}
            after: dict[float, float] = {}
            for r in rs:  # sum the rounds' deltas
                for le, v in r["ng1"].get(c, {}).items():
                    after[le] = after.get(le, 0) + v - r["ng0"].get(c, {}).get(le, 0)
            cnt = after.get(float("inf"), 0)
            if cnt <= 0:
                continue
            print(f"| {variant} ({sum(r['calls'] for r in rs)} calls) | {c} | {cnt:.0f} | {B.quantile(0.5, before, after) * 1000:.2f} | "
                  f"{B.quantile(0.99, before, after) * 1000:.2f} |")

    errs: dict[str, float] = {}
    for r in runs + loads:
        for k, v in r.get("ng_errors", {}).items():
            errs[k] = errs.get(k, 0) + v
    print(f"\ndialplane_ng_errors_total over these phases: {errs or 0}")
    if dts:
        print(f"\nDTMF -> dtmfHook (one bridged call, RFC 4733 keys of 100 ms sent by the caller's peer one at a time; "
              f"rtpengine --dtmf-log-dest -> dialplane --dtmf-listen -> dtmfHook POST to this process):\n")
        print("| load | measured from | keys | p50 ms | p99 ms | max ms |")
        print("|---|---|---|---|---|---|")
    for dt in dts:
        for k, what in (("lat_start", "the key's first RTP packet"), ("lat_end", "the key's first end packet (E bit)")):
            xs = dt[k]
            print(f"| {dt['label']} | {what} | {len(xs)} | {pct(xs, .5) * 1000:.1f} | {pct(xs, .99) * 1000:.1f} | "
                  f"{(max(xs) if xs else float('nan')) * 1000:.1f} |")
    for dt in dts:
        ld = dt.get("load")
        print(f"\n{dt['label']}: " + (f"load {ld.get('ok')}/{ld.get('calls')} calls ok, {ld.get('failed')} failed; " if ld else "")
              + f"hooks {dt['hooks']}, lost (no hook within 3 s) {dt['lost']}, wrong key {dt['wrong']}; "
              f"dialplane_dtmf_datagrams_total {dt.get('datagrams')}; dialplane_dtmf_keys_total {dt.get('keys')}"
              + (f"; FAILED: {dt['error']}" if "error" in dt else ""))
    print(f"\nmusic file fetched {Hooks.music_gets} time(s); logs and sipp stats: {B.RUN}")


def main() -> int:
    t_start = time.time()
    for t in ("redis-server", "redis-cli", "rtpengine", "kamailio", "sipp", "haproxy"):
        if not B.shutil.which(t) and not os.path.exists(f"/usr/sbin/{t}"):
            raise SystemExit(f"media-bench: {t} not installed (scripts/install-deps.sh)")
    if not os.access(B.BIN, os.X_OK):
        raise SystemExit(f"media-bench: {B.BIN} not found (build it, or set DIALPLANE_BIN)")
    busy = [f"{k} {v}" for k, v in {**B.P, **PORT}.items() if not B.port_free(v) or not B.port_free(v, udp=True)]
    busy += [f"dialplane {p}" for t in B.DP for p in t if not B.port_free(p)]
    busy += [f"RTP {p}" for p in (B.RTP_MIN, B.RTP_MAX) if not B.port_free(p, udp=True)]
    if busy:
        raise SystemExit(f"media-bench: ports in use: {busy} (another run? BENCH_PORT_BASE/BENCH_RTP_MIN)")
    log(f"run dir {B.RUN}; dialplane {B.BIN}; ports {B.BASE}.., RTP {B.RTP_MIN}-{B.RTP_MAX}")
    start_hook_server()
    write_apps()
    B.DP_EXTRA_ARGS[:] = ["--rtpengine", f"udp:{LO}:{B.P['ng']}", "--dtmf-listen", f"{LO}:{PORT['dtmf']}",
                          "--media-dir", str(B.RUN / "media")]
    B.RTPE_EXTRA_ARGS[:] = ["--dtmf-dest", f"{LO}:{PORT['dtmf']}"]
    B.start_base()
    u = B.uas(ring_ms=RING_MS)
    B.start_kamailio(static=False)
    B.wait_until(lambda: B.lb_up() == B.INSTANCES, 10, "HAProxy: every dialplane instance UP")
    # warm-up: the WAV is downloaded into the media directory (a dial waits at most 1.5 s for a first download)
    for label, num in (("warmup-plain", NUM_PLAIN), ("warmup-music", NUM_MUSIC)):
        w = B.run_uac(label, SIPP / "uac_call.xml", num, 5, 5, hold_ms=HOLD_MS, bound_s=30)
        log(f"{label}: ok={w['ok']} failed={w['failed']}")
    time.sleep(2)
    runs = []
    for i in range(ROUNDS):
        order = (("plain", NUM_PLAIN), ("music", NUM_MUSIC))
        for variant, num in (order if i % 2 == 0 else order[::-1]):
            runs.append(load_phase(f"{variant}-{i + 1}", num, RATE * SECONDS))
            time.sleep(2)
    dts = []
    if os.environ.get("MEDIA_SKIP_DTMF") != "1":
        dts.append(dtmf_phase("idle"))
        # the same keys while dialMusic calls run at MEDIA_RATE for about as long as the key phase
        calls = RATE * int(DIGITS * 0.4 + 10)
        holder: dict[str, Any] = {}
        th = threading.Thread(target=lambda: holder.update(r=load_phase("music-under-dtmf", NUM_MUSIC, calls)))
        th.start()
        time.sleep(3)
        dts.append(dtmf_phase(f"under load ({RATE} cps dialMusic calls)"))
        th.join()
        dts[-1]["load"] = holder.get("r", {})
    ls = listen_phase() if os.environ.get("MEDIA_SKIP_LISTEN") != "1" else None
    B.stop(u)
    report(runs, dts, t_start)
    if ls:
        report_listen(ls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
