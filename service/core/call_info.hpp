// jambonz's call info, as GET /v1/Accounts/{account_sid}/Calls[/{call_sid}] returns it: the parent call and each
// leg of its current dial, snake_case, the same fields as their call_status webhooks (customerData excepted, as
// jambonz strips it). Pure.
#pragma once
#include "core/call_model.hpp"

#include <boost/json.hpp>
#include <optional>
#include <string>

namespace dp::core {

// The parent first, then its legs in dial order.
boost::json::array call_infos(const CallState& c, double now);
// The entry of `sid` (the parent or a leg of the current dial); nullopt when it names neither.
std::optional<boost::json::object> call_info(const CallState& c, const std::string& sid, double now);

}  // namespace dp::core
