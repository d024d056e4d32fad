#pragma once
// The queued alert outputs of the live sensor (docs/outputs.md): a JSON-lines
// file with size-based rotation, syslog (RFC 5424 over a unix socket, UDP or
// TCP), the systemd journal and HTTP webhooks.
//
// Each output has its own bounded queue and its own thread. The event loop
// only formats a message once and hands it to every queue (publish), which
// never blocks: a full queue drops the NEWEST message for that output only,
// and counts it. A dead or slow output loses its own messages, never another
// output's, and never stalls the ring buffer. Losses are counted per output
// (status()) and reported by loss_notices() in `barbwire: NOTICE:` lines.
//
// Standard output is not queued (the event loop writes it, alert_output in
// outputs.hpp); it is counted here too (note_stdout) so status() lists it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "output_format.hpp"
#include "preflight.hpp"

namespace barbwire::sensor {

// One output's counters, a snapshot. Names and kinds are stable (the metrics
// use them as label values, docs/outputs.md "Status"):
//   kind "stdout"  name "stdout"
//   kind "file"    name "file:PATH"
//   kind "syslog"  name "syslog:unix:PATH", "syslog:udp:HOST:PORT", "syslog:tcp:HOST:PORT"
//   kind "journal" name "journal"
//   kind "webhook" name "webhook:URL" (without user:password@)
struct output_status {
    std::string name;
    std::string kind;
    std::uint64_t sent = 0;    // messages (alerts and summaries) the output took
    std::uint64_t dropped = 0; // lost because its queue was full, or still queued when the sensor stopped
    std::uint64_t failed = 0;  // lost because delivery failed (after the retries, where there are any)
    std::uint64_t queued = 0;  // waiting in its queue now (and the one being delivered)
    std::string last_error;    // the last delivery failure, "" when none
    bool working = true;       // its last delivery worked, or none was tried yet
};

class sink; // output_sinks.cpp

class output_sinks {
public:
    // Opens what the options ask for (the file, a check that the journal is
    // there) and starts one thread per output. An error is one line naming
    // the option. With no output asked for, holds none and starts nothing.
    [[nodiscard]] static check_result<std::unique_ptr<output_sinks>> open(const sink_options& opts);

    output_sinks(const output_sinks&) = delete;
    output_sinks& operator=(const output_sinks&) = delete;
    ~output_sinks(); // close(0 ms) when not closed yet

    // Starts each output's thread. Called once the sensor has dropped its
    // privileges (privileges.hpp), so that no thread keeps what the
    // process gave up; messages published before wait in the queues.
    void start_threads();
    // Hands `m` to every output's queue; never blocks.
    void publish(const std::shared_ptr<const output_message>& m);
    // Standard output took a message (ok) or failed to.
    void note_stdout(bool ok) noexcept;
    // SIGUSR1: the file output reopens its path before its next line (false: no file output).
    bool reopen();

    // Thread-safe snapshot, stdout first, then the outputs in option order.
    [[nodiscard]] std::vector<output_status> status() const;
    // "NOTICE: ..." texts (without "barbwire: ") for outputs that lost
    // messages since their last notice: at most one per output per minute,
    // or every pending one when `final`.
    [[nodiscard]] std::vector<std::string> loss_notices(bool final = false);
    // "stdout 5 sent; webhook:http://h/ 3 sent, 2 dropped, 0 failed; ..." for the stats line.
    [[nodiscard]] std::string summary() const;
    [[nodiscard]] bool empty() const noexcept { return sinks_.empty(); }
    // Whether any queued output (not standard output) works: its last
    // delivery worked, or it has not tried one yet. False when there is none.
    [[nodiscard]] bool any_working() const;

    // Stops taking messages, gives the queued ones up to `grace` to go out
    // (one try each, no backoff), then stops every thread; what is still
    // queued is counted as dropped. Idempotent.
    void close(std::chrono::milliseconds grace);

private:
    output_sinks() = default;
    std::vector<std::unique_ptr<sink>> sinks_;
    struct stdout_counts;
    std::unique_ptr<stdout_counts> stdout_;
    bool closed_ = false;
    bool started_ = false;
};

} // namespace barbwire::sensor
