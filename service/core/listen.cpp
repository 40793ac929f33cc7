#include "core/listen.hpp"

#include "core/dial_machine.hpp"
#include "core/json_get.hpp"

#include <algorithm>
#include <boost/url.hpp>
#include <cmath>
#include <limits>

namespace dp::core::listen {

namespace json = boost::json;

std::string_view to_string(Mix m) {
  switch (m) {
    case Mix::Mono:
      return "mono";
    case Mix::Stereo:
      return "stereo";
    case Mix::Mixed:
      return "mixed";
  }
  return "mono";
}

std::string_view to_string(EndReason r) {
  switch (r) {
    case EndReason::Disconnect:
      return "disconnect";
    case EndReason::MaxLength:
      return "max_length";
    case EndReason::FinishOnKey:
      return "finish_on_key";
    case EndReason::ConnectFailed:
      return "connect_failed";
    case EndReason::ForkFailed:
      return "fork_failed";
    case EndReason::Closed:
      return "closed";
    case EndReason::Shutdown:
      return "shutdown";
    case EndReason::CallEnded:
      return "call_ended";
  }
  return "closed";
}

namespace {

std::optional<double> num_at(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double()) return v->get_double();
  return std::nullopt;
}

bool bool_at(const json::object& o, std::string_view k, bool dflt) {
  auto* v = o.if_contains(k);
  return v && v->is_bool() ? v->get_bool() : dflt;
}

ParsedParams fail(std::string why) {
  ParsedParams p;
  p.error = std::move(why);
  return p;
}

}  // namespace

namespace {

// A whole number in [lo, hi], or nothing: the range check comes before any conversion (a double outside int's
// range must never be cast).
std::optional<int> whole_in(double d, int lo, int hi) {
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<int>(d))) return std::nullopt;
  return static_cast<int>(d);
}

std::optional<Mix> mix_of(const std::string& mix) {
  if (mix.empty() || mix == "mono") return Mix::Mono;
  if (mix == "stereo") return Mix::Stereo;
  if (mix == "mixed") return Mix::Mixed;
  return std::nullopt;
}

// sampleRate, channel and maxLength; an error message, or nothing when they are valid (or absent).
std::optional<std::string> parse_numbers(const json::object& o, Params& p) {
  if (auto r = num_at(o, "sampleRate")) {
    auto rate = whole_in(*r, 8000, 64000);
    if (!rate || (*rate != 8000 && *rate != 16000 && *rate != 24000 && *rate != 48000 && *rate != 64000))
      return "listen.sampleRate must be 8000, 16000, 24000, 48000 or 64000";
    p.sample_rate = *rate;
  }
  if (auto ch = num_at(o, "channel")) {
    if (*ch != 1 && *ch != 2) return "listen.channel must be 1 (the caller) or 2 (the callee)";
    p.channel = static_cast<int>(*ch);
  }
  if (auto m = num_at(o, "maxLength")) {
    if (*m < 0) return "listen.maxLength must not be negative";
    p.max_length_s = static_cast<int>(std::min(*m, 86400.0));
    if (*m > 0 && p.max_length_s == 0) p.max_length_s = 1;
  }
  return std::nullopt;
}

}  // namespace

ParsedParams parse_params(const json::value& v) {
  if (!v.is_object()) return fail("listen: not an object");
  const auto& o = v.get_object();
  Params p;
  p.url = jget::str(o, "url");
  if (p.url.empty()) return fail("listen.url is required");
  if (auto* a = o.if_contains("wsAuth"); a && a->is_object()) {
    p.ws_user = jget::str(a->get_object(), "username");
    p.ws_password = jget::str(a->get_object(), "password");
  }
  auto mix = mix_of(jget::str(o, "mixType"));
  if (!mix) return fail("listen.mixType must be mono, stereo or mixed");
  p.mix = *mix;
  if (auto why = parse_numbers(o, p)) return fail(std::move(*why));
  p.pass_dtmf = bool_at(o, "passDtmf", false);
  p.finish_on_key = jget::str(o, "finishOnKey");
  p.play_beep = bool_at(o, "playBeep", false);
  p.bidirectional = !bool_at(o, "disableBidirectionalAudio", false);
  if (auto* b = o.if_contains("bidirectionalAudio"); b && b->is_object())
    p.bidirectional = p.bidirectional && bool_at(b->get_object(), "enabled", true);
  if (auto* m = o.if_contains("metadata"); m && m->is_object()) p.metadata = m->get_object();
  if (auto* h = o.if_contains("actionHook")) p.action_hook = *h;
  ParsedParams out;
  out.params = std::move(p);
  return out;
}

