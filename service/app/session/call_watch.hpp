// The state of the calls that media sessions follow (a dial's listen, each transcribe channel, an amd run), read
// once for all of them. A session's poll gets the copy read within the last `fresh_for`, else one read shared with
// every session asking meanwhile. A read checks the stored version first and loads (and parses) the whole record
// only when it moved: a quiet call costs one small read per poll, and N sessions on one call cost one read, not N
// full loads. One io thread, no lock.
#pragma once
#include "app/ports/call_store_port.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace dp::app {

class CallWatch {
 public:
  using Clock = std::chrono::steady_clock;
  CallWatch(boost::asio::any_io_executor ex, CallStorePort& calls, std::chrono::milliseconds fresh_for);
  ~CallWatch();

  // The call as read at most `fresh_for` ago; nullopt once it is gone. Throws what the store throws
  // (io::RedisError), to every session that waited on that read.
  boost::asio::awaitable<std::optional<CallStorePort::Versioned>> current(const std::string& sid);

  // Calls followed now (a call nobody asked about for kForgetAfter is forgotten).
  std::size_t followed() const { return entries_.size(); }
  static constexpr std::chrono::seconds kForgetAfter{10};

 private:
  struct Entry;
  boost::asio::awaitable<void> read(Entry& e, const std::string& sid);
  void forget_idle(Clock::time_point now);

  boost::asio::any_io_executor ex_;
  CallStorePort& calls_;
  std::chrono::milliseconds fresh_for_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
  Clock::time_point swept_{};
};

}  // namespace dp::app
