#include "app/observability/metrics.hpp"

#include <algorithm>

#include "core/dial_plan.hpp"
#include "core/log.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <ctime>
#include <dlfcn.h>
#include <mutex>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <set>

#ifndef DIALPLANE_VERSION
#define DIALPLANE_VERSION "0.1.0"
#endif

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;
using Buckets = prometheus::Histogram::BucketBoundaries;

namespace {
// Which malloc the process runs on (jemalloc linked or preloaded exports mallctl): an operator reading the
// build info can tell a build with DP_ALLOCATOR=glibc apart.
const char* allocator_name() { return dlsym(RTLD_DEFAULT, "mallctl") != nullptr ? "jemalloc" : "glibc"; }

// Kamailio waits for a decision at most DECISION_TIMEOUT_MS (5 s by default): fine resolution below it, and
// half-millisecond steps up to 3 ms, where decisions are (a p99 of "2 ms" is read off a bucket edge, not
// interpolated across 2.5-5 ms).
const Buckets kDecisionBuckets{0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.0075, 0.01,
                               0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5};
// Customer web apps: ~1 ms on the same host or LAN, tens of ms far away, up to the webhook timeout (4 s).
const Buckets kWebhookBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 10};
// Redis on the same LAN: sub-millisecond normally; the client times out after 1 s.
const Buckets kRedisBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
// Kamailio JSON-RPC: ms normally; rpc timeout 1 s.
const Buckets kRpcBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2};

// Media downloads: a hit is microseconds; a download is bounded by --media-fetch-timeout-ms (5 s by default).
const Buckets kMediaFetchBuckets{0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30};
// flite renders a sentence in tens of ms, a long paragraph in a second or two.
const Buckets kTtsBuckets{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20};

constexpr std::size_t kMaxCarrierLabels = 50;

std::string status_class(int http_status) {
  if (http_status == 0) return "error";
  return std::to_string(http_status / 100) + "xx";
}

std::string status_code(int http_status) {
  if (http_status == 0) return "error";
  if (http_status < 100 || http_status > 599) return "other";
  return std::to_string(http_status);
}

std::string jstr(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Label values come from code-defined sets; anything unexpected collapses to "other".
std::string bounded(std::string_view v) {
  if (v.empty()) return "unknown";
  if (v.size() > 40) return "other";
  for (char c : v)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':')) return "other";
  return std::string(v);
}
}  // namespace

struct MetricFamilies {
  std::shared_ptr<prometheus::Registry> reg = std::make_shared<prometheus::Registry>();

