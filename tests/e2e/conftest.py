"""Session fixtures for dialplane's end-to-end tests: real redis-server, rtpengine, Kamailio (via
kamailio-cfg/run-kamailio.sh), dialplane, a webhook receiver, and sipp for every SIP party, all on 127.0.0.1.

Ports all derive from DP_E2E_PORT_BASE, so two runs with bases >= 1600 apart coexist:
  base+0 redis, +1 rtpengine NG, +10 Kamailio SIP (udp/tcp), +11 Kamailio JSON-RPC, +12 SIP/TLS, +13 SIP/WebSocket,
  +14/+16 the browser test's page servers, +15 SIP/secure WebSocket, +20/21/22 dialplane
  internal/REST/metrics, +30 webhook receiver, +90..+99 fixed sipp parties (carrier gateways, registered UA),
  +100..+499 sipp SIP ports, +500..+999 rtpengine RTP range, +1000..+1599 sipp media ports.
Without DP_E2E_PORT_BASE the first of 25000, 26600, 28200 whose service ports are all free is used.

Environment: DIALPLANE_BIN (default build/dialplane), DP_E2E_PORT_BASE, DP_E2E_KEEP=1 keeps the run dir,
DP_E2E_RUN_DIR to choose it. Service logs are in the run dir; the tail of each is attached to a failing test.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SIPP_DIR = HERE / "sipp"
sys.path.insert(0, str(HERE))
from webhook_receiver import WebhookReceiver  # noqa: E402

LOOPBACK = "127.0.0.1"
SIP_REALM = "e2e.dialplane.test"
# dialplane's --inbound-auth (off | devices); run-webrtc.sh runs its stack with devices: the sipp callers on
# 127.0.0.1 are then one of the account's carriers (by source address), browsers and other callers authenticate.
INBOUND_AUTH = os.environ.get("DP_E2E_INBOUND_AUTH", "off")
API_KEY = "e2e-" + secrets.token_hex(12)
WEBHOOK_SECRET = "whsec-" + secrets.token_hex(16)
DECISION_TIMEOUT_MS = 2000
# Microsoft Teams (docs/teams.md): the SBC FQDN Kamailio's TLS listener advertises (self-signed certificate made
# per run), and the Request-URI host of the first Microsoft proxy (its stand-in listens on loopback).
TEAMS_SBC_FQDN = "sbc.e2e.dialplane.test"
TEAMS_PROXY_HOSTS = ("sip.pstnhub.microsoft.com", "sip2.pstnhub.microsoft.com", "sip3.pstnhub.microsoft.com")
WEBHOOK_TIMEOUT_MS = 3000


# ---------------------------------------------------------------------------------------------------------
# ports
# ---------------------------------------------------------------------------------------------------------
class Ports:
    def __init__(self, base: int) -> None:
        if not 1024 <= base <= 65535 - 1600:
            raise ValueError(f"DP_E2E_PORT_BASE={base} out of range")
        self.base = base
        self.redis = base
        self.rtpengine_ng = base + 1
        self.kamailio_sip = base + 10
        self.kamailio_rpc = base + 11
        self.kamailio_tls = base + 12  # SIP over TLS (Microsoft Teams)
        self.kamailio_ws = base + 13  # SIP over WebSocket (browsers, test_webrtc)
        self.browser_page = base + 14  # test_webrtc's page server (the JsSIP phone and its event reports)
        self.kamailio_wss = base + 15  # SIP over secure WebSocket (Kamailio's TLS certificate, test_webrtc w4)
        self.browser_page_wss = base + 16  # test_webrtc's second page server (the wss browser)
        self.browser_page_caller = base + 17  # test_webrtc's third page server (the browser that calls, w5)
        self.dp_internal = base + 20
        self.dp_api = base + 21
        self.dp_metrics = base + 22
        self.dp_dtmf = base + 24  # rtpengine's DTMF log -> dialplane (UDP)
        self.webhook = base + 30
        self.carrier_gw = base + 90  # sipp UAS that plays the named carrier's gateway
        self.decoy_gw = base + 91  # gateway of another carrier (nothing listens: must not be used)
        self.registered_ua = base + 92  # sipp that registers as a SIP user, then answers
        self.teams_proxies = (base + 93, base + 94, base + 95)  # TLS stand-ins of sip/sip2/sip3.pstnhub (test_teams)
        self.rtp_min = base + 500
        self.rtp_max = base + 999
        self._sip = base + 100
        self._media = base + 1000

    def sipp(self) -> tuple[int, int]:
        """A fresh (SIP port, media port) pair for one sipp process."""
        sip, media = self._sip, self._media
        self._sip = self.base + 100 + (self._sip - self.base - 100 + 1) % 400
        self._media = self.base + 1000 + (self._media - self.base - 1000 + 4) % 600
        return sip, media

    def fixed(self) -> list[tuple[str, int, str]]:
        """(proto, port, what) of every port a service or fixed party binds."""
        return [("tcp", self.redis, "redis"), ("udp", self.rtpengine_ng, "rtpengine NG"),
                ("udp", self.kamailio_sip, "Kamailio SIP"), ("tcp", self.kamailio_sip, "Kamailio SIP/TCP"),
                ("tcp", self.kamailio_rpc, "Kamailio RPC"), ("tcp", self.kamailio_tls, "Kamailio SIP/TLS"),
                ("tcp", self.kamailio_ws, "Kamailio SIP/WebSocket"), ("tcp", self.kamailio_wss, "Kamailio SIP/WSS"),
                ("tcp", self.dp_internal, "dialplane internal"),
                ("tcp", self.dp_api, "dialplane REST"), ("tcp", self.dp_metrics, "dialplane metrics"),
                ("udp", self.dp_dtmf, "dialplane DTMF log"),
                ("tcp", self.webhook, "webhook receiver"), ("udp", self.carrier_gw, "carrier gateway UAS"),
                ("udp", self.decoy_gw, "decoy gateway"), ("udp", self.registered_ua, "registered UA")]

    def busy(self) -> list[str]:
        return [f"{what} {port}/{proto}" for proto, port, what in self.fixed()
                if not (port_free_udp(port) if proto == "udp" else port_free_tcp(port))]


BASE_CANDIDATES = (25000, 26600, 28200)


def choose_ports() -> Ports:
    explicit = os.environ.get("DP_E2E_PORT_BASE")
    for base in ([int(explicit)] if explicit else BASE_CANDIDATES):
        ports = Ports(base)
        busy = ports.busy()
        if not busy:
            return ports
        if explicit:
            raise RuntimeError(f"DP_E2E_PORT_BASE={base}: ports in use: {', '.join(busy)} "
                               "(another e2e run? choose another base, >= 1600 apart)")
    raise RuntimeError(f"no free port base among {BASE_CANDIDATES} (other e2e runs?); set DP_E2E_PORT_BASE")


# ---------------------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------------------
_ALL_PROCS: list[subprocess.Popen] = []


def _kill_group(p: subprocess.Popen, grace: float = 3.0) -> None:
    """Ends a process we started (in its own session) and its children, by process-group id."""
    if p.poll() is not None:
        return
    for sig in (signal.SIGCONT, signal.SIGTERM):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
    try:
        p.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            p.wait(2)
        except subprocess.TimeoutExpired:
            pass


def _kill_all() -> None:
    for p in reversed(list(_ALL_PROCS)):
        _kill_group(p, 2.0)


atexit.register(_kill_all)


def _on_sigterm(signum: int, frame: Any) -> None:
    _kill_all()
    raise KeyboardInterrupt(f"signal {signum}")


signal.signal(signal.SIGTERM, _on_sigterm)
signal.signal(signal.SIGHUP, _on_sigterm)


def spawn(argv: list[str], log: Path, env: Optional[dict] = None, cwd: Optional[Path] = None) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    fh = open(log, "ab")
    fh.write(f"### {time.strftime('%H:%M:%S')} $ {' '.join(argv)}\n".encode())
    fh.flush()
    p = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True)
    fh.close()
    _ALL_PROCS.append(p)
    return p


def tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as e:
        return f"(cannot read {path}: {e})"
    return "\n".join(lines[-n:])


# A sanitizer build of dialplane (DIALPLANE_BIN=build-asan/dialplane, see scripts/run-tests.sh) writes its ASan,
# LeakSanitizer or UBSan report to stderr, i.e. its log, and exits. The process dying may only show in a later test
# (or, for a leak, after the last one), so every dialplane log is scanned after each test and once more at the end
# of the session: a report fails the test it appeared in, or the session.
_SANITIZER_REPORT = re.compile(r"^==\d+==ERROR: (?:Address|Leak)Sanitizer|^\S+:\d+:\d+: runtime error: "
                               r"|^SUMMARY: UndefinedBehaviorSanitizer", re.M)
_DIALPLANE_LOGS: dict[Path, int] = {}  # dialplane log -> bytes already scanned
_REPORTS_BETWEEN_TESTS: list[str] = []  # e.g. a leak report when a module's own stack stopped


def watch_for_sanitizer_reports(log: Path) -> None:
    """Scans `log` from its current end on (a restarted dialplane appends to its old log)."""
    _DIALPLANE_LOGS.setdefault(log, log.stat().st_size if log.exists() else 0)


# dialplane is started with --drain-seconds 1 and given this long to exit after SIGTERM: a clean exit runs
# LeakSanitizer (and ASan on the shutdown path) in a sanitizer build; SIGKILL would skip both.
DIALPLANE_DRAIN_S = 1
DIALPLANE_STOP_GRACE_S = 10.0


def stop_services(stack: "Stack") -> None:
    """Stops a stack's processes, last started first."""
    for svc in reversed(list(stack.services.values())):
        _kill_group(svc.proc, DIALPLANE_STOP_GRACE_S if svc.name == "dialplane" else 3.0)


