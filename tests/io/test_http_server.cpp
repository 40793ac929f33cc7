// HttpServer under attack (issue 15), over real loopback sockets: a chunked trailer bomb, slow and idle
// connections against the connection cap and header deadline, accept() failing with EMFILE, a request
// refused from its headers before its body is read, a throwing session. Every wait is bounded.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "server_test_util.hpp"

using namespace dp::test;  // Client, Served, HttpServer, ServerEvent, …

TEST_CASE("a chunked trailer field of 64 KiB is refused and the server keeps serving") {
  Served s;
  // Issue 15's request: Beast's header limit does not cover trailers, and a 65,534-byte field value made
  // Beast throw std::length_error out of ioc.run(), ending the process.
  const std::string bomb = "POST /v1/Accounts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " +
                           std::string(65534, 'a') + "\r\n\r\n";
  {
    Client c(s.port());
    c.send(bomb);
    CHECK(status_of(c.read_all()) == 431);
  }
  CHECK(s.contained == 0);
  CHECK(s.serves());

  // A small trailer would be merged into the headers after they were checked: refused too.
  Client c(s.port());
  c.send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nAuthorization: b\r\n\r\n");
  auto res = c.read_all();
  CHECK(status_of(res) == 400);
  CHECK(res.find("trailer fields are not accepted") != std::string::npos);

  // Chunked bodies without trailers are fine.
  Client ok(s.port());
  ok.send("POST /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  res = ok.read_all();
  CHECK(status_of(res) == 200);
  CHECK(res.find("\"body\":3") != std::string::npos);
}

TEST_CASE("parse_request: the server's parse step without sockets") {
  dp::io::RequestLimits lim;
  auto r = dp::io::parse_request("GET /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nX-A: v\r\n\r\n", lim);
  REQUIRE(r.request);
  CHECK(r.request->path == "/a b");
  CHECK(r.request->query["x"] == "1");
  CHECK(r.request->header("x-a") == "v");
  CHECK(dp::io::parse_request("GET / HTTP/1.1\r\nHost: h\r\n", lim).status == -1);
  CHECK(dp::io::parse_request("POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", lim).status == 413);
  CHECK(dp::io::parse_request("GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", lim).status == 431);
  CHECK(dp::io::parse_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " +
                                  std::string(65534, 'a') + "\r\n\r\n", lim).status == 431);
  CHECK(dp::io::parse_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n\r\n", lim).status == 400);
  auto chunked = dp::io::parse_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", lim);
  REQUIRE(chunked.request);
  CHECK(chunked.request->body == "ab");
  CHECK(dp::io::parse_request("GARBAGE\r\n\r\n", lim).status == 400);
}

TEST_CASE("a connection that does not send its headers in time is closed") {
  HttpServer::Options o;
  o.header_timeout = 300ms;
  Served s(o);
  Client slow(s.port());
  slow.send("GET / HTTP/1.1\r\nHost");  // and nothing more
  auto started = std::chrono::steady_clock::now();
  CHECK(slow.read_all(3000ms).empty());
  CHECK_FALSE(slow.timed_out());
  CHECK(std::chrono::steady_clock::now() - started < 1500ms);

  // A keep-alive connection may stay idle longer than the header deadline between requests.
  o.idle_timeout = 2000ms;
  Served k(o);
  Client c(k.port());
  c.send(get("/1", false));
  CHECK(status_of(c.read_response()) == 200);
  std::this_thread::sleep_for(600ms);
  c.send(get("/2"));
  CHECK(status_of(c.read_all()) == 200);
}

TEST_CASE("over the connection cap, the oldest connection still reading a request makes room") {
  HttpServer::Options o;
  o.max_connections = 4;
  Served s(o);
  auto idle = connect_all(s.port(), 4, "GET / HTTP/1.1\r\n");  // slowloris: requests that never end
  CHECK(eventually([&] { return s.srv->connections() == 4; }));
  CHECK(s.serves());  // the 5th connection is served...
  CHECK(idle[0]->read_all(1000ms).empty());  // ...and the oldest slow one was closed for it
  CHECK_FALSE(idle[0]->timed_out());
  CHECK(s.count(ServerEvent::ConnectionEvicted) >= 1);

  // A flood of slow connections cannot lock real clients out.
  auto flood = connect_all(s.port(), 50, "GET / HTTP/1.1\r\nX: ");
  std::this_thread::sleep_for(100ms);
  CHECK(s.serves());
  CHECK(s.srv->connections() <= 4);
}

TEST_CASE("over the connection cap with every connection busy, the new connection is refused") {
  HttpServer::Options o;
  o.max_connections = 3;
  Served s(o);
  auto busy = connect_all(s.port(), 3, get("/slow"));
  std::this_thread::sleep_for(300ms);
  Client extra(s.port());
  extra.send(get("/ok"));
  CHECK(extra.read_all(1000ms).empty());  // closed at once, no answer
  CHECK_FALSE(extra.timed_out());
  CHECK(s.count(ServerEvent::ConnectionRefused) == 1);
  for (auto& b : busy) CHECK(status_of(b->read_all()) == 200);  // the busy ones finish
  CHECK(s.serves());
}

TEST_CASE("a header check refuses a request before its body is read") {
  HttpServer::Options o;
  o.header_check = [](const ServerRequest& r) -> std::optional<ServerResponse> {
    if (r.header("authorization") != "Bearer k") return ServerResponse::error(401, "missing or invalid API key");
    return std::nullopt;
  };
  Served s(o);
  // Announces 1 MB and sends none of it: the answer must not wait for the body.
  Client c(s.port());
  c.send("POST /v1/Accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n");
  auto started = std::chrono::steady_clock::now();
  auto res = c.read_all(3000ms);
  CHECK(status_of(res) == 401);
  CHECK(std::chrono::steady_clock::now() - started < 1500ms);

  // With the key the body is awaited as usual.
  Client ok(s.port());
  ok.send("POST /v1/Accounts HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer k\r\nContent-Length: 4\r\n\r\n");
  CHECK(ok.read_all(300ms).empty());
  CHECK(ok.timed_out());
  ok.send("{}  ");
  CHECK(status_of(ok.read_all()) == 200);
}

TEST_CASE("an exception escaping a connection's coroutine is logged and counted; the server keeps serving") {
  HttpServer::Options o;
  o.header_check = [](const ServerRequest& r) -> std::optional<ServerResponse> {
    if (r.path == "/boom") throw std::runtime_error("header check exploded");
    return std::nullopt;
  };
  Served s(o);
  Client c(s.port());
  c.send(get("/boom"));
  CHECK(c.read_all().empty());
  CHECK(s.count(ServerEvent::SessionFailed) == 1);
  CHECK(s.serves());
  CHECK(eventually([&] { return s.srv->connections() == 0; }));
}

TEST_CASE("run_contained: a throwing handler does not end the run loop") {
  asio::io_context ioc;
  int ran = 0, caught = 0;
  asio::post(ioc, [] { throw std::length_error("field value too large"); });
  asio::post(ioc, [&] { ++ran; });
  dp::io::run_contained(ioc, [&](std::exception_ptr) { ++caught; });
  CHECK(caught == 1);
  CHECK(ran == 1);
}

// With the descriptor limit reached, accept() fails with EMFILE until something closes. The loop used to
// retry at once (97 % CPU, millions of log lines); now it backs off from 10 ms to 1 s and logs once a second.
TEST_CASE("accept failing with EMFILE backs off, logs rarely, and recovers") {
  asio::io_context ioc;
  std::atomic<int> accept_errors{0};
  HttpServer::Options o;
  o.observer = [&](std::string_view, ServerEvent ev) { accept_errors += ev == ServerEvent::AcceptError; };
  HttpServer srv(ioc, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), dp::test::free_port()),
                 [](ServerRequest&) -> asio::awaitable<ServerResponse> { co_return ServerResponse::json(200, "{}"); },
                 o);
  srv.start();
  dp::test::pump(ioc, 50ms);
  Client waiting(srv.port());  // completes in the kernel's backlog; accept() is what fails
  waiting.send(get("/after"));

  // stderr to a file while the limit is reached, to count log lines
  char log_path[] = "/tmp/dp_io_emfile_XXXXXX";
  int log_fd = ::mkstemp(log_path);
  REQUIRE(log_fd >= 0);
  std::fflush(stderr);
  int saved_stderr = ::dup(2);
  ::dup2(log_fd, 2);

  rlimit old{};
  ::getrlimit(RLIMIT_NOFILE, &old);
  int highest = ::dup(0);
  ::close(highest);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(highest + 8);
  ::setrlimit(RLIMIT_NOFILE, &low);
  std::vector<int> hogs;
  for (int fd; (fd = ::dup(0)) >= 0;) hogs.push_back(fd);

  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  dp::test::pump(ioc, 1500ms);
  ::getrusage(RUSAGE_SELF, &after);

  for (int fd : hogs) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &old);
  std::fflush(stderr);
  ::dup2(saved_stderr, 2);
  ::close(saved_stderr);

  auto cpu = [](const rusage& r) {
    return std::chrono::seconds(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           std::chrono::microseconds(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
  };
  std::ifstream in(log_path);
  std::stringstream logged;
  logged << in.rdbuf();
  ::close(log_fd);
  ::unlink(log_path);
  std::size_t lines = 0;
  for (std::size_t p = 0; (p = logged.str().find("event=http_accept_failed", p)) != std::string::npos; ++p) ++lines;

  INFO("accept errors: " << accept_errors.load() << ", log lines: " << lines);
  CHECK(accept_errors >= 3);   // it did hit EMFILE...
  CHECK(accept_errors <= 12);  // ...and waited 10, 20, 40 … ms in between instead of spinning
  CHECK(lines >= 1);
  CHECK(lines <= 3);  // at most one line a second
  CHECK(cpu(after) - cpu(before) < 500ms);

  // Descriptors are back: the waiting connection is accepted (after at most one more backoff) and served.
  std::atomic<bool> done{false};
  std::string res;
  std::thread reader([&] {
    res = waiting.read_all(3000ms);
    done = true;
  });
  dp::test::pump_until(ioc, [&] { return done.load(); }, 3500ms);
  reader.join();
  CHECK(status_of(res) == 200);
}
