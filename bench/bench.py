#!/usr/bin/env python3
"""dialplane benchmark (issue 3): sipp through the whole stack on 127.0.0.1, bounded in calls and time.

Stack: Redis, rtpengine, N dialplane instances (default 2), Kamailio (run-kamailio.sh) whose --dialplane-url lists
them (Kamailio balances; BENCH_BALANCER=haproxy: HAProxy does), and the customer's app played by HAProxy
(static JSON answers: the app is never the bottleneck). Run through bench/run-bench.sh; every option is an environment variable (see README.md).

Phases, printed as one report:
  1. dialplane: rising call rates (BENCH_DP_RATES, else BENCH_RATES, default 100,200,...,1000,1200,1400 cps;
     calls per step = rate * BENCH_STEP_SECONDS (10), capped by BENCH_MAX_CALLS when set); stops at the first
     failed step: a failed or missing call, or sipp placing its calls slower than 90 % of the target rate.
     Per step: sipp's successful/failed calls, retransmissions and achieved rate, decision latency p50/p99 from
     dialplane's own histogram dialplane_decision_seconds{kind="invite"} (delta over the step, summed over
     instances) and the p99 of what it waited on (the call_hook, the call_lookup and call_save Redis requests), and
     per successful call: CPU ms of each process tree (/proc; the sipp UAC from wait4), Redis
     round trips (total_reads_processed), commands incl. those run inside scripts (total_commands_processed,
     commandstats) and bytes in/out, webhooks by kind (dialplane_webhook_requests_total), events per second
     (dialplane_kamailio_events_total).
  2. static: the same Kamailio restarted with WITH_STATIC_ROUTE (fork to the UAS, no HTTP decision), steps
     BENCH_STATIC_RATES (else BENCH_RATES), same stop rule.
  3. hold: BENCH_HOLD_CALLS calls (default 500) with timeLimit BENCH_HOLD_SECONDS (20) held at once: pending
     timers (dialplane_pending_timers), dialplane RSS and Redis used_memory per call, BYE lateness vs timeLimit
     (from sipp's traces) and dialplane_timer_lateness_seconds.
The report (one markdown table of every step) is also written to <run dir>/report.md, all figures to report.json.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Optional

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
LO = "127.0.0.1"


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# Below Linux's ephemeral range (32768-60999): no outgoing connection (of this box's programs or a run just ended)
# is given one of these ports, which made a run refuse to start.
BASE = env_int("BENCH_PORT_BASE", 30000)
RTP_MIN = env_int("BENCH_RTP_MIN", 28000)
RTP_MAX = env_int("BENCH_RTP_MAX", 29999)


def env_rates(name: str, default: str) -> list[int]:
    return [int(x) for x in os.environ.get(name, default).split(",") if x.strip()]


RATES = env_rates("BENCH_RATES", "100,200,300,400,500,600,700,800,900,1000,1200,1400")
DP_RATES = env_rates("BENCH_DP_RATES", ",".join(map(str, RATES)))  # the dialplane path's steps
STATIC_RATES = env_rates("BENCH_STATIC_RATES", ",".join(map(str, RATES)))  # the static route's steps
STEP_SECONDS = env_int("BENCH_STEP_SECONDS", 10)
MAX_CALLS = env_int("BENCH_MAX_CALLS", 0)  # optional cap of the calls per step; 0 = none (rate x STEP_SECONDS)
MIN_RATE_SHARE = 0.9  # a step whose sipp placed its calls slower than 90 % of the target rate failed
HOLD_CALLS = env_int("BENCH_HOLD_CALLS", 500)
HOLD_RATE = env_int("BENCH_HOLD_RATE", 100)
HOLD_SECONDS = env_int("BENCH_HOLD_SECONDS", 20)
INSTANCES = env_int("BENCH_INSTANCES", 2)
SKIP_STATIC = os.environ.get("BENCH_SKIP_STATIC") == "1"
SKIP_HOLD = os.environ.get("BENCH_SKIP_HOLD") == "1"
# Who spreads Kamailio's requests over the instances: "kamailio" (DIALPLANE_URL lists every instance:
# kamailio-cfg/roles/balance.cfg) or "haproxy" (DIALPLANE_URL is HAProxy's dialplane_internal frontend). The app's
# webhooks go to HAProxy either way: it plays the app.
BALANCER = os.environ.get("BENCH_BALANCER", "kamailio")
# CPU priority per process (name prefix = nice), e.g. "dialplane=-5,redis=-5,haproxy=-5": the decision path's
# processes ahead of the SIP and media path on a box where all of them queue for two cores
NICE = {k.strip(): int(v) for k, v in (kv.split("=") for kv in os.environ.get("BENCH_NICE", "").split(",") if kv)}
# dialplane reaches Redis over a Unix domain socket (--redis-socket) instead of loopback TCP
REDIS_SOCKET = os.environ.get("BENCH_REDIS_SOCKET") == "1"
if BALANCER not in ("kamailio", "haproxy"):
    raise SystemExit(f"bench: BENCH_BALANCER={BALANCER!r}: kamailio or haproxy")
BIN = Path(os.environ.get("DIALPLANE_BIN", ROOT / "build" / "dialplane"))
API_KEY = "bench-key"

P = {"redis": BASE, "ng": BASE + 1, "sip": BASE + 10, "rpc": BASE + 11, "lb": BASE + 20, "stats": BASE + 23,
     "app": BASE + 30, "uas": BASE + 90, "uac": BASE + 91, "uac_media": BASE + 100, "uas_media": BASE + 110}
DP = [(BASE + 40 + 10 * i, BASE + 41 + 10 * i, BASE + 42 + 10 * i) for i in range(INSTANCES)]  # internal, api, metrics

PROCS: list[subprocess.Popen] = []
ERRORS: list[str] = []  # steps that could not be measured, shown in the report
NAMES: dict[int, str] = {}  # pid (= session id: every spawn starts a session) -> name, for CPU accounting
RUN: Path = Path(tempfile.mkdtemp(prefix="dp-bench-"))


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def spawn(name: str, argv: list[str], env: Optional[dict] = None) -> subprocess.Popen:
    fh = open(RUN / f"{name}.log", "ab")
    nice = next((n for prefix, n in NICE.items() if name.startswith(prefix)), 0)
    p = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=RUN,
                         env={**os.environ, **(env or {})}, start_new_session=True,
                         preexec_fn=(lambda: os.nice(nice)) if nice else None)
    fh.close()
    PROCS.append(p)
    NAMES[p.pid] = name
    return p


def stop(p: subprocess.Popen, grace: float = 5) -> None:
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(3)
    except ProcessLookupError:
        pass


def stop_all() -> None:
    for p in reversed(PROCS):
        stop(p, 3)


atexit.register(stop_all)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
signal.signal(signal.SIGINT, lambda *_: sys.exit(130))


def wait_until(pred: Any, timeout: float, what: str, proc: Optional[subprocess.Popen] = None) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            r = pred()
            if r:
                return r
        except Exception:  # noqa: BLE001 - probing services that are starting
            pass
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"bench: {what}: process exited {proc.returncode} (logs in {RUN})")
        time.sleep(0.1)
    raise SystemExit(f"bench: timed out waiting for {what} (logs in {RUN})")


def http(method: str, url: str, body: Any = None, headers: Optional[dict] = None, timeout: float = 5) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={**(headers or {}),
                                                                        **({"Content-Type": "application/json"} if data else {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def port_free(port: int, udp: bool = False) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    if not udp:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAITs of an earlier run are fine
    try:
        s.bind((LO, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def redis(*args: str) -> str:
    return subprocess.run(["redis-cli", "-h", LO, "-p", str(P["redis"]), "--raw", *args], capture_output=True,
                          text=True, timeout=10).stdout.strip()


# ---------------------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------------------
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')


def scrape(port: int) -> list[tuple[str, dict, float]]:
    st, text = http("GET", f"http://{LO}:{port}/metrics", timeout=5)
    out = []
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m or line.startswith("#"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        try:
            out.append((m.group(1), labels, float(m.group(3))))
        except ValueError:
            pass
    return out


def histogram(name: str, match: dict) -> dict[float, float]:
    """Cumulative bucket counts {le: count} of a histogram, summed over every instance and matching series."""
    out: dict[float, float] = {}
    for _, _, mport in DP:
        for n, labels, v in scrape(mport):
            if n == name + "_bucket" and all(labels.get(k) == x for k, x in match.items()):
                le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
                out[le] = out.get(le, 0) + v
    return out


def gauge(name: str, agg: str = "max") -> float:
    vals = [v for _, _, mport in DP for n, _, v in scrape(mport) if n == name]
    if not vals:
        return float("nan")
    return max(vals) if agg == "max" else sum(vals)


def quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """Prometheus-style histogram_quantile over the delta of two scrapes (linear within a bucket)."""
    les = sorted(after)
    d = [(le, after[le] - before.get(le, 0)) for le in les]
    total = d[-1][1] if d else 0
    if total <= 0:
        return float("nan")
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in d:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * ((rank - prev_c) / (c - prev_c) if c > prev_c else 1)
        prev_le, prev_c = le, c
    return prev_le


def samples_hist(samples: list[list[tuple[str, dict, float]]], name: str, match: dict) -> dict[float, float]:
    """histogram() over scrapes already taken (one list of samples per instance)."""
    out: dict[float, float] = {}
    for inst in samples:
        for n, labels, v in inst:
            if n == name + "_bucket" and all(labels.get(k) == x for k, x in match.items()):
                le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
                out[le] = out.get(le, 0) + v
    return out


def samples_sum(samples: list[list[tuple[str, dict, float]]], name: str, *by: str) -> dict[str, float]:
    """A counter summed over every instance, by the value(s) of the labels `by` ("/"-joined)."""
    out: dict[str, float] = {}
    for inst in samples:
        for n, labels, v in inst:
            if n == name:
                k = "/".join(labels.get(b, "") for b in by)
                out[k] = out.get(k, 0) + v
    return out


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------------------------------------------------
# per-step measurements: CPU of each process tree, Redis INFO, dialplane's counters
# ---------------------------------------------------------------------------------------------------------
TICK = os.sysconf("SC_CLK_TCK")
# spawn name -> process shown in the report (the sipp UAC, which exits within each step, is measured by run_uac)
CPU_ROLES = {"uas": "sipp UAS", "kamailio": "Kamailio", "kamailio-static": "Kamailio", "rtpengine": "rtpengine",
             "haproxy": "HAProxy", "redis": "Redis", **{f"dialplane-{i + 1}": f"dialplane-{i + 1}"
                                                        for i in range(INSTANCES)}}


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, session, …) of every
    process that is still there when read."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        yield int(d), st[st.rindex(")") + 2:].split()


def proc_table() -> dict[int, tuple[int, float]]:
    """Every process: pid -> (ppid, CPU seconds = utime + stime + cutime + cstime). The children's times make a
    worker that exits (and is reaped by its parent) stay counted in its tree."""
    return {pid: (int(rest[1]), sum(int(x) for x in rest[11:15]) / TICK) for pid, rest in proc_stats()}


def cpu_snapshot() -> dict[str, float]:
    """CPU seconds of each long-lived process of the stack, summed over its whole process tree (the pid bench.py
    spawned and every pid whose ancestor it is, listed anew at each snapshot: Kamailio forks its workers)."""
    table = proc_table()
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out: dict[str, float] = {}
    for p in PROCS:
        role = CPU_ROLES.get(NAMES.get(p.pid, ""))
        if role is None or p.returncode is not None or p.pid not in table:
            continue
        todo, total = [p.pid], 0.0
        while todo:
            pid = todo.pop()
            total += table[pid][1]
            todo += kids.get(pid, [])
        out[role] = out.get(role, 0.0) + total
    return out


_INFO_REQ = b"*3\r\n$4\r\nINFO\r\n$5\r\nstats\r\n$12\r\ncommandstats\r\n"


def redis_info() -> dict:
    """INFO stats + commandstats over one fresh connection (RESP, not redis-cli, so that the bench's own share of
    the counters is known exactly: see redis_delta)."""
    with socket.create_connection((LO, P["redis"]), timeout=5) as s:
        s.sendall(_INFO_REQ)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("redis closed the connection")
            buf += chunk
        head, body = buf.split(b"\r\n", 1)
        n = int(head[1:])
        while len(body) < n + 2:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("redis closed the connection")
            body += chunk
    stats: dict[str, int] = {}
    cmds: dict[str, int] = {}
    for line in body[:n].decode(errors="replace").splitlines():
        k, _, v = line.partition(":")
        if k.startswith("cmdstat_"):
            m = re.search(r"(?:^|,)calls=(\d+)", v)
            cmds[k[len("cmdstat_"):]] = int(m.group(1)) if m else 0
        elif v.isdigit():
            stats[k] = int(v)
    return {"stats": stats, "cmds": cmds, "req_bytes": len(_INFO_REQ), "reply_bytes": len(head) + 2 + n + 2}


def redis_delta(a: dict, b: dict) -> dict:
    """Redis counters over [a, b] without the bench's own INFO: Redis counts a command after running it and its
    reply's bytes once written, so the window holds a's INFO (1 command, its reply bytes, its connection's
    closing read) and b's request (bytes, 1 read)."""
    st = {k: b["stats"].get(k, 0) - a["stats"].get(k, 0) for k in
          ("total_commands_processed", "total_reads_processed", "total_net_input_bytes", "total_net_output_bytes")}
    cmds = {k: b["cmds"].get(k, 0) - a["cmds"].get(k, 0) for k in set(a["cmds"]) | set(b["cmds"])}
    cmds["info"] = cmds.get("info", 0) - 1
    cmds = {k: v for k, v in cmds.items() if v > 0}
    return {"commands_processed": st["total_commands_processed"] - 1,
            "commandstats_calls": sum(cmds.values()),
            "reads": st["total_reads_processed"] - 2,
            "net_in_bytes": st["total_net_input_bytes"] - b["req_bytes"],
            "net_out_bytes": st["total_net_output_bytes"] - a["reply_bytes"],
            "by_command": dict(sorted(cmds.items(), key=lambda kv: -kv[1]))}


