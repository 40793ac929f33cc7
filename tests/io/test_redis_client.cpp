// RedisClient against a real redis-server: DP_TEST_REDIS_PORT when set, otherwise one we start ourselves
// on 127.0.0.1 (killed when the test binary exits).
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>

#include <cstdlib>
#include <string>
#include <thread>

#include "io/redis/redis_client.hpp"
#include "io_test_util.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using dp::io::RedisClient;
using dp::io::RedisError;
using dp::io::RedisReply;

namespace {

class RedisServer {
 public:
  static RedisServer& get() {
    static RedisServer s;
    return s;
  }
  uint16_t port() const { return port_; }
  bool owned() const { return !external_; }  // false: somebody else's server, no restarts / config changes

  void kill_server() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void start_server() {
    std::fflush(nullptr);  // or the child re-flushes our buffered output
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test binary
      std::string p = std::to_string(port_);
      std::freopen("/dev/null", "w", stdout);
      ::execlp("redis-server", "redis-server", "--port", p.c_str(), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--enable-debug-command", "yes", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    REQUIRE(pid_ > 0);
    for (int i = 0; i < 200 && !accepting(); ++i) std::this_thread::sleep_for(25ms);
    REQUIRE(accepting());
  }
  ~RedisServer() { kill_server(); }

 private:
  RedisServer() {
    if (const char* env = std::getenv("DP_TEST_REDIS_PORT"); env && *env) {
      external_ = true;
      port_ = static_cast<uint16_t>(std::atoi(env));
      return;
    }
    port_ = dp::test::free_port();
    start_server();
  }
  bool accepting() const {
    asio::io_context ioc;
    asio::ip::tcp::socket s(ioc);
    boost::system::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    return !ec;
  }
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool external_ = false;
};

// A redis-server of this test's own that listens only on a Unix domain socket (--port 0: no TCP at all), so the
// socket test runs even where the other tests use somebody else's server.
class UnixSocketRedis {
 public:
  UnixSocketRedis() : path_("/tmp/dp-test-redis-" + std::to_string(::getpid()) + ".sock") { start(); }
  ~UnixSocketRedis() { kill(); }
  const std::string& path() const { return path_; }

  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    ::unlink(path_.c_str());
  }
  void start() {
    ::unlink(path_.c_str());
    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::freopen("/dev/null", "w", stdout);
      ::execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", path_.c_str(), "--unixsocketperm",
               "700", "--save", "", "--appendonly", "no", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    REQUIRE(pid_ > 0);
    for (int i = 0; i < 200 && !accepting(); ++i) std::this_thread::sleep_for(25ms);
    REQUIRE(accepting());
  }

 private:
  bool accepting() const {
    asio::io_context ioc;
    asio::local::stream_protocol::socket s(ioc);
    boost::system::error_code ec;
    s.connect(asio::local::stream_protocol::endpoint(path_), ec);
    return !ec;
  }
  std::string path_;
  pid_t pid_ = -1;
};

RedisClient::Options opts(std::chrono::milliseconds timeout = 1000ms) {
  RedisClient::Options o;
  o.port = RedisServer::get().port();
  o.command_timeout = timeout;
  o.reconnect_delay = 100ms;
  return o;
}

// A key unique to this test process so parallel runs against a shared server do not clash.
std::string key(const std::string& k) { return "dp_test:" + std::to_string(getpid()) + ":" + k; }

RedisReply cmd(asio::io_context& ioc, RedisClient& c, std::vector<std::string> args) {
  return dp::test::run(ioc, c.command(std::move(args)));
}

template <class F>
RedisError::Kind error_kind(F&& f) {
  try {
    f();
  } catch (const RedisError& e) {
    return e.kind;
  }
  FAIL("no RedisError thrown");
  return RedisError::Kind::Reply;
}

}  // namespace

