"""WebRTC `user` targets in a real browser (issue 13): headless Debian Chromium with JsSIP (tests/e2e/webrtc)
registers over SIP-over-WebSocket with digest auth, a sipp caller's dial to that user rings the browser and a SIP
phone registered as the same user in one simring, the browser answers, RTP flows both ways through rtpengine
(ICE + DTLS-SRTP toward the browser, plain RTP/AVP toward the caller), the caller hangs up (w1); the browser
hangs up (w2: its BYE goes over its WebSocket along the Record-Route set to the caller); a browser's re-INVITE is
translated both ways (w3); the same over wss (w4); a browser is the caller, the app dials a SIP phone (w5), with
dialMusic before the answer (w6); a browser calls a browser (w7); a browser calls, the callee is screened (w8).

Chromium picks its own ICE ports and would gather every interface of the machine, so this file runs only inside a
private network namespace with nothing but loopback, where the whole stack (conftest.py) runs too:
    tests/e2e/run-webrtc.sh          (scripts/run-tests.sh step 5c; root: unshare -n)
Outside such a namespace (DP_E2E_WEBRTC unset, e.g. the host run of tests/e2e) the module is skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

if os.environ.get("DP_E2E_WEBRTC") != "1":
    pytest.skip("runs in a private network namespace: tests/e2e/run-webrtc.sh", allow_module_level=True)

from conftest import HERE, LOOPBACK, SIP_REALM, spawn, tail, _kill_group  # noqa: E402
from media_peer import MediaPeer, label_payload, wait_sipp_sdp  # noqa: E402
from test_core_call_path import dial, final_reply, parent_of, sip_target, wait_action_hooks  # noqa: E402
from test_media import media, ng, rtpengine_addr, wav_bytes  # noqa: E402,F401  (media: a fixture)
from test_screening import confirm_app, wait_answered as wait_uas_answered  # noqa: E402

PAGE_DIR = HERE / "webrtc"
BUNDLE = PAGE_DIR / "build" / "phone.bundle.js"
USER = "webrtc-bob"
USER_WSS = "webrtc-carol"
USER_CALLER = "webrtc-dave"
USER_CALLER_MUSIC = "webrtc-erin"  # w6: a user of its own (running_browser provisions its user)
USER_CALLER_B2B = "webrtc-frank"  # w7
USER_CALLER_SCREEN = "webrtc-grace"  # w8
MIN_PACKETS = 100  # each way; 20 ms packets: 2 s of audio
CALL_HOLD_MS = 5000  # the caller hangs up after this (sipp -d)


# ---------------------------------------------------------------------------------------------------------
# the page server: serves phone.html + the bundle, collects the page's event reports
# ---------------------------------------------------------------------------------------------------------
class PageEvents:
    def __init__(self) -> None:
        self.items: list[dict] = []
        self.cond = threading.Condition()
        self.mark = 0  # events before it belong to earlier calls (see since_mark)

    def new_call(self) -> None:
        with self.cond:
            self.mark = len(self.items)

    def add(self, ev: dict) -> None:
        with self.cond:
            self.items.append(ev)
            self.cond.notify_all()

    def named(self, name: str) -> list[dict]:
        with self.cond:
            return self._named(name)

    def brief(self) -> list[str]:
        with self.cond:
            return [e.get("event", "?") for e in self.items if e.get("event") != "stats"][-30:]

    def wait(self, pred: Callable[[], Any], timeout: float, what: str, browser: "Browser") -> Any:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                res = pred()
                if res:
                    return res
                if browser.proc.poll() is not None:
                    raise AssertionError(f"{what}: chromium exited with {browser.proc.returncode}\n{browser.describe()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s: {what}\n{browser.describe()}")
                self.cond.wait(min(left, 0.2))

    def first(self, name: str, timeout: float, browser: "Browser") -> dict:
        return self.wait(lambda: next(iter(self._named(name)), None), timeout, f"the page reports '{name}'", browser)

    def _named(self, name: str) -> list[dict]:  # with self.cond held; this call's events only
        return [e for e in self.items[self.mark:] if e.get("event") == name]


def page_server(port: int, events: PageEvents) -> ThreadingHTTPServer:
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(PAGE_DIR), **kw)

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                events.add(json.loads(body))
            except ValueError:
                events.add({"event": "bad_report", "raw": body[:200].decode(errors="replace")})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a: Any) -> None:
            pass

    srv = ThreadingHTTPServer((LOOPBACK, port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


# ---------------------------------------------------------------------------------------------------------
# the browser
# ---------------------------------------------------------------------------------------------------------
def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("chromium not installed (scripts/install-deps.sh: apt-get install chromium)", pytrace=False)


def build_bundle() -> None:
    esbuild = PAGE_DIR / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        pytest.fail(f"{esbuild} missing: JsSIP and esbuild come from npm (scripts/install-deps.sh runs "
                    f"'npm ci' in {PAGE_DIR})", pytrace=False)
    r = subprocess.run(["npm", "run", "--silent", "bundle"], cwd=PAGE_DIR, capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or not BUNDLE.exists():
        pytest.fail(f"esbuild could not bundle phone.js: {r.stdout}{r.stderr}", pytrace=False)


class Browser:
    def __init__(self, proc: Any, log: Path, events: PageEvents) -> None:
        self.proc, self.log, self.events = proc, log, events

    def describe(self) -> str:
        last = self.events.named("stats")[-1:] or [{}]
        return (f"page events: {self.events.brief()}; last stats: {last[0]}\n"
                f"--- {self.log} ---\n{tail(self.log, 25)}")


PASSWORD = "pw-webrtc-e2e"


@contextlib.contextmanager
def running_browser(st: Any, user: str, ws_url: str, page_port: int, name: str, extra: tuple = (),
                    page_args: Optional[dict] = None) -> Any:
    """Chromium with the JsSIP phone registered as `user` (provisioned here) over `ws_url`; `page_args` are more
    of the page's query parameters (phone.js: call, hangup_after_ms)."""
    st.create("/v1/SipUsers", {"username": user, "domain": SIP_REALM, "account_sid": st.prov["account_sid"],
                                "password": PASSWORD})
    build_bundle()
    events = PageEvents()
    srv = page_server(page_port, events)
    query = urllib.parse.urlencode({"ws": ws_url, "uri": f"sip:{user}@{SIP_REALM}", "user": user, "password": PASSWORD,
                                    **(page_args or {})})
    url = f"http://{LOOPBACK}:{page_port}/phone.html?{query}"
    argv = [chromium_binary(), "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            f"--user-data-dir={st.run_dir / (name + '-profile')}",
            # CI runs as root, and Chromium's sandbox refuses root: the page is our own, served from loopback.
            "--no-sandbox",
            # a microphone (a beep) without a device or a permission prompt
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            # loopback is the only interface in this namespace: let ICE use it, as an IP (no mDNS name)
            "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--autoplay-policy=no-user-gesture-required", "--enable-logging=stderr", "--v=0", *extra, url]
    log = st.log(name)
    proc = spawn(argv, log)
    b = Browser(proc, log, events)
    try:
        events.wait(lambda: events._named("registered") or events._named("registration_failed"), 30,
                    f"JsSIP registering as {user} over {ws_url}", b)
        failed = events.named("registration_failed")
        assert not failed, f"the browser's REGISTER failed: {failed[0]}\n{b.describe()}"
        yield b
    finally:
        _kill_group(proc, 3)
        srv.shutdown()


