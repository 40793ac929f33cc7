"""Issue 5 (observability), end to end on 127.0.0.1 with a port base of its own (DP_OBS_PORT_BASE, 30000):
all ports stay inside [base, base+2000).

1. A real Prometheus (Debian's `prometheus`) scrapes dialplane and Kamailio (xhttp_prom) while calls go
   through Kamailio/rtpengine/dialplane; the test asks Prometheus's HTTP API and sees the dial counters and
   the latency histograms move. The dashboard's queries are checked against the live /metrics, and no
   per-call value (call_sid, number, URI) appears in it.
2. /readyz turns 503 when Redis stops and 200 again when it is back; /healthz stays 200.

This module runs its own stack (it stops Redis), built from the harness's helpers in conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any, Optional

import pytest

from conftest import (LOOPBACK, ROOT, CompactPorts, WEBHOOK_SECRET, Service, SippFactory, Stack,
                      _kill_group, _provision, _start_dialplane, _start_kamailio, _start_redis, _start_rtpengine, http,
                      sanitizer_reports_at_stop, sip_options_probe, stop_services,
                      spawn, tail, wait_until)
from webhook_receiver import WebhookReceiver

OBS_BASE = int(os.environ.get("DP_OBS_PORT_BASE", "30000"))


class ObsPorts(CompactPorts):
    """conftest's compact layout plus Prometheus at base+40."""

    def __init__(self, base: int) -> None:
        super().__init__(base)
        self.prometheus = base + 40


def _start_prometheus(stack: Stack) -> None:
    p = stack.ports
    exe = shutil.which("prometheus")
    if not exe:
        stack.errors["prometheus"] = "prometheus not installed (apt-get install prometheus)"
        return
    cfg_dir = stack.run_dir / "prometheus"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "deploy" / "prometheus" / "alerts.yml", cfg_dir / "alerts.yml")
    (cfg_dir / "prometheus.yml").write_text(json.dumps({  # JSON is YAML
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [
            {"job_name": "dialplane", "static_configs": [{"targets": [f"{LOOPBACK}:{p.dp_metrics}"]}]},
            {"job_name": "kamailio", "static_configs": [{"targets": [f"{LOOPBACK}:{p.kamailio_rpc}"]}]},
        ]}, indent=1))
    log = stack.log("prometheus")
    proc = spawn([exe, f"--config.file={cfg_dir / 'prometheus.yml'}", f"--storage.tsdb.path={cfg_dir / 'data'}",
                  f"--web.listen-address={LOOPBACK}:{p.prometheus}", "--log.level=warn"], log)
    stack.services["prometheus"] = Service("prometheus", proc, log)
    wait_until(lambda: http("GET", f"http://{LOOPBACK}:{p.prometheus}/-/ready", timeout=1)[0] == 200, 30,
               "Prometheus ready", alive=proc, log=log)


