// KamailioControlPort over Kamailio's jsonrpcs module (io/kamailio/kamailio_rpc): builds each RPC's params and
// parses its answer where it enters.
#pragma once
#include "app/ports/kamailio_control_port.hpp"
#include "io/kamailio/kamailio_rpc.hpp"

namespace dp::app {

class KamailioRpcControl final : public KamailioControlPort {
 public:
  explicit KamailioRpcControl(io::KamailioRpc& rpc) : rpc_(rpc) {}

  boost::asio::awaitable<std::vector<core::Contact>> registered_contacts(const std::string& node,
                                                                        const std::string& aor,
                                                                        std::chrono::milliseconds timeout) override;
  boost::asio::awaitable<void> cancel_invite(const std::string& node, const std::string& call_id,
                                             const std::string& cseq, std::chrono::milliseconds timeout) override;
  boost::asio::awaitable<bool> end_dialog(const std::string& node, long long h_entry, long long h_id,
                                          const std::string& extra_headers,
                                          std::chrono::milliseconds timeout) override;
  boost::asio::awaitable<void> release_held(const std::string& node, const std::string& call_id,
                                            const core::HeldAnswer& held, const std::string& to_tag,
                                            const std::string& sdp, std::chrono::milliseconds timeout) override;
  boost::asio::awaitable<void> end_held(const std::string& node, const std::string& call_id,
                                        const core::HeldAnswer& held, bool fail_branch,
                                        std::chrono::milliseconds timeout) override;

 private:
  io::KamailioRpc& rpc_;
};

}  // namespace dp::app