@pytest.fixture(scope="module")
def browser(full_stack: Any) -> Any:
    """Chromium with the JsSIP phone registered as USER over ws://127.0.0.1:<kamailio_ws>."""
    st = full_stack
    with running_browser(st, USER, f"ws://{LOOPBACK}:{st.ports.kamailio_ws}", st.ports.browser_page, "chromium") as b:
        yield b


@pytest.fixture(scope="module")
def browser_wss(full_stack: Any) -> Any:
    """A second Chromium, registered as USER_WSS over wss:// (Kamailio's TLS certificate, self-signed per run)."""
    st = full_stack
    with running_browser(st, USER_WSS, f"wss://{LOOPBACK}:{st.ports.kamailio_wss}", st.ports.browser_page_wss,
                         "chromium-wss", ("--ignore-certificate-errors",)) as b:
        yield b


@pytest.fixture
def caller_rtp(full_stack: Any) -> Any:
    """The caller's RTP peer (stdlib, media_peer.py) on a free port, closed after the test."""
    peer = MediaPeer("caller", full_stack.ports.sipp()[1]).start()
    try:
        yield peer
    finally:
        peer.close()


def wait_answered(ev: Any, browser: Any, timeout: float = 15, what: str = "the browser answering") -> None:
    """The browser's call is up (JsSIP "confirmed": it answered, or its own call was answered); a "failed" fails
    the test with the reason and the page's log."""
    ev.wait(lambda: ev._named("confirmed") or ev._named("failed"), timeout, what, browser)
    assert not ev.named("failed"), f"{what}: the call failed: {ev.named('failed')[0]}\n{browser.describe()}"


