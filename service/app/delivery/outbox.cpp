#include "app/delivery/outbox.hpp"

#include "core/json_get.hpp"
#include "core/log.hpp"
#include "io/clock.hpp"

#include <boost/asio.hpp>

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {
// KEYS: list, due zset. ARGV: job string, call_sid. Pops the head only if it is still that job, and
// drops the call from `due` once its list is empty.
constexpr const char* kPop = R"lua(
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then redis.call('LPOP', KEYS[1]) end
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[2]) return 0 end
return 1
)lua";

}  // namespace

Outbox::Outbox(io::TaskGroup& tasks, io::RedisClient& redis, WebhookSenderPort& hooks, Keys keys)
    : tasks_(tasks), redis_(redis), hooks_(hooks), keys_(std::move(keys)), due_(redis, keys_.outbox_due()) {}

void Outbox::spawn_drain(asio::awaitable<void> task, const std::string& call_sid) {
  tasks_.spawn(std::move(task), [call_sid](std::exception_ptr e) {
    if (e) log::warn("outbox_task_failed", {{"call_sid", call_sid}});
  });
}

std::string Outbox::job(const std::string& id, const std::string& account_sid, const core::Notification& n) {
  json::object o{{"id", id},
                 {"kind", core::kind_name(n)},
                 {"account_sid", account_sid},
                 {"hook", core::hook_to_json(n.hook, false)},
                 {"payload", n.payload}};
  return json::serialize(o);
}

std::optional<OutboxJob> Outbox::parse_job(const std::string& raw) {
  try {
    auto v = json::parse(raw);
    const auto& o = v.as_object();
    OutboxJob out;
    out.id = std::string(o.at("id").as_string());
    out.account_sid = std::string(o.at("account_sid").as_string());
    out.kind = std::string(o.at("kind").as_string());
    out.hook = core::jget::hook(o.at("hook").as_object());
    out.payload = o.at("payload").as_object();
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void Outbox::kick(const std::string& call_sid) {
  if (draining_.count(call_sid)) return;  // our drain loop re-reads the list until it is empty
  spawn_drain(claim_and_drain(call_sid), call_sid);
}

asio::awaitable<void> Outbox::claim_and_drain(std::string call_sid) {
  bool mine = false;
  try {
    mine = co_await due_.claim(call_sid, io::epoch_ms(), kLease);
  } catch (const std::exception& e) {
    log::warn("outbox_claim_failed", {{"call_sid", call_sid}, {"error", e.what()}});
  }
  if (mine) co_await drain(call_sid);
}

asio::awaitable<void> Outbox::drain(std::string call_sid) {
  if (!draining_.insert(call_sid).second) co_return;
  try {
    for (;;) {
      std::vector<std::string> head{"LINDEX", keys_.outbox(call_sid), "0"};
      auto r = co_await redis_.command(std::move(head));
      std::string raw = r.type == io::RedisReply::Type::String ? r.str : std::string();
      if (!raw.empty()) {
        // A job that does not parse is dropped rather than blocking the call's outbox forever.
        auto job = parse_job(raw);
        if (!job) log::error("outbox_bad_job", {{"call_sid", call_sid}});
        if (job) co_await hooks_.request(job->account_sid, job->hook, job->payload, job->kind, job->id);
      }
      std::vector<std::string> pop{"EVAL", kPop, "2", keys_.outbox(call_sid), due_.key(), raw, call_sid};
      auto more = co_await redis_.command(std::move(pop));
      if (more.integer == 0) break;
      // Still more to send: keep our lease fresh so no other instance takes over meanwhile.
      co_await due_.schedule(call_sid, io::epoch_ms() + kLease.count());
    }
  } catch (const std::exception& e) {
    // Redis trouble: the lease runs out and this or another instance resumes delivery later.
    log::warn("outbox_drain_failed", {{"call_sid", call_sid}, {"error", e.what()}});
  }
  draining_.erase(call_sid);
}

// Cancellation ends the loop at its next co_await; claimed calls are handed to their tasks before that.
asio::awaitable<void> Outbox::run(std::chrono::milliseconds poll) {
  asio::steady_timer timer(tasks_.get_executor());
  for (;;) {
    timer.expires_after(poll);
    co_await timer.async_wait(asio::use_awaitable);
    std::vector<LeaseQueue::Claimed> claimed;
    try {
      claimed = co_await due_.claim_due(io::epoch_ms(), kLease, 50);
    } catch (const std::exception&) {
      continue;  // Redis down: try again next tick
    }
    for (auto& c : claimed) {
      if (draining_.count(c.member)) continue;
      log::info("outbox_resumed", {{"call_sid", c.member}});
      spawn_drain(drain(c.member), c.member);
    }
  }
}

asio::awaitable<void> Outbox::flush(const std::string& call_sid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  asio::steady_timer timer(tasks_.get_executor());
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<std::string> len{"LLEN", keys_.outbox(call_sid)};
    auto r = co_await redis_.command(std::move(len));
    if (r.integer == 0) co_return;
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace dp::app
