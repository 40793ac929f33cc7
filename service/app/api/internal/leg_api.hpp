// POST /kamailio/leg: the next attempt of a leg that goes through Kamailio's inner hop (carrier failover,
// per-leg digest auth). See docs/internal-protocol.md §1 and docs/carriers.md.
#pragma once
#include "app/store/call_store.hpp"
#include "app/store/provisioning_store.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <string>

namespace dp::app {

// Answers {"action":"attempt",...} or {"action":"reply","code","reason"}. Never throws for bad input.
// The leg plans were stored in `prov` by the call flow; `calls` tells which carrier slots are still in use.
boost::asio::awaitable<boost::json::object> leg_decision(ProvisioningStore& prov, CallStore& calls,
                                                         const boost::json::object& req);

}  // namespace dp::app
