// Async HTTP/1.1 + HTTPS client for webhooks and JSON-RPC: keep-alive pool per origin, timeouts.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dp::io {

struct HttpRequest {
  std::string method = "POST";
  std::string url;  // absolute http:// or https:// URL; userinfo is not allowed (use basic_auth)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string basic_auth_user;      // adds "Authorization: Basic …" when non-empty
  std::string basic_auth_password;
  std::chrono::milliseconds timeout{5000};  // whole exchange, connect included
  // Response body cap of this request; 0 = the client's Options::max_body_bytes. A bigger body fails as soon as
  // it is known to be bigger (a Content-Length over it: right after the headers), never read in full.
  std::size_t max_body_bytes = 0;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpError : public std::runtime_error {
 public:
  enum class Kind { BadUrl, Resolve, Connect, Tls, Timeout, Protocol };
  HttpError(Kind k, const std::string& msg, bool too_large = false)
      : std::runtime_error(msg), kind(k), body_too_large(too_large) {}
  Kind kind;
  bool body_too_large = false;  // Kind::Protocol: the response body was over the cap
};

class HttpClient {
 public:
  struct Options {
    std::size_t max_idle_per_origin = 8;
    std::chrono::seconds idle_timeout{30};
    bool verify_tls = true;  // verify peer certificates against the system store
    std::string user_agent = "dialplane/0.1";
    std::size_t max_body_bytes = 1 << 20;
  };
  HttpClient(boost::asio::any_io_executor ex, Options opts);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request; a pooled keep-alive connection is reused when possible (a stale one is retried once).
  // Throws HttpError. Any HTTP status is a response, not an error.
  boost::asio::awaitable<HttpResponse> send(HttpRequest req);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dp::io
