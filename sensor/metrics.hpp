#pragma once
// Metrics (issue 14): the sensor's figures as Prometheus metrics, and the
// health of its event loop. Everything here is pure: the event loop fills
// a `sensor_figures` from the counters it already keeps, `collect` turns
// them into a `metric_set`, and `render_text` writes the text exposition
// format 0.0.4. The HTTP side (threads, sockets) is metrics_server.hpp.
// docs/metrics.md lists every metric.
//
// Cardinality is bounded by construction: every label value comes from a
// fixed enumeration (event kinds, reasons, tables, severities), from the
// rules' category names (at most max_alert_categories, the rest "other"),
// or from the configured outputs. Nothing is labelled by pid, path,
// address or user.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <barbwire/abi/events.h>
#include <barbwire/config.hpp>
#include <barbwire/correlator.hpp>

#include "loader.hpp" // kernel_counters (a plain struct; no libbpf)
#include "preflight.hpp" // check_result

namespace barbwire::sensor {

// --- the exposition format -------------------------------------------------------

enum class metric_type : std::uint8_t { counter, gauge };

using metric_labels = std::vector<std::pair<std::string, std::string>>;

struct metric_sample {
    metric_labels labels;
    double value = 0;
};

struct metric_family {
    std::string name;
    std::string help;
    metric_type type = metric_type::gauge;
    std::vector<metric_sample> samples;
};

// Families in the order they were first added; a family's samples in the
// order they were added.
class metric_set {
public:
    // Adds one sample to the family `name`, which is created with `help` and
    // `type` at its first sample (later calls' help and type are ignored).
    void add(std::string_view name, std::string_view help, metric_type type, double value,
             metric_labels labels = {});
    void counter(std::string_view name, std::string_view help, double value, metric_labels labels = {}) {
        add(name, help, metric_type::counter, value, std::move(labels));
    }
    void gauge(std::string_view name, std::string_view help, double value, metric_labels labels = {}) {
        add(name, help, metric_type::gauge, value, std::move(labels));
    }
    // Every family of `other` after ours (samples of a family both have are merged).
    void append(const metric_set& other);

    [[nodiscard]] const std::vector<metric_family>& families() const noexcept { return families_; }
    [[nodiscard]] const metric_family* find(std::string_view name) const noexcept;

private:
    std::vector<metric_family> families_;
};

// Content-Type of render_text's output.
inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

// [a-zA-Z_:][a-zA-Z0-9_:]*
[[nodiscard]] bool valid_metric_name(std::string_view name) noexcept;
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved)
[[nodiscard]] bool valid_label_name(std::string_view name) noexcept;
// A label value: \ " and newline escaped as \\ \" \n.
[[nodiscard]] std::string escape_label_value(std::string_view value);
// A HELP text: \ and newline escaped as \\ \n.
[[nodiscard]] std::string escape_help(std::string_view help);
// A sample value: whole numbers without a fraction or exponent, NaN, +Inf,
// -Inf, else the shortest text that reads back as the same double.
[[nodiscard]] std::string format_value(double v);
// The text exposition format 0.0.4: per family a # HELP line, a # TYPE
// line and its samples, every line ending in \n.
[[nodiscard]] std::string render_text(const metric_set& set);

// --- health ------------------------------------------------------------------------

enum class sensor_phase : std::uint8_t { starting, running, stopping };

struct health_verdict {
    bool healthy = false;
    std::string reason; // "ok", or why not
};

// How long the loop may go without draining the ring buffer and still be
// healthy. The loop drains at least every 100 ms (its poll timeout), so an
// idle host is healthy; its longest legitimate pauses (re-reading dpkg's
// lists after a SIGHUP, hashing a large binary) take well under a second.
inline constexpr std::chrono::seconds drain_stale_after{10};

// Healthy while running and the ring buffer was drained at most `limit`
// before `now` (all times on one monotonic clock). `last_drain` is nullopt
// before the first drain.
[[nodiscard]] health_verdict health_of(sensor_phase phase, std::optional<nanoseconds> last_drain,
                                       nanoseconds now, nanoseconds limit = drain_stale_after);

// --- --metrics ADDR:PORT -------------------------------------------------------------

struct listen_address {
    std::string host; // a numeric IPv4 or IPv6 address (no brackets)
    std::uint16_t port = 0;
    bool ipv6 = false;
    [[nodiscard]] std::string text() const; // 127.0.0.1:9477 or [::1]:9477
    [[nodiscard]] bool loopback() const noexcept;
};

// "127.0.0.1:9477", "0.0.0.0:9477", "[::1]:9477", "[::]:9477". Names are
// refused (no resolver on the sensor's start-up path); port 1..65535.
// The error is one line naming the option.
[[nodiscard]] check_result<listen_address> parse_listen_address(std::string_view text);

// --- what the sensor counts -------------------------------------------------------------

// Alerts by severity and category. Categories are the rules' names; past
// max_alert_categories distinct ones (a reload can bring new names) the
// rest are counted as "other", so the series stay bounded.
class alert_tally {
public:
    static constexpr std::size_t max_alert_categories = 64;
    void count(severity s, std::string_view category);
    // (severity, category) -> alerts
    [[nodiscard]] const std::map<std::pair<severity, std::string>, std::uint64_t>& counts() const noexcept {
        return counts_;
    }
    [[nodiscard]] std::uint64_t total() const noexcept { return total_; }

private:
    std::map<std::pair<severity, std::string>, std::uint64_t> counts_;
    std::map<std::string, bool, std::less<>> categories_;
    std::uint64_t total_ = 0;
};

