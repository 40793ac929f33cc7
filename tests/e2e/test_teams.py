"""Microsoft Teams targets (issue 13, docs/teams.md): a dial to {"type":"teams"} leaves Kamailio over TLS with the
Direct Routing INVITE shape, to the first Microsoft proxy whose OPTIONS pings are answered.

Microsoft's three proxies are TLS stand-ins (teams_standin.py) on loopback: dialplane runs with
`--teams-proxies sip.pstnhub.microsoft.com=127.0.0.1:<base+93>,...` and Kamailio with a TLS listener advertising
TEAMS_SBC_FQDN (conftest.py; the certificate is made per run). The shared account gets Teams settings here
and loses them at the end (which stops the Teams pings).
"""

from __future__ import annotations

import re
import subprocess
import time
from typing import Any

import pytest

from conftest import LOOPBACK, SIP_REALM, TEAMS_PROXY_HOSTS, TEAMS_SBC_FQDN, WEBHOOK_SECRET, wait_until
from teams_standin import TeamsStandin
from test_core_call_path import dial, final_reply, parent_of, wait_action_hooks

TENANT = "contoso.e2e.dialplane.test"


def account_body(stack: Any, **teams: Any) -> dict:
    return {"name": "e2e", "webhook_secret": WEBHOOK_SECRET, "sip_realm": SIP_REALM,
            "default_carrier_sid": stack.prov["carrier_decoy_sid"], **teams}


def health(stack: Any) -> dict:
    out = subprocess.run(["redis-cli", "-p", str(stack.ports.redis), "--raw", "HGETALL", "dp:gwhealth"],
                         capture_output=True, text=True).stdout.split()
    return dict(zip(out[0::2], out[1::2]))


def proxy_state(stack: Any, i: int) -> str:
    v = health(stack).get(f"sip:{LOOPBACK}:{stack.ports.teams_proxies[i]};transport=tls", "")
    return v.split("|")[0]


@pytest.fixture(scope="module")
def teams(full_stack):
    tls = full_stack.run_dir / "tls"
    standins = [TeamsStandin(port, str(tls / "sbc.pem"), str(tls / "sbc.key"))
                for port in full_stack.ports.teams_proxies]
    acct = full_stack.prov["account_sid"]
    st, resp = full_stack.api("PUT", f"/v1/Accounts/{acct}", account_body(
        full_stack, teams_sbc_fqdn=TEAMS_SBC_FQDN, teams_sbc_port=full_stack.ports.kamailio_tls,
        teams_tenant_fqdn=TENANT))
    assert st in (200, 204), (st, resp)
    try:
        # Kamailio pings every proxy over TLS once the account has Teams settings (roles/gateways.cfg)
        wait_until(lambda: all(s.received("OPTIONS") for s in standins), 10, "OPTIONS over TLS at every stand-in")
        opt = standins[0].received("OPTIONS")[0]
        assert opt.header("Contact") == f"<sip:{TEAMS_SBC_FQDN}:{full_stack.ports.kamailio_tls};transport=tls>", \
            f"Microsoft recognises the SBC's OPTIONS by its Contact FQDN:\n{opt.raw}"
        yield standins
    finally:
        full_stack.api("PUT", f"/v1/Accounts/{acct}", account_body(full_stack))
        for s in standins:
            s.stop()


def sdp_lines(body: str) -> list[str]:
    return [ln.strip() for ln in body.splitlines() if ln.strip()]