TEST_SUITE("redis") {
  TEST_CASE("basic replies: status, string, nil, integer, array, binary") {
    asio::io_context ioc;
    RedisClient c(ioc.get_executor(), opts());
    c.start();
    REQUIRE(dp::test::pump_until(ioc, [&] { return c.connected(); }, 3000ms));

    auto r = cmd(ioc, c, {"SET", key("a"), "hello"});
    CHECK(r.type == RedisReply::Type::Status);
    CHECK(r.str == "OK");
    r = cmd(ioc, c, {"GET", key("a")});
    CHECK(r.type == RedisReply::Type::String);
    CHECK(r.str == "hello");

    cmd(ioc, c, {"DEL", key("missing")});
    r = cmd(ioc, c, {"GET", key("missing")});
    CHECK(r.is_nil());

    cmd(ioc, c, {"DEL", key("n")});
    r = cmd(ioc, c, {"INCRBY", key("n"), "41"});
    CHECK(r.type == RedisReply::Type::Integer);
    CHECK(r.integer == 41);

    const std::string bin("a\0b\r\n$3\r\n*x\xff", 12);
    REQUIRE(bin.size() == 12);
    cmd(ioc, c, {"SET", key("bin"), bin});
    r = cmd(ioc, c, {"GET", key("bin")});
    CHECK(r.str == bin);
    std::string binkey = key(std::string("k\0\n", 3));
    cmd(ioc, c, {"SET", binkey, "v"});
    CHECK(cmd(ioc, c, {"GET", binkey}).str == "v");

    cmd(ioc, c, {"DEL", key("list")});
    cmd(ioc, c, {"RPUSH", key("list"), "x", "", "z"});
    r = cmd(ioc, c, {"LRANGE", key("list"), "0", "-1"});
    REQUIRE(r.type == RedisReply::Type::Array);
    REQUIRE(r.elements.size() == 3);
    CHECK(r.elements[0].str == "x");
    CHECK(r.elements[1].type == RedisReply::Type::String);
    CHECK(r.elements[1].str.empty());
    CHECK(r.elements[2].str == "z");

    // Nested array with a nil element.
    r = cmd(ioc, c, {"MGET", key("a"), key("missing")});
    REQUIRE(r.elements.size() == 2);
    CHECK(r.elements[0].str == "hello");
    CHECK(r.elements[1].is_nil());

    // Error replies inside a transaction stay elements, not exceptions.
    cmd(ioc, c, {"MULTI"});
    cmd(ioc, c, {"SET", key("t"), "notanumber"});
    cmd(ioc, c, {"INCR", key("t")});
    r = cmd(ioc, c, {"EXEC"});
    REQUIRE(r.elements.size() == 2);
    CHECK(r.elements[1].type == RedisReply::Type::Error);

    cmd(ioc, c, {"DEL", key("a"), key("n"), key("bin"), binkey, key("list"), key("t")});
    c.stop();
  }

  TEST_CASE("error replies throw Reply and never echo arguments") {
    asio::io_context ioc;
    RedisClient c(ioc.get_executor(), opts());
    c.start();
    cmd(ioc, c, {"SET", key("s"), "text"});
    CHECK(error_kind([&] { cmd(ioc, c, {"INCR", key("s")}); }) == RedisError::Kind::Reply);
    try {
      cmd(ioc, c, {"NOSUCHCOMMAND", "hunter2-secret"});
      FAIL("expected error");
    } catch (const RedisError& e) {
      CHECK(e.kind == RedisError::Kind::Reply);
      CHECK(std::string(e.what()).find("unknown command") != std::string::npos);
      CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
    }
    // The connection is still usable after errors.
    CHECK(cmd(ioc, c, {"PING"}).str == "PONG");
    cmd(ioc, c, {"DEL", key("s")});
  }

  TEST_CASE("EVAL goes out as EVALSHA; a script Redis does not know (yet, or after SCRIPT FLUSH) is sent once") {
    asio::io_context ioc;
    RedisClient c(ioc.get_executor(), opts());
    c.start();
    const std::string script = "return {KEYS[1], ARGV[1], 'dp-evalsha-test'}";
    cmd(ioc, c, {"SCRIPT", "FLUSH"});
    auto r = cmd(ioc, c, {"EVAL", script, "1", key("k"), "v1"});
    REQUIRE(r.elements.size() == 3);
    CHECK(r.elements[1].str == "v1");
    // Known to Redis now under the SHA1 the client computes.
    auto sha = RedisClient::script_sha(script);
    CHECK(sha.size() == 40);
    CHECK(cmd(ioc, c, {"SCRIPT", "EXISTS", sha}).elements.at(0).integer == 1);
    r = cmd(ioc, c, {"EVAL", script, "1", key("k"), "v2"});
    CHECK(r.elements[1].str == "v2");
    cmd(ioc, c, {"SCRIPT", "FLUSH"});
    r = cmd(ioc, c, {"EVAL", script, "1", key("k"), "v3"});  // NOSCRIPT, then EVAL with the body
    CHECK(r.elements[1].str == "v3");
    // A script's own error stays an error.
    cmd(ioc, c, {"SET", key("s2"), "text"});
    CHECK(error_kind([&] { cmd(ioc, c, {"EVAL", "return redis.call('INCR', KEYS[1])", "1", key("s2")}); }) ==
          RedisError::Kind::Reply);
    cmd(ioc, c, {"DEL", key("k"), key("s2")});
    c.stop();
  }

  TEST_CASE("command timeout, then the late reply is discarded") {
    asio::io_context ioc;
    RedisClient c(ioc.get_executor(), opts(200ms));
    c.start();
    CHECK(cmd(ioc, c, {"SET", key("late"), "v"}).str == "OK");
    // Pause every client (this one included) for 600 ms; the GET behind the pause times out.
    CHECK(cmd(ioc, c, {"CLIENT", "PAUSE", "600", "ALL"}).str == "OK");
    auto t0 = std::chrono::steady_clock::now();
    CHECK(error_kind([&] { cmd(ioc, c, {"GET", key("late")}); }) == RedisError::Kind::Timeout);
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 180ms);
    CHECK(took < 500ms);
    dp::test::pump(ioc, 600ms);  // pause ends, the orphan GET reply arrives and must not be mismatched
    auto r = cmd(ioc, c, {"ECHO", "after"});
    CHECK(r.str == "after");
    CHECK(c.connected());
    cmd(ioc, c, {"DEL", key("late")});
  }

  TEST_CASE("DEBUG SLEEP timeout") {
    if (!RedisServer::get().owned()) {
      MESSAGE("skipped: external redis-server");
      return;
    }
    asio::io_context ioc;
    RedisClient c(ioc.get_executor(), opts(150ms));
    c.start();
    CHECK(error_kind([&] { cmd(ioc, c, {"DEBUG", "SLEEP", "0.4"}); }) == RedisError::Kind::Timeout);
    dp::test::pump(ioc, 400ms);
    CHECK(cmd(ioc, c, {"PING"}).str == "PONG");
  }

  TEST_CASE("CLIENT KILL: in-flight command fails Disconnected, client reconnects") {
    asio::io_context ioc;
    auto o = opts(3000ms);
    RedisClient victim(ioc.get_executor(), o);
    RedisClient killer(ioc.get_executor(), opts());
    victim.start();
    killer.start();
    REQUIRE(dp::test::pump_until(ioc, [&] { return victim.connected() && killer.connected(); }, 3000ms));
    cmd(ioc, victim, {"DEL", key("blq")});

    auto blocked = asio::co_spawn(ioc, victim.command({"BLPOP", key("blq"), "2"}), asio::use_future);
    dp::test::pump(ioc, 100ms);
    auto killed = cmd(ioc, killer, {"CLIENT", "KILL", "TYPE", "normal"});  // SKIPME yes: spares the killer
    CHECK(killed.integer >= 1);
    REQUIRE(dp::test::pump_until(ioc, [&] { return blocked.wait_for(0s) == std::future_status::ready; }, 2000ms));
    try {
      blocked.get();
      FAIL("expected Disconnected");
    } catch (const RedisError& e) {
      CHECK(e.kind == RedisError::Kind::Disconnected);
    }
    REQUIRE(dp::test::pump_until(ioc, [&] { return victim.connected(); }, 3000ms));
    CHECK(cmd(ioc, victim, {"PING"}).str == "PONG");
  }

  TEST_CASE("commands issued during a short outage wait for the reconnect") {
    asio::io_context ioc;
    RedisClient victim(ioc.get_executor(), opts(2000ms));
    RedisClient killer(ioc.get_executor(), opts());
    victim.start();
    killer.start();
    REQUIRE(dp::test::pump_until(ioc, [&] { return victim.connected() && killer.connected(); }, 3000ms));
    cmd(ioc, killer, {"CLIENT", "KILL", "TYPE", "normal"});
    // The command races the loss: it either fails Disconnected (was in flight) or is queued and sent after
    // the reconnect. A second one, issued once the loss is seen, must succeed.
    REQUIRE(dp::test::pump_until(ioc, [&] { return !victim.connected(); }, 2000ms));
    CHECK(cmd(ioc, victim, {"PING"}).str == "PONG");
  }

  TEST_CASE("redis restart") {
    if (!RedisServer::get().owned()) {
      MESSAGE("skipped: external redis-server");
      return;
    }
    asio::io_context ioc;
    RedisClient c(ioc.get_executor(), opts(300ms));
    c.start();
    REQUIRE(dp::test::pump_until(ioc, [&] { return c.connected(); }, 3000ms));
    RedisServer::get().kill_server();
    REQUIRE(dp::test::pump_until(ioc, [&] { return !c.connected(); }, 2000ms));
    CHECK(error_kind([&] { cmd(ioc, c, {"PING"}); }) == RedisError::Kind::Disconnected);
    RedisServer::get().start_server();
    REQUIRE(dp::test::pump_until(ioc, [&] { return c.connected(); }, 5000ms));
    CHECK(cmd(ioc, c, {"PING"}).str == "PONG");
  }

  TEST_CASE("a Unix domain socket instead of host:port, through a restart; a missing socket is Disconnected") {
    UnixSocketRedis server;
    asio::io_context ioc;
    RedisClient::Options o;
    o.command_timeout = 300ms;
    o.reconnect_delay = 100ms;
    o.port = 1;  // nothing listens there (and this server has no TCP port): only the socket can answer
    o.unix_path = server.path();
    RedisClient c(ioc.get_executor(), o);
    c.start();
    REQUIRE(dp::test::pump_until(ioc, [&] { return c.connected(); }, 3000ms));
    cmd(ioc, c, {"SET", key("unix"), "over the socket"});
    CHECK(cmd(ioc, c, {"GET", key("unix")}).str == "over the socket");
    // Redis names a socket client's address after the socket's path
    CHECK(cmd(ioc, c, {"CLIENT", "INFO"}).str.find("addr=" + o.unix_path) != std::string::npos);

    server.kill();
    REQUIRE(dp::test::pump_until(ioc, [&] { return !c.connected(); }, 2000ms));
    server.start();
    REQUIRE(dp::test::pump_until(ioc, [&] { return c.connected(); }, 5000ms));
    CHECK(cmd(ioc, c, {"PING"}).str == "PONG");

    auto missing = o;
    missing.unix_path = "/tmp/dp-test-no-such-redis.sock";
    RedisClient none(ioc.get_executor(), missing);
    none.start();
    dp::test::pump(ioc, 300ms);
    CHECK_FALSE(none.connected());
    CHECK(error_kind([&] { cmd(ioc, none, {"PING"}); }) == RedisError::Kind::Disconnected);
  }

  TEST_CASE("AUTH on connect") {
    if (!RedisServer::get().owned()) {
      MESSAGE("skipped: external redis-server");
      return;
    }
    asio::io_context ioc;
    RedisClient admin(ioc.get_executor(), opts());
    admin.start();
    cmd(ioc, admin, {"CONFIG", "SET", "requirepass", "s3cret pass"});  // existing connections stay authed

    auto o = opts();
    o.password = "s3cret pass";
    RedisClient authed(ioc.get_executor(), o);
    authed.start();
    REQUIRE(dp::test::pump_until(ioc, [&] { return authed.connected(); }, 3000ms));
    CHECK(cmd(ioc, authed, {"PING"}).str == "PONG");

    RedisClient anon(ioc.get_executor(), opts());
    anon.start();
    try {
      cmd(ioc, anon, {"PING"});
      FAIL("expected NOAUTH");
    } catch (const RedisError& e) {
      CHECK(e.kind == RedisError::Kind::Reply);
      CHECK(std::string(e.what()).find("NOAUTH") != std::string::npos);
    }

    auto bad = opts(300ms);
    bad.password = "wrong";
    RedisClient wrong(ioc.get_executor(), bad);
    wrong.start();
    dp::test::pump(ioc, 300ms);
    CHECK_FALSE(wrong.connected());
    CHECK(error_kind([&] { cmd(ioc, wrong, {"PING"}); }) == RedisError::Kind::Disconnected);

    cmd(ioc, admin, {"CONFIG", "SET", "requirepass", ""});
  }

  TEST_CASE("many concurrent commands are pipelined and matched in order") {
    asio::io_context ioc;
    RedisClient c(ioc.get_executor(), opts(5000ms));
    c.start();
    constexpr int kN = 2000;
    std::vector<int> ok(kN, 0);
    auto one = [&](int i) -> asio::awaitable<void> {
      std::string k = key("many:" + std::to_string(i));
      // Named vectors, not braced lists inside co_await (docs/coroutines.md).
      std::vector<std::string> set{"SET", k, "v" + std::to_string(i)}, get{"GET", k}, del{"DEL", k};
      co_await c.command(std::move(set));
      auto r = co_await c.command(std::move(get));
      auto d = co_await c.command(std::move(del));
      if (r.str == "v" + std::to_string(i) && d.integer == 1) ok[i] = 1;
    };
    for (int i = 0; i < kN; ++i) asio::co_spawn(ioc, one(i), asio::detached);
    dp::test::pump_until(ioc, [&] { return std::count(ok.begin(), ok.end(), 1) == kN; }, 10000ms);
    CHECK(std::count(ok.begin(), ok.end(), 1) == kN);
  }

  TEST_CASE("a value larger than the socket buffers is written in parts and read back whole") {
    // 8 MiB: the write stops on a full socket buffer and waits for writability; the reply spans many reads.
    asio::io_context ioc;
    RedisClient c(ioc.get_executor(), opts(5000ms));
    c.start();
    REQUIRE(dp::test::pump_until(ioc, [&] { return c.connected(); }, 3000ms));
    std::string big(8 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7919) % 26);
    CHECK(cmd(ioc, c, {"SET", key("big"), big}).str == "OK");
    auto r = cmd(ioc, c, {"GET", key("big")});
    CHECK(r.str.size() == big.size());
    CHECK(r.str == big);
    CHECK(cmd(ioc, c, {"PING"}).str == "PONG");  // the connection is still in step after it
    cmd(ioc, c, {"DEL", key("big")});
    c.stop();
  }

  TEST_CASE("stopped or never started client fails fast with Disconnected") {
    asio::io_context ioc;
    RedisClient idle(ioc.get_executor(), opts());
    CHECK(error_kind([&] { cmd(ioc, idle, {"PING"}); }) == RedisError::Kind::Disconnected);

    RedisClient c(ioc.get_executor(), opts());
    c.start();
    CHECK(cmd(ioc, c, {"PING"}).str == "PONG");
    c.stop();
    dp::test::pump(ioc, 20ms);
    CHECK_FALSE(c.connected());
    auto t0 = std::chrono::steady_clock::now();
    CHECK(error_kind([&] { cmd(ioc, c, {"PING"}); }) == RedisError::Kind::Disconnected);
    CHECK(std::chrono::steady_clock::now() - t0 < 200ms);
  }

  TEST_CASE("client on a multi-threaded io_context") {
    asio::io_context ioc;
    RedisClient c(ioc.get_executor(), opts(3000ms));
    c.start();
    auto guard = asio::make_work_guard(ioc);
    std::thread t1([&] { ioc.run(); }), t2([&] { ioc.run(); });
    std::atomic<int> ok{0};
    std::vector<std::future<void>> futs;
    for (int i = 0; i < 200; ++i)
      futs.push_back(asio::co_spawn(
          ioc,
          [&, i]() -> asio::awaitable<void> {
            std::vector<std::string> echo{"ECHO", std::to_string(i)};
            auto r = co_await c.command(std::move(echo));
            if (r.str == std::to_string(i)) ++ok;
          },
          asio::use_future));
    for (auto& f : futs) f.wait_for(5s);
    CHECK(ok == 200);
    c.stop();
    // Destroy only after the strand ran the stop, so no other thread touches the client afterwards.
    for (int i = 0; i < 100 && c.connected(); ++i) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(50ms);
    guard.reset();
    ioc.stop();
    t1.join();
    t2.join();
  }
}
