// `dialplane validate FILE`: checks a jambonz app file offline with the same rules the service
// applies to webhook responses (jambonz 0.1.13 validation, then dialplane's SIP header rules).
#pragma once
#include <ostream>
#include <string>

namespace dp::app {

// Prints "OK: N verbs" to `out` and returns 0; or prints the problem to `err` and returns
// 1 (invalid JSON or invalid app) or 2 (the file cannot be read).
int run_validate(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace dp::app
