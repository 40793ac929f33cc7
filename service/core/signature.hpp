// jambonz webhook signing: `Jambonz-Signature: t=<unix ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>`.
#pragma once
#include <string>
#include <string_view>

namespace dp::core {

// Lower-case hex HMAC-SHA256.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// Value for the Jambonz-Signature header of a webhook whose raw body is `body`.
std::string jambonz_signature(std::string_view secret, std::string_view body, long long unix_ts);

// True when `header` carries a timestamp within `tolerance_s` of `now` and at least one v1 signature that
// matches. Comparison is constant time.
bool verify_jambonz_signature(std::string_view secret, std::string_view body, std::string_view header,
                              long long now, long long tolerance_s = 300);

}  // namespace dp::core
