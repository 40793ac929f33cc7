// The shell wired to in-memory fakes: a CallFlow (and whatever else a test builds on the same ports) on an
// io_context that runs only while a test awaits something. No sockets, no Redis.
#pragma once
#include "app/config/config.hpp"
#include "app/observability/metrics.hpp"
#include "app/session/call_flow.hpp"
#include "core/json_get.hpp"
#include "fakes/fake_call_store.hpp"
#include "fakes/fake_kamailio.hpp"
#include "fakes/fake_media.hpp"
#include "fakes/fake_media_files.hpp"
#include "fakes/fake_outbox.hpp"
#include "fakes/fake_provisioning.hpp"
#include "fakes/fake_webhooks.hpp"
#include "io/clock.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <string>

namespace dp::test {

inline const std::string kAccountSid = "0f0e0d0c-0000-4000-8000-000000000001";
inline const std::string kAppSid = "0f0e0d0c-0000-4000-8000-000000000002";
inline const std::string kCarrierA = "0f0e0d0c-0000-4000-8000-0000000000ca";
inline const std::string kCarrierB = "0f0e0d0c-0000-4000-8000-0000000000cb";
inline const std::string kCalledNumber = "15551230000";
inline const std::string kCallHook = "http://app.test/call";
inline const std::string kStatusHook = "http://app.test/status";
inline const std::string kActionHook = "http://app.test/action";
inline const std::string kNode = "http://kam1.test/RPC";
// A caller's SDP offer (PCMU + telephone-event), for the media-plane tests.
inline const char* kCallerSdp =
    "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

inline std::string str_of(const boost::json::object& o, std::string_view k) { return core::jget::str(o, k); }
inline long long int_of(const boost::json::object& o, std::string_view k) { return core::jget::integer(o, k, -999); }

inline core::Carrier carrier(const std::string& sid, const std::string& name, std::vector<std::string> hosts) {
  core::Carrier c;
  c.carrier_sid = sid;
  c.account_sid = kAccountSid;
  c.name = name;
  int prio = 0;
  for (auto& h : hosts) {
    core::Gateway g;
    g.host = h;
    g.priority = prio++;
    c.gateways.push_back(g);
  }
  return c;
}

struct AppWorld {
  boost::asio::io_context ioc;
  app::Config cfg = test_config();
  app::Metrics metrics;
  FakeCallStore calls;
  FakeProvisioning prov;
  FakeWebhookSender hooks;
  FakeKamailioControl kamailio;
  FakeOutbox outbox{calls, hooks};
  FakeMedia media;
  FakeMediaFiles files;
  app::CallFlow flow{{ioc.get_executor(), cfg, calls, prov, hooks, kamailio, metrics.calls(), outbox, media, files, nullptr}};

  AppWorld() {
    core::Account acct;
    acct.account_sid = kAccountSid;
    acct.name = "acme";
    acct.sip_realm = "acme.test";
    acct.default_carrier_sid = kCarrierA;
    prov.add(acct);
    core::Application app;
    app.application_sid = kAppSid;
    app.account_sid = kAccountSid;
    app.name = "dialer";
    app.call_hook.url = kCallHook;
    app.call_status_hook.url = kStatusHook;
    prov.add(app);
    core::PhoneNumber pn;
    pn.number = "+" + kCalledNumber;
    pn.account_sid = kAccountSid;
    pn.application_sid = kAppSid;
    prov.add(pn);
    prov.add(carrier(kCarrierA, "carrier-a", {"gw-a1.test", "gw-a2.test"}));
    prov.add(carrier(kCarrierB, "carrier-b", {"gw-b1.test"}));
  }

  static app::Config test_config() {
    app::Config c;
    c.event_barrier_ms = 50;  // dial_failed's wait for late leg events
    c.rtpengine_nodes = {"udp:127.0.0.1:22222", "udp:127.0.0.2:22222"};
    c.rpc_timeout_ms = 700;
    c.inbound_auth = core::InboundAuth::Off;  // the callers here are nobody's carrier (one test turns it on)
    return c;
  }

  // Runs one coroutine to completion on the world's io_context; rethrows what it threw.
  template <class T>
  T run(boost::asio::awaitable<T> aw) {
    auto fut = boost::asio::co_spawn(ioc, std::move(aw), boost::asio::use_future);
    ioc.restart();
    ioc.run();
    return fut.get();
  }

  // --- what Kamailio sends (docs/internal-protocol.md) ---
  static boost::json::object invite_request(const std::string& call_id, const std::string& cseq = "1") {
    return {{"call_id", call_id},
            {"cseq", cseq},
            {"ruri_user", kCalledNumber},
            {"to_user", kCalledNumber},
            {"from_user", "15557654321"},
            {"from_uri", "sip:15557654321@caller.test"},
            {"from_name", "Caller"},
            {"src_ip", "192.0.2.10"},
            {"node", kNode}};
  }
  boost::json::object invite(const std::string& call_id, const std::string& cseq = "1") {
    return invite_body(invite_request(call_id, cseq));
  }
  // A request body through the same edge parse as /kamailio/invite and /kamailio/events.
  boost::json::object invite_body(const boost::json::object& body) {
    auto req = core::parse_invite_request(body);
    return run(flow.invite(req));
  }
  std::size_t events_body(const boost::json::object& body) {
    auto batch = core::parse_event_batch(body, io::wall_now());
    if (!batch) return 0;
    return run(flow.events(*batch));
  }
  // One batch of events (each: ev, leg, code…; call_sid, dial and seq are filled in).
  std::size_t events(const std::string& sid, int dial, std::vector<boost::json::object> evs) {
    boost::json::array arr;
    for (auto& e : evs) {
      e["call_sid"] = sid;
      if (!e.contains("dial")) e["dial"] = dial;
      e["seq"] = ++event_seq;
      arr.push_back(std::move(e));
    }
    boost::json::object body{{"node", kNode}, {"boot", "1"}, {"events", std::move(arr)}};
    return events_body(body);
  }
  boost::json::object dial_failed(const std::string& sid, int dial, int leg, int code, const std::string& reason,
                                  bool timeout = false) {
    boost::json::object req{{"call_sid", sid}, {"dial", dial},     {"leg", leg},
                            {"code", code},    {"reason", reason}, {"timeout", timeout}};
    auto failed = core::parse_dial_failed_request(req);
    return run(flow.dial_failed(failed));
  }
  std::optional<long long> fire_timer(const std::string& id) { return run(flow.on_timer(id)); }
  void deliver_webhooks() { run(outbox.deliver_all()); }

  long long event_seq = 0;
};

}  // namespace dp::test