def retry(f: Any, attempts: int = 3) -> Any:
    for i in range(attempts):
        try:
            return f()
        except (OSError, urllib.error.URLError, ValueError):
            if i == attempts - 1:
                raise
            time.sleep(2)


def step_snapshot(end: bool) -> dict:
    """Everything a step measures, at its start or end. Order: the start's scrapes come before its CPU snapshot
    and the end's after it, so the bench's own requests cost the processes as little inside the window as can be."""
    snap: dict[str, Any] = {}
    if end:
        snap["t"], snap["cpu"] = time.monotonic(), cpu_snapshot()
    snap["redis"] = retry(redis_info)
    snap["metrics"] = [retry(lambda: scrape(mport)) for _, _, mport in DP]
    if not end:
        snap["t"], snap["cpu"] = time.monotonic(), cpu_snapshot()
    return snap


WAITS = {"call_hook": ("dialplane_webhook_seconds", {"kind": "call_hook"}),
         "call_lookup": ("dialplane_redis_command_seconds", {"op": "call_lookup", "result": "ok"}),
         "call_save": ("dialplane_redis_command_seconds", {"op": "call_save", "result": "ok"})}


def step_deltas(s0: dict, s1: dict) -> dict:
    def d(name: str, *by: str) -> dict[str, float]:
        a, b = samples_sum(s0["metrics"], name, *by), samples_sum(s1["metrics"], name, *by)
        return {k: b[k] - a.get(k, 0) for k in b if b[k] - a.get(k, 0)}
    hooks = d("dialplane_webhook_requests_total", "kind")
    h0 = samples_hist(s0["metrics"], "dialplane_decision_seconds", {"kind": "invite"})
    h1 = samples_hist(s1["metrics"], "dialplane_decision_seconds", {"kind": "invite"})
    # what an invite decision waits on, each as seen from dialplane: the call_hook, the resumed-call check, the saves
    waits = {k: (samples_hist(s0["metrics"], name, match), samples_hist(s1["metrics"], name, match))
             for k, (name, match) in WAITS.items()}
    return {"window_s": s1["t"] - s0["t"],
            "cpu_s": {k: s1["cpu"][k] - s0["cpu"].get(k, 0) for k in s1["cpu"]},
            "redis": redis_delta(s0["redis"], s1["redis"]),
            "webhooks": {k: hooks.get(k, 0) for k in ("call_hook", "call_status", "action")}
                        | {k: v for k, v in hooks.items() if k not in ("call_hook", "call_status", "action")},
            "webhook_failures": d("dialplane_webhook_failures_total", "kind", "status"),
            "events": d("dialplane_kamailio_events_total", "event", "applied"),
            "dp_redis_ops": d("dialplane_redis_command_seconds_count", "op", "result"),
            "decision_h0": h0, "decision_h1": h1, "waits_h": waits,
            "batch_h0": samples_hist(s0["metrics"], "dialplane_event_batch_seconds", {"result": "stored"}),
            "batch_h1": samples_hist(s1["metrics"], "dialplane_event_batch_seconds", {"result": "stored"})}


