"""Issue 3 (timers, scale, failure handling), end to end on 127.0.0.1 with a stack of its own:
Redis, rtpengine, Kamailio, **two dialplane instances (A and B) behind HAProxy** (Debian's haproxy, config
generated from tests/e2e/haproxy-test.cfg.in; Kamailio's --dialplane-url points at HAProxy) and the webhook
receiver.

Ports: DP_SCALE_PORT_BASE (default 23000, below the kernel's ephemeral range 32768-60999 where an outgoing
connection can hold a port); everything stays in [base, base+2000):
  +0 redis, +1 rtpengine NG, +10/+11 Kamailio SIP/JSON-RPC, +20 HAProxy (dialplane internal), +23 HAProxy stats,
  +30 webhook receiver, +40/41/42 instance A internal/REST/metrics, +50/51/52 instance B, +90..+92 fixed sipp
  parties, +100..+599 sipp SIP, +1000..+1499 rtpengine RTP, +1500..+1999 sipp media.

Tests (issue 3):
  1. timeLimit: 3 -> both sides get BYE 3 s +- 0.3 s after the answer; actionHook completed/200.
  2. 20 calls with timeLimit: 5, kill -9 of instance A 1 s in -> every call ends 5 s +- 0.5 s after its answer, one
     actionHook per call.
  3. events delivered twice and out of order, straight to both instances -> one status webhook per transition.
  4. Redis stopped -> SIP 503 + X-Reason within 2 s, a call already up stays up; Redis back -> next call works,
     no restart.
  5. SIGTERM to instance A during 10 ringing calls -> /readyz 503 at once, /kamailio/invite HTTP 503, exit within
     10 s; every call is finished by B (answered or timed out per its app) and every actionHook arrives.
  6. kill -9 of the instance that waits for a failed dial's actionHook -> HAProxy re-sends the decision to the
     other instance, which sends the same actionHook again (same Idempotency-Key) and runs the second dial it
     returns: the caller is connected to the fallback, exactly once.
  7. kill -9 of the instance that waits for the call_hook -> the other instance resumes the same call (same
     call_sid, call_hook sent again with the same Idempotency-Key) and the caller is connected.

Env: DIALPLANE_BIN (build/dialplane), DP_SCALE_PORT_BASE, DP_E2E_KEEP=1 keeps the run dir (kept on failure).
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

from conftest import (LOOPBACK, ROOT, CompactPorts, WEBHOOK_SECRET, WEBHOOK_TIMEOUT_MS, API_KEY, Service, SipMsg, Sipp,
                      SippFactory, Stack, _kill_group, _provision, _start_kamailio, _start_redis, _start_rtpengine, http,
                      port_free_tcp, rtpengine_ping, sanitizer_reports_at_stop, sip_options_probe, spawn, tail, wait_until,
                      watch_for_sanitizer_reports)
from webhook_receiver import Request, WebhookReceiver

HERE = Path(__file__).resolve().parent
SCALE_BASE = int(os.environ.get("DP_SCALE_PORT_BASE", "23000"))
KAM_DECISION_TIMEOUT_MS = 5000  # production default: a hung dialplane must not hide behind a short timeout
IDEM = "idempotency-key"
FINAL = {"completed", "busy", "no-answer", "failed"}


# ---------------------------------------------------------------------------------------------------------
# ports, scenarios
# ---------------------------------------------------------------------------------------------------------
class ScalePorts(CompactPorts):
    def __init__(self, base: int) -> None:
        super().__init__(base)
        self.dp_internal = base + 20  # HAProxy: what Kamailio talks to
        self.haproxy_stats = base + 23
        self.instances = {"A": (base + 40, base + 41, base + 42), "B": (base + 50, base + 51, base + 52)}
        self.dp_api, self.dp_metrics = base + 41, base + 42  # provisioning through instance A's REST API
        # two rtpengine nodes (Kamailio sets 0 and 1; test 9): the RTP range is split between them
        self.rtpengine2_ng = base + 2
        self.rtp_max = base + 1249
        self.rtp2_min, self.rtp2_max = base + 1250, base + 1499

    def rtpengines(self) -> str:
        return f"udp:{LOOPBACK}:{self.rtpengine_ng},udp:{LOOPBACK}:{self.rtpengine2_ng}"

    def fixed(self) -> list[tuple[str, int, str]]:
        out = [x for x in super().fixed() if x[2] not in ("dialplane REST", "dialplane metrics")]
        out.append(("tcp", self.haproxy_stats, "HAProxy stats"))
        out.append(("udp", self.rtpengine2_ng, "rtpengine 2 NG"))
        for name, (i, a, m) in self.instances.items():
            out += [("tcp", i, f"dialplane {name} internal"), ("tcp", a, f"dialplane {name} REST"),
                    ("tcp", m, f"dialplane {name} metrics")]
        return out


# UAC that waits for the network to end the call: INVITE, 200, ACK, then BYE received -> 200.
UAC_HOLD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uac hold until BYE">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Scale Caller" <sip:[from_user]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:[from_user]@[local_ip]:[local_port]>
      Max-Forwards: 70
      User-Agent: dialplane-scale-uac
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 8 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=sendrecv

    ]]>
  </send>
  <label id="wait"/>
  <recv response="100" optional="true" next="wait"/>
  <recv response="180" optional="true" next="wait"/>
  <recv response="183" optional="true" next="wait"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: "Scale Caller" <sip:[from_user]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:[from_user]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv request="BYE"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[from_user]@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
  <timewait milliseconds="500"/>
</scenario>
"""


# ---------------------------------------------------------------------------------------------------------
# the stack: Redis, rtpengine, 2 dialplane instances, HAProxy, Kamailio, webhook receiver
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Instance:
    name: str
    internal: int
    api: int
    metrics: int
    log: Path
    proc: Optional[subprocess.Popen] = None

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.internal}{path}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class ScaleStack(Stack):
    instances: dict[str, Instance]
    hold_scenario: Path
    balancer: str  # "haproxy": Kamailio asks HAProxy; "kamailio": Kamailio balances over both (test_balance.py)

    def inst(self, name: str) -> Instance:
        return self.instances[name]

    def instance_logs(self, n: int = 30, grep: Optional[str] = None) -> str:
        out = []
        for i in self.instances.values():
            try:
                lines = i.log.read_text(errors="replace").splitlines()
            except OSError:
                lines = []
            if grep:
                lines = [l for l in lines if grep in l]
            out.append(f"\n--- dialplane {i.name} ({'running' if i.alive else 'not running'}) {i.log}"
                       f"{' lines with ' + grep if grep else ''} ---\n" + "\n".join(lines[-n:]))
        return "".join(out)

    def logs(self, *names: str, n: int = 25) -> str:
        return "".join(f"\n--- {self.log(x)} ---\n{tail(self.log(x), n)}" for x in names)


def dialplane_bin() -> Path:
    b = Path(os.environ.get("DIALPLANE_BIN", ROOT / "build" / "dialplane"))
    return b if b.is_absolute() else ROOT / b


