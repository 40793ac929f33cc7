#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "core/log.hpp"

int main(int argc, char** argv) {
  // The shell logs every call step; tests assert on what it does, not on its log lines.
  dp::log::set_level(dp::log::Level::Error);
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