# ---------------------------------------------------------------------------------------------------------
# the stack
# ---------------------------------------------------------------------------------------------------------
UAS_URI = f"sip:bench@{LO}:{P['uas']}"
DP_PROCS: list[subprocess.Popen] = []
ERRORS: list[str] = []  # steps that could not be measured, shown in the report
KAM: list[subprocess.Popen] = []
# Hooks for other benchmarks built on this stack (bench/media_bench.py): more applications answered by HAProxy
# (path, number, JSON body), more arguments for dialplane and rtpengine (run-rtpengine.sh options).
EXTRA_APPS: list[tuple[str, str, Any]] = []
DP_EXTRA_ARGS: list[str] = []
RTPE_EXTRA_ARGS: list[str] = []


def write_app_files() -> None:
    call = [{"verb": "dial", "timeout": 20, "target": [{"type": "sip", "sipUri": UAS_URI}],
             "actionHook": f"http://{LO}:{P['app']}/action"}]
    hold = [{"verb": "dial", "timeout": 20, "timeLimit": HOLD_SECONDS, "target": [{"type": "sip", "sipUri": UAS_URI}],
             "actionHook": f"http://{LO}:{P['app']}/action"}]
    (RUN / "call.json").write_text(json.dumps(call))
    (RUN / "hold.json").write_text(json.dumps(hold))
    (RUN / "empty.json").write_text("")
    for path, _, body in EXTRA_APPS:
        app_file(path).write_text(json.dumps(body))


def app_file(path: str) -> Path:
    return RUN / f"app{path.replace('/', '-')}.json"


