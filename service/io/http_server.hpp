// Minimal async HTTP/1.1 server on Beast: keep-alive, size limits, header/body/idle deadlines, a connection cap
// per listener, one coroutine per connection.
#pragma once
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

struct ServerRequest {
  std::string method;
  std::string target;  // as received, with query
  std::string path;    // decoded path without query
  std::map<std::string, std::string> query;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_ip;
  std::string header(const std::string& lower_name) const;
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  static ServerResponse json(int status, std::string body);
  static ServerResponse error(int status, const std::string& message);  // {"msg": message}
};

using Handler = std::function<boost::asio::awaitable<ServerResponse>(ServerRequest&)>;
// Sees a request's line and headers (body empty) before its body is read; a response refuses the request
// without reading the body (e.g. a missing API key), nullopt lets it through.
using HeaderCheck = std::function<std::optional<ServerResponse>(const ServerRequest&)>;

// Size limits of one request: the server and the fuzz harness (tests/fuzz) parse with the same ones.
struct RequestLimits {
  std::size_t header_bytes = 8 * 1024;  // request line + header fields
  std::size_t body_bytes = 1 << 20;
  // Most bytes the read buffer holds at once. Beast's header limit does not cover chunked trailers, and a
  // trailer field of 64 KiB makes Beast throw std::length_error out of the read: a trailer must fit in this
  // buffer to be parsed at all, so this bounds it (and trailers are refused anyway, see parse_request).
  std::size_t buffer_bytes = 16 * 1024;
};

// The server's parse step without sockets: one request from `bytes`, read as the server reads it (same
// limits, buffer bound, trailer refusal, to-request conversion). `status` is 0 with a request, else the HTTP
// status the server answers (400, 413, 431) or -1 when the bytes end before the request does.
struct ParsedRequest {
  int status = 0;
  std::string error;
  std::optional<ServerRequest> request;
};
ParsedRequest parse_request(std::string_view bytes, const RequestLimits& limits);

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
  };
  HttpServer(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint ep, Handler h, Options o);
  HttpServer(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint ep, Handler h)
      : HttpServer(ioc, ep, std::move(h), Options{}) {}
  ~HttpServer();
  void start();  // throws on bind failure
  void stop();   // stops accepting; open connections finish their current request
  uint16_t port() const;
  std::size_t connections() const;  // open right now

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dp::io
