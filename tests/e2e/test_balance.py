"""Kamailio balancing over dialplane instances itself (kamailio-cfg/roles/balance.cfg), without HAProxy: the same
stack as test_scale.py (Redis, two rtpengine nodes, Kamailio, dialplane A and B, the webhook receiver), but
Kamailio's DIALPLANE_URL lists both instances.

Tests:
  - test_scale.py's 5 (SIGTERM drain), 6 (kill -9 while waiting for a failed dial's actionHook) and 7 (kill -9
    while waiting for the call_hook), run against this stack: what HAProxy's health checks and `retry-on` did
    there, Kamailio does here.
  - spread, kill -9, back: calls are spread over both instances; kill -9 of A -> the next calls all connect at
    once (a decision that meets the dead instance is re-sent to B), Kamailio's health check holds A down, and
    takes it back when it runs again.

Ports: DP_BALANCE_PORT_BASE (default 21000), laid out as test_scale.py's. Env: DIALPLANE_BIN, DP_E2E_KEEP=1.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

import pytest

from conftest import LOOPBACK, SippFactory, http, wait_until
from test_scale import (ScaleStack, calls_of, dial_app, ensure_all_up, first, kamailio_instances_down, scale_stack,
                        take_number, target)
from test_scale import sp, st  # noqa: F401  (fixtures: they use this module's `scale`)
from test_scale import test_5_sigterm_drains_and_other_instance_finishes  # noqa: F401
from test_scale import test_6_kill9_during_action_hook_resumes_failover  # noqa: F401
from test_scale import test_7_kill9_during_call_hook_resumes_the_same_call  # noqa: F401

BALANCE_BASE = int(os.environ.get("DP_BALANCE_PORT_BASE", "21000"))


@pytest.fixture(scope="module")
def scale() -> Any:
    yield from scale_stack(BALANCE_BASE, "kamailio", kamailio_defines=("WITH_PROMETHEUS",))


def dialplane_up_gauge(st: ScaleStack) -> dict[str, str]:
    """Kamailio's dp_dialplane_up{instance} gauges (WITH_PROMETHEUS), by instance name."""
    status, body, _ = http("GET", f"http://{LOOPBACK}:{st.ports.kamailio_rpc}/metrics", timeout=2)
    out = {}
    for line in (body if status == 200 and isinstance(body, str) else "").splitlines():
        for name, inst in st.instances.items():
            if "dp_dialplane_up{" in line and f'"http://{LOOPBACK}:{inst.internal}"' in line:
                out[name] = str(int(float(line.split("} ", 1)[1].split()[0])))  # value, then a timestamp
    return out


def served_by(st: ScaleStack, needle: str) -> dict[str, int]:
    """How many call_new lines with `needle` each instance logged."""
    out = {}
    for name, inst in st.instances.items():
        lines = inst.log.read_text(errors="replace").splitlines() if inst.log.exists() else []
        out[name] = sum(1 for l in lines if "call_new" in l and needle in l)
    return out


def place(st: ScaleStack, sp: SippFactory, label: str, n: int, caller: str) -> tuple[str, dict]:
    rx = st.webhook
    called = take_number(st)
    callee = sp.uas(f"{label}_callee", "uas_answer.xml", duration_ms=200, calls=n, timeout_s=30)
    rx.set_app(called, dial_app(rx, called, [target(callee)], timeout=10))
    uac = sp.uac(f"{label}_caller", "uac_call.xml", called, caller=caller, calls=n, rate=10, duration_ms=200,
                 timeout_s=30)
    uac.wait(35)
    callee.wait(10)
    calls = calls_of(uac)
    problems = [f"{cid}: {[(m.direction[0], m.method or m.code) for m in msgs]}"
                for cid, msgs in calls.items() if not first(msgs, "received", 200)]
    assert len(calls) == n and not problems, f"{label}: {len(calls)} calls, not connected: {problems}" + \
        st.logs("kamailio") + st.instance_logs(10, grep="level=error")
    return called, calls


def test_spread_then_kill9_fails_over_and_comes_back(st: ScaleStack, sp: SippFactory) -> None:
    called, _ = place(st, sp, "spread", 10, "+15553340001")
    spread = served_by(st, called.lstrip("+"))
    print(f"[balance] 10 calls served by {spread}", file=sys.stderr)
    assert all(v >= 3 for v in spread.values()), f"round robin should give both instances calls: {spread}"

    victim = st.inst("A")
    os.kill(victim.proc.pid, signal.SIGKILL)
    victim.proc.wait(5)
    t_kill = time.time()
    # placed at once: the health check has not seen A die yet, so decisions meet it and are re-sent
    called, _ = place(st, sp, "after_kill", 6, "+15553340002")
    after = served_by(st, called.lstrip("+"))
    kam_log = st.log("kamailio").read_text(errors="replace")
    print(f"[balance] after kill -9 of A: 6 calls served by {after}; Kamailio holds down {kamailio_instances_down(st)}",
          file=sys.stderr)
    assert after == {"A": 0, "B": 6}, after
    assert f"dialplane instance http://{LOOPBACK}:{victim.internal} " in kam_log, \
        "Kamailio never reported instance A down or failed" + st.logs("kamailio")
    down = kamailio_instances_down(st)
    assert down, f"Kamailio should hold A down {time.time() - t_kill:.1f}s after kill -9: {down}"
    wait_until(lambda: dialplane_up_gauge(st) == {"A": "0", "B": "1"}, 3, "dp_dialplane_up A 0, B 1")

    ensure_all_up(st, 10)  # restarts A; Kamailio's check takes it back
    called, _ = place(st, sp, "back", 6, "+15553340003")
    back = served_by(st, called.lstrip("+"))
    print(f"[balance] A restarted: 6 calls served by {back}; dp_dialplane_up {dialplane_up_gauge(st)}", file=sys.stderr)
    assert back["A"] >= 1, f"A gets calls again once its check passes: {back}"
    assert dialplane_up_gauge(st) == {"A": "1", "B": "1"}, dialplane_up_gauge(st)
