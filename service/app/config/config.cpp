#include "app/config/config.hpp"

#include "core/ng_protocol.hpp"

#include <arpa/inet.h>

#include <cstdlib>
#include <functional>
#include <sstream>

namespace dp::app {
namespace {

struct Option {
  const char* name;  // without leading dashes
  const char* arg;   // nullptr for flags
  const char* help;
  std::function<bool(Config&, const std::string&)> set;
};

bool to_int(const std::string& v, long lo, long hi, long& out) {
  try {
    std::size_t pos = 0;
    out = std::stol(v, &pos);
    return pos == v.size() && out >= lo && out <= hi;
  } catch (...) {
    return false;
  }
}

template <typename T>
std::function<bool(Config&, const std::string&)> int_opt(T Config::*field, long lo, long hi) {
  return [=](Config& c, const std::string& v) {
    long n;
    if (!to_int(v, lo, hi, n)) return false;
    c.*field = static_cast<T>(n);
    return true;
  };
}

std::function<bool(Config&, const std::string&)> str_opt(std::string Config::*field) {
  return [=](Config& c, const std::string& v) {
    c.*field = v;
    return true;
  };
}

// An IPv4 or IPv6 literal (not a name: rtpengine puts it in an SDP's c= line); empty clears the field.
std::function<bool(Config&, const std::string&)> ip_opt(std::string Config::*field) {
  return [=](Config& c, const std::string& v) {
    unsigned char buf[sizeof(in6_addr)];
    if (!v.empty() && ::inet_pton(AF_INET, v.c_str(), buf) != 1 && ::inet_pton(AF_INET6, v.c_str(), buf) != 1)
      return false;
    c.*field = v;
    return true;
  };
}

const std::vector<Option>& options() {
  static const std::vector<Option> opts = {
      {"internal-listen", "ADDR:PORT", "Kamailio-facing endpoints (bind to an internal address)",
       str_opt(&Config::internal_listen)},
      {"api-listen", "ADDR:PORT", "REST provisioning API", str_opt(&Config::api_listen)},
      {"metrics-listen", "ADDR:PORT", "Prometheus /metrics; empty disables", str_opt(&Config::metrics_listen)},
      {"api-key", "KEY", "Bearer key accepted by the REST API (comma-separated list allowed)",
       [](Config& c, const std::string& v) {
         std::stringstream ss(v);
         std::string k;
         while (std::getline(ss, k, ','))
           if (!k.empty()) c.api_keys.push_back(k);
         return true;
       }},
      {"redis-host", "HOST", "Redis host", str_opt(&Config::redis_host)},
      {"redis-port", "PORT", "Redis port", int_opt(&Config::redis_port, 1, 65535)},
      {"redis-socket", "PATH",
       "Redis over this Unix domain socket instead of --redis-host/--redis-port (a Redis on the same host)",
       str_opt(&Config::redis_socket)},
      {"redis-password", "PASSWORD", "Redis AUTH password", str_opt(&Config::redis_password)},
      {"redis-prefix", "PREFIX", "prefix of every Redis key", str_opt(&Config::redis_prefix)},
      {"seed", "FILE", "provisioning JSON loaded (upserted) at start-up", str_opt(&Config::seed_file)},
      {"log-level", "LEVEL", "debug | info | warn | error", str_opt(&Config::log_level)},
      {"webhook-timeout-ms", "MS", "timeout of one webhook request", int_opt(&Config::webhook_timeout_ms, 100, 60000)},
      {"rpc-timeout-ms", "MS", "timeout of one Kamailio JSON-RPC call", int_opt(&Config::rpc_timeout_ms, 50, 30000)},
      {"kamailio-rpc-url", "URL[,URL]", "Kamailio JSON-RPC URL(s) probed for /readyz (any one reachable)", str_opt(&Config::kamailio_rpc_url)},
      {"call-ttl", "SECONDS", "expiry of a call's state in Redis, refreshed on change",
       int_opt(&Config::call_ttl_s, 60, 7 * 86400)},
      {"event-barrier-ms", "MS", "how long a failed dial waits for its legs' queued events",
       int_opt(&Config::event_barrier_ms, 0, 5000)},
      {"prov-cache-ms", "MS",
       "provisioning lookups (accounts, applications, numbers, domains, carriers, LCR) are kept in process and "
       "checked against Redis's provisioning generation at most this often; 0 = no cache",
       int_opt(&Config::prov_cache_ms, 0, 60000)},
      {"timer-poll-ms", "MS", "how often this instance looks for due timers in Redis",
       int_opt(&Config::timer_poll_ms, 1, 1000)},
      {"drain-seconds", "SECONDS", "after SIGTERM, keep serving in-flight calls this long before exiting",
       int_opt(&Config::drain_seconds, 0, 300)},
      {"http-max-connections", "N",
       "open connections per HTTP listener (internal, api, metrics); over it the oldest one still reading a request is "
       "closed; 0 = no cap",
       int_opt(&Config::http_max_connections, 0, 1000000)},
      {"http-header-timeout-ms", "MS", "a new connection must send its request headers within this time",
       int_opt(&Config::http_header_timeout_ms, 100, 600000)},
      {"http-body-timeout-ms", "MS", "a request body must arrive within this time once its headers are in",
       int_opt(&Config::http_body_timeout_ms, 100, 600000)},
      {"http-idle-timeout-ms", "MS", "how long a keep-alive connection may wait for its next request",
       int_opt(&Config::http_idle_timeout_ms, 100, 3600000)},
      {"inbound-auth", "off|devices",
       "who may start a call: devices (default) = the called account's carriers (by source address) and that "
       "account's SIP users once they answer a 407 challenge; off = any INVITE to a provisioned number or SIP domain",
       [](Config& c, const std::string& v) {
         auto p = core::parse_inbound_auth(v);
         if (p) c.inbound_auth = *p;
         return p.has_value();
       }},
      {"webhook-insecure-tls", nullptr, "do not verify webhook servers' TLS certificates",
       [](Config& c, const std::string&) {
         c.webhook_verify_tls = false;
         return true;
       }},
      {"instance-id", "ID", "name of this instance in logs and metrics", str_opt(&Config::instance_id)},
      {"rtpengine", "udp:HOST:PORT[,...]",
       "rtpengine NG sockets, in the order of Kamailio's rtpengine sets (the i-th is set i); a call's media "
       "commands go to the node anchoring it",
       [](Config& c, const std::string& v) {
         std::stringstream ss(v);
         std::string n;
         c.rtpengine_nodes.clear();
         while (std::getline(ss, n, ','))
           if (!n.empty()) {
             if (!core::ng::parse_node(n)) return false;
             c.rtpengine_nodes.push_back(n);
           }
         return !c.rtpengine_nodes.empty() && c.rtpengine_nodes.size() <= 16;
       }},
      {"teams-proxies", "LIST",
       "Microsoft Teams Direct Routing proxies in failover order, HOST[:PORT][=ADDR:PORT],... (default sip, sip2, "
       "sip3 .pstnhub.microsoft.com:5061): HOST goes in the Request-URI, ADDR:PORT is where TLS connects (tests: a "
       "loopback stand-in)",
       [](Config& c, const std::string& v) {
         std::string err;
         auto p = core::parse_teams_proxies(v, err);
         if (!p) return false;
         c.teams_proxies = std::move(*p);
         return true;
       }},
      {"dtmf-listen", "ADDR:PORT",
       "UDP address of rtpengine's DTMF log (its --dtmf-log-dest); bound with SO_REUSEPORT so every instance on "
       "a host can share it; empty = off",
       str_opt(&Config::dtmf_listen)},
      {"ng-timeout-ms", "MS", "timeout of one rtpengine NG request, retransmissions included",
       int_opt(&Config::ng_timeout_ms, 100, 30000)},
      {"media-fork-address", "IP",
       "local IP of the audio fork's RTP sockets (answering-machine detection): one ephemeral UDP port per forked "
       "party, which rtpengine must reach",
       ip_opt(&Config::media_fork_address)},
      {"media-fork-advertise", "IP",
       "the IP rtpengine sends forked audio to, when it is not --media-fork-address (NAT, container bridge); empty = "
       "the same",
       ip_opt(&Config::media_fork_advertise)},
      {"listen-subprotocol", "NAME",
       "websocket subprotocol a dial's nested listen offers (jambonz documents audio.jambonz.org; its FreeSWITCH "
       "module defaults to audio.drachtio.org); empty = none",
       str_opt(&Config::listen_subprotocol)},
      {"listen-connect-timeout-ms", "MS",
       "deadline of a nested listen's websocket connect (DNS, TCP, TLS, upgrade); a listen that misses it ends, the "
       "call goes on",
       int_opt(&Config::listen_connect_timeout_ms, 100, 60000)},
      {"media-dir", "DIR",
       "directory of fetched and synthesized audio files, shared with rtpengine (created at start, must be writable)",
       str_opt(&Config::media_dir)},
      {"media-cache-mb", "MB", "total size of the media directory; least recently used files are deleted over it",
       int_opt(&Config::media_cache_mb, 1, 1 << 20)},
      {"stt-decoders", "N",
       "speech recognizer decoders for the dial's transcribe (embedded pocketsphinx, ~100 MB and one thread each, "
       "created on first use); a transcription beyond them gets an error event; 0 = off",
       int_opt(&Config::stt_decoders, 0, 64)},
      {"stt-model-dir", "DIR",
       "pocketsphinx's US English model: holds en-us/, en-us.lm.bin and cmudict-en-us.dict (Debian's "
       "pocketsphinx-en-us)",
       str_opt(&Config::stt_model_dir)},
      {"media-max-file-mb", "MB", "largest audio file fetched from a URL; a bigger one is refused",
       int_opt(&Config::media_max_file_mb, 1, 4096)},
      {"media-fetch-timeout-ms", "MS", "timeout of one audio download or revalidation, connect included",
       int_opt(&Config::media_fetch_timeout_ms, 100, 600000)},
      {"media-revalidate-s", "SECONDS",
       "a cached audio URL is served from disk this long, then revalidated with its server (0 = on every use)",
       int_opt(&Config::media_revalidate_s, 0, 30 * 86400)},
  };
  return opts;
}

std::string env_name(const char* opt) {
  std::string e = "DIALPLANE_";
  for (const char* p = opt; *p; ++p) e.push_back(*p == '-' ? '_' : static_cast<char>(std::toupper(*p)));
  return e;
}

}  // namespace

void print_help(std::ostream& out) {
  out << "Usage: dialplane [options]\n"
         "       dialplane validate FILE   validate a jambonz app JSON file and print the first error\n\n"
         "Options (each can also be set with the environment variable shown):\n";
  for (const auto& o : options()) {
    std::string left = std::string("  --") + o.name + (o.arg ? std::string(" ") + o.arg : "");
    out << left;
    for (std::size_t i = left.size(); i < 34; ++i) out << ' ';
    out << o.help << "  [" << env_name(o.name) << "]\n";
  }
  out << "  --help                          show this help\n";
}

namespace {

// DIALPLANE_* variables into `c`; false (with the message in `err`) on an invalid value.
bool apply_environment(Config& c, std::ostream& err) {
  for (const auto& o : options()) {
    if (const char* v = std::getenv(env_name(o.name).c_str())) {
      std::string val = v;
      if (!o.arg && (val.empty() || val == "0" || val == "false")) continue;
      if (!o.set(c, val)) {
        err << "invalid value for " << env_name(o.name) << "\n";
        return false;
      }
    }
  }
  return true;
}

const Option* find_option(const std::string& name) {
  const Option* opt = nullptr;
  for (const auto& o : options())
    if (name == o.name) opt = &o;
  return opt;
}

// The option at args[i] ("--name value" or "--name=value") into `c`; moves `i` past its value.
bool apply_option(const std::vector<std::string>& args, std::size_t& i, Config& c, std::ostream& err) {
  const std::string& a = args[i];
  if (a.rfind("--", 0) != 0) {
    err << "unexpected argument: " << a << "\n";
    return false;
  }
  std::string name = a.substr(2), value;
  bool has_inline = false;
  if (auto eq = name.find('='); eq != std::string::npos) {
    value = name.substr(eq + 1);
    name = name.substr(0, eq);
    has_inline = true;
  }
  const Option* opt = find_option(name);
  if (!opt) {
    err << "unknown option: --" << name << "\n";
    return false;
  }
  if (opt->arg && !has_inline) {
    if (i + 1 >= args.size()) {
      err << "option --" << name << " needs a value\n";
      return false;
    }
    value = args[++i];
  }
  if (!opt->set(c, value)) {
    err << "invalid value for --" << name << "\n";
    return false;
  }
  return true;
}

// Rules between options (each option's own range is checked as it is read).
bool check_combination(const Config& c, std::ostream& err) {
  if (c.media_dir.empty()) {
    err << "--media-dir must not be empty\n";
    return false;
  }
  if (c.media_fork_address.empty()) {
    err << "--media-fork-address must not be empty\n";
    return false;
  }
  if (c.media_max_file_mb > c.media_cache_mb) {
    err << "--media-max-file-mb (" << c.media_max_file_mb << ") must not exceed --media-cache-mb ("
        << c.media_cache_mb << ")\n";
    return false;
  }
  return true;
}

}  // namespace

std::optional<Config> parse_config(const std::vector<std::string>& args, std::ostream& err, bool& help) {
  Config c;
  help = false;
  // Environment first, command line overrides.
  if (!apply_environment(c, err)) return std::nullopt;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      help = true;
      return c;
    }
    if (!apply_option(args, i, c, err)) return std::nullopt;
  }
  if (!check_combination(c, err)) return std::nullopt;
  return c;
}

}  // namespace dp::app
