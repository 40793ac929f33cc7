// Customer-facing provisioning REST API (/v1/Accounts, Applications, PhoneNumbers, SipDomains, Carriers,
// SipUsers); see docs/openapi.yaml. Bearer-key authenticated; bodies validated by core/provisioning. An account's
// Calls (live call control) are delegated to CallsApi.
#pragma once
#include "app/api/rest/calls_api.hpp"
#include "app/ports/provisioning_port.hpp"
#include "io/http/http_server.hpp"

#include <array>
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dp::app {

// Resolves the entities another entity refers to. The seed loader overrides it so references between
// entities of the same seed file resolve before anything is written.
class RefResolver {
 public:
  explicit RefResolver(ProvisioningPort& store) : store_(store) {}
  virtual ~RefResolver() = default;
  virtual boost::asio::awaitable<std::optional<core::Account>> account(const std::string& sid);
  virtual boost::asio::awaitable<std::optional<core::Application>> application(const std::string& sid);
  virtual boost::asio::awaitable<std::optional<core::Carrier>> carrier(const std::string& sid);
  virtual boost::asio::awaitable<std::optional<core::SipDomain>> sip_domain(const std::string& domain);

 protected:
  ProvisioningPort& store_;
};

// Referential checks; nullopt when fine, else a message naming the field ("account_sid: account … does not exist").
boost::asio::awaitable<std::optional<std::string>> check_refs(RefResolver&, const core::Account&);
boost::asio::awaitable<std::optional<std::string>> check_refs(RefResolver&, const core::Application&);
boost::asio::awaitable<std::optional<std::string>> check_refs(RefResolver&, const core::PhoneNumber&);
boost::asio::awaitable<std::optional<std::string>> check_refs(RefResolver&, const core::SipDomain&);
boost::asio::awaitable<std::optional<std::string>> check_refs(RefResolver&, const core::Carrier&);
boost::asio::awaitable<std::optional<std::string>> check_refs(RefResolver&, const core::SipUser&);
boost::asio::awaitable<std::optional<std::string>> check_refs(RefResolver&, const core::LcrRoute&);

class RestApi {
 public:
  // Empty keys are ignored. With no key at all every request is refused (401); a warning is logged once here.
  RestApi(ProvisioningPort& store, std::vector<std::string> api_keys);
  boost::asio::awaitable<io::ServerResponse> handle(io::ServerRequest& req);
  // What can be decided from the request line and headers alone (401 without a valid key, 415 for a JSON
  // method without a JSON Content-Type): the server calls it before reading the body, handle() again.
  std::optional<io::ServerResponse> check_headers(const io::ServerRequest& req) const;
  // /v1/Accounts/{account_sid}/Calls[/…] go to `calls` once authenticated (without it they are 404).
  void set_calls(CallsApi* calls) { calls_ = calls; }

 private:
  bool authorized(const io::ServerRequest& req) const;
  // /v1/<name>[/<id>]: the collection's dispatch, 404 for an unknown one.
  boost::asio::awaitable<io::ServerResponse> collection(io::ServerRequest& req, const std::string& name,
                                                        const std::string& id);
  // One collection (K: the kind's traits in rest_api.cpp): routes by method and id to the handlers below.
  template <class K>
  boost::asio::awaitable<io::ServerResponse> dispatch(io::ServerRequest& req, const std::string& id);
  template <class K>
  boost::asio::awaitable<io::ServerResponse> list(io::ServerRequest& req);
  template <class K>
  boost::asio::awaitable<io::ServerResponse> create(io::ServerRequest& req);
  template <class K>
  boost::asio::awaitable<io::ServerResponse> read(const std::string& key);
  template <class K>
  boost::asio::awaitable<io::ServerResponse> replace(io::ServerRequest& req, const std::string& id,
                                                     const std::string& key);
  template <class K>
  boost::asio::awaitable<io::ServerResponse> remove(const std::string& key);
  // GET /v1/Carriers/<sid>/health: each gateway's OPTIONS state as last reported by Kamailio.
  boost::asio::awaitable<io::ServerResponse> carrier_health(const std::string& sid);

  ProvisioningPort& store_;
  CallsApi* calls_ = nullptr;
  std::vector<std::array<unsigned char, 32>> key_digests_;  // SHA-256 of each key, compared in constant time
};

}  // namespace dp::app
