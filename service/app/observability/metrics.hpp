// Prometheus metrics, recorded per component. No per-call labels: every label value comes from a small fixed
// set (kinds, statuses, methods) or from provisioning (carrier names, capped). See docs/operate.md.
#pragma once
#include "core/call_model.hpp"
#include "io/http/http_server.hpp"
#include "io/media/media_observer.hpp"
#include "io/redis/redis_client.hpp"
#include "io/rtpengine/dtmf_listener.hpp"
#include "io/rtpengine/ng_client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace dp::app {

struct Config;
struct MetricFamilies;  // the registered families (metrics.cpp): every metric name and label set in one place

// What each component records into. Metrics builds one of each and the composition root hands each component
// its own (as Envoy gives a component its stats struct); no component reaches a process-wide instance.

// The call session (CallFlow) and live call control (LiveCallControl).
class CallStats {
 public:
  explicit CallStats(MetricFamilies& f) : f_(f) {}
  // Kamailio asked (kind: invite|dial_failed) and dialplane answered with `action` (fork|reject).
  void decision(std::string_view kind, std::string_view action, double seconds);
  // One batch of Kamailio's events applied (stored) or refused for a re-send (failed).
  void event_batch(bool stored, double seconds);
  void event(std::string_view ev, bool applied);
  void leg(std::string_view type, std::string_view status);
  // A leg reached a final status (child call_status payload): by target type, plus by carrier for phone legs.
  void leg(const core::CallState& call, const boost::json::object& child_payload);
  void dial_ended(std::string_view status);
  void call_ended(std::string_view status);
  void rpc(std::string_view method, bool ok);
  // A request (invite, dial-failed, event batch) failed because of Redis.
  void redis_error();
  // dialMusic at a dial's start (result: playing|no_sdp|fetch_failed|rtpengine_error).
  void dial_music(std::string_view result);
  // An answering-machine detection event (type: amd_human_detected, amd_machine_detected…).
  void amd_event(std::string_view type);
  // A screened leg's screening ended (verdict: accepted|declined|call_gone).
  void screening(std::string_view verdict);
  // An in-dialog REFER answered (answer: accepted|refused|no_hook|not_bridged|failed).
  void refer(std::string_view answer);
  // A DTMF key from rtpengine (outcome: matched|collected|ignored|unknown_call).
  void dtmf_key(std::string_view outcome);
  // A REST updateCall (op: core::to_string(CallUpdate::Op)) and what became of it (result: accepted|refused|
  // failed; a whisper, played asynchronously: played|media_failed|play_failed|call_gone).
  void call_update(std::string_view op, std::string_view result);
  // The dial's nested listen (app/session/listen_session): a stream started, and how it ended (reason:
  // core::listen::to_string(EndReason)); binary frames sent and dropped (the server is slow, or a party's frames
  // overflowed the alignment); the server's text frames by type (playAudio, killAudio, disconnect, ignored,
  // invalid); playAudio items by result (played, failed, refused).
  void listen_started();
  void listen_ended(std::string_view reason);
  void listen_frames_sent(std::uint64_t n);
  void listen_frames_dropped(std::uint64_t n);
  void listen_message(std::string_view type);
  void listen_play(std::string_view result);
  // The dial's nested transcribe (one channel = one transcription; docs/operate.md).
  void transcription_started();
  void transcription_ended(std::string_view reason);  // dial_ended|engine_error
  void transcription_refused(std::string_view reason);  // pool_exhausted, unavailable (vendor, language, model, fork)
  void stt_result(bool is_final);
  void stt_audio_dropped(std::uint64_t frames);  // 20 ms frames not decoded (the decoder fell behind)
  void stt_decoders(std::size_t in_use, std::size_t size);

 private:
  MetricFamilies& f_;
  std::mutex carriers_mu_;
  std::set<std::string> carriers_;  // carrier label values seen (capped)
};

// Webhook requests (Webhooks).
class WebhookStats {
 public:
  explicit WebhookStats(MetricFamilies& f) : f_(f) {}
  // One webhook request (kind: call_hook|call_status|action). http_status 0 = no HTTP response.
  // `ok` false (non-2xx, transport error, unparseable JSON) also counts a failure.
  void webhook(std::string_view kind, int http_status, double seconds, bool ok);
  void webhook(std::string_view kind, int http_status, double seconds);  // ok = 200/202/204

 private:
  MetricFamilies& f_;
};