def start_haproxy() -> None:
    tmpl = (ROOT / "tests" / "e2e" / "haproxy-test.cfg.in").read_text()
    servers = "\n".join(f"    server dp{i + 1} {LO}:{ip} check" for i, (ip, _, _) in enumerate(DP))
    event_servers = "\n".join(f"    server dp{i + 1} {LO}:{ip} track dialplane_internal/dp{i + 1}"
                              for i, (ip, _, _) in enumerate(DP))
    cfg = tmpl.replace("@INTERNAL_PORT@", str(P["lb"])).replace("@STATS_PORT@", str(P["stats"])) \
        .replace("@SERVERS@", servers).replace("@EVENT_SERVERS@", event_servers)
    cfg = cfg.replace("    option httplog\n", "    option httplog\n    option dontlog-normal\n")
    # the customer's app: static answers, so the app server never limits the benchmark
    cfg += f"""
frontend bench_app
    bind {LO}:{P['app']}
    mode http
    http-request return status 200 content-type application/json file {RUN / 'call.json'} if {{ path /call }}
    http-request return status 200 content-type application/json file {RUN / 'hold.json'} if {{ path /hold }}
    http-request return status 204 if {{ path /status }}
""" + "".join(f"    http-request return status 200 content-type application/json file {app_file(path)} if {{ path {path} }}\n"
              for path, _, _ in EXTRA_APPS) + f"""\
    http-request return status 200 content-type application/json file {RUN / 'empty.json'}
"""
    path = RUN / "haproxy.cfg"
    path.write_text(cfg)
    chk = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True)
    if chk.returncode != 0:
        raise SystemExit(f"bench: haproxy -c failed:\n{chk.stdout}{chk.stderr}")
    p = spawn("haproxy", ["haproxy", "-db", "-f", str(path)])
    wait_until(lambda: http("GET", f"http://{LO}:{P['stats']}/stats;csv")[0] == 200, 10, "haproxy", p)


def lb_up() -> int:
    _, text = http("GET", f"http://{LO}:{P['stats']}/stats;csv", timeout=2)
    return sum(1 for l in text.splitlines() if l.startswith("dialplane_internal,dp") and ",UP," in l)


def redis_args() -> list[str]:
    if REDIS_SOCKET:
        return ["--redis-socket", str(RUN / "redis.sock")]
    return ["--redis-host", LO, "--redis-port", str(P["redis"])]


def start_dialplane() -> None:
    for i, (ip, api, met) in enumerate(DP):
        p = spawn(f"dialplane-{i + 1}", [str(BIN), "--internal-listen", f"{LO}:{ip}", "--api-listen", f"{LO}:{api}",
                                         "--metrics-listen", f"{LO}:{met}", "--api-key", API_KEY,
                                         *redis_args(), "--log-level", "warn",
                                         "--instance-id", f"bench-{i + 1}",
                                         # sipp is nobody's carrier; off keeps the figures comparable with earlier runs
                                         "--inbound-auth", "off", *DP_EXTRA_ARGS])
        DP_PROCS.append(p)
        wait_until(lambda: http("GET", f"http://{LO}:{ip}/healthz")[0] == 200, 15, f"dialplane {i + 1}", p)


def provision() -> None:
    api = f"http://{LO}:{DP[0][1]}/v1"
    hdr = {"Authorization": f"Bearer {API_KEY}"}

    def create(path: str, body: dict) -> str:
        st, text = http("POST", api + path, body, hdr)
        if st not in (200, 201):
            raise SystemExit(f"bench: POST {path} -> {st} {text}")
        return json.loads(text)["sid"]
    acct = create("/Accounts", {"name": "bench", "webhook_secret": "bench-secret", "sip_realm": "bench.test"})
    for app_path, number in (("/call", "+15550001000"), ("/hold", "+15550002000"),
                             *((path, num) for path, num, _ in EXTRA_APPS)):
        app = create("/Applications", {"account_sid": acct, "name": f"bench {app_path}",
                                       "call_hook": f"http://{LO}:{P['app']}{app_path}",
                                       "call_status_hook": f"http://{LO}:{P['app']}/status"})
        create("/PhoneNumbers", {"number": number, "account_sid": acct, "application_sid": app})


def start_kamailio(static: bool) -> subprocess.Popen:
    dp_url = ",".join(f"http://{LO}:{d[0]}" for d in DP) if BALANCER == "kamailio" else f"http://{LO}:{P['lb']}"
    argv = ["bash", str(ROOT / "kamailio-cfg" / "run-kamailio.sh"), "--foreground", "--ip", LO,
            "--sip-port", str(P["sip"]), "--rpc-port", str(P["rpc"]), "--dialplane-url", dp_url,
            "--rtpengine", f"udp:{LO}:{P['ng']}", "--redis", f"{LO}:{P['redis']}", "--run-dir", str(RUN / "kamailio"),
            "--shm", "1024", "--pkg", "32", "--log-level", "1"]
    if static:
        argv += ["--define", "WITH_STATIC_ROUTE", "--define", f'STATIC_URI="{UAS_URI}"']
    p = spawn("kamailio-static" if static else "kamailio", argv)
    KAM.append(p)
    wait_until(lambda: options_ok(P["sip"]), 20, "kamailio OPTIONS", p)
    return p