def test_01_vmail_target_direct_routing_invite(full_stack, sipp, webhook, numbers, teams):
    called = numbers.take()
    webhook.set_app(called, dial(webhook, called, [{"type": "teams", "number": "+14255550101", "tenant": TENANT,
                                                    "vmail": True}], callerId="+15553330101", timeout=20))
    caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110101", duration_ms=500)
    caller.assert_ok()

    inv = teams[0].wait("INVITE")[0]
    print(f"INVITE received by the sip.pstnhub stand-in:\n{inv.raw}")
    assert inv.ruri == "sip:+14255550101@sip.pstnhub.microsoft.com;user=phone;opaque=app:voicemail", inv.ruri
    via = inv.header("Via") or ""
    assert via.startswith("SIP/2.0/TLS "), f"not sent over TLS: Via {via}"
    contact = inv.header("Contact") or ""
    assert contact == f"<sip:+15553330101@{TEAMS_SBC_FQDN}:{full_stack.ports.kamailio_tls};transport=tls>", contact
    rr = ",".join(inv.all("Record-Route"))
    top_rr = re.findall(r"<([^>]+)>", rr)[0]
    assert top_rr.startswith(f"sip:{TEAMS_SBC_FQDN}:{full_stack.ports.kamailio_tls};transport=tls"), rr
    assert f"@{TENANT}" in (inv.header("From") or ""), inv.header("From")
    assert "pstnhub" not in (inv.header("To") or ""), inv.header("To")
    assert (inv.header("X-MS-SBC") or "").startswith("dialplane/"), inv.headers
    sdp = sdp_lines(inv.body)
    m = [ln for ln in sdp if ln.startswith("m=audio ")]
    assert m and m[0].split()[2] == "RTP/SAVP", f"not SRTP:\n{inv.body}"
    cryptos = [ln for ln in sdp if ln.startswith("a=crypto:")]
    assert cryptos and all("AES_CM_128_HMAC_SHA1_80" in c for c in cryptos), f"crypto suites:\n{inv.body}"
    assert any(ln.startswith("a=candidate:") for ln in sdp) and any(ln.startswith("a=ice-ufrag:") for ln in sdp), \
        f"no ICE:\n{inv.body}"
    assert "a=rtcp-mux" in sdp, f"no rtcp-mux:\n{inv.body}"
    assert not [ln for ln in sdp if ln.startswith(("a=fingerprint", "a=setup"))], f"DTLS offered too:\n{inv.body}"

    ok = final_reply(caller)
    assert ok.code == 200
    body = sdp_lines(ok.body)
    assert [ln for ln in body if ln.startswith("m=audio ")][0].split()[2] == "RTP/AVP", ok.body
    assert not [ln for ln in body if ln.startswith(("a=crypto", "a=candidate", "a=ice-"))], ok.body
    teams[0].wait("ACK")
    bye = teams[0].wait("BYE")[0]
    assert bye.header("Call-ID") == inv.header("Call-ID")
    a = wait_action_hooks(webhook, parent_of(webhook, called))[0]
    assert (a.get("dial_call_status"), a.get("dial_sip_status")) == ("completed", 200), a.json


def test_02_documented_voicemail_name_and_default_tenant(full_stack, sipp, webhook, numbers, teams):
    """`voicemail` (jambonz's docs) is honoured like `vmail`; no `tenant`: the account's teams_tenant_fqdn."""
    called = numbers.take()
    before = len(teams[0].received("INVITE"))
    webhook.set_app(called, dial(webhook, called, [{"type": "teams", "number": "14255550102", "voicemail": True}],
                                 timeout=20))
    caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110102", duration_ms=300)
    caller.assert_ok()
    inv = teams[0].wait("INVITE", before + 1)[before]
    assert inv.ruri == "sip:+14255550102@sip.pstnhub.microsoft.com;user=phone;opaque=app:voicemail", inv.ruri
    assert f"@{TENANT}>" in (inv.header("From") or "") or f"@{TENANT};" in (inv.header("From") or ""), \
        inv.header("From")


