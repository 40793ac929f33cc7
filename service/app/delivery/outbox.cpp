#include "app/delivery/outbox.hpp"

#include "core/json_get.hpp"
#include "core/log.hpp"
#include "io/clock.hpp"

#include <boost/asio.hpp>

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {
// KEYS: list, due zset. ARGV: prefix of the delivered head job, count delivered, call_sid, lease end (ms),
// read-ahead. Drops the delivered jobs if the head is still theirs, then either drops the call from `due` (its
// list is empty) or renews the lease and returns the jobs now at the head.
constexpr const char* kAck = R"lua(
local n = tonumber(ARGV[2])
if n > 0 and string.sub(redis.call('LINDEX', KEYS[1], 0) or '', 1, #ARGV[1]) == ARGV[1] then
  redis.call('LTRIM', KEYS[1], n, -1)
end
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[3])
  return {}
end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
return redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[5]) - 1)
)lua";

// The start of a job that identifies it: the job's JSON begins with its unique id (Outbox::job).
constexpr std::size_t kJobPrefix = 96;
}  // namespace

Outbox::Outbox(io::TaskGroup& tasks, io::RedisClient& redis, WebhookSenderPort& hooks, Keys keys, RedisStats& stats)
    : tasks_(tasks), redis_(redis), hooks_(hooks), keys_(std::move(keys)), stats_(stats), due_(redis, keys_.outbox_due()) {}

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

void Outbox::queued(const std::string& call_sid, std::vector<std::string> jobs, CallStorePort::OutboxLease lease) {
  // A drain of ours already running picks new jobs up at its next acknowledgement (it renews the lease there,
  // also when our own commit found it run out and took it again).
  if (lease == CallStorePort::OutboxLease::None || draining_.count(call_sid)) return;
  if (lease == CallStorePort::OutboxLease::Backlog) jobs.clear();
  spawn_drain(drain(call_sid, std::move(jobs)), call_sid);
}

asio::awaitable<std::vector<std::string>> Outbox::ack(const std::string& call_sid, const std::string& first,
                                                      std::size_t n) {
  std::vector<std::string> args{"EVAL", kAck, "2", keys_.outbox(call_sid), due_.key(), first.substr(0, kJobPrefix),
                                std::to_string(n), call_sid, std::to_string(io::epoch_ms() + kLease.count()),
                                std::to_string(kReadAhead)};
  auto r = co_await timed_redis(redis_, stats_, std::move(args), "outbox_ack");
  std::vector<std::string> out;
  for (auto& e : r.elements) out.push_back(std::move(e.str));
  co_return out;
}

asio::awaitable<void> Outbox::drain(std::string call_sid, std::vector<std::string> jobs) {
  if (!draining_.insert(call_sid).second) co_return;
  try {
    const std::string none;  // a named local, not a temporary, in a co_await (docs/coroutines.md)
    if (jobs.empty()) jobs = co_await ack(call_sid, none, 0);
    auto renewed = std::chrono::steady_clock::now();
    while (!jobs.empty()) {
      std::size_t sent = 0;
      for (const auto& raw : jobs) {
        // A job that does not parse is dropped rather than blocking the call's outbox forever.
        auto job = parse_job(raw);
        if (!job) log::error("outbox_bad_job", {{"call_sid", call_sid}});
        if (job) co_await hooks_.request(job->account_sid, job->hook, job->payload, job->kind, job->id);
        ++sent;
        // Slow webhooks: acknowledge what went out before the lease can run out under us.
        if (std::chrono::steady_clock::now() - renewed > kLease / 3) break;
      }
      auto first = jobs.front();
      jobs = co_await ack(call_sid, first, sent);
      renewed = std::chrono::steady_clock::now();
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
      spawn_drain(drain(c.member, {}), c.member);
    }
  }
}

asio::awaitable<void> Outbox::flush(const std::string& call_sid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  asio::steady_timer timer(tasks_.get_executor());
  while (std::chrono::steady_clock::now() < deadline) {
    // Our own drain running: it empties the outbox (or hands it on) without asking the store meanwhile.
    if (!draining_.count(call_sid)) {
      std::vector<std::string> len{"LLEN", keys_.outbox(call_sid)};
      auto r = co_await timed_redis(redis_, stats_, std::move(len), "outbox_len");
      if (r.integer == 0) co_return;
    }
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace dp::app
