// Random identifiers (call sids are UUID v4 as in jambonz).
#pragma once
#include <string>

namespace dp::app {
std::string new_uuid();
double wall_now();  // seconds since the epoch, microsecond resolution
}  // namespace dp::app
