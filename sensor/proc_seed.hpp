#pragma once
// Seeding the process table from /proc, so that processes started before the
// sensor have a lineage (comm, exe, argv, parent) when they act later.
//
// The parsers are pure and unit-tested (test/unit/test_sensor_proc_seed.cpp);
// scan_proc() does the file reads.
//
// Reads that may block for ever (issue 15): /proc/PID/cmdline reads the
// process's memory, and the page holding its argv may be a mapping of a file
// on a FUSE filesystem whose daemon never answers; a stat of /proc/PID/exe
// asks the executable's filesystem. With a deadline_worker those reads run
// on it, each process's within the worker's deadline; a process whose reads
// time out (or are refused) is still seeded from /proc/PID/stat and status
// (which read no user memory and no other filesystem), with no exe and no argv.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <barbwire/event.hpp>
#include <barbwire/process_table.hpp>

namespace barbwire::sensor {

class deadline_worker; // deadline_worker.hpp

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
    bool partial = false;   // exe and argv not read: the read timed out or was refused (scan_proc)
};

struct proc_scan {
    std::vector<seeded_process> processes; // ascending pid
    std::size_t skipped = 0;               // vanished while being read, or unparsable
    std::vector<pid_type> timed_out;       // seeded without exe and argv: their reads did not finish in time
    std::vector<pid_type> refused;         // seeded without exe and argv: the worker refused (too many stuck)
};

// Reads every /proc/PID. `now` becomes first_seen and last_seen of each
// entry. `proc_root` is "/proc" except in tests. `worker` (none: read
// inline) runs each process's exe and cmdline reads under its deadline.
[[nodiscard]] proc_scan scan_proc(nanoseconds now, const std::string& proc_root = "/proc",
                                  deadline_worker* worker = nullptr);

} // namespace barbwire::sensor
