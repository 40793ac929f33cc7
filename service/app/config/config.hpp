// Command-line / environment configuration. Every option `--foo-bar` also reads DIALPLANE_FOO_BAR.
#pragma once
#include "core/inbound_admission.hpp"
#include "core/teams.hpp"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace dp::app {

struct Config {
  std::string internal_listen = "127.0.0.1:8081";  // Kamailio-facing endpoints
  std::string api_listen = "127.0.0.1:8082";       // REST provisioning API
  std::string metrics_listen = "127.0.0.1:9464";   // Prometheus /metrics ("" = off)
  std::vector<std::string> api_keys;               // Bearer keys for the REST API
  std::string redis_host = "127.0.0.1";
  uint16_t redis_port = 6379;
  std::string redis_password;
  std::string redis_socket;  // a Unix domain socket path; when set, used instead of host:port
  std::string redis_prefix = "dp:";
  std::string seed_file;
  std::string log_level = "info";
  int webhook_timeout_ms = 4000;
  int rpc_timeout_ms = 1000;
  std::string kamailio_rpc_url;    // /readyz checks it (comma-separated: any one reachable); "" = unchecked
  int call_ttl_s = 6 * 3600;       // Redis TTL of a call's state, refreshed on every change
  int prov_cache_ms = 100;         // provisioning cache: REST changes reach other instances within this
  int event_barrier_ms = 300;      // wait for queued branch events before reporting a failed dial
  int timer_poll_ms = 20;          // how often each instance looks for due timers in Redis
  int drain_seconds = 5;           // after SIGTERM: keep serving calls' events this long, then exit
  bool webhook_verify_tls = true;
  // Who may start a call (core/inbound_admission): devices (jambonz's SBC) = the called account's carriers by
  // source address, anyone else authenticates as a SIP user of that account (Kamailio's 407); off = anyone.
  core::InboundAuth inbound_auth = core::InboundAuth::Devices;
  // HTTP listeners (internal, REST, metrics), each: connection cap (0 = none) and deadlines of one request.
  int http_max_connections = 1024;
  int http_header_timeout_ms = 5000;  // a new connection's request line + headers
  int http_body_timeout_ms = 15000;   // the body, once the headers are in
  int http_idle_timeout_ms = 30000;   // a keep-alive connection waiting for its next request
  std::string instance_id;         // defaults to hostname:pid
  // rtpengine (docs/media.md): NG sockets in Kamailio's set order (index i = Kamailio rtpengine set i), the
  // DTMF log listener (rtpengine --dtmf-log-dest; "" = off) and the NG request timeout.
  std::vector<std::string> rtpengine_nodes;
  // Microsoft Teams Direct Routing proxies (docs/teams.md), tried in order; the first one whose OPTIONS pings
  // are answered takes a teams leg.
  std::vector<core::TeamsProxy> teams_proxies = core::default_teams_proxies();
  std::string dtmf_listen;
  int ng_timeout_ms = 3000;
  // Audio forks (app/media/audio_fork): the local address of their RTP sockets, and the address rtpengine is
  // told to send to ("" = the bind address; set it when rtpengine reaches dialplane through NAT or a bridge).
  std::string media_fork_address = "127.0.0.1";
  std::string media_fork_advertise;
  // The dial's nested listen (app/session/listen_session): the websocket subprotocol offered, the connect deadline.
  std::string listen_subprotocol = "audio.jambonz.org";
  int listen_connect_timeout_ms = 5000;
  // Media files (play URLs, synthesized speech): a cache directory rtpengine reads too.
  std::string media_dir = "/tmp/dialplane-media";  // created at start; must be writable
  int media_cache_mb = 256;                         // total size; least recently used files go first
  int media_max_file_mb = 20;                       // a bigger download is refused
  int media_fetch_timeout_ms = 5000;                // one download or revalidation, connect included
  int media_revalidate_s = 300;                     // a cached URL is asked again (If-None-Match) after this
  // The dial's nested transcribe (embedded pocketsphinx): decoders in the pool (0 = off; ~100 MB each, created on
  // first use, one thread each) and the model directory (Debian's pocketsphinx-en-us).
  int stt_decoders = 2;
  std::string stt_model_dir = "/usr/share/pocketsphinx/model/en-us";
};

// Parses argv (after the program name). Returns nullopt and writes to `err` on a bad option;
// sets `help` when --help was given.
std::optional<Config> parse_config(const std::vector<std::string>& args, std::ostream& err, bool& help);
void print_help(std::ostream& out);

}  // namespace dp::app