@contextlib.contextmanager
def calling_browser(st: Any, user: str, called: str, name: str) -> Any:
    """A Chromium registered as `user` over ws that calls `called` at once and hangs up 4 s after the answer."""
    page_args = {"call": f"sip:{called}@{SIP_REALM}", "hangup_after_ms": "4000"}
    with running_browser(st, user, f"ws://{LOOPBACK}:{st.ports.kamailio_ws}", st.ports.browser_page_caller, name,
                         page_args=page_args) as b:
        yield b


def assert_dial_completed(webhook: Any, called: str) -> None:
    """The dial's actionHook for the call to `called` says completed/200."""
    a = wait_action_hooks(webhook, parent_of(webhook, called))[0]
    assert (a.get("dial_call_status"), a.get("dial_sip_status")) == ("completed", 200), a.json


def talk_to_callee(caller_rtp: Any, uac: Any) -> None:
    """The caller's RTP peer sends to the address in the caller's 200 (rtpengine's side of the call)."""
    caller_rtp.set_remote(*wait_sipp_sdp(uac.log_file, "200", 10, alive=lambda: uac.rc is None))
    caller_rtp.start_audio()


def sdp_proto(sdp: str) -> str:
    m = re.search(r"^m=audio \d+ (\S+)", sdp, re.M)
    return m.group(1) if m else ""


def has_attr(sdp: str, name: str) -> bool:
    return re.search(rf"^a={name}[:\r\n]", sdp + "\n", re.M) is not None


def rtp_both_ways(ev: PageEvents, received: int = MIN_PACKETS, sent: int = MIN_PACKETS) -> Callable[[], Optional[dict]]:
    """For ev.wait (condition held): the page's last getStats once more than `received`/`sent` RTP packets went
    each way, else None."""
    def check() -> Optional[dict]:
        stats = ev._named("stats")
        s = stats[-1] if stats else {}
        return s if s.get("packets_received", 0) > received and s.get("packets_sent", 0) > sent else None
    return check


