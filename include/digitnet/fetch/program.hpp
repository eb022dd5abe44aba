#pragma once
// Running another program: exec with an argument vector (no shell, so no quoting to get wrong).
#include <string>
#include <vector>

namespace digitnet {

// Runs argv[0] (looked up in PATH) with argv, its output discarded, and waits at most
// timeout_s seconds (then kills it). Returns its exit status; -1 if it could not start, ran
// too long or was killed by a signal.
int run_program(const std::vector<std::string>& argv, int timeout_s);

}  // namespace digitnet