def options_ok(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LO, 0))
    s.settimeout(0.5)
    lp = s.getsockname()[1]
    s.sendto((f"OPTIONS sip:{LO}:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {LO}:{lp};branch=z9hG4bKb{lp}\r\n"
              f"From: <sip:b@{LO}>;tag=b{lp}\r\nTo: <sip:{LO}:{port}>\r\nCall-ID: bench-{lp}\r\nCSeq: 1 OPTIONS\r\n"
              "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(), (LO, port))
    try:
        return s.recv(65535).startswith(b"SIP/2.0")
    except OSError:
        return False
    finally:
        s.close()


def start_base() -> None:
    spawn("redis", ["redis-server", "--bind", LO, "--port", str(P["redis"]), "--save", "", "--appendonly", "no",
                    "--dir", str(RUN), "--unixsocket", str(RUN / "redis.sock"), "--unixsocketperm", "700"])
    wait_until(lambda: redis("PING") == "PONG", 10, "redis")
    p = spawn("rtpengine", ["bash", str(ROOT / "rtpengine" / "run-rtpengine.sh"), "--foreground", "--ip", LO,
                            "--ng-port", str(P["ng"]), "--port-min", str(RTP_MIN), "--port-max", str(RTP_MAX),
                            "--log-level", "3", "--run-dir", str(RUN / "rtpengine"), *RTPE_EXTRA_ARGS])

    def ng_ping() -> bool:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        s.sendto(b"b1 d7:command4:pinge", (LO, P["ng"]))
        try:
            return b"pong" in s.recv(1000)
        finally:
            s.close()
    wait_until(ng_ping, 15, "rtpengine", p)
    write_app_files()
    start_dialplane()
    provision()
    start_haproxy()


# ---------------------------------------------------------------------------------------------------------
# sipp
# ---------------------------------------------------------------------------------------------------------
def uas(ring_ms: int = 50) -> subprocess.Popen:
    """One UAS for the whole run: 180, ring_ms (50), 200 (the pause keeps 180 and 200 in order through Kamailio)."""
    p = spawn("uas", ["sipp", "-sf", str(ROOT / "tests" / "e2e" / "sipp" / "uas_answer.xml"), "-i", LO,
                      "-p", str(P["uas"]), "-mp", str(P["uas_media"]), "-d", str(ring_ms), "-nostdin", "-max_retrans", "4",
                      "-timeout", "3600s", "-trace_err", "-error_file", str(RUN / "uas.err")])
    wait_until(lambda: not port_free(P["uas"], udp=True), 5, "sipp UAS", p)
    return p


def run_uac(name: str, scenario: Path, number: str, rate: int, calls: int, hold_ms: int = 0,
            trace: bool = False, bound_s: Optional[float] = None) -> dict:
    stat = RUN / f"{name}.csv"
    argv = ["sipp", f"{LO}:{P['sip']}", "-sf", str(scenario), "-s", number, "-key", "from_user", "+15559990000",
            "-i", LO, "-p", str(P["uac"]), "-mp", str(P["uac_media"]), "-r", str(rate), "-rp", "1000",
            "-m", str(calls), "-l", str(max(calls, 1)), "-d", str(hold_ms), "-nostdin", "-max_retrans", "4",
            "-timeout", f"{int(bound_s or calls / rate + 30)}s", "-timeout_error", "-trace_stat", "-stf", str(stat),
            "-fd", "1", "-trace_err", "-error_file", str(RUN / f"{name}.err")]
    if trace:
        argv += ["-trace_msg", "-message_file", str(RUN / f"{name}.msg")]
    t0 = time.time()
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = spawn(name, argv)
    # wait4: the UAC exits within the step, so its CPU time comes from its own rusage
    bound = (bound_s or calls / rate + 30) + 15
    rc, cpu_s = -1, float("nan")
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            rc = p.returncode = os.waitstatus_to_exitcode(status)
            cpu_s = ru.ru_utime + ru.ru_stime
            break
        if time.time() - t0 > bound:
            stop(p)  # reaped there: its CPU shows in RUSAGE_CHILDREN (no other child ends during a step)
            ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_s = ch1.ru_utime + ch1.ru_stime - ch0.ru_utime - ch0.ru_stime
            break
        time.sleep(0.02)
    el = time.time() - t0
    rows = []
    try:
        lines = [l for l in stat.read_text().splitlines() if l.strip()]
        hdr = lines[0].rstrip(";").split(";")
        rows = [dict(zip(hdr, l.rstrip(";").split(";"))) for l in lines[1:]]
    except (OSError, IndexError):
        pass
    row = rows[-1] if rows else {}

    def col(k: str, r: Optional[dict] = None) -> int:
        try:
            return int((row if r is None else r).get(k, "0") or 0)
        except ValueError:
            return 0
    return {"rc": rc, "elapsed": el, "ok": col("SuccessfulCall(C)"), "failed": col("FailedCall(C)"),
            "retrans": col("Retransmissions(C)"), "created": col("TotalCallCreated"), "calls": calls, "rate": rate,
            "sipp_rate": placed_rate(rows, calls), "uac_cpu_s": cpu_s}


def placed_rate(rows: list[dict], calls: int) -> float:
    """The rate at which sipp really created its calls: TotalCallCreated / time since start, read in the last
    periodic row (-fd 1) written while calls were still being created (the final row's CallRate(C) also counts
    the time the last calls took to end). NaN when no such row (the step placed all its calls within 1 s)."""
    def epoch(v: str) -> float:  # "2026-12-02\t17:52:14.459403\t1796233934.459403"
        return float(v.split("\t")[-1])
    best_rate = float("nan")
    for r in rows:
        try:
            created = int(r.get("TotalCallCreated", "0") or 0)
            t = epoch(r["CurrentTime"]) - epoch(r["StartTime"])
        except (KeyError, ValueError, IndexError):
            continue
        if created >= calls:
            break
        if t >= 0.5 and created > 0:
            best_rate = created / t
    return best_rate


def ramp(label: str, static: bool, rates: list[int]) -> list[dict]:
    results = []
    for rate in rates:
        calls = rate * STEP_SECONDS if MAX_CALLS <= 0 else min(MAX_CALLS, rate * STEP_SECONDS)
        try:
            s0 = step_snapshot(end=False)
            r = run_uac(f"{label}-{rate}", ROOT / "tests" / "e2e" / "sipp" / "uac_call.xml", "+15550001000", rate,
                        calls)
            time.sleep(1.5)  # the last decisions, events and status hooks land
            m = step_deltas(s0, step_snapshot(end=True))
        except (OSError, urllib.error.URLError, ValueError) as e:  # a dead process: report the steps measured
            ERRORS.append(f"{label} {rate} cps: step not measured, a snapshot failed: {e!r} (logs in {RUN})")
            log(ERRORS[-1])
            break
        m["cpu_s"]["sipp UAC"] = r.pop("uac_cpu_s")
        r.update(m)
        if not static:
            h0, h1 = r["decision_h0"], r["decision_h1"]
            r["p50_ms"] = quantile(0.5, h0, h1) * 1000
            r["p99_ms"] = quantile(0.99, h0, h1) * 1000
            r["decisions"] = (h1.get(float("inf"), 0) - h0.get(float("inf"), 0))
        r["waits_p99_ms"] = {k: quantile(0.99, a, b) * 1000 for k, (a, b) in r.pop("waits_h").items()}
        b0, b1 = r.pop("batch_h0"), r.pop("batch_h1")
        r["batches"] = b1.get(float("inf"), 0) - b0.get(float("inf"), 0)
        r["batch_p50_ms"] = quantile(0.5, b0, b1) * 1000 if r["batches"] > 0 else None
        r["batch_p99_ms"] = quantile(0.99, b0, b1) * 1000 if r["batches"] > 0 else None
        del r["decision_h0"], r["decision_h1"]
        ok = max(r["ok"], 1)
        applied = sum(v for k, v in r["events"].items() if k.endswith("/true"))
        r["per_call"] = {
            "cpu_ms": {k: v * 1000 / ok for k, v in r["cpu_s"].items()},
            "redis_reads": r["redis"]["reads"] / ok,
            "redis_cmds": r["redis"]["commands_processed"] / ok,
            "redis_cmdstats": r["redis"]["commandstats_calls"] / ok,
            "redis_in_bytes": r["redis"]["net_in_bytes"] / ok,
            "redis_out_bytes": r["redis"]["net_out_bytes"] / ok,
            "redis_by_command": {k: v / ok for k, v in r["redis"]["by_command"].items()},
            "webhooks": {k: v / ok for k, v in r["webhooks"].items()},
            "events": sum(r["events"].values()) / ok,
            "dp_redis_ops": {k: v / ok for k, v in r["dp_redis_ops"].items()}}
        r["per_call"]["cpu_ms"]["total"] = sum(r["per_call"]["cpu_ms"].values())
        # events per second of the calls' traffic: over sipp's run (the calls' lifetime), not the 1.5 s settle
        r["events_applied_per_s"] = applied / r["elapsed"] if r["elapsed"] > 0 else float("nan")
        r["events_per_s"] = sum(r["events"].values()) / r["elapsed"] if r["elapsed"] > 0 else float("nan")
        why = []
        if r["rc"] != 0:
            why.append(f"sipp rc {r['rc']}")
        if r["failed"]:
            why.append(f"{r['failed']} failed calls")
        if r["ok"] + r["failed"] != calls:
            why.append(f"{calls - r['ok'] - r['failed']} calls not completed")
        if r["sipp_rate"] == r["sipp_rate"] and r["sipp_rate"] < MIN_RATE_SHARE * rate:
            why.append(f"sipp placed only {r['sipp_rate']:.0f} cps (< {MIN_RATE_SHARE:.0%} of {rate})")
        r["pass"] = not why and r["ok"] == calls
        r["why"] = "; ".join(why)
        results.append(r)
        pc = r["per_call"]
        log(f"{label} {rate} cps x {calls}: ok={r['ok']} failed={r['failed']} retrans={r['retrans']} rc={r['rc']} "
            f"sipp {r['sipp_rate']:.0f} cps "
            + (f"decision p50={r['p50_ms']:.2f}ms p99={r['p99_ms']:.2f}ms (waits p99: "
               + ", ".join(f"{k} {v:.2f}" for k, v in r["waits_p99_ms"].items()) + " ms) " if not static else "")
            + f"CPU {pc['cpu_ms']['total']:.2f} ms/call; Redis {pc['redis_reads']:.1f} reads, "
            f"{pc['redis_cmds']:.1f} cmds/call; webhooks {sum(pc['webhooks'].values()):.2f}/call; "
            f"events {r['events_applied_per_s']:.0f}/s applied ({r['events_per_s']:.0f}/s received)"
            + (f" -> step failed: {r['why']}" if not r["pass"] else ""))
        if not r["pass"]:
            break
        time.sleep(2)  # let rtpengine/Kamailio settle between steps
    return results


def hold_phase() -> dict:
    scen = HERE / "sipp" / "uac_hold_until_bye.xml"
    pids = [p.pid for p in DP_PROCS]
    redis("MEMORY", "PURGE")
    mem0 = int(re.search(r"used_memory:(\d+)", redis("INFO", "memory")).group(1))
    rss0 = sum(rss_kb(pid) for pid in pids)
    lat0 = histogram("dialplane_timer_lateness_seconds", {"kind": "limit"})
    t_start = time.time()
    res: dict[str, Any] = {}
    import threading
    holder: dict[str, Any] = {}

    def run() -> None:
        holder["r"] = run_uac("hold", scen, "+15550002000", HOLD_RATE, HOLD_CALLS, trace=True,
                              bound_s=HOLD_CALLS / HOLD_RATE + HOLD_SECONDS + 30)
    th = threading.Thread(target=run)
    th.start()
    # all calls placed and answered, well before the first timeLimit fires
    peak_at = t_start + HOLD_CALLS / HOLD_RATE + 2
    time.sleep(max(0.0, peak_at - time.time()))
    res["pending_timers"] = gauge("dialplane_pending_timers")
    res["active_calls"] = gauge("dialplane_active_calls", "sum")
    res["redis_keys"] = int(redis("DBSIZE") or 0)
    mem1 = int(re.search(r"used_memory:(\d+)", redis("INFO", "memory")).group(1))
    rss1 = sum(rss_kb(pid) for pid in pids)
    res["redis_bytes_per_call"] = (mem1 - mem0) / HOLD_CALLS
    res["rss_kb_before"], res["rss_kb_held"] = rss0, rss1
    res["rss_kb_per_call"] = (rss1 - rss0) / HOLD_CALLS
    res["zcard_timers"] = int(redis("ZCARD", "dp:timers") or 0)
    log(f"hold: {HOLD_CALLS} calls up: pending timers {res['pending_timers']}, dp:timers {res['zcard_timers']}, "
        f"Redis +{(mem1 - mem0) / 1024:.0f} KiB, dialplane RSS {rss0 / 1024:.1f} -> {rss1 / 1024:.1f} MiB")
    th.join()
    r = holder["r"]
    res.update(r)
    lat1 = histogram("dialplane_timer_lateness_seconds", {"kind": "limit"})
    res["timer_late_p50_ms"] = quantile(0.5, lat0, lat1) * 1000
    res["timer_late_p99_ms"] = quantile(0.99, lat0, lat1) * 1000
    # BYE lateness from the caller's trace: BYE received - 200 received - timeLimit
    late = []
    msgs = parse_trace(RUN / "hold.msg")
    for cid, evs in msgs.items():
        ok = next((t for d, fl, cs, t in evs if d == "received" and fl.startswith("SIP/2.0 200") and cs == "INVITE"), None)
        bye = next((t for d, fl, cs, t in evs if d == "received" and fl.startswith("BYE ")), None)
        if ok and bye:
            late.append(bye - ok - HOLD_SECONDS)
    late.sort()
    res["bye_count"] = len(late)
    if late:
        res["bye_late_p50_ms"] = late[len(late) // 2] * 1000
        res["bye_late_p99_ms"] = late[min(len(late) - 1, int(len(late) * 0.99))] * 1000
        res["bye_late_max_ms"] = late[-1] * 1000
    time.sleep(2)
    res["pending_after"] = gauge("dialplane_pending_timers")
    return res


_SEP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)")


def parse_trace(path: Path) -> dict[str, list[tuple[str, str, str, float]]]:
    import datetime as dt
    out: dict[str, list] = {}
    if not path.exists():
        return out
    block: list[str] = []
    stamp = None

    def flush() -> None:
        if stamp is None or not block:
            return
        d = "received" if any("message received" in l for l in block[:3]) else "sent"
        lines = [l.strip() for l in block]
        i = next((k for k, l in enumerate(lines) if l and "message " not in l), None)
        if i is None:
            return
        first = lines[i]
        cid = next((l.split(":", 1)[1].strip() for l in lines if l.lower().startswith(("call-id:", "i:"))), "?")
        cseq = next((l.split()[-1] for l in lines if l.lower().startswith("cseq:")), "")
        out.setdefault(cid, []).append((d, first, cseq, dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()))
    for line in path.read_text(errors="replace").split("\n"):
        m = _SEP.match(line)
        if m:
            flush()
            stamp, block = m.group(1), []
        else:
            block.append(line)
    flush()
    return out


def best(results: list[dict]) -> int:
    ok = [r["rate"] for r in results if r["pass"]]
    return max(ok) if ok else 0


def main() -> int:
    for t in ("redis-server", "redis-cli", "rtpengine", "kamailio", "sipp", "haproxy"):
        if not shutil.which(t) and not os.path.exists(f"/usr/sbin/{t}"):
            raise SystemExit(f"bench: {t} not installed (scripts/install-deps.sh)")
    if not os.access(BIN, os.X_OK):
        raise SystemExit(f"bench: {BIN} not found (build it, or set DIALPLANE_BIN)")
    busy = [f"{k} {v}" for k, v in P.items() if not port_free(v) or not port_free(v, udp=True)]
    busy += [f"dialplane {p}" for t in DP for p in t if not port_free(p)]
    busy += [f"RTP {p}" for p in (RTP_MIN, RTP_MAX) if not port_free(p, udp=True)]
    if busy:
        raise SystemExit(f"bench: ports in use: {busy} (another bench or test_scale run? BENCH_PORT_BASE/BENCH_RTP_MIN)")
    log(f"run dir {RUN}; dialplane {BIN}; {INSTANCES} instance(s) behind HAProxy; rates: dialplane {DP_RATES}, "
        f"static {STATIC_RATES} cps; {STEP_SECONDS} s per step{f' (<= {MAX_CALLS} calls)' if MAX_CALLS > 0 else ''}; "
        f"hold {HOLD_CALLS} calls x {HOLD_SECONDS} s")
    start_base()
    u = uas()
    start_kamailio(static=False)
    wait_until(lambda: lb_up() == INSTANCES, 10, "HAProxy: every dialplane instance UP")
    dp_res = ramp("dialplane", static=False, rates=DP_RATES)
    hold = {} if SKIP_HOLD else hold_phase()
    stop(KAM.pop(), 15)
    static_res: list[dict] = []
    if not SKIP_STATIC:
        # (the RPC port's TCP TIME_WAITs do not matter: Kamailio binds with SO_REUSEADDR)
        wait_until(lambda: port_free(P["sip"], udp=True), 15, "Kamailio's SIP port released")
        start_kamailio(static=True)
        static_res = ramp("static", static=True, rates=STATIC_RATES)
    stop(u)
    report(dp_res, static_res, hold)
    return 0


CPU_COLS = ["sipp UAC", "sipp UAS", "Kamailio", "rtpengine", "HAProxy", "Redis",
            *(f"dialplane-{i + 1}" for i in range(INSTANCES))]


def fmt(v: Any, nd: int = 2) -> str:
    return "-" if v is None or (isinstance(v, float) and v != v) else f"{v:.{nd}f}"


def table(dp_res: list[dict], static_res: list[dict]) -> list[str]:
    head = (["path", "cps", "calls", "ok", "failed", "retrans", "sipp cps", "decision p50 ms", "decision p99 ms",
             "CPU ms/call total"] + [f"{c}" for c in CPU_COLS] + ["dialplane Σ",
             "Redis round trips/call (reads)", "Redis cmds/call incl. scripts", "Redis bytes in/call",
             "Redis bytes out/call", "dialplane Redis requests/call", "webhooks/call (call_hook + call_status + action)",
             "events/s applied (received)", "event batch p50/p99 ms",
             "decision's waits p99 ms (call_hook / call_lookup / call_save)"])
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, rows in (("dialplane", dp_res), ("static", static_res)):
        for r in rows:
            pc = r["per_call"]
            cpu = pc["cpu_ms"]
            dp_sum = sum(cpu.get(f"dialplane-{i + 1}", 0) for i in range(INSTANCES))
            wh = pc["webhooks"]
            kinds = [wh.get(k, 0) for k in ("call_hook", "call_status", "action")]
            cells = [label + ("" if r["pass"] else " ✗"), r["rate"], r["calls"], r["ok"], r["failed"], r["retrans"],
                     fmt(r["sipp_rate"], 0), fmt(r.get("p50_ms")), fmt(r.get("p99_ms")), fmt(cpu["total"])]
            cells += [fmt(cpu.get(c)) for c in CPU_COLS] + [fmt(dp_sum)]
            cells += [fmt(pc["redis_reads"], 1), fmt(pc["redis_cmds"], 1), fmt(pc["redis_in_bytes"], 0),
                      fmt(pc["redis_out_bytes"], 0), fmt(sum(pc["dp_redis_ops"].values()), 1),
                      f"{sum(wh.values()):.2f} ({' + '.join(f'{k:.2f}' for k in kinds)})",
                      f"{fmt(r['events_applied_per_s'], 0)} ({fmt(r['events_per_s'], 0)})",
                      f"{fmt(r.get('batch_p50_ms'))}/{fmt(r.get('batch_p99_ms'))}",
                      " / ".join(fmt(v) for v in r["waits_p99_ms"].values()) if label == "dialplane" else "-"]
            out.append("| " + " | ".join(str(c) for c in cells) + " |")
    return out


def clean(v: Any) -> Any:
    """JSON without NaN/Infinity (None instead), float keys as strings."""
    if isinstance(v, float):
        return None if v != v or v in (float("inf"), float("-inf")) else v
    if isinstance(v, dict):
        return {str(k): clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    return v


def report(dp_res: list[dict], static_res: list[dict], hold: dict) -> None:
    cpu = os.cpu_count()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    lines: list[str] = []
    say = lines.append
    say("=== dialplane benchmark ===")
    say(f"host: {cpu} CPUs (shared by sipp x2, Kamailio, rtpengine, HAProxy, Redis, {INSTANCES} dialplane, "
        f"balanced by {BALANCER}; Redis over {'a Unix socket' if REDIS_SOCKET else 'loopback TCP'}); "
        f"commit {commit}; binary {BIN}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    say(f"steps: dialplane {DP_RATES} cps, static {STATIC_RATES} cps, calls/step = rate x {STEP_SECONDS} s"
        f"{f' (at most {MAX_CALLS})' if MAX_CALLS > 0 else ''}; call = INVITE, 180, 50 ms, 200, ACK, BYE (media "
        "anchored in rtpengine); each path stops at its first failed step (a failed or missing call, or sipp "
        f"placing its calls below {MIN_RATE_SHARE:.0%} of the target rate: marked ✗)")
    say("")
    lines += table(dp_res, static_res)
    say("")
    say("Per call = delta over the step (sipp's run + 1.5 s for the last events) / the step's successful calls. "
        "CPU: utime+stime from /proc/<pid>/stat of each process and all its descendants (Kamailio's workers; "
        "children's times included), in 10 ms ticks; the sipp UAC's from wait4(); HAProxy also plays the "
        "customer's app. Redis: round trips = INFO stats total_reads_processed (socket reads of client requests: "
        "one per request or pipelined batch, not counting commands run inside Lua scripts); cmds incl. scripts = "
        "total_commands_processed (Redis 7 counts every command run inside EVAL/EVALSHA there too; = the sum of "
        "INFO commandstats calls); bytes = total_net_input/output_bytes; the bench's own INFO (1 per step) is "
        "subtracted. Webhooks: dialplane_webhook_requests_total by kind, both instances. Events: "
        "dialplane_kamailio_events_total per second of sipp's run, applied=\"true\" (received: all; the static "
        "route's events reach dialplane too, for calls it does not know); event batch = "
        "dialplane_event_batch_seconds{result=\"stored\"} (a batch received to answered). Decision: dialplane_decision_seconds{kind=\"invite\"}, interpolated in its buckets.")
    b_dp, b_st = best(dp_res), best(static_res)

    def capped(rows: list[dict]) -> bool:  # the path's ceiling was found: it stopped at a failed step
        return bool(rows) and not rows[-1]["pass"]
    ratio = ""
    if b_st:
        bound = {(True, True): "", (True, False): "<= ", (False, True): ">= "}.get(
            (capped(dp_res), capped(static_res)))
        ratio = (f"; ratio dialplane/static {bound}{b_dp / b_st:.2f}" if bound is not None else
                 f"; ratio dialplane/static not determined (neither ceiling reached; {b_dp / b_st:.2f} at the "
                 "highest steps)")
    say("")
    say(f"sustained (highest step with every call ok at >= {MIN_RATE_SHARE:.0%} of the rate): dialplane {b_dp} cps, "
        f"static route {b_st if static_res else 'not run'} cps{ratio}")
    for label, rows, rates in (("dialplane", dp_res, DP_RATES), ("static", static_res, STATIC_RATES)):
        if not rows:
            continue
        if not rows[-1]["pass"]:
            say(f"  {label} stopped at {rows[-1]['rate']} cps: {rows[-1]['why'] or 'not every call succeeded'}")
        elif any(e.startswith(f"{label} ") for e in ERRORS):
            say(f"  {label} stopped after {rows[-1]['rate']} cps by an error (below)")
        else:
            say(f"  {label}: every step passed up to the highest tried, {max(rates)} cps: its ceiling is at or above it "
                "(higher rates not probed)")
    for e in ERRORS:
        say(f"  error: {e}")
    busiest = next((r for r in reversed(dp_res) if r["pass"]), None)
    shown = busiest or (dp_res[-1] if dp_res else None)
    if shown:
        pc = shown["per_call"]
        say("")
        say(f"Redis commands per call at dialplane {shown['rate']} cps"
            + (" (the busiest sustained step)" if busiest else " (no sustained step: the first, failed one)")
            + ", top 8 of INFO commandstats (calls, commands run inside scripts included):")
        say("")
        say("| command | per call |")
        say("|---|---|")
        for k, v in list(pc["redis_by_command"].items())[:8]:
            say(f"| {k} | {v:.2f} |")
        ops = {k: v for k, v in sorted(pc["dp_redis_ops"].items(), key=lambda kv: -kv[1]) if v >= 0.005}
        say("")
        say("dialplane's own Redis requests per call (dialplane_redis_command_seconds_count by op/result): "
            + (", ".join(f"{k} {v:.2f}" for k, v in ops.items()) or "none"))
        say("webhooks per call by kind: " + (", ".join(f"{k} {v:.2f}" for k, v in pc["webhooks"].items()) or "none")
            + "; failed webhooks in the step: "
            + (", ".join(f"{k} {v:.0f}" for k, v in shown["webhook_failures"].items()) or "0"))
        say("events per call by event/applied: "
            + ", ".join(f"{k} {v / max(shown['ok'], 1):.2f}" for k, v in sorted(shown["events"].items())))
    if hold:
        say("")
        say(f"held calls: {hold.get('calls')} calls with timeLimit {HOLD_SECONDS} s, placed at {HOLD_RATE} cps")
        say(f"  pending timers while held (dialplane_pending_timers): {hold.get('pending_timers'):.0f}; "
            f"dp:timers ZCARD {hold.get('zcard_timers')}; active calls (dialplane_active_calls, sum) {hold.get('active_calls'):.0f}")
        say(f"  Redis used_memory per held call: {hold.get('redis_bytes_per_call', 0):.0f} bytes "
            f"({hold.get('redis_keys')} keys)")
        say(f"  dialplane RSS (sum of {INSTANCES}): {hold['rss_kb_before'] / 1024:.1f} MiB idle -> "
            f"{hold['rss_kb_held'] / 1024:.1f} MiB held = {hold.get('rss_kb_per_call', 0):.1f} KiB per call")
        say(f"  ended by timeLimit: {hold.get('bye_count')}/{hold.get('calls')} (sipp ok={hold.get('ok')} "
            f"failed={hold.get('failed')}); BYE after answer - {HOLD_SECONDS} s: "
            f"p50 {hold.get('bye_late_p50_ms', float('nan')):.0f} ms, p99 {hold.get('bye_late_p99_ms', float('nan')):.0f} ms, "
            f"max {hold.get('bye_late_max_ms', float('nan')):.0f} ms")
        say(f"  timer lateness at dialplane (dialplane_timer_lateness_seconds{{kind=limit}}): "
            f"p50 {hold.get('timer_late_p50_ms', float('nan')):.1f} ms, p99 {hold.get('timer_late_p99_ms', float('nan')):.1f} ms; "
            f"pending timers after: {hold.get('pending_after'):.0f}")
    say("")
    say(f"logs, sipp stats, report.md and report.json: {RUN}")
    text = "\n".join(lines) + "\n"
    print("\n" + text, end="")
    (RUN / "report.md").write_text(text)
    (RUN / "report.json").write_text(json.dumps(clean({
        "commit": commit, "cpus": cpu, "binary": str(BIN), "instances": INSTANCES, "step_seconds": STEP_SECONDS,
        "max_calls": MAX_CALLS, "rates": {"dialplane": DP_RATES, "static": STATIC_RATES},
        "min_rate_share": MIN_RATE_SHARE, "steps": {"dialplane": dp_res, "static": static_res},
        "sustained_cps": {"dialplane": b_dp, "static": b_st if static_res else None},
        "ratio": b_dp / b_st if b_st else None, "ceiling_found": {"dialplane": capped(dp_res),
                                                                  "static": capped(static_res)}, "hold": hold, "errors": ERRORS}), indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
