#include "run.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <barbwire/correlator.hpp>
#include <barbwire/decode.hpp>
#include <barbwire/kernel_filter.hpp>
#include <barbwire/trace.hpp>
#include <barbwire/version.hpp>

#include "config_file.hpp"
#include "deadline_worker.hpp"
#include "mounts.hpp"
#include "file_names.hpp"
#include "identity.hpp"
#include "owner_files.hpp"
#include "loader.hpp"
#include "preflight.hpp"
#include "proc_seed.hpp"
#include "safe_file.hpp"
#include "mark_table.hpp"
#include "privileges.hpp"
#include "containers.hpp"
#include "runtime_api.hpp"
#include "metrics.hpp"
#include "metrics_server.hpp"
#include "output_sinks.hpp"

namespace barbwire::sensor {

namespace {


// --- signals -----------------------------------------------------------------
// The handlers only set flags. They are installed with SA_RESTART: a reload
// or a reopen arriving while the loop is blocked writing an alert to a slow
// standard output must not break that write (it would read as "standard
// output closed"). The ring-buffer wait (epoll_wait) is never restarted,
// SA_RESTART or not (signal(7)), so a signal still interrupts it (the loader
// then returns 0 records) and the loop sees the flag at once.

volatile std::sig_atomic_t g_stop_signal = 0;
volatile std::sig_atomic_t g_reload = 0;
volatile std::sig_atomic_t g_reopen = 0;

extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }
extern "C" void on_hup(int) { g_reload = 1; }
extern "C" void on_usr1(int) { g_reopen = 1; }

void install_signals() {
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; // writes go on; the wait is interrupted anyway
    sa.sa_handler = on_stop_signal;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    sa.sa_handler = on_hup;
    ::sigaction(SIGHUP, &sa, nullptr);
    sa.sa_handler = on_usr1; // reopen the --output file (logrotate: rename, then SIGUSR1)
    ::sigaction(SIGUSR1, &sa, nullptr);
    // A closed stdout or trace pipe must surface as a write error (EPIPE), not kill us.
    std::signal(SIGPIPE, SIG_IGN);
}

// --- time --------------------------------------------------------------------

nanoseconds monotonic_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::chrono::seconds{ts.tv_sec} + nanoseconds{ts.tv_nsec};
}

// An event's time on the wall clock (ns since the Unix epoch) from its
// kernel stamp (CLOCK_MONOTONIC): the outputs' timestamps.
std::int64_t wall_ns_of(nanoseconds event_ts) {
    timespec rt{};
    ::clock_gettime(CLOCK_REALTIME, &rt);
    const std::int64_t wall_now = static_cast<std::int64_t>(rt.tv_sec) * 1'000'000'000 + rt.tv_nsec;
    const nanoseconds age = monotonic_now() - event_ts;
    return age.count() > 0 ? wall_now - age.count() : wall_now;
}

// The clock of bpf_ktime_get_ns(), so tick() and event times agree.
class monotonic_clock final : public clock {
public:
    [[nodiscard]] nanoseconds now() const override { return monotonic_now(); }
};

// --- trace recording -----------------------------------------------------------

// Buffered JSON-lines trace file. Lines are appended to a buffer and written
// by flush(); the caller flushes at least every 100 ms and at exit.
class trace_writer {
public:
    static check_result<trace_writer> open(const std::string& path) {
        // safe_file.hpp: 0600, no symlink followed, truncated only when it is the sensor's.
        auto fd = open_private_file(path, open_mode::truncate, "record");
        if (!fd) return tl::unexpected(fd.error());
        return trace_writer(*fd, path);
    }
    trace_writer(trace_writer&& o) noexcept
        : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)), buf_(std::move(o.buf_)), lines_(o.lines_) {}
    trace_writer& operator=(trace_writer&&) = delete;
    ~trace_writer() {
        if (fd_ >= 0) ::close(fd_);
    }

    void add(const event& e) {
        buf_ += format_trace_line(e);
        buf_ += '\n';
        ++lines_;
    }
    void comment(std::string_view text) {
        buf_ += "# ";
        buf_ += text;
        buf_ += '\n';
    }
    [[nodiscard]] std::size_t pending() const noexcept { return buf_.size(); }
    [[nodiscard]] std::uint64_t lines() const noexcept { return lines_; }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

    // Writes the buffer out; on failure returns the error line.
    check_result<void> flush() {
        std::size_t done = 0;
        while (done < buf_.size()) {
            const ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                const std::string why = std::strerror(errno);
                buf_.erase(0, done);
                return tl::unexpected("writing trace file " + path_ + " failed: " + why +
                                      "; the recording is incomplete (disk full?)");
            }
            done += static_cast<std::size_t>(n);
        }
        buf_.clear();
        return {};
    }

private:
    trace_writer(int fd, std::string path) : fd_(fd), path_(std::move(path)) { buf_.reserve(1u << 16); }
    int fd_ = -1;
    std::string path_;
    std::string buf_;
    std::uint64_t lines_ = 0;
};

// --- counters ------------------------------------------------------------------

constexpr std::size_t kind_slots = 10; // indexed by event_kind / BW_EVENT_*
constexpr std::size_t errc_slots = 16; // indexed by errc

constexpr std::array<event_kind, 8> all_kinds = {event_kind::exec,  event_kind::fork, event_kind::exit,
                                                 event_kind::open,  event_kind::net,  event_kind::write,
                                                 event_kind::foreign, event_kind::script};

// The system-wide preload file (/etc/ld.so.preload, in the sensor's mount
// namespace): the dynamic loader loads every library it names into every
// dynamically linked program. Looked at when the sensor starts, on reload
// and at most every 50 ms of the event loop (a stat; the content is read
// again only when the stat changes).
class preload_watch {
public:
    explicit preload_watch(std::string path = "/etc/ld.so.preload") : path_(std::move(path)) {}

    // Looks again (or when `force`, or the first time); true when what
    // nonempty() says may have changed since the last call.
    bool changed(bool force = false) {
        const auto now = std::chrono::steady_clock::now();
        if (!force && looked_ && now - last_ < std::chrono::milliseconds{50}) return false;
        last_ = now;
        struct stat sb {};
        const bool exists = ::stat(path_.c_str(), &sb) == 0 && S_ISREG(sb.st_mode);
        const std::array<std::int64_t, 5> id = {exists ? 1 : 0, static_cast<std::int64_t>(sb.st_ino),
                                                 static_cast<std::int64_t>(sb.st_size), sb.st_mtim.tv_sec,
                                                 sb.st_mtim.tv_nsec};
        if (looked_ && !force && id == id_) return false;
        const bool first = !looked_;
        looked_ = true;
        id_ = id;
        const bool before = nonempty_;
        nonempty_ = exists && names_something();
        return first || force || before != nonempty_;
    }
    [[nodiscard]] bool nonempty() const noexcept { return nonempty_; }

private:
    // The loader takes white-space separated names, '#' starting a comment
    // to the line's end: anything else is a library to preload.
    [[nodiscard]] bool names_something() const {
        const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0) return true; // unreadable but there: assume it names something
        char buf[4096];
        bool comment = false, found = false;
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof(buf));
            if (n <= 0) break;
            for (ssize_t i = 0; i < n && !found; ++i) {
                const char c = buf[i];
                if (c == '\n') comment = false;
                else if (c == '#') comment = true;
                else if (!comment && c != ' ' && c != '\t' && c != '\r' && c != ':') found = true;
            }
            if (found) break;
        }
        ::close(fd);
        return found;
    }

    std::string path_;
    bool looked_ = false;
    bool nonempty_ = false;
    std::array<std::int64_t, 5> id_{};
    std::chrono::steady_clock::time_point last_{};
};

