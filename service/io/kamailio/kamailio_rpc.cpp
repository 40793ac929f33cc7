#include "io/kamailio/kamailio_rpc.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace json = boost::json;

namespace dp::io {

boost::asio::awaitable<json::value> KamailioRpc::call(std::string rpc_url, std::string method, json::array params,
                                                      std::chrono::milliseconds timeout) {
  const long long id = next_id_.fetch_add(1, std::memory_order_relaxed);
  HttpRequest req;
  req.method = "POST";
  req.url = std::move(rpc_url);
  req.timeout = timeout;
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  req.body = json::serialize(json::object{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}, {"id", id}});

  HttpResponse res = co_await http_.send(std::move(req));

  // jsonrpcs maps RPC errors onto the HTTP status (404 "Dialog not found", 500 ...), so the body is parsed
  // whatever the status is; only a body that is not JSON-RPC makes the status itself the error.
  boost::system::error_code ec;
  json::value body = json::parse(res.body, ec);
  const json::object* obj = !ec ? body.if_object() : nullptr;
  if (!obj) {
    throw HttpError(HttpError::Kind::Protocol,
                    "rpc " + method + ": HTTP " + std::to_string(res.status) + " without a JSON-RPC body");
  }
  if (const json::value* idv = obj->if_contains("id"); idv && !idv->is_null()) {
    const auto* n = idv->if_int64();
    if (!n || *n != id) throw HttpError(HttpError::Kind::Protocol, "rpc " + method + ": response id mismatch");
  }
  if (const json::value* err = obj->if_contains("error"); err && !err->is_null()) {
    int code = res.status;
    std::string message = "unknown error";
    if (const auto* eo = err->if_object()) {
      if (const auto* c = eo->if_contains("code"); c && c->is_int64()) code = static_cast<int>(c->as_int64());
      if (const auto* m = eo->if_contains("message"); m && m->is_string()) message = std::string(m->as_string());
    }
    throw RpcError(code, std::move(message));
  }
  if (const json::value* result = obj->if_contains("result")) co_return *result;
  if (res.status < 200 || res.status >= 300)
    throw HttpError(HttpError::Kind::Protocol, "rpc " + method + ": HTTP " + std::to_string(res.status));
  co_return json::value(nullptr);
}

}  // namespace dp::io
