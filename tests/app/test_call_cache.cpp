// The per-instance cache of committed call states: bounded (least recently used out), never steps back to an older
// version, and erase() forgets a call.
#include <doctest/doctest.h>

#include "app/session/call_cache.hpp"

namespace {
dp::app::CallStorePort::Versioned state(const std::string& sid, long long version) {
  dp::app::CallStorePort::Versioned v;
  v.state.call_sid = sid;
  v.version = version;
  return v;
}
}  // namespace

TEST_CASE("CallCache: bounded, least recently used out") {
  dp::app::CallCache cache(2);
  cache.put("a", state("a", 1));
  cache.put("b", state("b", 1));
  REQUIRE(cache.get("a"));  // a is now the most recent
  cache.put("c", state("c", 1));
  CHECK(cache.size() == 2);
  CHECK_FALSE(cache.get("b"));
  CHECK(cache.get("a"));
  CHECK(cache.get("c"));
}

TEST_CASE("CallCache: a newer version replaces, an older one never does; erase forgets") {
  dp::app::CallCache cache(4);
  cache.put("a", state("a", 3));
  cache.put("a", state("a", 2));  // a slower writer of this instance finishing late
  CHECK(cache.get("a")->version == 3);
  cache.put("a", state("a", 4));
  CHECK(cache.get("a")->version == 4);
  cache.erase("a");
  CHECK_FALSE(cache.get("a"));
  CHECK(cache.size() == 0);
  dp::app::CallCache off(0);
  off.put("x", state("x", 1));
  CHECK_FALSE(off.get("x"));
}
