// Precompiled header of the unit tests: doctest and the core's (service/core/pch.hpp). main.cpp is built without it:
// it defines DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN before its include.
#pragma once
#include <doctest/doctest.h>

#include "core/pch.hpp"
