#include "core/amd_detector.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

using namespace dp::core;

namespace {
using Frame = std::vector<std::int16_t>;

Frame silence() { return Frame(amd::kFrameSamples, 0); }

// A sine frame continuing the phase of the previous ones (`n0` = index of the first sample).
Frame tone(double hz, double amplitude, long n0 = 0) {
  Frame f(amd::kFrameSamples);
  for (int i = 0; i < amd::kFrameSamples; ++i) {
    f[static_cast<std::size_t>(i)] =
        static_cast<std::int16_t>(amplitude * std::sin(2 * std::numbers::pi * hz * static_cast<double>(n0 + i) / 8000));
  }
  return f;
}

// Speech-like: a 140 Hz glottal pulse train's harmonics with falling weights; energy spread over many of them.
Frame voiced(long n0 = 0) {
  Frame f(amd::kFrameSamples);
  for (int i = 0; i < amd::kFrameSamples; ++i) {
    double s = 0;
    for (int h = 1; h <= 20; ++h) s += std::sin(2 * std::numbers::pi * 140 * h * static_cast<double>(n0 + i) / 8000) / h;
    f[static_cast<std::size_t>(i)] = static_cast<std::int16_t>(3000 * s);
  }
  return f;
}

Frame noise(unsigned& seed, double amplitude) {
  Frame f(amd::kFrameSamples);
  for (auto& x : f) {
    seed = seed * 1664525U + 1013904223U;
    x = static_cast<std::int16_t>(amplitude * (static_cast<double>(seed >> 8) / (1U << 24) * 2 - 1));
  }
  return f;
}

// Drives a detector; remembers every event.
struct Run {
  amd::Detector d;
  std::vector<amd::Event> events;
  long n = 0;
  explicit Run(amd::Params p = {}) : d(std::move(p)) {}
  void push(const Frame& f, bool voice) {
    for (auto& e : d.push(f, voice)) events.push_back(std::move(e));
    n += amd::kFrameSamples;
  }
  void quiet(int ms) {
    for (int i = 0; i < ms / amd::kFrameMs; ++i) push(silence(), false);
  }
  void talk(int ms) {
    for (int i = 0; i < ms / amd::kFrameMs; ++i) push(voiced(n), true);
  }
  void beep(double hz, int ms) {
    for (int i = 0; i < ms / amd::kFrameMs; ++i) push(tone(hz, 8000, n), true);
  }
  std::vector<std::string> types() const {
    std::vector<std::string> t;
    for (const auto& e : events) t.push_back(e.type);
    return t;
  }
  int at(const std::string& type) const {
    for (const auto& e : events)
      if (e.type == type) return e.at_ms;
    return -1;
  }
};

using Types = std::vector<std::string>;
}  // namespace

TEST_SUITE("amd goertzel") {
  TEST_CASE("a pure tone anywhere in 400-2100 Hz is found, to a few Hz") {
    for (double hz : {440.0, 1000.0, 1010.0, 1400.0, 1800.0, 2090.0}) {
      auto f = amd::tonal_frequency(tone(hz, 6000), 0.7, 200);
      REQUIRE_MESSAGE(f.has_value(), hz);
      CHECK(std::abs(*f - hz) < 6);
    }
  }
  TEST_CASE("speech-like harmonics, noise and quiet tones are not tonal") {
    unsigned seed = 7;
    CHECK_FALSE(amd::tonal_frequency(voiced(), 0.7, 200).has_value());
    CHECK_FALSE(amd::tonal_frequency(noise(seed, 8000), 0.7, 200).has_value());
    CHECK_FALSE(amd::tonal_frequency(tone(1000, 100), 0.7, 200).has_value());
    CHECK_FALSE(amd::tonal_frequency(silence(), 0.7, 200).has_value());
  }
  TEST_CASE("a beep is 160 ms of one steady frequency") {
    amd::Params p;
    amd::BeepTracker t(p);
    long n = 0;
    std::optional<amd::BeepTracker::Tone> hit;
    int frames = 0;
    while (!hit && frames < 50) {
      hit = t.push(tone(1000, 8000, n));
      n += 160;
      ++frames;
    }
    REQUIRE(hit.has_value());
    CHECK(frames == 8);
    CHECK(hit->frequency == doctest::Approx(1000).epsilon(0.005));
    CHECK(hit->variance < 20);
  }
  TEST_CASE("a gliding tone or a short one is not a beep") {
    amd::Params p;
    amd::BeepTracker glide(p);
    for (int i = 0; i < 16; ++i) CHECK_FALSE(glide.push(tone(500 + 80 * i, 8000)).has_value());
    amd::BeepTracker shortt(p);
    for (int i = 0; i < 7; ++i) CHECK_FALSE(shortt.push(tone(900, 8000, 160L * i)).has_value());
    CHECK_FALSE(shortt.push(silence()).has_value());
    CHECK_FALSE(shortt.push(tone(900, 8000)).has_value());
  }
}

