// One task per jambonz verb, built by one factory (jambonz: lib/tasks/task.js + make_task.js). The call session
// runs a call's pending verbs one after another: a task either hands Kamailio a decision (the run stops there
// until Kamailio reports back) or lets the session go on with the next verb. A new verb is a new task here and
// one line in make_task; the media verbs (play, say, gather, listen, ...) join the same way.
#pragma once
#include "app/ports/call_store_port.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace dp::app {

// What a task may do to its call; the call session (CallFlow) implements it.
class VerbSession {
 public:
  virtual ~VerbSession() = default;
  // Forks a dial. nullopt when no leg could be sent (the dial ended at once and its actionHook is pending).
  virtual boost::asio::awaitable<std::optional<boost::json::object>> start_dial(CallStorePort::Versioned cur,
                                                                                 const boost::json::object& verb) = 0;
  // Ends the unanswered call with a final reply to the caller.
  virtual boost::asio::awaitable<boost::json::object> reject_call(const std::string& sid, int code,
                                                                  const std::string& reason,
                                                                  const std::string& hdrs) = 0;
};

class VerbTask {
 public:
  virtual ~VerbTask() = default;
  virtual std::string_view name() const = 0;
  // Runs the verb on the call `cur` (its pending verbs no longer hold this one). Returns Kamailio's next
  // decision, or nullopt to go on with the next verb.
  virtual boost::asio::awaitable<std::optional<boost::json::object>> run(VerbSession& session,
                                                                          CallStorePort::Versioned cur) = 0;
  // Ends the task's long-lived work (media sessions, websockets); the signalling verbs have none.
  virtual void stop() {}
};

// The task for a validated verb; nullptr when dialplane does not run that verb.
std::unique_ptr<VerbTask> make_task(const boost::json::object& verb);

}  // namespace dp::app
