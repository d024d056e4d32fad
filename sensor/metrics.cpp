#include "metrics.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <barbwire/decode.hpp>
#include <barbwire/error.hpp>

namespace barbwire::sensor {

// --- the exposition format -------------------------------------------------------

void metric_set::add(std::string_view name, std::string_view help, metric_type type, double value,
                     metric_labels labels) {
    for (metric_family& f : families_) {
        if (f.name == name) {
            f.samples.push_back({std::move(labels), value});
            return;
        }
    }
    metric_family f;
    f.name = std::string(name);
    f.help = std::string(help);
    f.type = type;
    f.samples.push_back({std::move(labels), value});
    families_.push_back(std::move(f));
}

void metric_set::append(const metric_set& other) {
    for (const metric_family& f : other.families_) {
        for (const metric_sample& s : f.samples) add(f.name, f.help, f.type, s.value, s.labels);
    }
}

const metric_family* metric_set::find(std::string_view name) const noexcept {
    for (const metric_family& f : families_)
        if (f.name == name) return &f;
    return nullptr;
}

namespace {
bool name_start(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) noexcept { return name_start(c) || (c >= '0' && c <= '9'); }
} // namespace

bool valid_metric_name(std::string_view name) noexcept {
    if (name.empty() || !(name_start(name[0]) || name[0] == ':')) return false;
    for (char c : name)
        if (!name_char(c) && c != ':') return false;
    return true;
}

bool valid_label_name(std::string_view name) noexcept {
    if (name.empty() || !name_start(name[0]) || name.starts_with("__")) return false;
    for (char c : name)
        if (!name_char(c)) return false;
    return true;
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_help(std::string_view help) {
    std::string out;
    out.reserve(help.size());
    for (char c : help) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    // Whole numbers below 2^53 are exact in a double: print them as integers.
    if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof(buf), static_cast<std::int64_t>(v));
        return std::string(buf, r.ptr);
    }
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v); // shortest round-trip form
    return std::string(buf, r.ptr);
}

std::string render_text(const metric_set& set) {
    std::string out;
    out.reserve(set.families().size() * 160);
    for (const metric_family& f : set.families()) {
        out += "# HELP ";
        out += f.name;
        out += ' ';
        out += escape_help(f.help);
        out += "\n# TYPE ";
        out += f.name;
        out += f.type == metric_type::counter ? " counter\n" : " gauge\n";
        for (const metric_sample& s : f.samples) {
            out += f.name;
            if (!s.labels.empty()) {
                out += '{';
                bool first = true;
                for (const auto& [k, v] : s.labels) {
                    if (!first) out += ',';
                    first = false;
                    out += k;
                    out += "=\"";
                    out += escape_label_value(v);
                    out += '"';
                }
                out += '}';
            }
            out += ' ';
            out += format_value(s.value);
            out += '\n';
        }
    }
    return out;
}

// --- health ------------------------------------------------------------------------

health_verdict health_of(sensor_phase phase, std::optional<nanoseconds> last_drain, nanoseconds now,
                         nanoseconds limit) {
    if (phase == sensor_phase::starting)
        return {false, "starting: the BPF programs, the /proc seed and the named files come before the first drain"};
    if (phase == sensor_phase::stopping) return {false, "stopping"};
    if (!last_drain) return {false, "the ring buffer has not been drained yet"};
    const nanoseconds age = now - *last_drain;
    if (age > limit) {
        char buf[160];
        std::snprintf(buf, sizeof(buf),
                      "the event loop has not drained the ring buffer for %.1f s (limit %.0f s): it is stalled",
                      std::chrono::duration<double>(age).count(), std::chrono::duration<double>(limit).count());
        return {false, buf};
    }
    return {true, "ok"};
}

// --- --metrics ADDR:PORT -------------------------------------------------------------

