// dialplane's own rules for app-supplied SIP headers (dial.headers, target.headers), applied
// after jambonz validation, which only checks that `headers` is an object. Pure.
//
// Rules:
//  - `headers` is a JSON object or null (null = none); jambonz also lets an array through,
//    we reject it.
//  - a name is an RFC 3261 token and appears once (names compare case-insensitively);
//  - the dialog-forming headers Via, From, To, Call-ID, CSeq, Contact, Route, Record-Route,
//    Max-Forwards, Content-Length, Content-Type and their compact forms (v f t i m l c) are
//    owned by the B2BUA and cannot be set;
//  - a value is a string, number or boolean; numbers and booleans are sent as JavaScript
//    prints them (5 -> "5", true -> "true"), as jambonz does; null, objects and arrays are
//    rejected;
//  - a value holds no CR or LF (header injection) and no other control character except tab.
#pragma once
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dp::core {

// Ordered (name, value) pairs, values already stringified.
using SipHeaderList = std::vector<std::pair<std::string, std::string>>;

bool is_reserved_sip_header(std::string_view name);  // case-insensitive, compact forms included

// Checks one `headers` value. `where` prefixes the message ("dial", "target"); the message
// names the offending header, e.g. "dial: header Via cannot be set".
std::optional<std::string> check_headers(const boost::json::value& headers, std::string_view where);

// Checks dial.headers and every target's headers of a normalised dial verb
// ({"verb":"dial", ...}); other verbs pass.
std::optional<std::string> check_dial_headers(const boost::json::object& verb);

// The headers of a checked `headers` value in their JSON order (null or missing -> empty).
SipHeaderList header_list(const boost::json::value& headers);

// dial-level headers overridden by per-target headers (case-insensitive names): an overridden
// header keeps its place and takes the target's spelling and value; new ones are appended.
SipHeaderList merge_headers(const boost::json::value& dial_headers, const boost::json::value& target_headers);
SipHeaderList merge_headers(const SipHeaderList& dial_headers, const SipHeaderList& target_headers);

// "Name: value\r\n" per header.
std::string render_headers(const SipHeaderList& headers);

}  // namespace dp::core
