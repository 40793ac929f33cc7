#include "core/listen.hpp"

#include "core/encoding.hpp"

#include <doctest/doctest.h>

#include <cmath>

namespace json = boost::json;
namespace ls = dp::core::listen;
using dp::core::CallState;
using dp::core::Leg;

namespace {
ls::Params params_of(std::string_view j) {
  auto p = ls::parse_params(json::parse(j));
  REQUIRE_MESSAGE(p.params, p.error);
  return *p.params;
}
std::vector<std::int16_t> frame(std::int16_t v) { return std::vector<std::int16_t>(ls::kFrameSamples8k, v); }
std::int16_t le_at(const std::string& s, std::size_t sample) {
  auto lo = static_cast<unsigned char>(s[2 * sample]);
  auto hi = static_cast<unsigned char>(s[2 * sample + 1]);
  return static_cast<std::int16_t>(lo | (hi << 8));
}
}  // namespace

TEST_SUITE("listen") {
  TEST_CASE("from_dial: listen, or its alias stream; nothing when neither") {
    auto dial = [](std::string_view j) { return json::parse(j).as_object(); };
    CHECK_FALSE(ls::from_dial(dial(R"({"verb":"dial"})")));
    CHECK_FALSE(ls::from_dial(dial(R"({"verb":"dial","listen":"ws://x"})")));
    auto l = ls::from_dial(dial(R"({"listen":{"url":"ws://a","sampleRate":16000}})"));
    REQUIRE(l);
    REQUIRE(l->params);
    CHECK(l->params->url == "ws://a");
    CHECK(l->params->sample_rate == 16000);
    auto s = ls::from_dial(dial(R"({"stream":{"url":"ws://b"}})"));
    REQUIRE(s);
    REQUIRE(s->params);
    CHECK(s->params->url == "ws://b");
    auto both = ls::from_dial(dial(R"({"listen":{"url":"ws://a"},"stream":{"url":"ws://b"}})"));
    REQUIRE(both);
    CHECK(both->params->url == "ws://a");
    auto bad = ls::from_dial(dial(R"({"listen":{"url":"ws://a","channel":3}})"));
    REQUIRE(bad);  // asked for, refused: the caller reports why
    CHECK_FALSE(bad->params);
    CHECK_FALSE(bad->error.empty());
  }

  TEST_CASE("params: defaults, options, refusals") {
    auto p = params_of(R"({"url":"wss://x/y"})");
    CHECK(p.mix == ls::Mix::Mono);
    CHECK(p.sample_rate == 8000);
    CHECK(p.channel == 1);
    CHECK(p.bidirectional);
    CHECK(p.action_hook.is_null());
    p = params_of(R"({"url":"/ws","mixType":"stereo","sampleRate":16000,"channel":2,"passDtmf":true,
      "finishOnKey":"#","maxLength":30,"playBeep":true,"wsAuth":{"username":"u","password":"p"},
      "metadata":{"a":1},"actionHook":"/done","disableBidirectionalAudio":true})");
    CHECK(p.mix == ls::Mix::Stereo);
    CHECK(p.sample_rate == 16000);
    CHECK(p.channel == 2);
    CHECK(p.pass_dtmf);
    CHECK(p.finish_on_key == "#");
    CHECK(p.max_length_s == 30);
    CHECK(p.play_beep);
    CHECK(p.ws_user == "u");
    CHECK(p.ws_password == "p");
    CHECK(p.metadata.at("a").as_int64() == 1);
    CHECK(p.action_hook.as_string() == "/done");
    CHECK_FALSE(p.bidirectional);
    CHECK_FALSE(ls::parse_params(json::parse(R"({"url":"ws://x","sampleRate":44100})")).params);
    CHECK_FALSE(ls::parse_params(json::parse(R"({"url":"ws://x","channel":3})")).params);
    CHECK_FALSE(ls::parse_params(json::parse(R"({"mixType":"mono"})")).params);
    CHECK_FALSE(ls::parse_params(json::parse(R"({"url":"ws://x","mixType":"quad"})")).params);
    CHECK(ls::parse_params(json::parse(R"({"url":"ws://x","sampleRate":64000})")).params);
    // numbers beyond int's range are refused, never converted (the fuzzer's find)
    CHECK_FALSE(ls::parse_params(json::parse(R"({"url":"ws://x","sampleRate":6.8e15})")).params);
    CHECK_FALSE(ls::parse_params(json::parse(R"({"url":"ws://x","sampleRate":-1e300})")).params);
    CHECK_FALSE(ls::parse_params(json::parse(R"({"url":"ws://x","sampleRate":16000.5})")).params);
  }

  TEST_CASE("ws url: absolute kept, relative taken to the app's origin") {
    CHECK(ls::resolve_ws_url("ws://h:1/a", "http://app/hook") == "ws://h:1/a");
    CHECK(ls::resolve_ws_url("wss://h/a?b=1", "http://app/hook") == "wss://h/a?b=1");
    CHECK(ls::resolve_ws_url("/stream", "http://app:8080/hook") == "ws://app:8080/stream");
    CHECK(ls::resolve_ws_url("/stream", "https://app/hook") == "wss://app/stream");
    CHECK_FALSE(ls::resolve_ws_url("http://h/a", "http://app/hook"));
    CHECK_FALSE(ls::resolve_ws_url("stream", "http://app/hook"));
    CHECK_FALSE(ls::resolve_ws_url("/stream", ""));
  }

  TEST_CASE("metadata: the child leg's info in camelCase, then sampleRate, mixType, metadata last") {
    CHECK(ls::camel_case("parent_call_sid") == "parentCallSid");
    CHECK(ls::camel_case("from") == "from");
    CHECK(ls::camel_case("_x") == "x");
    CallState c;
    c.call_sid = "P";
    c.call_id = "cid";
    c.account_sid = "A";
    c.application_sid = "APP";
    c.caller_name = "Alice";
    Leg l;
    l.call_sid = "C";
    l.from = "100";
    l.to = "200";
    l.status = dp::core::CallStatus::InProgress;
    l.sip_status = 200;
    l.sip_reason = "OK";
    auto p = params_of(R"({"url":"ws://x","mixType":"stereo","sampleRate":16000,"metadata":{"foo":"bar","mixType":"over"}})");
    auto m = ls::metadata_frame(c, l, p, 100);
    CHECK(m.at("callSid").as_string() == "C");
    CHECK(m.at("parentCallSid").as_string() == "P");
    CHECK(m.at("direction").as_string() == "outbound");
    CHECK(m.at("from").as_string() == "100");
    CHECK(m.at("to").as_string() == "200");
    CHECK(m.at("callId").as_string() == "cid");
    CHECK(m.at("callStatus").as_string() == "in-progress");
    CHECK(m.at("sipStatus").as_int64() == 200);
    CHECK(m.at("callerId").as_string() == "100");
    CHECK(m.at("accountSid").as_string() == "A");
    CHECK(m.at("applicationSid").as_string() == "APP");
    CHECK(m.at("callerName").as_string() == "Alice");
    CHECK(m.at("sampleRate").as_int64() == 16000);
    CHECK(m.at("foo").as_string() == "bar");
    CHECK(m.at("mixType").as_string() == "over");  // metadata merged last
    CHECK_FALSE(m.contains("call_sid"));
  }

  TEST_CASE("aligner: pairs, a missing side is silence after the lag, memory bounded") {
    ls::Aligner al(2, 3);
    std::vector<std::int16_t> a, b;
    al.push(0, frame(1));
    CHECK_FALSE(al.pop(a, b));  // waits for the other party
    al.push(1, frame(2));
    REQUIRE(al.pop(a, b));
    CHECK(a[0] == 1);
    CHECK(b[0] == 2);
    CHECK_FALSE(al.pop(a, b));
    // The callee sends nothing: after 3 frames of lag the caller goes out with silence on the right.
    for (int i = 0; i < 4; ++i) al.push(0, frame(static_cast<std::int16_t>(10 + i)));
    REQUIRE(al.pop(a, b));
    CHECK(a[0] == 10);
    CHECK(b[0] == 0);
    CHECK(b.size() == ls::kFrameSamples8k);
    CHECK(al.filled_with_silence() == 1);
    CHECK_FALSE(al.pop(a, b));  // back within the lag
    // Out-of-step arrival keeps order per party.
    al.push(1, frame(20));
    REQUIRE(al.pop(a, b));
    CHECK(a[0] == 11);
    CHECK(b[0] == 20);
    // mono: at once
    ls::Aligner mono(1);
    mono.push(0, frame(5));
    mono.push(1, frame(6));  // ignored
    REQUIRE(mono.pop(a, b));
    CHECK(a[0] == 5);
    CHECK_FALSE(mono.pop(a, b));
    // a short frame is padded
    ls::Aligner pad(1);
    std::vector<std::int16_t> shorty(10, 7);
    pad.push(0, shorty);
    REQUIRE(pad.pop(a, b));
    CHECK(a.size() == ls::kFrameSamples8k);
    CHECK(a[9] == 7);
    CHECK(a[10] == 0);
  }

  TEST_CASE("encoder: sizes per rate and mix, stereo interleaves, mixed saturates, silence is zeros") {
    for (int rate : {8000, 16000, 24000, 48000, 64000}) {
      ls::Encoder mono(ls::Mix::Mono, rate), st(ls::Mix::Stereo, rate);
      auto f = frame(100);
      CHECK(mono.encode(f, f, false).size() == static_cast<std::size_t>(rate / 50 * 2));
      CHECK(st.encode(f, f, false).size() == static_cast<std::size_t>(rate / 50 * 4));
      CHECK(mono.frame_bytes() == static_cast<std::size_t>(rate / 50 * 2));
    }
    ls::Encoder st(ls::Mix::Stereo, 8000);
    auto out = st.encode(frame(1000), frame(-2000), false);
    CHECK(le_at(out, 0) == 1000);
    CHECK(le_at(out, 1) == -2000);
    CHECK(le_at(out, 318) == 1000);
    CHECK(le_at(out, 319) == -2000);
    ls::Encoder mix(ls::Mix::Mixed, 8000);
    out = mix.encode(frame(30000), frame(10000), false);
    CHECK(out.size() == 320);
    CHECK(le_at(out, 5) == 32767);
    out = mix.encode(frame(-30000), frame(-10000), false);
    CHECK(le_at(out, 5) == -32768);
    out = mix.encode(frame(100), frame(-30), false);
    CHECK(le_at(out, 5) == 70);
    ls::Encoder mono(ls::Mix::Mono, 16000);
    out = mono.encode(frame(1000), frame(0), true);
    CHECK(out.size() == 640);
    CHECK(out == std::string(640, '\0'));
    // 16 kHz of a steady level: after the filter's delay the level is kept.
    for (int i = 0; i < 3; ++i) out = mono.encode(frame(1000), frame(0), false);
    CHECK(std::abs(le_at(out, 100) - 1000) < 30);
  }

  TEST_CASE("send queue: text first, audio bounded with the oldest dropped") {
    ls::SendQueue q(3, 2);
    std::string out;
    bool text = false;
    CHECK_FALSE(q.pop(out, text));
    CHECK(q.push_audio("a1"));
    CHECK(q.push_audio("a2"));
    CHECK(q.push_text("t1"));
    CHECK(q.push_audio("a3"));
    CHECK_FALSE(q.push_audio("a4"));  // full: a1 goes
    CHECK(q.dropped() == 1);
    CHECK(q.audio_size() == 3);
    CHECK(q.push_text("t2"));
    CHECK_FALSE(q.push_text("t3"));  // the text queue is full
    std::vector<std::string> order;
    while (q.pop(out, text)) order.push_back((text ? "T:" : "A:") + out);
    CHECK(order == std::vector<std::string>{"T:t1", "T:t2", "A:a2", "A:a3", "A:a4"});
    CHECK(q.empty());
    // A server that never reads: memory stays at the bound, however long.
    ls::SendQueue slow;
    for (int i = 0; i < 100000; ++i) slow.push_audio(std::string(320, 'x'));
    CHECK(slow.audio_size() == 50);
    CHECK(slow.dropped() == 100000 - 50);
  }

  TEST_CASE("server messages: playAudio, killAudio, disconnect, ignored and invalid") {
    std::string raw("\x01\x00\x02\x00", 4);
    auto b64 = dp::core::base64_encode(raw);
    auto m = ls::parse_server_message(
        R"({"type":"playAudio","data":{"audioContentType":"raw","sampleRate":16000,"audioContent":")" + b64 +
        R"(","id":"x1","queuePlay":true}})");
    auto* p = std::get_if<ls::PlayAudio>(&m);
    REQUIRE(p);
    CHECK(p->content == ls::PlayAudio::Content::Raw);
    CHECK(p->sample_rate == 16000);
    CHECK(p->audio == raw);
    CHECK(p->id.as_string() == "x1");
    CHECK(p->queue_play);
    auto wav = ls::wav_of_l16(raw, 8000);
    m = ls::parse_server_message(R"({"type":"playAudio","data":{"audioContentType":"wave","audioContent":")" +
                                 dp::core::base64_encode(wav) + R"("}})");
    p = std::get_if<ls::PlayAudio>(&m);
    REQUIRE(p);
    CHECK(p->content == ls::PlayAudio::Content::Wav);
    CHECK(p->id.is_null());
    CHECK_FALSE(p->queue_play);
    CHECK(std::holds_alternative<ls::KillAudio>(ls::parse_server_message(R"({"type":"killAudio"})")));
    CHECK(std::holds_alternative<ls::Disconnect>(ls::parse_server_message(R"({"type":"disconnect"})")));
    CHECK(std::holds_alternative<ls::Ignored>(ls::parse_server_message(R"({"type":"transcription","data":{}})")));
    for (const char* bad : {"", "[]", "nope", R"({"type":7})", R"({"type":"dance"})", R"({"type":"playAudio"})",
                            R"({"type":"playAudio","data":{"audioContentType":"mp3","audioContent":"AAAA"}})",
                            R"({"type":"playAudio","data":{"audioContentType":"raw","audioContent":"AAAA"}})",
                            R"({"type":"playAudio","data":{"audioContentType":"raw","sampleRate":8000,"audioContent":"!!"}})",
                            R"({"type":"playAudio","data":{"audioContentType":"raw","sampleRate":8000,"audioContent":"AA=="}})",
                            R"({"type":"playAudio","data":{"audioContentType":"wav","audioContent":"AAAA"}})",
                            R"({"type":"playAudio","data":{"audioContentType":"raw","sampleRate":6.88889e15,"audioContent":"AAAA"}})",
                            R"({"type":"playAudio","data":{"audioContentType":"raw","sampleRate":-9e18,"audioContent":"AAAA"}})"}) {
      CAPTURE(bad);
      CHECK(std::holds_alternative<ls::Invalid>(ls::parse_server_message(bad)));
    }
  }

  TEST_CASE("base64 decode round trip and refusals") {
    for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)})
      CHECK(ls::base64_decode(dp::core::base64_encode(s)) == s);
    CHECK(ls::base64_decode("YWJj") == "abc");
    CHECK(ls::base64_decode("YWI") == "ab");  // padding optional
    CHECK_FALSE(ls::base64_decode("Y"));
    CHECK_FALSE(ls::base64_decode("YW J"));
  }

  TEST_CASE("wav and beep") {
    auto w = ls::wav_of_l16(std::string(320, '\x01'), 16000);
    CHECK(w.size() == 44 + 320);
    CHECK(w.substr(0, 4) == "RIFF");
    CHECK(w.substr(8, 4) == "WAVE");
    CHECK(static_cast<unsigned char>(w[24]) == (16000 & 0xff));
    auto beep = ls::beep_wav();
    CHECK(beep.size() == 44 + 8000);  // 500 ms at 8 kHz, 16-bit
    // 1500 Hz: a zero crossing every 8000 / 3000 samples on average.
    int crossings = 0;
    for (std::size_t i = 1; i < 4000; ++i) {
      auto s0 = le_at(beep.substr(44), i - 1), s1 = le_at(beep.substr(44), i);
      if ((s0 < 0) != (s1 < 0)) ++crossings;
    }
    CHECK(crossings >= 1495);
    CHECK(crossings <= 1505);
  }

  TEST_CASE("play queue: queuePlay appends up to 10, otherwise flush and play at once") {
    ls::PlayQueue q;
    auto item = [](int id, bool queue) {
      ls::PlayAudio p;
      p.id = id;
      p.queue_play = queue;
      return p;
    };
    auto s = q.play(item(1, true));
    REQUIRE(s.start);
    CHECK(s.start->id.as_int64() == 1);
    CHECK_FALSE(s.stop_current);
    for (int i = 2; i <= 11; ++i) CHECK_FALSE(q.play(item(i, true)).refused);
    CHECK(q.queued() == 10);
    CHECK(q.play(item(12, true)).refused);
    auto next = q.done();
    REQUIRE(next);
    CHECK(next->id.as_int64() == 2);
    s = q.play(item(20, false));  // flush
    CHECK(s.stop_current);
    CHECK(s.dropped_ids.size() == 9);
    REQUIRE(s.start);
    CHECK(s.start->id.as_int64() == 20);
    CHECK_FALSE(q.done());
    CHECK_FALSE(q.playing());
    q.play(item(30, true));
    q.play(item(31, true));
    s = q.kill();
    CHECK(s.stop_current);
    CHECK(s.dropped_ids.size() == 1);
    CHECK_FALSE(q.playing());
    s = q.kill();
    CHECK_FALSE(s.stop_current);
  }

  TEST_CASE("machine: listen_status, passDtmf, finishOnKey, maxLength") {
    auto p = params_of(R"({"url":"ws://x","passDtmf":true,"finishOnKey":"#","maxLength":2})");
    ls::Machine m(p);
    CHECK(m.send_frames());
    CHECK_FALSE(m.silence());
    CHECK(m.set_status("pause"));
    CHECK_FALSE(m.send_frames());
    CHECK(m.set_status("silence"));
    CHECK(m.send_frames());
    CHECK(m.silence());
    CHECK(m.set_status("resume"));
    CHECK(m.status() == ls::Status::Streaming);
    CHECK_FALSE(m.set_status("stop"));
    CHECK(m.status() == ls::Status::Streaming);
    auto d = m.dtmf('5', 120);
    REQUIRE(d.event);
    CHECK(json::serialize(*d.event) == R"({"event":"dtmf","dtmf":"5","duration":120})");
    CHECK_FALSE(d.finish);
    CHECK(m.digits().empty());
    d = m.dtmf('#', 80);
    CHECK(d.finish);
    CHECK(d.event);
    CHECK(m.digits() == "#");
    CHECK_FALSE(m.over_max_length(1999));
    CHECK(m.over_max_length(2000));
    auto q = params_of(R"({"url":"ws://x"})");
    ls::Machine quiet(q);
    auto e = quiet.dtmf('#', 10);
    CHECK_FALSE(e.event);
    CHECK_FALSE(e.finish);
    CHECK_FALSE(quiet.over_max_length(1000000000));
  }

  TEST_CASE("actionHook payload: parent info, dial_call_duration, digits") {
    CallState c;
    c.call_sid = "P";
    auto o = ls::action_payload(c, 2600, "#", 10);
    CHECK(o.at("call_sid").as_string() == "P");
    CHECK(o.at("dial_call_duration").as_int64() == 3);
    CHECK(o.at("digits").as_string() == "#");
  }
}