std::string listen_address::text() const {
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool listen_address::loopback() const noexcept {
    if (ipv6) return host == "::1";
    return host.starts_with("127.");
}

namespace {

bool ipv4_literal(std::string_view s) {
    int parts = 0;
    std::size_t i = 0;
    while (true) {
        std::size_t j = i;
        while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
        if (j == i || j - i > 3) return false;
        unsigned v = 0;
        std::from_chars(s.data() + i, s.data() + j, v);
        if (v > 255) return false;
        ++parts;
        if (j == s.size()) return parts == 4;
        if (s[j] != '.' || parts == 4) return false;
        i = j + 1;
    }
}

bool ipv6_literal(std::string_view s) {
    // Hex groups separated by ':', at most one '::', optionally ending in an
    // IPv4 literal; no zone ids (a scope is not needed to serve metrics).
    if (s.empty() || s.size() > 45) return false;
    int groups = 0;
    bool gap = false;
    std::size_t i = 0;
    if (s.starts_with("::")) {
        gap = true;
        i = 2;
        if (i == s.size()) return true; // "::"
    } else if (s[0] == ':') {
        return false;
    }
    while (i < s.size()) {
        std::size_t j = i;
        while (j < s.size() && std::isxdigit(static_cast<unsigned char>(s[j]))) ++j;
        if (j < s.size() && s[j] == '.') { // an embedded IPv4 address ends it
            if (!ipv4_literal(s.substr(i))) return false;
            groups += 2;
            break;
        }
        if (j == i || j - i > 4) return false;
        ++groups;
        if (j == s.size()) break;
        if (s[j] != ':') return false;
        if (j + 1 < s.size() && s[j + 1] == ':') {
            if (gap) return false;
            gap = true;
            i = j + 2;
            if (i == s.size()) break;
        } else {
            i = j + 1;
            if (i == s.size()) return false; // trailing single ':'
        }
    }
    return gap ? groups <= 7 : groups == 8;
}

} // namespace

check_result<listen_address> parse_listen_address(std::string_view text) {
    const std::string shown(text);
    const auto bad = [&](const std::string& why) -> check_result<listen_address> {
        return tl::unexpected("--metrics " + shown + ": " + why +
                              "; give a numeric address and a port, e.g. 127.0.0.1:9477 or [::1]:9477 "
                              "(loopback is recommended)");
    };
    listen_address a;
    std::string_view port;
    if (text.starts_with("[")) {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) return bad("no ']' after the IPv6 address");
        a.host = std::string(text.substr(1, close - 1));
        a.ipv6 = true;
        if (!ipv6_literal(a.host)) return bad("'" + a.host + "' is not an IPv6 address");
        if (close + 1 >= text.size() || text[close + 1] != ':') return bad("no ':PORT' after the address");
        port = text.substr(close + 2);
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) return bad("no ':PORT'");
        a.host = std::string(text.substr(0, colon));
        if (a.host.empty()) return bad("no address before ':' (0.0.0.0 means every interface)");
        if (a.host.find(':') != std::string::npos) return bad("an IPv6 address goes in brackets");
        if (!ipv4_literal(a.host)) return bad("'" + a.host + "' is not a numeric IPv4 address");
        port = text.substr(colon + 1);
    }
    unsigned p = 0;
    const auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || p == 0 || p > 65535)
        return bad("the port must be a number from 1 to 65535");
    a.port = static_cast<std::uint16_t>(p);
    return a;
}

// --- what the sensor counts -------------------------------------------------------------

void alert_tally::count(severity s, std::string_view category) {
    ++total_;
    std::string cat(category.empty() ? std::string_view("none") : category);
    if (categories_.find(cat) == categories_.end()) {
        if (categories_.size() >= max_alert_categories) cat = "other";
        else categories_.emplace(cat, true);
    }
    ++counts_[{s, std::move(cat)}];
}

namespace {

double d(std::uint64_t v) { return static_cast<double>(v); }

} // namespace