# ---------------------------------------------------------------------------------------------------------
# w1: one simring to a user with a browser and a SIP phone; the browser answers; RTP both ways; caller hangs up
# ---------------------------------------------------------------------------------------------------------
def test_w1_browser_and_sip_phone_ring_browser_answers_rtp_both_ways(full_stack, sipp, webhook, numbers, browser,
                                                                     caller_rtp):
    st = full_stack
    started = time.monotonic()
    browser.events.new_call()
    reg_msg = next((e for e in browser.events.items if e.get("event") == "registered"), {})
    print(f"browser: {reg_msg.get('browser')}, JsSIP {reg_msg.get('jssip')}")

    # The same user on a plain SIP phone (sipp over UDP): it rings until the browser wins, then gets a CANCEL.
    phone_port, _ = st.ports.sipp()
    reg = sipp.uac("phone-register", "uac_register.xml", USER, port=phone_port,
                   keys={"user": USER, "domain": SIP_REALM, "expires": 600},
                   extra=["-au", USER, "-ap", PASSWORD, "-auth_uri", SIP_REALM])
    reg.assert_ok()
    phone = sipp.uas("phone", "uas_ring_cancel.xml", port=phone_port, timeout_s=40)

    called = numbers.take()
    webhook.set_app(called, dial(webhook, called, [{"type": "user", "name": USER}], timeout=20))
    uac = sipp.uac("caller", "uac_media.xml", called, caller="+15551117001", duration_ms=CALL_HOLD_MS,
                   timeout_s=40, keys={"rtp_port": caller_rtp.port})
    ev = browser.events
    inv = ev.first("incoming", 15, browser)
    ev.wait(lambda: ev._named("confirmed") or ev._named("failed"), 15, "the browser answering", browser)
    assert not ev.named("failed"), \
        f"the browser could not answer: {ev.named('failed')[0]}\nINVITE SDP:\n{inv.get('sdp')}\n{browser.describe()}"
    talk_to_callee(caller_rtp, uac)

    # per-leg media: ICE + DTLS-SRTP toward the browser, plain RTP toward the SIP phone and the caller
    bsdp = inv.get("sdp", "")
    assert sdp_proto(bsdp) == "UDP/TLS/RTP/SAVPF" and has_attr(bsdp, "fingerprint") \
        and has_attr(bsdp, "ice-ufrag") and has_attr(bsdp, "rtcp-mux") and has_attr(bsdp, "mid"), \
        f"the browser's INVITE is not a WebRTC offer (profile 'webrtc'):\n{bsdp}"
    pinv = phone.received("INVITE")
    assert pinv, f"the SIP phone of the same user was not rung in the simring: {phone.describe()}"
    psdp = pinv[0].body
    assert sdp_proto(psdp) == "RTP/AVP" and not has_attr(psdp, "fingerprint") and not has_attr(psdp, "ice-ufrag"), \
        f"the SIP phone's INVITE must stay plain RTP/AVP:\n{psdp}"

    # RTP both ways: the browser's getStats and the caller's own RTP peer
    stats = ev.wait(rtp_both_ways(ev), 15, f"> {MIN_PACKETS} RTP packets each way at the browser (getStats)", browser)
    assert stats["dtls_state"] == "connected", f"DTLS not connected: {stats}"
    assert stats["codec"].lower() == "audio/pcmu", f"the caller offered PCMU only: {stats}"
    caller_rtp.wait_packets(MIN_PACKETS, 10)
    call_id = uac.sent("INVITE")[0].header("Call-ID")
    q = ng(st, {"command": "query", "call-id": call_id})
    assert q.get("result") == "ok", f"rtpengine query {call_id}: {q}"
    per_tag = {tag: sum(sm.get("stats", {}).get("packets", 0)
                        for m in t.get("medias", []) for sm in m.get("streams", []))
               for tag, t in q.get("tags", {}).items()}
    assert len([n for n in per_tag.values() if n > MIN_PACKETS]) >= 2, \
        f"rtpengine saw fewer than {MIN_PACKETS} packets from each side: {per_tag}"
    print(f"browser stats {stats}; caller received {caller_rtp.count()} RTP; rtpengine per tag {per_tag}")

    uac.assert_ok()
    assert final_reply(uac).code == 200
    csdp = uac.received(200)[0].body
    assert sdp_proto(csdp) == "RTP/AVP" and not has_attr(csdp, "ice-ufrag") and not has_attr(csdp, "fingerprint"), \
        f"the caller must get a plain RTP/AVP answer:\n{csdp}"
    ended = ev.first("ended", 10, browser)
    assert ended.get("originator") == "remote", f"the browser's call should end by the caller's BYE: {ended}"
    phone.assert_ok()
    assert phone.received("CANCEL"), f"the losing SIP phone was not cancelled: {phone.describe()}"

    assert_dial_completed(webhook, called)
    print(f"w1 took {time.monotonic() - started:.1f} s")


# ---------------------------------------------------------------------------------------------------------
# w2: the browser hangs up: its BYE leaves over its WebSocket and follows the Record-Route set to the caller
# ---------------------------------------------------------------------------------------------------------
def test_w2_browser_hangs_up_bye_reaches_caller(full_stack, sipp, webhook, numbers, browser, caller_rtp):
    ev = browser.events
    ev.new_call()
    called = numbers.take()
    webhook.set_app(called, dial(webhook, called, [{"type": "user", "name": USER}], timeout=20,
                                 headers={"X-E2E-Hangup-After-Ms": "3000"}))
    uac = sipp.uac("caller", "uac_media_hold.xml", called, caller="+15551117002", timeout_s=40,
                   keys={"rtp_port": caller_rtp.port})
    wait_answered(ev, browser)
    talk_to_callee(caller_rtp, uac)
    caller_rtp.wait_packets(MIN_PACKETS, 10)
    ended = ev.first("ended", 15, browser)
    assert ended.get("originator") == "local", f"the browser was to hang up itself: {ended}"
    uac.assert_ok()
    assert uac.received("BYE"), f"the browser's BYE did not reach the caller: {uac.describe()}"
    stats = ev.named("stats")[-1]
    assert stats["packets_received"] > MIN_PACKETS and stats["packets_sent"] > MIN_PACKETS, stats
    assert_dial_completed(webhook, called)