struct loop_counters {
    std::uint64_t events = 0;
    std::array<std::uint64_t, kind_slots> by_kind{};
    std::uint64_t decode_errors = 0;
    std::array<std::uint64_t, errc_slots> errors_by_code{};
    std::uint64_t alerts = 0;
    // for --metrics (metrics.hpp)
    alert_tally alerts_by;            // alerts written, by severity and category
    std::uint64_t file_events = 0;    // named-file identities fed to the correlator
    std::uint64_t binding_events = 0; // owner-use bindings fed to the correlator
    std::uint64_t summaries = 0;      // rate-limit summaries written
    std::uint64_t reloads_ok = 0, reloads_failed = 0, reloads_without_config = 0;
    double last_reload_success = 0; // seconds since the epoch
    bool last_reload_ok = true;
};

double wall_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

// --- the in-kernel filter, user-space half (kernel_filter.hpp) ----------------
// Answers the kernel's verdict misses, turns repeat records back into open
// events, mirrors the sensitive file identities into the kernel's inode map
// and marks the sessions the correlator saw a sensitive open in as hot.

struct filter_counters {
    std::uint64_t verdicts = 0;         // verdicts written into the kernel's cache
    std::uint64_t verdicts_sensitive = 0;
    std::uint64_t verdict_errors = 0;   // map writes that failed
    std::uint64_t dir_verdicts = 0;     // directory verdicts written into the kernel
    std::uint64_t dirs_declined = 0;    // directories whose rules give no verdict (decided per file)
    std::uint64_t inode_edits = 0;      // sensitive-inode map entries added or removed
    std::uint64_t inode_errors = 0;
    std::uint64_t hot_marks = 0;        // sensitive opens marking their session hot
    std::uint64_t holder_edits = 0;     // processes marked as holding a secret, or no longer
    std::uint64_t hot_errors = 0;
    std::uint64_t bumps = 0;            // generation bumps by the sensor
};

class filter_feed {
public:
    filter_feed(bpf_loader& loader, std::size_t expander_capacity, std::size_t identities)
        : loader_(loader), enabled_(loader.filter_enabled()), expander_(expander_capacity), mirror_(identities) {}

    // Valid after the loader is gone (the final stats).
    [[nodiscard]] bool enabled() const noexcept { return enabled_; }

    // A full open record: a miss is answered at the generation it was shipped at.
    void on_full_open(const filter_tag& tag, const event& ev, const correlator& corr) {
        if (tag.filter != open_filter::miss) return;
        const auto& o = *ev.as<open_event>();
        const file_verdict v = verdict_of(corr, o.path, o.dev, o.ino);
        expander_.remember(tag.key, tag.gen, o.path, ev.truncated, v);
        // The kernel counted this open as "maybe sensitive" until we are past
        // it in the ring: a sensitive one must be marked hot before that
        // (its session here; the process itself when the correlator makes
        // it a holder, apply_changes()).
        if (v == file_verdict::sensitive) mark(corr, ev.pid, ev.ts);
        if (loader_.set_verdict(tag.key, tag.gen, v) == 0) {
            ++c_.verdicts;
            if (v == file_verdict::sensitive) ++c_.verdicts_sensitive;
        } else {
            ++c_.verdict_errors;
        }
        answer_directory(tag, ev, corr);
    }

    // The verdict on the directory of a full open (once per directory and
    // generation): its other files' opens are then decided in the kernel
    // by name, with no per-file lookup. Not for a cut path (its directory
    // is not known) nor a file at a mount's root.
    void answer_directory(const filter_tag& tag, const event& ev, const correlator& corr) {
        if (ev.truncated || tag.dir.dentry == 0) return;
        const auto& o = *ev.as<open_event>();
        const std::size_t slash = o.path.rfind('/');
        if (slash == std::string::npos) return;
        if (dirs_answered_.size() > max_dirs_answered) dirs_answered_.clear();
        auto [it, fresh] = dirs_answered_.try_emplace(tag.dir, tag.gen);
        if (!fresh && it->second == tag.gen) return;
        it->second = tag.gen;
        const std::string_view dir = slash == 0 ? std::string_view("/") : std::string_view(o.path).substr(0, slash);
        const std::optional<bw_dir_verdict> dv = dir_verdict_of(corr.compiled_rules(), dir, tag.gen);
        if (!dv) {
            ++c_.dirs_declined;
            return;
        }
        if (loader_.set_dir_verdict(tag.dir, *dv) == 0) ++c_.dir_verdicts;
        else ++c_.verdict_errors;
    }

    // A repeat record: the open event it stands for (a sensitive file), or nothing.
    [[nodiscard]] std::optional<event> on_repeat(const open_repeat& r, const correlator& corr) {
        auto x = expander_.expand(r);
        if (x.what == repeat_expander::outcome::sensitive) {
            mark(corr, r.pid, r.ts);
            return std::move(x.ev);
        }
        if (x.what == repeat_expander::outcome::unknown) {
            // No full open to take the path from: make the kernel ship the
            // next open of this file in full again.
            (void)loader_.forget_verdict(r.key);
        }
        return std::nullopt;
    }

    // The correlator remembered a sensitive open of `pid` at `ts`: its
    // session, as the correlator knows it, is hot (the kernel marked the
    // session it knows; they differ after a setsid() without exec).
    void on_sensitive_open(const correlator& corr, pid_type pid, nanoseconds ts) { mark(corr, pid, ts); }

    // After the correlator took an exec: a process marked hot that now is in
    // another session makes that session hot too (the kernel keeps the new
    // session "maybe" hot until we are past this exec record).
    void on_exec(const correlator& corr, pid_type pid, nanoseconds ts) {
        if (!enabled_) return;
        const std::optional<nanoseconds> mark = marked_.find(pid);
        if (!mark) return;
        const nanoseconds at = *mark;
        if (older_than(at, corr.rules().window, ts)) {
            marked_.erase(pid);
            return;
        }
        const process_info* p = corr.processes().find(pid);
        if (p == nullptr || p->sid <= 1) return;
        if (loader_.mark_session(p->sid, at) == 0) ++c_.hot_marks;
        else ++c_.hot_errors;
    }

    // After every event the correlator took: the processes that started or
    // stopped holding a secret (their sends are shipped whatever their
    // age), and the files that became or stopped being derived secrets
    // (every open of one is shipped: the sensitive-inode map, then a new
    // generation so no cached boring verdict of it survives). Before the
    // next record is consumed, like every mark.
    void apply_changes(correlator& corr) {
        for (const holder_change& h : corr.drain_holder_changes()) {
            if (!enabled_) continue;
            const int rc = h.holds ? loader_.set_holder(h.pid, h.since) : loader_.clear_holder(h.pid);
            if (rc == 0) ++c_.holder_edits;
            else ++c_.hot_errors;
        }
        bool bump_needed = false;
        for (const derived_change& d : corr.drain_derived_changes()) {
            if (!enabled_) continue;
            // The inode map is shared with the named files' identities.
            if (!d.derived && mirror_.sensitive(d.dev, d.ino)) continue;
            if (loader_.set_sensitive_inode(d.dev, d.ino, d.derived) == 0) ++c_.inode_edits;
            else ++c_.inode_errors;
            bump_needed = bump_needed || d.derived;
        }
        if (bump_needed) bump();
    }

    // New or changed file identities (before the correlator learns them).
    void learn_identities(const std::vector<file_event>& changed, const correlator& corr) {
        bool any = false;
        for (const file_event& f : changed) {
            apply(mirror_.learn(f.dev, f.ino, f.path, corr.compiled_rules()), corr);
            any = true;
        }
        if (any) bump();
    }

    // New rules (after corr.reload): identities and remembered verdicts
    // re-derived, the window set, every cached verdict made stale.
    void on_rules(const correlator& corr) {
        const rule_set& rules = corr.compiled_rules();
        apply(mirror_.set_capacity(std::min<std::size_t>(rules.source().limits.max_file_identities, max_inodes)),
              corr);
        apply(mirror_.reclassify(rules), corr);
        expander_.reclassify([&](std::string_view path) { return barbwire::verdict_of(rules, path, std::nullopt); });
        loader_.set_window(rules.source().window);
        bump();
    }

    [[nodiscard]] const filter_counters& counters() const noexcept { return c_; }
    [[nodiscard]] const repeat_expander& expander() const noexcept { return expander_; }
    [[nodiscard]] const identity_mirror& mirror() const noexcept { return mirror_; }
    [[nodiscard]] const mark_table& marks() const noexcept { return marked_; }

