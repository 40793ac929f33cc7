// The dial's nested `listen` (alias `stream`) while the call is bridged (README "Nested listen", docs/media.md
// "Listen"): a websocket to the app's server (io/ws/ws_client), the parties' audio forked out of rtpengine
// (app/media/audio_fork), aligned, mixed and upsampled (core/listen) into 20 ms binary frames; the server's
// playAudio/killAudio/disconnect; passDtmf, finishOnKey, maxLength, playBeep; REST listen_status through the
// call's state. The run ends on disconnect, maxLength, finishOnKey, a failed connection or fork, the server
// closing, or the call ending (polled every 250 ms); the call always goes on. Then the listen's actionHook is
// sent. Memory is bounded: 1 s of frames per stream wait for the websocket (older ones are dropped and counted).
#pragma once
#include "app/config/config.hpp"
#include "app/observability/metrics.hpp"
#include "app/ports/call_store_port.hpp"
#include "app/ports/media_files_port.hpp"
#include "app/ports/media_port.hpp"
#include "app/ports/webhook_sender_port.hpp"
#include "app/session/call_watch.hpp"
#include "core/dtmf.hpp"
#include "core/listen.hpp"
#include "core/ng_protocol.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace dp::app {

// DTMF keys of the live listens of this instance, by Call-ID (rtpengine's DTMF log reaches CallFlow::dtmf).
class ListenInboxes {
 public:
  struct Inbox {
    std::string call_id;
    std::string listened_tag;  // only this party's keys count (jambonz listens on that endpoint)
    std::deque<core::DtmfEvent> keys;
  };
  std::shared_ptr<Inbox> open(std::string call_id, std::string listened_tag);
  void close(const std::shared_ptr<Inbox>& inbox);
  // Hands a key to the live listen of its call, if the listened party pressed it. At most 32 keys wait.
  void dtmf(const core::DtmfEvent& ev);
  std::size_t size() const { return open_.size(); }

 private:
  std::vector<std::shared_ptr<Inbox>> open_;
};

struct ListenTarget {
  core::ng::Node node;
  std::string call_sid;
  std::string call_id;
  int dial_seq = 0;
  std::string listened_tag;  // channel 1: the caller's from-tag; channel 2: the callee's to-tag
  std::string other_tag;
};

class ListenRun {
 public:
  struct Deps {
    boost::asio::any_io_executor ex;
    const Config& cfg;
    CallStorePort& calls;
    CallWatch& watch;  // the call's state every poll, shared with its other sessions
    MediaPort& media;
    MediaFilesPort& files;
    WebhookSenderPort& hooks;
    CallStats& metrics;
    ListenInboxes& inboxes;
  };
  // Runs one listen to its end. Never throws but for cancellation (the service stopping).
  static boost::asio::awaitable<void> run(Deps d, ListenTarget target, core::listen::Params params);
};

}  // namespace dp::app
