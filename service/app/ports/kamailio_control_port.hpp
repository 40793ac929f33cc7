// Port: what the call session asks of the Kamailio that owns a call (session/kamailio_rpc_control is the
// JSON-RPC implementation; tests/app/fakes records the calls and answers scripted results).
//
// `node` is the JSON-RPC URL of that Kamailio (CallState::node, reported with the INVITE). Every call is
// bounded by `timeout`.
//
// Errors: io::RpcError when Kamailio ran the RPC and answered with an error (code and message as Kamailio
// gave them); io::HttpError on a transport failure, the timeout, or an answer that is not JSON-RPC.
#pragma once
#include "core/call_model.hpp"
#include "core/dial_plan.hpp"

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace dp::app {

class KamailioControlPort {
 public:
  virtual ~KamailioControlPort() = default;

  // `ul.lookup location <aor>`: the contacts registered for the AoR. Empty when nobody is registered (Kamailio
  // reports that as an error, which is not one here: core::ul_lookup_not_registered).
  virtual boost::asio::awaitable<std::vector<core::Contact>> registered_contacts(const std::string& node,
                                                                                const std::string& aor,
                                                                                std::chrono::milliseconds timeout) = 0;

  // `tm.cancel <call_id> <cseq>`: cancels every branch of the caller's pending INVITE transaction. Its
  // failure_route then runs as for any failed fork.
  virtual boost::asio::awaitable<void> cancel_invite(const std::string& node, const std::string& call_id,
                                                     const std::string& cseq, std::chrono::milliseconds timeout) = 0;

  // `dlg.end_dlg <h_entry> <h_id> <extra_headers>`: sends a BYE to both sides of the dialog. Returns false when
  // Kamailio no longer knows the dialog (RPC error 404: it ended already).
  virtual boost::asio::awaitable<bool> end_dialog(const std::string& node, long long h_entry, long long h_id,
                                                  const std::string& extra_headers,
                                                  std::chrono::milliseconds timeout) = 0;

  // `dp.answer` (kamailio-cfg/roles/screen.cfg): answers the caller's pending INVITE with a screened leg's held 2xx
  // (its tag, Contact, Record-Route and `sdp`, rtpengine's answer for the caller). tm then cancels the branches
  // still pending.
  virtual boost::asio::awaitable<void> release_held(const std::string& node, const std::string& call_id,
                                                    const core::HeldAnswer& held, const std::string& to_tag,
                                                    const std::string& sdp, std::chrono::milliseconds timeout) = 0;

  // `dp.bye` (kamailio-cfg/roles/screen.cfg): a BYE from Kamailio to a held callee. `fail_branch`: its tm branch
  // also gets a 487, so tm stops waiting for it (the caller's INVITE is still pending).
  virtual boost::asio::awaitable<void> end_held(const std::string& node, const std::string& call_id,
                                                const core::HeldAnswer& held, bool fail_branch,
                                                std::chrono::milliseconds timeout) = 0;
};

}  // namespace dp::app
