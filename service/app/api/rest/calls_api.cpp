#include "app/api/rest/calls_api.hpp"

#include "core/call_update.hpp"
#include "core/json_get.hpp"
#include "core/log.hpp"
#include "core/provisioning.hpp"
#include "io/redis/redis_client.hpp"

// Awaited values go into named locals before being tested (docs/coroutines.md, rule 1).

namespace dp::app {

namespace json = boost::json;
using boost::asio::awaitable;

namespace {

constexpr std::string_view kAccounts = "/v1/Accounts/";
constexpr std::string_view kCalls = "/Calls";

// /v1/Accounts/<account>/Calls[/<call_sid>][/]. `call_sid` empty: the collection. `valid` false: a deeper path.
struct CallsRoute {
  std::string account_sid;
  std::string call_sid;
  bool valid = true;
};

std::optional<CallsRoute> parse_route(std::string_view path) {
  if (path.substr(0, kAccounts.size()) != kAccounts) return std::nullopt;
  path.remove_prefix(kAccounts.size());
  auto slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  CallsRoute r;
  r.account_sid = core::to_lower_ascii(path.substr(0, slash));
  path.remove_prefix(slash);
  if (path.substr(0, kCalls.size()) != kCalls) return std::nullopt;
  path.remove_prefix(kCalls.size());
  if (!path.empty() && path.front() != '/') return std::nullopt;  // e.g. /CallsX
  if (!path.empty()) path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);  // the node client lists with ".../Calls/"
  r.valid = path.find('/') == std::string_view::npos;
  r.call_sid = core::to_lower_ascii(path);
  return r;
}

io::ServerResponse method_not_allowed(const char* allow) {
  auto r = io::ServerResponse::error(405, "method not allowed");
  r.headers.emplace_back("Allow", allow);
  return r;
}

io::ServerResponse json_response(int status, const json::value& body) {
  return io::ServerResponse::json(status, json::serialize(body));
}

}  // namespace

bool CallsApi::handles(std::string_view path) {
  return parse_route(path).has_value();
}

awaitable<io::ServerResponse> CallsApi::handle(io::ServerRequest& req) {
  try {
    co_return co_await route(req);
  } catch (const io::RedisError& e) {
    log::error("rest_storage_error", {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
  } catch (const std::exception& e) {
    log::error("rest_internal_error", {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
    co_return io::ServerResponse::error(500, "internal error");
  }
  co_return io::ServerResponse::error(503, "storage unavailable");
}

awaitable<io::ServerResponse> CallsApi::route(io::ServerRequest& req) {
  auto r = parse_route(req.path);
  if (!r || !r->valid) co_return io::ServerResponse::error(404, "not found");
  // Sids are UUIDs (dialplane makes them lower-case); anything else names no call.
  if (!core::is_uuid(r->account_sid)) co_return io::ServerResponse::error(404, "account not found");
  if (r->call_sid.empty()) {
    if (req.method == "GET") {
      auto calls = co_await live_.list(r->account_sid);
      co_return json_response(200, calls);
    }
    if (req.method == "POST")
      co_return io::ServerResponse::error(501, "createCall (POST /Calls) is not supported by dialplane yet");
    co_return method_not_allowed("GET, POST");
  }
  bool known = req.method == "GET" || req.method == "PUT" || req.method == "POST";
  if (!known) co_return method_not_allowed("GET, PUT, POST");
  if (!core::is_uuid(r->call_sid)) co_return io::ServerResponse::error(404, "call not found");
  if (req.method != "GET") co_return co_await update(req, r->account_sid, r->call_sid);
  auto info = co_await live_.info(r->account_sid, r->call_sid);
  if (!info) co_return io::ServerResponse::error(404, "call not found");
  co_return json_response(200, *info);
}

awaitable<io::ServerResponse> CallsApi::update(io::ServerRequest& req, const std::string& account_sid,
                                               const std::string& sid) {
  std::string err;
  auto body = core::jget::parse_object(req.body, err);
  if (!body) co_return io::ServerResponse::error(400, err);
  json::value v(std::move(*body));
  auto parsed = core::parse_call_update(v);
  if (!parsed.update) co_return io::ServerResponse::error(parsed.refusal.status, parsed.refusal.msg);
  auto outcome = co_await live_.update(account_sid, sid, *parsed.update);
  if (outcome.status != 202) co_return io::ServerResponse::error(outcome.status, outcome.msg);
  co_return io::ServerResponse::json(202, "{}");
}

}  // namespace dp::app
