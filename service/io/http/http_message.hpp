// HTTP requests and responses of the server, and its parse step: Beast's request parser with the server's
// limits. Kept apart from the server's coroutines so the fuzz harness builds it alone (tests/fuzz).
#pragma once
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dp::io {

struct ServerRequest {
  std::string method;
  std::string target;  // as received, with query
  std::string path;    // decoded path without query
  std::map<std::string, std::string> query;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_ip;
  std::string header(const std::string& lower_name) const;
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  static ServerResponse json(int status, std::string body);
  static ServerResponse error(int status, const std::string& message);  // {"msg": message}
};

// Size limits of one request: the server and the fuzz harness (tests/fuzz) parse with the same ones.
struct RequestLimits {
  std::size_t header_bytes = 8 * 1024;  // request line + header fields
  std::size_t body_bytes = 1 << 20;
  // Most bytes the read buffer holds at once. Beast's header limit does not cover chunked trailers, and a
  // trailer field of 64 KiB makes Beast throw std::length_error out of the read: a trailer must fit in this
  // buffer to be parsed at all, so this bounds it (and trailers are refused anyway, see parse_request).
  std::size_t buffer_bytes = 16 * 1024;
};

// The server's parse step without sockets: one request from `bytes`, read as the server reads it (same
// limits, buffer bound, trailer refusal, to-request conversion). `status` is 0 with a request, else the HTTP
// status the server answers (400, 413, 431) or -1 when the bytes end before the request does.
struct ParsedRequest {
  int status = 0;
  std::string error;
  std::optional<ServerRequest> request;
};
ParsedRequest parse_request(std::string_view bytes, const RequestLimits& limits);

namespace http_parse {
// The pieces the server and parse_request share.
using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;
void apply_limits(Parser& p, const RequestLimits& l);
std::size_t field_count(const Parser& p);
// Request line and headers; the body is added once read.
ServerRequest head_of(const boost::beast::http::request_header<>& req, const std::string& remote);
// A parse error the client should hear about: {status, message}; nullopt for transport errors (EOF, reset, timeout).
std::optional<std::pair<int, std::string>> answer_for(const boost::system::error_code& ec);
// Trailer fields would be merged into the headers after the header check (and nobody needs them).
bool has_trailers(const Parser& p, std::size_t header_fields);
inline constexpr const char* kNoTrailers = "trailer fields are not accepted";
}  // namespace http_parse

}  // namespace dp::io
