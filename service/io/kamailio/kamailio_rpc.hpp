// JSON-RPC 2.0 client for Kamailio's jsonrpcs module over HTTP (http://<node>/RPC).
#pragma once
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <stdexcept>
#include <string>

#include "io/http/http_client.hpp"

namespace dp::io {

// The RPC ran and Kamailio answered with an `error` member (e.g. 404 "Dialog not found").
class RpcError : public std::runtime_error {
 public:
  RpcError(int c, std::string m) : std::runtime_error("rpc error " + std::to_string(c) + ": " + m), code(c), message(std::move(m)) {}
  int code;
  std::string message;
};

class KamailioRpc {
 public:
  explicit KamailioRpc(HttpClient& http) : http_(http) {}

  // Returns the `result` member (null when absent on success). Throws RpcError for an `error` member and
  // HttpError for transport failures or a body that is not a JSON-RPC response.
  boost::asio::awaitable<boost::json::value> call(std::string rpc_url, std::string method, boost::json::array params,
                                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

 private:
  HttpClient& http_;
  std::atomic<long long> next_id_{1};
};

}  // namespace dp::io
