// rtpengine's NG control protocol (10.5 key names), pure: typed commands built into bencode dictionaries,
// the `<cookie> <bencode>` framing, rtpengine node addresses as Kamailio writes them, and the typed reply
// (NgReply), parsed once where a datagram enters. See docs/media.md.
#pragma once
#include "core/bencode.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dp::core::ng {

// ---- nodes ---------------------------------------------------------------------------------------------

// One rtpengine's NG socket, as in Kamailio's `rtpengine_sock`: `udp:host:port` or `udp6:host:port`
// (`udp6:[::1]:2223` or `udp6:::1:2223`; the port is after the last colon).
struct Node {
  bool ipv6 = false;
  std::string host;  // an IP literal or a DNS name, without brackets
  std::uint16_t port = 0;
  std::string spec;  // the text it was parsed from; the node's name in logs and in the call record
};
std::optional<Node> parse_node(std::string_view spec);

// Which of `nodes` (> 0) rtpengine nodes anchors the call with this SIP Call-ID: a stable hash, so every
// instance picks the same one, and calls spread evenly.
std::size_t node_for_call(std::string_view call_id, std::size_t nodes);

// ---- commands ------------------------------------------------------------------------------------------

enum class Command {
  Ping,
  Offer,
  Answer,
  Delete,
  Query,
  PlayMedia,
  StopMedia,
  PlayDtmf,
  BlockMedia,
  UnblockMedia,
  SubscribeRequest,
  SubscribeAnswer,
  Unsubscribe,
  SilenceMedia,
  UnsilenceMedia,
};
// The `command` value on the wire ("play media", "subscribe request"…); also the metric label.
std::string_view wire_name(Command c);

// Which participant a media command acts on. rtpengine's selectors: a from-tag, a label, or every party.
struct Party {
  enum class By { FromTag, Label, All };
  By by = By::FromTag;
  std::string value;  // the tag or label; empty for All
  static Party from_tag(std::string t) { return {By::FromTag, std::move(t)}; }
  static Party label(std::string l) { return {By::Label, std::move(l)}; }
  static Party all() { return {By::All, {}}; }
};

// SDP handling shared by offer/answer (and subscribe request): only what dialplane sets today.
struct SdpOptions {
  std::vector<std::string> flags;    // e.g. "trust address", "inject DTMF", "port latching"
  std::vector<std::string> replace;  // e.g. "origin", "session connection"
  std::string transport_protocol;    // e.g. "RTP/AVP"; empty: unchanged
  std::string ice;                   // "remove", "force"…; empty: rtpengine's default
  std::string dtls;                  // "off", "passive"…
  std::vector<std::string> rtcp_mux; // "offer", "demux"…
  std::vector<std::string> sdes;     // "off"…
};

struct Ping {};

struct Offer {
  std::string call_id, from_tag, sdp;
  std::string via_branch;  // empty: not sent
  std::string label;       // this party's label; empty: not sent
  SdpOptions options;
};

struct Answer {
  std::string call_id, from_tag, to_tag, sdp;
  std::string via_branch;
  std::string label;
  SdpOptions options;
};

struct Delete {
  std::string call_id, from_tag;
  std::string to_tag, via_branch;          // empty: the whole call
  bool fatal = false;                      // an unknown call is an error instead of ok + warning
  std::optional<std::int64_t> delay_s;     // `delete delay`; 0 = now
};

struct Query {
  std::string call_id;
  std::string from_tag, to_tag;  // empty: not sent
};

struct PlayMedia {
  std::string call_id;
  Party to;                                  // the participant that hears it
  std::string file;                          // a path rtpengine can read (anything ffmpeg decodes)
  std::string blob;                          // or the file's bytes (small files only); exactly one of the two
  std::optional<std::int64_t> repeat_times;  // rtpengine's default: 1
};

struct StopMedia {
  std::string call_id;
  Party to;
};

struct PlayDtmf {
  std::string call_id;
  Party from;      // the participant that "generates" the digit; the other side hears it
  std::string code;  // 0-9 * # A-D, or 0-15
  std::optional<std::int64_t> duration_ms, volume_db, pause_ms;
};

