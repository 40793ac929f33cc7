// dialplane's SIP header rules for dial.headers / target.headers.
#include <doctest/doctest.h>

#include "core/sip_headers.hpp"
#include "core/verb_validation.hpp"

#include <boost/json.hpp>

#include <string>

namespace json = boost::json;
using namespace dp::core;

namespace {

std::string headers_error(std::string_view headers_json, std::string_view where = "dial") {
  auto err = check_headers(json::parse(headers_json), where);
  return err ? *err : std::string();
}

std::string dial_error(std::string_view app_json) {
  auto r = validate_app(json::parse(app_json));
  REQUIRE(r.ok());
  auto err = check_dial_headers(r.verbs.at(0).as_object());
  return err ? *err : std::string();
}

}  // namespace

TEST_SUITE("sip_headers") {

TEST_CASE("header names must be SIP tokens") {
  for (auto ok : {"X-Foo", "P-Asserted-Identity", "x.y!%*_+`'~9"}) {
    CAPTURE(ok);
    CHECK(headers_error("{\"" + std::string(ok) + "\":\"1\"}") == "");
  }
  for (auto bad : {"X(1)", "X\u00e9", "X\\r\\nVia", "X;a", "X/Y"}) {
    CAPTURE(bad);
    auto err = headers_error("{\"" + std::string(bad) + "\":\"1\"}");
    CHECK(err.find("is not a valid SIP token") != std::string::npos);
  }
  CHECK(headers_error(R"({"X Bad":"1"})") == "dial: header name \"X Bad\" is not a valid SIP token");
  CHECK(headers_error(R"({"":"1"})") == "dial: header name \"\" is not a valid SIP token");
  CHECK(headers_error(R"({"X-Foo:":"1"})", "target") == "target: header name \"X-Foo:\" is not a valid SIP token");
}

TEST_CASE("dialog-forming headers cannot be set, in any case or compact form") {
  for (auto h : {"Via", "From", "To", "Call-ID", "CSeq", "Contact", "Route", "Record-Route", "Max-Forwards",
                 "Content-Length", "Content-Type", "v", "f", "t", "i", "m", "l", "c", "VIA", "call-id", "cseq",
                 "RECORD-ROUTE", "max-forwards", "content-type", "V", "I"}) {
    CAPTURE(h);
    CHECK(is_reserved_sip_header(h));
    CHECK(headers_error("{\"" + std::string(h) + "\":\"x\"}") == "dial: header " + std::string(h) + " cannot be set");
  }
  for (auto h : {"X-Foo", "P-Asserted-Identity", "Privacy", "User-to-User", "Subject", "Tos", "Vias", "Call-Info"}) {
    CAPTURE(h);
    CHECK_FALSE(is_reserved_sip_header(h));
  }
  CHECK(headers_error(R"({"X-A":"1","Via":"SIP/2.0/UDP evil"})") == "dial: header Via cannot be set");
}

TEST_CASE("values") {
  CHECK(headers_error(R"({"X-A":"plain","X-B":"","X-C":"tab\there","X-D":"caf\u00e9"})") == "");
  CHECK(headers_error(R"({"X-Foo":"a\r\nVia: x"})", "target") == "target: header X-Foo value contains CR or LF");
  CHECK(headers_error(R"({"X-Foo":"a\nb"})") == "dial: header X-Foo value contains CR or LF");
  CHECK(headers_error(R"({"X-Foo":"a\rb"})") == "dial: header X-Foo value contains CR or LF");
  CHECK(headers_error(R"({"X-Foo":"a\u0000b"})") == "dial: header X-Foo value contains a control character");
  CHECK(headers_error(R"({"X-Foo":"a\u0007b"})") == "dial: header X-Foo value contains a control character");
  CHECK(headers_error(R"({"X-Foo":"a\u007fb"})") == "dial: header X-Foo value contains a control character");
  // numbers and booleans are stringified; null, objects and arrays are not header values
  CHECK(headers_error(R"({"X-N":5,"X-D":2.5,"X-B":true})") == "");
  CHECK(headers_error(R"({"X-Foo":null})") == "dial: header X-Foo value must be a string, number or boolean");
  CHECK(headers_error(R"({"X-Foo":{}})") == "dial: header X-Foo value must be a string, number or boolean");
  CHECK(headers_error(R"({"X-Foo":["a"]})") == "dial: header X-Foo value must be a string, number or boolean");
}

TEST_CASE("the headers value itself") {
  CHECK(headers_error("{}") == "");
  CHECK(headers_error("null") == "");  // jambonz allows null for an object property: no headers
  CHECK(headers_error(R"(["a"])") == "dial: headers must be an object");  // jambonz lets this through
  CHECK(headers_error(R"({"X-Foo":"1","x-foo":"2"})") == "dial: header x-foo is given more than once");
}

TEST_CASE("all headers of a dial verb") {
  CHECK(dial_error(R"([{"verb":"dial","headers":{"X-A":"1"},"target":[{"type":"phone","number":"1","headers":{"X-B":"2"}}]}])") == "");
  CHECK(dial_error(R"([{"verb":"dial","headers":{"From":"x"},"target":[{"type":"phone"}]}])") == "dial: header From cannot be set");
  CHECK(dial_error(R"([{"verb":"dial","target":[{"type":"phone"},{"type":"sip","headers":{"X-Foo":"a\nb"}}]}])") ==
        "target: header X-Foo value contains CR or LF");
  CHECK(dial_error(R"([{"verb":"dial","headers":["a"],"target":[]}])") == "dial: headers must be an object");
  CHECK(dial_error(R"([{"verb":"dial","target":[{"type":"user","headers":null}]}])") == "");
  // other verbs are not checked here
  CHECK(dial_error(R"([{"verb":"hangup","headers":{"Via":"x"}}])") == "");
}

TEST_CASE("merge: target overrides dial, case-insensitively") {
  auto merged = merge_headers(json::parse(R"({"X-A":"1","X-B":"2"})"), json::parse(R"({"x-b":"3","X-C":4})"));
  REQUIRE(merged.size() == 3);
  CHECK(merged[0] == std::pair<std::string, std::string>{"X-A", "1"});
  CHECK(merged[1] == std::pair<std::string, std::string>{"x-b", "3"});
  CHECK(merged[2] == std::pair<std::string, std::string>{"X-C", "4"});
  CHECK(merge_headers(json::value(nullptr), json::parse(R"({"X-A":true})")) == SipHeaderList{{"X-A", "true"}});
  CHECK(merge_headers(json::parse(R"({"X-A":2.5})"), json::value(nullptr)) == SipHeaderList{{"X-A", "2.5"}});
  CHECK(merge_headers(json::value(nullptr), json::value(nullptr)).empty());
}

TEST_CASE("render") {
  CHECK(render_headers({}) == "");
  CHECK(render_headers({{"X-A", "1"}, {"P-Asserted-Identity", "<sip:+1508@x>"}}) ==
        "X-A: 1\r\nP-Asserted-Identity: <sip:+1508@x>\r\n");
  CHECK(render_headers(header_list(json::parse(R"({"X-N":1e21,"X-S":""})"))) == "X-N: 1e+21\r\nX-S: \r\n");
}

}  // TEST_SUITE