std::optional<ParsedParams> from_dial(const json::object& dial_verb) {
  const auto* spec = dial_verb.if_contains("listen");
  if (!spec) spec = dial_verb.if_contains("stream");
  if (!spec || !spec->is_object()) return std::nullopt;
  return parse_params(*spec);
}

std::optional<std::string> resolve_ws_url(const std::string& url, const std::string& call_hook_url) {
  if (url.starts_with("ws://") || url.starts_with("wss://")) {
    auto u = boost::urls::parse_absolute_uri(url);
    if (!u || u->host().empty()) return std::nullopt;
    return url;
  }
  if (url.empty() || url.front() != '/') return std::nullopt;
  auto base = boost::urls::parse_absolute_uri(call_hook_url);
  if (!base) return std::nullopt;
  std::string scheme;
  if (base->scheme() == "http") {
    scheme = "ws";
  } else if (base->scheme() == "https") {
    scheme = "wss";
  } else {
    return std::nullopt;
  }
  return scheme + "://" + std::string(base->encoded_authority()) + url;
}

std::string camel_case(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  bool upper = false;
  for (char ch : key) {
    if (ch == '_') {
      upper = !out.empty();
      continue;
    }
    if (upper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    upper = false;
    out.push_back(ch);
  }
  return out;
}

json::object metadata_frame(const CallState& c, const Leg& leg, const Params& p, double now) {
  json::object out;
  for (const auto& [k, v] : child_payload(c, leg, now)) {
    if (k == "customerData") {
      out["_customerData"] = v;  // jambonz's key for it in the listen metadata
      continue;
    }
    out[camel_case(k)] = v;
  }
  out["callerName"] = c.caller_name;
  out["sampleRate"] = p.sample_rate;
  out["mixType"] = to_string(p.mix);
  for (const auto& [k, v] : p.metadata) out[k] = v;
  return out;
}

// ---- audio ----

Aligner::Aligner(std::size_t streams, std::size_t max_lag) : streams_(std::clamp<std::size_t>(streams, 1, 2)),
                                                             max_lag_(std::max<std::size_t>(max_lag, 1)) {}

void Aligner::push(std::size_t stream, std::span<const std::int16_t> pcm) {
  if (stream >= streams_) return;
  std::vector<std::int16_t> f(kFrameSamples8k, 0);
  std::copy_n(pcm.begin(), std::min(pcm.size(), kFrameSamples8k), f.begin());
  q_[stream].push_back(std::move(f));
}

bool Aligner::pop(std::vector<std::int16_t>& a, std::vector<std::int16_t>& b) {
  auto take = [](std::deque<std::vector<std::int16_t>>& q, std::vector<std::int16_t>& out) {
    if (q.empty()) {
      out.assign(kFrameSamples8k, 0);
      return false;
    }
    out = std::move(q.front());
    q.pop_front();
    return true;
  };
  if (streams_ == 1) {
    if (q_[0].empty()) return false;
    take(q_[0], a);
    b.assign(kFrameSamples8k, 0);
    return true;
  }
  bool both = !q_[0].empty() && !q_[1].empty();
  bool lagging = q_[0].size() > max_lag_ || q_[1].size() > max_lag_;
  if (!both && !lagging) return false;
  bool got_a = take(q_[0], a);
  bool got_b = take(q_[1], b);
  if (!got_a || !got_b) ++silence_;
  return true;
}

Encoder::Encoder(Mix mix, int sample_rate)
    : mix_(mix),
      factor_(std::max(1, upsample_factor_from_8k(sample_rate))),
      left_(factor_),
      right_(factor_) {}

std::size_t Encoder::frame_bytes() const {
  return kFrameSamples8k * static_cast<std::size_t>(factor_) * 2 * streams();
}

namespace {
void put_le(std::string& out, std::int16_t s) {
  auto u = static_cast<std::uint16_t>(s);
  out.push_back(static_cast<char>(u & 0xff));
  out.push_back(static_cast<char>(u >> 8));
}
std::int16_t saturate(int v) {
  return static_cast<std::int16_t>(std::clamp(v, -32768, 32767));
}
}  // namespace

std::string Encoder::encode(std::span<const std::int16_t> listened, std::span<const std::int16_t> other,
                            bool silence) {
  std::string out;
  out.reserve(frame_bytes());
  if (silence) {
    out.assign(frame_bytes(), '\0');
    return out;
  }
  auto frame_of = [](std::span<const std::int16_t> in, std::vector<std::int16_t>& buf) {
    buf.assign(kFrameSamples8k, 0);
    std::copy_n(in.begin(), std::min(in.size(), kFrameSamples8k), buf.begin());
  };
  std::vector<std::int16_t> a, b;
  frame_of(listened, a);
  frame_of(other, b);
  up_l_.clear();
  up_r_.clear();
  switch (mix_) {
    case Mix::Mono:
      left_.process(a, up_l_);
      for (auto s : up_l_) put_le(out, s);
      break;
    case Mix::Mixed:
      mixed_.resize(kFrameSamples8k);
      for (std::size_t i = 0; i < kFrameSamples8k; ++i) mixed_[i] = saturate(int(a[i]) + int(b[i]));
      left_.process(mixed_, up_l_);
      for (auto s : up_l_) put_le(out, s);
      break;
    case Mix::Stereo:
      left_.process(a, up_l_);
      right_.process(b, up_r_);
      for (std::size_t i = 0; i < up_l_.size(); ++i) {
        put_le(out, up_l_[i]);
        put_le(out, up_r_[i]);
      }
      break;
  }
  return out;
}

bool SendQueue::push_audio(std::string frame) {
  bool room = audio_.size() < max_audio_;
  if (!room) {
    audio_.pop_front();
    ++dropped_;
  }
  audio_.push_back(std::move(frame));
  return room;
}

bool SendQueue::push_text(std::string text) {
  if (text_.size() >= max_text_) return false;
  text_.push_back(std::move(text));
  return true;
}

bool SendQueue::pop(std::string& out, bool& text) {
  auto& q = text_.empty() ? audio_ : text_;
  if (q.empty()) return false;
  text = &q == &text_;
  out = std::move(q.front());
  q.pop_front();
  return true;
}

// ---- the server's text frames ----

std::optional<std::string> base64_decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char ch : in) {
    int v;
    if (ch >= 'A' && ch <= 'Z') {
      v = ch - 'A';
    } else if (ch >= 'a' && ch <= 'z') {
      v = ch - 'a' + 26;
    } else if (ch >= '0' && ch <= '9') {
      v = ch - '0' + 52;
    } else if (ch == '+' || ch == '-') {
      v = 62;
    } else if (ch == '/' || ch == '_') {
      v = 63;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

namespace {

// playAudio's data: content type, rate and the decoded, checked audio. An Invalid on the first problem.
ServerMessage parse_play_audio(const json::object& data) {
  PlayAudio p;
  auto ct = jget::str(data, "audioContentType");
  if (ct == "raw") {
    p.content = PlayAudio::Content::Raw;
  } else if (ct == "wav" || ct == "wave") {
    p.content = PlayAudio::Content::Wav;
  } else {
    return Invalid{"playAudio: audioContentType must be raw, wav or wave"};
  }
  if (auto r = num_at(data, "sampleRate")) {
    auto rate = whole_in(*r, 8000, 96000);
    if (!rate) return Invalid{"playAudio: sampleRate out of range"};
    p.sample_rate = *rate;
  } else if (p.content == PlayAudio::Content::Raw) {
    return Invalid{"playAudio: raw audio needs a sampleRate"};
  }
  auto* c = data.if_contains("audioContent");
  if (!c || !c->is_string() || c->get_string().empty()) return Invalid{"playAudio: no audioContent"};
  if (c->get_string().size() / 4 * 3 > kMaxPlayBytes) return Invalid{"playAudio: audioContent too large"};
  auto bytes = base64_decode(c->get_string());
  if (!bytes || bytes->empty()) return Invalid{"playAudio: audioContent is not base64"};
  if (p.content == PlayAudio::Content::Raw && bytes->size() % 2 != 0)
    return Invalid{"playAudio: raw audio must be whole 16-bit samples"};
  bool wav_header = bytes->size() >= 44 && bytes->compare(0, 4, "RIFF") == 0 && bytes->compare(8, 4, "WAVE") == 0;
  if (p.content == PlayAudio::Content::Wav && !wav_header) return Invalid{"playAudio: audioContent is not a WAV file"};
  p.audio = std::move(*bytes);
  if (auto* id = data.if_contains("id")) p.id = *id;
  p.queue_play = bool_at(data, "queuePlay", false);
  return p;
}

bool ignored_type(const std::string& type) {
  return type == "transcription" || type == "transfer" || type == "error" || type == "json" || type == "mark" ||
         type == "clearMarks";
}

}  // namespace

ServerMessage parse_server_message(std::string_view text) {
  if (text.size() > kMaxTextFrame) return Invalid{"text frame too large"};
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return Invalid{"not a JSON object"};
  const auto& o = v.get_object();
  auto* t = o.if_contains("type");
  if (!t || !t->is_string()) return Invalid{"no type"};
  std::string type(t->get_string());
  if (type == "killAudio") return KillAudio{};
  if (type == "disconnect") return Disconnect{};
  if (ignored_type(type)) return Ignored{type};
  if (type != "playAudio") return Invalid{"unknown type " + type.substr(0, 40)};
  auto* d = o.if_contains("data");
  if (!d || !d->is_object()) return Invalid{"playAudio: no data object"};
  return parse_play_audio(d->get_object());
}

namespace {
void put_u32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u16(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
}  // namespace

std::string wav_of_l16(std::string_view l16, int sample_rate) {
  std::string w;
  auto n = static_cast<std::uint32_t>(l16.size() & ~std::size_t{1});
  w.reserve(44 + n);
  w += "RIFF";
  put_u32(w, 36 + n);
  w += "WAVEfmt ";
  put_u32(w, 16);
  put_u16(w, 1);  // PCM
  put_u16(w, 1);  // mono
  put_u32(w, static_cast<std::uint32_t>(sample_rate));
  put_u32(w, static_cast<std::uint32_t>(sample_rate) * 2);
  put_u16(w, 2);
  put_u16(w, 16);
  w += "data";
  put_u32(w, n);
  w.append(l16.substr(0, n));
  return w;
}

std::string beep_wav() {
  constexpr int kRate = 8000, kMs = 500, kHz = 1500;
  std::string pcm;
  const double pi = std::acos(-1.0);
  for (int i = 0; i < kRate * kMs / 1000; ++i) {
    double s = 0.5 * std::sin(2 * pi * kHz * i / kRate);
    put_le(pcm, static_cast<std::int16_t>(std::lround(s * 32767)));
  }
  return wav_of_l16(pcm, kRate);
}

// ---- play queue ----

PlayQueue::Step PlayQueue::play(PlayAudio item) {
  Step s;
  if (item.queue_play) {
    if (!playing_) {
      playing_ = true;
      s.start = std::move(item);
    } else if (q_.size() >= kMaxQueued) {
      s.refused = true;
    } else {
      q_.push_back(std::move(item));
    }
    return s;
  }
  s.stop_current = playing_;
  for (auto& q : q_) s.dropped_ids.push_back(q.id);
  q_.clear();
  playing_ = true;
  s.start = std::move(item);
  return s;
}

std::optional<PlayAudio> PlayQueue::done() {
  if (q_.empty()) {
    playing_ = false;
    return std::nullopt;
  }
  auto next = std::move(q_.front());
  q_.pop_front();
  playing_ = true;
  return next;
}

PlayQueue::Step PlayQueue::kill() {
  Step s;
  s.stop_current = playing_;
  for (auto& q : q_) s.dropped_ids.push_back(q.id);
  q_.clear();
  playing_ = false;
  return s;
}

// ---- decisions ----

bool Machine::set_status(std::string_view s) {
  if (s == "pause") {
    status_ = Status::Paused;
  } else if (s == "silence") {
    status_ = Status::Silence;
  } else if (s == "resume") {
    status_ = Status::Streaming;
  } else {
    return false;
  }
  return true;
}

Machine::DtmfOutcome Machine::dtmf(char key, int duration_ms) {
  DtmfOutcome out;
  if (p_.pass_dtmf)
    out.event = json::object{{"event", "dtmf"}, {"dtmf", std::string(1, key)}, {"duration", duration_ms}};
  if (!p_.finish_on_key.empty() && p_.finish_on_key.find(key) != std::string::npos) {
    out.finish = true;
    digits_ = std::string(1, key);  // jambonz: results.digits = the key that ended the listen
  }
  return out;
}

json::object action_payload(const CallState& c, long long streamed_ms, const std::string& digits, double now) {
  auto o = parent_payload(c, now);
  o["dial_call_duration"] = (streamed_ms + 500) / 1000;
  o["digits"] = digits;
  return o;
}

}  // namespace dp::core::listen
