// Redis over hiredis's async API, driven by Asio (one connection, pipelined, reconnecting).
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace dp::io {

struct RedisReply {
  enum class Type { Nil, Status, Error, Integer, String, Array };
  Type type = Type::Nil;
  std::string str;            // Status, Error, String
  long long integer = 0;      // Integer
  std::vector<RedisReply> elements;  // Array
  bool is_nil() const { return type == Type::Nil; }
};

// Thrown for a Redis error reply, a timeout, or no connection. what() never contains command arguments
// (they may hold secrets).
class RedisError : public std::runtime_error {
 public:
  enum class Kind { Reply, Timeout, Disconnected };
  RedisError(Kind k, const std::string& msg) : std::runtime_error(msg), kind(k) {}
  Kind kind;
};

class RedisClient {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 6379;
    std::string password;  // AUTH on connect when non-empty
    std::chrono::milliseconds command_timeout{1000};
    std::chrono::milliseconds reconnect_delay{250};
    // When set, the client connects to this Unix domain socket instead of host:port: for a Redis on the same
    // host, each request skips the loopback TCP path in the kernel.
    std::string unix_path;
  };

  RedisClient(boost::asio::any_io_executor ex, Options opts);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects in the background and keeps reconnecting after a loss until stop().
  void start();
  void stop();
  bool connected() const;

  // Runs one command. Throws RedisError (Reply for an error reply, Timeout, Disconnected).
  // Never blocks the calling thread; safe to call from any coroutine on the client's executor.
  // EVAL goes out as EVALSHA (falling back to EVAL when Redis does not know the script yet).
  boost::asio::awaitable<RedisReply> command(std::vector<std::string> args);

  // The SHA1 Redis names a script by (lower-case hex).
  static std::string script_sha(const std::string& body);

 private:
  boost::asio::awaitable<RedisReply> send(std::vector<std::string> args);

  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dp::io
