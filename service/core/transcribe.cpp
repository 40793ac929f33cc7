#include "core/transcribe.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

namespace dp::core::stt {

namespace json = boost::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<long long> number(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() < 1000) return static_cast<long long>(v->get_uint64());
  if (v->is_double() && std::isfinite(v->get_double())) return static_cast<long long>(v->get_double());
  return std::nullopt;
}

std::string string_of(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// jambonz's STT vendors (recognizer.vendor values), none configured on this platform.
constexpr std::array<std::string_view, 17> kCloudVendors{
    "google", "aws", "microsoft", "nuance", "deepgram", "ibm", "nvidia", "soniox", "cobalt", "assemblyai",
    "speechmatics", "openai", "voxist", "elevenlabs", "gladia", "verbio", "custom"};

}  // namespace

bool is_embedded_vendor(std::string_view vendor) {
  auto v = lower(vendor);
  return v.empty() || v == "default" || v == kEmbeddedEngine;
}

std::string refusal(std::string_view vendor, std::string_view language) {
  if (!is_embedded_vendor(vendor)) {
    auto v = lower(vendor);
    bool known = std::find(kCloudVendors.begin(), kCloudVendors.end(), v) != kCloudVendors.end() ||
                 v.starts_with("custom:");
    return "speech recognizer vendor " + std::string(vendor) +
           (known ? " is not configured on this platform" : " is unknown") +
           " (embedded engine: pocketsphinx, vendor \"default\")";
  }
  auto l = lower(language);
  if (!l.empty() && l != "en-us" && l != "en_us" && l != "en")
    return "language " + std::string(language) + " is not supported by the embedded recognizer (en-US only)";
  return {};
}

std::optional<Options> options_from_dial(const json::object& dial_verb) {
  const auto* t = dial_verb.if_contains("transcribe");
  if (!t || !t->is_object()) return std::nullopt;
  const auto& o = t->get_object();
  Options out;
  if (const auto* h = o.if_contains("transcriptionHook"); h && !h->is_null()) out.hook = *h;
  bool separate = true;
  if (const auto* r = o.if_contains("recognizer"); r && r->is_object()) {
    const auto& rec = r->get_object();
    out.vendor = string_of(rec, "vendor");
    if (auto l = string_of(rec, "language"); !l.empty()) out.language = l;
    if (const auto* i = rec.if_contains("interim"); i && i->is_bool()) out.interim = i->get_bool();
    if (const auto* s = rec.if_contains("separateRecognitionPerChannel"); s && s->is_bool()) separate = s->get_bool();
  }
  auto channel = number(o.if_contains("channel"));
  if (channel && (*channel == kCaller || *channel == kCallee)) {
    out.channels = {static_cast<int>(*channel)};
  } else if (!separate) {
    out.channels = {kCaller};
  } else {
    out.channels = {kCaller, kCallee};
  }
  return out;
}

// ---------------------------------------------------------------- segmentation

Segmenter::Step Segmenter::push(std::span<const std::int16_t> frame, bool voice) {
  Step s;
  if (frame.size() != kFrameSamples) return s;
  if (!in_utt_) {
    preroll_.emplace_back(frame.begin(), frame.end());
    while (static_cast<int>(preroll_.size()) > p_.preroll_frames) preroll_.pop_front();
    recent_.push_back(voice);
    while (static_cast<int>(recent_.size()) > p_.start_window) recent_.pop_front();
    if (std::count(recent_.begin(), recent_.end(), true) < p_.start_voice_frames) return s;
    in_utt_ = true;
    s.started = true;
    silence_run_ = 0;
    utt_frames_ = static_cast<int>(preroll_.size());
    for (const auto& f : preroll_) s.audio.insert(s.audio.end(), f.begin(), f.end());
    preroll_.clear();
    recent_.clear();
    return s;
  }
  s.audio.assign(frame.begin(), frame.end());
  ++utt_frames_;
  silence_run_ = voice ? 0 : silence_run_ + 1;
  if (silence_run_ >= p_.end_silence_frames) {
    s.end = End::Silence;
  } else if (utt_frames_ >= p_.max_utterance_frames) {
    s.end = End::MaxLength;
  }
  if (s.end != End::None) {
    in_utt_ = false;
    silence_run_ = 0;
    utt_frames_ = 0;
  }
  return s;
}

Segmenter::Step Segmenter::flush() {
  Step s;
  preroll_.clear();
  recent_.clear();
  if (!in_utt_) return s;
  in_utt_ = false;
  silence_run_ = 0;
  utt_frames_ = 0;
  s.end = End::Flush;
  return s;
}

std::string_view to_string(Segmenter::End e) {
  switch (e) {
    case Segmenter::End::None:
      return "none";
    case Segmenter::End::Silence:
      return "silence";
    case Segmenter::End::MaxLength:
      return "max_length";
    case Segmenter::End::Flush:
      return "flush";
  }
  return "none";
}

// ---------------------------------------------------------------- payloads

json::object result_payload(json::object parent, const Result& r, std::string_view language) {
  double conf = std::clamp(std::isfinite(r.confidence) ? r.confidence : 0.0, 0.0, 1.0);
  conf = std::round(conf * 10000) / 10000;
  json::array alternatives;
  alternatives.push_back(json::object{{"transcript", r.transcript}, {"confidence", conf}});
  json::object evt{{"type", r.is_final ? "final" : "partial"}, {"hypothesis", r.transcript}};
  parent["speech"] = json::object{{"language_code", language},
                                  {"channel_tag", r.channel},
                                  {"is_final", r.is_final},
                                  {"alternatives", std::move(alternatives)},
                                  {"vendor", json::object{{"name", kEmbeddedEngine}, {"evt", std::move(evt)}}}};
  return parent;
}

json::object error_payload(json::object parent, int channel, std::string_view error, std::string_view vendor,
                           std::string_view language) {
  parent["speech_event"] = json::object{{"type", "error"},
                                        {"error", error},
                                        {"channel_tag", channel},
                                        {"vendor", vendor.empty() ? std::string("default") : std::string(vendor)},
                                        {"language_code", language}};
  return parent;
}

}  // namespace dp::core::stt