# ---------------------------------------------------------------------------------------------------------
# w3: in-dialog offers keep each side's profile: the browser's re-INVITE (hold) reaches the caller as plain RTP/AVP
# and the caller's plain answer reaches the browser as WebRTC (else JsSIP ends the call "WebRTC Error")
# ---------------------------------------------------------------------------------------------------------
def test_w3_browser_reinvite_translated_both_ways(full_stack, sipp, webhook, numbers, browser, caller_rtp):
    ev = browser.events
    ev.new_call()
    called = numbers.take()
    webhook.set_app(called, dial(webhook, called, [{"type": "user", "name": USER}], timeout=20,
                                 headers={"X-E2E-Hold-After-Ms": "1500", "X-E2E-Hangup-After-Ms": "4000"}))
    uac = sipp.uac("caller", "uac_media_reinvite.xml", called, caller="+15551117003", timeout_s=40,
                   keys={"rtp_port": caller_rtp.port})
    wait_answered(ev, browser)
    talk_to_callee(caller_rtp, uac)
    ended = ev.first("ended", 15, browser)
    uac.assert_ok()
    reinv = uac.received("INVITE")
    assert reinv, f"the browser's re-INVITE did not reach the caller: {uac.describe()}\n{browser.describe()}"
    rsdp = reinv[0].body
    assert sdp_proto(rsdp) == "RTP/AVP" and not has_attr(rsdp, "ice-ufrag") and not has_attr(rsdp, "fingerprint"), \
        f"the browser's re-INVITE must reach the caller as plain RTP/AVP:\n{rsdp}"
    assert ev.named("hold_ok"), f"the browser's re-INVITE failed: {ended}\n{browser.describe()}"
    assert (ended.get("originator"), ended.get("cause")) == ("local", "Terminated"), \
        f"the browser should end the call itself after a good hold: {ended}\n{browser.describe()}"
    assert uac.received("BYE"), f"the browser's BYE did not reach the caller: {uac.describe()}"


# ---------------------------------------------------------------------------------------------------------
# w4: the same over wss (secure WebSocket with Kamailio's TLS certificate): registered, rung, answered, RTP both ways
# ---------------------------------------------------------------------------------------------------------
def test_w4_browser_over_wss_answers_rtp_both_ways(full_stack, sipp, webhook, numbers, browser_wss, caller_rtp):
    ev = browser_wss.events
    ev.new_call()
    called = numbers.take()
    webhook.set_app(called, dial(webhook, called, [{"type": "user", "name": USER_WSS}], timeout=20))
    uac = sipp.uac("caller", "uac_media.xml", called, caller="+15551117004", duration_ms=4000, timeout_s=40,
                   keys={"rtp_port": caller_rtp.port})
    inv = ev.first("incoming", 15, browser_wss)
    wait_answered(ev, browser_wss)
    assert sdp_proto(inv.get("sdp", "")) == "UDP/TLS/RTP/SAVPF", inv.get("sdp")
    talk_to_callee(caller_rtp, uac)
    ev.wait(rtp_both_ways(ev), 15, f"> {MIN_PACKETS} RTP packets each way at the wss browser (getStats)", browser_wss)
    caller_rtp.wait_packets(MIN_PACKETS, 10)
    uac.assert_ok()
    ended = ev.first("ended", 10, browser_wss)
    assert ended.get("originator") == "remote", f"the caller's BYE should end the wss browser's call: {ended}"