TEST_SUITE("amd detector") {
  TEST_CASE("a short greeting and then silence is a human") {
    Run r;
    r.quiet(400);
    r.talk(600);  // "Hello?"
    r.quiet(1000);
    CHECK(r.types() == Types{"amd_human_detected", "amd_stopped"});
    CHECK(r.at("amd_human_detected") == 400 + 600 + 800);
    const auto& f = r.events[0].fields;
    CHECK(f.at("reason") == "short greeting");
    CHECK(f.at("greeting") == "");
    CHECK(f.at("language") == "en-US");
    CHECK(r.d.stopped());
    CHECK(r.d.push(silence(), false).empty());
    CHECK(r.d.stop().empty());
  }

  TEST_CASE("two words with a short pause are still one short greeting") {
    Run r;
    r.talk(300);  // "Yes,"
    r.quiet(300);
    r.talk(400);  // "hello"
    r.quiet(900);
    CHECK(r.types() == Types{"amd_human_detected", "amd_stopped"});
  }

  TEST_CASE("enough words make a machine; its silence ends it") {
    Run r;  // threshold 9 words / 3 per segment: the third segment decides
    for (int i = 0; i < 3; ++i) {
      r.talk(300);
      r.quiet(200);
    }
    r.talk(300);
    r.quiet(2100);
    CHECK(r.types() == Types{"amd_machine_detected", "amd_machine_stopped_speaking", "amd_stopped"});
    CHECK(r.at("amd_machine_detected") == 500 + 500 + 160);  // a word-length (160 ms) into the third segment
    CHECK(r.events[0].fields.at("reason") == "long greeting");
    CHECK(r.at("amd_machine_stopped_speaking") == 4 * 300 + 3 * 200 + 2000);
  }

  TEST_CASE("one long uninterrupted greeting is a machine") {
    Run r;
    r.talk(3000);
    CHECK(r.types() == Types{"amd_machine_detected"});
    CHECK(r.at("amd_machine_detected") == 2000 + 20);
    CHECK_FALSE(r.d.stopped());
  }

  TEST_CASE("thresholdWordCount lowers the segment threshold, never below two") {
    amd::Params p;
    p.threshold_word_count = 1;
    Run r(p);
    r.talk(300);
    r.quiet(200);
    r.talk(300);
    CHECK(r.types() == Types{"amd_machine_detected"});
  }

  TEST_CASE("machine, beep, then one second of silence") {
    Run r;
    r.talk(3000);
    r.beep(1000, 400);
    r.quiet(1200);
    CHECK(r.types() ==
          Types{"amd_machine_detected", "amd_tone_detected", "amd_machine_stopped_speaking", "amd_stopped"});
    const auto& tone_fields = r.events[1].fields;
    CHECK(tone_fields.at("frequency").as_int64() == doctest::Approx(1000).epsilon(0.01));
    CHECK(tone_fields.at("variance").is_int64());
    CHECK(r.at("amd_tone_detected") == 3000 + 160);
    CHECK(r.at("amd_machine_stopped_speaking") == 3000 + 400 + 1000);
  }

  TEST_CASE("a beep before any decision is a machine, announced first") {
    Run r;
    r.quiet(1000);
    r.beep(1400, 300);
    r.quiet(1100);
    CHECK(r.types() ==
          Types{"amd_machine_detected", "amd_tone_detected", "amd_machine_stopped_speaking", "amd_stopped"});
    CHECK(r.at("amd_machine_detected") == r.at("amd_tone_detected"));
  }

  TEST_CASE("a beep-like vowel is not a beep: speech harmonics with the VAD saying voice") {
    Run r;
    r.talk(500);
    r.quiet(900);
    CHECK(r.types() == Types{"amd_human_detected", "amd_stopped"});
  }

  TEST_CASE("no speech") {
    Run r;
    r.quiet(6000);
    CHECK(r.types() == Types{"amd_no_speech_detected", "amd_stopped"});
    CHECK(r.at("amd_no_speech_detected") == 5000);
  }

  TEST_CASE("a click shorter than a word is not speech") {
    Run r;
    r.quiet(1000);
    r.talk(60);
    r.quiet(5000);
    CHECK(r.types() == Types{"amd_no_speech_detected", "amd_stopped"});
  }

  TEST_CASE("decision timeout when the greeting never settles") {
    amd::Params p;
    p.after_greeting_silence_ms = 30000;
    p.max_greeting_ms = 30000;
    p.threshold_word_count = 100;
    Run r(p);
    r.talk(300);
    r.quiet(16000);
    CHECK(r.types() == Types{"amd_decision_timeout", "amd_stopped"});
    CHECK(r.at("amd_decision_timeout") == 15000);
  }

  TEST_CASE("tone timeout stops silently") {
    Run r;
    r.talk(21000);  // a machine that never pauses
    CHECK(r.types() == Types{"amd_machine_detected", "amd_stopped"});
    CHECK(r.at("amd_stopped") == 20000);
  }

  TEST_CASE("stop() emits amd_stopped once") {
    Run r;
    r.talk(200);
    auto ev = r.d.stop();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].type == "amd_stopped");
    CHECK(ev[0].at_ms == 200);
    CHECK(r.d.stopped());
    CHECK(r.d.stop().empty());
    CHECK(r.d.push(silence(), false).empty());
  }

  TEST_CASE("params_from_json: jambonz's defaults") {
    auto p = amd::params_from_json(boost::json::object{});
    CHECK(p.threshold_word_count == 9);
    CHECK(p.digit_count == 0);
    CHECK(p.no_speech_timeout_ms == 5000);
    CHECK(p.decision_timeout_ms == 15000);
    CHECK(p.tone_timeout_ms == 20000);
    CHECK(p.greeting_completion_timeout_ms == 2000);
    CHECK(p.language == "en-US");
  }

  TEST_CASE("params_from_json: values, clamps and nonsense") {
    auto v = boost::json::parse(R"({"thresholdWordCount":5,"digitCount":"6","actionHook":"/amd",
      "timers":{"noSpeechTimeoutMs":3000,"decisionTimeoutMs":-5,"toneTimeoutMs":1e12,
                "greetingCompletionTimeoutMs":"soon"},
      "recognizer":{"vendor":"google","language":"de-DE"}})");
    auto p = amd::params_from_json(v.as_object());
    CHECK(p.threshold_word_count == 5);
    CHECK(p.digit_count == 6);
    CHECK(p.no_speech_timeout_ms == 3000);
    CHECK(p.decision_timeout_ms == 100);
    CHECK(p.tone_timeout_ms == 600000);
    CHECK(p.greeting_completion_timeout_ms == 2000);
    CHECK(p.language == "de-DE");
    auto q = amd::params_from_json(
        boost::json::parse(R"({"thresholdWordCount":0,"timers":[1],"recognizer":{"language":7}})").as_object());
    CHECK(q.threshold_word_count == 1);
    CHECK(q.no_speech_timeout_ms == 5000);
    CHECK(q.language == "en-US");
  }

  TEST_CASE("from_dial: what the call flow acts on, read once from the dial verb") {
    auto dial = [](std::string_view j) { return boost::json::parse(j).as_object(); };
    CHECK_FALSE(amd::from_dial(dial(R"({"verb":"dial","target":[]})")));
    CHECK_FALSE(amd::from_dial(dial(R"({"verb":"dial","amd":true})")));
    auto plain = amd::from_dial(dial(R"({"verb":"dial","amd":{}})"));
    REQUIRE(plain);
    CHECK(plain->action_hook.is_null());
    CHECK_FALSE(plain->disconnect);
    CHECK_FALSE(plain->voicemail_safe);
    CHECK(plain->params.threshold_word_count == 9);
    auto full = amd::from_dial(dial(R"({"verb":"dial","amd":{"actionHook":{"url":"/amd","method":"GET"},
      "thresholdWordCount":4,"disconnectOnAMD":true,"voicemailSafe":true}})"));
    REQUIRE(full);
    CHECK(full->action_hook.at("url") == "/amd");
    CHECK(full->disconnect);
    CHECK(full->voicemail_safe);
    CHECK(full->params.threshold_word_count == 4);
    // disconnectOnAmd reads like other flags (a "true" string counts); voicemailSafe only as a JSON boolean
    auto loose = amd::from_dial(dial(R"({"amd":{"disconnectOnAmd":"true","voicemailSafe":"true"}})"));
    REQUIRE(loose);
    CHECK(loose->disconnect);
    CHECK_FALSE(loose->voicemail_safe);
  }
}
