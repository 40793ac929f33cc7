// Loads a provisioning seed file (deploy/seed-demo.json) into Redis at startup.
#pragma once
#include "app/ports/provisioning_port.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

namespace dp::app {

// Seed: {"accounts":[…],"applications":[…],"phone_numbers":[…],"sip_domains":[…],"carriers":[…],"sip_users":[…]}
// with the REST API's bodies (sids required). Everything is validated, including references (to the seed itself
// or to data already in Redis), before anything is written; then every entity is upserted, so loading the same
// seed twice is harmless. Throws std::runtime_error naming the entity ("seed: carriers[0] \"demo-carrier\": …");
// RedisError propagates.
boost::asio::awaitable<void> load_seed(ProvisioningPort& store, const boost::json::value& seed);

}  // namespace dp::app
