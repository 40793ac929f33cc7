// POST /kamailio/leg: the next attempt of a leg that goes through Kamailio's inner hop (carrier failover,
// per-leg digest auth). See docs/internal-protocol.md §1 and docs/carriers.md.
#pragma once
#include "app/ports/call_store_port.hpp"
#include "app/ports/provisioning_port.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <string>

namespace dp::app {

// Answers {"action":"attempt",...} or {"action":"reply","code","reason"}. Never throws for bad input.
// The leg plan, carriers, gateway health and slots come from `prov`; `calls` tells which slot holders are gone.
boost::asio::awaitable<boost::json::object> leg_decision(ProvisioningPort& prov, CallStorePort& calls,
                                                         const boost::json::object& req);

}  // namespace dp::app
