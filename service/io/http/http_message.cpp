#include "io/http/http_message.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <iterator>

namespace dp::io {

namespace beast = boost::beast;
namespace http = beast::http;

std::string ServerRequest::header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

ServerResponse ServerResponse::json(int status, std::string body) {
  ServerResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

ServerResponse ServerResponse::error(int status, const std::string& message) {
  boost::json::object o;
  o["msg"] = message;
  return json(status, boost::json::serialize(o));
}

namespace http_parse {

void apply_limits(Parser& p, const RequestLimits& l) {
  p.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(l.header_bytes, UINT32_MAX)));
  p.body_limit(l.body_bytes);
}

std::size_t field_count(const Parser& p) {
  return static_cast<std::size_t>(std::distance(p.get().begin(), p.get().end()));
}

ServerRequest head_of(const http::request_header<>& req, const std::string& remote) {
  ServerRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  auto parsed = boost::urls::parse_origin_form(r.target);
  if (parsed) {
    r.path = std::string(parsed->encoded_path().decode());
    for (auto p : parsed->params()) r.query[std::string(p.key)] = std::string(p.value);
  } else {
    r.path = r.target.substr(0, r.target.find('?'));
  }
  for (const auto& f : req) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    r.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  r.remote_ip = remote;
  return r;
}

std::optional<std::pair<int, std::string>> answer_for(const beast::error_code& ec) {
  static const auto& http_category = http::make_error_code(http::error::bad_target).category();
  if (ec.category() != http_category || ec == http::error::end_of_stream || ec == http::error::partial_message)
    return std::nullopt;
  if (ec == http::error::body_limit) return std::pair{413, std::string("request body too large")};
  // A chunked trailer or chunk header that does not fit in the read buffer also ends up here.
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
    return std::pair{431, std::string("request header fields too large")};
  return std::pair{400, "malformed request: " + ec.message()};
}

bool has_trailers(const Parser& p, std::size_t header_fields) { return field_count(p) != header_fields; }

}  // namespace http_parse

using namespace http_parse;

ParsedRequest parse_request(std::string_view bytes, const RequestLimits& limits) {
  ParsedRequest out;
  auto fail = [&](int status, std::string error) {
    out.status = status;
    out.error = std::move(error);
    return out;
  };
  Parser p;
  apply_limits(p, limits);
  std::size_t pos = 0, header_fields = 0;
  while (!p.is_done()) {
    // Like the server's read buffer, never more than buffer_bytes unparsed bytes at once.
    auto window = bytes.substr(pos, limits.buffer_bytes);
    beast::error_code ec;
    auto n = p.put(boost::asio::buffer(window.data(), window.size()), ec);
    pos += n;
    if (p.is_header_done() && !p.eager()) {  // the server reads the header, then the rest
      header_fields = field_count(p);
      p.eager(true);
    }
    if (ec == http::error::need_more || (!ec && n == 0)) {
      if (n > 0) continue;
      if (window.size() == limits.buffer_bytes) ec = http::error::buffer_overflow;
      else return fail(-1, "incomplete request");
    }
    if (ec) {
      auto a = answer_for(ec);
      return fail(a ? a->first : 400, a ? a->second : ec.message());
    }
  }
  if (has_trailers(p, header_fields)) return fail(400, kNoTrailers);
  out.request = head_of(p.get(), "");
  out.request->body = std::move(p.get().body());
  return out;
}

}  // namespace dp::io
