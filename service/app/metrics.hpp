// Prometheus metrics. No per-call labels: label values are small fixed sets.
#pragma once
#include <memory>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
class Exposer;
}  // namespace prometheus

namespace dp::app {

class Metrics {
 public:
  Metrics();
  ~Metrics();
  // Serves /metrics on addr:port in prometheus-cpp's own thread. Throws on bind failure.
  void expose(const std::string& listen);

  void decision(std::string_view kind, std::string_view action, double seconds);  // kind: invite|dial_failed
  void webhook(std::string_view kind, int http_status, double seconds);
  void event(std::string_view ev, bool applied);
  void leg(std::string_view type, std::string_view status);
  void dial_ended(std::string_view status);
  void call_ended(std::string_view status);
  void rpc(std::string_view method, bool ok);
  void redis_error();
  void active_calls(double n);

  std::shared_ptr<prometheus::Registry> registry() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dp::app