# ---------------------------------------------------------------------------------------------------------
# w5: a browser is the caller: it calls the app's number over its WebSocket, the dial rings a plain SIP phone; the
# phone gets plain RTP/AVP, the browser a WebRTC answer; RTP both ways; the browser hangs up
# ---------------------------------------------------------------------------------------------------------
def test_w5_browser_calls_app_dials_sip_phone_rtp_both_ways(full_stack, sipp, webhook, numbers, media):
    st = full_stack
    called = numbers.take()
    callee_rtp = media.peer("callee")
    uas = sipp.uas("callee", "uas_media.xml", timeout_s=40, keys={"rtp_port": callee_rtp.port})
    webhook.set_app(called, dial(webhook, called, [sip_target(uas)], timeout=20))
    with calling_browser(st, USER_CALLER, called, "chromium-caller") as b:
        ev = b.events
        callee_rtp.set_remote(*rtpengine_addr(st, uas, "INVITE"))
        callee_rtp.start_audio()
        wait_answered(ev, b, what="the browser's call answered")

        # per-leg media: the SIP phone is offered plain RTP/AVP, the browser gets a WebRTC answer
        offer = ev.named("sending")[0].get("sdp", "")
        assert sdp_proto(offer) == "UDP/TLS/RTP/SAVPF", f"the browser's own offer is not WebRTC:\n{offer}"
        usdp = uas.received("INVITE")[0].body
        assert sdp_proto(usdp) == "RTP/AVP" and not has_attr(usdp, "fingerprint") \
            and not has_attr(usdp, "ice-ufrag"), f"the SIP phone must be offered plain RTP/AVP:\n{usdp}"
        answer = ev.named("accepted")[0].get("sdp", "")
        assert sdp_proto(answer) == "UDP/TLS/RTP/SAVPF" and has_attr(answer, "fingerprint") \
            and has_attr(answer, "ice-ufrag") and has_attr(answer, "rtcp-mux"), \
            f"the browser must get a WebRTC answer (profile 'webrtc'):\n{answer}"
        stats = ev.wait(rtp_both_ways(ev), 15,
                        f"> {MIN_PACKETS} RTP packets each way at the calling browser (getStats)", b)
        assert stats["dtls_state"] == "connected", f"DTLS not connected: {stats}"
        callee_rtp.wait_packets(MIN_PACKETS, 10)

        ended = ev.first("ended", 15, b)
        assert ended.get("originator") == "local", f"the browser was to hang up itself: {ended}"
        uas.assert_ok(timeout=10)
        assert uas.received("BYE"), f"the browser's BYE did not reach the SIP phone: {uas.describe()}"

    hook = webhook.wait_call_hook(called, 5)
    assert hook.get("from") == USER_CALLER, hook.json
    assert_dial_completed(webhook, called)


