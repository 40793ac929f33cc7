#include "app/session/dial_music.hpp"

#include "core/dial_machine.hpp"
#include "core/log.hpp"
#include "core/media_profile.hpp"
#include "core/sdp.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <variant>

namespace dp::app {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;


asio::awaitable<std::optional<MediaFile>> DialMusic::fetch_in_time(const core::Hook& source) {
  asio::steady_timer wait(co_await asio::this_coro::executor, d_.fetch_wait);
  // Named awaitables, not temporaries in the co_await expression (docs/coroutines.md).
  auto fetch = d_.files.fetch(source);
  auto expiry = wait.async_wait(asio::use_awaitable);
  auto race = std::move(fetch) || std::move(expiry);
  auto winner = co_await std::move(race);
  if (winner.index() != 0) co_return std::nullopt;
  co_return std::get<0>(std::move(winner));
}

asio::awaitable<std::optional<std::string>> DialMusic::answer_for_caller(const core::CallState& c,
                                                                         const core::ng::Node& node) {
  // A via-branch of its own keeps the placeholder apart from the targets' branches (Kamailio offers each with its
  // own): a target's early media then reaches nobody until its 2xx, instead of the caller through the
  // placeholder's side of the call.
  std::string branch = "dpmusic-" + c.call_sid;
  // The placeholder is plain RTP whatever the caller is; the answer goes back in the caller's own profile (a
  // browser gets ICE and DTLS-SRTP, as from Kamailio).
  auto toward_placeholder = core::sdp_options_toward("", c.caller_media, false);
  core::ng::Request offer = core::ng::Offer{c.call_id, c.from_tag, c.caller_sdp, branch, {}, toward_placeholder};
  auto offered = co_await d_.media.request(node, offer);
  if (!offered.ok() || !offered.reply.sdp) {
    log::warn("dial_music_offer_failed", {{"call_sid", c.call_sid}, {"error", offered.detail}});
    co_return std::nullopt;
  }
  auto placeholder = core::placeholder_answer_sdp(*offered.reply.sdp);
  if (!placeholder) {
    log::warn("dial_music_no_codec", {{"call_sid", c.call_sid}});
    co_return std::nullopt;
  }
  // The placeholder callee's tag: unique per call, never a real party's.
  core::ng::Request answer =
      core::ng::Answer{c.call_id, c.from_tag, "dpmusic-" + c.call_sid, *placeholder, branch, {},
                       core::sdp_options_toward(c.caller_media, "", false)};
  auto answered = co_await d_.media.request(node, answer);
  if (!answered.ok() || !answered.reply.sdp) {
    log::warn("dial_music_answer_failed", {{"call_sid", c.call_sid}, {"error", answered.detail}});
    co_return std::nullopt;
  }
  co_return *answered.reply.sdp;
}

asio::awaitable<std::optional<MusicStarted>> DialMusic::start(const core::CallState& c,
                                                              const boost::json::object& verb) {
  auto source = core::resolve_media_url(verb.if_contains("dialMusic"), c.call_hook);
  if (!source) co_return std::nullopt;
  auto node = core::ng::parse_node(c.rtp_node);
  if (!node || c.caller_sdp.empty() || c.from_tag.empty()) {
    // Late offer (no SDP in the INVITE) or no rtpengine configured: nothing to play into.
    d_.metrics.dial_music("no_sdp");
    co_return std::nullopt;
  }
  auto file = co_await fetch_in_time(*source);
  if (!file || !file->ok) {
    d_.metrics.dial_music("fetch_failed");
    log::warn("dial_music_unavailable",
              {{"call_sid", c.call_sid}, {"error", file ? file->error : std::string("fetch still running")}});
    co_return std::nullopt;
  }
  auto sdp = co_await answer_for_caller(c, *node);
  if (!sdp) {
    d_.metrics.dial_music("rtpengine_error");
    co_return std::nullopt;
  }
  // Looped: jambonz loops music for outbound parents (its inbound one-shot is its open issue #637).
  core::ng::Request play = core::ng::PlayMedia{c.call_id, core::ng::Party::from_tag(c.from_tag), file->path, {}, 1000};
  auto played = co_await d_.media.request(*node, play);
  if (!played.ok()) {
    d_.metrics.dial_music("rtpengine_error");
    log::warn("dial_music_play_failed", {{"call_sid", c.call_sid}, {"error", played.detail}});
    co_return std::nullopt;
  }
  d_.metrics.dial_music("playing");
  log::info("dial_music_playing", {{"call_sid", c.call_sid}, {"format", file->format}});
  co_return MusicStarted{*sdp, file->path};
}

}  // namespace dp::app
