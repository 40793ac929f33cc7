#include "core/sdp.hpp"

#include <sstream>
#include <vector>

namespace dp::core {

std::vector<std::string_view> sdp_lines(std::string_view sdp) {
  std::vector<std::string_view> out;
  while (!sdp.empty()) {
    auto nl = sdp.find('\n');
    auto line = sdp.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    if (nl == std::string_view::npos) break;
    sdp.remove_prefix(nl + 1);
  }
  return out;
}

namespace {


std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

bool is_payload_type(const std::string& w) {
  if (w.empty() || w.size() > 3) return false;
  for (char ch : w)
    if (ch < '0' || ch > '9') return false;
  return std::stoi(w) <= 127;
}

// The audio section's `a=rtpmap:<pt> <encoding>` and `a=fmtp:<pt> …` lines, by payload type.
struct AudioSection {
  std::string proto;
  std::vector<std::string> pts;
  std::vector<std::pair<std::string, std::string>> rtpmap;  // pt, "PCMU/8000"
  std::vector<std::pair<std::string, std::string>> fmtp;    // pt, params
};

// `m=audio <port> <proto> <pts…>` into a fresh section; nullopt for another media type.
std::optional<AudioSection> audio_mline(std::string_view line) {
  auto w = words(line.substr(2));
  if (w.size() < 4 || w[0] != "audio") return std::nullopt;
  AudioSection a;
  a.proto = w[2];
  for (std::size_t i = 3; i < w.size(); ++i)
    if (is_payload_type(w[i])) a.pts.push_back(w[i]);
  return a;
}

// An `a=rtpmap:` or `a=fmtp:` line of the audio section.
void audio_attribute(std::string_view line, AudioSection& a) {
  for (auto [prefix, list] : {std::pair{std::string_view("a=rtpmap:"), &a.rtpmap},
                              std::pair{std::string_view("a=fmtp:"), &a.fmtp}}) {
    if (line.rfind(prefix, 0) != 0) continue;
    auto rest = line.substr(prefix.size());
    auto sp = rest.find(' ');
    if (sp != std::string_view::npos) list->emplace_back(std::string(rest.substr(0, sp)), std::string(rest.substr(sp + 1)));
  }
}

std::optional<AudioSection> audio_section(std::string_view offer_sdp) {
  std::optional<AudioSection> a;
  bool in_audio = false;
  for (auto line : sdp_lines(offer_sdp)) {
    if (line.rfind("m=", 0) == 0) {
      if (a) break;  // only the first audio section
      a = audio_mline(line);
      in_audio = a.has_value();
    } else if (in_audio) {
      audio_attribute(line, *a);
    }
  }
  return a;
}

std::string lookup(const std::vector<std::pair<std::string, std::string>>& list, const std::string& pt) {
  for (const auto& [k, v] : list)
    if (k == pt) return v;
  return {};
}

bool is_telephone_event(const std::string& encoding) {
  return encoding.rfind("telephone-event/", 0) == 0 || encoding.rfind("TELEPHONE-EVENT/", 0) == 0;
}

}  // namespace

std::optional<std::string> placeholder_answer_sdp(std::string_view offer_sdp) {
  auto a = audio_section(offer_sdp);
  if (!a || a->pts.empty()) return std::nullopt;
  std::string codec, event;
  for (const auto& pt : a->pts) {
    bool te = is_telephone_event(lookup(a->rtpmap, pt));
    if (te && event.empty()) event = pt;
    if (!te && codec.empty()) codec = pt;
  }
  if (codec.empty()) return std::nullopt;
  std::string m = "m=audio 9 " + a->proto + " " + codec + (event.empty() ? "" : " " + event) + "\r\n";
  std::string attrs;
  for (const auto& pt : {codec, event}) {
    if (pt.empty()) continue;
    if (auto map = lookup(a->rtpmap, pt); !map.empty()) attrs += "a=rtpmap:" + pt + " " + map + "\r\n";
    if (auto f = lookup(a->fmtp, pt); !f.empty()) attrs += "a=fmtp:" + pt + " " + f + "\r\n";
  }
  return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=dialplane\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + m + attrs +
         "a=sendrecv\r\n";
}

}  // namespace dp::core