def sanitizer_reports_at_stop() -> bool:
    """For a stack whose processes have just stopped (leak reports come at exit): keeps their reports for the
    session's end; True when there is one, so that the run dir is kept."""
    reports = new_sanitizer_reports()
    _REPORTS_BETWEEN_TESTS.extend(reports)
    return bool(reports)


def new_sanitizer_reports() -> list[str]:
    """Sanitizer reports written to the watched logs since the last call: the report and what follows it."""
    reports = []
    for log, offset in list(_DIALPLANE_LOGS.items()):
        try:
            with open(log, "rb") as fh:
                fh.seek(offset)
                data = fh.read()
        except OSError:
            continue
        _DIALPLANE_LOGS[log] = offset + len(data)
        text = data.decode(errors="replace")
        m = _SANITIZER_REPORT.search(text)
        if m:
            reports.append(f"--- {log} ---\n" + "\n".join(text[m.start():].splitlines()[:60]))
    return reports


def wait_until(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.05,
               alive: Optional[subprocess.Popen] = None, log: Optional[Path] = None) -> Any:
    """Polls pred() until it returns something truthy; fails with `what` (and the log tail) at the deadline."""
    deadline = time.monotonic() + timeout
    last_exc: Optional[BaseException] = None
    while True:
        try:
            res = pred()
            if res:
                return res
        except Exception as e:  # noqa: BLE001 - the predicate probes services that may not be up yet
            last_exc = e
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {alive.returncode}"
                               + (f"\n--- {log} ---\n{tail(log)}" if log else ""))
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s: {what}"
                               + (f" (last error: {last_exc!r})" if last_exc else "")
                               + (f"\n--- {log} ---\n{tail(log)}" if log else ""))
        time.sleep(interval)


