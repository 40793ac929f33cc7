// RestApi::handle over the fake provisioning store, without a socket: authentication, the 4xx answers and
// their messages, and create/read/replace/delete with their reference checks.
#include <doctest/doctest.h>

#include "app/api/rest/rest_api.hpp"
#include "app_world.hpp"

namespace json = boost::json;
using namespace dp::test;

namespace {

const std::string kKey = "rest-key-1";

struct RestWorld : AppWorld {
  dp::app::RestApi rest{prov, {"", kKey}};

  dp::io::ServerResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                              std::map<std::string, std::string> query = {}, const std::string& key = kKey) {
    dp::io::ServerRequest req;
    req.method = method;
    req.path = path;
    req.target = path;
    req.query = std::move(query);
    req.body = body;
    if (!key.empty()) req.headers.emplace_back("authorization", "Bearer " + key);
    if (method == "POST" || method == "PUT") req.headers.emplace_back("content-type", "application/json");
    return run(rest.handle(req));
  }
  static std::string msg(const dp::io::ServerResponse& r) {
    auto v = json::parse(r.body);
    return str_of(v.as_object(), "msg");
  }
};

}  // namespace

TEST_CASE("REST auth: a missing, wrong or non-Bearer key is 401; a JSON method needs a JSON body type") {
  RestWorld w;
  auto none = w.call("GET", "/v1/Accounts", "", {}, "");
  CHECK(none.status == 401);
  CHECK(RestWorld::msg(none) == "missing or invalid API key");
  CHECK(w.call("GET", "/v1/Accounts", "", {}, "wrong").status == 401);

  dp::io::ServerRequest basic;
  basic.method = "GET";
  basic.path = "/v1/Accounts";
  basic.headers.emplace_back("authorization", "Basic " + kKey);
  CHECK(w.run(w.rest.handle(basic)).status == 401);

  dp::io::ServerRequest text;
  text.method = "POST";
  text.path = "/v1/Accounts";
  text.headers.emplace_back("authorization", "bearer  " + kKey + " ");  // any case, optional whitespace
  text.headers.emplace_back("content-type", "text/plain");
  auto refused = w.run(w.rest.handle(text));
  CHECK(refused.status == 415);
  CHECK(RestWorld::msg(refused) == "Content-Type must be application/json");

  CHECK(w.call("GET", "/v1/Accounts").status == 200);
}

TEST_CASE("REST routing: unknown paths 404, wrong methods 405 with Allow") {
  RestWorld w;
  CHECK(w.call("GET", "/v2/Accounts").status == 404);
  CHECK(w.call("GET", "/v1/Nothing").status == 404);
  CHECK(w.call("GET", "/v1/Accounts/" + kAccountSid + "/extra").status == 404);
  auto patch = w.call("PATCH", "/v1/Accounts");
  CHECK(patch.status == 405);
  REQUIRE(patch.headers.size() == 1);
  CHECK(patch.headers[0] == std::pair<std::string, std::string>{"Allow", "GET, POST"});
  auto post_one = w.call("POST", "/v1/Accounts/" + kAccountSid, "{}");
  CHECK(post_one.status == 405);
  CHECK(post_one.headers[0].second == "GET, PUT, DELETE");
  CHECK(w.call("POST", "/v1/Carriers/" + kCarrierA + "/health").status == 405);
}

TEST_CASE("REST accounts: create with a generated sid, read it back without its secret, refuse duplicates") {
  RestWorld w;
  auto created = w.call("POST", "/v1/Accounts", R"({"name":"beta","webhook_secret":"wh-secret-123"})");
  REQUIRE(created.status == 201);
  auto sid = str_of(json::parse(created.body).as_object(), "sid");
  CHECK(dp::core::is_uuid(sid));
  REQUIRE(w.prov.entities["account"].count(sid) == 1);
  CHECK(str_of(w.prov.entities["account"][sid], "webhook_secret") == "wh-secret-123");

  auto got = w.call("GET", "/v1/Accounts/" + sid);
  CHECK(got.status == 200);
  auto o = json::parse(got.body).as_object();
  CHECK(str_of(o, "name") == "beta");
  CHECK(str_of(o, "webhook_secret") != "wh-secret-123");

  auto dup = w.call("POST", "/v1/Accounts", R"({"account_sid":")" + sid + R"(","name":"again"})");
  CHECK(dup.status == 409);
  CHECK(RestWorld::msg(dup) == "account_sid: account " + sid + " already exists");

  auto bad = w.call("POST", "/v1/Accounts", R"({"name":"x","account_sid":"not-a-uuid"})");
  CHECK(bad.status == 400);
  CHECK(RestWorld::msg(bad) == "account_sid: must be a UUID");
  CHECK(w.call("POST", "/v1/Accounts", "{not json").status == 400);
  CHECK(w.call("GET", "/v1/Accounts/not-a-uuid").status == 404);
  auto missing = w.call("GET", "/v1/Accounts/0f0e0d0c-0000-4000-8000-00000000dead");
  CHECK(missing.status == 404);
  CHECK(RestWorld::msg(missing) == "account not found");
}

