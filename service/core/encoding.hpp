// Small pure encoders shared by the HTTP client (basic auth) and webhook signing.
#pragma once
#include <string>
#include <string_view>

namespace dp::core {

// RFC 4648 base64 with padding (no line breaks).
std::string base64_encode(std::string_view in);

// Lower-case hex of raw bytes.
std::string hex_encode(std::string_view in);

}  // namespace dp::core

namespace dp::core {

// RFC 3986 percent-encoding of everything but the unreserved characters (for query-string values).
std::string percent_encode(std::string_view in);

}  // namespace dp::core