    // The kernel's sensitive-inode map holds at most this many entries.
    static constexpr std::size_t max_inodes = 65536;

private:
    // `pid` opened a sensitive file at `ts`: it and its session, as the
    // correlator knows it, are hot (the kernel marks the session it knows;
    // they differ after a setsid() without exec, or a proc_sid eviction).
    void mark(const correlator& corr, pid_type pid, nanoseconds ts) {
        if (!enabled_) return;
        const process_info* p = corr.processes().find(pid);
        if (loader_.mark_session(p != nullptr ? p->sid : 0, ts) == 0) ++c_.hot_marks;
        else ++c_.hot_errors;
        marked_.mark(pid, ts, corr.rules().window); // bounded: the expired, then the oldest go
    }

    void apply(const std::vector<identity_mirror::edit>& edits, const correlator& corr) {
        if (!enabled_) return;
        for (const auto& e : edits) {
            // The inode map is shared with the derived secrets (taint.hpp).
            if (!e.add && corr.derived().peek(e.dev, e.ino) != nullptr) continue;
            if (loader_.set_sensitive_inode(e.dev, e.ino, e.add) == 0) ++c_.inode_edits;
            else ++c_.inode_errors;
        }
    }

    // A file's verdict: its path or its inode's identity in a category that
    // counts, or a derived secret (taint).
    [[nodiscard]] static file_verdict verdict_of(const correlator& corr, std::string_view path, std::uint64_t dev,
                                                 std::uint64_t ino) {
        if (corr.rules().taint.enabled && corr.derived().peek(dev, ino) != nullptr) return file_verdict::sensitive;
        return barbwire::verdict_of(corr.compiled_rules(), corr.identities(), path, dev, ino);
    }
    void bump() {
        if (!enabled()) return;
        loader_.bump_generation();
        ++c_.bumps;
    }

    bpf_loader& loader_;
    bool enabled_ = false;
    mark_table marked_; // processes marked hot: their last sensitive open
    // Directories answered, with the generation: no second map write for them.
    std::unordered_map<barbwire::file_key, std::uint64_t, barbwire::detail::file_key_hash> dirs_answered_;
    static constexpr std::size_t max_dirs_answered = 65536;
    repeat_expander expander_;
    identity_mirror mirror_;
    filter_counters c_;
};

std::string kernel_filter_summary(const kernel_counters& k, const filter_feed& f) {
    if (!f.enabled()) return "; kernel filter: off";
    const repeat_expander_stats& x = f.expander().stats();
    std::string s = "; kernel filter: " + std::to_string(k.opens_boring) + " of " + std::to_string(k.opens_seen()) +
                    " opens dropped as boring, " + std::to_string(k.nets_cold) + " of " +
                    std::to_string(k.nets_seen()) + " connects/sends dropped as cold, " +
                    std::to_string(k.opens_repeat) + " repeats (" + std::to_string(x.expanded) + " expanded, " +
                    std::to_string(x.unknown) + " unknown), " + std::to_string(f.counters().verdicts) +
                    " verdicts, " + std::to_string(k.generation_bumps + f.counters().bumps) + " generation bumps";
    s += "; shed under load: " + std::to_string(k.shed()) + " (open " + std::to_string(k.shed_open) + ", repeat " +
         std::to_string(k.shed_repeat) + ", net " + std::to_string(k.shed_net) + ")";
    return s;
}

nlohmann::json kernel_json(const kernel_counters& k) {
    nlohmann::json drops = nlohmann::json::object();
    for (std::uint16_t kind = BW_EVENT_EXEC; kind <= BW_EVENT_KIND_MAX; ++kind)
        drops[std::string(detail::kind_name(kind))] = k.drops_by_kind[kind];
    return {{"drops", k.drops},
            {"drops_by_kind", drops},
            {"shed",
             {{"open", k.shed_open},
              {"repeat", k.shed_repeat},
              {"net", k.shed_net},
              {"write", k.shed_write},
              {"total", k.shed()}}},
            {"opens",
             {{"seen", k.opens_seen()},
              {"boring_dropped", k.opens_boring},
              {"boring_by",
               {{"directory", k.opens_boring_dir},
                {"recent", k.opens_boring_recent},
                {"front", k.opens_boring_front},
                {"verdict_cache", k.opens_boring_cache}}},
              {"miss", k.opens_miss},
              {"repeat", k.opens_repeat},
              {"sensitive_inode", k.opens_sensitive_inode},
              {"sensitive", k.opens_sensitive},
              {"unfiltered", k.opens_unfiltered},
              {"pending_failed", k.pending_failed}}},
            {"opens_by_path", {{"compat", k.opens_compat}, {"io_uring", k.opens_io_uring}}},
            {"script_lookups", k.script_lookups},
            {"nets",
             {{"seen", k.nets_seen()},
              {"cold_dropped", k.nets_cold},
              {"shipped", k.nets_shipped},
              {"sends_folded", k.sends_folded},
              {"sends_nodest", k.sends_nodest}}},
            {"writes", {{"shipped", k.writes_shipped}, {"folded", k.writes_folded}}},
            {"generation_bumps", k.generation_bumps}};
}

nlohmann::json filter_json(const filter_feed& f) {
    const filter_counters& c = f.counters();
    const repeat_expander_stats& x = f.expander().stats();
    return {{"enabled", f.enabled()},
            {"verdicts", c.verdicts},
            {"verdicts_sensitive", c.verdicts_sensitive},
            {"verdict_errors", c.verdict_errors},
            {"dir_verdicts", c.dir_verdicts},
            {"dirs_declined", c.dirs_declined},
            {"repeats_expanded", x.expanded},
            {"repeats_boring", x.boring},
            {"repeats_unknown", x.unknown},
            {"expander_size", f.expander().size()},
            {"expander_capacity", f.expander().capacity()},
            {"expander_evictions", x.evictions},
            {"sensitive_inodes", f.mirror().sensitive_count()},
            {"inode_edits", c.inode_edits},
            {"inode_errors", c.inode_errors},
            {"hot_marks", c.hot_marks},
            {"marked_processes", f.marks().size()},
            {"mark_evictions", f.marks().evictions()},
            {"holder_edits", c.holder_edits},
            {"hot_errors", c.hot_errors},
            {"generation_bumps", c.bumps}};
}

filter_figures filter_metrics(const filter_feed& f) {
    const filter_counters& c = f.counters();
    const repeat_expander_stats& x = f.expander().stats();
    filter_figures m;
    m.enabled = f.enabled();
    m.verdicts = c.verdicts;
    m.verdicts_sensitive = c.verdicts_sensitive;
    m.verdict_errors = c.verdict_errors;
    m.dir_verdicts = c.dir_verdicts;
    m.dirs_declined = c.dirs_declined;
    m.repeats_expanded = x.expanded;
    m.repeats_boring = x.boring;
    m.repeats_unknown = x.unknown;
    m.expander_size = f.expander().size();
    m.expander_capacity = f.expander().capacity();
    m.expander_evictions = x.evictions;
    m.sensitive_inodes = f.mirror().sensitive_count();
    m.inode_edits = c.inode_edits;
    m.inode_errors = c.inode_errors;
    m.hot_marks = c.hot_marks;
    m.holder_edits = c.holder_edits;
    m.hot_errors = c.hot_errors;
    m.bumps = c.bumps;
    return m;
}

std::string shed_notice(std::uint64_t open, std::uint64_t repeat, std::uint64_t net) {
    std::string what;
    const auto add = [&](std::uint64_t n, const char* name) {
        if (n == 0) return;
        if (!what.empty()) what += ", ";
        what += std::to_string(n) + " " + name;
    };
    add(open, open == 1 ? "open" : "opens");
    add(repeat, repeat == 1 ? "repeated open" : "repeated opens");
    add(net, net == 1 ? "connect/send" : "connects/sends");
    return "NOTICE: kernel shed " + what +
           " (ring buffer past its high-water mark; fork, exec and exit kept, so process lineage is intact); "
           "raise --ring-size";
}

