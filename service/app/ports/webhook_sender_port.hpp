// Port: sends one application webhook (delivery/webhooks is the HTTP(S) implementation; tests/app/fakes
// records requests and answers scripted responses). Ordering and retries across instances are the Outbox's job.
#pragma once
#include "core/provisioning.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace dp::app {

// The outcome of one webhook request. Failures are values, not exceptions.
struct HookResult {
  bool ok = false;            // 2xx received
  int status = 0;             // HTTP status (0 = no response)
  std::string error;          // why it failed, safe to log and to put in X-Reason
  std::optional<boost::json::value> json;  // parsed body when the response was application/json
};

class WebhookSenderPort {
 public:
  virtual ~WebhookSenderPort() = default;

  // Sends `payload` to `hook` as jambonz does: POST with a JSON body (GET hooks carry none), basic auth from
  // the hook, a Jambonz-Signature with the account's webhook secret, and `idempotency_key` (when set) as an
  // Idempotency-Key header, the same on every re-send of the same notification. `kind` (call_hook |
  // call_status | action) labels metrics and logs.
  //
  // Never throws for a failed request: a non-2xx status, a transport error, the configured webhook timeout
  // (--webhook-timeout-ms) or a JSON response that does not parse come back as ok = false with `error` set.
  virtual boost::asio::awaitable<HookResult> request(const std::string& account_sid, const core::Hook& hook,
                                                     const boost::json::object& payload, std::string_view kind,
                                                     const std::string& idempotency_key = {}) = 0;
};

}  // namespace dp::app
