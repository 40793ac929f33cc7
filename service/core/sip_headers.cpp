#include "core/sip_headers.hpp"

#include "core/provisioning.hpp"  // is_sip_token (RFC 3261 token)
#include "core/verb_validation.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace dp::core {
namespace {

namespace json = boost::json;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Headers the B2BUA builds itself; letting an app set them would break the dialog or the body.
constexpr std::array<std::string_view, 18> kReserved = {
    "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Route", "Record-Route", "Max-Forwards",
    "Content-Length", "Content-Type", "v", "f", "t", "i", "m", "l", "c",
};

std::string prefix(std::string_view where, std::string_view name) {
  return std::string(where) + ": header " + std::string(name);
}

std::optional<std::string> check_value(std::string_view where, std::string_view name, const json::value& v) {
  if (!v.is_string() && !v.is_number() && !v.is_bool())
    return prefix(where, name) + " value must be a string, number or boolean";
  if (!v.is_string()) return std::nullopt;
  for (unsigned char c : v.get_string()) {
    if (c == '\r' || c == '\n') return prefix(where, name) + " value contains CR or LF";
    if ((c < 0x20 && c != '\t') || c == 0x7f) return prefix(where, name) + " value contains a control character";
  }
  return std::nullopt;
}

std::optional<std::string> check_name(std::string_view where, std::string_view name) {
  if (!is_sip_token(name)) return std::string(where) + ": header name \"" + std::string(name) + "\" is not a valid SIP token";
  if (is_reserved_sip_header(name)) return prefix(where, name) + " cannot be set";
  return std::nullopt;
}

std::string value_string(const json::value& v) { return v.is_string() ? std::string(v.get_string()) : js_to_string(v); }

}  // namespace

bool is_reserved_sip_header(std::string_view name) {
  return std::any_of(kReserved.begin(), kReserved.end(), [&](std::string_view r) { return iequals(r, name); });
}

std::optional<std::string> check_headers(const json::value& headers, std::string_view where) {
  if (headers.is_null()) return std::nullopt;
  if (!headers.is_object()) return std::string(where) + ": headers must be an object";
  const auto& obj = headers.get_object();
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (auto err = check_name(where, it->key())) return err;
    for (auto prev = obj.begin(); prev != it; ++prev)
      if (iequals(prev->key(), it->key())) return prefix(where, it->key()) + " is given more than once";
    if (auto err = check_value(where, it->key(), it->value())) return err;
  }
  return std::nullopt;
}

std::optional<std::string> check_dial_headers(const json::object& verb) {
  auto name = verb.find("verb");
  if (name == verb.end() || !name->value().is_string() || name->value().get_string() != "dial") return std::nullopt;
  if (auto h = verb.find("headers"); h != verb.end())
    if (auto err = check_headers(h->value(), "dial")) return err;
  auto targets = verb.find("target");
  if (targets == verb.end() || !targets->value().is_array()) return std::nullopt;
  for (const auto& t : targets->value().get_array()) {
    if (!t.is_object()) continue;  // jambonz validation has already judged the target itself
    if (auto h = t.get_object().find("headers"); h != t.get_object().end())
      if (auto err = check_headers(h->value(), "target")) return err;
  }
  return std::nullopt;
}

SipHeaderList header_list(const json::value& headers) {
  SipHeaderList out;
  if (!headers.is_object()) return out;
  for (const auto& kv : headers.get_object()) out.emplace_back(std::string(kv.key()), value_string(kv.value()));
  return out;
}

SipHeaderList merge_headers(const SipHeaderList& dial_headers, const SipHeaderList& target_headers) {
  SipHeaderList out = dial_headers;
  for (const auto& th : target_headers) {
    auto same = [&](const auto& h) { return iequals(h.first, th.first); };
    if (auto it = std::find_if(out.begin(), out.end(), same); it != out.end()) *it = th;
    else out.push_back(th);
  }
  return out;
}

SipHeaderList merge_headers(const json::value& dial_headers, const json::value& target_headers) {
  return merge_headers(header_list(dial_headers), header_list(target_headers));
}

std::string render_headers(const SipHeaderList& headers) {
  std::string out;
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  return out;
}

}  // namespace dp::core
