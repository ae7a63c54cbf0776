#pragma once
// The end of a run: a human summary on stderr and one JSON line for scripts.

#include <cstdio>
#include <string>

#include "scripts/loadtest/coordinator.hpp"
#include "scripts/loadtest/options.hpp"
#include "scripts/loadtest/plan.hpp"

namespace switchboard::load {

void print_summary(std::FILE* out, const options& o, const outcome& r);
std::string json_summary(const options& o, const plan& p, const outcome& r);

}  // namespace switchboard::load
