#include "core/ng_protocol.hpp"

#include <doctest/doctest.h>

#include <string>

namespace bc = dp::core::bencode;
namespace ng = dp::core::ng;
using namespace std::string_literals;

namespace {

std::string wire(const ng::Request& r) { return bc::encode(ng::to_bencode(r)); }

ng::ParsedReply parse(std::string_view body) { return ng::parse_reply(body); }

}  // namespace

TEST_SUITE("ng protocol") {
  TEST_CASE("nodes are parsed as Kamailio's rtpengine_sock writes them") {
    auto n = ng::parse_node("udp:127.0.0.1:22222");
    REQUIRE(n);
    CHECK(!n->ipv6);
    CHECK(n->host == "127.0.0.1");
    CHECK(n->port == 22222);
    CHECK(n->spec == "udp:127.0.0.1:22222");
    auto h = ng::parse_node("udp:rtpengine.internal:2223");
    REQUIRE(h);
    CHECK(h->host == "rtpengine.internal");
    auto v6 = ng::parse_node("udp6:[::1]:2223");
    REQUIRE(v6);
    CHECK(v6->ipv6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 2223);
    auto v6bare = ng::parse_node("udp6:fe80::1:2223");
    REQUIRE(v6bare);
    CHECK(v6bare->host == "fe80::1");
    for (const char* bad : {"", "udp:", "udp:host", "udp::2223", "udp:h:0", "udp:h:65536", "udp:h:22a",
                            "udp:h:-1", "tcp:h:2223", "ws://h:2223", "udp:::1:2223", "udp6:[::1]2223",
                            "udp6:[::1", "udp:h:000022222"}) {
      CAPTURE(bad);
      CHECK(!ng::parse_node(bad));
    }
  }

  TEST_CASE("command names on the wire") {
    CHECK(ng::wire_name(ng::Command::PlayMedia) == "play media");
    CHECK(ng::wire_name(ng::Command::PlayDtmf) == "play DTMF");
    CHECK(ng::wire_name(ng::Command::SubscribeRequest) == "subscribe request");
    CHECK(ng::command_of(ng::Request{ng::Ping{}}) == ng::Command::Ping);
    CHECK(ng::command_of(ng::Request{ng::Unsubscribe{}}) == ng::Command::Unsubscribe);
    CHECK(ng::command_of(ng::Request{ng::BlockMedia{}}) == ng::Command::BlockMedia);
    CHECK(ng::command_of(ng::Request{ng::SubscribeAnswer{}}) == ng::Command::SubscribeAnswer);
  }

  TEST_CASE("every command is a dictionary with its keys, optional ones only when set") {
    CHECK(wire(ng::Ping{}) == "d7:command4:pinge");

    ng::Offer offer{"c1", "ft", "v=0\r\n", "", "", {}};
    CHECK(wire(offer) == "d7:command5:offer7:call-id2:c18:from-tag2:ft3:sdp5:v=0\r\ne");
    offer.via_branch = "z9hG4bK1";
    offer.label = "caller";
    offer.options.flags = {"trust address", "inject DTMF"};
    offer.options.replace = {"origin"};
    offer.options.transport_protocol = "RTP/AVP";
    offer.options.ice = "remove";
    offer.options.dtls = "off";
    offer.options.rtcp_mux = {"demux"};
    auto d = ng::to_bencode(offer);
    CHECK(*d.find("via-branch")->as_string() == "z9hG4bK1");
    CHECK(*d.find("label")->as_string() == "caller");
    CHECK(bc::encode(*d.find("flags")) == "l13:trust address11:inject DTMFe");
    CHECK(bc::encode(*d.find("replace")) == "l6:origine");
    CHECK(*d.find("transport protocol")->as_string() == "RTP/AVP");
    CHECK(*d.find("ICE")->as_string() == "remove");
    CHECK(*d.find("DTLS")->as_string() == "off");
    CHECK(bc::encode(*d.find("rtcp-mux")) == "l5:demuxe");

    ng::Answer answer{"c1", "ft", "tt", "v=0\r\n", "", "", {}};
    CHECK(wire(answer) == "d7:command6:answer7:call-id2:c18:from-tag2:ft6:to-tag2:tt3:sdp5:v=0\r\ne");

    ng::Delete del{"c1", "ft", "", "", false, std::nullopt};
    CHECK(wire(del) == "d7:command6:delete7:call-id2:c18:from-tag2:fte");
    del.fatal = true;
    del.delay_s = 0;
    del.to_tag = "tt";
    CHECK(wire(del) == "d7:command6:delete7:call-id2:c18:from-tag2:ft6:to-tag2:tt5:flagsl5:fatale12:delete delayi0ee");

    CHECK(wire(ng::Query{"c1", "", ""}) == "d7:command5:query7:call-id2:c1e");
  }

  TEST_CASE("media commands select their participant by from-tag, label or all") {
    ng::PlayMedia play{"c1", ng::Party::from_tag("ft"), "/music/hold.wav", "", 1000};
    CHECK(wire(play) ==
          "d7:command10:play media7:call-id2:c18:from-tag2:ft4:file15:/music/hold.wav12:repeat-timesi1000ee");
    ng::PlayMedia blob{"c1", ng::Party::label("callee"), "", "RIFF\0\1"s, std::nullopt};
    CHECK(wire(blob) == "d7:command10:play media7:call-id2:c15:label6:callee4:blob6:RIFF\0\1e"s);
    CHECK(wire(ng::StopMedia{"c1", ng::Party::all()}) == "d7:command10:stop media7:call-id2:c15:flagsl3:allee");

    ng::PlayDtmf dtmf{"c1", ng::Party::from_tag("tt"), "#", 250, -8, std::nullopt};
    CHECK(wire(dtmf) == "d7:command9:play DTMF7:call-id2:c18:from-tag2:tt4:code1:#8:durationi250e6:volumei-8ee");

    CHECK(wire(ng::BlockMedia{"c1", std::nullopt, ""}) == "d7:command11:block media7:call-id2:c1e");
    CHECK(wire(ng::UnblockMedia{"c1", ng::Party::from_tag("tt"), ""}) ==
          "d7:command13:unblock media7:call-id2:c18:from-tag2:tte");
  }

  TEST_CASE("subscribe request names its parties, or all; the other subscription commands") {
    ng::SubscribeRequest two{"c1", {"ft", "tt"}, "", {}};
    CHECK(wire(two) == "d7:command17:subscribe request7:call-id2:c19:from-tagsl2:ft2:ttee");
    ng::SubscribeRequest all{"c1", {}, "sub1", {}};
    all.options.flags = {"RTCP mirror"};
    CHECK(wire(all) == "d7:command17:subscribe request7:call-id2:c15:flagsl11:RTCP mirror3:alle6:to-tag4:sub1e");
    ng::SubscribeAnswer ans{"c1", "sub1", "v=0\r\n", {"allow transcoding"}};
    CHECK(wire(ans) ==
          "d7:command16:subscribe answer7:call-id2:c16:to-tag4:sub13:sdp5:v=0\r\n5:flagsl17:allow transcodingee");
    CHECK(wire(ng::Unsubscribe{"c1", "sub1"}) == "d7:command11:unsubscribe7:call-id2:c16:to-tag4:sub1e");
  }

  TEST_CASE("framing: cookie, one space, the body; split at the first space") {
    CHECK(ng::frame("dp-1", ng::to_bencode(ng::Ping{})) == "dp-1 d7:command4:pinge");
    auto f = ng::split_frame("abc d6:result4:ponge");
    REQUIRE(f);
    CHECK(f->cookie == "abc");
    CHECK(f->body == "d6:result4:ponge");
    auto spaces = ng::split_frame("abc d3:sdp3:a be");  // spaces inside the body stay in it
    REQUIRE(spaces);
    CHECK(spaces->body == "d3:sdp3:a be");
    CHECK(!ng::split_frame("no-space-at-all"));
    CHECK(!ng::split_frame(" d6:result4:ponge"));          // empty cookie
    CHECK(!ng::split_frame("a\tb d6:result4:ponge"));      // control byte in the cookie
    CHECK(!ng::split_frame(std::string(65, 'x') + " de"));  // cookie too long
    CHECK(ng::valid_cookie(std::string(64, 'x')));
    CHECK(!ng::valid_cookie("caf\xc3\xa9"));
  }

  TEST_CASE("ok, pong, error and load-limit replies") {
    auto pong = parse("d6:result4:ponge");
    REQUIRE(pong.reply);
    CHECK(pong.reply->result == ng::NgReply::Result::Pong);
    CHECK(pong.reply->ok());

    auto err = parse("d6:result5:error12:error-reason15:Unknown call-ide");
    REQUIRE(err.reply);
    CHECK(err.reply->result == ng::NgReply::Result::Error);
    CHECK(!err.reply->ok());
    CHECK(err.reply->error_reason == "Unknown call-id");

    auto warn = parse("d7:warning38:Call-ID not found or tags didn't match6:result2:oke");
    REQUIRE(warn.reply);
    CHECK(warn.reply->ok());
    CHECK(warn.reply->warning == "Call-ID not found or tags didn't match");

    auto load = parse("d6:result10:load limit7:message30:Parallel session limit reachede");
    REQUIRE(load.reply);
    CHECK(load.reply->result == ng::NgReply::Result::LoadLimit);
    CHECK(!load.reply->ok());
    CHECK(load.reply->error_reason == "Parallel session limit reached");
  }

  TEST_CASE("offer, play media and subscribe request replies carry sdp, duration, tags") {
    auto offer = parse("d3:sdp10:v=0\r\nm=x\r\n6:result2:oke");
    REQUIRE(offer.reply);
    CHECK(offer.reply->sdp == "v=0\r\nm=x\r\n");
    CHECK(!offer.reply->duration_ms);

    auto play = parse("d8:durationi2000e6:result2:oke");
    REQUIRE(play.reply);
    CHECK(play.reply->duration_ms == 2000);
    CHECK(!play.reply->sdp);

    auto sub = parse("d3:sdp3:v=09:from-tagsl2:ft2:tte6:to-tag4:sub16:result2:oke");
    REQUIRE(sub.reply);
    CHECK(sub.reply->to_tag == "sub1");
    CHECK(sub.reply->from_tags == std::vector<std::string>{"ft", "tt"});
  }

  TEST_CASE("a query reply becomes tags with media, streams and statistics") {
    // Shape captured from rtpengine 10.5.3.5 (trimmed).
    std::string q =
        "d7:createdi1796218103e4:tagsd"
        "2:ftd3:tag2:ft5:label6:caller11:subscribersld3:tag2:tt4:type12:offer/answeree"
        "6:mediasld5:indexi1e4:type5:audio8:protocol7:RTP/AVP7:streamsl"
        "d10:local porti9214e13:local address9:127.0.0.18:endpointd6:family4:IPv47:address9:127.0.0.14:porti9290ee"
        "11:last packeti1796218103e5:flagsl3:RTP6:fillede5:statsd7:packetsi12e5:bytesi2064e6:errorsi0eee"
        "eeee"
        "2:ttd3:tag2:tt6:mediaslee"
        "e6:result2:oke";
    auto r = parse(q);
    REQUIRE_MESSAGE(r.reply, r.error);
    CHECK(r.reply->created == 1796218103);
    REQUIRE(r.reply->tags.size() == 2);
    const ng::TagInfo* ft = r.reply->tag("ft");
    REQUIRE(ft);
    CHECK(ft->label == "caller");
    CHECK(ft->subscribers == std::vector<std::string>{"tt"});
    REQUIRE(ft->medias.size() == 1);
    CHECK(ft->medias[0].type == "audio");
    CHECK(ft->medias[0].protocol == "RTP/AVP");
    REQUIRE(ft->medias[0].streams.size() == 1);
    const auto& s = ft->medias[0].streams[0];
    CHECK(s.local_port == 9214);
    CHECK(s.local_address == "127.0.0.1");
    CHECK(s.endpoint_address == "127.0.0.1");
    CHECK(s.endpoint_port == 9290);
    CHECK(s.packets == 12);
    CHECK(s.bytes == 2064);
    CHECK(s.flags == std::vector<std::string>{"RTP", "filled"});
    REQUIRE(r.reply->tag("tt"));
    CHECK(r.reply->tag("tt")->medias.empty());
    CHECK(r.reply->tag("nope") == nullptr);
  }

  TEST_CASE("malformed replies are errors that say what was wrong") {
    CHECK(parse("i1e").error == "reply is not a dictionary");
    CHECK(parse("de").error == "reply has no result string");
    CHECK(parse("d6:resulti1ee").error == "reply has no result string");
    CHECK(parse("d6:result5:maybee").error == "unknown result 'maybe'");
    CHECK(parse("d6:result2:ok3:sdpi1ee").error == "sdp: not a string");
    CHECK(parse("d6:result2:ok8:duration2:10e").error == "duration: not an integer");
    CHECK(parse("d6:result5:error12:error-reasonlee").error == "error-reason: not a string");
    CHECK(parse("d6:result2:ok9:from-tagsli1eee").error == "from-tags: an element is not a string");
    CHECK(parse("d6:result2:ok4:tagslee").error == "tags: not a dictionary");
    CHECK(parse("d6:result2:ok4:tagsd2:fti1eee").error == "tags.ft: not a dictionary");
    CHECK(parse("d6:result2:ok4:tagsd2:ftd6:medias1:xeee").error == "tags.ft.medias: not a list");
    CHECK(parse("d6:result2:ok4:tagsd2:ftd6:mediasld7:streamsli1eeeeeee").error ==
          "tags.ft.medias[0].streams: an element is not a dictionary");
    CHECK(parse("d6:result2:ok4:tagsd2:ftd6:mediasld7:streamsld5:statsd7:packets1:xeeeeeeee").error ==
          "tags.ft.medias[0].streams[0].stats.packets: not an integer");
    CHECK(parse("d6:result4:ponge trailing").error == "bencode: data after the value at offset 16");
    CHECK(parse("").error == "bencode: unexpected end of input at offset 0");
  }

  TEST_CASE("unknown keys are ignored") {
    auto r = parse("d6:result2:ok6:totalsd3:RTPd7:packetsi0eee4:SSRCdee");
    REQUIRE(r.reply);
    CHECK(r.reply->ok());
  }
}
