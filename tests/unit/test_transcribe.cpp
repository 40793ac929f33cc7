#include "core/transcribe.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace dp::core;
namespace json = boost::json;

namespace {
json::object verb(std::string_view transcribe_json) {
  json::object v{{"verb", "dial"}};
  v["transcribe"] = json::parse(transcribe_json);
  return v;
}
std::vector<std::int16_t> frame(std::int16_t level = 1000) { return std::vector<std::int16_t>(160, level); }
}  // namespace

TEST_CASE("transcribe options: jambonz's channel defaults") {
  CHECK_FALSE(stt::options_from_dial(json::object{{"verb", "dial"}}));
  auto both = stt::options_from_dial(verb(R"({"transcriptionHook":"/t"})"));
  REQUIRE(both);
  CHECK(both->channels == std::vector<int>{1, 2});
  CHECK(both->hook.as_string() == "/t");
  CHECK(both->language == "en-US");
  CHECK_FALSE(both->interim);
  CHECK(both->vendor.empty());
  auto callee = stt::options_from_dial(verb(R"({"transcriptionHook":"/t","channel":2})"));
  CHECK(callee->channels == std::vector<int>{2});
  auto caller = stt::options_from_dial(verb(R"({"channel":1})"));
  CHECK(caller->channels == std::vector<int>{1});
  CHECK(caller->hook.is_null());
  auto mono = stt::options_from_dial(
      verb(R"({"recognizer":{"vendor":"default","separateRecognitionPerChannel":false,"interim":true,
               "language":"en-GB"}})"));
  CHECK(mono->channels == std::vector<int>{1});
  CHECK(mono->interim);
  CHECK(mono->vendor == "default");
  CHECK(mono->language == "en-GB");
  // channel wins over separateRecognitionPerChannel; an out-of-range channel keeps the default
  CHECK(stt::options_from_dial(verb(R"({"channel":2,"recognizer":{"vendor":"x","separateRecognitionPerChannel":false}})"))
            ->channels == std::vector<int>{2});
  CHECK(stt::options_from_dial(verb(R"({"channel":3})"))->channels == std::vector<int>{1, 2});
}

TEST_CASE("transcribe: vendor and language refusals") {
  CHECK(stt::refusal("", "en-US").empty());
  CHECK(stt::refusal("default", "en-us").empty());
  CHECK(stt::refusal("PocketSphinx", "").empty());
  CHECK(stt::refusal("google", "en-US") ==
        "speech recognizer vendor google is not configured on this platform (embedded engine: pocketsphinx, vendor "
        "\"default\")");
  CHECK(stt::refusal("deepgram", "en-US").find("not configured") != std::string::npos);
  CHECK(stt::refusal("acme", "en-US").find("acme is unknown") != std::string::npos);
  CHECK(stt::refusal("default", "de-DE") == "language de-DE is not supported by the embedded recognizer (en-US only)");
}

TEST_CASE("segmenter: silence is not fed; an utterance starts with its pre-roll and ends after 800 ms of silence") {
  stt::Segmenter s;
  for (int i = 0; i < 50; ++i) {
    auto st = s.push(frame(0), false);
    CHECK(st.audio.empty());
    CHECK(st.end == stt::Segmenter::End::None);
  }
  // one or two voiced frames (a click) do not start an utterance
  CHECK_FALSE(s.push(frame(), true).started);
  CHECK_FALSE(s.push(frame(), true).started);
  CHECK_FALSE(s.in_utterance());
  auto st = s.push(frame(), true);  // 3 voiced of the last 5
  CHECK(st.started);
  CHECK(s.in_utterance());
  CHECK(st.audio.size() == 15 * 160);  // the pre-roll (300 ms) including this frame
  for (int i = 0; i < 39; ++i) {
    auto q = s.push(frame(0), false);
    CHECK(q.audio.size() == 160);
    REQUIRE(q.end == stt::Segmenter::End::None);
  }
  auto end = s.push(frame(0), false);  // the 40th silent frame: 800 ms
  CHECK(end.end == stt::Segmenter::End::Silence);
  CHECK(end.audio.size() == 160);
  CHECK_FALSE(s.in_utterance());
  CHECK(s.push(frame(0), false).audio.empty());
}

TEST_CASE("segmenter: voice resets the silence count; 15 s of speech is cut into finals") {
  stt::Segmenter s;
  for (int i = 0; i < 3; ++i) s.push(frame(), true);
  REQUIRE(s.in_utterance());
  for (int i = 0; i < 30; ++i) s.push(frame(0), false);
  CHECK(s.push(frame(), true).end == stt::Segmenter::End::None);  // 600 ms pause inside the utterance
  int frames = 3 + 30 + 1;  // the utterance so far, its pause included
  stt::Segmenter::End e = stt::Segmenter::End::None;
  while (e == stt::Segmenter::End::None && frames < 2000) {
    e = s.push(frame(), true).end;
    ++frames;
  }
  CHECK(e == stt::Segmenter::End::MaxLength);
  CHECK(frames == 750);  // 15 s
  // still speaking: the next utterance starts at once (3 voiced frames)
  s.push(frame(), true);
  s.push(frame(), true);
  CHECK(s.push(frame(), true).started);
}

TEST_CASE("segmenter: flush ends an open utterance only; other frame sizes are ignored") {
  stt::Segmenter s;
  CHECK(s.flush().end == stt::Segmenter::End::None);
  for (int i = 0; i < 3; ++i) s.push(frame(), true);
  auto f = s.flush();
  CHECK(f.end == stt::Segmenter::End::Flush);
  CHECK(f.audio.empty());
  CHECK_FALSE(s.in_utterance());
  std::vector<std::int16_t> odd(80, 1000);
  CHECK(s.push(odd, true).audio.empty());
  CHECK(stt::to_string(stt::Segmenter::End::MaxLength) == "max_length");
}

TEST_CASE("payloads: jambonz's speech object on the parent's call info; errors as speech_event") {
  json::object parent{{"call_sid", "abc"}, {"direction", "inbound"}};
  stt::Result r{2, true, "hello world", 0.87654};
  auto p = stt::result_payload(parent, r, "en-US");
  CHECK(p.at("call_sid").as_string() == "abc");
  const auto& sp = p.at("speech").as_object();
  CHECK(sp.at("language_code").as_string() == "en-US");
  CHECK(sp.at("channel_tag").as_int64() == 2);
  CHECK(sp.at("is_final").as_bool());
  const auto& alt = sp.at("alternatives").as_array().at(0).as_object();
  CHECK(alt.at("transcript").as_string() == "hello world");
  CHECK(alt.at("confidence").as_double() == doctest::Approx(0.8765));
  CHECK(sp.at("vendor").at("name").as_string() == "pocketsphinx");
  CHECK(sp.at("vendor").at("evt").at("type").as_string() == "final");
  stt::Result interim{1, false, "hel", 7};
  auto pi = stt::result_payload(parent, interim, "en-US");
  CHECK_FALSE(pi.at("speech").at("is_final").as_bool());
  CHECK(pi.at("speech").at("alternatives").at(0).at("confidence").as_double() == 1.0);  // clamped
  auto e = stt::error_payload(parent, 1, "no speech recognizer free", "", "en-US");
  CHECK_FALSE(e.contains("speech"));
  CHECK(e.at("speech_event").at("type").as_string() == "error");
  CHECK(e.at("speech_event").at("error").as_string() == "no speech recognizer free");
  CHECK(e.at("speech_event").at("channel_tag").as_int64() == 1);
  CHECK(e.at("speech_event").at("vendor").as_string() == "default");
}
