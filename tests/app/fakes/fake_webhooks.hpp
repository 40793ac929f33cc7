// WebhookSenderPort that records every request and answers scripted responses (per URL, in order; a URL
// without a script answers 200 with no body).
#pragma once
#include "app/ports/webhook_sender_port.hpp"

#include <boost/json.hpp>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace dp::test {

struct SentWebhook {
  std::string account_sid;
  core::Hook hook;
  boost::json::object payload;
  std::string kind;
  std::string idempotency_key;
};

class FakeWebhookSender final : public app::WebhookSenderPort {
 public:
  boost::asio::awaitable<app::HookResult> request(const std::string& account_sid, const core::Hook& hook,
                                                  const boost::json::object& payload, std::string_view kind,
                                                  const std::string& idempotency_key = {}) override {
    sent.push_back({account_sid, hook, payload, std::string(kind), idempotency_key});
    auto it = scripts_.find(hook.url);
    if (it == scripts_.end() || it->second.empty()) {
      app::HookResult ok;
      ok.ok = true;
      ok.status = 200;
      co_return ok;
    }
    auto res = std::move(it->second.front());
    it->second.pop_front();
    co_return res;
  }

  // The next request to `url` gets 200 with this JSON body.
  void answer_json(const std::string& url, boost::json::value body) {
    app::HookResult r;
    r.ok = true;
    r.status = 200;
    r.json = std::move(body);
    scripts_[url].push_back(std::move(r));
  }
  // The next request to `url` fails (status 0 = no response).
  void answer_failure(const std::string& url, int status, std::string error) {
    app::HookResult r;
    r.status = status;
    r.error = std::move(error);
    scripts_[url].push_back(std::move(r));
  }

  std::vector<const SentWebhook*> of_kind(std::string_view kind) const {
    std::vector<const SentWebhook*> out;
    for (const auto& w : sent)
      if (w.kind == kind) out.push_back(&w);
    return out;
  }

  std::vector<SentWebhook> sent;

 private:
  std::map<std::string, std::deque<app::HookResult>> scripts_;
};

}  // namespace dp::test
