#include "core/rtp.hpp"

#include "core/g711.hpp"

#include <doctest/doctest.h>

#include "../common/rtp_test_util.hpp"

namespace rtp = dp::core::rtp;
namespace g711 = dp::core::g711;
using dp::test::rtp_packet;
using dp::test::RtpHeader;

namespace {
std::vector<std::uint8_t> bytes(std::initializer_list<int> l) {
  std::vector<std::uint8_t> out;
  for (int b : l) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}
std::vector<std::uint8_t> ulaw_tone(std::size_t from, std::size_t n) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = from; i < from + n; ++i) out.push_back(dp::test::linear_to_ulaw(dp::test::tone_sample(1000, i)));
  return out;
}
}  // namespace

TEST_SUITE("rtp") {
  TEST_CASE("a plain packet: header fields and payload") {
    auto d = rtp_packet({.pt = 0, .seq = 0xBEEF, .ts = 0x01020304, .ssrc = 0xCAFEBABE, .marker = true}, bytes({1, 2, 3}));
    auto p = rtp::parse(d);
    REQUIRE(p);
    CHECK(p->marker);
    CHECK(p->payload_type == 0);
    CHECK(p->seq == 0xBEEF);
    CHECK(p->timestamp == 0x01020304);
    CHECK(p->ssrc == 0xCAFEBABE);
    CHECK(p->csrc_count == 0);
    REQUIRE(p->payload.size() == 3);
    CHECK(p->payload[2] == 3);
  }

  TEST_CASE("CSRCs, a header extension and padding are skipped") {
    auto d = rtp_packet({.pt = 8}, bytes({}));
    d[0] = 0x80 | 0x20 | 0x10 | 2;                         // padding, extension, 2 CSRCs
    d.insert(d.end(), 8, 0xAA);                            // CSRCs
    auto ext = bytes({0xBE, 0xDE, 0x00, 0x01, 9, 9, 9, 9});  // 1 word of extension
    d.insert(d.end(), ext.begin(), ext.end());
    d.push_back(0x42);                                      // payload
    d.insert(d.end(), {0, 0, 3});                           // 3 bytes of padding
    auto p = rtp::parse(d);
    REQUIRE(p);
    CHECK(p->csrc_count == 2);
    CHECK(p->has_extension);
    CHECK(p->padding == 3);
    CHECK(p->payload_type == 8);
    REQUIRE(p->payload.size() == 1);
    CHECK(p->payload[0] == 0x42);
  }

  TEST_CASE("malformed datagrams are refused") {
    CHECK(!rtp::parse(bytes({})));
    CHECK(!rtp::parse(bytes({0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0})));  // 11 bytes
    auto d = rtp_packet({}, bytes({1}));
    d[0] = 0x40;  // version 1
    CHECK(!rtp::parse(d));
    d[0] = 0x8F;  // 15 CSRCs that are not there
    CHECK(!rtp::parse(d));
    d[0] = 0x90;  // an extension header that is not there
    CHECK(!rtp::parse(d));
    d[0] = 0xA0;  // padding: the last byte (1) counts itself: an empty payload
    auto p = rtp::parse(d);
    REQUIRE(p);
    CHECK(p->payload.empty());
    d.back() = 2;  // more padding than payload
    CHECK(!rtp::parse(d));
    d.back() = 0;  // zero padding
    CHECK(!rtp::parse(d));
    auto e = rtp_packet({}, bytes({0, 0, 0, 5}));
    e[0] = 0x90;  // extension of 5 words in a 4-byte tail
    CHECK(!rtp::parse(e));
  }

  TEST_CASE("G.711 reference values") {
    CHECK(g711::ulaw_to_linear(0xFF) == 0);
    CHECK(g711::ulaw_to_linear(0x7F) == 0);
    CHECK(g711::ulaw_to_linear(0x00) == -32124);
    CHECK(g711::ulaw_to_linear(0x80) == 32124);
    CHECK(g711::alaw_to_linear(0xD5) == 8);
    CHECK(g711::alaw_to_linear(0x55) == -8);
    CHECK(g711::alaw_to_linear(0xAA) == 32256);
    CHECK(g711::alaw_to_linear(0x2A) == -32256);
    std::vector<std::int16_t> out{1, 2};  // decode() appends
    g711::decode(bytes({0xFF, 0x00}), 0, out);
    CHECK(out == std::vector<std::int16_t>{1, 2, 0, -32124});
    out.clear();
    g711::decode(bytes({0xD5}), 8, out);
    CHECK(out == std::vector<std::int16_t>{8});
    out.clear();
    g711::decode(bytes({0xD5}), 9, out);
    CHECK(out.empty());
    // µ-law round trip: within the segment's quantisation step (at most 1/16 of the magnitude + bias)
    for (int x = -32000; x <= 32000; x += 97) {
      int back = g711::ulaw_to_linear(dp::test::linear_to_ulaw(static_cast<std::int16_t>(x)));
      CHECK(std::abs(back - x) <= std::abs(x) / 16 + 8);
    }
  }

  TEST_CASE("frames: 20 ms packets give one frame each, telephone-event and other codecs are ignored") {
    rtp::FrameAssembler fa;
    std::vector<std::int16_t> frames;
    auto payload = ulaw_tone(0, 160);
    auto d = rtp_packet({.pt = 0, .seq = 1, .ts = 0}, payload);
    CHECK(fa.push(*rtp::parse(d), frames) == rtp::FrameAssembler::Outcome::Audio);
    REQUIRE(frames.size() == 160);
    CHECK(frames[5] == g711::ulaw_to_linear(payload[5]));
    auto ev = rtp_packet({.pt = 101, .seq = 2, .ts = 160}, bytes({5, 0x80, 0, 160}));
    CHECK(fa.push(*rtp::parse(ev), frames) == rtp::FrameAssembler::Outcome::Event);
    CHECK(frames.empty());
    auto g722 = rtp_packet({.pt = 9, .seq = 2, .ts = 160}, payload);
    CHECK(fa.push(*rtp::parse(g722), frames) == rtp::FrameAssembler::Outcome::Unsupported);
  }

  TEST_CASE("frames: duplicates and late packets are dropped, also across the sequence wrap") {
    rtp::FrameAssembler fa;
    std::vector<std::int16_t> frames;
    auto payload = ulaw_tone(0, 160);
    auto push = [&](std::uint16_t seq, std::uint32_t ts) {
      return fa.push(*rtp::parse(rtp_packet({.pt = 0, .seq = seq, .ts = ts}, payload)), frames);
    };
    using O = rtp::FrameAssembler::Outcome;
    CHECK(push(65534, 0) == O::Audio);
    CHECK(push(65534, 0) == O::Stale);
    CHECK(push(65535, 160) == O::Audio);
    CHECK(push(0, 320) == O::Audio);
    CHECK(frames.size() == 160);
    CHECK(push(65535, 160) == O::Stale);
    CHECK(push(60000, 1) == O::Stale);
    // a new SSRC (the party's stream restarted) is taken whatever its numbers
    auto other = rtp_packet({.pt = 0, .seq = 10, .ts = 5, .ssrc = 7}, payload);
    CHECK(fa.push(*rtp::parse(other), frames) == O::Audio);
    CHECK(frames.size() == 160);
  }

  TEST_CASE("frames: a 60 ms packet is three frames; 10 ms packets pair up; a loss leaves a hole") {
    rtp::FrameAssembler fa;
    std::vector<std::int16_t> frames;
    auto big = ulaw_tone(0, 480);
    CHECK(fa.push(*rtp::parse(rtp_packet({.pt = 0, .seq = 1, .ts = 0}, big)), frames) ==
          rtp::FrameAssembler::Outcome::Audio);
    CHECK(frames.size() == 480);
    auto half = ulaw_tone(480, 80);
    fa.push(*rtp::parse(rtp_packet({.pt = 0, .seq = 2, .ts = 480}, half)), frames);
    CHECK(frames.empty());
    fa.push(*rtp::parse(rtp_packet({.pt = 0, .seq = 3, .ts = 560}, half)), frames);
    CHECK(frames.size() == 160);
    // half a frame, then seq 6 (4 and 5 lost): the half is discarded, nothing is synthesized
    fa.push(*rtp::parse(rtp_packet({.pt = 0, .seq = 4, .ts = 640}, half)), frames);
    CHECK(frames.empty());
    fa.push(*rtp::parse(rtp_packet({.pt = 0, .seq = 6, .ts = 800}, half)), frames);
    CHECK(frames.empty());
    fa.push(*rtp::parse(rtp_packet({.pt = 0, .seq = 7, .ts = 880}, half)), frames);
    CHECK(frames.size() == 160);
    // A-law too
    auto alaw = rtp_packet({.pt = 8, .seq = 8, .ts = 960}, std::vector<std::uint8_t>(160, 0xD5));
    fa.push(*rtp::parse(alaw), frames);
    REQUIRE(frames.size() == 160);
    CHECK(frames[0] == 8);
  }

  TEST_CASE("a 1 kHz tone survives the µ-law round trip (Goertzel)") {
    rtp::FrameAssembler fa;
    std::vector<std::int16_t> frames;
    fa.push(*rtp::parse(rtp_packet({.pt = 0, .seq = 1}, ulaw_tone(0, 160))), frames);
    CHECK(dp::test::goertzel_share(frames, 1000) > 0.9);
    CHECK(dp::test::goertzel_share(frames, 1400) < 0.05);
  }

  TEST_CASE("the subscribe offer's m-lines") {
    std::string offer =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 44328 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n"
        "a=rtcp:44329\r\n"
        "m=audio 44330 RTP/AVP 8 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 TELEPHONE-EVENT/8000\r\na=sendonly\r\n"
        "m=video 0 RTP/AVP 31\r\n";
    auto m = rtp::offered_media(offer);
    REQUIRE(m.size() == 3);
    CHECK(m[0].type == "audio");
    CHECK(m[0].port == 44328);
    CHECK(m[0].proto == "RTP/AVP");
    CHECK(m[0].payload_types == std::vector<int>{0, 101});
    CHECK(m[0].direction == "sendonly");
    CHECK(m[0].event_pt == 101);
    CHECK(m[1].event_pt == 96);
    CHECK(m[2].type == "video");
    CHECK(m[2].event_pt == -1);
    CHECK(rtp::offered_media("").empty());
    CHECK(rtp::offered_media("m=audio\r\n").empty());

    auto a0 = rtp::answer_for(m[0], 44001);
    auto a1 = rtp::answer_for(m[1], 44003);
    CHECK(a0.codec_pt == 0);
    CHECK(a1.codec_pt == 8);
    CHECK(a1.event_pt == 96);
    CHECK(rtp::answer_for(m[2], 1).event_pt == 101);  // telephone-event always: rtpengine requires it
    auto sdp = rtp::subscribe_answer_sdp("127.0.0.1", {a0, a1});
    CHECK(sdp.find("c=IN IP4 127.0.0.1\r\n") != std::string::npos);
    CHECK(sdp.find("m=audio 44001 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n") !=
          std::string::npos);
    CHECK(sdp.find("m=audio 44003 RTP/AVP 8 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\n") !=
          std::string::npos);
    auto back = rtp::offered_media(sdp);
    REQUIRE(back.size() == 2);
    CHECK(back[0].direction == "recvonly");
    CHECK(back[1].direction == "recvonly");
    CHECK(rtp::subscribe_answer_sdp("::1", {a0}).find("c=IN IP6 ::1\r\n") != std::string::npos);
  }
}
