// The composition root: builds every component from the configuration, runs their long-lived work as tasks of
// one io::TaskGroup on one io_context thread, and drains on SIGTERM/SIGINT. main only parses the command line.
#pragma once
#include "app/config/config.hpp"

#include <memory>

namespace dp::app {

class Service {
 public:
  // Builds the components (connects nothing yet). Throws on an unusable configuration (e.g. a bad ADDR:PORT).
  explicit Service(Config cfg);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Binds the listeners (throws when one cannot bind), starts the tasks and runs until drained.
  // SIGTERM/SIGINT: not ready at once (/readyz 503, new INVITEs HTTP 503), stop claiming timers and stale
  // outboxes (the other instances take them), keep serving the calls' events for --drain-seconds, then stop
  // accepting, give in-flight requests, timer actions and webhook deliveries a bounded time, cancel what is
  // left and wait for it. A second signal cancels everything and exits at once.
  // Returns the process exit code (0, or 1 when the seed file could not be loaded).
  int run();


 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dp::app