class CompactPorts(Ports):
    """The harness's layout squeezed into 2000 ports, for suites that run a stack of their own beside the
    main one: services base..+99, sipp SIP +100..+599, rtpengine RTP +1000..+1499, sipp media +1500..+1999."""

    def __init__(self, base: int) -> None:
        super().__init__(base)
        self.rtp_min, self.rtp_max = base + 1000, base + 1499
        self._sip, self._media = base + 100, base + 1500

    def sipp(self) -> tuple[int, int]:
        sip, media = self._sip, self._media
        self._sip = self.base + 100 + (self._sip - self.base - 100 + 1) % 500
        self._media = self.base + 1500 + (self._media - self.base - 1500 + 4) % 500
        return sip, media


def port_free_udp(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOOPBACK, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def port_free_tcp(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((LOOPBACK, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def http(method: str, url: str, body: Any = None, headers: Optional[dict] = None,
         timeout: float = 5.0) -> tuple[int, Any, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status, hdrs = r.read(), r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        raw, status, hdrs = e.read(), e.code, dict(e.headers or {})
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, parsed, hdrs


def sip_options_probe(port: int, timeout: float = 0.5) -> Optional[str]:
    """Sends one OPTIONS over UDP to 127.0.0.1:port; returns the status line of the reply, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOOPBACK, 0))
        lp = s.getsockname()[1]
        tag = secrets.token_hex(4)
        msg = (f"OPTIONS sip:{LOOPBACK}:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {LOOPBACK}:{lp};branch=z9hG4bK{secrets.token_hex(6)};rport\r\n"
               f"From: <sip:probe@{LOOPBACK}:{lp}>;tag={tag}\r\nTo: <sip:{LOOPBACK}:{port}>\r\n"
               f"Call-ID: probe-{tag}@{LOOPBACK}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        s.sendto(msg.encode(), (LOOPBACK, port))
        s.settimeout(timeout)
        data, _ = s.recvfrom(65535)
        return data.split(b"\r\n", 1)[0].decode(errors="replace")
    except OSError:
        return None
    finally:
        s.close()


def bencode(x: Any) -> bytes:
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(bencode(i) for i in x) + b"e"
    if isinstance(x, dict):
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in sorted(x.items())) + b"e"
    raise TypeError(type(x))


def rtpengine_ping(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(0.5)
        cookie = secrets.token_hex(4)
        s.sendto(cookie.encode() + b" " + bencode({"command": "ping"}), (LOOPBACK, port))
        data, _ = s.recvfrom(65535)
        return data.startswith(cookie.encode()) and b"pong" in data
    except OSError:
        return False
    finally:
        s.close()


# ---------------------------------------------------------------------------------------------------------
# SIP message traces (sipp -trace_msg)
# ---------------------------------------------------------------------------------------------------------
_SEP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$")
_DIR = re.compile(r"^(UDP|TCP|TLS|SCTP) message (sent|received)")


@dataclass
class SipMsg:
    direction: str  # "sent" | "received"
    ts: float  # unix time (from the trace's local timestamp)
    first_line: str
    headers: list[tuple[str, str]]
    body: str

    @property
    def is_request(self) -> bool:
        return not self.first_line.startswith("SIP/2.0")

    @property
    def method(self) -> Optional[str]:
        return self.first_line.split(" ", 1)[0] if self.is_request else None

    @property
    def code(self) -> Optional[int]:
        return None if self.is_request else int(self.first_line.split()[1])

    @property
    def ruri(self) -> Optional[str]:
        return self.first_line.split()[1] if self.is_request else None

    @property
    def cseq_method(self) -> str:
        v = self.header("CSeq") or ""
        return v.split()[-1] if v else ""

    def header_all(self, name: str) -> list[str]:
        compact = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
                   "c": "content-type"}
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n or compact.get(k.lower()) == n]

    def header(self, name: str) -> Optional[str]:
        v = self.header_all(name)
        return v[0] if v else None

    def sdp_media(self) -> tuple[Optional[str], Optional[int]]:
        """(connection address, first audio port) of the SDP body."""
        addr = port = None
        for line in self.body.splitlines():
            if line.startswith("c=IN IP4 ") and addr is None:
                addr = line.split()[2]
            elif line.startswith("m=audio ") and port is None:
                port = int(line.split()[1])
        return addr, port

    def __repr__(self) -> str:
        return f"<{self.direction} {self.first_line!r} @{self.ts:.3f}>"


def parse_sipp_trace(path: Path) -> list[SipMsg]:
    if not path.exists():
        return []
    out: list[SipMsg] = []
    blocks: list[tuple[str, list[str]]] = []
    cur: Optional[tuple[str, list[str]]] = None
    for line in path.read_text(errors="replace").split("\n"):
        m = _SEP.match(line)
        if m:
            cur = (m.group(1), [])
            blocks.append(cur)
        elif cur is not None:
            cur[1].append(line.rstrip("\r"))
    for stamp, lines in blocks:
        ts = _dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        direction = None
        i = 0
        while i < len(lines):
            d = _DIR.match(lines[i])
            i += 1
            if d:
                direction = d.group(2)
                break
        if direction is None:
            continue
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i >= len(lines):
            continue
        first = lines[i].strip()
        i += 1
        hdrs: list[tuple[str, str]] = []
        while i < len(lines) and lines[i].strip():
            k, _, v = lines[i].partition(":")
            hdrs.append((k.strip(), v.strip()))
            i += 1
        body = "\n".join(lines[i + 1:]).strip("\n")
        out.append(SipMsg(direction, ts, first, hdrs, body))
    return out


# ---------------------------------------------------------------------------------------------------------
# sipp
# ---------------------------------------------------------------------------------------------------------
SIPP_EXIT = {0: "all calls successful", 1: "at least one call failed", 97: "exit on internal command",
             99: "normal exit without calls processed", 255: "fatal error", 254: "fatal error binding a socket"}


class Sipp:
    """One sipp process. UAS processes are started first and bound before the call is placed."""

    def __init__(self, name: str, scenario: str, workdir: Path, ports: tuple[int, int], *, remote: Optional[str] = None,
                 service: Optional[str] = None, keys: Optional[dict] = None, calls: int = 1, duration_ms: int = 0,
                 timeout_s: float = 20, rate: Optional[float] = None, extra: Optional[list[str]] = None) -> None:
        self.name = name
        self.scenario = SIPP_DIR / scenario
        if not self.scenario.exists():
            raise FileNotFoundError(self.scenario)
        self.port, self.media_port = ports
        self.dir = workdir
        self.msg_file = workdir / f"{name}.msg"
        self.err_file = workdir / f"{name}.err"
        self.log_file = workdir / f"{name}.log"
        self.out_file = workdir / f"{name}.out"
        self.timeout_s = timeout_s
        argv = ["sipp"] + ([remote] if remote else []) + [
            "-sf", str(self.scenario), "-i", LOOPBACK, "-p", str(self.port), "-mp", str(self.media_port),
            "-m", str(calls), "-d", str(duration_ms), "-timeout", f"{int(timeout_s)}s", "-timeout_error",
            "-nostdin", "-max_retrans", "4",
            "-trace_msg", "-message_file", str(self.msg_file), "-message_overwrite", "false",
            "-trace_err", "-error_file", str(self.err_file),
            "-trace_logs", "-log_file", str(self.log_file)]
        if service:
            argv += ["-s", service]
        if rate:
            argv += ["-r", str(rate), "-rp", "1000"]
        for k, v in (keys or {}).items():
            argv += ["-key", k, str(v)]
        argv += extra or []
        self.argv = argv
        self.proc: Optional[subprocess.Popen] = None
        self.started_at = 0.0

    def start(self, wait_bound: bool = True) -> "Sipp":
        if not port_free_udp(self.port):
            raise RuntimeError(f"sipp {self.name}: UDP port {self.port} already in use")
        self.started_at = time.time()
        self.proc = spawn(self.argv, self.out_file, cwd=self.dir)
        if wait_bound:
            wait_until(lambda: not port_free_udp(self.port), 5, f"sipp {self.name} bound to {self.port}",
                       alive=self.proc, log=self.out_file)
        return self

    def wait(self, timeout: Optional[float] = None) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(self.timeout_s + 10 if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            _kill_group(self.proc, 1)
            raise AssertionError(f"sipp {self.name} did not finish in time (killed); {self.describe()}")

    def stop(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc, 1)

    @property
    def rc(self) -> Optional[int]:
        return None if self.proc is None else self.proc.poll()

    def messages(self) -> list[SipMsg]:
        return parse_sipp_trace(self.msg_file)

    def received(self, method_or_code: Any = None) -> list[SipMsg]:
        out = []
        for m in self.messages():
            if m.direction != "received":
                continue
            if method_or_code is None or (m.method == method_or_code if isinstance(method_or_code, str)
                                          else m.code == method_or_code):
                out.append(m)
        return out

    def sent(self, method_or_code: Any = None) -> list[SipMsg]:
        return [m for m in self.messages() if m.direction == "sent" and (
            method_or_code is None or (m.method == method_or_code if isinstance(method_or_code, str)
                                       else m.code == method_or_code))]

    def flow(self) -> list[str]:
        """Compact message flow, e.g. ['> INVITE', '< 100', '< 180', '< 200', '> ACK']."""
        return [("> " if m.direction == "sent" else "< ") + (m.method or str(m.code)) for m in self.messages()]

    def errors(self) -> str:
        """sipp's -trace_err file (a bind failure lands there); '' before sipp wrote it."""
        try:
            return self.err_file.read_text(errors="replace")
        except OSError:
            return ""

    def describe(self) -> str:
        rc = self.rc
        errs = tail(self.err_file, 12) if self.err_file.exists() else ""
        return (f"sipp {self.name} ({self.scenario.name}, port {self.port}) rc={rc} "
                f"({SIPP_EXIT.get(rc if rc is not None else -1, 'running')}); flow={self.flow()}"
                + (f"\n  errors: {errs}" if errs else ""))

    def assert_ok(self, timeout: Optional[float] = None) -> None:
        rc = self.wait(timeout)
        assert rc == 0, f"sipp {self.name} failed: {self.describe()}"


# ---------------------------------------------------------------------------------------------------------
# the stack
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Service:
    name: str
    proc: subprocess.Popen
    log: Path


@dataclass
class Stack:
    ports: Ports
    run_dir: Path
    services: dict[str, Service] = field(default_factory=dict)
    webhook: Optional[WebhookReceiver] = None
    errors: dict[str, str] = field(default_factory=dict)  # service name -> why it is unavailable
    prov: dict[str, Any] = field(default_factory=dict)

    def log(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    def require(self, *names: str) -> None:
        for n in names:
            if n in self.errors:
                pytest.fail(f"{n} is not available: {self.errors[n]}", pytrace=False)
            svc = self.services.get(n)
            if svc is None:
                pytest.fail(f"{n} was not started", pytrace=False)
            if svc.proc.poll() is not None:
                pytest.fail(f"{n} has exited with {svc.proc.returncode}\n--- {svc.log} ---\n{tail(svc.log)}",
                            pytrace=False)

    def redis_cli(self, *args: str) -> str:
        r = subprocess.run(["redis-cli", "-h", LOOPBACK, "-p", str(self.ports.redis), "--no-raw", *args],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError(f"redis-cli {args}: {r.stderr}")
        return r.stdout

    def redis_keys(self, pattern: str) -> list[str]:
        r = subprocess.run(["redis-cli", "-h", LOOPBACK, "-p", str(self.ports.redis), "--scan", "--pattern", pattern],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError(f"redis-cli --scan {pattern}: {r.stderr}")
        return sorted(k for k in r.stdout.splitlines() if k)

    def api(self, method: str, path: str, body: Any = None, key: Optional[str] = API_KEY) -> tuple[int, Any]:
        hdrs = {"Authorization": f"Bearer {key}"} if key else {}
        st, parsed, _ = http(method, f"http://{LOOPBACK}:{self.ports.dp_api}{path}", body, hdrs)
        return st, parsed

    def create(self, path: str, body: dict) -> str:
        st, resp = self.api("POST", path, body)
        if st not in (200, 201) or not isinstance(resp, dict) or not resp.get("sid"):
            raise RuntimeError(f"provisioning POST {path} {json.dumps(body)} -> {st} {resp!r}")
        return resp["sid"]


def _start_redis(stack: Stack) -> None:
    p = stack.ports
    if not shutil.which("redis-server"):
        stack.errors["redis"] = "redis-server not installed (apt-get install redis-server)"
        return
    if not port_free_tcp(p.redis):
        stack.errors["redis"] = f"port {p.redis} busy (another run with the same DP_E2E_PORT_BASE?)"
        return
    log = stack.log("redis")
    proc = spawn(["redis-server", "--bind", LOOPBACK, "--port", str(p.redis), "--save", "", "--appendonly", "no",
                  "--dir", str(stack.run_dir), "--daemonize", "no", "--protected-mode", "no"], log)
    stack.services["redis"] = Service("redis", proc, log)
    wait_until(lambda: subprocess.run(["redis-cli", "-p", str(p.redis), "ping"], capture_output=True,
                                      text=True).stdout.strip() == "PONG", 10, "redis PING", alive=proc, log=log)


def _start_rtpengine(stack: Stack) -> None:
    p = stack.ports
    script = ROOT / "rtpengine" / "run-rtpengine.sh"
    log = stack.log("rtpengine")
    if script.exists():
        argv = ["bash", str(script), "--foreground", "--ip", LOOPBACK, "--ng-port", str(p.rtpengine_ng),
                "--port-min", str(p.rtp_min), "--port-max", str(p.rtp_max), "--log-level", "6",
                "--dtmf-dest", f"{LOOPBACK}:{p.dp_dtmf}", "--run-dir", str(stack.run_dir / "rtpengine")]
    elif shutil.which("rtpengine"):
        argv = ["rtpengine", "--config-file=none", "--table=-1", f"--interface={LOOPBACK}",
                f"--listen-ng={LOOPBACK}:{p.rtpengine_ng}", f"--port-min={p.rtp_min}", f"--port-max={p.rtp_max}",
                "--foreground", "--log-stderr", "--log-level=6", "--delete-delay=0",
                f"--dtmf-log-dest={LOOPBACK}:{p.dp_dtmf}"]
    else:
        stack.errors["rtpengine"] = "rtpengine not installed (apt-get install rtpengine-daemon)"
        return
    proc = spawn(argv, log)
    stack.services["rtpengine"] = Service("rtpengine", proc, log)
    wait_until(lambda: rtpengine_ping(p.rtpengine_ng), 15, "rtpengine NG ping", alive=proc, log=log)


def _start_dialplane(stack: Stack) -> None:
    p = stack.ports
    binary = Path(os.environ.get("DIALPLANE_BIN", ROOT / "build" / "dialplane"))
    if not binary.is_absolute():
        binary = ROOT / binary
    if not os.access(binary, os.X_OK):
        stack.errors["dialplane"] = (f"dialplane binary {binary} not found or not executable "
                                     "(build it: cmake -S . -B build && cmake --build build, or set DIALPLANE_BIN)")
        return
    log = stack.log("dialplane")
    watch_for_sanitizer_reports(log)
    argv = [str(binary), "--internal-listen", f"{LOOPBACK}:{p.dp_internal}", "--api-listen", f"{LOOPBACK}:{p.dp_api}",
            "--metrics-listen", f"{LOOPBACK}:{p.dp_metrics}", "--api-key", API_KEY, "--redis-host", LOOPBACK,
            "--redis-port", str(p.redis), "--log-level", "debug", "--webhook-timeout-ms", str(WEBHOOK_TIMEOUT_MS),
            "--drain-seconds", str(DIALPLANE_DRAIN_S), "--inbound-auth", INBOUND_AUTH,
            "--rtpengine", f"udp:{LOOPBACK}:{p.rtpengine_ng}", "--dtmf-listen", f"{LOOPBACK}:{p.dp_dtmf}",
            "--media-dir", str(stack.run_dir / "media"),
            "--teams-proxies", ",".join(f"{h}={LOOPBACK}:{port}" for h, port in zip(TEAMS_PROXY_HOSTS, p.teams_proxies))]
    proc = spawn(argv, log)
    stack.services["dialplane"] = Service("dialplane", proc, log)
    url = f"http://{LOOPBACK}:{p.dp_internal}/healthz"
    wait_until(lambda: http("GET", url, timeout=1)[0] == 200, 15, f"dialplane GET {url} -> 200", alive=proc, log=log)


def ws_origins(p: "Ports") -> list[str]:
    """The web pages Kamailio lets open a SIP WebSocket: test_webrtc's page servers, and a page at an IPv6 literal
    (test_websocket_origin)."""
    return [f"http://{LOOPBACK}:{p.browser_page}", f"http://{LOOPBACK}:{p.browser_page_wss}",
            f"http://[::1]:{p.browser_page}", f"http://{LOOPBACK}:{p.browser_page_caller}"]


def _start_kamailio(stack: Stack, defines: tuple = (), decision_timeout_ms: int = DECISION_TIMEOUT_MS,
                    debug: "bool | None" = None, rtpengines: Optional[str] = None,
                    dialplane_url: Optional[str] = None) -> None:
    """Kamailio via run-kamailio.sh on the stack's ports. `debug` (default: $DP_E2E_KAM_DEBUG, on) adds
    WITH_DEBUG, which logs every decision, reply and event; `defines` are extra cfg defines; `rtpengines` the
    NG sockets of its rtpengine sets (default: the stack's one rtpengine); `dialplane_url` its DIALPLANE_URL
    (default: the stack's dialplane internal port; several URLs separated by commas: Kamailio balances)."""
    p = stack.ports
    script = ROOT / "kamailio-cfg" / "run-kamailio.sh"
    if not script.exists():
        stack.errors["kamailio"] = f"{script} does not exist yet"
        return
    log = stack.log("kamailio")
    argv = ["bash", str(script), "--foreground", "--ip", LOOPBACK, "--sip-port", str(p.kamailio_sip),
            "--rpc-port", str(p.kamailio_rpc), "--dialplane-url", dialplane_url or f"http://{LOOPBACK}:{p.dp_internal}",
            "--rtpengine", rtpengines or f"udp:{LOOPBACK}:{p.rtpengine_ng}", "--redis", f"{LOOPBACK}:{p.redis}",
            "--decision-timeout", str(decision_timeout_ms), "--run-dir", str(stack.run_dir / "kamailio"),
            "--shm", "128", "--pkg", "16", "--log-level", os.environ.get("DP_E2E_KAM_LOG_LEVEL", "2")]
    # SIP over TLS for Microsoft Teams: a self-signed certificate of the SBC FQDN, made for this run (never committed).
    tls_dir = stack.run_dir / "tls"
    tls_dir.mkdir(parents=True, exist_ok=True)
    cert, key = tls_dir / "sbc.pem", tls_dir / "sbc.key"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                        str(cert), "-days", "2", "-subj", f"/CN={TEAMS_SBC_FQDN}",
                        "-addext", f"subjectAltName=DNS:{TEAMS_SBC_FQDN}"], check=True, capture_output=True)
    # Kamailio resolves a listener's advertised name at start: the test FQDN must resolve (to loopback).
    try:
        socket.gethostbyname(TEAMS_SBC_FQDN)
    except OSError:
        with open("/etc/hosts", "a") as hosts:
            hosts.write(f"\n{LOOPBACK} {TEAMS_SBC_FQDN}  # dialplane e2e: Kamailio's advertised Teams SBC FQDN\n")
    argv += ["--tls-port", str(p.kamailio_tls), "--tls-advertise", TEAMS_SBC_FQDN, "--tls-cert", str(cert),
             "--tls-key", str(key), "--tls-no-verify"]
    # SIP over WebSocket for browsers (WITH_WEBSOCKET; test_webrtc): every e2e run exercises that cfg.
    # Only test_webrtc's two pages may open one (WS_ORIGINS; test_websocket_origin checks the refusals).
    argv += ["--ws-port", str(p.kamailio_ws), "--wss-port", str(p.kamailio_wss), "--ws-origins", ",".join(ws_origins(p))]
    if debug is None:
        debug = os.environ.get("DP_E2E_KAM_DEBUG", "1") == "1"
    if debug:
        argv += ["--define", "WITH_DEBUG"]
    for d in defines:
        argv += ["--define", d]
    proc = spawn(argv, log)
    stack.services["kamailio"] = Service("kamailio", proc, log)
    wait_until(lambda: sip_options_probe(p.kamailio_sip), 20, f"Kamailio answering OPTIONS on {p.kamailio_sip}",
               alive=proc, log=log)


def _provision(stack: Stack) -> None:
    """Account, application (hooks -> webhook receiver), phone numbers, SIP domain, carriers, SIP user."""
    rx = stack.webhook
    assert rx is not None
    p = stack.ports
    acct = stack.create("/v1/Accounts", {"name": "e2e", "webhook_secret": WEBHOOK_SECRET, "sip_realm": SIP_REALM})
    app = stack.create("/v1/Applications", {
        "account_sid": acct, "name": "e2e app",
        "call_hook": {"url": rx.url("/callHook"), "method": "POST"},
        "call_status_hook": {"url": rx.url("/callStatus"), "method": "POST"}})
    stack.create("/v1/SipDomains", {"domain": SIP_REALM, "account_sid": acct, "application_sid": app})
    decoy = stack.create("/v1/Carriers", {"account_sid": acct, "name": "e2e-decoy",
                                          "gateways": [{"host": LOOPBACK, "port": p.decoy_gw, "transport": "udp"}]})
    gw = stack.create("/v1/Carriers", {"account_sid": acct, "name": "e2e-gw", "e164_leading_plus": True,
                                       "gateways": [{"host": LOOPBACK, "port": p.carrier_gw, "transport": "udp"}]})
    # the decoy is the account's default carrier, so a `phone` target that ignores `trunk` goes to the wrong place
    st, resp = stack.api("PUT", f"/v1/Accounts/{acct}", {"name": "e2e", "webhook_secret": WEBHOOK_SECRET,
                                                         "sip_realm": SIP_REALM, "default_carrier_sid": decoy})
    if st not in (200, 204):
        raise RuntimeError(f"PUT /v1/Accounts/{acct} (default_carrier_sid) -> {st} {resp!r}")
    if INBOUND_AUTH == "devices":
        # nothing listens on its gateway: it only vouches for the sipp callers' address
        stack.create("/v1/Carriers", {"account_sid": acct, "name": "e2e-local-callers", "source_addresses": [LOOPBACK],
                                      "gateways": [{"host": LOOPBACK, "port": p.decoy_gw, "transport": "udp"}]})
    user_pw = "pw-" + secrets.token_hex(6)
    stack.create("/v1/SipUsers", {"username": "alice", "domain": SIP_REALM, "account_sid": acct, "password": user_pw})
    # one per test that dials a number, with room for the suite to grow (40 ran out at 101 tests)
    numbers = [f"+1555200{i:04d}" for i in range(1, 121)]
    for n in numbers:
        stack.create("/v1/PhoneNumbers", {"number": n, "account_sid": acct, "application_sid": app})
    stack.prov.update(account_sid=acct, application_sid=app, carrier_gw_sid=gw, carrier_decoy_sid=decoy,
                      user="alice", user_password=user_pw, numbers=numbers)


@pytest.fixture(scope="session")
def stack() -> Any:
    try:
        ports = choose_ports()
    except RuntimeError as e:
        pytest.exit(f"e2e: {e}", returncode=3)
    base = ports.base
    if os.environ.get("DP_E2E_RUN_DIR"):
        run_dir = Path(os.environ["DP_E2E_RUN_DIR"])
        run_dir.mkdir(parents=True, exist_ok=True)
    else:
        run_dir = Path(tempfile.mkdtemp(prefix=f"dp-e2e-{base}-"))
    print(f"\n[e2e] run dir {run_dir}, port base {base}", file=sys.stderr)
    st = Stack(ports, run_dir)
    pytest.dp_e2e_stack = st  # for the report hook
    try:
        _start_redis(st)
        _start_rtpengine(st)
        st.webhook = WebhookReceiver(LOOPBACK, ports.webhook, WEBHOOK_SECRET).start()
        if "redis" not in st.errors:
            _start_dialplane(st)
        else:
            st.errors["dialplane"] = "redis unavailable"
        if "dialplane" not in st.errors:
            try:
                _provision(st)
            except Exception as e:  # noqa: BLE001
                st.errors["provisioning"] = str(e)
        if "rtpengine" in st.errors:
            st.errors["kamailio"] = "rtpengine unavailable"
        else:
            _start_kamailio(st)
        yield st
    finally:
        if st.webhook:
            st.webhook.stop()
        stop_services(st)
        if sanitizer_reports_at_stop():
            pytest.dp_e2e_failed = True
        if os.environ.get("DP_E2E_KEEP") != "1" and not getattr(pytest, "dp_e2e_failed", False) \
                and not os.environ.get("DP_E2E_RUN_DIR"):
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            print(f"\n[e2e] logs kept in {run_dir}", file=sys.stderr)


@pytest.fixture(scope="session")
def full_stack(stack: Stack) -> Stack:
    """Every service up and provisioned; otherwise the test fails with the reason."""
    stack.require("redis", "rtpengine", "dialplane", "kamailio")
    if "provisioning" in stack.errors:
        pytest.fail(f"provisioning through the REST API failed: {stack.errors['provisioning']}", pytrace=False)
    return stack


class Numbers:
    def __init__(self, stack: Stack) -> None:
        self._free = list(stack.prov.get("numbers", []))

    def take(self) -> str:
        if not self._free:
            raise RuntimeError("out of provisioned numbers")
        return self._free.pop(0)


@pytest.fixture(scope="session")
def numbers(full_stack: Stack) -> Numbers:
    return Numbers(full_stack)


class SippFactory:
    def __init__(self, stack: Stack, workdir: Path) -> None:
        self.stack = stack
        self.dir = workdir
        self.all: list[Sipp] = []

    def _started(self, make: Callable[[tuple[int, int]], Sipp], port: Optional[int], start: bool,
                 wait_bound: bool) -> Sipp:
        """A Sipp on the next free port pair (or on `port`), started unless start=False. When another process holds
        the port, or takes it before sipp binds (seen once in CI: "Unable to bind main socket, errno = 98"), the
        next pair, twice at most; never for a port the test chose."""
        for attempt in range(3):
            sip, media = self.stack.ports.sipp()
            s = make((port or sip, media))
            self.all.append(s)
            if not start:
                return s
            try:
                return s.start(wait_bound=wait_bound)
            except RuntimeError as e:
                taken = "already in use" in str(e) or "Unable to bind" in s.errors()
                if port or attempt == 2 or not taken:
                    raise
        raise AssertionError("unreachable")

    def uas(self, name: str, scenario: str, *, port: Optional[int] = None, duration_ms: int = 0,
            timeout_s: float = 25, calls: int = 1, keys: Optional[dict] = None, extra: Optional[list] = None,
            start: bool = True) -> Sipp:
        return self._started(lambda ports: Sipp(name, scenario, self.dir, ports, keys=keys, calls=calls,
                                                duration_ms=duration_ms, timeout_s=timeout_s, extra=extra),
                             port, start, wait_bound=True)

    def uac(self, name: str, scenario: str, called: str, *, caller: str = "+15551110000", duration_ms: int = 0,
            timeout_s: float = 25, calls: int = 1, rate: Optional[float] = None, keys: Optional[dict] = None,
            extra: Optional[list] = None, port: Optional[int] = None, start: bool = True) -> Sipp:
        return self._started(lambda ports: Sipp(name, scenario, self.dir, ports,
                                                remote=f"{LOOPBACK}:{self.stack.ports.kamailio_sip}", service=called,
                                                keys={"from_user": caller, **(keys or {})}, calls=calls,
                                                duration_ms=duration_ms, timeout_s=timeout_s, rate=rate, extra=extra),
                             port, start, wait_bound=False)

    def uri(self, s: Sipp, user: str = "callee") -> str:
        return f"sip:{user}@{LOOPBACK}:{s.port}"


@pytest.fixture
def sipp(full_stack: Stack, request: pytest.FixtureRequest) -> Any:
    # A service that died in an earlier test fails this one at once, with its log, not after the sipp timeouts.
    full_stack.require("redis", "rtpengine", "dialplane", "kamailio")
    workdir = full_stack.run_dir / "tests" / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    workdir.mkdir(parents=True, exist_ok=True)
    f = SippFactory(full_stack, workdir)
    request.node.dp_sipp = f
    yield f
    for s in f.all:
        s.stop()


@pytest.fixture
def webhook(full_stack: Stack) -> WebhookReceiver:
    assert full_stack.webhook is not None
    return full_stack.webhook


@pytest.fixture(autouse=True)
def no_sanitizer_report() -> Any:
    """Fails the test (at teardown) when dialplane wrote a sanitizer report while it ran."""
    _REPORTS_BETWEEN_TESTS.extend(new_sanitizer_reports())  # not this test's: reported at the session's end
    yield
    reports = new_sanitizer_reports()
    if reports:
        pytest.fail("dialplane sanitizer report:\n" + "\n".join(reports), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # After every stack is down: leak reports come at dialplane's exit.
    reports = _REPORTS_BETWEEN_TESTS + new_sanitizer_reports()
    if reports:
        print("\n[e2e] dialplane sanitizer report outside a test:\n" + "\n".join(reports), file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# ---------------------------------------------------------------------------------------------------------
# reporting: attach service logs and sipp flows to failures
# ---------------------------------------------------------------------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    pytest.dp_e2e_failed = True
    st: Optional[Stack] = getattr(pytest, "dp_e2e_stack", None)
    if st is not None:
        for name, svc in st.services.items():
            state = "running" if svc.proc.poll() is None else f"exited {svc.proc.returncode}"
            rep.sections.append((f"{name} log tail ({state}) {svc.log}", tail(svc.log, 40)))
    f: Optional[SippFactory] = getattr(item, "dp_sipp", None)
    if f is not None:
        rep.sections.append(("sipp parties", "\n".join(s.describe() for s in f.all) + f"\n(traces in {f.dir})"))


# ---------------------------------------------------------------------------------------------------------
# carriers (issue 4): an account of its own, without a default carrier, so selection and "no route" are exact
# ---------------------------------------------------------------------------------------------------------
@dataclass
class CarrierAccount:
    stack: Stack
    account_sid: str
    application_sid: str
    numbers: list[str]

    def take(self) -> str:
        if not self.numbers:
            raise RuntimeError("out of carrier-test numbers")
        return self.numbers.pop(0)

    def carrier(self, name: str, gateways: list[dict], **props: Any) -> str:
        return self.stack.create("/v1/Carriers", {"account_sid": self.account_sid, "name": name,
                                                  "gateways": gateways, **props})

    def lcr(self, prefix: str, carriers: list[str]) -> str:
        return self.stack.create("/v1/LcrRoutes", {"account_sid": self.account_sid, "prefix": prefix,
                                                   "carriers": carriers})


@pytest.fixture(scope="session")
def carrier_account(full_stack: Stack) -> CarrierAccount:
    rx = full_stack.webhook
    assert rx is not None
    acct = full_stack.create("/v1/Accounts", {"name": "e2e-carriers", "webhook_secret": WEBHOOK_SECRET,
                                               "sip_realm": "carriers." + SIP_REALM})
    app = full_stack.create("/v1/Applications", {
        "account_sid": acct, "name": "e2e carriers app",
        "call_hook": {"url": rx.url("/callHook"), "method": "POST"},
        "call_status_hook": {"url": rx.url("/callStatus"), "method": "POST"}})
    numbers = [f"+1555300{i:04d}" for i in range(1, 41)]
    for n in numbers:
        full_stack.create("/v1/PhoneNumbers", {"number": n, "account_sid": acct, "application_sid": app})
    return CarrierAccount(full_stack, acct, app, numbers)
