// dialplane: runs the jambonz `dial` verb on Kamailio + rtpengine. See README.md.
// main parses the command line; app::Service composes and runs everything.
#include "app/config/config.hpp"
#include "app/config/validate_command.hpp"
#include "app/service.hpp"
#include "core/log.hpp"

#include <iostream>
#include <string>
#include <unistd.h>
#include <variant>
#include <vector>

using namespace dp;

namespace {

// `dialplane validate FILE`: checks a jambonz app offline.
int validate_command(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    std::cerr << "usage: dialplane validate FILE\n";
    return 2;
  }
  return app::run_validate(args[1], std::cout, std::cerr);
}

// The service's settings from the command line and environment, or the exit code to leave with (0 after
// --help, 2 for bad options).
std::variant<app::Config, int> settings(const std::vector<std::string>& args) {
  bool help = false;
  auto cfg = app::parse_config(args, std::cerr, help);
  if (help) {
    app::print_help(std::cout);
    return 0;
  }
  if (!cfg) {
    app::print_help(std::cerr);
    return 2;
  }
  log::Level lvl;
  if (!log::parse_level(cfg->log_level, lvl)) {
    std::cerr << "invalid --log-level " << cfg->log_level << "\n";
    return 2;
  }
  log::set_level(lvl);
  if (cfg->instance_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    cfg->instance_id = std::string(host) + ":" + std::to_string(getpid());
  }
  return std::move(*cfg);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "validate") return validate_command(args);
  auto cfg = settings(args);
  if (auto* exit_code = std::get_if<int>(&cfg)) return *exit_code;
  try {
    app::Service service(std::move(std::get<app::Config>(cfg)));
    return service.run();
  } catch (const std::exception& e) {
    log::error("fatal", {{"error", e.what()}});
    return 1;
  }
}