  prometheus::Family<prometheus::Histogram>& decisions =
      prometheus::BuildHistogram().Name("dialplane_decision_seconds")
          .Help("Time from Kamailio's question (invite, dial_failed) to dialplane's answer, by decision action")
          .Register(*reg);
  prometheus::Family<prometheus::Histogram>& event_batches =
      prometheus::BuildHistogram().Name("dialplane_event_batch_seconds")
          .Help("Time to apply one batch of Kamailio's events (Kamailio keeps one batch in flight), by result")
          .Register(*reg);
  prometheus::Family<prometheus::Histogram>& webhooks =
      prometheus::BuildHistogram().Name("dialplane_webhook_seconds")
          .Help("Webhook request latency by hook kind").Register(*reg);
  prometheus::Family<prometheus::Counter>& webhook_total =
      prometheus::BuildCounter().Name("dialplane_webhook_requests_total")
          .Help("Webhook requests by hook kind and HTTP status class (error = no response)").Register(*reg);
  prometheus::Family<prometheus::Counter>& webhook_failures =
      prometheus::BuildCounter().Name("dialplane_webhook_failures_total")
          .Help("Failed webhook requests (non-2xx, no response, bad JSON) by hook kind and HTTP status")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& events =
      prometheus::BuildCounter().Name("dialplane_kamailio_events_total")
          .Help("Events received from Kamailio, by event and whether they changed a call").Register(*reg);
  prometheus::Family<prometheus::Counter>& legs =
      prometheus::BuildCounter().Name("dialplane_dial_legs_total")
          .Help("Dial legs by target type and final status").Register(*reg);
  prometheus::Family<prometheus::Counter>& carrier_legs =
      prometheus::BuildCounter().Name("dialplane_carrier_legs_total")
          .Help("Phone-target dial legs by carrier (the dial's trunk, default = account default carrier, "
                "none = no carrier resolved) and final status")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& dials =
      prometheus::BuildCounter().Name("dialplane_dials_total").Help("Dials by outcome (dial_call_status)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& calls =
      prometheus::BuildCounter().Name("dialplane_calls_total").Help("Calls by final status").Register(*reg);
  prometheus::Family<prometheus::Counter>& rpcs =
      prometheus::BuildCounter().Name("dialplane_kamailio_rpc_total")
          .Help("Kamailio JSON-RPC calls by method and result").Register(*reg);
  prometheus::Family<prometheus::Histogram>& rpc_seconds =
      prometheus::BuildHistogram().Name("dialplane_kamailio_rpc_seconds")
          .Help("Kamailio JSON-RPC latency by method").Register(*reg);
  prometheus::Family<prometheus::Counter>& call_updates =
      prometheus::BuildCounter().Name("dialplane_call_updates_total")
          .Help("REST updateCall requests by operation and result (accepted, refused, failed; whisper: played, "
                "media_failed, play_failed, call_gone)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& redis_errors =
      prometheus::BuildCounter().Name("dialplane_redis_errors_total")
          .Help("Requests (invite, dial-failed, event batch) that failed because of Redis").Register(*reg);
  prometheus::Family<prometheus::Histogram>& redis_seconds =
      prometheus::BuildHistogram().Name("dialplane_redis_command_seconds")
          .Help("Redis command latency by operation and result").Register(*reg);
  prometheus::Family<prometheus::Counter>& redis_cmd_errors =
      prometheus::BuildCounter().Name("dialplane_redis_command_errors_total")
          .Help("Failed Redis commands (error reply, timeout, no connection) by operation").Register(*reg);
  prometheus::Family<prometheus::Gauge>& active =
      prometheus::BuildGauge().Name("dialplane_active_calls")
          .Help("Calls with state in Redis (all instances; polled)").Register(*reg);
  prometheus::Family<prometheus::Gauge>& queue =
      prometheus::BuildGauge().Name("dialplane_webhook_queue")
          .Help("Calls whose webhook outbox this instance is delivering").Register(*reg);
  prometheus::Family<prometheus::Histogram>& timer_lateness =
      prometheus::BuildHistogram().Name("dialplane_timer_lateness_seconds")
          .Help("How late a Redis timer fired after it was due").Register(*reg);
  prometheus::Family<prometheus::Gauge>& timers =
      prometheus::BuildGauge().Name("dialplane_pending_timers")
          .Help("Ring-timeout and timeLimit timers pending in Redis (shared by all instances)").Register(*reg);
  prometheus::Family<prometheus::Gauge>& dep_up =
      prometheus::BuildGauge().Name("dialplane_dependency_up")
          .Help("1 when the dependency answered the last probe (redis, kamailio)").Register(*reg);
  prometheus::Family<prometheus::Gauge>& ready =
      prometheus::BuildGauge().Name("dialplane_ready").Help("1 when /readyz answers 200").Register(*reg);
  prometheus::Family<prometheus::Gauge>& draining =
      prometheus::BuildGauge().Name("dialplane_draining").Help("1 while the instance is shutting down")
          .Register(*reg);
  prometheus::Family<prometheus::Gauge>& build =
      prometheus::BuildGauge().Name("dialplane_build_info").Help("Build information (always 1)").Register(*reg);
  prometheus::Family<prometheus::Gauge>& start_time =
      prometheus::BuildGauge().Name("dialplane_start_time_seconds").Help("Unix time the process started")
          .Register(*reg);
  prometheus::Family<prometheus::Gauge>& http_connections =
      prometheus::BuildGauge().Name("dialplane_http_connections")
          .Help("Open connections of an HTTP listener (internal, api, metrics)").Register(*reg);
  prometheus::Family<prometheus::Counter>& http_accept_errors =
      prometheus::BuildCounter().Name("dialplane_http_accept_errors_total")
          .Help("Failed accept() calls of an HTTP listener (EMFILE, ENFILE, ENOBUFS…); the listener backs off")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& http_shed =
      prometheus::BuildCounter().Name("dialplane_http_connections_shed_total")
          .Help("Connections closed by the connection cap: evicted = the oldest one still reading a request, "
                "refused = the new one (every connection busy)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& uncaught =
      prometheus::BuildCounter().Name("dialplane_uncaught_exceptions_total")
          .Help("Exceptions that escaped an Asio handler (io_context) or an HTTP connection (http_session) "
                "and were contained instead of ending the process")
          .Register(*reg);
  prometheus::Family<prometheus::Histogram>& ng_seconds =
      prometheus::BuildHistogram().Name("dialplane_ng_request_seconds")
          .Help("rtpengine NG request latency (first send to outcome, retransmissions included) by command")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& ng_errors =
      prometheus::BuildCounter().Name("dialplane_ng_errors_total")
          .Help("Failed rtpengine NG requests by command and kind (rtpengine_error, timeout, malformed, "
                "overloaded, unreachable, cancelled); stray = a reply that matched no request")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& dtmf_datagrams =
      prometheus::BuildCounter().Name("dialplane_dtmf_datagrams_total")
          .Help("rtpengine DTMF log datagrams by result (received, malformed, dropped = queue full)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& listen_started =
      prometheus::BuildCounter().Name("dialplane_listen_streams_started_total")
          .Help("Nested dial listen streams started (a websocket connect was attempted)").Register(*reg);
  prometheus::Family<prometheus::Counter>& listen_ended =
      prometheus::BuildCounter().Name("dialplane_listen_streams_ended_total")
          .Help("Nested dial listen streams ended, by reason (disconnect, max_length, finish_on_key, connect_failed, "
                "fork_failed, closed, call_ended, shutdown)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& listen_frames_sent =
      prometheus::BuildCounter().Name("dialplane_listen_frames_sent_total")
          .Help("Binary audio frames (20 ms each) written to listen websockets").Register(*reg);
  prometheus::Family<prometheus::Counter>& listen_frames_dropped =
      prometheus::BuildCounter().Name("dialplane_listen_frames_dropped_total")
          .Help("Listen audio frames dropped: the websocket server was slower than real time (1 s queue per "
                "stream), or a party's frames overflowed the alignment")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& listen_messages =
      prometheus::BuildCounter().Name("dialplane_listen_messages_total")
          .Help("Text frames received from listen websocket servers, by type (invalid = not understood)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& listen_plays =
      prometheus::BuildCounter().Name("dialplane_listen_play_audio_total")
          .Help("playAudio items from listen servers by result (played, failed, refused = queue full)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& dtmf_keys =
      prometheus::BuildCounter().Name("dialplane_dtmf_keys_total")
          .Help("DTMF keys applied to calls by outcome (matched = a dtmfHook fired, collected, ignored = no "
                "capture on that leg, unknown_call)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& amd_events =
      prometheus::BuildCounter().Name("dialplane_amd_events_total")
          .Help("Answering-machine detection events sent to amd.actionHook, by type")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& transcriptions =
      prometheus::BuildCounter().Name("dialplane_transcriptions_total")
          .Help("Nested transcribe channels (one per transcribed leg) by event: started, ended_<reason>, "
                "refused_<reason>")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& stt_results =
      prometheus::BuildCounter().Name("dialplane_stt_results_total")
          .Help("Speech recognition results sent to transcriptionHook, by kind (final, interim)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& stt_dropped =
      prometheus::BuildCounter().Name("dialplane_stt_audio_dropped_frames_total")
          .Help("20 ms frames of speech not decoded because the recognizer fell behind (bounded queue)")
          .Register(*reg);
  prometheus::Family<prometheus::Gauge>& stt_decoders =
      prometheus::BuildGauge().Name("dialplane_stt_decoders")
          .Help("Embedded speech recognizer decoders by state (in_use, free); a call never waits for one")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& refers =
      prometheus::BuildCounter().Name("dialplane_refers_total")
          .Help("In-dialog REFERs answered by Kamailio for dialplane (accepted = 202 after the referHook, refused = "
                "the hook's status, no_hook = 501, not_bridged, failed = the hook did not answer: 501)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& screenings =
      prometheus::BuildCounter().Name("dialplane_screenings_total")
          .Help("Screened legs (confirmHook, voicemail-safe amd) by how their screening ended")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& dial_music =
      prometheus::BuildCounter().Name("dialplane_dial_music_total")
          .Help("dialMusic at dial start by result (playing, no_sdp, fetch_failed, rtpengine_error)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& media_fetch =
      prometheus::BuildCounter().Name("dialplane_media_fetch_total")
          .Help("Media file requests (play URLs) by result: hit = served without a request of its own, fetched = "
                "downloaded, revalidated = 304, stale = revalidation failed and the cached file was served, "
                "error = no file")
          .Register(*reg);
  prometheus::Family<prometheus::Histogram>& media_fetch_seconds =
      prometheus::BuildHistogram().Name("dialplane_media_fetch_seconds")
          .Help("Time to a playable media file (hits included), by result").Register(*reg);
  prometheus::Family<prometheus::Gauge>& media_cache_bytes =
      prometheus::BuildGauge().Name("dialplane_media_cache_bytes")
          .Help("Bytes of media files in the cache directory (capped by --media-cache-mb)").Register(*reg);
  prometheus::Family<prometheus::Gauge>& media_cache_files =
      prometheus::BuildGauge().Name("dialplane_media_cache_files")
          .Help("Media files in the cache directory (fetched and synthesized)").Register(*reg);
  prometheus::Family<prometheus::Counter>& media_evictions =
      prometheus::BuildCounter().Name("dialplane_media_cache_evictions_total")
          .Help("Media files deleted to keep the cache under --media-cache-mb (least recently used first)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& tts_total =
      prometheus::BuildCounter().Name("dialplane_tts_total")
          .Help("Text-to-speech requests by result: hit (cached), synthesized, refused (vendor, language, "
                "voice, text or queue), error (engine failure or timeout)")
          .Register(*reg);
  prometheus::Family<prometheus::Histogram>& tts_seconds =
      prometheus::BuildHistogram().Name("dialplane_tts_seconds")
          .Help("Time the embedded engine (flite) took to render one text").Register(*reg);
  prometheus::Gauge& timers_gauge = timers.Add({});
};

Metrics::Metrics()
    : families_(std::make_unique<MetricFamilies>()),
      calls_(std::make_unique<CallStats>(*families_)),
      webhooks_(std::make_unique<WebhookStats>(*families_)),
      timers_(std::make_unique<TimerStats>(*families_)),
      redis_(std::make_unique<RedisStats>(*families_)),
      health_(std::make_unique<HealthStats>(*families_)),
      process_(std::make_unique<ProcessStats>(*families_)),
      rtpengine_(std::make_unique<RtpengineStats>(*families_)),
      media_(std::make_unique<MediaStats>(*families_)) {
  auto& f = *families_;
  f.build.Add({{"version", DIALPLANE_VERSION}, {"compiler", "gcc " __VERSION__}, {"allocator", allocator_name()}})
      .Set(1);
  f.start_time.Add({}).Set(static_cast<double>(std::time(nullptr)));
  f.active.Add({}).Set(0);
  f.queue.Add({}).Set(0);
  f.ready.Add({}).Set(0);
  f.draining.Add({}).Set(0);
  f.redis_errors.Add({});
  // The media plane's outcomes, zero until the first call uses them (the dashboard and the NG alert query them).
  for (const char* r : {"playing", "no_sdp", "fetch_failed", "rtpengine_error"}) f.dial_music.Add({{"result", r}});
  for (const char* v : {"accepted", "declined", "call_gone"}) f.screenings.Add({{"verdict", v}});
  for (const char* e : {"started", "ended_dial_ended", "ended_engine_error",
                        "refused_pool_exhausted", "refused_unavailable"})
    f.transcriptions.Add({{"event", e}});
  for (const char* k : {"final", "interim"}) f.stt_results.Add({{"kind", k}});
  f.stt_dropped.Add({});
  f.stt_decoders.Add({{"state", "in_use"}}).Set(0);
  f.stt_decoders.Add({{"state", "free"}}).Set(0);
  for (const char* a : {"accepted", "refused", "no_hook", "not_bridged", "failed"}) f.refers.Add({{"answer", a}});
  for (const char* t : {"amd_human_detected", "amd_machine_detected", "amd_no_speech_detected", "amd_decision_timeout",
                        "amd_machine_stopped_speaking", "amd_tone_detected", "amd_stopped"})
    f.amd_events.Add({{"type", t}});
  for (const char* o : {"matched", "collected", "ignored", "unknown_call"}) f.dtmf_keys.Add({{"outcome", o}});
  f.listen_started.Add({});
  for (const char* r : {"disconnect", "max_length", "finish_on_key", "connect_failed", "fork_failed", "closed",
                        "call_ended", "shutdown"})
    f.listen_ended.Add({{"reason", r}});
  f.listen_frames_sent.Add({});
  f.listen_frames_dropped.Add({});
  for (const char* t : {"playAudio", "killAudio", "disconnect", "ignored", "invalid"})
    f.listen_messages.Add({{"type", t}});
  for (const char* r : {"played", "failed", "refused"}) f.listen_plays.Add({{"result", r}});
  for (const char* r : {"received", "malformed", "dropped"}) f.dtmf_datagrams.Add({{"result", r}});
  for (const char* c : {"offer", "answer", "play media", "play DTMF", "block media", "unblock media"})
    f.ng_seconds.Add({{"command", c}}, kRpcBuckets);
  f.ng_errors.Add({{"command", "none"}, {"kind", "stray"}});
  // Zero series for the outcomes dashboards and alerts divide by, so rate() works from the first call.
  for (const char* k : {"call_hook", "call_status", "action"}) {
    f.webhooks.Add({{"kind", k}}, kWebhookBuckets);
    f.webhook_total.Add({{"kind", k}, {"status", "2xx"}});
    f.webhook_failures.Add({{"kind", k}, {"status", "error"}});
  }
  for (const char* op : {"call_load", "call_version", "call_lookup", "call_by_leg", "calls_of_account", "call_save",
                         "call_remove", "outbox_ack", "outbox_len", "prov_generation", "ping", "scan"})
    f.redis_cmd_errors.Add({{"op", op}});
  for (const char* k : {"invite", "dial_failed"})
    for (const char* a : {"fork", "reject"})
      f.decisions.Add({{"kind", k}, {"action", a}}, kDecisionBuckets);
  for (const char* l : {"internal", "api", "metrics"}) {
    f.http_connections.Add({{"listener", l}});
    f.http_accept_errors.Add({{"listener", l}});
    for (const char* a : {"evicted", "refused"}) f.http_shed.Add({{"listener", l}, {"action", a}});
  }
  for (const char* w : {"io_context", "http_session"}) f.uncaught.Add({{"where", w}});
  for (auto r : {io::FetchResult::Hit, io::FetchResult::Fetched, io::FetchResult::Revalidated,
                 io::FetchResult::Stale, io::FetchResult::Error})
    f.media_fetch.Add({{"result", std::string(io::to_string(r))}});
  for (auto r : {io::SpeechResult::Hit, io::SpeechResult::Synthesized, io::SpeechResult::Refused,
                 io::SpeechResult::Error})
    f.tts_total.Add({{"result", std::string(io::to_string(r))}});
  f.tts_seconds.Add({}, kTtsBuckets);
  f.media_cache_bytes.Add({}).Set(0);
  f.media_cache_files.Add({}).Set(0);
  f.media_evictions.Add({});
}

Metrics::~Metrics() = default;

io::ServerResponse Metrics::scrape() const {
  io::ServerResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = prometheus::TextSerializer().Serialize(families_->reg->Collect());
  return r;
}

asio::awaitable<io::ServerResponse> Metrics::handle(io::ServerRequest& req) const {
  if (req.path != "/metrics") co_return io::ServerResponse::error(404, "not found");
  if (req.method != "GET") co_return io::ServerResponse::error(405, "use GET");
  co_return scrape();
}

void CallStats::event_batch(bool stored, double seconds) {
  f_.event_batches.Add({{"result", stored ? "stored" : "failed"}}, kDecisionBuckets).Observe(seconds);
}

void CallStats::decision(std::string_view kind, std::string_view action, double seconds) {
  f_.decisions.Add({{"kind", bounded(kind)}, {"action", bounded(action)}}, kDecisionBuckets).Observe(seconds);
}

void CallStats::amd_event(std::string_view type) { f_.amd_events.Add({{"type", bounded(type)}}).Increment(); }
void CallStats::transcription_started() { f_.transcriptions.Add({{"event", "started"}}).Increment(); }
void CallStats::transcription_ended(std::string_view reason) {
  f_.transcriptions.Add({{"event", "ended_" + bounded(reason)}}).Increment();
}
void CallStats::transcription_refused(std::string_view reason) {
  f_.transcriptions.Add({{"event", "refused_" + bounded(reason)}}).Increment();
}
void CallStats::stt_result(bool is_final) {
  f_.stt_results.Add({{"kind", is_final ? "final" : "interim"}}).Increment();
}
void CallStats::stt_audio_dropped(std::uint64_t frames) {
  f_.stt_dropped.Add({}).Increment(static_cast<double>(frames));
}
void CallStats::stt_decoders(std::size_t in_use, std::size_t size) {
  f_.stt_decoders.Add({{"state", "in_use"}}).Set(static_cast<double>(in_use));
  f_.stt_decoders.Add({{"state", "free"}}).Set(static_cast<double>(size >= in_use ? size - in_use : 0));
}
void CallStats::refer(std::string_view answer) { f_.refers.Add({{"answer", bounded(answer)}}).Increment(); }
void CallStats::screening(std::string_view verdict) { f_.screenings.Add({{"verdict", bounded(verdict)}}).Increment(); }
void CallStats::dial_music(std::string_view result) { f_.dial_music.Add({{"result", bounded(result)}}).Increment(); }

void CallStats::dtmf_key(std::string_view outcome) { f_.dtmf_keys.Add({{"outcome", bounded(outcome)}}).Increment(); }

void RtpengineStats::finished(core::ng::Command command, const io::NgResult& result) {
  auto cmd = std::string(core::ng::wire_name(command));
  double secs = std::chrono::duration<double>(result.latency).count();
  f_.ng_seconds.Add({{"command", cmd}}, kRpcBuckets).Observe(secs);
  if (!result.ok()) {
    auto kind = std::string(io::to_string(result.kind));
    f_.ng_errors.Add({{"command", cmd}, {"kind", kind}}).Increment();
  }
}

void RtpengineStats::stray_datagram() { f_.ng_errors.Add({{"command", "none"}, {"kind", "stray"}}).Increment(); }
void RtpengineStats::received() { f_.dtmf_datagrams.Add({{"result", "received"}}).Increment(); }
void RtpengineStats::malformed() { f_.dtmf_datagrams.Add({{"result", "malformed"}}).Increment(); }
void RtpengineStats::dropped() { f_.dtmf_datagrams.Add({{"result", "dropped"}}).Increment(); }

void WebhookStats::webhook(std::string_view kind, int http_status, double seconds, bool ok) {
  auto k = bounded(kind);
  f_.webhooks.Add({{"kind", k}}, kWebhookBuckets).Observe(seconds);
  f_.webhook_total.Add({{"kind", k}, {"status", status_class(http_status)}}).Increment();
  if (!ok) f_.webhook_failures.Add({{"kind", k}, {"status", status_code(http_status)}}).Increment();
}

void WebhookStats::webhook(std::string_view kind, int http_status, double seconds) {
  webhook(kind, http_status, seconds, http_status == 200 || http_status == 202 || http_status == 204);
}

void CallStats::event(std::string_view ev, bool applied) {
  f_.events.Add({{"event", bounded(ev)}, {"applied", applied ? "true" : "false"}}).Increment();
}

void CallStats::leg(std::string_view type, std::string_view status) {
  f_.legs.Add({{"type", bounded(type)}, {"status", bounded(status)}}).Increment();
}

namespace {

// The `trunk` of the dial target behind leg `index`, "default" when it names none. Legs index the
// de-duplicated target list, exactly as the planner built it.
std::string trunk_of_leg(const core::Dial& dial, int index) {
  if (!dial.verb.is_object()) return "default";
  auto* t = dial.verb.get_object().if_contains("target");
  if (!t || !t->is_array()) return "default";
  auto targets = core::unique_targets(t->get_array());
  if (index < 0 || static_cast<std::size_t>(index) >= targets.size() || !targets[index].is_object())
    return "default";
  auto trunk = jstr(targets[index].get_object(), "trunk");
  return trunk.empty() ? "default" : bounded(trunk);
}

}  // namespace

void CallStats::leg(const core::CallState& call, const json::object& payload) {
  auto type = jstr(payload, "target_type");
  auto status = jstr(payload, "call_status");
  leg(type, status);
  if (type != "phone" || !call.dial) return;
  auto sid = jstr(payload, "call_sid");
  const core::Leg* l = nullptr;
  for (const auto& x : call.dial->legs)
    if (x.call_sid == sid) l = &x;
  if (!l) return;
  std::string carrier = "none";
  if (l->branches > 0) {
    carrier = trunk_of_leg(*call.dial, l->index);
    std::lock_guard lk(carriers_mu_);
    if (!carriers_.count(carrier)) {
      if (carriers_.size() >= kMaxCarrierLabels) carrier = "other";
      else carriers_.insert(carrier);
    }
  }
  f_.carrier_legs.Add({{"carrier", carrier}, {"status", bounded(status)}}).Increment();
}

void CallStats::dial_ended(std::string_view status) { f_.dials.Add({{"status", bounded(status)}}).Increment(); }

void CallStats::call_ended(std::string_view status) { f_.calls.Add({{"status", bounded(status)}}).Increment(); }

namespace {
void count_rpc(MetricFamilies& f, std::string_view method, bool ok) {
  f.rpcs.Add({{"method", bounded(method)}, {"result", ok ? "ok" : "error"}}).Increment();
}
}  // namespace

void CallStats::rpc(std::string_view method, bool ok) { count_rpc(f_, method, ok); }

void HealthStats::rpc(std::string_view method, bool ok, double seconds) {
  count_rpc(f_, method, ok);
  f_.rpc_seconds.Add({{"method", bounded(method)}}, kRpcBuckets).Observe(seconds);
}

void CallStats::redis_error() { f_.redis_errors.Add({}).Increment(); }

void CallStats::listen_started() { f_.listen_started.Add({}).Increment(); }
void CallStats::listen_ended(std::string_view reason) {
  f_.listen_ended.Add({{"reason", bounded(reason)}}).Increment();
}
void CallStats::listen_frames_sent(std::uint64_t n) {
  f_.listen_frames_sent.Add({}).Increment(static_cast<double>(n));
}
void CallStats::listen_frames_dropped(std::uint64_t n) {
  f_.listen_frames_dropped.Add({}).Increment(static_cast<double>(n));
}
void CallStats::listen_message(std::string_view type) {
  f_.listen_messages.Add({{"type", bounded(type)}}).Increment();
}
void CallStats::listen_play(std::string_view result) { f_.listen_plays.Add({{"result", bounded(result)}}).Increment(); }

void CallStats::call_update(std::string_view op, std::string_view result) {
  f_.call_updates.Add({{"op", bounded(op)}, {"result", bounded(result)}}).Increment();
}

void RedisStats::redis_command(std::string_view op, bool ok, double seconds) {
  auto o = bounded(op);
  f_.redis_seconds.Add({{"op", o}, {"result", ok ? "ok" : "error"}}, kRedisBuckets).Observe(seconds);
  if (!ok) f_.redis_cmd_errors.Add({{"op", o}}).Increment();
}

void HealthStats::active_calls(double n) { f_.active.Add({}).Set(n); }
void HealthStats::webhook_queue(double n) { f_.queue.Add({}).Set(n); }
void TimerStats::pending_timers(double n) { f_.timers_gauge.Set(n); }

void TimerStats::timer_fired(std::string_view kind, double lateness_s) {
  static const prometheus::Histogram::BucketBoundaries kLateness{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3, 10};
  f_.timer_lateness.Add({{"kind", std::string(kind)}}, kLateness).Observe(std::max(0.0, lateness_s));
}

void HealthStats::dependency_up(std::string_view dependency, bool up) {
  f_.dep_up.Add({{"dependency", bounded(dependency)}}).Set(up ? 1 : 0);
}

void HealthStats::ready(bool ready, bool draining) {
  f_.ready.Add({}).Set(ready ? 1 : 0);
  f_.draining.Add({}).Set(draining ? 1 : 0);
}

void ProcessStats::http_server(std::string_view listener, io::ServerEvent ev) {
  const std::string l = bounded(listener);
  switch (ev) {
    case io::ServerEvent::ConnectionOpened: f_.http_connections.Add({{"listener", l}}).Increment(); break;
    case io::ServerEvent::ConnectionClosed: f_.http_connections.Add({{"listener", l}}).Decrement(); break;
    case io::ServerEvent::AcceptError: f_.http_accept_errors.Add({{"listener", l}}).Increment(); break;
    case io::ServerEvent::ConnectionEvicted:
      f_.http_shed.Add({{"listener", l}, {"action", "evicted"}}).Increment();
      break;
    case io::ServerEvent::ConnectionRefused:
      f_.http_shed.Add({{"listener", l}, {"action", "refused"}}).Increment();
      break;
    case io::ServerEvent::SessionFailed: uncaught_exception("http_session"); break;
  }
}

void ProcessStats::uncaught_exception(std::string_view where) { f_.uncaught.Add({{"where", bounded(where)}}).Increment(); }

void MediaStats::media_fetch(io::FetchResult result, double seconds) {
  const std::string r(io::to_string(result));
  f_.media_fetch.Add({{"result", r}}).Increment();
  f_.media_fetch_seconds.Add({{"result", r}}, kMediaFetchBuckets).Observe(seconds);
}

void MediaStats::media_cache_size(std::uint64_t bytes, std::size_t files) {
  f_.media_cache_bytes.Add({}).Set(static_cast<double>(bytes));
  f_.media_cache_files.Add({}).Set(static_cast<double>(files));
}

void MediaStats::media_evicted(std::size_t files) { f_.media_evictions.Add({}).Increment(static_cast<double>(files)); }

void MediaStats::speech(io::SpeechResult result, double engine_seconds) {
  f_.tts_total.Add({{"result", std::string(io::to_string(result))}}).Increment();
  if (result == io::SpeechResult::Synthesized) f_.tts_seconds.Add({}, kTtsBuckets).Observe(engine_seconds);
}

std::shared_ptr<prometheus::Registry> Metrics::registry() const { return families_->reg; }

// ---------------------------------------------------------------------------------------------------------
asio::awaitable<io::RedisReply> timed_redis(io::RedisClient& redis, RedisStats& stats, std::vector<std::string> args,
                                            std::string_view op) {
  auto started = std::chrono::steady_clock::now();
  std::string op_name(op);  // the caller's string may not outlive the suspension
  bool ok = false;
  io::RedisReply reply;
  std::exception_ptr failure;
  try {
    reply = co_await redis.command(std::move(args));
    ok = reply.type != io::RedisReply::Type::Error;
  } catch (...) {
    failure = std::current_exception();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  stats.redis_command(op_name, ok, secs);
  if (failure) std::rethrow_exception(failure);
  co_return reply;
}

}  // namespace dp::app