std::string stats_line(const loop_counters& c, const kernel_counters& k, const hash_cache_stats& h,
                       std::size_t named_known, std::uint64_t named_reported, double seconds,
                       std::size_t seed_timeouts) {
    char secs[32];
    std::snprintf(secs, sizeof(secs), "%.1f", seconds);
    std::string s = std::string("stopped after ") + secs + " s: " + plural(c.events, "event", "events") + " (";
    bool first = true;
    for (const event_kind kind : all_kinds) {
        if (!first) s += ", ";
        first = false;
        s += std::string(to_string(kind)) + " " + std::to_string(c.by_kind[static_cast<std::size_t>(kind)]);
    }
    s += "), " + plural(c.decode_errors, "decode error", "decode errors");
    if (c.decode_errors > 0) {
        s += " (";
        first = true;
        for (std::size_t i = 0; i < errc_slots; ++i) {
            if (c.errors_by_code[i] == 0) continue;
            if (!first) s += ", ";
            first = false;
            s += std::string(to_string(static_cast<errc>(i))) + " " + std::to_string(c.errors_by_code[i]);
        }
        s += ")";
    }
    s += ", " + plural(k.drops, "kernel drop", "kernel drops");
    if (k.drops > 0) {
        s += " (";
        first = true;
        for (const event_kind kind : all_kinds) {
            const auto n = k.drops_by_kind[static_cast<std::size_t>(kind)];
            if (n == 0) continue;
            if (!first) s += ", ";
            first = false;
            s += std::string(to_string(kind)) + " " + std::to_string(n);
        }
        s += ")";
    }
    s += ", " + plural(c.alerts, "alert", "alerts");
    s += "; exe sha256: " + std::to_string(h.misses) + " hashed, " + std::to_string(h.hits) + " cached, " +
         plural(h.evictions, "eviction", "evictions") + ", " + std::to_string(h.failures + h.too_large) +
         " unknown";
    if (h.too_large > 0) s += " (" + std::to_string(h.too_large) + " too large)";
    if (h.remote + h.unknown_fs > 0) {
        // Not counted above: never touched (a call there could hang the sensor).
        s += ", " + std::to_string(h.remote + h.unknown_fs) + " not examined (" + std::to_string(h.remote) +
             " on FUSE or network filesystems, " + std::to_string(h.unknown_fs) + " on unknown filesystems)";
    }
    s += "; seed timeouts: " + std::to_string(seed_timeouts);
    s += "; named files: " + std::to_string(named_known) + " known, " +
         plural(named_reported, "identity", "identities") + " reported";
    return s;
}

// The final line's containers part: how many, and what the runtimes' sockets answered.
std::string containers_summary(const container_stats& c, const runtime_api& api) {
    std::string s = "; containers: " + std::to_string(c.containers) + " seen, " + std::to_string(c.verified) +
                    " verified";
    if (!api.enabled()) return s + "; runtime API: off";
    const runtime_api_stats r = api.stats();
    s += "; runtime API: " + std::to_string(r.requests) + " asked, " + std::to_string(r.answers) + " answered, " +
         std::to_string(r.failures) + " unanswered, " + std::to_string(r.queue_full) + " dropped (queue full)";
    if (r.mismatched > 0) s += ", " + std::to_string(r.mismatched) + " answers for another id ignored";
    if (r.untrusted > 0) s += ", " + std::to_string(r.untrusted) + " untrusted sockets skipped";
    return s;
}

nlohmann::json containers_json(const container_stats& c, const runtime_api& api) {
    const runtime_api_stats r = api.stats();
    return {{"lookups", c.lookups},
            {"from_proc", c.from_proc},
            {"from_cgroup_id", c.from_cgroup_id},
            {"unresolved", c.unresolved},
            {"containers", c.containers},
            {"verified", c.verified},
            {"cache_clears", c.cache_clears},
            {"republished", c.republished},
            {"runtime_api",
             {{"enabled", api.enabled()},
              {"requests", r.requests},
              {"answers", r.answers},
              {"failures", r.failures},
              {"mismatched", r.mismatched},
              {"untrusted", r.untrusted},
              {"queue_full", r.queue_full}}}};
}

constexpr std::uint64_t max_bad_records_shown = 10;
constexpr auto poll_timeout = std::chrono::milliseconds{100};
constexpr auto trace_flush_interval = std::chrono::milliseconds{100};
constexpr auto drop_check_interval = std::chrono::seconds{1};
constexpr std::size_t trace_flush_bytes = 1u << 20;
constexpr auto named_files_interval = std::chrono::seconds{10};
// At exit, how long the queued outputs may take to send what they hold.
constexpr auto sink_close_grace = std::chrono::milliseconds{5000};

} // namespace

