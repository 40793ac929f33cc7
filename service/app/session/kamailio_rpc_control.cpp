#include "app/session/kamailio_rpc_control.hpp"

#include "core/registrations.hpp"

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;

// Params are built in a statement before co_await (docs/coroutines.md, rule 2).

asio::awaitable<std::vector<core::Contact>> KamailioRpcControl::registered_contacts(const std::string& node,
                                                                                    const std::string& aor,
                                                                                    std::chrono::milliseconds timeout) {
  json::array params{"location", aor};
  json::value result;
  try {
    result = co_await rpc_.call(node, "ul.lookup", std::move(params), timeout);
  } catch (const io::RpcError& e) {
    // Nobody registered: an answer, not an error.
    if (!core::ul_lookup_not_registered(e.code, e.message)) throw;
    co_return std::vector<core::Contact>{};
  }
  co_return core::contacts_from_ul_lookup(result);
}

asio::awaitable<void> KamailioRpcControl::cancel_invite(const std::string& node, const std::string& call_id,
                                                        const std::string& cseq, std::chrono::milliseconds timeout) {
  json::array params{call_id, cseq};
  co_await rpc_.call(node, "tm.cancel", std::move(params), timeout);
}

asio::awaitable<bool> KamailioRpcControl::end_dialog(const std::string& node, long long h_entry, long long h_id,
                                                     const std::string& extra_headers,
                                                     std::chrono::milliseconds timeout) {
  json::array params{h_entry, h_id, extra_headers};
  try {
    co_await rpc_.call(node, "dlg.end_dlg", std::move(params), timeout);
  } catch (const io::RpcError& e) {
    if (e.code != 404) throw;
    co_return false;  // the dialog ended already
  }
  co_return true;
}

asio::awaitable<void> KamailioRpcControl::release_held(const std::string& node, const std::string& call_id,
                                                       const core::HeldAnswer& held, const std::string& to_tag,
                                                       const std::string& sdp, std::chrono::milliseconds timeout) {
  std::string hdrs = "Contact: <" + held.contact + ">\r\n";
  if (!held.rr.empty()) hdrs += "Record-Route: " + held.rr + "\r\n";
  hdrs += "Content-Type: application/sdp\r\n";
  json::array params{200, "OK", call_id, held.cseq, to_tag, hdrs, sdp};
  co_await rpc_.call(node, "dp.answer", std::move(params), timeout);
}

asio::awaitable<void> KamailioRpcControl::end_held(const std::string& node, const std::string& call_id,
                                                   const core::HeldAnswer& held, bool fail_branch,
                                                   std::chrono::milliseconds timeout) {
  json::array params{held.contact, held.from, held.to, call_id, held.cseq, fail_branch ? held.vias : std::string()};
  co_await rpc_.call(node, "dp.bye", std::move(params), timeout);
}

}  // namespace dp::app
