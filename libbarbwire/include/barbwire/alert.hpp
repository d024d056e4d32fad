#pragma once
// One alert: a sensitive open and a later network action, scored.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "barbwire/config.hpp"
#include "barbwire/event.hpp"

namespace barbwire {

struct process_ref {
    pid_type pid = 0;
    std::string comm;
    std::string exe;
    std::string sha256; // empty when unknown
    friend bool operator==(const process_ref&, const process_ref&) = default;
};

struct score_part {
    std::string reason; // e.g. "credential access", "suspicious parent: bash"
    int points = 0;
    friend bool operator==(const score_part&, const score_part&) = default;
};

struct alert {
    nanoseconds ts{0};            // time of the network event
    process_ref process;          // the process that made the network call
    pid_type tid = 0;
    std::uint32_t uid = 0;
    std::vector<std::string> argv;

    struct file_info {
        std::string path;
        std::uint64_t dev = 0;
        std::uint64_t ino = 0;
        std::string category;
        nanoseconds ts{0};        // time of the open
        friend bool operator==(const file_info&, const file_info&) = default;
    } file;

    struct destination_info {
        net_op op = net_op::connect;
        ip_proto protocol = ip_proto::tcp;
        ip_address addr;
        std::uint16_t port = 0;
        friend bool operator==(const destination_info&, const destination_info&) = default;
    } destination;

    nanoseconds delta{0};         // destination ts - file ts
    int score = 0;
    enum severity severity = severity::low;
    std::vector<score_part> breakdown; // sums to score
    std::optional<process_ref> parent;
    std::optional<process_ref> grandparent;

    friend bool operator==(const alert&, const alert&) = default;
};

} // namespace barbwire