int run_sensor(const run_options& opts) {
    // 0. Memory. glibc raises its mmap threshold each time a large block is
    // freed, so after start-up's big transient buffers (BPF object
    // relocation, the package database, /proc seeding) later large blocks
    // come from the heap and a freed one stays resident behind live ones:
    // 7-8 MiB of the sensor's RSS was such free heap. A fixed threshold
    // (which also fixes the trim threshold) returns every large block to the
    // kernel when it is freed; the start-up's small leftovers are trimmed
    // once, before the ready line (docs/performance.md, "Memory").
    (void)::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    // 1. Preflight. Privileges come first: an unprivileged user gets exactly
    // that one line. The user's own inputs (rules, output files) are checked
    // before the BPF programs are loaded.
    if (auto r = check_privileges(); !r) {
        errln(r.error());
        return 2;
    }
    auto cfg = load_config(opts.config);
    if (!cfg) {
        errln(cfg.error().message);
        return 2;
    }
    auto bls = baseline_session::open(opts.baseline); // --baseline FILE (run, learn)
    if (!bls) {
        errln(bls.error().message);
        return 2;
    }
    bls->adjust(*cfg); // learn: every correlation (alert_threshold 0)
    auto out = alert_output::open(opts.format, std::nullopt); // standard output; --output is a queued sink
    if (!out) {
        errln(out.error().message);
        return 2;
    }
    // The queued outputs (--output, --syslog, --journal, --webhook): each
    // with its own queue and thread, started now (docs/outputs.md).
    auto opened_sinks = output_sinks::open(opts.sinks);
    if (!opened_sinks) {
        errln(opened_sinks.error());
        return 2;
    }
    std::unique_ptr<output_sinks> sinks = std::move(*opened_sinks);
    std::optional<trace_writer> writer;
    if (opts.record) {
        auto w = trace_writer::open(*opts.record);
        if (!w) {
            errln(w.error());
            return 2;
        }
        writer.emplace(std::move(*w));
    }
    // --metrics: bound now, so a bad or busy address is one line before
    // anything on the system changes; /healthz says "starting" until the
    // loop first drains the ring buffer.
    std::unique_ptr<metrics_server> metrics;
    if (opts.metrics) {
        auto m = metrics_server::start(*opts.metrics);
        if (!m) {
            errln(m.error());
            return 2;
        }
        metrics = std::move(*m);
        if (!opts.metrics->loopback())
            errln("NOTICE: serving metrics on " + opts.metrics->text() +
                  ", beyond loopback: anyone who reaches it sees the sensor's figures (docs/metrics.md)");
    }
    const double started_at = wall_seconds();
    if (auto r = check_kernel(); !r) {
        errln(r.error());
        return 2;
    }
    if (auto r = check_btf(); !r) {
        errln(r.error());
        return 2;
    }

    install_signals();

    // 2. The correlator, with the clock the kernel stamps events with.
    const monotonic_clock clk;
    correlator corr(std::move(*cfg), clk);
    bls->attach(corr); // run --baseline: applied inside the correlator, before rate limiting
    const std::string rules_name = opts.config ? *opts.config : std::string("built-in");

    // 3. Load and attach. From here on every new process is seen as events.
    loader_options lo;
    lo.ring_bytes = opts.ring_bytes;
    lo.self_tgid = static_cast<std::uint32_t>(::getpid());
    lo.verbose = opts.verbose;
    lo.kernel_filter = opts.kernel_filter;
    lo.verdict_cache_entries = opts.verdict_cache_entries;
    lo.window = corr.rules().window;
    auto loaded = bpf_loader::open_and_attach(lo);
    if (!loaded) {
        errln(loaded.error().message);
        return 2;
    }
    std::unique_ptr<bpf_loader> loader = std::move(*loaded);
    for (const std::string& n : loader->notices()) errln("NOTICE: " + n);
    if (opts.verbose) {
        std::string line = "verifier: instructions processed per program (limit " +
                           std::to_string(bpf_loader::verifier_insn_limit) + "):";
        for (const auto& f : loader->programs()) line += " " + f.name + " " + std::to_string(f.verified_insns);
        errln(line);
    }
    // Attached: from here on the sensor keeps only what the steady state
    // needs (privileges.hpp): three capabilities, no_new_privs, seccomp.
    auto dropped = drop_privileges(true);
    if (!dropped) {
        errln(dropped.error() + "; stopping rather than running with every privilege");
        return 1;
    }
    // Only now the outputs' and the metrics server's threads: they start
    // with what is left, not with what the process had.
    sinks->start_threads();
    if (metrics) metrics->serve();
    // Foreign code: the interpreters whose script argument is the program,
    // and whether the system-wide preload file names anything.
    loader->set_interpreters(corr.rules().interpreters);
    preload_watch preload;
    if (preload.changed()) loader->set_preload_file(preload.nonempty());
    // The kernel filter's user-space half. A repeat follows its full open
    // within one ring's worth of records: remember that many full opens.
    filter_feed filter(*loader, std::max<std::size_t>(65536, opts.ring_bytes / sizeof(bw_open_event)),
                       std::min<std::size_t>(corr.rules().limits.max_file_identities, filter_feed::max_inodes));

    // 4. Seed the process table from /proc, after attaching, so no process
    // falls in a gap: anything that changes during the scan arrives as an
    // event too, and events are applied after the seed (the event wins).
    // Executables are hashed here, before anything enters the correlator
    // (and the trace), so alerts and recordings carry process.sha256.
    hash_cache hasher;
    // Identity (docs/design.md, "Issue 13: identity"): the host's mount
    // namespace through init's root, and dpkg's record of what it installed.
    bool host_ns = true;
    if (struct stat root_sb {}; ::stat("/proc/1/root/", &root_sb) != 0) {
        errln("NOTICE: /proc/1/root cannot be examined (" + std::string(std::strerror(errno)) +
              "); the host's files are those of the sensor's own mount namespace");
        hasher.set_host_root("");
        host_ns = false;
    }
    // Which device is which filesystem (mounts.hpp): a file on a FUSE or
    // network filesystem is never touched by the hasher, whose calls run on
    // the event loop (docs/design.md, "Reads that may never return").
    mount_table_options mto;
    mto.host = host_ns;
    mount_table mounts(std::move(mto));
    hasher.set_mounts(&mounts);
    // Said once per filesystem type: an executable or script not examined.
    std::unordered_map<std::string, bool> unexamined_said;
    const auto note_unexamined = [&](const std::string& fs, std::string_view path, pid_type pid) {
        if (fs.empty() || unexamined_said.size() >= 64 || !unexamined_said.emplace(fs, true).second) return;
        const bool unknown = fs == "unknown";
        errln("NOTICE: " + std::string(path) + " (pid " + std::to_string(pid) + ") is on " +
              (unknown ? std::string("a filesystem no mount table lists") : "a " + fs + " filesystem") +
              ": executables and scripts there are not hashed or examined (a call there could wait for ever), "
              "so their identity is unknown and no trust applies to them (reported once per filesystem type)");
    };
    package_db packages;
    // dpkg replaces an md5sums file by rename, so the directory's mtime
    // changes with every install, upgrade and removal: a reload that finds
    // it unchanged keeps the database (reading it again costs about half a
    // second on the event loop, docs/design.md).
    std::optional<std::pair<std::int64_t, std::int64_t>> dpkg_mtime;
    const auto load_packages = [&] {
        const auto t = std::chrono::steady_clock::now();
        const std::string root = hasher.host_root();
        struct stat info_sb {};
        std::optional<std::pair<std::int64_t, std::int64_t>> now_mtime;
        if (::stat((root + "/var/lib/dpkg/info").c_str(), &info_sb) == 0)
            now_mtime = std::pair<std::int64_t, std::int64_t>{info_sb.st_mtim.tv_sec, info_sb.st_mtim.tv_nsec};
        if (now_mtime && dpkg_mtime == now_mtime) return; // unchanged since the last read
        dpkg_mtime = now_mtime;
        char link[64] = {};
        const ssize_t n = ::readlink((root + "/bin").c_str(), link, sizeof(link) - 1);
        const std::string_view bin_target(link, n > 0 ? static_cast<std::size_t>(n) : 0);
        packages = package_db::load(root + "/var/lib/dpkg/info", bin_target == "usr/bin" || bin_target == "/usr/bin");
        hasher.set_packages(&packages);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t);
        if (packages.stats().unreadable_dir) {
            errln("NOTICE: no dpkg database (" + root + "/var/lib/dpkg/info): no executable is package-verified, "
                  "so trust by path holds for none (pin a sha256 instead)");
        } else if (opts.verbose) {
            errln("dpkg: " + std::to_string(packages.size()) + " files of " + std::to_string(packages.packages()) +
                  " packages, " + std::to_string(packages.memory_bytes() / 1024) + " KiB, read in " +
                  std::to_string(ms.count()) + " ms");
        }
    };
    load_packages();
    // Owner use (docs/rules.md): the servers credential files name (owner_files.hpp).
    owner_binder owner;
    // Containers (containers.hpp): each exec's and each seeded process's.
    container_resolver containers;
    // Labels from the runtimes' sockets, asked off the event loop (runtime_api.hpp).
    runtime_api::options rao;
    rao.sockets = opts.runtime_sockets ? *opts.runtime_sockets : default_runtime_sockets();
    runtime_api runtime(std::move(rao));
    const nanoseconds seed_ts = monotonic_now();
    // The reads of each process's memory (cmdline) and executable run on a
    // worker with a deadline (deadline_worker.hpp): a process whose argv page
    // is a file on a FUSE filesystem that never answers costs 250 ms, not the
    // sensor. Its thread starts now, under the privileges left after the drop.
    deadline_worker proc_reads(deadline_worker::options{std::chrono::milliseconds(250), 4});
    proc_scan scan = scan_proc(seed_ts, "/proc", &proc_reads);
    const auto pid_list = [](const std::vector<pid_type>& pids) {
        std::string s;
        for (std::size_t i = 0; i < pids.size() && i < 16; ++i) s += (i ? ", " : "") + std::to_string(pids[i]);
        if (pids.size() > 16) s += " and " + std::to_string(pids.size() - 16) + " more";
        return s;
    };
    if (!scan.timed_out.empty()) {
        errln("NOTICE: seeding: reading the command line or executable of " +
              plural(scan.timed_out.size(), "process", "processes") + " did not finish within 250 ms (pid " +
              pid_list(scan.timed_out) + "): seeded without executable and argv (is its memory or executable "
              "on a FUSE or network filesystem that does not answer?)");
    }
    if (!scan.refused.empty()) {
        errln("NOTICE: seeding: " + plural(scan.refused.size(), "process", "processes") +
              " seeded without executable and argv, not read because " +
              std::to_string(proc_reads.config().max_abandoned) + " earlier reads are still blocked (pid " +
              pid_list(scan.refused) + ")");
    }
    for (auto& sp : scan.processes) {
        process_info& p = sp.info;
        bool known = true;
        p.container = containers.resolve(p.pid, 0, known);
        if (p.container) runtime.want(*p.container);
        if (!p.exe.empty()) {
            exe_identity id = hasher.exe_identify(p.pid, p.exe, p.exe_dev, p.exe_ino);
            note_unexamined(id.unexamined_fs, p.exe, p.pid);
            p.exe_sha256 = std::move(id.sha256);
            if (id.uid) p.exe_uid = id.uid; // else keep what the /proc scan's stat found
            if (id.mode) p.exe_mode = id.mode;
            p.exe_host_file = id.host_file;
            p.exe_package = std::move(id.package);
        }
    }
    if (writer) {
        writer->comment("barbwire " BW_VERSION_STRING " record; rules: " + rules_name + "; " +
                        std::to_string(scan.processes.size()) + " processes seeded from /proc at ts " +
                        std::to_string(seed_ts.count()) + ", then kernel events");
    }
    for (auto& sp : scan.processes) {
        (void)loader->seed_session(sp.info.pid, sp.info.sid); // the kernel filter's view of its session
        if (writer) writer->add(seed_event(sp.info, seed_ts, sp.truncated));
        (void)corr.processes().seed(std::move(sp.info));
    }
    // A replay of the recording applies the seed lines as events, and the
    // first one runs the correlator's housekeeping at seed_ts; do the same
    // here so both keep the same housekeeping schedule.
    if (!scan.processes.empty()) corr.expire(seed_ts);
    if (opts.verbose && scan.skipped > 0) {
        errln(std::to_string(scan.skipped) + " /proc entries skipped while seeding (exited during the scan)");
    }

    loop_counters counts;
    bool stop = false;
    bool stdout_closed = false;
    bool trace_failed = false;
    int rc = 0;

    // Standard output failed (closed, EPIPE, ...): it is written no more.
    // Detection goes on while another output works; with none left, the
    // sensor stops with status 1 so that a supervisor restarts it (a stop
    // with status 0 is what `Restart=on-failure` takes for a wanted one).
    const auto stdout_failed = [&] {
        const std::string why = std::strerror(errno);
        if (stdout_closed) return;
        stdout_closed = true;
        std::clearerr(stdout);
        if (!sinks->empty() && sinks->any_working()) {
            errln("NOTICE: standard output failed (" + why + "); alerts go on to the other outputs (" +
                  sinks->summary() + ")");
        } else {
            errln("standard output failed (" + why + ") and no other output works; stopping with status 1");
            stop = true;
            rc = 1;
        }
    };
    // An alert to the queued outputs (formatted once, queued, never
    // waited for) and to standard output. A failing queued output loses
    // only its own messages (counted, and said in a NOTICE).
    const auto emit = [&](alert& a) {
        if (!bls->admit(a)) return; // learn: learned, not printed
        // The sender may hold a copy of its container from before the
        // runtime's API answered: the alert carries the newest.
        if (a.container) {
            if (const shared_container cur = containers.current(a.container->id);
                cur && cur->runtime == a.container->runtime && !(*cur == *a.container))
                a.container = *cur;
            // A container not asked yet (its request was dropped, or it was
            // seeded and never execs): its later alerts get the labels.
            runtime.want(*a.container);
        }
        // A path the container sees: the host's path too, where it can be told.
        if (a.container && a.file.in_container && a.file.host_path.empty()) {
            if (auto hp = containers.host_path(*a.container, a.reader.pid, a.file.path)) a.file.host_path = std::move(*hp);
        }
        ++counts.alerts;
        counts.alerts_by.count(a.severity, a.file.category);
        if (!sinks->empty()) sinks->publish(std::make_shared<const output_message>(make_message(a, wall_ns_of(a.ts))));
        if (stdout_closed) {
            sinks->note_stdout(false);
            return;
        }
        const bool ok = out->write(a);
        sinks->note_stdout(ok);
        if (!ok && std::ferror(stdout)) stdout_failed();
    };

    // Summaries of ended quiet periods (rate limiting, dedup.hpp): printed
    // as they come, before any alert of the event that ended them.
    const auto emit_summaries = [&] {
        for (const incident_summary& s : corr.drain_summaries()) {
            if (stop) continue;
            if (!sinks->empty()) sinks->publish(std::make_shared<const output_message>(make_message(s, wall_ns_of(s.ts))));
            ++counts.summaries;
            if (stdout_closed) {
                sinks->note_stdout(false);
                continue;
            }
            const bool ok = out->write(s);
            sinks->note_stdout(ok);
            if (!ok && std::ferror(stdout)) stdout_failed();
        }
    };

    // 5. The files the rules name, by device and inode (file_names.hpp):
    // each new or changed identity enters the correlator (and the trace) as
    // a file event, so an open of that inode under another name (a hard
    // link) matches as an open of the named path. Done now, so the first
    // kernel event already sees them; after every reload; every 10 s.
    file_names named;
    std::uint64_t named_reported = 0;
    std::uint64_t named_refreshes = 0;
    std::uint64_t named_errors = 0; // homes and files that could not be examined, summed over refreshes
    bool named_over_capacity = false;
    const auto refresh_named = [&] {
        file_names_update up = named.refresh(corr.rules());
        ++named_refreshes;
        named_errors += named.last().errors;
        for (const std::string& n : up.notices) errln("NOTICE: " + n);
        const std::size_t capacity = corr.rules().limits.max_file_identities;
        if (named.size() > capacity && !named_over_capacity) {
            named_over_capacity = true;
            errln("NOTICE: the rules name " + std::to_string(named.size()) + " files, more than limits." +
                  "max_file_identities (" + std::to_string(capacity) + "); the least used are matched by path " +
                  "only; raise the limit in the rules file");
        }
        if (up.changed.empty()) return;
        // The kernel's sensitive-inode map first, then a new generation, then
        // the correlator: no cached verdict older than the new identities survives.
        filter.learn_identities(up.changed, corr);
        const nanoseconds ts = monotonic_now();
        for (file_event& f : up.changed) {
            event ev;
            ev.ts = ts;
            ev.body = std::move(f);
            ++named_reported;
            ++counts.file_events;
            if (writer) writer->add(ev);
            if (stop) continue;
            auto a = corr.process(ev);
            emit_summaries();
            if (a) emit(*a);
        }
    };
    refresh_named();
    if (opts.verbose) {
        const file_names_refresh_stats& ns = named.last();
        errln("named files: " + std::to_string(ns.files) + " found among " + std::to_string(ns.homes) +
              " home directories (" + std::to_string(ns.homes_missing) + " missing, " +
              std::to_string(ns.homes_skipped) + " skipped) with " + std::to_string(ns.probes) +
              " filesystem calls");
    }

    // What was lost so far is the baseline of the loss notices; taken before
    // the ready line, so that nothing lost after it goes unreported.
    std::uint64_t drops_reported = loader->counters().drops;
    kernel_counters shed_reported = loader->counters();

    // 6. Ready. What start-up freed goes back to the kernel first.
    (void)::malloc_trim(0);
    std::string ready = "ready: " + std::to_string(loader->attached_programs()) + " programs attached, " +
                        std::to_string(scan.processes.size()) + " processes seeded, " +
                        plural(named.size(), "named file", "named files") + ", rules: " + rules_name;
    if (writer) ready += ", recording to " + writer->path();
    ready += bls->describe();
    ready += dropped->describe();
    errln(ready);

    // 7. The loop.
    if (writer) {
        if (auto r = writer->flush(); !r) {
            errln(r.error());
            trace_failed = stop = true;
            rc = 1;
        }
    }

    // A binding event (owner use) into the trace and the correlator.
    const auto feed_binding = [&](event b) {
        if (writer) writer->add(b);
        if (stop) return;
        ++counts.binding_events;
        auto a = corr.process(b);
        emit_summaries();
        if (a) emit(*a);
    };

    kernel_record record; // every record is decoded into it: its strings keep their capacity
    const auto on_record = [&](std::span<const std::byte> bytes) {
        try {
            auto decoded = decode_record_into(bytes, record);
            if (!decoded) {
                ++counts.decode_errors;
                const auto code = static_cast<std::size_t>(decoded.error().code);
                ++counts.errors_by_code[code < errc_slots ? code : 0];
                if (opts.verbose && counts.decode_errors <= max_bad_records_shown) {
                    errln("skipped a bad ring-buffer record (" + std::to_string(bytes.size()) +
                          " bytes): " + decoded.error().message);
                }
                return;
            }
            const kernel_record* rec = &record;
            std::optional<event> expanded;
            event* ev = nullptr;
            if (const open_repeat* r = rec->as_repeat()) {
                expanded = filter.on_repeat(*r, corr); // a sensitive file's repeat becomes its open event
                if (!expanded) return;                 // a boring file's (or an unknown key's: counted)
                ev = &*expanded;
            } else {
                ev = record.as_event();
                if (ev->kind() == event_kind::open) filter.on_full_open(rec->tag, *ev, corr);
            }
            ++counts.events;
            if (auto* x = ev->as<exec_event>()) {
                exe_identity id = hasher.exe_identify(ev->pid, x->exe, x->exe_dev, x->exe_ino);
                note_unexamined(id.unexamined_fs, x->exe, ev->pid);
                x->exe_sha256 = std::move(id.sha256);
                x->exe_uid = id.uid;
                x->exe_mode = id.mode;
                x->exe_host_file = id.host_file;
                x->exe_package = std::move(id.package);
                bool known = true;
                x->container = containers.resolve(ev->pid, x->cgroup_id, known);
                if (x->container) runtime.want(*x->container); // a hash lookup once asked
                if (!known) {
                    // Gone before we looked, in a cgroup not seen before:
                    // it keeps what it inherited at fork (its own entry's, or
                    // its parent's), as the kernel's fork did.
                    const process_info* self = corr.processes().find(ev->pid);
                    const process_info* parent = corr.processes().find(x->ppid);
                    x->container = self != nullptr ? self->container : parent != nullptr ? parent->container
                                                                                          : shared_container{};
                }
            } else if (auto* sc = ev->as<script_event>()) {
                // The script the interpreter opened: only while it is still
                // that inode, the host's file or the process's view of it.
                verified_file v = hasher.verify_file(sc->script.path, sc->script.dev, sc->script.ino, ev->pid);
                note_unexamined(v.unexamined_fs, sc->script.path, ev->pid);
                sc->script.sha256 = std::move(v.sha256);
                sc->script.uid = v.uid;
                sc->script.mode = v.mode;
                sc->script.package = std::move(v.package);
                sc->script.host_file = v.host_file;
            }
            const auto kind = static_cast<std::size_t>(ev->kind());
            if (kind < kind_slots) ++counts.by_kind[kind];
            if (writer) writer->add(*ev);
            if (stop) return; // stdout is gone: keep draining, alert no more
            const std::uint64_t sensitive_before = corr.stats().sensitive_opens;
            auto a = corr.process(*ev);
            if (corr.stats().sensitive_opens != sensitive_before) {
                filter.on_sensitive_open(corr, ev->pid, ev->ts);
                // A credential file that names its servers: bind them now,
                // before any later event of the ring reaches the correlator.
                if (auto b = owner.on_sensitive_open(*ev, corr)) feed_binding(std::move(*b));
            }
            if (ev->kind() == event_kind::exec) filter.on_exec(corr, ev->pid, ev->ts);
            filter.apply_changes(corr);
            emit_summaries();
            if (a) emit(*a);
        } catch (const std::exception& e) {
            // Only allocation failure can get here; never unwind through libbpf.
            errln(std::string("internal error while handling an event: ") + e.what() + "; stopping");
            rc = 1;
            stop = true;
        }
    };

    // --metrics: the loop's figures, copied into a snapshot the HTTP side
    // renders (metrics_server.hpp); once a second and at stop.
    counts.last_reload_success = started_at;
    const auto publish_metrics = [&](const kernel_counters& k) {
        if (!metrics) return;
        sensor_figures f;
        f.version = BW_VERSION_STRING;
        f.command = opts.command;
        f.ring_bytes = opts.ring_bytes;
        for (std::size_t i = 0; i < f.events_by_kind.size() && i < counts.by_kind.size(); ++i)
            f.events_by_kind[i] = counts.by_kind[i];
        f.file_events = counts.file_events;
        f.binding_events = counts.binding_events;
        for (std::size_t i = 0; i < f.decode_errors_by_code.size() && i < counts.errors_by_code.size(); ++i)
            f.decode_errors_by_code[i] = counts.errors_by_code[i];
        f.kernel = k;
        f.filter = filter_metrics(filter);
        f.correlator = corr.stats();
        f.alerts = counts.alerts_by;
        f.summaries = counts.summaries;
        for (const output_status& o : sinks->status())
            f.outputs.push_back(output_row{o.name, o.kind, o.sent, o.dropped, o.failed, o.queued});
        const hash_cache_stats& hs = hasher.stats();
        f.hashes = {hs.hits,         hs.misses,         hs.evictions, hs.failures, hs.too_large,
                    hasher.size(),   hasher.capacity(), hs.remote,    hs.unknown_fs};
        const deadline_worker_stats ws = proc_reads.stats();
        f.seeding = {scan.processes.size(), scan.skipped, scan.timed_out.size(), scan.refused.size(),
                     ws.done,               ws.timeouts,  ws.skipped,            ws.abandoned_alive};
        const owner_binder_stats& os = owner.stats();
        const resolver_stats rs = owner.resolver();
        f.owner = {os.files_parsed, os.read_failures, os.bindings, os.late_bindings, os.successor_bindings,
                   rs.lookups,      rs.failures,      rs.queue_full, rs.cache_hits};
        const container_stats& cs = containers.stats();
        const runtime_api_stats ras = runtime.stats();
        f.containers = {cs.containers, cs.verified, runtime.enabled(), ras.requests, ras.answers,
                        ras.failures, ras.mismatched, ras.untrusted, ras.queue_full};
        f.named_files = named.size();
        f.named_refreshes = named_refreshes;
        f.named_errors = named_errors;
        f.reloads_ok = counts.reloads_ok;
        f.reloads_failed = counts.reloads_failed;
        f.reloads_without_config = counts.reloads_without_config;
        f.last_reload_success_seconds = counts.last_reload_success;
        f.last_reload_ok = counts.last_reload_ok;
        metrics->publish(collect(f));
    };
    if (metrics) {
        publish_metrics(loader->counters());
        metrics->set_phase(sensor_phase::running);
    }

    const auto t0 = std::chrono::steady_clock::now();
    auto last_flush = t0;
    auto last_drop_check = t0;
    auto last_named = t0;
    const auto report_shed = [&](const kernel_counters& k) {
        if (k.shed() <= shed_reported.shed()) return;
        errln(shed_notice(k.shed_open - shed_reported.shed_open, k.shed_repeat - shed_reported.shed_repeat,
                          k.shed_net - shed_reported.shed_net));
        shed_reported = k;
    };

    // learn: the baseline is merged into its file on this period and on
    // SIGHUP, so that a kill during a days-long learn loses at most one period.
    constexpr auto baseline_checkpoint_interval = std::chrono::seconds{60};
    auto last_checkpoint = std::chrono::steady_clock::now();
    const auto checkpoint_baseline = [&](bool say) {
        if (auto c = bls->checkpoint(); !c) errln("NOTICE: " + c.error());
        else if (*c && (say || opts.verbose)) errln(**c);
    };

    while (!stop && g_stop_signal == 0 &&
           !(opts.learn_for && std::chrono::steady_clock::now() - t0 >= *opts.learn_for)) {
        auto n = loader->poll(poll_timeout, on_record);
        if (!n) {
            errln(n.error().message);
            rc = 1;
            break;
        }
        if (metrics) metrics->drained();
        if (g_reload != 0) {
            g_reload = 0;
            if (bls->learning()) checkpoint_baseline(true); // learn: keep what was learned so far
            load_packages(); // dpkg installs and upgrades change what is verified
            if (!opts.config) {
                ++counts.reloads_without_config;
                errln("SIGHUP: no --config file to reload; keeping the built-in rules");
            } else if (auto fresh = load_config(opts.config)) {
                ++counts.reloads_ok;
                counts.last_reload_ok = true;
                counts.last_reload_success = wall_seconds();
                bls->adjust(*fresh);
                corr.reload(std::move(*fresh));
                filter.on_rules(corr); // new verdicts, identities and window in the kernel
                loader->set_interpreters(corr.rules().interpreters);
                if (preload.changed(true)) loader->set_preload_file(preload.nonempty());
                errln("config reloaded from " + *opts.config);
                if (writer) writer->comment("rules reloaded from " + *opts.config + " at ts " +
                                            std::to_string(monotonic_now().count()));
                refresh_named(); // the new rules may name other files
                last_named = std::chrono::steady_clock::now();
            } else {
                ++counts.reloads_failed;
                counts.last_reload_ok = false;
                errln("config reload failed, keeping the previous rules: " + fresh.error().message);
            }
        }
        if (g_reopen != 0) {
            g_reopen = 0;
            if (sinks->reopen()) errln("SIGUSR1: reopening " + *opts.sinks.file);
            else errln("SIGUSR1: no --output file to reopen");
        }
        if (preload.changed()) loader->set_preload_file(preload.nonempty());
        // The kernel's cold checks read no clock once every time mark is
        // older than the window (bw_hot_summary.time_hot).
        (void)loader->cool_down(monotonic_now());
        // Housekeeping by the clock. While recording, the correlator keeps
        // only its own event-time housekeeping, which a replay repeats
        // exactly; clock-driven expiry could make replayed alerts differ.
        if (!writer) corr.tick();
        emit_summaries();
        // Answers to credential files' server names that came since the last poll.
        for (event& b : owner.poll(corr, monotonic_now())) feed_binding(std::move(b));
        // Runtime API answers: a new copy of each container, published.
        for (const runtime_answer& ans : runtime.take())
            (void)containers.republish(ans.info.id, [&ans](container_info& c) { apply_runtime_answer(c, ans); });

        auto now = std::chrono::steady_clock::now();
        if (bls->learning() && now - last_checkpoint >= baseline_checkpoint_interval) {
            checkpoint_baseline(false);
            last_checkpoint = now = std::chrono::steady_clock::now();
        }
        if (now - last_named >= named_files_interval) {
            refresh_named();
            last_named = now = std::chrono::steady_clock::now();
        }
        if (writer && (writer->pending() >= trace_flush_bytes || now - last_flush >= trace_flush_interval)) {
            last_flush = now;
            if (auto r = writer->flush(); !r) {
                errln(r.error());
                trace_failed = true;
                rc = 1;
                break;
            }
        }
        if (now - last_drop_check >= drop_check_interval) {
            last_drop_check = now;
            const kernel_counters kcnow = loader->counters();
            publish_metrics(kcnow);
            report_shed(kcnow);
            const std::uint64_t drops = kcnow.drops;
            if (drops > drops_reported) {
                errln("NOTICE: kernel dropped " + std::to_string(drops - drops_reported) +
                      " events (ring buffer full); raise --ring-size");
                drops_reported = drops;
            }
            for (const std::string& n : sinks->loss_notices()) errln(n);
            if (stdout_closed && !sinks->any_working()) {
                errln("no output works any more (standard output failed, and " + sinks->summary() +
                      "); stopping with status 1");
                rc = 1;
                break;
            }
        }
    }

    // 8. Take what the kernel already wrote (events are submitted without
    // wake-ups, so the last ~100 ms may still sit in the ring), detach, and
    // give the final account.
    if (rc == 0) {
        if (auto n = loader->poll(std::chrono::milliseconds{0}, on_record); !n) {
            errln(n.error().message);
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const kernel_counters kc = loader->counters();
    if (metrics) metrics->set_phase(sensor_phase::stopping);
    loader.reset();
    // Every running quiet period ends here: its repeats are not lost.
    corr.flush_incidents();
    emit_summaries();
    report_shed(kc);
    if (kc.drops > drops_reported) {
        errln("NOTICE: kernel dropped " + std::to_string(kc.drops - drops_reported) +
              " events (ring buffer full); raise --ring-size");
    }
    if (writer && !trace_failed) {
        if (auto r = writer->flush(); !r) {
            errln(r.error());
            rc = 1;
        }
    }
    publish_metrics(kc); // the final figures, for a last scrape while the stats are printed
    if (stdout_closed) errln("standard output had failed; alerts after that went to the other outputs only");
    // The queued outputs get what they hold out, within a bound (a dead
    // receiver must not hold the exit up), then report what they lost.
    sinks->close(sink_close_grace);
    for (const std::string& n : sinks->loss_notices(true)) errln(n);
    errln(stats_line(counts, kc, hasher.stats(), named.size(), named_reported, seconds,
                     scan.timed_out.size() + scan.refused.size()) +
          kernel_filter_summary(kc, filter) + containers_summary(containers.stats(), runtime) +
          (sinks->empty() ? std::string() : "; outputs: " + sinks->summary()));
    if (writer && !trace_failed) {
        errln("recorded " + std::to_string(writer->lines()) + " trace lines (" +
              std::to_string(scan.processes.size()) + " seeded processes, " +
              plural(named_reported, "named-file identity", "named-file identities") + ", " +
              std::to_string(counts.events) + " events) to " + writer->path());
    }
    if (auto b = bls->finish(corr.stats()); !b) {
        errln(b.error());
        rc = 1;
    } else if (*b) {
        errln(**b);
    }
    if (opts.verbose) {
        nlohmann::json s = to_json(corr.stats());
        s["decode_errors"] = counts.decode_errors;
        s["kernel_drops"] = kc.drops;
        s["kernel"] = kernel_json(kc);
        s["kernel_filter"] = filter_json(filter);
        s["seconds"] = seconds;
        nlohmann::json outs = nlohmann::json::array();
        for (const output_status& o : sinks->status()) {
            outs.push_back({{"name", o.name}, {"kind", o.kind}, {"sent", o.sent}, {"dropped", o.dropped},
                            {"failed", o.failed}, {"queued", o.queued}});
        }
        s["outputs"] = std::move(outs);
        const hash_cache_stats& hs = hasher.stats();
        s["exe_sha256"] = {{"cache_misses", hs.misses}, {"cache_hits", hs.hits},
                           {"evictions", hs.evictions},  {"failures", hs.failures},
                           {"too_large", hs.too_large},  {"cached", hasher.size()},
                           {"remote", hs.remote},        {"unknown_fs", hs.unknown_fs}};
        const mount_table_stats& ms = mounts.stats();
        s["mount_tables"] = {{"reads", ms.reads}, {"read_failures", ms.read_failures}, {"unknown", ms.unknown},
                             {"devices", mounts.devices()}};
        const deadline_worker_stats ws = proc_reads.stats();
        s["seeding"] = {{"processes", scan.processes.size()},  {"skipped", scan.skipped},
                        {"seed_timeouts", scan.timed_out.size()}, {"seed_refused", scan.refused.size()},
                        {"worker_calls", ws.calls},              {"abandoned_alive", ws.abandoned_alive}};
        const owner_binder_stats& os = owner.stats();
        const resolver_stats rs = owner.resolver();
        s["owner_use"] = {{"files_parsed", os.files_parsed},     {"read_failures", os.read_failures},
                          {"bindings", os.bindings},             {"late_bindings", os.late_bindings},
                          {"successor_bindings", os.successor_bindings},
                          {"names_resolved", rs.lookups},        {"name_failures", rs.failures},
                          {"resolver_queue_full", rs.queue_full}, {"resolver_cache_hits", rs.cache_hits}};
        s["containers"] = containers_json(containers.stats(), runtime);
        const package_db::load_stats& ps = packages.stats();
        s["packages"] = {{"md5sums_files", ps.files}, {"entries", ps.entries}, {"bad_lines", ps.bad_lines},
                         {"dropped", ps.dropped}, {"memory_bytes", packages.memory_bytes()}};
        s["named_files"] = {{"known", named.size()},
                            {"reported", named_reported},
                            {"refreshes", named_refreshes},
                            {"errors", named_errors}};
        errln("stats: " + s.dump());
    }
    return rc;
}

} // namespace barbwire::sensor
