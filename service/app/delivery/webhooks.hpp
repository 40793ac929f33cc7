// Sends one application webhook: jambonz payload, Jambonz-Signature with the account's secret, basic auth,
// Idempotency-Key. Delivery order and retries across instances are the Outbox's job.
#pragma once
#include "app/observability/metrics.hpp"
#include "app/ports/provisioning_port.hpp"
#include "app/ports/webhook_sender_port.hpp"
#include "core/dial_machine.hpp"
#include "io/http/http_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

namespace dp::app {

class Webhooks final : public WebhookSenderPort {
 public:
  Webhooks(io::HttpClient& http, ProvisioningPort& store, WebhookStats& metrics, std::chrono::milliseconds timeout);

  // One webhook request. `idempotency_key` (when set) goes into an Idempotency-Key header, the same on
  // every re-send of the same notification, so apps can de-duplicate.
  boost::asio::awaitable<HookResult> request(const std::string& account_sid, const core::Hook& hook,
                                             const boost::json::object& payload, std::string_view kind,
                                             const std::string& idempotency_key = {}) override;

 private:
  boost::asio::awaitable<std::string> secret_for(const std::string& account_sid);

  io::HttpClient& http_;
  ProvisioningPort& store_;
  WebhookStats& metrics_;
  std::chrono::milliseconds timeout_;
  struct CachedSecret {
    std::string secret;
    std::chrono::steady_clock::time_point expires;
  };
  std::unordered_map<std::string, CachedSecret> secrets_;
};

}  // namespace dp::app