def test_03_teams_hangs_up_through_the_sbc_contact(full_stack, sipp, webhook, numbers, teams):
    """Microsoft's BYE goes to the Contact we gave it (the SBC FQDN), through the Record-Route set: Kamailio sends
    it on to the caller's own Contact (kept in the dialog)."""
    called = numbers.take()
    before = len(teams[0].received("INVITE"))
    webhook.set_app(called, dial(webhook, called, [{"type": "teams", "number": "+14255550105"}], timeout=20))
    caller = sipp.uac("caller", "uac_media_hold.xml", called, caller="+15551110105", timeout_s=20,
                      keys={"rtp_port": full_stack.ports.base + 96})
    inv = teams[0].wait("INVITE", before + 1)[before]
    call_id = inv.header("Call-ID") or ""
    wait_until(lambda: any(a.header("Call-ID") == call_id for a in teams[0].received("ACK")), 10, "the caller's ACK")
    teams[0].bye(call_id)
    caller.assert_ok()  # the caller got the BYE and answered it
    wait_until(lambda: "SIP/2.0 200 OK" in teams[0].replies, 10, "200 to Microsoft's BYE")
    a = wait_action_hooks(webhook, parent_of(webhook, called))[0]
    assert (a.get("dial_call_status"), a.get("dial_sip_status")) == ("completed", 200), a.json


def test_04_failover_to_sip2_then_no_proxy_fails_fast(full_stack, sipp, webhook, numbers, teams):
    # sip.pstnhub stops answering OPTIONS: the next call goes to sip2, with sip2's name in the Request-URI
    teams[0].answer_options = False
    try:
        wait_until(lambda: proxy_state(full_stack, 0) == "down", 10, "sip.pstnhub stand-in reported down")
        called = numbers.take()
        webhook.set_app(called, dial(webhook, called, [{"type": "teams", "number": "+14255550103"}], timeout=20))
        caller = sipp.uac("caller", "uac_call.xml", called, caller="+15551110103", duration_ms=300)
        caller.assert_ok()
        inv = teams[1].wait("INVITE")[0]
        assert inv.ruri == f"sip:+14255550103@{TEAMS_PROXY_HOSTS[1]};user=phone", inv.ruri
        assert f"@{TENANT}" in (inv.header("From") or "")

        # no proxy answers: the leg fails at once with a reason, no INVITE leaves
        teams[1].answer_options = teams[2].answer_options = False
        wait_until(lambda: proxy_state(full_stack, 1) == "down" and proxy_state(full_stack, 2) == "down", 10,
                   "every stand-in reported down")
        counts = [len(s.received("INVITE")) for s in teams]
        called = numbers.take()
        webhook.set_app(called, dial(webhook, called, [{"type": "teams", "number": "+14255550104"}], timeout=20))
        t0 = time.time()
        caller = sipp.uac("caller_nohealthy", "uac_fail.xml", called, caller="+15551110104")
        caller.assert_ok()
        assert time.time() - t0 < 5, "a Teams leg without a healthy proxy must fail fast"
        fin = final_reply(caller)
        assert fin.code == 503 and "no Microsoft Teams proxy answers OPTIONS" in (fin.header("X-Reason") or ""), \
            f"{fin.code} X-Reason {fin.header('X-Reason')!r}"
        a = wait_action_hooks(webhook, parent_of(webhook, called))[0]
        assert a.get("dial_sip_status") == 503, a.json
        assert "OPTIONS" in (a.get("dial_sip_reason") or ""), a.json
        assert [len(s.received("INVITE")) for s in teams] == counts, "an INVITE went to a proxy reported down"
    finally:
        for s in teams:
            s.answer_options = True


def test_05_teams_settings_validated_at_the_edge(full_stack):
    acct = full_stack.prov["account_sid"]
    for bad, field in ((dict(teams_sbc_fqdn="10.0.0.1"), "teams_sbc_fqdn"),
                       (dict(teams_sbc_fqdn="localhost"), "teams_sbc_fqdn"),
                       (dict(teams_tenant_fqdn="contoso.com"), "teams_tenant_fqdn"),
                       (dict(teams_sbc_fqdn="sbc.example.com", teams_sbc_port=70000), "teams_sbc_port")):
        st, resp = full_stack.api("PUT", f"/v1/Accounts/{acct}", account_body(full_stack, **bad))
        assert st == 400 and field in str(resp), (bad, st, resp)
