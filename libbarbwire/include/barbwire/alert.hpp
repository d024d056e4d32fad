#pragma once
// One alert: a sensitive open and a later network action, scored.

#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <memory>

#include "barbwire/config.hpp"
#include "barbwire/event.hpp"

namespace barbwire {

// The time from one event time to another, `to - from`, held at the type's
// limits instead of overflowing. Event times come from recorded traces and
// from embedders too, anywhere in the type, where the plain difference is
// undefined behaviour (the correlator's fuzz harness found a secret read at
// -234 ns and sent near the end of time). The ages and deltas an alert
// states are all this. It is clock.hpp's saturating_add's counterpart, kept
// here, with what it measures, so that the headers the parsers' harnesses
// are built from did not change with it (docs/reliability.md).
[[nodiscard]] constexpr nanoseconds elapsed(nanoseconds from, nanoseconds to) noexcept {
    using rep = nanoseconds::rep;
    rep out{};
    if (__builtin_sub_overflow(to.count(), from.count(), &out))
        return nanoseconds{from.count() < 0 ? std::numeric_limits<rep>::max() : std::numeric_limits<rep>::min()};
    return nanoseconds{out};
}

struct process_ref {
    pid_type pid = 0;
    std::string comm;
    std::string exe;
    std::string sha256; // empty when unknown
    friend bool operator==(const process_ref&, const process_ref&) = default;
};

// A derived secret's origin: the secret a family held when it wrote the
// file (taint.hpp). Shared, immutable: every open of the derived file
// points at the same origin.
struct derived_origin {
    std::string path;        // the secret's path as it was read
    std::string category;    // its category name
    std::uint64_t dev = 0;   // its inode
    std::uint64_t ino = 0;
    nanoseconds read_ts{0};  // when the writer's family read it
    process_ref writer;      // the process that wrote the derived file
    nanoseconds written_ts{0};
    std::string written_path; // the derived file's path as written
    friend bool operator==(const derived_origin&, const derived_origin&) = default;
};

struct score_part {
    std::string reason; // e.g. "credential access", "suspicious parent: bash"
    int points = 0;
    friend bool operator==(const score_part&, const score_part&) = default;
};

// Where an alert stands against a learned baseline (baseline.hpp, docs/baseline.md).
enum class baseline_verdict : std::uint8_t {
    none = 0,           // no baseline was applied
    new_behaviour = 1,  // the baseline has not seen this correlation
    changed_binary = 2, // the sender's or reader's path was learned with another sha256
    seen = 3,           // learned: down-scored (suppressed alerts are not emitted)
};

[[nodiscard]] constexpr std::string_view to_string(baseline_verdict v) noexcept {
    switch (v) {
    case baseline_verdict::none: return "";
    case baseline_verdict::new_behaviour: return "new";
    case baseline_verdict::changed_binary: return "changed binary";
    case baseline_verdict::seen: return "seen";
    }
    return "";
}

// Network events of one incident that were counted instead of alerted
// (rate limiting: dedup.hpp, incident_table; docs/scoring.md).
struct repeat_counts {
    std::uint64_t count = 0;        // occurrences suppressed
    nanoseconds first{0};           // time of the first and the last of them
    nanoseconds last{0};
    std::uint64_t destinations = 0; // distinct (address, port, protocol) among them
    std::uint64_t processes = 0;    // distinct sending processes among them
    int max_score = 0;
    enum severity max_severity = severity::low;
    friend bool operator==(const repeat_counts&, const repeat_counts&) = default;
};

// How long the secret stayed with the sender before it left (issue 12).
enum class retention : std::uint8_t {
    window = 0,    // read within the window (by the sender or its family)
    held = 1,      // read by the sender itself, longer ago than the window: kept in memory
    inherited = 2, // read by an ancestor the sender forked from (no exec since), longer ago
};
[[nodiscard]] constexpr std::string_view to_string(retention r) noexcept {
    switch (r) {
    case retention::window: return "window";
    case retention::held: return "held";
    case retention::inherited: return "inherited";
    }
    return "window";
}

// Which came first: the read or the connection the secret left on.
enum class event_order : std::uint8_t {
    read_then_connect = 0,    // a connect after the read
    read_then_send = 1,       // a send on a connection opened after the read, or a datagram
    connection_then_read = 2, // a send on a connection that was already open when the secret was read
    unknown_connection = 3,   // a send on a connection older than the sensor: its start is unknown
};
[[nodiscard]] constexpr std::string_view to_string(event_order o) noexcept {
    switch (o) {
    case event_order::read_then_connect: return "read, then connect";
    case event_order::read_then_send: return "read, then send";
    case event_order::connection_then_read: return "connection, then read, then send";
    case event_order::unknown_connection: return "read, then send on a connection of unknown age";
    }
    return "";
}

struct alert {
    nanoseconds ts{0};            // time of the network event
    process_ref process;          // the process that made the network call

