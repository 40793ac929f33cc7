// Minimal async HTTP/1.1 server on Beast: keep-alive, size limits, header/body/idle deadlines, a connection cap
// per listener, one coroutine per connection.
#pragma once
#include "io/http/http_message.hpp"
#include "io/task_group.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dp::io {

using Handler = std::function<boost::asio::awaitable<ServerResponse>(ServerRequest&)>;
// Sees a request's line and headers (body empty) before its body is read; a response refuses the request
// without reading the body (e.g. a missing API key), nullopt lets it through.
using HeaderCheck = std::function<std::optional<ServerResponse>(const ServerRequest&)>;

// What a listener reports to metrics (listener name, event).
enum class ServerEvent {
  ConnectionOpened,
  ConnectionClosed,
  AcceptError,       // accept() failed (EMFILE, ENFILE, ENOBUFS…); the loop backs off
  ConnectionEvicted,  // over the cap: the oldest connection still reading a request was closed
  ConnectionRefused,  // over the cap and every connection busy with a request: the new one was closed
  SessionFailed,      // an exception escaped a connection's coroutine (logged, connection dropped)
};
using ServerObserver = std::function<void(std::string_view listener, ServerEvent)>;

class HttpServer {
 public:
  struct Options {
    std::string name = "http";  // listener name in logs and metrics
    RequestLimits limits;
    // A new connection must deliver its first request line and headers within this time.
    std::chrono::milliseconds header_timeout{5000};
    // Request body, once the headers are in.
    std::chrono::milliseconds body_timeout{15000};
    // A keep-alive connection may wait this long for its next request (then header_timeout applies).
    std::chrono::milliseconds idle_timeout{30000};
    // Open connections of this listener; over it the oldest connection still reading a request is closed
    // to make room (slow senders go first), or the new one if every connection is busy. 0 = no cap.
    std::size_t max_connections = 1024;
    HeaderCheck header_check;   // optional
    ServerObserver observer;    // optional
    // Owns the accept loop and the connections' coroutines, so a shutdown can cancel and wait for them;
    // nullptr: the server keeps a group of its own.
    TaskGroup* tasks = nullptr;
  };
  HttpServer(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint ep, Handler h, Options o);
  HttpServer(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint ep, Handler h)
      : HttpServer(ioc, ep, std::move(h), Options{}) {}
  ~HttpServer();
  void start();  // throws on bind failure
  // Drains the listener: stops accepting and closes idle connections; a connection busy with a request
  // answers it and closes. Callable from any thread.
  void stop();
  uint16_t port() const;
  std::size_t connections() const;  // open right now

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dp::io