@pytest.fixture(scope="module")
def obs() -> Any:
    ports = ObsPorts(OBS_BASE)
    run_dir = Path(tempfile.mkdtemp(prefix=f"dp-obs-{OBS_BASE}-"))
    print(f"\n[obs] run dir {run_dir}, port base {OBS_BASE}", file=sys.stderr)
    st = Stack(ports, run_dir)
    saved = os.environ.get("DIALPLANE_KAMAILIO_RPC_URL")
    # dialplane reads every option from DIALPLANE_*: its /readyz probes this Kamailio's JSON-RPC.
    os.environ["DIALPLANE_KAMAILIO_RPC_URL"] = f"http://{LOOPBACK}:{ports.kamailio_rpc}/RPC"
    failed = True
    try:
        _start_redis(st)
        _start_rtpengine(st)
        st.webhook = WebhookReceiver(LOOPBACK, ports.webhook, WEBHOOK_SECRET).start()
        if not st.errors:
            _start_dialplane(st)
        if not st.errors:
            _provision(st)
            _start_kamailio(st, defines=("WITH_PROMETHEUS",), debug=False)  # xhttp_prom /metrics on the RPC port
            _start_prometheus(st)
        for name in ("redis", "rtpengine", "dialplane", "kamailio", "prometheus"):
            if name in st.errors:
                pytest.fail(f"{name} is not available: {st.errors[name]}", pytrace=False)
        st.require("redis", "rtpengine", "dialplane", "kamailio", "prometheus")
        yield st
        failed = False
    finally:
        if saved is None:
            os.environ.pop("DIALPLANE_KAMAILIO_RPC_URL", None)
        else:
            os.environ["DIALPLANE_KAMAILIO_RPC_URL"] = saved
        if st.webhook:
            st.webhook.stop()
        stop_services(st)
        if sanitizer_reports_at_stop():
            failed = True
        if failed or getattr(pytest, "dp_e2e_failed", False) or os.environ.get("DP_E2E_KEEP") == "1":
            print(f"\n[obs] logs kept in {run_dir}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


def logs(st: Stack, *names: str) -> str:
    return "".join(f"\n--- {st.log(n)} ---\n{tail(st.log(n), 25)}" for n in names)


def prom(st: Stack, expr: str) -> list:
    url = f"http://{LOOPBACK}:{st.ports.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, body, _ = http("GET", url, timeout=5)
    assert status == 200 and isinstance(body, dict) and body.get("status") == "success", f"{expr}: {status} {body}"
    return body["data"]["result"]


def prom_value(st: Stack, expr: str) -> Optional[float]:
    """Sum of an instant vector's values (None when the vector is empty)."""
    res = prom(st, expr)
    if not res:
        return None
    return sum(float(r["value"][1]) for r in res)


def wait_prom(st: Stack, expr: str, pred: Any, what: str, timeout: float = 20) -> float:
    last: list = [None]

    def check() -> Any:
        v = prom_value(st, expr)
        last[0] = v
        return v is not None and pred(v)
    try:
        wait_until(check, timeout, what, interval=0.5)
    except TimeoutError:
        raise AssertionError(f"Prometheus: {what}: `{expr}` = {last[0]} after {timeout}s"
                             + logs(st, "dialplane", "prometheus")) from None
    return float(last[0])


def scrape(st: Stack) -> str:
    status, body, _ = http("GET", f"http://{LOOPBACK}:{st.ports.dp_metrics}/metrics", timeout=5)
    assert status == 200, status
    return body if isinstance(body, str) else json.dumps(body)


def test_1_prometheus_sees_dial_metrics_move(obs: Stack, request: pytest.FixtureRequest) -> None:
    st = obs
    for job in ("dialplane", "kamailio"):
        wait_prom(st, f'up{{job="{job}"}}', lambda v: v == 1, f"{job} target up")
    # the alert rules shipped in deploy/ load into a real Prometheus
    status, rules, _ = http("GET", f"http://{LOOPBACK}:{st.ports.prometheus}/api/v1/rules", timeout=5)
    names = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
    assert {"DialplaneNoReadyInstance", "DialplaneWebhookFailureRate", "DialplaneDecisionLatencyHigh",
            "DialplaneRedisErrors"} <= names, names
    assert prom_value(st, "kamailio_core_shmem_free_size") or prom_value(st, '{job="kamailio"}'), \
        "no Kamailio metrics scraped through xhttp_prom"

    def base(expr: str) -> float:
        return prom_value(st, expr) or 0.0
    q_dials = "sum(dialplane_dials_total)"
    q_legs = "sum(dialplane_dial_legs_total)"
    q_calls = "sum(dialplane_calls_total)"
    q_invite = 'sum(dialplane_decision_seconds_count{kind="invite"})'
    q_failed = 'sum(dialplane_decision_seconds_count{kind="dial_failed"})'
    q_hooks = "sum(dialplane_webhook_seconds_count)"
    q_carrier = 'sum(dialplane_carrier_legs_total{carrier="e2e-gw"})'
    before = {q: base(q) for q in (q_dials, q_legs, q_calls, q_invite, q_failed, q_hooks, q_carrier)}

    workdir = st.run_dir / "tests" / request.node.name
    workdir.mkdir(parents=True, exist_ok=True)
    sipp = SippFactory(st, workdir)
    rx = st.webhook
    assert rx is not None
    numbers = list(st.prov["numbers"])
    called_ok, called_busy = numbers[0], numbers[1]
    try:
        # call 1: a sip target answers, another is busy, a phone target through carrier e2e-gw answers 404
        # (not a 6xx: a 6xx makes the proxy cancel every other branch)
        ans = sipp.uas("answer", "uas_answer.xml", duration_ms=1000)
        busy = sipp.uas("busy", "uas_reject_486.xml")
        gw = sipp.uas("carrier_gw", "uas_reject_404.xml", port=st.ports.carrier_gw)
        rx.set_app(called_ok, [{"verb": "dial", "actionHook": rx.url(f"/actionHook/{called_ok.lstrip('+')}"),
                                "timeout": 20, "target": [
                                    {"type": "sip", "sipUri": sipp.uri(ans)},
                                    {"type": "sip", "sipUri": sipp.uri(busy)},
                                    {"type": "phone", "number": "+15553334444", "trunk": "e2e-gw"}]}])
        c1 = sipp.uac("caller_ok", "uac_call.xml", called_ok, caller="+15551119001", duration_ms=1000)
        c1.assert_ok()
        # call 2: the only target is busy: the dial fails, Kamailio asks /kamailio/dial-failed
        busy2 = sipp.uas("busy2", "uas_reject_486.xml")
        rx.set_app(called_busy, [{"verb": "dial", "actionHook": rx.url(f"/actionHook/{called_busy.lstrip('+')}"),
                                  "target": [{"type": "sip", "sipUri": sipp.uri(busy2)}]}])
        c2 = sipp.uac("caller_busy", "uac_fail.xml", called_busy, caller="+15551119002")
        c2.assert_ok()
        for s in (ans, busy, gw, busy2):
            s.wait(20)
    finally:
        for s in sipp.all:
            s.stop()

    # Prometheus (scraping every second) sees the counters and histograms move
    wait_prom(st, q_dials, lambda v: v >= before[q_dials] + 2, "2 more dials")
    wait_prom(st, q_legs, lambda v: v >= before[q_legs] + 4, "4 more final dial legs")
    wait_prom(st, q_calls, lambda v: v >= before[q_calls] + 2, "2 more ended calls")
    wait_prom(st, q_invite, lambda v: v >= before[q_invite] + 2, "2 more invite decisions in the histogram")
    wait_prom(st, q_failed, lambda v: v >= before[q_failed] + 1, "a dial_failed decision in the histogram")
    wait_prom(st, q_hooks, lambda v: v >= before[q_hooks] + 8, "webhook latency observations")
    wait_prom(st, q_carrier, lambda v: v >= before[q_carrier] + 1, "a leg counted for carrier e2e-gw")
    wait_prom(st, 'sum(dialplane_dial_legs_total{type="sip",status="busy"})', lambda v: v >= 2, "busy sip legs")
    wait_prom(st, 'sum(dialplane_dials_total{status="completed"})', lambda v: v >= 1, "a completed dial")
    wait_prom(st, 'sum(dialplane_redis_command_seconds_count{op="call_save"})', lambda v: v > 0, "Redis latency")
    p99 = wait_prom(st, 'histogram_quantile(0.99, sum by (le) (rate(dialplane_decision_seconds_bucket[1m])))',
                    lambda v: v == v and v > 0, "decision latency p99 is a number")
    assert p99 <= 5, p99
    wait_prom(st, 'histogram_quantile(0.5, sum by (le) (rate(dialplane_webhook_seconds_bucket[1m])))',
              lambda v: v == v and v > 0, "webhook latency p50 is a number")
    wait_prom(st, 'sum(dialplane_kamailio_rpc_total{method="core.version",result="ok"})', lambda v: v > 0,
              "readiness probe's Kamailio JSON-RPC calls")
    wait_prom(st, "sum(dialplane_ready)", lambda v: v == 1, "dialplane ready")

    # the dashboard only queries metrics this dialplane serves, and no per-call value is a label
    text = scrape(st)
    chk = subprocess.run([sys.executable, str(ROOT / "tests" / "static" / "check_dashboard.py"), "--metrics-url",
                          f"http://{LOOPBACK}:{st.ports.dp_metrics}/metrics"], capture_output=True, text=True,
                         timeout=30)
    assert chk.returncode == 0, chk.stdout + chk.stderr
    sids = {r.get("call_sid") for r in rx.snapshot() if r.get("call_sid")}
    assert sids, "no webhook carried a call_sid"
    leaked = [v for v in sids | {called_ok, called_busy, "+15553334444", "15553334444", sipp.uri(ans), "sip:"}
              if v in text]
    assert not leaked, f"per-call values in /metrics: {leaked}"


def test_2_readyz_follows_redis(obs: Stack) -> None:
    st = obs
    ready_url = f"http://{LOOPBACK}:{st.ports.dp_internal}/readyz"
    health_url = f"http://{LOOPBACK}:{st.ports.dp_internal}/healthz"

    def readyz() -> tuple[int, Any]:
        s, body, _ = http("GET", ready_url, timeout=2)
        return s, body
    wait_until(lambda: readyz()[0] == 200, 10, "/readyz 200 with Redis and Kamailio up")
    s, body = readyz()
    assert body == {"ready": True, "redis": True, "kamailio": True, "draining": False}, body

    _kill_group(st.services["redis"].proc)
    t0 = time.monotonic()
    try:
        wait_until(lambda: readyz()[0] == 503, 5, "/readyz 503 after Redis stopped")
    except TimeoutError:
        raise AssertionError(f"/readyz stayed {readyz()} after Redis stopped" + logs(st, "dialplane")) from None
    s, body = readyz()
    assert body["ready"] is False and body["redis"] is False and body["kamailio"] is True, body
    assert http("GET", health_url, timeout=2)[0] == 200, "/healthz must stay 200 (alive) while Redis is down"
    print(f"[obs] /readyz 503 {time.monotonic() - t0:.2f}s after Redis stopped", file=sys.stderr)
    wait_until(lambda: 'dialplane_dependency_up{dependency="redis"} 0' in scrape(st), 5,
               "dialplane_dependency_up{redis} 0")

    _start_redis(st)
    t1 = time.monotonic()
    try:
        wait_until(lambda: readyz()[0] == 200, 10, "/readyz 200 after Redis came back")
    except TimeoutError:
        raise AssertionError(f"/readyz stayed {readyz()} after Redis restarted" + logs(st, "dialplane", "redis")) \
            from None
    print(f"[obs] /readyz 200 {time.monotonic() - t1:.2f}s after Redis restarted", file=sys.stderr)
    assert readyz()[1]["redis"] is True
