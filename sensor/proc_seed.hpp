#pragma once
// Seeding the process table from /proc, so that processes started before the
// sensor have a lineage (comm, exe, argv, parent) when they act later.
//
// The parsers are pure and unit-tested (test/unit/test_sensor_proc_seed.cpp);
// scan_proc() does the file reads.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <barbwire/event.hpp>
#include <barbwire/process_table.hpp>

namespace barbwire::sensor {

// The fields of /proc/PID/stat the process table needs.
struct proc_stat {
    pid_type pid = 0;
    std::string comm; // between the first '(' and the LAST ')': comm may hold spaces and ')'
    char state = '?';
    pid_type ppid = 0;
    std::uint32_t pgid = 0;
    std::uint32_t sid = 0;
};

// Parses one /proc/PID/stat line ("pid (comm) state ppid pgrp session ...").
// nullopt when the line does not have that shape.
[[nodiscard]] std::optional<proc_stat> parse_proc_stat(std::string_view line);

// The real uid from the "Uid:" line of /proc/PID/status (what the kernel
// side reports as uid). nullopt when absent or malformed.
[[nodiscard]] std::optional<std::uint32_t> parse_status_uid(std::string_view status);

// Splits /proc/PID/cmdline (NUL-separated) the way the kernel side's argv is
// bounded: at most BW_ARGV_MAX bytes are kept. `truncated` is set when the
// command line was longer.
[[nodiscard]] std::vector<std::string> split_cmdline(std::string_view cmdline, bool& truncated);

// The exec trace line that stands for a seeded process in a recording:
// kind exec at `ts`, with the process's identity. Replaying it recreates the
// same table entry (origin aside).
[[nodiscard]] event seed_event(const process_info& p, nanoseconds ts, bool truncated);

// Reads at most `max` bytes of a (proc) file, retrying EINTR; nullopt when
// it cannot be opened or read (the process is gone, or we may not look).
[[nodiscard]] std::optional<std::string> read_proc_file(const std::string& path, std::size_t max);

// One process read from /proc.
struct seeded_process {
    process_info info;
    bool truncated = false; // argv or exe was cut to the kernel side's bounds
};

struct proc_scan {
    std::vector<seeded_process> processes; // ascending pid
    std::size_t skipped = 0;               // vanished while being read, or unparsable
};

// Reads every /proc/PID. `now` becomes first_seen and last_seen of each
// entry. `proc_root` is "/proc" except in tests.
[[nodiscard]] proc_scan scan_proc(nanoseconds now, const std::string& proc_root = "/proc");

} // namespace barbwire::sensor
