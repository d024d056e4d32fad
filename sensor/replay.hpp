#pragma once
// `barbwire replay`: runs a recorded JSON-lines trace through the library.

#include <optional>
#include <string>

#include "baseline_file.hpp"
#include "outputs.hpp"

namespace barbwire::sensor {

struct replay_options {
    std::string trace;                  // path, or "-" for standard input (a FIFO works too)
    std::optional<std::string> config;  // rules file; built-in rules when empty
    output_format format = output_format::text;
    std::optional<std::string> output;  // JSON-lines alert log, appended
    bool stats = false;                 // print throughput, state and peak RSS to stderr
    baseline_options baseline;          // --baseline FILE: apply it (docs/baseline.md)
    std::size_t max_errors_shown = 10;  // malformed lines reported one by one, then summarised
};

// Exit status: 0 clean, 1 some lines were malformed (every valid line was
// still replayed), 2 nothing could be replayed (bad config, unreadable file,
// no valid line at all).
[[nodiscard]] int run_replay(const replay_options& opts);

} // namespace barbwire::sensor
