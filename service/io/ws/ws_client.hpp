// A websocket client (RFC 6455) over Beast: ws:// and wss:// (OpenSSL, the system's trust store, SNI, host name
// check), HTTP Basic on the handshake, a subprotocol offer, a deadline on the whole connect (resolve, TCP, TLS,
// upgrade). One reader and one writer may be in flight at once (Beast's rule); the object is used on one thread
// (the service's io_context). Every wait is bounded: connect by its deadline, a write by `write_timeout` (the
// connection is closed when a frame cannot be written in time), close() by 2 s. Used by `listen`
// (app/session/listen_session).
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace dp::io {

struct WsConnectOptions {
  std::string url;  // ws://host[:port]/path?query or wss://…
  std::string username, password;  // HTTP Basic on the upgrade request when username is set
  std::string subprotocol;         // Sec-WebSocket-Protocol offered ("" = none)
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  bool verify_tls = true;
  std::size_t read_limit = 4 * 1024 * 1024;  // a bigger incoming message fails the connection
  std::string user_agent = "dialplane/0.1";
};

class WsError : public std::runtime_error {
 public:
  enum class Kind { BadUrl, Resolve, Connect, Tls, Timeout, Handshake, Closed };
  WsError(Kind k, const std::string& msg) : std::runtime_error(msg), kind(k) {}
  Kind kind;
};
std::string_view to_string(WsError::Kind k);  // bad_url|resolve|connect|tls|timeout|handshake|closed

class WsClient {
 public:
  // Throws WsError (the handshake's HTTP status is in the message when the server refused the upgrade).
  static boost::asio::awaitable<std::unique_ptr<WsClient>> connect(boost::asio::any_io_executor ex,
                                                                   WsConnectOptions opts);
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // One message; false when the connection failed or closed (or the write took longer than write_timeout: the
  // connection is then closed). At most one write at a time.
  boost::asio::awaitable<bool> write(const std::string& payload, bool text);

  struct Message {
    std::string data;
    bool text = true;
  };
  // The next message; nullopt when the connection closed or failed (why: closed_reason()). At most one read at a
  // time.
  boost::asio::awaitable<std::optional<Message>> read();

  // A close frame, then the socket closes (bounded: 2 s). Idempotent; never throws. A pending read/write ends.
  boost::asio::awaitable<void> close();
  // Closes the socket at once (no close frame): pending reads and writes end. Safe from any handler.
  void abort();

  bool open() const;
  const std::string& closed_reason() const;
  const std::string& subprotocol() const;  // the one the server accepted ("" = none)

  struct Impl;

 private:
  explicit WsClient(std::shared_ptr<Impl> i) : impl_(std::move(i)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace dp::io
