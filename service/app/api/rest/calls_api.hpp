// jambonz's Calls resource of an account (docs/openapi.yaml): live call control and listing.
//   GET  /v1/Accounts/{account_sid}/Calls            live calls (parents and the legs of their current dial)
//   GET  /v1/Accounts/{account_sid}/Calls/{call_sid} one of them (a parent's or a leg's sid)
//   PUT  /v1/Accounts/{account_sid}/Calls/{call_sid} updateCall (POST too: jambonz's legacy form)
//   POST /v1/Accounts/{account_sid}/Calls            createCall: 501, not in dialplane yet
// RestApi authenticates and checks the content type, then hands these paths here.
#pragma once
#include "app/session/live_call.hpp"
#include "io/http/http_server.hpp"

#include <boost/asio/awaitable.hpp>
#include <string_view>

namespace dp::app {

class CallsApi {
 public:
  explicit CallsApi(LiveCallControl& live) : live_(live) {}
  // /v1/Accounts/<anything>/Calls[/…]
  static bool handles(std::string_view path);
  // Never throws: a Redis failure is 503, anything else 500.
  boost::asio::awaitable<io::ServerResponse> handle(io::ServerRequest& req);

 private:
  boost::asio::awaitable<io::ServerResponse> route(io::ServerRequest& req);
  boost::asio::awaitable<io::ServerResponse> update(io::ServerRequest& req, const std::string& account_sid,
                                                    const std::string& sid);
  LiveCallControl& live_;
};

}  // namespace dp::app
