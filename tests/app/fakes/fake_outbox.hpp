// OutboxPort over the fake call store's outbox lists: queued() only records (delivery in the real service is a
// detached coroutine); deliver()/flush() send a call's jobs in order through the webhook sender, with the
// job's id as Idempotency-Key, exactly as Outbox::drain does, and drop the call's due mark when it is empty.
#pragma once
#include "app/delivery/outbox.hpp"
#include "app/ports/outbox_port.hpp"
#include "app/ports/webhook_sender_port.hpp"
#include "fake_call_store.hpp"

#include <string>
#include <vector>

namespace dp::test {

class FakeOutbox final : public app::OutboxPort {
 public:
  FakeOutbox(FakeCallStore& store, app::WebhookSenderPort& hooks) : store_(store), hooks_(hooks) {}

  void queued(const std::string& call_sid, std::vector<std::string> jobs, app::CallStorePort::OutboxLease lease) override {
    kicks.push_back(call_sid);
    leases.push_back(lease);
    queued_jobs += jobs.size();
  }

  boost::asio::awaitable<void> flush(const std::string& call_sid, std::chrono::milliseconds limit) override {
    flushes.push_back(call_sid);
    co_await deliver(call_sid);
  }

  // Sends the call's queued jobs, oldest first.
  boost::asio::awaitable<void> deliver(const std::string& call_sid) {
    auto& list = store_.outboxes[call_sid];
    while (!list.empty()) {
      auto raw = list.front();
      list.erase(list.begin());
      auto job = app::Outbox::parse_job(raw);
      if (job) co_await hooks_.request(job->account_sid, job->hook, job->payload, job->kind, job->id);
    }
    store_.outbox_due.erase(call_sid);
  }

  // Every call's outbox (as the lease poller would).
  boost::asio::awaitable<void> deliver_all() {
    std::vector<std::string> due;
    for (const auto& [sid, jobs] : store_.outboxes)
      if (!jobs.empty()) due.push_back(sid);
    for (const auto& sid : due) co_await deliver(sid);
  }

  std::vector<std::string> kicks;  // calls whose commits queued jobs, in order
  std::vector<app::CallStorePort::OutboxLease> leases;
  std::size_t queued_jobs = 0;
  std::vector<std::string> flushes;

 private:
  FakeCallStore& store_;
  app::WebhookSenderPort& hooks_;
};

}  // namespace dp::test
