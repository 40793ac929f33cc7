// Precompiled header of the core library: Boost.JSON and the standard headers most core units include. Saves about
// 2 s of the ~4-8 s each core unit takes in the ASan build (CI builds them on 2 cores).
#pragma once
#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
