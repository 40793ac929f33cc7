// KamailioControlPort that records every RPC and answers scripted results: registrations per AoR, dialogs
// that Kamailio still knows, and failures per method (thrown in order).
#pragma once
#include "app/ports/kamailio_control_port.hpp"

#include <deque>
#include <exception>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace dp::test {

struct RecordedRpc {
  std::string node;
  std::string method;  // ul.lookup | tm.cancel | dlg.end_dlg
  std::vector<std::string> args;
  std::chrono::milliseconds timeout{0};
};

class FakeKamailioControl final : public app::KamailioControlPort {
 public:
  boost::asio::awaitable<std::vector<core::Contact>> registered_contacts(const std::string& node,
                                                                        const std::string& aor,
                                                                        std::chrono::milliseconds timeout) override {
    calls.push_back({node, "ul.lookup", {aor}, timeout});
    throw_if_scripted("ul.lookup");
    auto it = registrations.find(aor);
    co_return it == registrations.end() ? std::vector<core::Contact>{} : it->second;
  }

  boost::asio::awaitable<void> cancel_invite(const std::string& node, const std::string& call_id,
                                             const std::string& cseq, std::chrono::milliseconds timeout) override {
    calls.push_back({node, "tm.cancel", {call_id, cseq}, timeout});
    throw_if_scripted("tm.cancel");
    co_return;
  }

  boost::asio::awaitable<bool> end_dialog(const std::string& node, long long h_entry, long long h_id,
                                          const std::string& extra_headers,
                                          std::chrono::milliseconds timeout) override {
    calls.push_back({node, "dlg.end_dlg", {std::to_string(h_entry), std::to_string(h_id), extra_headers}, timeout});
    throw_if_scripted("dlg.end_dlg");
    co_return ended_dialogs.count({h_entry, h_id}) == 0;
  }

  boost::asio::awaitable<void> release_held(const std::string& node, const std::string& call_id,
                                            const core::HeldAnswer& held, const std::string& to_tag,
                                            const std::string& sdp, std::chrono::milliseconds timeout) override {
    calls.push_back({node, "dp.answer", {call_id, held.cseq, to_tag, held.contact, sdp}, timeout});
    throw_if_scripted("dp.answer");
    co_return;
  }

  boost::asio::awaitable<void> end_held(const std::string& node, const std::string& call_id,
                                        const core::HeldAnswer& held, bool fail_branch,
                                        std::chrono::milliseconds timeout) override {
    calls.push_back({node, "dp.bye", {call_id, held.contact, fail_branch ? "fail" : "bye"}, timeout});
    throw_if_scripted("dp.bye");
    co_return;
  }

  // The next call of `method` throws `e`.
  void fail_next(const std::string& method, std::exception_ptr e) { failures_[method].push_back(std::move(e)); }

  std::vector<const RecordedRpc*> of_method(std::string_view method) const {
    std::vector<const RecordedRpc*> out;
    for (const auto& c : calls)
      if (c.method == method) out.push_back(&c);
    return out;
  }

  std::map<std::string, std::vector<core::Contact>> registrations;  // AoR -> contacts
  std::set<std::pair<long long, long long>> ended_dialogs;          // end_dialog answers false (404) for these
  std::vector<RecordedRpc> calls;

 private:
  void throw_if_scripted(const std::string& method) {
    auto it = failures_.find(method);
    if (it == failures_.end() || it->second.empty()) return;
    auto e = it->second.front();
    it->second.pop_front();
    std::rethrow_exception(e);
  }
  std::map<std::string, std::deque<std::exception_ptr>> failures_;
};

}  // namespace dp::test