    // Issue 13: what the trust rules knew of the sender's executable, and
    // why a rule naming its path did not apply (JSON `process.trust`).
    struct trust_info {
        std::optional<bool> host_file; // the host's file at that path; nullopt: unknown
        std::string package;           // the dpkg package that ships it unmodified; empty: none
        std::string refused;           // why a trusted_binaries/allowlist entry for its path was refused; empty: none
        friend bool operator==(const trust_info&, const trust_info&) = default;
    } trust;
    pid_type tid = 0;
    std::uint32_t uid = 0;
    std::vector<std::string> argv;
    // The script the process runs (an interpreter's; pending when dev/ino
    // are 0) and the foreign code in it (foreign_code bits): shown as
    // process.script and process.foreign.
    std::optional<script_identity> script;
    std::uint32_t foreign = 0;
    // Issue 14: the container the sender runs in (nullopt: the host, or
    // not known); JSON `container` and `k8s`.
    std::optional<container_info> container;

    struct file_info {
        std::string path;
        std::uint64_t dev = 0;
        std::uint64_t ino = 0;
        std::string category;
        nanoseconds ts{0};        // time of the open
        std::string pattern;      // the category pattern found in the path (in same_inode_as when set)
        // The path the rules know this inode by, when the match came through
        // the file's identity (a hard link, a bind mount, another mount
        // namespace's path to the same inode); empty when the path matched.
        std::string same_inode_as;
        access_path source = access_path::syscall; // how the file was opened
        // A derived secret (taint.hpp): the secret this file was written
        // from, by whom and when; null for a secret of its own.
        std::shared_ptr<const derived_origin> derived_from;
        // Issue 14: `path` as the opener's container sees it (its mount
        // namespace), and the same file's path on the host where the sensor
        // could tell (sensor/containers.cpp); empty: not known.
        bool in_container = false;
        std::string host_path;
        friend bool operator==(const file_info& a, const file_info& b) {
            return a.path == b.path && a.dev == b.dev && a.ino == b.ino && a.category == b.category &&
                   a.ts == b.ts && a.pattern == b.pattern && a.same_inode_as == b.same_inode_as &&
                   a.source == b.source && a.in_container == b.in_container && a.host_path == b.host_path &&
                   (a.derived_from == b.derived_from ||
                    (a.derived_from && b.derived_from && *a.derived_from == *b.derived_from));
        }
    } file;

    struct destination_info {
        net_op op = net_op::connect;
        ip_proto protocol = ip_proto::tcp;
        ip_address addr;
        std::uint16_t port = 0;
        std::uint64_t bytes = 0;     // a send's byte count (0 for a connect)
        std::string category;        // a destination category (dns.category), or empty
        bool accepted = false;       // the connection was accepted by this host (a bind shell)
        friend bool operator==(const destination_info&, const destination_info&) = default;
    } destination;

    // Issue 12: which came first, the connection's start (0: none or
    // unknown), and how long the secret had been held.
    event_order order = event_order::read_then_connect;
    nanoseconds connection_ts{0};
    enum retention retention = retention::window;

