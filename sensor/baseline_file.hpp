#pragma once
// The baseline file (docs/baseline.md): reading it for `run --baseline` and
// `replay --baseline`, and `learn`'s merge, written atomically (a temporary
// file in the same directory, fsync, rename over FILE, fsync the directory),
// so a crash at any moment leaves either the old file or the new one.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <barbwire/baseline.hpp>
#include <barbwire/correlator.hpp>

#include "preflight.hpp"

namespace barbwire::sensor {

// A baseline file is a list of correlations: refuse to slurp a disk image.
inline constexpr std::size_t max_baseline_file_bytes = 64u << 20;

// Reads and validates FILE. Errors are one line naming the file and what to do.
[[nodiscard]] result<baseline> read_baseline_file(const std::string& path);

// As read_baseline_file, but a file that does not exist is an empty baseline
// (the first `learn`).
[[nodiscard]] result<baseline> read_baseline_file_or_empty(const std::string& path);

// Writes `b` to `path` atomically (mode 0600). On failure the old file is
// untouched and the temporary file removed; the error is one line.
[[nodiscard]] check_result<void> write_baseline_file(const std::string& path, const baseline& b);

// `learn --duration`: a positive whole number with a unit, s, m or h
// ("30s", "10m", "2h"), at most 30 days. Errors are one line.
[[nodiscard]] check_result<nanoseconds> parse_duration(std::string_view text);

// What a sensor run does with its alerts when a baseline is involved.
struct baseline_options {
    std::optional<std::string> apply; // run/replay --baseline FILE
    baseline_mode mode = baseline_mode::suppress;
    std::optional<std::string> learn; // learn --baseline FILE
};

// The baseline side of one run, replay or learn: holds the loaded baseline
// (apply) or the one being learned, and counts what happened.
class baseline_session {
public:
    // Loads the file to apply, or (learn) checks the file to merge into can
    // be read, so a corrupt file fails before minutes of learning.
    [[nodiscard]] static result<baseline_session> open(const baseline_options& opts);

    [[nodiscard]] bool learning() const noexcept { return opts_.learn.has_value(); }
    [[nodiscard]] bool applying() const noexcept { return opts_.apply.has_value(); }

    // Learning sees every correlation: the rules' alert_threshold becomes
    // 0, and rate limiting is off (a rate-limited repeat would go unlearned,
    // and its summaries would be printed).
    void adjust(config& cfg) const {
        if (!learning()) return;
        cfg.alert_threshold = 0;
        cfg.rate_limit_period = nanoseconds{0};
    }

    // Applying: hands the loaded baseline to the correlator, which applies
    // it to every correlation before rate limiting (correlator.hpp, step
    // 3b), so a quieted correlation opens no incident and is never
    // summarized. Call once, before the first event.
    void attach(correlator& corr);

    // An alert of the correlator. Learning: learned, never emitted (false).
    // Otherwise: true (the correlator already applied the baseline).
    [[nodiscard]] bool admit(const alert& a);

    // learn: merges what was learned into the file (atomically) and returns
    // the summary line; run/replay: the summary of what the baseline did,
    // from the correlator's counters; nothing without a baseline.
    [[nodiscard]] check_result<std::optional<std::string>> finish(const correlator_stats& st);

    // learn: merges what was learned since the last checkpoint into the
    // file (atomically: a temporary file, fsync, rename), so that a kill
    // during a long learn keeps everything up to the last checkpoint. The
    // line to print, or nothing when nothing new was learned (or not
    // learning). On failure learning goes on; the next checkpoint retries.
    [[nodiscard]] check_result<std::optional<std::string>> checkpoint();

    // For the ready line: ", baseline: FILE (N entries, suppress)" or ", learning into FILE".
    [[nodiscard]] std::string describe() const;

private:
    explicit baseline_session(baseline_options opts) : opts_(std::move(opts)) {}
    struct merge_result {
        std::size_t before = 0, after = 0, voided = 0, max_entries = 0;
        std::uint64_t dropped = 0;
    };
    // learned_ into the file, then into learned_all_; learned_ starts afresh.
    [[nodiscard]] check_result<merge_result> merge_pending();

    baseline_options opts_;
    baseline loaded_;  // the file to apply (until attach), or (learn) its content at start
    std::size_t loaded_entries_ = 0;
    baseline learned_;     // learn: what this run saw since the last checkpoint
    baseline learned_all_; // learn: everything this run wrote to the file (the summary's figures)
    std::uint64_t unknown_total_ = 0, dropped_total_ = 0;
    std::uint64_t checkpoints_ = 0;
    std::uint64_t correlations_ = 0;
};

} // namespace barbwire::sensor