TEST_CASE("REST applications: references, listing per account, replace rules") {
  RestWorld w;
  const std::string ghost = "0f0e0d0c-0000-4000-8000-00000000dead";
  auto no_acct = w.call("POST", "/v1/Applications",
                        R"({"account_sid":")" + ghost + R"(","name":"x","call_hook":"http://h.test/c"})");
  CHECK(no_acct.status == 400);
  CHECK(RestWorld::msg(no_acct) == "account_sid: account " + ghost + " does not exist");

  auto made = w.call("POST", "/v1/Applications",
                     R"({"account_sid":")" + kAccountSid + R"(","name":"second","call_hook":"http://h.test/c"})");
  REQUIRE(made.status == 201);
  auto sid = str_of(json::parse(made.body).as_object(), "sid");

  auto all = json::parse(w.call("GET", "/v1/Applications").body).as_array();
  CHECK(all.size() == 2);
  auto none = json::parse(w.call("GET", "/v1/Applications", "", {{"account_sid", ghost}}).body).as_array();
  CHECK(none.empty());
  auto mine = json::parse(w.call("GET", "/v1/Applications", "", {{"account_sid", kAccountSid}}).body).as_array();
  CHECK(mine.size() == 2);

  auto replaced = w.call("PUT", "/v1/Applications/" + sid,
                         R"({"account_sid":")" + kAccountSid + R"(","name":"renamed","call_hook":"http://h.test/d"})");
  CHECK(replaced.status == 204);
  CHECK(replaced.body.empty());
  auto after = w.run(w.prov.application(sid));
  REQUIRE(after);
  CHECK(after->name == "renamed");
  CHECK(after->call_hook.url == "http://h.test/d");

  {
    dp::core::Account other;
    other.account_sid = ghost;
    other.name = "other";
    w.prov.add(other);
    auto moved = w.call("PUT", "/v1/Applications/" + sid,
                        R"({"account_sid":")" + ghost + R"(","name":"moved","call_hook":"http://h.test/d"})");
    CHECK(moved.status == 400);
    CHECK(RestWorld::msg(moved) == "account_sid: cannot be changed");
  }
  auto mismatch = w.call("PUT", "/v1/Applications/" + sid,
                         R"({"application_sid":")" + kAppSid + R"(","account_sid":")" + kAccountSid +
                             R"(","name":"x","call_hook":"http://h.test/d"})");
  CHECK(mismatch.status == 400);
  CHECK(RestWorld::msg(mismatch) == "application_sid: does not match the URL");
  CHECK(w.call("PUT", "/v1/Applications/" + ghost,
               R"({"account_sid":")" + kAccountSid + R"(","name":"x","call_hook":"http://h.test/d"})")
            .status == 404);
}

TEST_CASE("REST deletes: refused while referenced (422), then allowed") {
  RestWorld w;
  auto acct = w.call("DELETE", "/v1/Accounts/" + kAccountSid);
  CHECK(acct.status == 422);
  CHECK(RestWorld::msg(acct) == "account " + kAccountSid + " is in use by application " + kAppSid);
  auto app = w.call("DELETE", "/v1/Applications/" + kAppSid);
  CHECK(app.status == 422);
  CHECK(RestWorld::msg(app) == "application " + kAppSid + " is in use by phone_number +" + kCalledNumber);
  auto carrier = w.call("DELETE", "/v1/Carriers/" + kCarrierA);
  CHECK(carrier.status == 422);
  CHECK(RestWorld::msg(carrier) == "carrier " + kCarrierA + " is in use by account " + kAccountSid);

  CHECK(w.call("DELETE", "/v1/PhoneNumbers/+" + kCalledNumber).status == 204);
  CHECK(w.prov.entities["phone_number"].empty());
  CHECK(w.call("DELETE", "/v1/Applications/" + kAppSid).status == 204);
  CHECK(w.call("DELETE", "/v1/Applications/" + kAppSid).status == 404);
  CHECK(w.call("DELETE", "/v1/Carriers/" + kCarrierB).status == 204);
  CHECK(w.run(w.prov.carrier_by_name(kAccountSid, "carrier-b")) == std::nullopt);
}

TEST_CASE("REST carriers: names are unique per account, also against a concurrent writer") {
  RestWorld w;
  auto body = [](const std::string& name) {
    return R"({"account_sid":")" + kAccountSid + R"(","name":")" + name + R"(","gateways":[{"host":"gw.test","options_ping":true}]})";
  };
  auto dup = w.call("POST", "/v1/Carriers", body("Carrier-A"));
  CHECK(dup.status == 409);
  CHECK(RestWorld::msg(dup) == "name: a carrier with this name already exists in the account");

  auto made = w.call("POST", "/v1/Carriers", body("carrier-c"));
  REQUIRE(made.status == 201);
  CHECK(w.prov.ping_set.count("sip:gw.test:5060;transport=udp") == 1);

  // Another instance took the name between the check and the write: the store's script refuses it.
  w.prov.carrier_names[dp::core::to_lower_ascii(kAccountSid) + ":carrier-d"] = "0f0e0d0c-0000-4000-8000-0000000000dd";
  auto raced = w.call("POST", "/v1/Carriers", body("carrier-d"));
  CHECK(raced.status == 409);
  CHECK(RestWorld::msg(raced) == "name: a carrier with this name already exists in the account");

  auto health = w.call("GET", "/v1/Carriers/" + str_of(json::parse(made.body).as_object(), "sid") + "/health");
  CHECK(health.status == 200);
  auto gws = json::parse(health.body).as_object().at("gateways").as_array();
  REQUIRE(gws.size() == 1);
  CHECK(str_of(gws[0].as_object(), "state") == "unknown");
  CHECK(gws[0].as_object().at("usable").as_bool());
  CHECK(w.call("GET", "/v1/Carriers/0f0e0d0c-0000-4000-8000-00000000dead/health").status == 404);
}

TEST_CASE("REST storage failures: 503 when the store is unreachable") {
  RestWorld w;
  w.prov.fail_next(dp::io::RedisError::Kind::Timeout);
  auto r = w.call("GET", "/v1/Accounts");
  CHECK(r.status == 503);
  CHECK(RestWorld::msg(r) == "storage unavailable");
  w.prov.fail_next(dp::io::RedisError::Kind::Reply);
  CHECK(w.call("GET", "/v1/Accounts/" + kAccountSid).status == 500);
}