// Without a party: the whole call. With one: only the media that party sends; with a `to_tag` too, only what it
// sends to that party (rtpengine's directional blocking: the media is still received and its DTMF still read).
struct BlockMedia {
  std::string call_id;
  std::optional<Party> from;
  std::string to_tag;
};
struct UnblockMedia {
  std::string call_id;
  std::optional<Party> from;
  std::string to_tag;
};

// The media a party sends to `to_tag` becomes silence; unlike blocking, rtpengine still decodes it (its RFC 4733
// keys still reach the DTMF log).
struct SilenceMedia {
  std::string call_id;
  Party from;
  std::string to_tag;
};
struct UnsilenceMedia {
  std::string call_id;
  Party from;
  std::string to_tag;
};

struct SubscribeRequest {
  std::string call_id;
  std::vector<std::string> from_tags;  // the parties to fork; empty means every party (flags: all)
  std::string to_tag;                  // the subscriber's tag; empty: rtpengine makes one
  SdpOptions options;
};

struct SubscribeAnswer {
  std::string call_id, to_tag, sdp;
  std::vector<std::string> flags;  // e.g. "allow transcoding"
};

struct Unsubscribe {
  std::string call_id, to_tag;
};

using Request = std::variant<Ping, Offer, Answer, Delete, Query, PlayMedia, StopMedia, PlayDtmf, BlockMedia,
                             UnblockMedia, SubscribeRequest, SubscribeAnswer, Unsubscribe, SilenceMedia,
                             UnsilenceMedia>;

Command command_of(const Request& r);
bencode::Value to_bencode(const Request& r);

// ---- framing ---------------------------------------------------------------------------------------------

// `<cookie> <bencoded dict>`. A cookie is 1-64 printable non-space bytes.
bool valid_cookie(std::string_view cookie);
std::string frame(std::string_view cookie, const bencode::Value& body);

struct Frame {
  std::string_view cookie;
  std::string_view body;
};
// Splits a datagram at its first space. nullopt when there is no valid cookie before it.
std::optional<Frame> split_frame(std::string_view datagram);

// ---- replies ---------------------------------------------------------------------------------------------

// One RTP or RTCP stream of a media section (query/delete statistics).
struct StreamInfo {
  std::int64_t local_port = 0;
  std::string local_address;
  std::string endpoint_address;  // where rtpengine sends to ("" until known)
  std::int64_t endpoint_port = 0;
  std::int64_t packets = 0, bytes = 0, errors = 0;  // received from the endpoint
  std::int64_t last_packet = 0;                     // unix seconds
  std::vector<std::string> flags;                   // "RTP", "RTCP", "filled"…
};

struct MediaInfo {
  std::int64_t index = 0;
  std::string type;      // "audio"
  std::string protocol;  // "RTP/AVP"
  std::vector<StreamInfo> streams;
};

// A participant of the call (query, delete): its tag, label and media.
struct TagInfo {
  std::string tag;
  std::string label;
  std::vector<MediaInfo> medias;
  std::vector<std::string> subscribers;  // tags that receive this party's media (its peer, forks)
};

struct NgReply {
  enum class Result { Ok, Pong, Error, LoadLimit };
  Result result = Result::Error;
  std::string error_reason;  // Error: `error-reason`; LoadLimit: `message`
  std::string warning;       // Ok with a remark (e.g. delete of an unknown call without "fatal")
  std::optional<std::string> sdp;              // offer, answer, subscribe request
  std::optional<std::int64_t> duration_ms;     // play media: the length of ONE pass
  std::string to_tag;                          // subscribe request: the subscriber's tag
  std::vector<std::string> from_tags;          // subscribe request: the forked parties, in m= order
  std::optional<std::int64_t> created;         // query/delete: unix seconds
  std::vector<TagInfo> tags;                   // query/delete, in rtpengine's order

  bool ok() const { return result == Result::Ok || result == Result::Pong; }
  const TagInfo* tag(std::string_view t) const;
};

struct ParsedReply {
  std::optional<NgReply> reply;  // set when well-formed
  std::string error;             // why not
};
// A reply dictionary into an NgReply. Malformed: not a dict, no/unknown `result`, or a known key of the wrong
// type. Unknown keys are ignored (rtpengine adds statistics over versions).
ParsedReply parse_reply(const bencode::Value& v);
// The body of a datagram (after the cookie): bencode decode + parse_reply.
ParsedReply parse_reply(std::string_view body);

}  // namespace dp::core::ng
