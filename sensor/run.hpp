#pragma once
// `barbwire run` and `barbwire record`: the live sensor loop.
//
//   preflight (privileges first) -> rules -> outputs -> kernel, BTF
//   -> load and attach the BPF programs -> seed the process table from /proc
//   -> the files the rules name, by device and inode (file_names.hpp)
//   -> "barbwire: ready: ..." on stderr -> poll / decode / correlate / alert
//   until SIGINT or SIGTERM -> detach -> final stats on stderr.
//
// SIGHUP reloads the --config file (the old rules stay on failure) and looks
// up the files the new rules name; they are looked up every 10 s as well.
// SIGUSR1 reopens the --output file (after logrotate renamed it).
// Alerts go to standard output from the loop, and to the queued outputs
// (output_sinks.hpp) through their queues, which never block the loop.
// docs/deployment.md describes every line it prints and its exit statuses.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "baseline_file.hpp"
#include "output_format.hpp"
#include "metrics.hpp"
#include "outputs.hpp"
#include "runtime_api.hpp"

namespace barbwire::sensor {

struct run_options {
    std::optional<std::string> config;  // rules file; built-in rules when empty
    output_format format = output_format::text;
    sink_options sinks;                 // --output FILE (JSON lines, rotated), --syslog, --journal, --webhook
    bool verbose = false;               // libbpf diagnostics, bad records, full stats
    std::size_t ring_bytes = 16u << 20; // ring buffer size, a power of two
    bool kernel_filter = true;          // --kernel-filter on|off (docs/kernel.md, "In-kernel filtering")
    std::uint32_t verdict_cache_entries = 65536; // --verdict-cache N: files the kernel keeps a verdict for
    std::optional<std::string> record;  // `record FILE`: also write every event as a trace line
    baseline_options baseline;          // run --baseline FILE applies it; learn --baseline FILE learns into it
    std::optional<nanoseconds> learn_for; // `learn`: stop after this long (SIGINT/SIGTERM stop it earlier)
    std::optional<listen_address> metrics; // --metrics ADDR:PORT: serve /metrics and /healthz (docs/metrics.md)
    // --runtime-socket: the container runtimes' sockets asked for labels;
    // nullopt: the well-known ones (default_runtime_sockets); empty: none.
    std::optional<std::vector<runtime_socket>> runtime_sockets;
    std::string command = "run";        // run, record or learn (barbwire_build_info's label)
};

// Exit status: 0 after SIGINT/SIGTERM (or when standard output was closed),
// 1 when a failure stopped a running sensor (ring buffer, trace file),
// 2 when it could not start (privileges, kernel, BTF, config,
// output file, loading the BPF programs).
[[nodiscard]] int run_sensor(const run_options& opts);

} // namespace barbwire::sensor
