#pragma once
// Rules configuration: a JSON tree (nlohmann::json) parsed into a validated
// `config`. The seed's YAML file is converted to the same tree by yaml.hpp.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "barbwire/error.hpp"
#include "barbwire/event.hpp"

namespace barbwire {

enum class severity : std::uint8_t { low = 0, medium = 1, high = 2 };

[[nodiscard]] constexpr std::string_view to_string(severity s) noexcept {
    switch (s) {
    case severity::low: return "LOW";
    case severity::medium: return "MEDIUM";
    case severity::high: return "HIGH";
    }
    return "LOW";
}

// A category of sensitive files (seed: suspicious_files[]).
struct file_category {
    std::string name;                  // seed key: category
    int base_score = 0;                // seed key: base_score
    std::vector<std::string> patterns; // seed semantics: substring of the absolute path
};

// What a parent rule compares against.
enum class process_field : std::uint8_t {
    comm, // seed keys `program:` and `comm:`: the task name (spoofable)
    exe,  // `exe:` the kernel executable path, exact
};

// seed: suspicious_parents[] / legit_parents[]
struct parent_rule {
    process_field field = process_field::comm;
    std::string value;
    int modifier = 0;
};

// An allowlisted destination network: an address with a prefix length.
struct ip_network {
    ip_address addr;
    std::uint8_t prefix = 32; // 32 for a single IPv4, 128 for a single IPv6
};

// Capacities of the correlator's tables. Every table evicts its oldest entry
// when full and counts the eviction.
struct limits {
    std::size_t max_processes = 65536;
    std::size_t max_opens_per_process = 16;
    std::size_t max_tracked_openers = 16384; // processes holding recent sensitive opens
    std::size_t max_dedup_entries = 16384;
};

struct config {
    nanoseconds window = std::chrono::seconds{5};     // seed: window_duration (seconds)
    std::vector<file_category> suspicious_files;
    std::vector<parent_rule> suspicious_parents;     // positive modifiers
    std::vector<parent_rule> legit_parents;          // negative modifiers
    std::vector<ip_network> allow_ips;               // seed: whitelist.ips
    std::vector<std::uint16_t> allow_ports;          // seed: whitelist.ports
    int severity_medium = 3;                         // seed: severity_thresholds.medium
    int severity_high = 5;                           // seed: severity_thresholds.high
    int alert_threshold = 3;                         // seed: alert_threshold
    struct limits limits;

    [[nodiscard]] severity classify(int score) const noexcept {
        if (score >= severity_high) return severity::high;
        if (score >= severity_medium) return severity::medium;
        return severity::low;
    }
};

} // namespace barbwire
