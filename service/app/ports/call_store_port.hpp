// Port: the store of every call's state, shared by all dialplane instances (store/call_store is the Redis
// implementation; tests/app/fakes the in-memory one).
//
// A call is one versioned record. Every write is a compare-and-set on that version, so instances may apply
// events to the same call concurrently: the loser of a race gets `false`, reloads and applies its change
// again (CallFlow::update). A commit also carries the transition's side effects, written in the same atomic
// step: timer changes (the shared timer set that TimerService polls) and webhook jobs appended to the call's
// outbox (delivered in order by the Outbox). Nothing is written when the version does not match.
//
// Errors: every call may throw io::RedisError (Kind::Timeout when the store did not answer within the
// client's command timeout, Kind::Disconnected, Kind::Reply). A version conflict is not an error.
#pragma once
#include "core/call_model.hpp"
#include "core/dial_machine.hpp"

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dp::app {

class CallStorePort {
 public:
  virtual ~CallStorePort() = default;

  // A call's state and the version it was stored under (1 after the first write).
  struct Versioned {
    core::CallState state;
    long long version = 0;
  };

  // The call with this sid; nullopt when there is none (never created, ended and deleted, or expired).
  virtual boost::asio::awaitable<std::optional<Versioned>> load(const std::string& call_sid) = 0;

  // Only the version the call is stored under (nullopt when there is none): what a follower of the call checks
  // before it loads the whole record again (session/call_watch).
  virtual boost::asio::awaitable<std::optional<long long>> version(const std::string& call_sid) = 0;

  // The sid of the call whose caller INVITE had this SIP Call-ID; nullopt when unknown. The index is written
  // and deleted together with the call.
  virtual boost::asio::awaitable<std::optional<std::string>> sid_for_call_id(const std::string& call_id) = 0;

  // The sid of the call whose current or an earlier dial has a leg (child call) with this sid; nullopt when
  // unknown. Written with every commit for the legs of the call's current dial; deleted with the call.
  virtual boost::asio::awaitable<std::optional<std::string>> sid_for_leg(const std::string& leg_sid) = 0;

  // Up to `limit` live calls of the account, oldest first (by created_at). A call leaves the list in the commit
  // that deletes it; one whose record expired is dropped from the list when met.
  virtual boost::asio::awaitable<std::vector<core::CallState>> live_calls(const std::string& account_sid,
                                                                         std::size_t limit) = 0;

  // What a commit found. `lease`, when it appended jobs: whether the commit also took the call's delivery lease
  // for this instance (Fresh: the outbox held nothing else, so the appended jobs are the whole of it; Backlog:
  // older jobs are still waiting in front of them; None: an instance holds the lease and delivers them).
  enum class OutboxLease { None, Fresh, Backlog };
  struct CommitResult {
    bool ok = false;
    OutboxLease lease = OutboxLease::None;
    // On a version conflict: the call as stored now (nullopt when it no longer exists), so the caller can
    // apply its change again without another load.
    std::optional<Versioned> current;
  };

  // Writes `state` as version `version + 1` (or deletes the call, its Call-ID and leg indices and its place in
  // the account's list when `remove`) if the stored version is still `version` (0 = the call must not exist
  // yet). The indices are written in the same step and expire with the call. In the same atomic step: applies
  // `timers` (due_ms > 0 adds or moves the timer, 0 cancels it) and, when `jobs` is not empty, appends them
  // in order to the call's outbox and, unless an instance holds the outbox's lease, takes it until
  // `now_ms + lease_ms` (CommitResult::lease). Writes nothing on a version conflict. Refreshes the call's expiry.
  virtual boost::asio::awaitable<CommitResult> commit(const core::CallState& state, long long version, bool remove,
                                                      const std::vector<core::TimerOp>& timers,
                                                      const std::vector<std::string>& jobs, long long now_ms,
                                                      long long lease_ms) = 0;

  // commit() of the state alone: no removal, timers or jobs. False on a version conflict.
  boost::asio::awaitable<bool> save(const core::CallState& state, long long version) {
    static const std::vector<core::TimerOp> kNoTimers;
    static const std::vector<std::string> kNoJobs;
    auto r = co_await commit(state, version, false, kNoTimers, kNoJobs, 0, 0);
    co_return r.ok;
  }
};

}  // namespace dp::app