# ---------------------------------------------------------------------------------------------------------
# w6: a browser caller hears dialMusic from the 183 (dialplane's own rtpengine answer, in the browser's profile),
# then the callee after the 200
# ---------------------------------------------------------------------------------------------------------
def test_w6_browser_caller_hears_dial_music_then_the_callee(full_stack, sipp, webhook, numbers, media):
    st = full_stack
    called = numbers.take()
    callee_rtp = media.peer("callee")
    uas = sipp.uas("callee", "uas_media.xml", duration_ms=3000, timeout_s=40, keys={"rtp_port": callee_rtp.port})
    music = webhook.serve_file(f"/media/hold-{called}.wav", wav_bytes(4.0, 440), "audio/wav")
    webhook.set_app(called, dial(webhook, called, [sip_target(uas)], timeout=20, dialMusic=music))
    with calling_browser(st, USER_CALLER_MUSIC, called, "chromium-caller-music") as b:
        ev = b.events
        early = ev.wait(lambda: [e for e in ev._named("progress") if e.get("status") == 183], 15,
                        "the 183 with dialMusic", b)
        assert early

        def hears_music() -> Optional[dict]:
            stats = ev._named("stats")
            s = stats[-1] if stats else {}
            return s if s.get("packets_received", 0) > 40 and not ev._named("confirmed") else None
        before = ev.wait(hears_music, 10, "> 40 packets of music at the browser before the answer", b)
        assert before["dtls_state"] == "connected", before
        callee_rtp.set_remote(*rtpengine_addr(st, uas, "INVITE"))
        callee_rtp.start_audio()
        wait_answered(ev, b, what="the browser's call answered")
        at_answer = ev.named("stats")[-1].get("packets_received", 0)
        ev.wait(rtp_both_ways(ev, at_answer + MIN_PACKETS // 2, MIN_PACKETS // 2), 15,
                "RTP both ways at the browser after the answer (getStats)", b)
        callee_rtp.wait_packets(MIN_PACKETS // 2, 10)
        ended = ev.first("ended", 15, b)
        assert ended.get("originator") == "local", ended
        uas.assert_ok(timeout=10)


# ---------------------------------------------------------------------------------------------------------
# w7: browser to browser: a browser calls an app whose dial rings a `user` registered from another browser;
# WebRTC on both sides ($dlg_var(webrtc) "both"), RTP both ways, the caller's BYE ends the callee's call
# ---------------------------------------------------------------------------------------------------------
def test_w7_browser_calls_a_browser_user_webrtc_both_sides(full_stack, webhook, numbers, browser):
    st = full_stack
    callee = browser.events
    callee.new_call()
    called = numbers.take()
    webhook.set_app(called, dial(webhook, called, [{"type": "user", "name": USER}], timeout=20))
    with calling_browser(st, USER_CALLER_B2B, called, "chromium-caller-b2b") as b:
        ev = b.events
        inv = callee.first("incoming", 15, browser)
        wait_answered(callee, browser)
        wait_answered(ev, b, what="the calling browser's call answered")
        offer, answer = inv.get("sdp", ""), ev.named("accepted")[0].get("sdp", "")
        for what, sdp in (("the called browser's offer", offer), ("the calling browser's answer", answer)):
            assert sdp_proto(sdp) == "UDP/TLS/RTP/SAVPF" and has_attr(sdp, "fingerprint") \
                and has_attr(sdp, "ice-ufrag"), f"{what} is not WebRTC:\n{sdp}"
        s_caller = ev.wait(rtp_both_ways(ev), 15, f"> {MIN_PACKETS} RTP packets each way at the calling browser", b)
        s_callee = callee.wait(rtp_both_ways(callee), 15, f"> {MIN_PACKETS} RTP packets each way at the called browser",
                               browser)
        assert s_caller["dtls_state"] == "connected" and s_callee["dtls_state"] == "connected", (s_caller, s_callee)
        assert ev.first("ended", 15, b).get("originator") == "local"
        assert callee.first("ended", 10, browser).get("originator") == "remote"
    assert_dial_completed(webhook, called)


# ---------------------------------------------------------------------------------------------------------
# w8: a browser caller and a screened callee (confirmHook): the callee's 200 is held while dialplane plays it the
# prompt, the browser hears nothing; the callee presses 1, and the browser gets the answer dialplane had rtpengine
# make in the browser's profile (caller_media webrtc): WebRTC, DTLS connected, RTP both ways
# ---------------------------------------------------------------------------------------------------------
def test_w8_browser_caller_gets_a_screened_callee_once_it_accepts(full_stack, sipp, webhook, numbers, media):
    st = full_stack
    called = numbers.take()
    callee = media.peer("screened")
    uas = sipp.uas("screened", "uas_screened.xml", duration_ms=300, timeout_s=40, keys={"rtp_port": callee.port})
    webhook.set_app(called, dial(webhook, called, [sip_target(uas, confirmHook=confirm_app(webhook, called))],
                                 timeout=25))
    with calling_browser(st, USER_CALLER_SCREEN, called, "chromium-caller-screen") as b:
        ev = b.events
        wait_uas_answered(uas, 15)
        # rtpengine's address and the offer's telephone-event PT (Chromium's, which the callee's answer repeats)
        callee.set_remote_from_sdp(uas.received("INVITE")[0].body)
        callee.start_audio()
        # the prompt: audio that is not the callee's own, once its screening began (the browser's audio, also
        # "other", may reach the callee until dialplane isolates it: README semantics)
        webhook.wait_for(lambda rs: [r for r in rs if r.path == f"/confirmHook/{called}"], 15, "the confirmHook")
        t_screen = callee.now()
        callee.wait_packets(25, 15, t0=t_screen + 0.5, match=lambda p: label_payload(p) == "other")
        assert not ev.named("confirmed") and not ev.named("failed"), f"answered before screening:\n{b.describe()}"
        callee.send_dtmf("1", duration_ms=120)
        t_press = callee.now()
        wait_answered(ev, b, 20, "the browser's call answered")
        answer = ev.named("accepted")[0].get("sdp", "")
        assert sdp_proto(answer) == "UDP/TLS/RTP/SAVPF" and has_attr(answer, "fingerprint") \
            and has_attr(answer, "ice-ufrag"), f"the browser must get a WebRTC answer after screening:\n{answer}"
        stats = ev.wait(rtp_both_ways(ev, MIN_PACKETS // 2, MIN_PACKETS // 2), 15,
                        "RTP both ways at the browser after the acceptance (getStats)", b)
        assert stats["dtls_state"] == "connected", stats
        callee.wait_packets(MIN_PACKETS // 2, 10, t0=t_press, match=lambda p: label_payload(p) != f"peer:{callee.name}")
        assert ev.first("ended", 15, b).get("originator") == "local"
        uas.wait(15)
        assert "< BYE" in uas.flow(), f"the browser's BYE did not reach the screened callee: {uas.describe()}"
    assert_dial_completed(webhook, called)
