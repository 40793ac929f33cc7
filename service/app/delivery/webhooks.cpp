#include "app/delivery/webhooks.hpp"

#include "core/dial_machine.hpp"
#include "core/log.hpp"
#include "core/signature.hpp"

#include <boost/asio.hpp>
#include <ctime>

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;

using log::loggable_url;

Webhooks::Webhooks(io::HttpClient& http, ProvisioningPort& store, WebhookStats& metrics,
                   std::chrono::milliseconds timeout)
    : http_(http), store_(store), metrics_(metrics), timeout_(timeout) {}

asio::awaitable<std::string> Webhooks::secret_for(const std::string& account_sid) {
  auto now = std::chrono::steady_clock::now();
  if (auto it = secrets_.find(account_sid); it != secrets_.end() && it->second.expires > now)
    co_return it->second.secret;
  std::string secret;
  auto acct = co_await store_.account(account_sid);  // not inside a condition (docs/coroutines.md)
  if (acct) secret = acct->webhook_secret;
  // A short cache: a rotated secret takes effect within seconds without a Redis read per webhook.
  secrets_[account_sid] = {secret, now + std::chrono::seconds(5)};
  co_return secret;
}

asio::awaitable<HookResult> Webhooks::request(const std::string& account_sid, const core::Hook& hook,
                                              const json::object& payload, std::string_view kind,
                                              const std::string& idempotency_key) {
  HookResult out;
  io::HttpRequest req;
  req.url = hook.url;
  req.method = hook.method == "GET" ? "GET" : "POST";
  req.timeout = timeout_;
  req.basic_auth_user = hook.username;
  req.basic_auth_password = hook.password;
  // jambonz sends GET hooks without any call data; dialplane puts it in the query string.
  if (req.method == "GET") req.url = core::url_with_query(hook.url, payload);
  if (req.method == "POST") {
    req.body = json::serialize(payload);
    req.headers.emplace_back("Content-Type", "application/json");
  }
  req.headers.emplace_back("Accept", "application/json");
  if (!idempotency_key.empty()) req.headers.emplace_back("Idempotency-Key", idempotency_key);
  std::string secret;
  try {
    secret = co_await secret_for(account_sid);
  } catch (const std::exception& e) {
    log::warn("webhook_secret_lookup_failed", {{"account_sid", account_sid}, {"error", e.what()}});
  }
  if (!secret.empty())
    req.headers.emplace_back("Jambonz-Signature",
                             core::jambonz_signature(secret, req.body, static_cast<long long>(std::time(nullptr))));
  auto started = std::chrono::steady_clock::now();
  try {
    auto res = co_await http_.send(std::move(req));
    out.status = res.status;
    out.ok = res.status == 200 || res.status == 202 || res.status == 204;
    if (!out.ok) out.error = "HTTP " + std::to_string(res.status);
    if (out.ok && res.content_type.find("application/json") != std::string::npos && !res.body.empty()) {
      boost::system::error_code ec;
      auto v = json::parse(res.body, ec);
      if (ec) {
        out.ok = false;
        out.error = "response is not valid JSON";
      } else {
        out.json = std::move(v);
      }
    }
  } catch (const io::HttpError& e) {
    out.error = e.what();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_.webhook(kind, out.status, secs, out.ok);
  if (!out.ok)
    log::warn("webhook_failed", {{"kind", kind}, {"url", loggable_url(hook.url)}, {"error", out.error}});
  else
    log::debug("webhook_sent", {{"kind", kind}, {"url", loggable_url(hook.url)}, {"status", std::to_string(out.status)}});
  co_return out;
}

}  // namespace dp::app