def start_instance(st: ScaleStack, inst: Instance) -> None:
    p = st.ports
    argv = [str(dialplane_bin()), "--internal-listen", f"{LOOPBACK}:{inst.internal}",
            "--api-listen", f"{LOOPBACK}:{inst.api}", "--metrics-listen", f"{LOOPBACK}:{inst.metrics}",
            "--api-key", API_KEY, "--redis-host", LOOPBACK, "--redis-port", str(p.redis), "--log-level", "debug",
            "--webhook-timeout-ms", str(WEBHOOK_TIMEOUT_MS), "--instance-id", f"scale-{inst.name}",
            # both instances bind rtpengine's DTMF log port (SO_REUSEPORT): test 8
            "--rtpengine", p.rtpengines(), "--dtmf-listen", f"{LOOPBACK}:{p.dp_dtmf}",
            "--media-dir", str(st.run_dir / f"media-{inst.name}"),
            "--inbound-auth", "off"]  # the sipp callers on loopback are nobody's carrier here
    watch_for_sanitizer_reports(inst.log)
    inst.proc = spawn(argv, inst.log)
    st.services[f"dialplane-{inst.name}"] = Service(f"dialplane-{inst.name}", inst.proc, inst.log)
    wait_until(lambda: http("GET", inst.url("/healthz"), timeout=1)[0] == 200, 15,
               f"dialplane {inst.name} /healthz", alive=inst.proc, log=inst.log)


def start_rtpengine2(st: ScaleStack) -> None:
    """The second rtpengine node: its own NG port and half of the RTP range, the same DTMF log destination."""
    p = st.ports
    log = st.log("rtpengine2")
    argv = ["bash", str(ROOT / "rtpengine" / "run-rtpengine.sh"), "--foreground", "--ip", LOOPBACK,
            "--ng-port", str(p.rtpengine2_ng), "--port-min", str(p.rtp2_min), "--port-max", str(p.rtp2_max),
            "--log-level", "6", "--dtmf-dest", f"{LOOPBACK}:{p.dp_dtmf}", "--run-dir", str(st.run_dir / "rtpengine2")]
    proc = spawn(argv, log)
    st.services["rtpengine2"] = Service("rtpengine2", proc, log)
    wait_until(lambda: rtpengine_ping(p.rtpengine2_ng), 15, "rtpengine 2 NG ping", alive=proc, log=log)


def start_haproxy(st: ScaleStack) -> None:
    exe = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
    if not exe:
        st.errors["haproxy"] = "haproxy not installed (apt-get install haproxy)"
        return
    p = st.ports
    servers = "\n".join(f"    server dp{n} {LOOPBACK}:{i.internal} check" for n, i in st.instances.items())
    event_servers = "\n".join(f"    server dp{n} {LOOPBACK}:{i.internal} track dialplane_internal/dp{n}"
                              for n, i in st.instances.items())
    cfg = (HERE / "haproxy-test.cfg.in").read_text()
    for k, v in {"@INTERNAL_PORT@": str(p.dp_internal), "@STATS_PORT@": str(p.haproxy_stats),
                 "@SERVERS@": servers, "@EVENT_SERVERS@": event_servers}.items():
        cfg = cfg.replace(k, v)
    path = st.run_dir / "haproxy.cfg"
    path.write_text(cfg)
    chk = subprocess.run([exe, "-c", "-f", str(path)], capture_output=True, text=True, timeout=20)
    if chk.returncode != 0:
        st.errors["haproxy"] = f"haproxy -c {path} failed: {chk.stdout}{chk.stderr}"
        return
    log = st.log("haproxy")
    proc = spawn([exe, "-db", "-f", str(path)], log)
    st.services["haproxy"] = Service("haproxy", proc, log)
    wait_until(lambda: haproxy_servers(st), 10, "HAProxy stats page", alive=proc, log=log)


def haproxy_servers(st: ScaleStack) -> dict[str, str]:
    """{instance name: HAProxy status (UP, DOWN, 'UP 1/2', ...)} of the dialplane backend."""
    status, body, _ = http("GET", f"http://{LOOPBACK}:{st.ports.haproxy_stats}/stats;csv", timeout=2)
    if status != 200 or not isinstance(body, str):
        return {}
    rows = list(csv.reader(io.StringIO(body.lstrip("# "))))
    hdr = rows[0]
    ix_px, ix_sv, ix_st = hdr.index("pxname"), hdr.index("svname"), hdr.index("status")
    return {r[ix_sv][2:]: r[ix_st] for r in rows[1:]
            if len(r) > ix_st and r[ix_px] == "dialplane_internal" and r[ix_sv].startswith("dp")}


def kamailio_instances_down(st: ScaleStack) -> Optional[list]:
    """The dialplane instances Kamailio's balancer holds down (roles/balance.cfg: htable dpdown; [] = none), None
    when its JSON-RPC does not answer."""
    rpc = {"jsonrpc": "2.0", "method": "htable.dump", "params": ["dpdown"], "id": 1}
    status, body, _ = http("POST", f"http://{LOOPBACK}:{st.ports.kamailio_rpc}/RPC", rpc, timeout=2)
    if status != 200 or not isinstance(body, dict) or "result" not in body:
        return None
    return [slot for slot in body["result"] if slot]


def ensure_all_up(st: ScaleStack, timeout: float = 15) -> None:
    """Restarts what an earlier test stopped (Redis, an instance) and waits until the balancer (HAProxy, or
    Kamailio itself) sees both instances up."""
    if st.services["redis"].proc.poll() is not None:
        _start_redis(st)
    for inst in st.instances.values():
        if not inst.alive:
            start_instance(st, inst)
    for name in ("kamailio", "rtpengine", "rtpengine2") + (("haproxy",) if st.balancer == "haproxy" else ()):
        st.require(name)
    if st.balancer == "kamailio":
        try:
            wait_until(lambda: all(http("GET", i.url("/readyz"), timeout=1)[0] == 200 for i in st.instances.values())
                       and kamailio_instances_down(st) == [], timeout, "Kamailio: both dialplane instances up")
        except TimeoutError:
            raise AssertionError(f"Kamailio's instances down: {kamailio_instances_down(st)}" + st.instance_logs(15)) \
                from None
        return
    try:
        wait_until(lambda: set(haproxy_servers(st).values()) == {"UP"} and len(haproxy_servers(st)) == 2, timeout,
                   "HAProxy: both dialplane instances UP")
    except TimeoutError:
        raise AssertionError(f"HAProxy servers: {haproxy_servers(st)}" + st.instance_logs(15)) from None


