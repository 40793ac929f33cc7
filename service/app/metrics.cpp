#include "app/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace dp::app {

namespace {
// Telephony decisions and webhooks: sub-millisecond to several seconds.
const prometheus::Histogram::BucketBoundaries kLatencyBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                              0.1,    0.25,  0.5,    1,     2.5,  5,    10};

std::string status_class(int http_status) {
  if (http_status == 0) return "error";
  return std::to_string(http_status / 100) + "xx";
}
}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> reg = std::make_shared<prometheus::Registry>();
  std::unique_ptr<prometheus::Exposer> exposer;
  prometheus::Family<prometheus::Histogram>& decisions =
      prometheus::BuildHistogram().Name("dialplane_decision_seconds")
          .Help("Time from Kamailio's question to dialplane's answer").Register(*reg);
  prometheus::Family<prometheus::Histogram>& webhooks =
      prometheus::BuildHistogram().Name("dialplane_webhook_seconds").Help("Webhook request latency").Register(*reg);
  prometheus::Family<prometheus::Counter>& webhook_total =
      prometheus::BuildCounter().Name("dialplane_webhook_requests_total")
          .Help("Webhook requests by hook kind and HTTP status class").Register(*reg);
  prometheus::Family<prometheus::Counter>& events =
      prometheus::BuildCounter().Name("dialplane_kamailio_events_total")
          .Help("Events received from Kamailio").Register(*reg);
  prometheus::Family<prometheus::Counter>& legs =
      prometheus::BuildCounter().Name("dialplane_dial_legs_total")
          .Help("Dial legs by target type and final status").Register(*reg);
  prometheus::Family<prometheus::Counter>& dials =
      prometheus::BuildCounter().Name("dialplane_dials_total").Help("Dials by outcome").Register(*reg);
  prometheus::Family<prometheus::Counter>& calls =
      prometheus::BuildCounter().Name("dialplane_calls_total").Help("Calls by final status").Register(*reg);
  prometheus::Family<prometheus::Counter>& rpcs =
      prometheus::BuildCounter().Name("dialplane_kamailio_rpc_total")
          .Help("Kamailio JSON-RPC calls by method and result").Register(*reg);
  prometheus::Family<prometheus::Counter>& redis_errors =
      prometheus::BuildCounter().Name("dialplane_redis_errors_total").Help("Failed Redis commands").Register(*reg);
  prometheus::Family<prometheus::Gauge>& active =
      prometheus::BuildGauge().Name("dialplane_active_calls").Help("Calls with state in Redis").Register(*reg);
  prometheus::Family<prometheus::Gauge>& build =
      prometheus::BuildGauge().Name("dialplane_build_info").Help("Build information").Register(*reg);
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {
  impl_->build.Add({{"version", "0.1.0"}}).Set(1);
}
Metrics::~Metrics() = default;

void Metrics::expose(const std::string& listen) {
  impl_->exposer = std::make_unique<prometheus::Exposer>(listen, 2);
  impl_->exposer->RegisterCollectable(impl_->reg);
}

void Metrics::decision(std::string_view kind, std::string_view action, double seconds) {
  impl_->decisions.Add({{"kind", std::string(kind)}, {"action", std::string(action)}}, kLatencyBuckets)
      .Observe(seconds);
}

void Metrics::webhook(std::string_view kind, int http_status, double seconds) {
  impl_->webhooks.Add({{"kind", std::string(kind)}}, kLatencyBuckets).Observe(seconds);
  impl_->webhook_total.Add({{"kind", std::string(kind)}, {"status", status_class(http_status)}}).Increment();
}

void Metrics::event(std::string_view ev, bool applied) {
  impl_->events.Add({{"event", std::string(ev)}, {"applied", applied ? "true" : "false"}}).Increment();
}

void Metrics::leg(std::string_view type, std::string_view status) {
  impl_->legs.Add({{"type", std::string(type)}, {"status", std::string(status)}}).Increment();
}

void Metrics::dial_ended(std::string_view status) {
  impl_->dials.Add({{"status", std::string(status)}}).Increment();
}

void Metrics::call_ended(std::string_view status) {
  impl_->calls.Add({{"status", std::string(status)}}).Increment();
}

void Metrics::rpc(std::string_view method, bool ok) {
  impl_->rpcs.Add({{"method", std::string(method)}, {"result", ok ? "ok" : "error"}}).Increment();
}

void Metrics::redis_error() { impl_->redis_errors.Add({}).Increment(); }

void Metrics::active_calls(double n) { impl_->active.Add({}).Set(n); }

std::shared_ptr<prometheus::Registry> Metrics::registry() const { return impl_->reg; }

}  // namespace dp::app
