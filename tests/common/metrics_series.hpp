// Reads one series of a Metrics scrape in tests (app and io suites).
#pragma once
#include "app/observability/metrics.hpp"

#include <string>

namespace dp::test {

// The value of one series line of the scrape ("" when absent), e.g. series(m, "dialplane_x_total{kind=\"a\"}").
inline std::string series(const dp::app::Metrics& m, const std::string& name_and_labels) {
  auto page = m.scrape().body;
  auto at = page.find("\n" + name_and_labels + " ");
  if (at == std::string::npos) return "";
  auto start = at + 1 + name_and_labels.size() + 1;
  return page.substr(start, page.find('\n', start) - start);
}

}  // namespace dp::test
