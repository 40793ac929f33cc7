// In-memory CallStorePort with the Redis store's semantics: a version per call, compare-and-set commits that
// write nothing on a conflict, deletion with the Call-ID and leg (child) indices and the account's list, the
// shared timer set, and each call's outbox list (plus its due mark, set only when not held) written in the same
// step. States are stored as JSON, as
// the real store does, so every load is a fresh copy that went through core::to_json/call_state_from_json.
#pragma once
#include "app/ports/call_store_port.hpp"
#include "io/redis/redis_client.hpp"

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dp::test {

class FakeCallStore final : public app::CallStorePort {
 public:
  struct Record {
    std::string state_json;
    long long version = 0;
  };

  boost::asio::awaitable<std::optional<Versioned>> load(const std::string& call_sid) override {
    fail_if_scripted();
    ++loads;
    co_return stored(call_sid);
  }

  boost::asio::awaitable<std::optional<long long>> version(const std::string& call_sid) override {
    fail_if_scripted();
    ++version_reads;
    auto it = calls.find(call_sid);
    if (it == calls.end()) co_return std::nullopt;
    co_return it->second.version;
  }

  boost::asio::awaitable<std::optional<std::string>> sid_for_call_id(const std::string& call_id) override {
    fail_if_scripted();
    auto it = call_ids.find(call_id);
    if (it == call_ids.end()) co_return std::nullopt;
    co_return it->second;
  }

  boost::asio::awaitable<std::optional<std::string>> sid_for_leg(const std::string& leg_sid) override {
    fail_if_scripted();
    auto it = children.find(leg_sid);
    if (it == children.end()) co_return std::nullopt;
    co_return it->second;
  }

  boost::asio::awaitable<std::vector<core::CallState>> live_calls(const std::string& account_sid,
                                                                 std::size_t limit) override {
    fail_if_scripted();
    std::vector<core::CallState> out;
    auto it = account_calls.find(account_sid);
    if (it == account_calls.end()) co_return out;
    for (const auto& [created_ms, sid] : it->second) {
      if (out.size() >= limit) break;
      if (auto cur = stored(sid)) out.push_back(std::move(cur->state));
    }
    co_return out;
  }

  boost::asio::awaitable<CommitResult> commit(const core::CallState& state, long long version, bool remove,
                                              const std::vector<core::TimerOp>& timer_ops,
                                              const std::vector<std::string>& jobs, long long now_ms,
                                              long long lease_ms) override {
    fail_if_scripted();
    if (before_commit) {
      auto hook = std::move(before_commit);  // once: it may itself commit
      before_commit = nullptr;
      hook();
    }
    CommitResult r;
    auto waiting = outboxes[state.call_sid].size();
    r.ok = apply(state, version, remove, timer_ops, jobs, now_ms, lease_ms);
    if (!r.ok) {
      r.current = stored(state.call_sid);  // as the store answers a conflict
      co_return r;
    }
    if (lease_taken_)
      r.lease = waiting == 0 ? OutboxLease::Fresh : OutboxLease::Backlog;
    co_return r;
  }

  // The compare-and-set itself, synchronous (also used by tests to play "another instance").
  bool apply(const core::CallState& state, long long version, bool remove, const std::vector<core::TimerOp>& timer_ops,
             const std::vector<std::string>& jobs, long long now_ms, long long lease_ms = 0) {
    auto it = calls.find(state.call_sid);
    long long current = it == calls.end() ? 0 : it->second.version;
    if (current != version) {
      ++conflicts;
      return false;
    }
    ++commits;
    lease_taken_ = false;
    auto created_ms = static_cast<long long>(state.created_at * 1000.0 + 0.5);
    if (remove) {
      calls.erase(state.call_sid);
      call_ids.erase(state.call_id);
      account_calls[state.account_sid].erase({created_ms, state.call_sid});
      for (const auto& leg : indexed_legs[state.call_sid]) children.erase(leg);
      indexed_legs.erase(state.call_sid);
    } else {
      calls[state.call_sid] = {boost::json::serialize(core::to_json(state)), version + 1};
      call_ids[state.call_id] = state.call_sid;
      account_calls[state.account_sid].insert({created_ms, state.call_sid});
      if (state.dial)
        for (const auto& leg : state.dial->legs) {
          children[leg.call_sid] = state.call_sid;
          indexed_legs[state.call_sid].insert(leg.call_sid);
        }
    }
    for (const auto& t : timer_ops) {
      if (t.due_ms == 0)
        timers.erase(t.id);
      else
        timers[t.id] = t.due_ms;
    }
    if (!jobs.empty()) {
      auto& list = outboxes[state.call_sid];
      list.insert(list.end(), jobs.begin(), jobs.end());
      // A free or run-out lease becomes the committer's; a holder keeps its own.
      auto due = outbox_due.find(state.call_sid);
      lease_taken_ = due == outbox_due.end() || due->second <= now_ms;
      if (lease_taken_) outbox_due[state.call_sid] = now_ms + lease_ms;
    }
    return true;
  }

  std::optional<Versioned> stored(const std::string& call_sid) const {
    auto it = calls.find(call_sid);
    if (it == calls.end()) return std::nullopt;
    Versioned out;
    out.version = it->second.version;
    out.state = core::call_state_from_json(boost::json::parse(it->second.state_json));
    return out;
  }

  // The next store call throws this (e.g. a Redis timeout).
  void fail_next(io::RedisError::Kind kind) { failure_ = kind; }

  std::map<std::string, Record> calls;                         // call_sid -> state
  std::map<std::string, std::string> call_ids;                 // SIP Call-ID -> call_sid
  std::map<std::string, std::string> children;                 // leg (child) call_sid -> call_sid
  std::map<std::string, std::set<std::string>> indexed_legs;   // call_sid -> its legs in `children`
  std::map<std::string, std::set<std::pair<long long, std::string>>> account_calls;  // account -> (created ms, sid)
  std::map<std::string, long long> timers;                     // timer id -> due (ms)
  std::map<std::string, std::vector<std::string>> outboxes;    // call_sid -> jobs, oldest first
  std::map<std::string, long long> outbox_due;                 // call_sid -> due (ms)
  std::function<void()> before_commit;                         // runs inside the next commit, before the compare
  int commits = 0;
  int conflicts = 0;
  int loads = 0;          // load() calls
  int version_reads = 0;  // version() calls

 private:
  bool lease_taken_ = false;  // by the last apply()

  void fail_if_scripted() {
    if (!failure_) return;
    auto kind = *failure_;
    failure_.reset();
    throw io::RedisError(kind, "scripted redis failure");
  }
  std::optional<io::RedisError::Kind> failure_;
};

}  // namespace dp::test
