// Minimal async HTTP/1.1 server on Beast: keep-alive, body limit, read timeout, one coroutine per connection.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
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

class HttpServer {
 public:
  struct Options {
    std::size_t max_body_bytes = 1 << 20;
    std::chrono::seconds read_timeout{30};
  };
  HttpServer(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint ep, Handler h, Options o);
  HttpServer(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint ep, Handler h)
      : HttpServer(ioc, ep, std::move(h), Options{}) {}
  ~HttpServer();
  void start();  // throws on bind failure
  void stop();   // stops accepting; open connections finish their current request
  uint16_t port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dp::io