// rtpengine: NG requests (NgClient) and the DTMF log datagrams (DtmfListener).
class RtpengineStats final : public io::NgObserver, public io::DtmfObserver {
 public:
  explicit RtpengineStats(MetricFamilies& f) : f_(f) {}
  void finished(core::ng::Command command, const io::NgResult& result) override;
  void stray_datagram() override;
  void received() override;
  void malformed() override;
  void dropped() override;

 private:
  MetricFamilies& f_;
};

// Call timers (TimerService).
class TimerStats {
 public:
  explicit TimerStats(MetricFamilies& f) : f_(f) {}
  // Timers (ring timeouts, timeLimits) pending in Redis, shared by every instance.
  void pending_timers(double n);
  // A timer fired `lateness_s` after it was due (kind: ring|limit).
  void timer_fired(std::string_view kind, double lateness_s);

 private:
  MetricFamilies& f_;
};

// Redis commands of the call store and the health probes (timed_redis).
class RedisStats {
 public:
  explicit RedisStats(MetricFamilies& f) : f_(f) {}
  // op: call_load|call_lookup|call_by_leg|calls_of_account|call_save|call_remove|ping|scan.
  void redis_command(std::string_view op, bool ok, double seconds);

 private:
  MetricFamilies& f_;
};

// Readiness probes and polled gauges (Health).
class HealthStats {
 public:
  explicit HealthStats(MetricFamilies& f) : f_(f) {}
  // Exported as dialplane_dependency_up{dependency} and dialplane_ready / dialplane_draining.
  void dependency_up(std::string_view dependency, bool up);
  void ready(bool ready, bool draining);
  void active_calls(double n);
  void webhook_queue(double n);
  void rpc(std::string_view method, bool ok, double seconds);

 private:
  MetricFamilies& f_;
};

// The process: HTTP listeners and exceptions contained instead of ending it.
class ProcessStats {
 public:
  explicit ProcessStats(MetricFamilies& f) : f_(f) {}
  // An HTTP listener's connection events (listener: internal|api|metrics): open connections, accept failures,
  // connections closed by the connection cap, failed sessions.
  void http_server(std::string_view listener, io::ServerEvent ev);
  // An exception that escaped an Asio handler or a task and was contained (where: io_context|http_session|…).
  void uncaught_exception(std::string_view where);

 private:
  MetricFamilies& f_;
};

// The media files (io::MediaStore, io::MediaCache, io::FliteTts and app::MediaFiles report through it).
class MediaStats final : public io::MediaObserver {
 public:
  explicit MediaStats(MetricFamilies& f) : f_(f) {}
  void media_fetch(io::FetchResult result, double seconds) override;
  void media_cache_size(std::uint64_t bytes, std::size_t files) override;
  void media_evicted(std::size_t files) override;
  void speech(io::SpeechResult result, double engine_seconds) override;

 private:
  MetricFamilies& f_;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;
  // The /metrics page (Prometheus text format). The service serves it on its own HttpServer listener rather than
  // prometheus-cpp's civetweb exposer: civetweb gives each connection a thread, so a few thousand slow
  // connections lock out every scrape, while the HttpServer's cap and header deadline shed them.
  io::ServerResponse scrape() const;
  // Answers GET /metrics (404 elsewhere); a handler for io::HttpServer.
  boost::asio::awaitable<io::ServerResponse> handle(io::ServerRequest& req) const;

  CallStats& calls() { return *calls_; }
  WebhookStats& webhooks() { return *webhooks_; }
  TimerStats& timers() { return *timers_; }
  RedisStats& redis() { return *redis_; }
  HealthStats& health() { return *health_; }
  ProcessStats& process() { return *process_; }
  RtpengineStats& rtpengine() { return *rtpengine_; }
  MediaStats& media() { return *media_; }

  std::shared_ptr<prometheus::Registry> registry() const;

 private:
  std::unique_ptr<MetricFamilies> families_;
  std::unique_ptr<CallStats> calls_;
  std::unique_ptr<WebhookStats> webhooks_;
  std::unique_ptr<TimerStats> timers_;
  std::unique_ptr<RedisStats> redis_;
  std::unique_ptr<HealthStats> health_;
  std::unique_ptr<ProcessStats> process_;
  std::unique_ptr<RtpengineStats> rtpengine_;
  std::unique_ptr<MediaStats> media_;
};

// Runs one Redis command and records its latency and result under `op` in `stats`.
// Rethrows the command's RedisError.
boost::asio::awaitable<io::RedisReply> timed_redis(io::RedisClient& redis, RedisStats& stats,
                                                   std::vector<std::string> args, std::string_view op);

}  // namespace dp::app
