// Vectors computed independently with:
//   printf '%s' '1700000000.{"call_sid":"abc","status":"ok"}' | openssl dgst -sha256 -hmac 'shh-secret'
//   printf 'user:p@ss:w0rd' | base64
#include <doctest/doctest.h>

#include "core/encoding.hpp"
#include "core/signature.hpp"

using namespace dp::core;

namespace {
constexpr const char* kBody = R"({"call_sid":"abc","status":"ok"})";
constexpr const char* kSig = "9755296b1326cbf4d986e9a6b6d1fd727cba00a0e6de72ce82651db409689a8e";
}  // namespace

TEST_CASE("jambonz_signature matches openssl dgst -hmac") {
  CHECK(jambonz_signature("shh-secret", kBody, 1700000000) == std::string("t=1700000000,v1=") + kSig);
}

TEST_CASE("hmac_sha256_hex with empty key and data") {
  CHECK(hmac_sha256_hex("", "0.") == "b849d5a581847b281957065739df36df2463d1977ea8d6e1e4e6cf33fadc68c3");
}

TEST_CASE("hmac_sha256_hex re-keys its reused context for every call") {
  // Vectors: printf '%s' 'abc' | openssl dgst -sha256 -hmac "$KEY" (a 100-byte key is hashed first).
  const std::string long_key(100, 'k');
  for (int round = 0; round < 2; ++round) {
    CHECK(jambonz_signature("shh-secret", kBody, 1700000000) == std::string("t=1700000000,v1=") + kSig);
    CHECK(hmac_sha256_hex("", "0.") == "b849d5a581847b281957065739df36df2463d1977ea8d6e1e4e6cf33fadc68c3");
    CHECK(hmac_sha256_hex(long_key, "abc") == "b58b2b694fdba0dd76da3ebe99174f728d327560f36ece224e90867972479922");
    CHECK(hmac_sha256_hex("other", "abc") == "c05a688e1ec559955f438ae269b938aca6e48124a63c02984299112755f397b5");
    // A null empty key right after another key: still the empty key, not the previous one.
    CHECK(hmac_sha256_hex("other", "abc") == "c05a688e1ec559955f438ae269b938aca6e48124a63c02984299112755f397b5");
    CHECK(hmac_sha256_hex(std::string_view{}, "0.") == "b849d5a581847b281957065739df36df2463d1977ea8d6e1e4e6cf33fadc68c3");
  }
}

TEST_CASE("verify_jambonz_signature") {
  std::string hdr = std::string("t=1700000000,v1=") + kSig;
  CHECK(verify_jambonz_signature("shh-secret", kBody, hdr, 1700000000, 300));
  CHECK(verify_jambonz_signature("shh-secret", kBody, hdr, 1700000300, 300));
  CHECK(verify_jambonz_signature("shh-secret", kBody, hdr, 1699999700, 300));
  SUBCASE("stale or future timestamp") {
    CHECK_FALSE(verify_jambonz_signature("shh-secret", kBody, hdr, 1700000301, 300));
    CHECK_FALSE(verify_jambonz_signature("shh-secret", kBody, hdr, 1699999699, 300));
  }
  SUBCASE("wrong secret, body or signature") {
    CHECK_FALSE(verify_jambonz_signature("other", kBody, hdr, 1700000000, 300));
    CHECK_FALSE(verify_jambonz_signature("shh-secret", std::string(kBody) + " ", hdr, 1700000000, 300));
    std::string bad = hdr;
    bad.back() = bad.back() == '0' ? '1' : '0';
    CHECK_FALSE(verify_jambonz_signature("shh-secret", kBody, bad, 1700000000, 300));
  }
  SUBCASE("tolerant parsing") {
    CHECK(verify_jambonz_signature("shh-secret", kBody, std::string("t=1700000000, v1=deadbeef, v1=") + kSig,
                                   1700000000, 300));
    std::string upper = std::string("t=1700000000,v1=") + kSig;
    for (auto& c : upper)
      if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    CHECK(verify_jambonz_signature("shh-secret", kBody, upper, 1700000000, 300));
  }
  SUBCASE("malformed headers") {
    CHECK_FALSE(verify_jambonz_signature("shh-secret", kBody, "", 1700000000, 300));
    CHECK_FALSE(verify_jambonz_signature("shh-secret", kBody, std::string("v1=") + kSig, 1700000000, 300));
    CHECK_FALSE(verify_jambonz_signature("shh-secret", kBody, "t=1700000000", 1700000000, 300));
    CHECK_FALSE(
        verify_jambonz_signature("shh-secret", kBody, std::string("t=17x,v1=") + kSig, 1700000000, 300));
  }
}

TEST_CASE("base64_encode") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("user:p@ss:w0rd") == "dXNlcjpwQHNzOncwcmQ=");
  CHECK(base64_encode(std::string("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("hex_encode") { CHECK(hex_encode(std::string("\x00\x7f\xff", 3)) == "007fff"); }
