// The state of one inbound call and its current dial, as stored in Redis. Pure data + JSON.
#pragma once
#include "core/dtmf.hpp"
#include "core/provisioning.hpp"

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dp::core {

// jambonz CallStatus values used by dial.
enum class CallStatus { Trying, Ringing, EarlyMedia, InProgress, Completed, Failed, Busy, NoAnswer };
std::string_view to_string(CallStatus s);
std::optional<CallStatus> call_status_from_string(std::string_view s);
bool is_final(CallStatus s);  // completed, failed, busy, no-answer

// jambonz's mapping of a SIP response on a B leg to a call status (research jambonz-dial §2.5).
CallStatus status_for_sip(int code, bool has_sdp);
// Standard reason phrase for codes dialplane generates itself.
std::string_view default_reason(int code);

// A screened leg's 2xx, held by Kamailio before tm saw it (kamailio-cfg/roles/screen.cfg): what it takes to
// answer the caller with it or to end it.
struct HeldAnswer {
  std::string contact;     // the callee's Contact URI
  std::string from, to;    // the 2xx's From and To header values (To carries the callee's tag)
  std::string cseq;        // CSeq number of the INVITE
  std::string via_branch;  // our Via branch of that fork branch: rtpengine keys the branch's offer by it
  std::string vias;        // every Via of the 2xx: Kamailio fakes the branch's final reply with them
  std::string rr;          // its Record-Route values: they go back to the caller in the released 200
  std::string sdp;         // the callee's answer
};
boost::json::object to_json(const HeldAnswer&);
HeldAnswer held_answer_from_json(const boost::json::object&);

// Screening of a leg before it may win the dial (confirmHook, voicemail-safe amd).
enum class Screening {
  None,      // not screened, or not answered yet
  Held,      // answered; its 2xx is held while the screening runs
  Accepted,  // it won: its 2xx went to the caller
  Declined,  // screening ended it (BYE)
};
std::string_view to_string(Screening s);

// One B leg: one dial target (a `user` target may fork to several contacts = several branches).
struct Leg {
  int index = 0;
  std::string call_sid;
  std::string type;  // phone | sip | user | teams
  std::string to;    // number, sipUri or user name as given by the app
  std::string from;  // From user presented to the callee
  int branches = 0;  // SIP branches forked for this leg (0 = failed before any INVITE)
  int branch_finals = 0;
  CallStatus status = CallStatus::Trying;
  int sip_status = 100;
  std::string sip_reason = "Trying";
  double answered_at = 0;
  double final_at = 0;  // when the leg reached a final status (orders "last failure")
  std::string to_tag;   // the callee's SIP tag, from its 2xx (rtpengine names the B party by it)
  bool muted = false;   // REST mute_status: rtpengine blocks the media this leg sends
  bool screened = false;  // must pass screening before it may win (the fork marks its branches)
  Screening screening = Screening::None;
  HeldAnswer held;
  std::string screen_digits;  // keys the callee pressed while screened, for its confirm app's gather
};

struct Dial {
  int seq = 0;  // 1 for the first dial of the call, 2 for a dial returned by its actionHook, ...
  boost::json::value verb;  // the normalised dial verb as validated
  std::vector<Leg> legs;
  int winner = -1;
  bool ended = false;
  bool ring_timed_out = false;  // dialplane's ring timer cancelled the dial
  double started_at = 0;
  int timeout_s = 60;
  int time_limit_s = 0;  // 0 = none
  // The fork decision sent to Kamailio for this dial, kept until its first reply event: a decision request
  // that Kamailio re-sends (the instance that took it died) gets the same fork again.
  boost::json::object fork;
  // The dial failed and the caller is waiting on its actionHook: what it answers runs next. Kept (with the
  // exact payload) until that answer is applied, so whichever instance takes a re-sent request resumes it.
  bool action_pending = false;
  boost::json::object action_payload;
  // dialMusic: the file rtpengine plays to the caller until an answer ("" = none playing).
  std::string music_file;
  // The nested listen while its session streams (app/session/listen_session): "" = none, else the REST
  // listen_status in force ("resume" while streaming, "pause", "silence"). The session polls it.
  std::string listen;
  // dtmfCapture while bridged: each side's collected keys (jambonz's collector, core/dtmf).
  DtmfBuffer dtmf_parent;
  DtmfBuffer dtmf_child;
};

struct CallState {
  std::string call_sid;
  std::string account_sid;
  std::string application_sid;
  std::string call_id;  // SIP Call-ID (a proxy keeps it on every B leg too)
  std::string from;     // caller's From user
  std::string from_host;
  std::string to;
  std::string caller_name;
  std::string originating_sip_ip;
  std::string node;  // JSON-RPC URL of the Kamailio that owns the call
  std::string cseq = "1";  // CSeq number of the caller's INVITE (tm.cancel needs it)
  std::string from_tag;    // the caller's SIP tag (rtpengine names the A party by it)
  std::string caller_sdp;  // the caller's offer, kept until the answer: dialMusic offers it to rtpengine
  std::string caller_media;  // the caller's rtpengine profile ("webrtc": a browser; "" plain RTP)
  std::string rtp_node;    // the rtpengine (NG spec, `udp:host:port`) anchoring this call's media
  int rtp_set = 0;         // its index in --rtpengine = Kamailio's rtpengine set id
  bool caller_muted = false;  // REST mute_status on the parent sid
  bool transcribe_paused = false;  // REST transcribe_status: the dial's transcriptions ignore audio while set
  Hook call_hook;
  Hook call_status_hook;
  CallStatus status = CallStatus::Trying;
  int sip_status = 100;
  std::string sip_reason = "Trying";
  double created_at = 0;
  double answered_at = 0;
  double ended_at = 0;
  long long h_entry = -1;
  long long h_id = -1;
  int branches_used = 0;             // tm branches used by this transaction (limit 31)
  bool app_loaded = false;           // the call_hook answered with a valid app (pending_verbs holds it)
  boost::json::array pending_verbs;  // verbs after the current dial
  std::optional<Dial> dial;
  // Event de-duplication: the last event seqs applied per Kamailio "node|boot" (see first_delivery).
  boost::json::object event_seq;
  // call_status_hook payloads held back after an answer that came without any ringing: a provisional
  // reply reported late (another Kamailio worker queued it after the 200) still goes out first.
  boost::json::array held_status;
};

boost::json::object to_json(const Leg&);
boost::json::object to_json(const Dial&);
boost::json::object to_json(const CallState&);
Leg leg_from_json(const boost::json::object&);
Dial dial_from_json(const boost::json::object&);
// Throws std::exception on a malformed stored document.
CallState call_state_from_json(const boost::json::value&);

}  // namespace dp::core
