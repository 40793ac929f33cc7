// Sends the application's webhooks: jambonz payloads, Jambonz-Signature with the account's secret,
// basic auth, and in-order delivery of each call's status notifications.
#pragma once
#include "app/metrics.hpp"
#include "app/provisioning_store.hpp"
#include "core/dial_machine.hpp"
#include "io/http_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

namespace dp::app {

struct HookResult {
  bool ok = false;            // 2xx received
  int status = 0;             // HTTP status (0 = no response)
  std::string error;          // why it failed, safe to log and to put in X-Reason
  std::optional<boost::json::value> json;  // parsed body when the response was application/json
};

class Webhooks {
 public:
  Webhooks(boost::asio::any_io_executor ex, io::HttpClient& http, ProvisioningStore& store, Metrics& metrics,
           std::chrono::milliseconds timeout);

  // One request whose answer matters (call_hook, actionHook).
  boost::asio::awaitable<HookResult> request(const std::string& account_sid, const core::Hook& hook,
                                             const boost::json::object& payload, std::string_view kind);

  // Fire-and-forget notifications, delivered one at a time per call in the order given.
  void notify(const std::string& account_sid, const std::string& call_sid, core::Notification n);

  // Waits (at most `limit`) until the call's queued notifications have been sent.
  boost::asio::awaitable<void> flush(const std::string& call_sid, std::chrono::milliseconds limit);

  std::size_t queued() const { return queued_; }

 private:
  struct Job {
    std::string account_sid;
    core::Notification n;
  };
  boost::asio::awaitable<void> drain(std::string call_sid);
  boost::asio::awaitable<std::string> secret_for(const std::string& account_sid);

  boost::asio::any_io_executor ex_;
  io::HttpClient& http_;
  ProvisioningStore& store_;
  Metrics& metrics_;
  std::chrono::milliseconds timeout_;
  std::unordered_map<std::string, std::deque<Job>> queues_;
  std::size_t queued_ = 0;
  struct CachedSecret {
    std::string secret;
    std::chrono::steady_clock::time_point expires;
  };
  std::unordered_map<std::string, CachedSecret> secrets_;
};

}  // namespace dp::app
