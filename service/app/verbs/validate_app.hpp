// Glue between webhook answers and the pure validators: jambonz validation, then dialplane's header rules.
#pragma once
#include "core/verb_validation.hpp"

#include <boost/json.hpp>
#include <string>

namespace dp::app {

// Validates an app returned by a webhook (call_hook or actionHook).
core::AppValidation validate_verbs(const boost::json::value& app);

// Headers of a hangup / sip:decline verb, rendered for the caller's final reply (invalid ones dropped).
std::string render_verb_headers(const boost::json::object& headers);

}  // namespace dp::app