metric_set collect(const sensor_figures& f) {
    metric_set m;
    const auto c = [&](std::string_view name, std::string_view help, std::uint64_t v, metric_labels l = {}) {
        m.counter(name, help, d(v), std::move(l));
    };
    const auto g = [&](std::string_view name, std::string_view help, double v, metric_labels l = {}) {
        m.gauge(name, help, v, std::move(l));
    };

    g("barbwire_build_info", "The running sensor's version and wire ABI; always 1.", 1,
      {{"version", f.version}, {"abi", std::to_string(f.abi)}, {"command", f.command}});
    g("barbwire_ring_buffer_size_bytes", "Size of the kernel ring buffer (--ring-size).", d(f.ring_bytes));
    g("barbwire_kernel_filter_enabled", "1 when the in-kernel filter is on (--kernel-filter).",
      f.filter.enabled ? 1 : 0);

    // Events, by the kind the decoder knows.
    static constexpr const char* events_help = "Events the correlator took, by kind.";
    for (std::uint16_t k = BW_EVENT_EXEC; k <= BW_EVENT_KIND_MAX; ++k) {
        if (k == BW_EVENT_OPEN_REPEAT) continue; // a repeat becomes an open event, or nothing
        c("barbwire_events_total", events_help, f.events_by_kind[k], {{"kind", std::string(detail::kind_name(k))}});
    }
    c("barbwire_events_total", events_help, f.file_events, {{"kind", "file"}});
    c("barbwire_events_total", events_help, f.binding_events, {{"kind", "binding"}});
    // Every reason decode gives (errc::short_record .. errc::bad_field), zeros included.
    for (auto code = static_cast<std::size_t>(errc::short_record); code <= static_cast<std::size_t>(errc::bad_field);
         ++code)
        c("barbwire_decode_errors_total", "Ring-buffer records that failed to decode, by reason.",
          f.decode_errors_by_code[code], {{"reason", std::string(to_string(static_cast<errc>(code)))}});

    // Kernel drops (ring buffer full) and sheds (past its high-water mark).
    const kernel_counters& k = f.kernel;
    for (std::uint16_t kind = BW_EVENT_EXEC; kind <= BW_EVENT_KIND_MAX; ++kind)
        c("barbwire_kernel_drops_total", "Records the kernel could not write because the ring buffer was full, by kind.",
          k.drops_by_kind[kind], {{"kind", std::string(detail::kind_name(kind))}});
    static constexpr const char* shed_help =
        "Records the kernel shed because the ring buffer was past its high-water mark, by kind.";
    c("barbwire_kernel_shed_total", shed_help, k.shed_open, {{"kind", "open"}});
    c("barbwire_kernel_shed_total", shed_help, k.shed_repeat, {{"kind", "open_repeat"}});
    c("barbwire_kernel_shed_total", shed_help, k.shed_net, {{"kind", "net"}});
    c("barbwire_kernel_shed_total", shed_help, k.shed_write, {{"kind", "write"}});

    // The kernel filter's outcomes.
    static constexpr const char* opens_help =
        "Opens of regular files the kernel looked at, by what it did with them (shed and dropped ones are in "
        "barbwire_kernel_shed_total and barbwire_kernel_drops_total).";
    const std::pair<const char*, std::uint64_t> opens[] = {
        {"boring_directory", k.opens_boring_dir},  {"boring_recent", k.opens_boring_recent},
        {"boring_front", k.opens_boring_front},    {"boring_cache", k.opens_boring_cache},
        {"sensitive_cache", k.opens_sensitive},    {"pending_repeat", k.opens_repeat},
        {"sensitive_inode", k.opens_sensitive_inode}, {"miss", k.opens_miss},
        {"unfiltered", k.opens_unfiltered}};
    for (const auto& [outcome, n] : opens) c("barbwire_kernel_opens_total", opens_help, n, {{"outcome", outcome}});
    static constexpr const char* cache_help =
        "Lookups in the kernel's per-file verdict cache (--verdict-cache) that found a verdict (hit) or none (miss).";
    c("barbwire_kernel_verdict_cache_lookups_total", cache_help,
      k.opens_boring_cache + k.opens_sensitive + k.opens_repeat, {{"result", "hit"}});
    c("barbwire_kernel_verdict_cache_lookups_total", cache_help, k.opens_miss + k.opens_sensitive_inode,
      {{"result", "miss"}});
    static constexpr const char* nets_help =
        "TCP connects and sends on IP sockets the kernel looked at, by what it did with them.";
    c("barbwire_kernel_network_total", nets_help, k.nets_cold, {{"outcome", "cold_dropped"}});
    c("barbwire_kernel_network_total", nets_help, k.nets_shipped, {{"outcome", "shipped"}});
    c("barbwire_kernel_network_total", nets_help, k.sends_folded, {{"outcome", "send_folded"}});
    c("barbwire_kernel_network_total", nets_help, k.sends_nodest, {{"outcome", "send_no_destination"}});
    static constexpr const char* writes_help = "Writes of hot process families the kernel looked at (taint).";
    c("barbwire_kernel_writes_total", writes_help, k.writes_shipped, {{"outcome", "shipped"}});
    c("barbwire_kernel_writes_total", writes_help, k.writes_folded, {{"outcome", "folded"}});
    static constexpr const char* via_help = "Opens the kernel saw through an unusual entry point.";
    c("barbwire_kernel_unusual_opens_total", via_help, k.opens_compat, {{"via", "ia32_compat"}});
    c("barbwire_kernel_unusual_opens_total", via_help, k.opens_io_uring, {{"via", "io_uring"}});
    c("barbwire_kernel_pending_verdict_failures_total",
      "Pending verdicts the kernel could not insert into its verdict cache.", k.pending_failed);
    static constexpr const char* bumps_help =
        "Generation bumps that made every cached verdict stale, by who bumped (kernel: rename, mount; sensor: rules).";
    c("barbwire_kernel_filter_generation_bumps_total", bumps_help, k.generation_bumps, {{"by", "kernel"}});
    c("barbwire_kernel_filter_generation_bumps_total", bumps_help, f.filter.bumps, {{"by", "sensor"}});
    static constexpr const char* verdicts_help = "Verdicts the sensor wrote into the kernel's verdict cache.";
    c("barbwire_kernel_filter_verdicts_total", verdicts_help, f.filter.verdicts - f.filter.verdicts_sensitive,
      {{"verdict", "boring"}});
    c("barbwire_kernel_filter_verdicts_total", verdicts_help, f.filter.verdicts_sensitive, {{"verdict", "sensitive"}});
    static constexpr const char* dir_help = "Directories the sensor answered: a verdict written, or none possible.";
    c("barbwire_kernel_filter_directory_verdicts_total", dir_help, f.filter.dir_verdicts, {{"outcome", "written"}});
    c("barbwire_kernel_filter_directory_verdicts_total", dir_help, f.filter.dirs_declined, {{"outcome", "declined"}});
    static constexpr const char* rep_help = "Repeat records the sensor expanded, by what they were.";
    c("barbwire_kernel_filter_repeats_total", rep_help, f.filter.repeats_expanded, {{"outcome", "sensitive"}});
    c("barbwire_kernel_filter_repeats_total", rep_help, f.filter.repeats_boring, {{"outcome", "boring"}});
    c("barbwire_kernel_filter_repeats_total", rep_help, f.filter.repeats_unknown, {{"outcome", "unknown"}});
    static constexpr const char* err_help = "Writes into the kernel filter's maps that failed, by map.";
    c("barbwire_kernel_filter_map_errors_total", err_help, f.filter.verdict_errors, {{"map", "verdicts"}});
    c("barbwire_kernel_filter_map_errors_total", err_help, f.filter.inode_errors, {{"map", "sensitive_inodes"}});
    c("barbwire_kernel_filter_map_errors_total", err_help, f.filter.hot_errors, {{"map", "hot"}});

    // Alerts, suppressions and what the correlator made of opens.
    const correlator_stats& s = f.correlator;
    static constexpr const char* alerts_help = "Alerts written, by severity and file category.";
    if (f.alerts.counts().empty()) {
        // The family is there from the start, so rate() and absent() work.
        for (severity sev : {severity::low, severity::medium, severity::high})
            c("barbwire_alerts_total", alerts_help, 0, {{"severity", std::string(to_string(sev))}, {"category", "none"}});
    }
    for (const auto& [key, n] : f.alerts.counts())
        c("barbwire_alerts_total", alerts_help, n, {{"severity", std::string(to_string(key.first))}, {"category", key.second}});
    static constexpr const char* rel_help = "Alerts by how the reader of the secret relates to its sender.";
    c("barbwire_alerts_by_relation_total", rel_help, s.alerts_self, {{"relation", "self"}});
    c("barbwire_alerts_by_relation_total", rel_help, s.alerts_ancestor, {{"relation", "ancestor"}});
    c("barbwire_alerts_by_relation_total", rel_help, s.alerts_descendant, {{"relation", "descendant"}});
    c("barbwire_alerts_by_relation_total", rel_help, s.alerts_sibling, {{"relation", "sibling"}});
    c("barbwire_alerts_by_relation_total", rel_help, s.alerts_session, {{"relation", "session"}});
    c("barbwire_incident_summaries_total", "Rate-limit summaries written (quiet periods that counted repeats).",
      f.summaries);
    static constexpr const char* sup_help = "Correlations that gave no alert, by reason.";
    c("barbwire_suppressions_total", sup_help, s.suppressed_allowlist, {{"reason", "allowlist"}});
    c("barbwire_suppressions_total", sup_help, s.below_threshold, {{"reason", "below_threshold"}});
    c("barbwire_suppressions_total", sup_help, s.suppressed_dedup, {{"reason", "dedup"}});
    c("barbwire_suppressions_total", sup_help, s.suppressed_rate_limit, {{"reason", "rate_limit"}});
    c("barbwire_suppressions_total", sup_help, s.suppressed_baseline, {{"reason", "baseline"}});
    c("barbwire_suppressions_total", sup_help, s.suppressed_owner_use, {{"reason", "owner_use"}});
    c("barbwire_uncorrelated_network_events_total",
      "Network events of processes with no sensitive open in their family within the window.", s.uncorrelated_net);
    c("barbwire_sensitive_opens_total", "Opens of files the rules call sensitive.", s.sensitive_opens);
    static constexpr const char* skip_help = "Opens that matched a rule but gave no evidence, by reason.";
    c("barbwire_opens_without_evidence_total", skip_help, s.context_opens, {{"reason", "context_only"}});
    c("barbwire_opens_without_evidence_total", skip_help, s.trusted_opens, {{"reason", "trusted"}});
    c("barbwire_opens_without_evidence_total", skip_help, s.unread_opens, {{"reason", "not_read"}});

    // Tables: sizes, capacities, evictions.
    struct table {
        const char* name;
        std::size_t entries, capacity;
    };
    const table tables[] = {
        {"processes", s.processes, s.processes_capacity},
        {"openers", s.openers, s.openers_capacity},
        {"dedup", s.dedup_entries, s.dedup_capacity},
        {"file_identities", s.file_identities, s.file_identities_capacity},
        {"holders", s.holders, s.holders_capacity},
        {"derived_files", s.derived_files, s.derived_files_capacity},
        {"bound_files", s.bound_files, s.bound_files_capacity},
        {"incidents", s.incidents, s.incidents_capacity},
        {"hash_cache", f.hashes.entries, f.hashes.capacity},
        {"repeat_expander", f.filter.expander_size, f.filter.expander_capacity},
    };
    for (const table& t : tables)
        g("barbwire_table_entries", "Entries in a bounded table now.", d(t.entries), {{"table", t.name}});
    for (const table& t : tables)
        g("barbwire_table_capacity", "The most entries a bounded table holds.", d(t.capacity), {{"table", t.name}});
    const table peaks[] = {
        {"processes", s.processes_peak, 0},   {"openers", s.openers_peak, 0},
        {"dedup", s.dedup_peak, 0},           {"file_identities", s.file_identities_peak, 0},
        {"holders", s.holders_peak, 0},       {"derived_files", s.derived_files_peak, 0},
        {"incidents", s.incidents_peak, 0},
    };
    for (const table& t : peaks)
        g("barbwire_table_peak_entries", "The most entries a bounded table held since the start.", d(t.entries),
          {{"table", t.name}});
    static constexpr const char* ev_help = "Entries dropped from a bounded table for room, by table.";
    const std::pair<const char*, std::uint64_t> evictions[] = {
        {"processes", s.process_evictions},          {"openers", s.opener_evictions},
        {"dedup", s.dedup_evictions},                {"sessions", s.session_evictions},
        {"file_identities", s.file_identity_evictions}, {"holders", s.holder_evictions},
        {"derived_files", s.derived_evictions},      {"bound_files", s.bound_file_evictions},
        {"incidents", s.incident_evictions},         {"incident_marks", s.incident_mark_evictions},
        {"hash_cache", f.hashes.evictions},          {"repeat_expander", f.filter.expander_evictions},
    };
    for (const auto& [t, n] : evictions) c("barbwire_table_evictions_total", ev_help, n, {{"table", t}});
    static constexpr const char* exp_help = "Entries that left a table because they aged out, by table.";
    c("barbwire_table_expired_total", exp_help, s.processes_expired, {{"table", "processes"}});
    c("barbwire_table_expired_total", exp_help, s.opens_expired, {{"table", "opens"}});
    c("barbwire_table_expired_total", exp_help, s.dedup_expired, {{"table", "dedup"}});
    static constexpr const char* ovf_help = "Entries not kept because a per-entry bound was reached, by bound.";
    c("barbwire_table_overflow_total", ovf_help, s.opens_dropped, {{"bound", "opens_per_process"}});
    c("barbwire_table_overflow_total", ovf_help, s.session_openers_dropped, {{"bound", "openers_per_session"}});
    c("barbwire_table_overflow_total", ovf_help, s.incident_summaries_dropped, {{"bound", "incident_summaries"}});
    g("barbwire_sensitive_inodes", "File identities the kernel's sensitive-inode map holds.",
      d(f.filter.sensitive_inodes));

    // Executable hashes.
    static constexpr const char* hash_help = "Executable SHA-256 lookups: answered from the cache (hit) or read and hashed (miss).";
    c("barbwire_hash_cache_lookups_total", hash_help, f.hashes.hits, {{"result", "hit"}});
    c("barbwire_hash_cache_lookups_total", hash_help, f.hashes.misses, {{"result", "miss"}});
    static constexpr const char* hfail_help = "Executables whose hash stayed unknown, by reason.";
    c("barbwire_hash_failures_total", hfail_help, f.hashes.failures, {{"reason", "unreadable"}});
    c("barbwire_hash_failures_total", hfail_help, f.hashes.too_large, {{"reason", "too_large"}});
    static constexpr const char* hskip_help =
        "Executables not examined because a call there could hang, by where they are (their hash stays unknown).";
    c("barbwire_hash_not_examined_total", hskip_help, f.hashes.remote, {{"filesystem", "fuse_or_network"}});
    c("barbwire_hash_not_examined_total", hskip_help, f.hashes.unknown_fs, {{"filesystem", "unknown"}});

    // The /proc seed and the reads that may never return.
    static constexpr const char* seed_help = "Processes found in /proc at the start, by what seeding made of them.";
    g("barbwire_seed_processes", seed_help, d(f.seeding.seeded), {{"outcome", "seeded"}});
    g("barbwire_seed_processes", seed_help, d(f.seeding.skipped), {{"outcome", "skipped"}});
    g("barbwire_seed_processes", seed_help, d(f.seeding.timed_out), {{"outcome", "timed_out"}});
    g("barbwire_seed_processes", seed_help, d(f.seeding.refused), {{"outcome", "refused"}});
    static constexpr const char* pr_help = "/proc reads made with a deadline (argv, executable), by outcome.";
    c("barbwire_proc_reads_total", pr_help, f.seeding.reads_done, {{"outcome", "done"}});
    c("barbwire_proc_reads_total", pr_help, f.seeding.reads_timed_out, {{"outcome", "timed_out"}});
    c("barbwire_proc_reads_total", pr_help, f.seeding.reads_refused, {{"outcome", "refused"}});
    g("barbwire_proc_read_threads_blocked", "Threads of abandoned /proc reads still blocked in the kernel.",
      d(f.seeding.threads_blocked));

    // Owner use.
    c("barbwire_owner_use_files_parsed_total", "Credential files read and parsed for the servers they name.",
      f.owner.files_parsed);
    c("barbwire_owner_use_read_failures_total", "Credential files that could not be read as the opened file.",
      f.owner.read_failures);
    static constexpr const char* ob_help =
        "Bindings of credential files to the servers they name, by how they were made.";
    c("barbwire_owner_use_bindings_total", ob_help, f.owner.bindings - std::min(f.owner.bindings, f.owner.late_bindings),
      {{"how", "at_open"}});
    c("barbwire_owner_use_bindings_total", ob_help, f.owner.late_bindings, {{"how", "after_resolution"}});
    c("barbwire_owner_use_successor_files_total",
      "Opened credential files gone by the read, taken as their opener's file that replaced them at the path.",
      f.owner.successor_bindings);
    static constexpr const char* nr_help = "Server names the owner-use resolver looked at, by outcome.";
    c("barbwire_owner_use_names_total", nr_help, f.owner.names_resolved - std::min(f.owner.names_resolved, f.owner.name_failures),
      {{"outcome", "resolved"}});
    c("barbwire_owner_use_names_total", nr_help, f.owner.name_failures, {{"outcome", "failed"}});
    c("barbwire_owner_use_names_total", nr_help, f.owner.resolver_cache_hits, {{"outcome", "cached"}});
    c("barbwire_owner_use_names_total", nr_help, f.owner.resolver_queue_full, {{"outcome", "queue_full"}});

    // Containers and the runtimes' sockets (labels: a fixed set of outcomes).
    c("barbwire_containers_seen_total", "Distinct containers seen (cgroup paths that name one).", f.containers.seen);
    c("barbwire_containers_verified_total", "Of them, confirmed by the runtime's own state.", f.containers.verified);
    g("barbwire_runtime_api_enabled", "1 when runtime sockets may be asked for container labels.",
      f.containers.api_enabled ? 1.0 : 0.0);
    static constexpr const char* ra_help = "Requests to the container runtimes' sockets, by outcome.";
    c("barbwire_runtime_api_requests_total", ra_help, f.containers.api_answers, {{"outcome", "answered"}});
    c("barbwire_runtime_api_requests_total", ra_help, f.containers.api_failures, {{"outcome", "unanswered"}});
    c("barbwire_runtime_api_requests_total", ra_help, f.containers.api_queue_full, {{"outcome", "queue_full"}});
    c("barbwire_runtime_api_ignored_total", "Runtime socket answers or sockets not used, by reason.",
      f.containers.api_mismatched, {{"reason", "other_id"}});
    c("barbwire_runtime_api_ignored_total", "Runtime socket answers or sockets not used, by reason.",
      f.containers.api_untrusted, {{"reason", "untrusted_socket"}});

    // Files the rules name.
    g("barbwire_named_files", "Files the rules name that the sensor knows by device and inode.", d(f.named_files));
    c("barbwire_named_file_refreshes_total", "Look-ups of the files the rules name.", f.named_refreshes);
    c("barbwire_named_file_errors_total", "Homes and files that could not be examined, summed over look-ups.",
      f.named_errors);

    // Outputs.
    add_outputs(m, f.outputs);

    // Reloads.
    static constexpr const char* rl_help = "SIGHUP reloads of the rules, by result.";
    c("barbwire_config_reloads_total", rl_help, f.reloads_ok, {{"result", "ok"}});
    c("barbwire_config_reloads_total", rl_help, f.reloads_failed, {{"result", "failed"}});
    c("barbwire_config_reloads_total", rl_help, f.reloads_without_config, {{"result", "no_config"}});
    g("barbwire_config_last_reload_successful", "1 when the last reload of the rules succeeded (or none was tried).",
      f.last_reload_ok ? 1 : 0);
    g("barbwire_config_last_reload_success_timestamp_seconds",
      "When the rules were last loaded successfully (the start counts), seconds since the epoch.",
      f.last_reload_success_seconds);
    return m;
}

void add_live(metric_set& set, const process_figures& p, const health_verdict& h,
              std::optional<double> last_drain_seconds) {
    set.counter("process_cpu_seconds_total", "User and system CPU time the sensor spent, in seconds.", p.cpu_seconds);
    set.gauge("process_resident_memory_bytes", "The sensor's resident memory size in bytes.", p.resident_bytes);
    set.gauge("process_virtual_memory_bytes", "The sensor's virtual memory size in bytes.", p.virtual_bytes);
    set.gauge("process_open_fds", "File descriptors the sensor has open.", p.open_fds);
    set.gauge("process_max_fds", "The sensor's limit of open file descriptors.", p.max_fds);
    set.gauge("process_start_time_seconds", "When the sensor started, seconds since the epoch.", p.start_time_seconds);
    set.gauge("barbwire_healthy", "1 while the event loop drains the ring buffer (what /healthz says), else 0.",
              h.healthy ? 1 : 0);
    if (last_drain_seconds)
        set.gauge("barbwire_ring_buffer_last_drain_timestamp_seconds",
                  "When the event loop last drained the ring buffer, seconds since the epoch.", *last_drain_seconds);
}

} // namespace barbwire::sensor