// One output's figures. The outputs of issue 14 (syslog, journal,
// webhook) report rows like this; feed them with add_outputs.
struct output_row {
    std::string name;         // the output's name: "stdout", "file", or a configured output's
    std::string kind;         // stdout, file, syslog, journal, webhook, ...
    std::uint64_t sent = 0;   // alerts (and summaries) delivered
    std::uint64_t dropped = 0; // given up on without trying (queue full)
    std::uint64_t failed = 0; // delivery attempts that failed
    std::uint64_t queued = 0; // waiting to be delivered now
};

// The sensor's own process, read at scrape time.
struct process_figures {
    double cpu_seconds = 0;           // user + system, every thread
    double resident_bytes = 0;
    double virtual_bytes = 0;
    double open_fds = 0;
    double max_fds = 0;
    double start_time_seconds = 0;    // since the epoch
};

struct hash_figures {
    std::uint64_t hits = 0, misses = 0, evictions = 0, failures = 0, too_large = 0;
    std::size_t entries = 0, capacity = 0;
    // not examined (a call there could hang): on a FUSE or network
    // filesystem; on a device no mount table lists
    std::uint64_t remote = 0, unknown_fs = 0;
};

// The /proc seed (proc_seed.hpp) and its reads with a deadline (deadline_worker.hpp).
struct seed_figures {
    std::size_t seeded = 0, skipped = 0, timed_out = 0, refused = 0; // processes, at start
    std::uint64_t reads_done = 0, reads_timed_out = 0, reads_refused = 0;
    std::size_t threads_blocked = 0; // abandoned reads still blocked, now
};

// Owner use (owner_files.hpp): credential files read, bindings made.
struct owner_figures {
    std::uint64_t files_parsed = 0, read_failures = 0;
    std::uint64_t bindings = 0, late_bindings = 0, successor_bindings = 0;
    std::uint64_t names_resolved = 0, name_failures = 0, resolver_queue_full = 0, resolver_cache_hits = 0;
};

// Containers (containers.hpp) and the runtimes' sockets (runtime_api.hpp).
struct container_figures {
    std::uint64_t seen = 0, verified = 0;
    bool api_enabled = false;
    std::uint64_t api_requests = 0, api_answers = 0, api_failures = 0, api_mismatched = 0, api_untrusted = 0,
                  api_queue_full = 0;
};

// The user-space half of the kernel filter (run.cpp's filter_feed).
struct filter_figures {
    bool enabled = false;
    std::uint64_t verdicts = 0, verdicts_sensitive = 0, verdict_errors = 0;
    std::uint64_t dir_verdicts = 0, dirs_declined = 0;
    std::uint64_t repeats_expanded = 0, repeats_boring = 0, repeats_unknown = 0;
    std::size_t expander_size = 0, expander_capacity = 0;
    std::uint64_t expander_evictions = 0;
    std::size_t sensitive_inodes = 0;
    std::uint64_t inode_edits = 0, inode_errors = 0, hot_marks = 0, holder_edits = 0, hot_errors = 0;
    std::uint64_t bumps = 0; // generation bumps by the sensor
};

// Everything the event loop publishes, copied once a second.
struct sensor_figures {
    std::string version;
    unsigned abi = BW_ABI_VERSION;
    std::string command = "run"; // run, record, learn
    std::size_t ring_bytes = 0;
    // events the correlator took, by kind (BW_EVENT_* index; 0 and
    // open_repeat unused: a repeat becomes an open or nothing)
    std::array<std::uint64_t, BW_EVENT_KIND_MAX + 1> events_by_kind{};
    std::uint64_t file_events = 0;    // named-file identities the sensor reported
    std::uint64_t binding_events = 0; // owner use: servers a credential file names
    std::array<std::uint64_t, 16> decode_errors_by_code{}; // by errc
    kernel_counters kernel;
    filter_figures filter;
    correlator_stats correlator;
    alert_tally alerts;
    std::uint64_t summaries = 0; // rate-limit summaries written
    std::vector<output_row> outputs;
    hash_figures hashes;
    seed_figures seeding;
    owner_figures owner;
    container_figures containers;
    std::size_t named_files = 0;
    std::uint64_t named_refreshes = 0;
    std::uint64_t named_errors = 0;
    std::uint64_t reloads_ok = 0, reloads_failed = 0, reloads_without_config = 0;
    double last_reload_success_seconds = 0; // since the epoch; the start counts as the first load
    bool last_reload_ok = true;
};

// The families of the sensor's figures (the live part, process and health,
// is added at scrape time by add_live).
[[nodiscard]] metric_set collect(const sensor_figures& f);

// One row per output: barbwire_output_{sent,dropped,failed}_total and
// barbwire_output_queued, labelled output=NAME, kind=KIND. Takes any
// range of structs with those six members (output_row, or the outputs'
// own status type).
template <class Rows>
void add_outputs(metric_set& set, const Rows& rows) {
    for (const auto& r : rows) {
        metric_labels l = {{"output", std::string(r.name)}, {"kind", std::string(r.kind)}};
        set.counter("barbwire_output_sent_total", "Alerts and summaries an output delivered.",
                    static_cast<double>(r.sent), l);
        set.counter("barbwire_output_dropped_total", "Alerts an output gave up on without trying (queue full).",
                    static_cast<double>(r.dropped), l);
        set.counter("barbwire_output_failed_total", "Deliveries to an output that failed.",
                    static_cast<double>(r.failed), l);
        set.gauge("barbwire_output_queued", "Alerts waiting in an output's queue.", static_cast<double>(r.queued),
                  std::move(l));
    }
}

// Process metrics (the standard process_* names), the health gauge and
// the time of the last drain: computed when a scrape comes.
void add_live(metric_set& set, const process_figures& p, const health_verdict& h,
              std::optional<double> last_drain_seconds);

} // namespace barbwire::sensor
