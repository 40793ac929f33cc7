// Random identifiers (call sids are UUID v4 as in jambonz). The clock is io/clock.hpp.
#pragma once
#include <string>

namespace dp::app {
std::string new_uuid();
}  // namespace dp::app