    nanoseconds delta{0};         // destination ts - file ts
    int score = 0;
    enum severity severity = severity::low;
    std::vector<score_part> breakdown; // sums to score
    std::optional<process_ref> parent;
    std::optional<process_ref> grandparent;

    // Process family (docs/design.md, "Process families").
    enum relation relation = relation::self; // how the reader is related to the sender
    process_ref reader;                      // the process that opened the file (== process for self)
    std::vector<process_ref> ancestry;       // the sender, its parent, ... up to its session leader

    // Rate limiting (dedup.hpp): the incident this alert opens or continues
    // (0: rate limiting off), and what was suppressed since the previous
    // alert of the same incident, when anything was.
    std::uint64_t incident = 0;
    std::optional<repeat_counts> repeats;

    baseline_verdict baseline = baseline_verdict::none; // set by baseline::apply

    friend bool operator==(const alert&, const alert&) = default;
};

namespace detail {

// Length of the well-formed UTF-8 sequence at s[i] (1..4), or 0 when the
// byte there does not start one. Stores the code point in `cp`.
[[nodiscard]] inline std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) noexcept {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char c = b(0);
    if (c < 0x80) {
        cp = c;
        return 1;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    if (b(1) < lo || b(1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (b(k) < 0x80 || b(k) > 0xBF) return 0;
    cp = static_cast<char32_t>(c & (0xFF >> (n + 1)));
    for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (b(k) & 0x3F);
    return n;
}

// `s` as valid UTF-8 for JSON: each byte that does not start a well-formed
// sequence becomes U+FFFD. nlohmann::json::dump() cannot throw on the result.
[[nodiscard]] inline std::string json_string(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        char32_t cp = 0;
        const std::size_t n = utf8_sequence(s, i, cp);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

// Characters that must not reach a terminal verbatim: C0/C1 controls, DEL,
// line/paragraph separators and bidirectional overrides/isolates.
[[nodiscard]] constexpr bool unsafe_for_terminal(char32_t cp) noexcept {
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F;
}

// `s` made safe for one line of text output: every byte of an unsafe
// character or of ill-formed UTF-8 is written as \xNN, and a backslash as
// \\, so a hostile comm or path can neither break a line nor the box, and
// the escaping is unambiguous.
[[nodiscard]] inline std::string text_safe(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        char32_t cp = 0;
        std::size_t n = utf8_sequence(s, i, cp);
        const bool bad = n == 0;
        if (bad) n = 1;
        if (!bad && cp == U'\\') {
            out += "\\\\";
        } else if (bad || unsafe_for_terminal(cp)) {
            for (std::size_t k = 0; k < n; ++k) {
                const auto c = static_cast<unsigned char>(s[i + k]);
                out += "\\x";
                out += hex[c >> 4];
                out += hex[c & 0xF];
            }
        } else {
            out.append(s.substr(i, n));
        }
        i += n;
    }
    return out;
}

// A permission mode as 4 octal digits ("0755").
[[nodiscard]] inline std::string octal_text(std::uint32_t mode) {
    std::string out(4, '0');
    for (int i = 3; i >= 0; --i, mode >>= 3) out[static_cast<std::size_t>(i)] = static_cast<char>('0' + (mode & 7));
    return out;
}

[[nodiscard]] inline nlohmann::json process_ref_json(const process_ref& p) {
    return {
        {"pid", p.pid},
        {"comm", json_string(p.comm)},
        {"exe", json_string(p.exe)},
        {"sha256", p.sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(json_string(p.sha256))},
    };
}

// Alerts' `container` and `k8s` objects (docs/alerts.md): unknown text is null.
[[nodiscard]] inline nlohmann::json text_or_null(const std::string& s) {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(json_string(s));
}
// `labels`: an object, empty when the runtime's API gave none (or was not
// asked, or has not answered yet).
[[nodiscard]] inline nlohmann::json labels_json(const container_labels& labels) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : labels) out[json_string(k)] = json_string(v);
    return out;
}
[[nodiscard]] inline nlohmann::json container_json(const container_info& c) {
    return {
        {"id", json_string(c.id)},
        {"runtime", std::string(to_string(c.runtime))},
        {"name", text_or_null(c.name)},
        {"image", text_or_null(c.image)},
        {"cgroup", json_string(c.cgroup)},
        {"verified", c.verified},
        {"labels", labels_json(c.labels)},
    };
}
[[nodiscard]] inline nlohmann::json k8s_json(const container_info& c) {
    return {
        {"pod", text_or_null(c.pod_name)},
        {"namespace", text_or_null(c.pod_namespace)},
        {"pod_uid", text_or_null(c.pod_uid)},
        {"container", text_or_null(c.k8s_container)},
    };
}

// Labels for the text box: "app=web team=payments", at most 8 of them and
// 64 bytes of each value (the JSON has them all), each escaped: a label is
// text the container's creator chose.
[[nodiscard]] inline std::string labels_text(const container_labels& labels) {
    constexpr std::size_t shown = 8;
    constexpr std::size_t value_bytes = 64;
    std::string out;
    for (std::size_t i = 0; i < labels.size() && i < shown; ++i) {
        if (i > 0) out += ' ';
        const auto& [k, v] = labels[i];
        out += text_safe(k) + "=" + text_safe(v.size() > value_bytes ? cut_utf8(v, value_bytes) + "..." : v);
    }
    if (labels.size() > shown) out += " (+" + std::to_string(labels.size() - shown) + " more)";
    return out;
}

// The text box's container row: "podman 3f2a9c1e0b7d web (image localhost/app:1), pod default/web-0".
[[nodiscard]] inline std::string container_text(const container_info& c) {
    std::string out = std::string(to_string(c.runtime)) + " " + text_safe(c.short_id());
    if (!c.name.empty()) out += " " + text_safe(c.name);
    if (!c.image.empty()) out += " (image " + text_safe(c.image) + ")";
    if (c.in_pod())
        out += ", pod " + (c.pod_name.empty() ? "uid " + text_safe(c.pod_uid)
                                              : text_safe(c.pod_namespace) + "/" + text_safe(c.pod_name));
    if (!c.labels.empty()) out += ", labels " + labels_text(c.labels);
    if (!c.verified) out += " [unverified: the cgroup path's claim]";
    return out;
}

[[nodiscard]] inline std::string endpoint(const ip_address& addr, std::uint16_t port) {
    if (addr.family == AF_INET6) return "[" + addr.to_string() + "]:" + std::to_string(port);
    return addr.to_string() + ":" + std::to_string(port);
}

[[nodiscard]] inline nlohmann::json repeat_counts_json(const repeat_counts& r) {
    return {
        {"count", r.count},
        {"first_ts_ns", r.first.count()},
        {"last_ts_ns", r.last.count()},
        {"destinations", r.destinations},
        {"processes", r.processes},
        {"max_score", r.max_score},
        {"max_severity", std::string(to_string(r.max_severity))},
    };
}

// "999 more, to 1 destination, from 999 processes, over 4.210 s"
[[nodiscard]] inline std::string repeat_counts_text(const repeat_counts& r) {
    const auto plural = [](std::uint64_t n, const char* one, const char* many) {
        return std::to_string(n) + " " + (n == 1 ? one : many);
    };
    char span[48];
    std::snprintf(span, sizeof(span), "%.3f s", static_cast<double>(elapsed(r.first, r.last).count()) / 1e9);
    return std::to_string(r.count) + " more, to " + plural(r.destinations, "destination", "destinations") +
           ", from " + plural(r.processes, "process", "processes") + ", over " + span + ", up to " +
           std::string(to_string(r.max_severity));
}

// "4.210 s"
[[nodiscard]] inline std::string duration_text(nanoseconds d) {
    char buf[48];
    std::snprintf(buf, sizeof(buf), "%.3f s", static_cast<double>(d.count()) / 1e9);
    return buf;
}

} // namespace detail

// The alert as JSON (schema: docs/alerts.md; "version" changes when a field
// changes meaning or is removed). Every string is valid UTF-8.
[[nodiscard]] inline nlohmann::json to_json(const alert& a) {
    using nlohmann::json;
    json reasons = json::array();
    json breakdown = json::array();
    for (const auto& part : a.breakdown) {
        reasons.push_back(detail::json_string(part.reason));
        breakdown.push_back({{"reason", detail::json_string(part.reason)}, {"points", part.points}});
    }
    json argv = json::array();
    for (const auto& arg : a.argv) argv.push_back(detail::json_string(arg));

    json ancestry = json::array();
    for (const auto& p : a.ancestry) ancestry.push_back(detail::process_ref_json(p));

    json file = {
        {"path", detail::json_string(a.file.path)},
        {"dev", a.file.dev},
        {"ino", a.file.ino},
        {"category", detail::json_string(a.file.category)},
        {"pattern", detail::json_string(a.file.pattern)},
        {"ts_ns", a.file.ts.count()},
    };
    if (!a.file.same_inode_as.empty()) file["same_inode_as"] = detail::json_string(a.file.same_inode_as);
    if (a.file.source != access_path::syscall) file["via"] = std::string(to_string(a.file.source));
    file["view"] = a.file.in_container ? "container" : "host";
    file["host_path"] = a.file.host_path.empty() ? json(nullptr) : json(detail::json_string(a.file.host_path));
    if (const derived_origin* d = a.file.derived_from.get()) {
        file["derived_from"] = {
            {"path", detail::json_string(d->path)},
            {"category", detail::json_string(d->category)},
            {"dev", d->dev},
            {"ino", d->ino},
            {"read_ts_ns", d->read_ts.count()},
            {"writer", detail::process_ref_json(d->writer)},
            {"written_ts_ns", d->written_ts.count()},
            {"written_path", detail::json_string(d->written_path)},
        };
    }

    json process = detail::process_ref_json(a.process);
    process["tid"] = a.tid;
    process["uid"] = a.uid;
    process["argv"] = std::move(argv);
    process["trust"] = {
        {"host_file", a.trust.host_file ? json(*a.trust.host_file) : json(nullptr)},
        {"package", a.trust.package.empty() ? json(nullptr) : json(detail::json_string(a.trust.package))},
        {"refused", a.trust.refused.empty() ? json(nullptr) : json(detail::json_string(a.trust.refused))},
    };
    json foreign = json::array();
    for (auto& r : foreign_reasons(a.foreign)) foreign.push_back(std::move(r));
    process["foreign"] = std::move(foreign);
    if (a.script) {
        const script_identity& sc = *a.script;
        process["script"] = {
            {"path", detail::json_string(sc.path)},
            {"dev", sc.dev},
            {"ino", sc.ino},
            {"uid", sc.uid ? json(*sc.uid) : json(nullptr)},
            {"mode", sc.mode ? json(detail::octal_text(*sc.mode)) : json(nullptr)},
            {"sha256", sc.sha256.empty() ? json(nullptr) : json(detail::json_string(sc.sha256))},
            {"package", sc.package.empty() ? json(nullptr) : json(detail::json_string(sc.package))},
            {"host_file", sc.host_file ? json(*sc.host_file) : json(nullptr)},
            {"pending", sc.ino == 0},
        };
    } else {
        process["script"] = nullptr;
    }

    json out = {
        {"version", 1},
        {"ts_ns", a.ts.count()},
        {"severity", std::string(to_string(a.severity))},
        {"score", a.score},
        {"reasons", std::move(reasons)},
        {"score_breakdown", std::move(breakdown)},
        {"process", std::move(process)},
        {"file", std::move(file)},
        {"destination",
         {
             {"op", std::string(to_string(a.destination.op))},
             {"protocol", proto_text(a.destination.protocol)},
             {"addr", a.destination.addr.to_string()},
             {"port", a.destination.port},
             {"family", a.destination.addr.family == AF_INET6 ? "ipv6" : "ipv4"},
             {"bytes", a.destination.bytes},
             {"category", a.destination.category.empty() ? json(nullptr)
                                                         : json(detail::json_string(a.destination.category))},
             {"accepted", a.destination.accepted},
         }},
        {"order", std::string(to_string(a.order))},
        {"connection_ts_ns", a.connection_ts.count() != 0 ? json(a.connection_ts.count()) : json(nullptr)},
        {"retention", std::string(to_string(a.retention))},
        {"delta_ns", a.delta.count()},
        {"parent", a.parent ? detail::process_ref_json(*a.parent) : json(nullptr)},
        {"grandparent", a.grandparent ? detail::process_ref_json(*a.grandparent) : json(nullptr)},
        {"relation", std::string(to_string(a.relation))},
        {"reader", detail::process_ref_json(a.reader)},
        {"ancestry", std::move(ancestry)},
    };
    out["container"] = a.container ? detail::container_json(*a.container) : json(nullptr);
    out["k8s"] = a.container && a.container->in_pod() ? detail::k8s_json(*a.container) : json(nullptr);
    if (a.baseline != baseline_verdict::none) out["baseline"] = std::string(to_string(a.baseline));
    if (a.incident != 0) out["incident"] = a.incident;
    if (a.repeats) out["repeats"] = detail::repeat_counts_json(*a.repeats);
    return out;
}

// The alert as the seed's box (docs/alerts.md), one '\n'-terminated line
// per row. Every value from the event or the config is passed through
// detail::text_safe.
[[nodiscard]] inline std::string render_text(const alert& a) {
    using detail::text_safe;
    std::string out;
    const auto rule = [](std::size_t n) {
        std::string r;
        for (std::size_t i = 0; i < n; ++i) r += "\u2500";
        return r;
    };
    const auto row = [&out](std::string_view label, std::string_view value) {
        out += "\u2502  ";
        out += label;
        out.append(label.size() < 9 ? 9 - label.size() : 0, ' ');
        out += value.empty() ? ":" : ": ";
        out += value;
        out += '\n';
    };
    const auto who = [](const process_ref& p) {
        return (p.comm.empty() ? std::string("?") : text_safe(p.comm)) + " (pid " + std::to_string(p.pid) + ")";
    };

    out += "\u250c\u2500 barbwire alert \u2014 PID " + std::to_string(a.process.pid) + "  " + rule(13) + "\n";
    std::string command = a.process.comm.empty() ? std::string("?") : text_safe(a.process.comm);
    if (!a.process.exe.empty()) command += " (" + text_safe(a.process.exe) + ")";
    row("command", command);
    if (a.container) row("container", detail::container_text(*a.container));
    if (!a.process.sha256.empty()) row("sha256", text_safe(a.process.sha256));
    // Only when trust has something to say: a file that is not the host's,
    // or an entry naming the path that was refused.
    if (!a.trust.refused.empty() || a.trust.host_file == std::optional<bool>(false)) {
        std::string trust = !a.trust.host_file ? std::string("host file unknown")
                            : *a.trust.host_file ? std::string("the host's file")
                                                 : std::string("NOT the host's file");
        trust += a.trust.package.empty() ? ", no package" : ", package " + text_safe(a.trust.package);
        if (!a.trust.refused.empty()) trust += "; " + text_safe(a.trust.refused);
        row("trust", trust);
    }
    if (a.script) {
        std::string script = text_safe(a.script->path);
        if (a.script->ino == 0) script += " (not opened yet: no identity)";
        else if (!a.script->sha256.empty()) script += " sha256 " + text_safe(a.script->sha256);
        row("script", script);
    }
    if (a.foreign != 0) {
        std::string foreign;
        for (const auto& r : foreign_reasons(a.foreign)) foreign += (foreign.empty() ? "" : ", ") + r;
        row("foreign", foreign + ": not trusted");
    }
    std::string file = text_safe(a.file.path);
    if (a.file.in_container)
        file += a.file.host_path.empty() ? " (in the container)"
                                         : " (in the container; on the host " + text_safe(a.file.host_path) + ")";
    if (!a.file.same_inode_as.empty()) file += " (same inode as " + text_safe(a.file.same_inode_as) + ")";
    if (a.file.source != access_path::syscall) file += " [via " + std::string(to_string(a.file.source)) + "]";
    row("file", file);
    if (const derived_origin* d = a.file.derived_from.get())
        row("derived", "from " + text_safe(d->path) + " (" + text_safe(d->category) + "), written by " +
                           who(d->writer) + " " + detail::duration_text(elapsed(d->written_ts, a.file.ts)) + " before the read");
    std::string dest = detail::endpoint(a.destination.addr, a.destination.port);
    if (a.destination.op == net_op::send || a.destination.protocol != ip_proto::tcp)
        dest += " " + proto_text(a.destination.protocol);
    if (a.destination.bytes != 0) dest += ", " + std::to_string(a.destination.bytes) + " bytes";
    if (!a.destination.category.empty()) dest += " [" + text_safe(a.destination.category) + "]";
    if (a.destination.accepted) dest += " (a connection accepted here)";
    row(a.destination.op == net_op::send ? "send" : "connect", dest);
    // A connect always follows the read it completes; a send says which came first.
    if (a.destination.op == net_op::send) {
        std::string order(to_string(a.order));
        if (a.order == event_order::connection_then_read && a.connection_ts.count() != 0)
            order += " (connected " + detail::duration_text(elapsed(a.connection_ts, a.file.ts)) + " before the read)";
        row("order", order);
    }
    if (a.retention != retention::window)
        row("held", std::string(a.retention == retention::held ? "read by the sender itself "
                                                                  : "inherited at fork from the reader, read ") +
                        detail::duration_text(a.delta) + " before it sent, past the window");
    row("severity", to_string(a.severity));
    row("score", std::to_string(a.score));
    std::string reasons;
    for (const auto& part : a.breakdown) {
        if (!reasons.empty()) reasons += ", ";
        reasons += text_safe(part.reason);
    }
    row("reasons", reasons);
    if (a.parent) row("parent", who(*a.parent));
    if (a.grandparent) row("gparent", who(*a.grandparent));
    if (a.baseline != baseline_verdict::none) row("baseline", to_string(a.baseline));
    if (a.repeats) row("repeats", "since the previous alert: " + detail::repeat_counts_text(*a.repeats));
    // A family alert (the reader is another process) names the reader and
    // draws the chain as a small tree, from the session leader down to the
    // sender, with the reader where it hangs: on the sender's line or an
    // ancestor's ([read]), beside the sender (a sibling), below it (a
    // descendant), or apart (elsewhere in the session). A self alert keeps
    // the seed's rows.
    if (a.relation != relation::self) {
        std::string reader = who(a.reader);
        if (!a.reader.exe.empty()) reader += " " + text_safe(a.reader.exe);
        row("relation", to_string(a.relation));
        row("reader", reader);
        if (!a.reader.sha256.empty()) row("sha256", text_safe(a.reader.sha256));
        if (!a.ancestry.empty()) {
            row("lineage", "");
            const auto line = [&out](std::size_t depth, std::string_view branch, const std::string& text) {
                out += "\u2502    ";
                out.append(depth * 2, ' ');
                if (depth != 0) out += branch;
                out += text;
                out += '\n';
            };
            std::size_t depth = 0;
            for (auto it = a.ancestry.rbegin(); it != a.ancestry.rend(); ++it, ++depth) {
                const bool sender = it->pid == a.process.pid;
                if (sender && a.relation == relation::sibling && depth != 0)
                    line(depth, "\u251c\u2500 ", who(a.reader) + " [read]");
                std::string text = who(*it);
                if (sender) text += " [sent]";
                if (it->pid == a.reader.pid) text += " [read]";
                line(depth, "\u2514\u2500 ", text);
            }
            if (a.relation == relation::descendant)
                line(depth, "\u2514\u2500 ", "\u2026 " + who(a.reader) + " [read]");
            else if (a.relation == relation::session)
                line(0, "", "(elsewhere in the session) " + who(a.reader) + " [read]");
        }
    }
    out += "\u2514" + rule(45) + "\n";
    return out;
}

} // namespace barbwire
