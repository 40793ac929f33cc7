// The REST API's header checks through the real HttpServer: the Bearer key and the Content-Type are decided
// from the headers, before a body is read (issue 15: up to 1 MiB used to be read first, whoever sent it).
#include <doctest/doctest.h>

#include "app/store/provisioning_store.hpp"
#include "app/api/rest/rest_api.hpp"
#include "io/redis/redis_client.hpp"
#include "server_test_util.hpp"

using namespace std::chrono_literals;
using dp::test::Client;
using dp::test::Served;
using dp::test::status_of;

namespace {

// The REST listener as main wires it. Redis is never reached: every request here stops at the header check.
struct RestServed {
  boost::asio::io_context redis_ioc;
  dp::io::RedisClient redis{redis_ioc.get_executor(), {}};
  dp::app::ProvisioningStore store{redis};
  dp::app::RestApi rest{store, {"secret-key"}};
  Served s{options(), [this](dp::io::ServerRequest& r) { return rest.handle(r); }};

  dp::io::HttpServer::Options options() {
    dp::io::HttpServer::Options o;
    o.header_check = [this](const dp::io::ServerRequest& r) { return rest.check_headers(r); };
    return o;
  }
};

// Headers of a POST announcing a 1 MB body, none of which is sent.
std::string post_head(const std::string& extra) {
  return "POST /v1/Accounts HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n" + extra + "\r\n";
}

}  // namespace

TEST_CASE("REST: no or a wrong Bearer key gets 401 before the body is read") {
  RestServed api;
  for (const char* auth : {"", "Authorization: Bearer wrong\r\n", "Authorization: Basic c2VjcmV0LWtleQ==\r\n"}) {
    Client c(api.s.port());
    c.send(post_head(std::string("Content-Type: application/json\r\n") + auth));
    auto started = std::chrono::steady_clock::now();
    auto res = c.read_all(3000ms);
    CHECK(status_of(res) == 401);
    CHECK(res.find("missing or invalid API key") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < 1500ms);
  }
}

TEST_CASE("REST: a JSON method without Content-Type: application/json gets 415") {
  RestServed api;
  for (const char* ct : {"", "Content-Type: text/plain\r\n", "Content-Type: application/x-www-form-urlencoded\r\n"}) {
    Client c(api.s.port());
    c.send(post_head(std::string("Authorization: Bearer secret-key\r\n") + ct));
    auto res = c.read_all(3000ms);
    CHECK(status_of(res) == 415);
    CHECK(res.find("Content-Type must be application/json") != std::string::npos);
  }
  // PUT too; parameters and case do not matter; the key is checked first.
  Client put(api.s.port());
  put.send("PUT /v1/Accounts/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-key\r\nContent-Length: 2\r\n\r\n{}");
  CHECK(status_of(put.read_all()) == 415);
  Client nokey(api.s.port());
  nokey.send(post_head("Content-Type: text/plain\r\n"));
  CHECK(status_of(nokey.read_all()) == 401);
  Client ok(api.s.port());
  ok.send(post_head("Authorization: Bearer secret-key\r\nContent-Type: Application/JSON; charset=utf-8\r\n"));
  CHECK(ok.read_all(300ms).empty());  // accepted: the server now waits for the body
  CHECK(ok.timed_out());
}
