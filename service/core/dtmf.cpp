#include "core/dtmf.hpp"

#include "core/json_get.hpp"

#include <algorithm>
#include <cmath>

namespace dp::core {

namespace json = boost::json;

char dtmf_key(long long event) {
  if (event >= 0 && event <= 9) return static_cast<char>('0' + event);
  if (event == 10) return '*';
  if (event == 11) return '#';
  if (event >= 12 && event <= 15) return static_cast<char>('A' + (event - 12));
  return 0;
}

std::optional<DtmfEvent> parse_rtpengine_dtmf(std::string_view datagram, std::string& err) {
  auto obj = jget::parse_object(datagram, err);
  if (!obj) return std::nullopt;
  auto type = jget::str(*obj, "type");
  if (!type.empty() && type != "DTMF") {
    err = "not a DTMF event: type " + type;
    return std::nullopt;
  }
  DtmfEvent ev;
  ev.call_id = jget::str(*obj, "callid");
  ev.source_tag = jget::str(*obj, "source_tag");
  if (ev.call_id.empty() || ev.source_tag.empty()) {
    err = "DTMF event without callid or source_tag";
    return std::nullopt;
  }
  auto* event = obj->if_contains("event");
  if (!event || !event->is_number()) {
    err = "DTMF event without an event code";
    return std::nullopt;
  }
  ev.key = dtmf_key(jget::integer(*obj, "event", -1));
  if (ev.key == 0) {
    err = "DTMF event code not a key";
    return std::nullopt;
  }
  long long duration = jget::integer(*obj, "duration", 0);
  ev.duration_ms = static_cast<int>(std::clamp<long long>(duration, 0, 60000));
  double ts = jget::number(*obj, "timestamp", 0);
  ev.timestamp = std::isfinite(ts) ? std::clamp(ts, 0.0, 1e12) : 0;  // safe to turn into milliseconds
  return ev;
}

namespace {

bool is_dtmf_pattern(std::string_view p) {
  if (p.empty() || p.size() > 32) return false;
  return std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
  });
}

std::vector<std::string> patterns_of(const json::value* v) {
  std::vector<std::string> out;
  if (!v || !v->is_array()) return out;
  for (const auto& p : v->get_array()) {
    if (p.is_string() && is_dtmf_pattern(p.get_string())) out.emplace_back(p.get_string());
  }
  return out;
}

}  // namespace

DtmfWatch dtmf_watch(const json::value* dtmf_capture) {
  DtmfWatch w;
  if (!dtmf_capture) return w;
  if (dtmf_capture->is_array()) {
    w.parent = patterns_of(dtmf_capture);
    w.child = w.parent;
  } else if (dtmf_capture->is_object()) {
    const auto& o = dtmf_capture->get_object();
    w.parent = patterns_of(o.if_contains("parentCall"));
    w.child = patterns_of(o.if_contains("childCall"));
  }
  return w;
}

DtmfPress press_dtmf(const DtmfBuffer& buffer, char key, long long at_ms, const std::vector<std::string>& patterns) {
  DtmfPress out{buffer, std::nullopt};
  bool stale = buffer.last_ms > 0 && at_ms - buffer.last_ms >= kDtmfInterDigitMs;
  if (stale) out.buffer.keys.clear();
  out.buffer.keys.push_back(key);
  out.buffer.last_ms = at_ms;
  std::size_t longest = 0;
  for (const auto& p : patterns) longest = std::max(longest, p.size());
  if (out.buffer.keys.size() > longest) out.buffer.keys.erase(0, out.buffer.keys.size() - longest);
  for (const auto& p : patterns) {
    if (out.buffer.keys.ends_with(p)) {
      out.matched = p;
      break;
    }
  }
  return out;
}

}  // namespace dp::core
