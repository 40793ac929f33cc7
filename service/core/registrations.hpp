// Kamailio's registrar as dialplane sees it: the answer of `ul.lookup`, parsed once where it enters.
#pragma once
#include "core/dial_plan.hpp"

#include <boost/json/value.hpp>
#include <string_view>
#include <vector>

namespace dp::core {

// The registered contacts in an `ul.lookup` result.
std::vector<Contact> contacts_from_ul_lookup(const boost::json::value& result);

// True when an `ul.lookup` error only means "nobody is registered for this AoR". Kamailio 5.6 reports that
// as a 500 fault ("AOR not found in location table", "AOR has no contacts"), not as a 404: it is a normal
// answer (the leg fails 404), unlike a real RPC failure.
bool ul_lookup_not_registered(int code, std::string_view message);

}  // namespace dp::core