def scale_stack(base: int, balancer: str, kamailio_defines: tuple = ()) -> Any:
    """The stack, as a generator for a module fixture. `balancer`: "haproxy" (Kamailio's DIALPLANE_URL is HAProxy)
    or "kamailio" (DIALPLANE_URL lists both instances: roles/balance.cfg); `kamailio_defines`: extra cfg defines."""
    ports = ScalePorts(base)
    busy = ports.busy()
    if busy:
        pytest.fail(f"port base {base}: ports in use: {', '.join(busy)}", pytrace=False)
    if not os.access(dialplane_bin(), os.X_OK):
        pytest.fail(f"dialplane binary {dialplane_bin()} not found (set DIALPLANE_BIN)", pytrace=False)
    run_dir = Path(tempfile.mkdtemp(prefix=f"dp-scale-{base}-"))
    print(f"\n[scale] run dir {run_dir}, port base {base}, balancer {balancer}, dialplane {dialplane_bin()}",
          file=sys.stderr)
    st = ScaleStack(ports, run_dir)
    st.balancer = balancer
    st.instances = {n: Instance(n, i, a, m, run_dir / f"dialplane-{n}.log") for n, (i, a, m) in ports.instances.items()}
    st.hold_scenario = run_dir / "uac_hold_until_bye.xml"
    st.hold_scenario.write_text(UAC_HOLD)
    failed = True
    try:
        _start_redis(st)
        _start_rtpengine(st)
        start_rtpengine2(st)
        st.webhook = WebhookReceiver(LOOPBACK, ports.webhook, WEBHOOK_SECRET).start()
        for name in ("redis", "rtpengine"):
            if name in st.errors:
                pytest.fail(f"{name} is not available: {st.errors[name]}", pytrace=False)
        for inst in st.instances.values():
            start_instance(st, inst)
        _provision(st)
        dp_url = None
        if balancer == "haproxy":
            start_haproxy(st)
            if "haproxy" in st.errors:
                pytest.fail(f"haproxy is not available: {st.errors['haproxy']}", pytrace=False)
        else:
            dp_url = ",".join(f"http://{LOOPBACK}:{i.internal}" for i in st.instances.values())
        # WITH_DEBUG: test 1 reads the dialog events Kamailio queued from its log
        _start_kamailio(st, defines=kamailio_defines, decision_timeout_ms=KAM_DECISION_TIMEOUT_MS, debug=True,
                        rtpengines=ports.rtpengines(), dialplane_url=dp_url)
        ensure_all_up(st, 20)
        yield st
        failed = False
    finally:
        if st.webhook:
            st.webhook.stop()
        for svc in reversed(list(st.services.values())):
            _kill_group(svc.proc)
        if sanitizer_reports_at_stop():
            failed = True
        if failed or getattr(pytest, "dp_e2e_failed", False) or os.environ.get("DP_E2E_KEEP") == "1":
            print(f"\n[scale] logs kept in {run_dir}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def scale() -> Any:
    yield from scale_stack(SCALE_BASE, "haproxy")


@pytest.fixture
def st(scale: ScaleStack, request: pytest.FixtureRequest) -> Any:
    ensure_all_up(scale)
    yield scale


@pytest.fixture
def sp(scale: ScaleStack, request: pytest.FixtureRequest) -> Any:
    workdir = scale.run_dir / "tests" / request.node.name
    workdir.mkdir(parents=True, exist_ok=True)
    f = SippFactory(scale, workdir)
    request.node.dp_sipp = f  # conftest's report hook prints every party's flow on failure
    yield f
    for s in f.all:
        s.stop()


_numbers: list[str] = []


def take_number(st: ScaleStack) -> str:
    if not _numbers:
        _numbers.extend(st.prov["numbers"])
    return _numbers.pop(0)


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------
def norm(n: Any) -> str:
    s = str(n or "")
    return s[1:] if s.startswith("+") else s


def target(s: Sipp) -> dict:
    return {"type": "sip", "sipUri": f"sip:callee@{LOOPBACK}:{s.port}"}


def dial_app(rx: WebhookReceiver, called: str, targets: list, **props: Any) -> list:
    return [{"verb": "dial", "actionHook": rx.url(f"/actionHook/{norm(called)}"), "target": targets, **props}]


def calls_of(s: Sipp) -> dict[str, list[SipMsg]]:
    """The party's SIP messages grouped by Call-ID, in order."""
    out: dict[str, list[SipMsg]] = {}
    for m in s.messages():
        out.setdefault(m.header("Call-ID") or "?", []).append(m)
    return out


def first(msgs: list[SipMsg], direction: str, what: Any) -> Optional[SipMsg]:
    for m in msgs:
        if m.direction != direction:
            continue
        if isinstance(what, str) and m.method == what:
            return m
        if isinstance(what, int) and m.code == what and m.cseq_method == "INVITE":
            return m
    return None


def hooks_for_callid(rx: WebhookReceiver, kind: str, call_id: str) -> list[Request]:
    return rx.snapshot(lambda r: r.kind == kind and r.get("call_id") == call_id)


def unique_by_key(reqs: list[Request]) -> dict[str, list[Request]]:
    out: dict[str, list[Request]] = {}
    for r in reqs:
        out.setdefault(r.headers.get(IDEM) or f"(no key #{id(r)})", []).append(r)
    return out


def exactly_once_report(rx: WebhookReceiver, call_ids: list[str]) -> tuple[list[str], list[str]]:
    """(problems, notes) about actionHooks: one per SIP call, after de-duplication by Idempotency-Key."""
    problems, notes = [], []
    for cid in call_ids:
        acts = hooks_for_callid(rx, "actionHook", cid)
        keys = unique_by_key(acts)
        missing_key = [r for r in acts if not r.headers.get(IDEM)]
        if missing_key:
            problems.append(f"{cid}: actionHook without Idempotency-Key header: {missing_key}")
        if len(keys) != 1:
            problems.append(f"{cid}: {len(acts)} actionHook(s) with {len(keys)} distinct Idempotency-Key(s): "
                            f"{[(r, r.headers.get(IDEM)) for r in acts]}")
        elif len(acts) > 1:
            notes.append(f"{cid}: {len(acts)} deliveries of one actionHook (same Idempotency-Key "
                         f"{acts[0].headers.get(IDEM)}): counted once after de-duplication")
    return problems, notes


def redis_json_state(st: ScaleStack, sid: str) -> Optional[dict]:
    out = subprocess.run(["redis-cli", "-h", LOOPBACK, "-p", str(st.ports.redis), "--raw", "HGET", f"dp:call:{sid}", "s"],
                         capture_output=True, text=True, timeout=5).stdout.strip()
    try:
        return json.loads(out) if out else None
    except ValueError:
        return None


def find_key(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find_key(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find_key(v, key)
            if r is not None:
                return r
    return None


def sources_in(obj: Any, node: str) -> dict[str, int]:
    """{"<node>|<boot>": last seq} from the de-duplication record anywhere in the call state (the seqs
    applied per source)."""
    out: dict[str, int] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str) and k.startswith(node + "|") and isinstance(v, list) and v:
                out[k] = max(v)
            else:
                out.update(sources_in(v, node))
    elif isinstance(obj, list):
        for v in obj:
            out.update(sources_in(v, node))
    return out


def timers_for(st: ScaleStack, sid: str) -> list[str]:
    out = subprocess.run(["redis-cli", "-h", LOOPBACK, "-p", str(st.ports.redis), "--raw", "ZRANGE", "dp:timers", "0", "-1"],
                         capture_output=True, text=True, timeout=5).stdout.split()
    return [m for m in out if f"|{sid}|" in m]


def zcard(st: ScaleStack, key: str) -> int:
    out = subprocess.run(["redis-cli", "-h", LOOPBACK, "-p", str(st.ports.redis), "--raw", "ZCARD", key],
                         capture_output=True, text=True, timeout=5).stdout.strip()
    return int(out) if out.isdigit() else -1


def dialog_end_count(st: ScaleStack, call_ids: list[str]) -> int:
    """How many of these calls have a dialog_end event in Kamailio's WITH_DEBUG log ("event queued: ...")."""
    ends = [l for l in st.log("kamailio").read_text(errors="replace").splitlines() if '"ev":"dialog_end"' in l]
    return sum(1 for c in call_ids if any(f'"call_id":"{c}"' in l for l in ends))


def kill_instance_that_logged(st: ScaleStack, event: str, needle: str) -> Instance:
    """kill -9 of the one live instance whose log has `event` for `needle` (the one holding a request)."""
    def askers() -> list[Instance]:
        return [i for i in st.instances.values()
                if i.alive and any(event in line and needle in line
                                   for line in i.log.read_text(errors="replace").splitlines())]
    found = wait_until(askers, 3, f"the instance that logged {event} for {needle}")
    assert len(found) == 1, f"{event} for {needle} logged by {[i.name for i in found]}"
    os.kill(found[0].proc.pid, signal.SIGKILL)
    found[0].proc.wait(5)
    return found[0]


def post_events(inst: Instance, batch: dict) -> tuple[int, Any]:
    s, body, _ = http("POST", inst.url("/kamailio/events"), batch, timeout=5)
    return s, body


# ---------------------------------------------------------------------------------------------------------
# 1. timeLimit ends an answered call on time
# ---------------------------------------------------------------------------------------------------------
def test_1_time_limit_ends_call(st: ScaleStack, sp: SippFactory) -> None:
    rx = st.webhook
    called = take_number(st)
    uas = sp.uas("callee", "uas_answer.xml", duration_ms=500, timeout_s=20)
    rx.set_app(called, dial_app(rx, called, [target(uas)], timeLimit=3, timeout=20))
    caller = sp.uac("caller", str(st.hold_scenario), called, caller="+15553330001", timeout_s=15)
    caller.assert_ok(25)
    uas.assert_ok(10)

    ok_c = first(caller.messages(), "received", 200)
    ok_u = first(uas.messages(), "sent", 200)
    bye_c = first(caller.messages(), "received", "BYE")
    bye_u = first(uas.messages(), "received", "BYE")
    assert ok_c and ok_u and bye_c and bye_u, f"caller {caller.flow()} callee {uas.flow()}"
    assert not caller.sent("BYE") and not uas.sent("BYE"), "a party hung up by itself"
    dc, du = bye_c.ts - ok_c.ts, bye_u.ts - ok_u.ts
    print(f"[scale] timeLimit 3: BYE to caller {dc:.3f}s after its 200, to callee {du:.3f}s after its 200",
          file=sys.stderr)
    assert 2.7 <= dc <= 3.3, f"caller got BYE {dc:.3f}s after the answer (timeLimit 3 +- 0.3)"
    assert 2.7 <= du <= 3.3, f"callee got BYE {du:.3f}s after it answered (timeLimit 3 +- 0.3)"
    reason = (bye_c.header("Reason") or "") + " | " + (bye_u.header("Reason") or "")

    parent = rx.wait_call_hook(called).get("call_sid")
    rx.wait_for(lambda _: rx.action_hooks(parent), 5, f"actionHook of {parent}")
    time.sleep(0.5)
    acts = rx.action_hooks(parent)
    assert len(acts) == 1, f"expected one actionHook, got {acts}"
    a = acts[0]
    assert (a.get("dial_call_status"), a.get("dial_sip_status")) == ("completed", 200), a.json
    assert a.sig_ok, a.sig_error
    assert a.headers.get(IDEM), f"actionHook without an Idempotency-Key header: {a.headers}"
    assert a.ts >= bye_c.ts - 0.05, "actionHook before the BYE"
    wait_until(lambda: not timers_for(st, parent), 5, f"timers of {parent} removed from dp:timers")
    print(f"[scale] BYE Reason headers: {reason}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------------
# 2. kill -9 of one instance while 20 calls with timeLimit 5 are set up / up
# ---------------------------------------------------------------------------------------------------------
def test_2_kill9_instance_timers_survive(st: ScaleStack, sp: SippFactory) -> None:
    rx = st.webhook
    n = 20
    called = take_number(st)
    uas = sp.uas("callees", "uas_answer.xml", duration_ms=300, calls=n, timeout_s=30)
    rx.set_app(called, dial_app(rx, called, [target(uas)], timeLimit=5, timeout=20))
    caller = sp.uac("callers", str(st.hold_scenario), called, caller="+15553330002", calls=n, rate=20, timeout_s=30)
    time.sleep(1.0 - (time.time() - caller.started_at))
    victim = st.inst("A")
    t_kill = time.time()
    os.kill(victim.proc.pid, signal.SIGKILL)
    victim.proc.wait(5)
    print(f"[scale] killed dialplane A (pid {victim.proc.pid}) {t_kill - caller.started_at:.2f}s after the "
          f"first INVITE; HAProxy: {haproxy_servers(st)}", file=sys.stderr)

    rc_c = caller.wait(45)
    try:
        rc_u: Optional[int] = uas.wait(8)
    except AssertionError:  # a callee that never got its BYE waits for it until its own timeout
        rc_u = None
    calls_c, calls_u = calls_of(caller), calls_of(uas)
    rows, problems = [], []
    for cid, msgs in calls_c.items():
        ok_c, bye_c = first(msgs, "received", 200), first(msgs, "received", "BYE")
        um = calls_u.get(cid, [])
        ok_u, bye_u = first(um, "sent", 200), first(um, "received", "BYE")
        if not (ok_c and bye_c and ok_u and bye_u):
            problems.append(f"{cid}: caller {[(m.direction[0], m.method or m.code) for m in msgs]} "
                            f"callee {[(m.direction[0], m.method or m.code) for m in um]}")
            continue
        dc, du = bye_c.ts - ok_c.ts, bye_u.ts - ok_u.ts
        rows.append((cid, ok_c.ts - caller.started_at, dc, du))
        if not (4.5 <= dc <= 5.5 and 4.5 <= du <= 5.5):
            problems.append(f"{cid}: answered at +{ok_c.ts - caller.started_at:.2f}s, BYE to caller after {dc:.3f}s, "
                            f"to callee after {du:.3f}s (timeLimit 5 +- 0.5)")
    lat = sorted(max(abs(r[2] - 5), abs(r[3] - 5)) for r in rows)
    print(f"[scale] {len(rows)}/{n} calls ended by timeLimit; |BYE - answer - 5s| max {lat[-1] if lat else -1:.3f}s; "
          f"answered from +{min((r[1] for r in rows), default=0):.2f}s to +{max((r[1] for r in rows), default=0):.2f}s",
          file=sys.stderr)
    assert len(calls_c) == n, f"caller placed {len(calls_c)} calls, expected {n}: {caller.describe()}"
    # Kamailio 5.6 drops the callee's BYE when the caller's 200 is handled first (roles/sip.cfg holds that reply)
    lost_byes = [ln for ln in (st.run_dir / "kamailio.log").read_text(errors="replace").splitlines()
                 if "terminating non-confirmed dialog" in ln]
    assert not problems and not lost_byes, \
        f"{len(problems)} of {n} calls not ended at 5 s +- 0.5 s after their answer:\n  " + "\n  ".join(problems) + \
        f"\nKamailio did not send {len(lost_byes)} BYE(s): {lost_byes[:3]}" + st.instance_logs(20, grep="error")
    assert rc_c == 0 and rc_u == 0, f"sipp: {caller.describe()}\n{uas.describe()}"

    cids = list(calls_c)
    try:
        rx.wait_for(lambda _: all(hooks_for_callid(rx, "actionHook", c) for c in cids), 10,
                    f"an actionHook for each of the {n} calls")
    except AssertionError:
        missing = [c for c in cids if not hooks_for_callid(rx, "actionHook", c)]
        raise AssertionError(f"no actionHook within 10 s for {len(missing)} of {n} calls: {missing}; Kamailio queued a "
                             f"dialog_end event for {dialog_end_count(st, missing)} of them") from None
    time.sleep(4)  # an outbox lease (3 s) of the killed instance would re-send by now
    problems, notes = exactly_once_report(rx, cids)
    for c in cids:
        for a in hooks_for_callid(rx, "actionHook", c):
            if (a.get("dial_call_status"), a.get("dial_sip_status")) != ("completed", 200):
                problems.append(f"{c}: actionHook {a.json}")
    assert not problems, ("actionHooks not exactly once per call (checked after de-duplication by Idempotency-Key"
                          f"{'; ' + '; '.join(notes) if notes else ''}):\n  " + "\n  ".join(problems))
    if notes:
        print("[scale] actionHook exactly once only AFTER de-duplication by Idempotency-Key:\n  " + "\n  ".join(notes),
              file=sys.stderr)
    else:
        print(f"[scale] {n} actionHooks, exactly one delivery each (no duplicates at all)", file=sys.stderr)
    wait_until(lambda: zcard(st, "dp:outbox-due") == 0, 10, "dp:outbox-due drained")


# ---------------------------------------------------------------------------------------------------------
# 3. duplicate and out-of-order events straight to both instances
# ---------------------------------------------------------------------------------------------------------
def test_3_duplicate_and_out_of_order_events(st: ScaleStack, sp: SippFactory) -> None:
    rx = st.webhook
    called = take_number(st)
    uas = sp.uas("callee", "uas_answer.xml", duration_ms=1000, timeout_s=20)
    rx.set_app(called, dial_app(rx, called, [target(uas)], timeout=20))
    caller = sp.uac("caller", "uac_call.xml", called, caller="+15553330003", duration_ms=4000, timeout_s=20)
    parent = rx.wait_call_hook(called).get("call_sid")
    call_id = rx.wait_call_hook(called).get("call_id")

    def child_reqs() -> dict[str, list[Request]]:
        return rx.children(parent)
    rx.wait_for(lambda _: any(r.get("call_status") == "in-progress" for rs in child_reqs().values() for r in rs), 8,
                "child leg in-progress")
    (child, _), = child_reqs().items()
    node = f"http://{LOOPBACK}:{st.ports.kamailio_rpc}/RPC"
    state = redis_json_state(st, parent)
    assert state, f"no call state dp:call:{parent} in Redis while the call is up"
    srcs = sources_in(state, node)
    assert srcs, f"no '<node>|<boot>' -> seq record for {node} in the call state: {json.dumps(state)[:1500]}"
    (real_src, last_seq), = list(srcs.items())[:1]
    real_boot = real_src.split("|", 1)[1]
    h_entry, h_id = find_key(state, "h_entry"), find_key(state, "h_id")
    tag180 = first(uas.messages(), "sent", 180)
    to_tag = (tag180.header("To") or "").split("tag=")[-1] if tag180 else ""

    def ev(kind: str, seq: int, **kw: Any) -> dict:
        return {"ev": kind, "seq": seq, "ts": f"{time.time():.6f}", "call_id": call_id, "call_sid": parent, "dial": 1,
                **kw}

    r180 = dict(leg=0, code=180, reason="Ringing", sdp=False, to_tag=to_tag)
    r200 = dict(leg=0, code=200, reason="OK", sdp=True, to_tag=to_tag)
    start = dict(leg=0, h_entry=h_entry if h_entry is not None else 0, h_id=h_id if h_id is not None else 0)
    before = len(rx.snapshot())
    A, B = st.inst("A"), st.inst("B")
    sent = []
    # (a) the real node's stream again: seqs Kamailio already delivered (duplicates), 180 after 200
    replay = {"node": node, "boot": real_boot,
              "events": [ev("reply", last_seq, **r200), ev("reply", max(last_seq - 1, 0), **r180)]}
    # (b) a second stream (same node, other boot): 200, then a late 180, the 180 again with the same seq,
    #     the dialog start again
    fake_boot = str(int(real_boot) + 1) if real_boot.isdigit() else real_boot + "1"
    second = {"node": node, "boot": fake_boot,
              "events": [ev("reply", 1, **r200), ev("reply", 2, **r180), ev("reply", 2, **r180),
                         ev("dialog_start", 3, **start)]}
    reordered = {**second, "events": list(reversed(second["events"]))}
    for inst, batch in ((A, replay), (B, replay), (A, second), (B, second), (A, reordered), (B, replay)):
        s, body = post_events(inst, batch)
        sent.append((inst.name, [(e["ev"], e.get("code"), e["seq"]) for e in batch["events"]], s, body))
        assert s == 200, f"POST {inst.url('/kamailio/events')} -> {s} {body}"
    print(f"[scale] injected (instance, events, status, body): {sent}", file=sys.stderr)
    time.sleep(0.7)
    extra = [r for r in rx.snapshot()[before:] if r.kind != "other"]
    assert not extra, f"webhooks caused by duplicate/out-of-order events: {extra}"

    caller.assert_ok(20)
    uas.assert_ok(10)
    rx.wait_for(lambda _: rx.action_hooks(parent), 5, "actionHook")
    # (c) after the end: the dialog end and the 200 again, to both instances
    late = {"node": node, "boot": fake_boot,
            "events": [ev("reply", 4, **r200), ev("dialog_end", 5, h_entry=start["h_entry"], h_id=start["h_id"],
                                                   duration=4, by="caller")]}
    for inst, batch in ((A, late), (B, late), (A, replay)):
        s, body = post_events(inst, batch)
        assert s == 200, f"late events: POST {inst.url('/kamailio/events')} -> {s} {body}"
    time.sleep(1.0)

    kids = child_reqs()
    assert list(kids) == [child], f"child legs: {list(kids)}"
    got = [r.get("call_status") for r in kids[child]]
    assert got == ["trying", "ringing", "in-progress", "completed"], \
        f"status webhooks of the leg (one per transition expected): {kids[child]}"
    related = rx.snapshot(lambda r: r.kind == "callStatus" and parent in (r.get("call_sid"), r.get("parent_call_sid")))
    seen: dict[tuple, int] = {}
    for r in related:
        seen[(r.get("call_sid"), r.get("call_status"))] = seen.get((r.get("call_sid"), r.get("call_status")), 0) + 1
    dups = {k: v for k, v in seen.items() if v > 1}
    assert not dups, f"status webhooks sent more than once per transition: {dups}"
    acts = rx.action_hooks(parent)
    assert len(acts) == 1 and acts[0].get("dial_call_status") == "completed", f"actionHooks: {acts}"


# ---------------------------------------------------------------------------------------------------------
# 4. Redis outage
# ---------------------------------------------------------------------------------------------------------
def test_4_redis_outage_503_then_recovers(st: ScaleStack, sp: SippFactory) -> None:
    rx = st.webhook
    pids = {n: i.proc.pid for n, i in st.instances.items()}
    # a call that is up when Redis goes away
    up_called = take_number(st)
    up_uas = sp.uas("up_callee", "uas_answer.xml", duration_ms=300, timeout_s=25)
    rx.set_app(up_called, dial_app(rx, up_called, [target(up_uas)], timeout=20))
    up = sp.uac("up_caller", "uac_call.xml", up_called, caller="+15553330041", duration_ms=5000, timeout_s=25)
    up_parent = rx.wait_call_hook(up_called).get("call_sid")
    rx.wait_for(lambda _: any(r.get("call_status") == "in-progress" for rs in rx.children(up_parent).values()
                              for r in rs), 8, "the held call in-progress")

    st.redis_cli("SAVE")  # Redis runs without persistence: keep provisioning across the restart
    _kill_group(st.services["redis"].proc)
    t_stop = time.time()
    results = []
    try:
        for i, delay in enumerate((0.2, 1.5)):
            time.sleep(max(0.0, t_stop + delay - time.time()))
            called = take_number(st)
            c = sp.uac(f"during_outage_{i}", "uac_fail.xml", called, caller=f"+1555333005{i}", timeout_s=10)
            c.wait(15)
            inv = c.sent("INVITE")[0]
            fin = [m for m in c.received() if m.code and m.code >= 200 and m.cseq_method == "INVITE"]
            assert fin, f"no final reply to an INVITE {delay}s into the Redis outage: {c.describe()}"
            f = fin[0]
            results.append((delay, f.first_line, f.header("X-Reason"), round(f.ts - inv.ts, 3)))
            assert f.code == 503, f"INVITE {delay}s into the outage got {f.first_line!r} (expected 503)"
            assert f.header("X-Reason"), f"503 without X-Reason: {f.headers}"
            assert f.ts - inv.ts <= 2.0, f"503 came {f.ts - inv.ts:.2f}s after the INVITE (limit 2 s)"
        print(f"[scale] during the Redis outage (delay, reply, X-Reason, seconds): {results}", file=sys.stderr)
        # the call that was up when Redis went away is still up: its BYE at 5 s goes through
        up.assert_ok(20)
        up_uas.assert_ok(10)
        assert up.received("BYE") == [] and up_uas.received("BYE"), f"held call: {up.flow()} / {up_uas.flow()}"
    finally:
        _start_redis(st)
    t_back = time.time()
    try:
        wait_until(lambda: all(http("GET", i.url("/readyz"), timeout=1)[0] == 200 for i in st.instances.values()), 10,
                   "both instances /readyz 200 after Redis came back")
        wait_until(lambda: "UP" in haproxy_servers(st).values(), 5, "HAProxy: an instance UP again")
    except TimeoutError as e:
        raise AssertionError(f"{e}" + st.instance_logs(15)) from None
    print(f"[scale] instances ready {time.time() - t_back:.2f}s after Redis restarted; HAProxy {haproxy_servers(st)}",
          file=sys.stderr)
    called = take_number(st)
    uas = sp.uas("after_callee", "uas_answer.xml", duration_ms=300, timeout_s=15)
    rx.set_app(called, dial_app(rx, called, [target(uas)], timeout=20))
    c = sp.uac("after_caller", "uac_call.xml", called, caller="+15553330060", duration_ms=500, timeout_s=15)
    c.assert_ok(20)
    uas.assert_ok(10)
    parent = rx.wait_call_hook(called).get("call_sid")
    a = rx.wait_for(lambda _: rx.action_hooks(parent), 8, "actionHook after the outage")[0]
    assert a.get("dial_call_status") == "completed", a.json
    assert {n: i.proc.pid for n, i in st.instances.items()} == pids and all(i.alive for i in st.instances.values()), \
        "a dialplane instance was restarted or died during the Redis outage"
    # the held call's end, reported while Redis was down, is applied once Redis is back
    rx.wait_for(lambda _: rx.action_hooks(up_parent), 15, "actionHook of the call held through the outage")


# ---------------------------------------------------------------------------------------------------------
# 5. SIGTERM during 10 ringing calls
# ---------------------------------------------------------------------------------------------------------
def test_5_sigterm_drains_and_other_instance_finishes(st: ScaleStack, sp: SippFactory) -> None:
    rx = st.webhook
    ans_called, to_called = take_number(st), take_number(st)
    ans = sp.uas("answer_after_6s", "uas_answer.xml", duration_ms=6000, calls=5, timeout_s=40)
    ring = sp.uas("ring_until_cancel", "uas_ring_cancel.xml", calls=5, timeout_s=40)
    rx.set_app(ans_called, dial_app(rx, ans_called, [target(ans)], timeout=20))
    rx.set_app(to_called, dial_app(rx, to_called, [target(ring)], timeout=7))
    c_ans = sp.uac("callers_answered", "uac_call.xml", ans_called, caller="+15553330071", calls=5, rate=10,
                   duration_ms=1000, timeout_s=40)
    c_to = sp.uac("callers_timeout", "uac_fail.xml", to_called, caller="+15553330072", calls=5, rate=10, timeout_s=40)

    def ringing_parents() -> set:
        ps = {r.get("parent_call_sid") for r in rx.snapshot(lambda r: r.kind == "callStatus"
                                                            and r.get("call_status") == "ringing")}
        hooks = {r.get("call_sid") for r in rx.call_hooks(ans_called) + rx.call_hooks(to_called)}
        return ps & hooks
    rx.wait_for(lambda _: len(ringing_parents()) >= 10, 8, "10 calls ringing")
    victim, other = st.inst("A"), st.inst("B")
    t_term = time.time()
    os.kill(victim.proc.pid, signal.SIGTERM)
    # not ready at once
    wait_until(lambda: http("GET", victim.url("/readyz"), timeout=1)[0] == 503, 0.5, "A /readyz 503 after SIGTERM")
    t_unready = time.time() - t_term
    # a new INVITE straight to the draining instance: HTTP 503, so the load balancer sends it elsewhere
    probe = {"node": f"http://{LOOPBACK}:{st.ports.kamailio_rpc}/RPC", "call_id": f"drain-{secrets.token_hex(6)}",
             "from_uri": "sip:+15553330099@127.0.0.1", "from_user": "+15553330099", "from_name": "", "from_tag": "1",
             "to_uri": "sip:+15559999999@127.0.0.1", "to_user": "+15559999999", "ruri": "sip:+15559999999@127.0.0.1",
             "ruri_user": "+15559999999", "ruri_host": "127.0.0.1", "src_ip": "127.0.0.1", "src_port": 5999,
             "proto": "udp", "ts": f"{time.time():.6f}", "pai": "", "privacy": "", "x_cid": "", "user_agent": "probe"}
    s_inv, b_inv, _ = http("POST", victim.url("/kamailio/invite"), probe, timeout=3)
    print(f"[scale] SIGTERM A: /readyz 503 after {t_unready:.3f}s; /kamailio/invite while draining -> {s_inv} {b_inv}",
          file=sys.stderr)
    try:
        victim.proc.wait(12)
    except subprocess.TimeoutExpired:
        pass
    t_exit = time.time() - t_term
    exited = victim.proc.poll()

    c_ans.wait(45)
    c_to.wait(45)
    ans.wait(15)
    ring.wait(15)
    calls_a, calls_t = calls_of(c_ans), calls_of(c_to)
    problems = []
    for cid, msgs in calls_a.items():
        ok, bye_ok = first(msgs, "received", 200), [m for m in msgs if m.direction == "received" and m.code == 200
                                                     and m.cseq_method == "BYE"]
        if not ok or not bye_ok:
            problems.append(f"answered-app call {cid}: {[(m.direction[0], m.method or m.code) for m in msgs]}")
    ring_calls = calls_of(ring)
    for cid, msgs in calls_t.items():
        fin = [m for m in msgs if m.direction == "received" and m.code and m.code >= 300 and m.cseq_method == "INVITE"]
        inv = first(msgs, "sent", "INVITE")
        cancel = first(ring_calls.get(cid, []), "received", "CANCEL")
        if not fin:
            problems.append(f"timeout-app call {cid}: no final reply {[(m.direction[0], m.method or m.code) for m in msgs]}")
        elif not cancel or not 6.5 <= cancel.ts - inv.ts <= 7.5:
            problems.append(f"timeout-app call {cid}: target CANCEL "
                            f"{'missing' if not cancel else f'{cancel.ts - inv.ts:.2f}s'} after the INVITE (timeout 7)")
    cids = list(calls_a) + list(calls_t)
    try:
        rx.wait_for(lambda _: all(hooks_for_callid(rx, "actionHook", c) for c in cids), 10, "10 actionHooks")
    except AssertionError as e:
        problems.append(str(e).split(";")[0])
    time.sleep(1)
    p2, notes = exactly_once_report(rx, cids)
    problems += p2
    for c in calls_a:
        for a in hooks_for_callid(rx, "actionHook", c):
            if a.get("dial_call_status") != "completed":
                problems.append(f"answered call {c}: actionHook {a.json}")
    for c in calls_t:
        for a in hooks_for_callid(rx, "actionHook", c):
            if a.get("dial_call_status") != "no-answer":
                problems.append(f"timed-out call {c}: actionHook {a.json}")
    print(f"[scale] SIGTERM: A exited with {exited} {t_exit:.2f}s after the signal; "
          f"{len(calls_a)} answered-app + {len(calls_t)} timeout-app calls; notes: {notes}", file=sys.stderr)

    assert len(calls_a) == 5 and len(calls_t) == 5, f"calls placed: {len(calls_a)} + {len(calls_t)}"
    if s_inv != 503:
        problems.append(f"POST /kamailio/invite to the draining instance answered HTTP {s_inv} {b_inv}; the contract "
                        "is HTTP 503 so HAProxy re-sends the INVITE to another instance")
    if exited is None or t_exit > 10.5:
        problems.append(f"A still running {t_exit:.1f}s after SIGTERM (bound ~10 s)")
    assert not problems, f"{len(problems)} problem(s) after SIGTERM:\n  " + "\n  ".join(problems) + \
        st.instance_logs(15, grep="level=error")
    assert c_ans.rc == 0 and c_to.rc == 0, f"{c_ans.describe()}\n{c_to.describe()}"
    assert exited == 0, f"A exit status {exited} after SIGTERM (expected a clean exit)" + st.logs("dialplane-A")


# ---------------------------------------------------------------------------------------------------------
# 6. an instance dies while it waits for a failed dial's actionHook
# ---------------------------------------------------------------------------------------------------------
def test_6_kill9_during_action_hook_resumes_failover(st: ScaleStack, sp: SippFactory) -> None:
    rx = st.webhook
    called = take_number(st)
    busy = sp.uas("busy", "uas_reject_486.xml")
    fallback = sp.uas("fallback", "uas_answer.xml", duration_ms=500, timeout_s=30)
    second = dial_app(rx, called, [target(fallback)], timeout=20)
    arrived = threading.Event()

    def slow(_: Request) -> tuple[int, Any]:
        arrived.set()
        time.sleep(1.5)  # the instance that asked is killed meanwhile
        return 200, second

    rx.set_app(called, dial_app(rx, called, [target(busy)], timeout=20))
    rx.set_action(called, slow, second, None)  # attempt 1 (killed), the re-sent attempt, dial 2's end
    caller = sp.uac("caller", "uac_call.xml", called, caller="+15553330006", duration_ms=1000, timeout_s=30)
    parent = rx.wait_call_hook(called).get("call_sid")
    assert arrived.wait(10), "the first dial's actionHook never came" + st.instance_logs(20)
    victim = kill_instance_that_logged(st, "dial_ended", parent)
    print(f"[scale] killed dialplane {victim.name} while it waited for the actionHook of {parent}", file=sys.stderr)

    caller.assert_ok(30)
    busy.assert_ok(10)
    fallback.assert_ok(10)
    ok = first(caller.messages(), "received", 200)
    assert ok and f":{fallback.port}" in (ok.header("Contact") or ""), \
        f"caller not connected to the fallback: {caller.describe()}" + st.instance_logs(20, grep=parent)
    acts = rx.wait_for(lambda _: len(rx.action_hooks(parent)) >= 3 and rx.action_hooks(parent), 10,
                       "3 actionHook deliveries (dial 1 twice, dial 2 once)")
    d1 = [a for a in acts if a.get("dial_call_status") == "busy"]
    d2 = [a for a in acts if a.get("dial_call_status") == "completed"]
    assert len(d1) == 2 and len(d2) == 1, f"actionHooks: {acts}"
    assert d1[0].headers.get(IDEM) and d1[0].headers.get(IDEM) == d1[1].headers.get(IDEM), \
        f"the re-sent actionHook has another Idempotency-Key: {[a.headers.get(IDEM) for a in d1]}"
    assert d1[0].body == d1[1].body, "the re-sent actionHook's payload differs"
    assert d2[0].headers.get(IDEM) != d1[0].headers.get(IDEM)
    time.sleep(1)
    parent_final = [r.get("call_status") for r in rx.statuses(parent) if r.get("call_status") in FINAL]
    assert parent_final == ["completed"], f"parent status webhooks: {[r.get('call_status') for r in rx.statuses(parent)]}"
    children = rx.children(parent)
    assert len(children) == 2, f"one leg per dial expected, got {len(children)}: {children}"


# ---------------------------------------------------------------------------------------------------------
# 7. an instance dies while it waits for the call_hook
# ---------------------------------------------------------------------------------------------------------
def test_7_kill9_during_call_hook_resumes_the_same_call(st: ScaleStack, sp: SippFactory) -> None:
    rx = st.webhook
    called = take_number(st)
    callee = sp.uas("callee", "uas_answer.xml", duration_ms=500, timeout_s=30)
    app = dial_app(rx, called, [target(callee)], timeout=20)
    attempts: list[float] = []

    def call_hook(_: Request) -> tuple[int, Any]:
        attempts.append(time.time())
        if len(attempts) == 1:
            time.sleep(1.5)  # the instance that asked is killed meanwhile
        return 200, app

    rx.set_app(called, call_hook)
    caller = sp.uac("caller", "uac_call.xml", called, caller="+15553330007", duration_ms=1000, timeout_s=30)
    wait_until(lambda: attempts, 10, "the first call_hook")
    victim = kill_instance_that_logged(st, "call_new", norm(called))
    print(f"[scale] killed dialplane {victim.name} while it waited for the call_hook", file=sys.stderr)

    caller.assert_ok(30)
    callee.assert_ok(10)
    hooks = rx.wait_for(lambda _: len(rx.call_hooks(called)) >= 2 and rx.call_hooks(called), 10, "2 call_hooks")
    assert len(hooks) == 2, f"call_hooks: {hooks}"
    sids = {h.get("call_sid") for h in hooks}
    keys = {h.headers.get(IDEM) for h in hooks}
    assert len(sids) == 1 and len(keys) == 1 and None not in keys, \
        f"the resumed call_hook is another call: call_sids {sids}, Idempotency-Keys {keys}"
    parent = sids.pop()
    acts = rx.wait_for(lambda _: rx.action_hooks(parent), 10, "the dial's actionHook")
    assert [a.get("dial_call_status") for a in acts] == ["completed"], acts
    assert len(rx.children(parent)) == 1, rx.children(parent)


# ---------------------------------------------------------------------------------------------------------
# 8. DTMF keeps working when the instance that receives rtpengine's DTMF log dies
# ---------------------------------------------------------------------------------------------------------
def test_8_dtmf_survives_the_instance_that_receives_it(st: ScaleStack, sp: SippFactory) -> None:
    """Both instances bind the DTMF log port with SO_REUSEPORT; the kernel gives rtpengine's datagrams to one.
    When that one dies, the next key goes to the other, which finds the call (and the leg's collected keys) in
    Redis."""
    from test_media import MediaPeers, press, rtpengine_addr
    rx = st.webhook
    called = take_number(st)
    media = MediaPeers(st)
    try:
        a, b = media.peer("caller"), media.peer("callee")
        uas = sp.uas("callee", "uas_media.xml", duration_ms=300, keys={"rtp_port": b.port}, timeout_s=30)
        path = f"/dtmfHook/{norm(called)}"
        rx.set_app(called, dial_app(rx, called, [target(uas)], timeout=20, dtmfCapture=["1", "12"],
                                    dtmfHook=rx.url(path)))
        uac = sp.uac("caller", "uac_media.xml", called, caller="+15553330008", duration_ms=7000, timeout_s=30,
                     keys={"rtp_port": a.port})
        parent = rx.wait_call_hook(called).get("call_sid")
        b.set_remote(*rtpengine_addr(st, uas, "INVITE"))
        a.set_remote(*rtpengine_addr(st, uac, "200"))
        a.start_audio()
        b.start_audio()

        def hooks() -> list:
            return [r.get("dtmf") for r in rx.snapshot(lambda r: r.path == path)]

        press(b, "1")
        rx.wait_for(lambda _: hooks(), 5, "the first dtmfHook")
        victim = kill_instance_that_logged(st, "dtmf_matched", parent)
        print(f"[scale] killed dialplane {victim.name}, which handled the first key", file=sys.stderr)
        press(b, "2")  # "12": the buffer the dead instance saved is still there
        rx.wait_for(lambda _: len(hooks()) >= 2, 5, "the second dtmfHook, from the surviving instance")
        time.sleep(0.5)
        assert hooks() == ["1", "12"], hooks()
        survivor = [i for i in st.instances.values() if i.alive]
        assert len(survivor) == 1 and any("dtmf_matched" in l and parent in l
                                          for l in survivor[0].log.read_text(errors="replace").splitlines())
        uac.assert_ok(30)
    finally:
        media.close()


# ---------------------------------------------------------------------------------------------------------
# 9. two rtpengine nodes: each call's media on the node dialplane picked, Kamailio's commands and dialplane's alike
# ---------------------------------------------------------------------------------------------------------
def fnv1a_node(call_id: str, nodes: int) -> int:
    """core::ng::node_for_call: FNV-1a 64 of the Call-ID modulo the node count."""
    h = 1469598103934665603
    for ch in call_id.encode():
        h = ((h ^ ch) * 1099511628211) % (1 << 64)
    return h % nodes


def test_9_two_rtpengine_nodes_each_call_on_the_node_dialplane_picked(st: ScaleStack, sp: SippFactory) -> None:
    """dialMusic makes dialplane send its own offer/answer/play media before Kamailio's branch offer and the
    callee's answer: every command of a call must reach the one node hashed from its Call-ID (set 0 or 1)."""
    rx = st.webhook
    called = take_number(st)
    wav = (b"RIFF" + (36 + 16000).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
           + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
           + (16000).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
           + b"data" + (16000).to_bytes(4, "little") + bytes(16000))
    music = rx.serve_file(f"/media/two-nodes-{norm(called)}.wav", wav, "audio/wav")
    callee = sp.uas("callee", "uas_answer.xml", duration_ms=300, calls=8, timeout_s=40)
    rx.set_app(called, dial_app(rx, called, [target(callee)], timeout=20, dialMusic=music))
    caller = sp.uac("caller", "uac_call.xml", called, caller="+15553330009", duration_ms=300, calls=8, rate=4,
                    timeout_s=40)
    caller.assert_ok(40)
    callee.assert_ok(20)
    call_ids = sorted({m.header("Call-ID") for m in caller.messages() if m.header("Call-ID")})
    assert len(call_ids) == 8, call_ids
    logs = [st.log("rtpengine").read_text(errors="replace"), st.log("rtpengine2").read_text(errors="replace")]
    on = {cid: [i for i, text in enumerate(logs) if f"[{cid}]" in text] for cid in call_ids}
    wrong = {cid: nodes for cid, nodes in on.items() if nodes != [fnv1a_node(cid, 2)]}
    assert not wrong, f"calls whose media went elsewhere than node hash(Call-ID) (0 or 1): {wrong}"
    assert {n[0] for n in on.values()} == {0, 1}, f"8 calls should use both nodes: {on}"
    for cid, nodes in on.items():
        lines = [l for l in logs[nodes[0]].splitlines() if f"[{cid}]" in l and "Received command" in l]
        cmds = [l.split("Received command '", 1)[1].split("'", 1)[0] for l in lines]
        assert "play media" in cmds and cmds.count("answer") >= 2 and "offer" in cmds, (
            f"{cid} on node {nodes[0]}: commands {cmds} (expected dialplane's offer/answer/play media and "
            f"Kamailio's offer/answer)")
