#include "app/api/internal/internal_api.hpp"

#include "app/api/internal/leg_api.hpp"
#include "core/json_get.hpp"
#include "core/log.hpp"
#include "io/clock.hpp"

namespace dp::app {

namespace json = boost::json;
using io::ServerResponse;

boost::asio::awaitable<ServerResponse> InternalApi::handle(io::ServerRequest& req) {
  if (req.path == "/healthz") co_return ServerResponse::json(200, R"({"status":"ok"})");
  if (req.path == "/readyz" && health_) {
    auto [ready, body] = health_->readiness(draining_);
    co_return ServerResponse::json(ready ? 200 : 503, body);
  }
  if (req.path == "/readyz") {
    bool ready = redis_.connected() && !draining_;
    co_return ServerResponse::json(ready ? 200 : 503,
                                   json::serialize(json::object{{"ready", ready},
                                                                {"redis", redis_.connected()},
                                                                {"draining", draining_.load()}}));
  }
  bool known = req.path == "/kamailio/invite" || req.path == "/kamailio/dial-failed" ||
               req.path == "/kamailio/events" || req.path == "/kamailio/leg" || req.path == "/kamailio/refer";
  if (!known) co_return ServerResponse::error(404, "not found");
  if (req.method != "POST") co_return ServerResponse::error(405, "use POST");
  std::string err;
  auto body = core::jget::parse_object(req.body, err);
  if (!body) co_return ServerResponse::error(400, err);

  if (req.path == "/kamailio/invite") {
    // Not a SIP decision: HTTP 503 lets the load balancer re-send the INVITE to a live instance (with a
    // single instance, Kamailio answers the caller 503 itself).
    if (draining_) co_return ServerResponse::error(503, "dialplane instance draining");
    auto invite = core::parse_invite_request(*body);
    auto decision = co_await flow_.invite(invite);
    co_return ServerResponse::json(200, json::serialize(decision));
  }
  if (req.path == "/kamailio/leg") {
    auto decision = co_await leg_decision(prov_, calls_, *body);
    co_return ServerResponse::json(200, json::serialize(decision));
  }
  if (req.path == "/kamailio/refer") {
    auto refer = core::parse_refer_request(*body);
    auto answer = co_await flow_.refer(refer);
    co_return ServerResponse::json(200, json::serialize(core::to_json(answer)));
  }
  if (req.path == "/kamailio/dial-failed") {
    auto failed = core::parse_dial_failed_request(*body);
    auto decision = co_await flow_.dial_failed(failed);
    co_return ServerResponse::json(200, json::serialize(decision));
  }
  auto batch = core::parse_event_batch(*body, io::wall_now());
  if (!batch) co_return ServerResponse::json(200, R"({"accepted":0})");  // nothing usable: re-sending won't help
  auto started = std::chrono::steady_clock::now();
  auto took = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  try {
    auto n = co_await flow_.events(*batch);
    metrics_.event_batch(true, took());
    co_return ServerResponse::json(200, json::serialize(json::object{{"accepted", n}}));
  } catch (const std::exception& e) {
    metrics_.event_batch(false, took());
    // Not 2xx: Kamailio keeps the batch and sends it again.
    co_return ServerResponse::error(503, "events not stored");
  }
}

}  // namespace dp::app
