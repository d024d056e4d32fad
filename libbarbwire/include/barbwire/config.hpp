#pragma once
// Rules configuration: a JSON tree (nlohmann::json) parsed into a validated
// `config`. The seed's YAML file is converted to the same tree by yaml.hpp.
//
// The schema is the seed's (window_duration, suspicious_files, suspicious_parents,
// legit_parents, whitelist, severity_thresholds, alert_threshold) plus a few
// documented extensions (`comm:`/`exe:` parent keys, CIDR allowlist entries,
// `limits`, `context` categories, `trusted_binaries`, `family`, `rate_limit`,
// and issue 12's `allowlist`, `dns`, `held`, `taint`). docs/config.md is the
// reference for every key; docs/rules.md explains the built-in rules.
//
// Validation is strict: an unknown key anywhere is an error (with a "did you
// mean" suggestion), because a typo in a security rule file must never
// silently disable a rule. Every error message is one line that starts with
// the path of the offending value, e.g. `suspicious_files[1].base_score: ...`.

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "barbwire/detail/default_rules.hpp"
#include "barbwire/error.hpp"
#include "barbwire/event.hpp"

namespace barbwire {

enum class severity : std::uint8_t { low = 0, medium = 1, high = 2 };

[[nodiscard]] constexpr std::string_view to_string(severity s) noexcept {
    switch (s) {
    case severity::low: return "LOW";
    case severity::medium: return "MEDIUM";
    case severity::high: return "HIGH";
    }
    return "LOW";
}

// A category of sensitive files (seed: suspicious_files[]).
// extension `scope` (issue 14) of a file category or a trusted binary:
// where it holds. A process is in a container when the sensor verified its
// container (container_info::verified: the runtime's own state confirms
// the id); an unverified claim counts as the host.
enum class rule_scope : std::uint8_t { any, host, container };

[[nodiscard]] constexpr std::string_view to_string(rule_scope s) noexcept {
    switch (s) {
    case rule_scope::any: return "any";
    case rule_scope::host: return "host";
    case rule_scope::container: return "container";
    }
    return "any";
}

[[nodiscard]] constexpr bool scope_fits(rule_scope s, bool in_container) noexcept {
    return s == rule_scope::any || (s == rule_scope::container) == in_container;
}

struct file_category {
    std::string name;                  // seed key: category
    int base_score = 0;                // seed key: base_score
    std::vector<std::string> patterns; // seed semantics: substring of the absolute path
    // extension `context: true`: files that are worth knowing about but are no
    // evidence (libc's public files): an open of one is never a candidate for
    // correlation, so it never makes an alert. Default false: the seed's meaning.
    bool context = false;
    rule_scope scope = rule_scope::any; // extension `scope`: whose opens it counts for

    // Seed semantics: a pattern matches when it occurs anywhere in the path.
    [[nodiscard]] bool matches(std::string_view path) const noexcept {
        return std::any_of(patterns.begin(), patterns.end(),
                           [path](const std::string& p) { return path.find(p) != std::string_view::npos; });
    }
    friend bool operator==(const file_category&, const file_category&) = default;
};

// What a parent rule compares against.
enum class process_field : std::uint8_t {
    comm, // seed keys `program:` and `comm:`: the task name (spoofable; see parent_rule)
    exe,  // `exe:` the kernel executable path, exact
    sha256, // `sha256:` SHA-256 of the executable (64 lowercase hex digits), exact
};

namespace detail {
// The name the kernel would give a process running `exe`: its basename, cut
// to the 15 bytes of a task name. Empty for an unknown exe.
[[nodiscard]] inline std::string_view exe_name(std::string_view exe) noexcept {
    if (exe.empty()) return {};
    const auto slash = exe.rfind('/');
    std::string_view base = slash == std::string_view::npos ? exe : exe.substr(slash + 1);
    return base.substr(0, BW_COMM_LEN - 1);
}

// Directories whose files only root can install on a conventional system:
// an executable under one of them was put there by the package manager or
// an administrator, not dropped by an unprivileged attacker (who can write
// /tmp, /dev/shm, /var/tmp and their home).
inline constexpr std::string_view system_exe_dirs[] = {"/usr/", "/bin/", "/sbin/", "/lib/",
                                                       "/lib32/", "/lib64/", "/libx32/", "/opt/"};

[[nodiscard]] inline bool in_system_dir(std::string_view exe) noexcept {
    for (std::string_view d : system_exe_dirs)
        if (exe.starts_with(d)) return true;
    return false;
}

// True when the task name `comm` is backed by the executable: the kernel exe
// has that name and lies in a system directory. prctl(PR_SET_NAME), a
// symlink or copy under another name, or a binary run from /tmp fail it.
[[nodiscard]] inline bool name_backed_by_exe(std::string_view comm, std::string_view exe) noexcept {
    return !comm.empty() && exe_name(exe) == comm && in_system_dir(exe);
}
} // namespace detail

// seed: suspicious_parents[] / legit_parents[]
struct parent_rule {
    process_field field = process_field::comm;
    std::string value;
    int modifier = 0;

    // Does a process with this comm, kernel exe path and executable hash
    // match? `exe` and `sha256` rules compare exactly (an unknown, empty,
    // hash never matches). A name rule (`program:`/`comm:`) depends on what
    // a match would do, because anyone can set a task name:
    //  * a modifier > 0 (more suspicion) matches the comm OR the exe's name
    //    (detail::exe_name), so a bash that renamed itself is still bash;
    //  * a modifier <= 0 (less suspicion, or none) matches only a comm backed by the
    //    executable (detail::name_backed_by_exe): a process calling itself
    //    "systemd", or a copy of python at /tmp/x/systemd, lowers nothing.
    [[nodiscard]] bool matches(std::string_view comm, std::string_view exe,
                               std::string_view sha256 = {}) const noexcept {
        switch (field) {
        case process_field::comm:
            if (modifier > 0) return comm == value || (!exe.empty() && detail::exe_name(exe) == value);
            return comm == value && detail::name_backed_by_exe(comm, exe);
        case process_field::exe: return exe == value;
        case process_field::sha256: return sha256 == value;
        }
        return false;
    }
    friend bool operator==(const parent_rule&, const parent_rule&) = default;
};

namespace detail {
[[nodiscard]] inline std::uint8_t full_prefix(const ip_address& a) noexcept { return a.is_v4() ? 32 : 128; }

// True when `a` is an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
[[nodiscard]] inline bool is_v4_mapped(const ip_address& a) noexcept {
    if (a.is_v4()) return false;
    for (std::size_t i = 0; i < 10; ++i)
        if (a.bytes[i] != 0) return false;
    return a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}

// Compares the first `prefix` bits of two byte strings.
[[nodiscard]] constexpr bool prefix_equal(const std::uint8_t* a, const std::uint8_t* b, unsigned prefix) noexcept {
    unsigned whole = prefix / 8;
    for (unsigned i = 0; i < whole; ++i)
        if (a[i] != b[i]) return false;
    unsigned rest = prefix % 8;
    if (rest == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xffu << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}
} // namespace detail

// An allowlisted destination network: an address with a prefix length.
struct ip_network {
    ip_address addr;
    std::uint8_t prefix = 32; // 32 for a single IPv4, 128 for a single IPv6

    // Does `a` fall inside this network? An IPv4-mapped IPv6 address
    // (::ffff:1.2.3.4) is compared as the IPv4 address it carries.
    [[nodiscard]] bool contains(const ip_address& a) const noexcept {
        if (addr.family == a.family) return detail::prefix_equal(addr.bytes.data(), a.bytes.data(), prefix);
        if (addr.is_v4() && detail::is_v4_mapped(a)) return detail::prefix_equal(addr.bytes.data(), a.bytes.data() + 12, prefix);
        return false;
    }

    // "8.8.8.8" for a single address, "10.0.0.0/8" for a network.
    [[nodiscard]] std::string to_string() const {
        std::string s = addr.to_string();
        if (prefix != detail::full_prefix(addr)) s += "/" + std::to_string(prefix);
        return s;
    }

    // Parses "8.8.8.8", "2001:db8::1", "10.0.0.0/8" or "fd00::/8". Host bits
    // must be zero and the prefix must be at least 1.
    [[nodiscard]] static std::optional<ip_network> parse(std::string_view text);

    friend bool operator==(const ip_network&, const ip_network&) = default;
};

// How a process that read a sensitive file is related to the process that
// made the network call (docs/design.md, "Process families").
enum class relation : std::uint8_t {
    self = 0,       // the same process
    ancestor = 1,   // the reader is an ancestor of the sender (within its session)
    descendant = 2, // the reader is a descendant of the sender (within its session)
    sibling = 3,    // same (non-init) parent and same process group: a pipeline
    session = 4,    // any other process of the same session (cousins, $() children)
};

[[nodiscard]] constexpr std::string_view to_string(relation r) noexcept {
    switch (r) {
    case relation::self: return "self";
    case relation::ancestor: return "ancestor";
    case relation::descendant: return "descendant";
    case relation::sibling: return "sibling";
    case relation::session: return "session";
    }
    return "self";
}

inline constexpr std::array<relation, 5> all_relations = {relation::self, relation::ancestor, relation::descendant,
                                                         relation::sibling, relation::session};

// Family correlation policy (config key `family`, an extension): per
// relation, whether it correlates and the modifier it adds to the score.
struct family_rule {
    bool enabled = true;
    int modifier = 0;
    friend bool operator==(const family_rule&, const family_rule&) = default;
};

struct family_policy {
    std::array<family_rule, 5> rules{{{true, 0}, {true, 0}, {true, 0}, {true, 0}, {true, -1}}};
    [[nodiscard]] const family_rule& operator[](relation r) const noexcept {
        return rules[static_cast<std::size_t>(r)];
    }
    [[nodiscard]] family_rule& operator[](relation r) noexcept { return rules[static_cast<std::size_t>(r)]; }
    friend bool operator==(const family_policy&, const family_policy&) = default;
};

// Capacities of the correlator's tables. Every table evicts its oldest entry
// when full and counts the eviction.
struct limits {
    std::size_t max_processes = 65536;
    std::size_t max_opens_per_process = 16;
    std::size_t max_tracked_openers = 16384; // processes holding recent sensitive opens
    std::size_t max_dedup_entries = 16384;
    std::size_t max_file_identities = 16384; // (dev, ino) -> the path the rules know the file by
    std::size_t max_holders = 16384;         // live processes that hold a secret past the window (held.hpp)
    std::size_t max_derived_files = 4096;    // files written by a family that held a secret (taint.hpp)
    friend bool operator==(const limits&, const limits&) = default;
};

// What the trust rules look at in a program: a process's executable, as
// the sensor examined it (docs/rules.md, "Trust by path").
struct exe_facts {
    std::string_view exe;    // kernel executable path; empty when unknown
    std::string_view sha256; // empty when unknown
    std::optional<std::uint32_t> uid;  // owner of the executable
    std::optional<std::uint32_t> mode; // its st_mode & 07777
    std::optional<bool> host_file;     // the exe's inode is the host's file at `exe`; nullopt: unknown
    std::string_view package;          // the dpkg package that ships `exe` with this content; empty: none
    std::uint32_t foreign = 0;         // foreign code seen in the process (bitmask); 0: none
    bool in_container = false;         // the process runs in a verified container (rule_scope)
};

// Why trust by path alone (a rule that names `exe` and pins no sha256) does
// not hold for `who`, or "" when it holds. The path is only a name: it holds
// when the file running is the host's file at that path (not a bind mount,
// a copy, an overlay or a file in another mount namespace that carries the
// name), unmodified (a dpkg package lists that path with this content's
// MD5), owned by root and not writable by group or others (whoever can
// write the file can replace what runs under the trusted name).
[[nodiscard]] inline std::string_view path_trust_refusal(const exe_facts& who) noexcept {
    if (who.exe.empty()) return "the executable is unknown";
    if (!who.host_file) return "unknown whether it is the host's file at that path";
    if (!*who.host_file)
        return "not the host's file at that path (a bind mount, a copy, an overlay or another mount namespace)";
    if (who.package.empty()) return "not verified unmodified: no dpkg package lists this path with this content";
    if (!who.uid || !who.mode) return "its owner or mode is unknown";
    if (*who.uid != 0) return "not owned by root";
    if ((*who.mode & 022u) != 0) return "writable by group or others";
    return {};
}

// extension `trusted_binaries[i]`: an executable whose opens of files in
// the listed categories (all categories when the list is empty) do not count:
// they are not remembered as sensitive opens, so they never make an alert.
// docs/rules.md, "Trusted binaries", says why path-only trust is limited.
struct trusted_binary {
    std::string exe;                     // exact kernel executable path; empty: any path
    std::string sha256;                  // 64 lowercase hex digits; empty: trust by path alone
    std::vector<std::string> categories; // category names; empty: every category
    rule_scope scope = rule_scope::any;  // extension `scope`: where the trust holds

    // Path rule: a path alone (no sha256) trusts only the host's file at
    // that path, unmodified (package provenance), owned by root (uid 0) and
    // not writable by group or others: path_trust_refusal says which part
    // failed. Anything unknown is not trusted. A sha256 must equal the
    // executable's hash (unknown never matches), and the path too when given:
    // the content is then the identity.
    [[nodiscard]] bool matches(const exe_facts& who) const noexcept {
        if (!scope_fits(scope, who.in_container)) return false;
        if (!exe.empty() && who.exe != exe) return false;
        if (!sha256.empty()) return who.sha256 == sha256;
        if (exe.empty()) return false; // parse_config never produces this
        return path_trust_refusal(who).empty();
    }
    [[nodiscard]] bool covers(std::string_view category) const noexcept {
        return categories.empty() || std::find(categories.begin(), categories.end(), category) != categories.end();
    }
    friend bool operator==(const trusted_binary&, const trusted_binary&) = default;
};

// extension `allowlist[i]`: a destination allowed for one program, or for
// every program. An entry matches a network event when EVERY part it names
// matches: the sending program (by `exe`, trusted like trusted_binaries:
// the host's file, unmodified, root-owned and not group/other-writable, or by `sha256`), an address in
// `ips`, a port in `ports`. Parts left out match anything; an entry names at
// least one. The seed's `whitelist` (ips OR ports, any program) is kept as
// it was and checked first.
struct allow_rule {
    std::string exe;                 // exact kernel executable path; empty: any program (or by sha256)
    std::string sha256;              // 64 lowercase hex digits; empty: by path, or any program
    std::vector<ip_network> ips;     // empty: any address
    std::vector<std::uint16_t> ports; // empty: any port

    [[nodiscard]] bool names_program() const noexcept { return !exe.empty() || !sha256.empty(); }
    // The program part, with trusted_binary's identity rules.
    [[nodiscard]] bool program_matches(const exe_facts& who) const noexcept {
        if (!names_program()) return true;
        if (!exe.empty() && who.exe != exe) return false;
        if (!sha256.empty()) return who.sha256 == sha256;
        return path_trust_refusal(who).empty();
    }
    [[nodiscard]] bool destination_matches(const ip_address& a, std::uint16_t port) const noexcept {
        if (!ports.empty() && std::find(ports.begin(), ports.end(), port) == ports.end()) return false;
        if (!ips.empty() && std::none_of(ips.begin(), ips.end(), [&a](const ip_network& n) { return n.contains(a); }))
            return false;
        return true;
    }
    friend bool operator==(const allow_rule&, const allow_rule&) = default;
};

// extension `dns`: traffic to a name-service port from a family that holds
// a secret is evidence of its own (destination category `category`), with a
// modifier of its own: a send no larger than a name lookup (`max_query_bytes`)
// scores `modifier` (the built-in rules: -2, so only the strongest secrets
// alert on lookup-sized traffic), a larger one `oversize_modifier`. Connects
// to those ports count as lookup-sized. No port is allowlisted for it.
struct dns_policy {
    std::vector<std::uint16_t> ports{53};
    std::string category = "dns";
    int modifier = 0;
    std::uint64_t max_query_bytes = 512;
    int oversize_modifier = 0;
    friend bool operator==(const dns_policy&, const dns_policy&) = default;
};

// extension `held`: a process that read a secret keeps it in memory for as
// long as it lives (a fork inherits it until it execs). Its sends past the
// window still correlate with that read, with `modifier`, or
// `stale_modifier` once the read is older than `stale_after`. Only the
// process itself (and its forks) holds it: relatives past the window do not.
struct held_policy {
    bool enabled = true;
    int modifier = -1;
    nanoseconds stale_after = std::chrono::minutes{10};
    int stale_modifier = -2;
    bool inherit = true; // a fork (without exec) holds what its parent held
    friend bool operator==(const held_policy&, const held_policy&) = default;
};

// extension `taint`: a regular file written by a family that read a
// secret within the window becomes a derived secret (a secret merely held
// longer than that does not taint what the process writes): its opens
// count as opens of the secret it came from, at the origin's base score
// plus `modifier`, from any session.
struct taint_policy {
    bool enabled = true;
    int modifier = 0;
    friend bool operator==(const taint_policy&, const taint_policy&) = default;
};

struct config {
    nanoseconds window = std::chrono::seconds{5};     // seed: window_duration (seconds)
    std::vector<file_category> suspicious_files;
    std::vector<parent_rule> suspicious_parents;     // positive modifiers
    std::vector<parent_rule> legit_parents;          // negative modifiers
    std::vector<ip_network> allow_ips;               // seed: whitelist.ips
    std::vector<std::uint16_t> allow_ports;          // seed: whitelist.ports
    int severity_medium = 3;                         // seed: severity_thresholds.medium
    int severity_high = 5;                           // seed: severity_thresholds.high
    int alert_threshold = 3;                         // seed: alert_threshold
    struct limits limits;
    family_policy family;                            // extension: family correlation
    std::vector<trusted_binary> trusted_binaries;    // extension: opens that do not count
    // extension: rate limiting of repeated alerts (dedup.hpp, incident_table):
    // one alert per incident (same secret, same family scope, same sending
    // program), the repeats within this quiet period counted and summarized.
    // 0: off (only the seed's per-process dedup applies).
    nanoseconds rate_limit_period = std::chrono::seconds{60};
    std::vector<allow_rule> allowlist;               // extension: destinations allowed per program
    dns_policy dns;                                  // extension: name-service traffic as evidence
    held_policy held;                                // extension: secrets kept past the window
    taint_policy taint;                              // extension: derived secrets (files written)
    // extension `interpreters`: the programs (by the comm an exec gives them:
    // the file name, at most 15 bytes; a trailing '*' matches any rest) whose
    // exec with a script argument (argv[1], not an option) runs a script: the
    // process's program identity is then that script (docs/rules.md, "Scripts
    // and foreign code"). A #! exec is a script exec whatever the interpreter.
    std::vector<std::string> interpreters = default_interpreters();

    [[nodiscard]] static std::vector<std::string> default_interpreters() {
        return {"python3*", "python2*", "python", "perl", "perl5*", "ruby", "ruby*", "node", "nodejs",
                "bash",     "sh",       "dash",   "zsh",  "ksh",    "php",  "php*"};
    }
    static constexpr std::size_t max_interpreters = 16; // BW_INTERP_MAX

    [[nodiscard]] severity classify(int score) const noexcept {
        if (score >= severity_high) return severity::high;
        if (score >= severity_medium) return severity::medium;
        return severity::low;
    }

    // Is the destination allowlisted (seed: whitelist.ips OR whitelist.ports)?
    [[nodiscard]] bool allowlisted(const ip_address& a, std::uint16_t port) const noexcept {
        if (std::find(allow_ports.begin(), allow_ports.end(), port) != allow_ports.end()) return true;
        return std::any_of(allow_ips.begin(), allow_ips.end(), [&a](const ip_network& n) { return n.contains(a); });
    }
    // ... or allowed for this program (allowlist)?
    [[nodiscard]] bool allowlisted(const ip_address& a, std::uint16_t port, const exe_facts& who) const noexcept {
        if (allowlisted(a, port)) return true;
        return std::any_of(allowlist.begin(), allowlist.end(), [&](const allow_rule& r) {
            return r.destination_matches(a, port) && r.program_matches(who);
        });
    }
    // Is this a name-service destination (dns.ports)?
    [[nodiscard]] bool dns_port(std::uint16_t port) const noexcept {
        return std::find(dns.ports.begin(), dns.ports.end(), port) != dns.ports.end();
    }

    friend bool operator==(const config&, const config&) = default;
};

// ---------------------------------------------------------------------------
// Bounds enforced by parse_config (documented in docs/config.md).
namespace config_bounds {
inline constexpr double max_window_seconds = 86400.0; // 1 day
inline constexpr int max_base_score = 100;
inline constexpr int max_modifier = 100;              // |modifier|
inline constexpr int max_threshold = 1000;
inline constexpr std::size_t max_category_name = 128;
inline constexpr std::size_t max_pattern = 4096;      // PATH_MAX
inline constexpr std::size_t max_comm = 15;           // TASK_COMM_LEN - 1
inline constexpr std::size_t max_processes = 4194304; // PID_MAX_LIMIT
inline constexpr std::size_t max_opens_per_process = 4096;
inline constexpr std::size_t max_tracked_openers = 4194304;
inline constexpr std::size_t max_dedup_entries = 16777216;
inline constexpr std::size_t max_file_identities = 1048576;
inline constexpr std::size_t max_holders = 4194304;      // live processes: PID_MAX_LIMIT
inline constexpr std::size_t max_derived_files = 1048576; // like max_file_identities
inline constexpr std::int64_t max_query_bytes = 65535;    // a DNS message over UDP or TCP
} // namespace config_bounds

namespace detail {

using json = nlohmann::json;

// A validation failure: the JSON path of the offending value (for line
// lookups by yaml.hpp) and the full one-line message (which starts with it).
struct config_error {
    std::string path;
    std::string message;
};
template <class T>
using config_result = tl::expected<T, config_error>;

[[nodiscard]] inline tl::unexpected<config_error> config_fail(std::string path, std::string why) {
    std::string msg = (path.empty() ? std::string("config") : path) + ": " + why;
    return tl::unexpected<config_error>(config_error{std::move(path), std::move(msg)});
}

[[nodiscard]] inline std::string quote(std::string_view s) {
    return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Path components: `a.b`, `a[3]`; keys that are not [A-Za-z0-9_-]+ are quoted.
[[nodiscard]] inline std::string path_key(std::string_view parent, std::string_view key) {
    bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
    std::string k = plain ? std::string(key) : quote(key);
    if (parent.empty()) return k;
    std::string p(parent);
    p += '.';
    p += k;
    return p;
}
[[nodiscard]] inline std::string path_index(std::string_view parent, std::size_t i) {
    std::string p(parent);
    p += '[';
    p += std::to_string(i);
    p += ']';
    return p;
}

// "a string (\"five\")", "an array", ...: what the user wrote, for messages.
[[nodiscard]] inline std::string describe(const json& v) {
    switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return std::string("a boolean (") + (v.get<bool>() ? "true" : "false") + ")";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer (" + v.dump() + ")";
    case json::value_t::number_float: {
        double d = v.get<double>();
        if (std::isnan(d)) return "a number (NaN)";
        if (std::isinf(d)) return d > 0 ? "a number (inf)" : "a number (-inf)";
        return "a non-integer number (" + v.dump() + ")";
    }
    case json::value_t::string: {
        const auto& s = v.get_ref<const std::string&>();
        if (s.size() > 48) return "a string (" + quote(s.substr(0, 45)) + "...)";
        return "a string (" + quote(s) + ")";
    }
    case json::value_t::array: return "a list";
    case json::value_t::object: return "a mapping";
    default: return "an unsupported value";
    }
}

using key_list = std::span<const std::string_view>;

// Optimal string alignment distance (Levenshtein plus transpositions), ASCII
// case-insensitive.
[[nodiscard]] inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    auto low = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    const std::size_t n = a.size(), m = b.size();
    std::vector<std::size_t> d((n + 1) * (m + 1));
    auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
    for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
    for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
    for (std::size_t i = 1; i <= n; ++i) {
        for (std::size_t j = 1; j <= m; ++j) {
            std::size_t cost = low(a[i - 1]) == low(b[j - 1]) ? 0 : 1;
            std::size_t v = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && low(a[i - 1]) == low(b[j - 2]) && low(a[i - 2]) == low(b[j - 1]))
                v = std::min(v, at(i - 2, j - 2) + 1);
            at(i, j) = v;
        }
    }
    return at(n, m);
}

// The known key closest to `key`, when it is close enough to be a typo.
[[nodiscard]] inline std::optional<std::string_view> closest_key(std::string_view key,
                                                                 key_list known) {
    if (key.size() > 64) return std::nullopt;
    std::optional<std::string_view> best;
    std::size_t best_d = std::numeric_limits<std::size_t>::max();
    for (auto k : known) {
        std::size_t d = edit_distance(key, k);
        if (d < best_d) {
            best_d = d;
            best = k;
        }
    }
    if (!best) return std::nullopt;
    std::size_t allowed = best->size() <= 4 ? 1 : (best->size() <= 8 ? 2 : 3);
    if (best_d <= allowed) return best;
    return std::nullopt;
}

[[nodiscard]] inline std::string join_keys(key_list known) {
    std::string s;
    for (std::size_t i = 0; i < known.size(); ++i) {
        if (i) s += ", ";
        s += known[i];
    }
    return s;
}

// Every key of `obj` must be in `known`.
[[nodiscard]] inline config_result<void> check_keys(const json& obj, std::string_view path, key_list known) {
    for (const auto& item : obj.items()) {
        const std::string& key = item.key();
        if (std::find(known.begin(), known.end(), std::string_view(key)) != known.end()) continue;
        std::string why = "unknown key";
        if (auto s = closest_key(key, known)) {
            why += " (did you mean ";
            why += *s;
            why += "?)";
        }
        why += "; known keys here: " + join_keys(known);
        return config_fail(path_key(path, key), std::move(why));
    }
    return {};
}

[[nodiscard]] inline const json* find_key(const json& obj, std::string_view key) {
    auto it = obj.find(std::string(key));
    return it == obj.end() ? nullptr : &*it;
}

// An integer in [lo, hi]; booleans and non-integer numbers are rejected.
[[nodiscard]] inline config_result<std::int64_t> get_int(const json& v, const std::string& path, std::int64_t lo,
                                                         std::int64_t hi, std::string_view what = "an integer") {
    auto fail = [&] {
        return config_fail(path, "expected " + std::string(what) + " from " + std::to_string(lo) + " to " +
                                     std::to_string(hi) + ", got " + describe(v));
    };
    if (!v.is_number_integer()) return fail();
    std::int64_t i = 0;
    if (v.is_number_unsigned()) {
        auto u = v.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return fail();
        i = static_cast<std::int64_t>(u);
    } else {
        i = v.get<std::int64_t>();
    }
    if (i < lo || i > hi) return fail();
    return i;
}

// A non-empty string of at most `max_len` bytes, with no NUL byte (and, when
// `no_control`, no control characters).
[[nodiscard]] inline config_result<std::string> get_string(const json& v, const std::string& path,
                                                           std::string_view what, std::size_t max_len,
                                                           bool no_control = false) {
    if (!v.is_string()) return config_fail(path, "expected " + std::string(what) + ", got " + describe(v));
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty()) return config_fail(path, "must not be empty; expected " + std::string(what));
    if (s.size() > max_len)
        return config_fail(path, "is " + std::to_string(s.size()) + " bytes long; expected " + std::string(what) +
                                     " of at most " + std::to_string(max_len) + " bytes");
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == 0) return config_fail(path, "contains a NUL byte; expected " + std::string(what));
        if (no_control && (c < 0x20 || c == 0x7f))
            return config_fail(path, "contains a control character; expected " + std::string(what) +
                                         " on one line without control characters");
    }
    return s;
}

// A list (null counts as an empty list).
[[nodiscard]] inline config_result<const json*> get_list(const json& v, const std::string& path,
                                                         std::string_view what) {
    if (v.is_null()) return &v; // size() of null is 0
    if (!v.is_array()) return config_fail(path, "expected a list of " + std::string(what) + ", got " + describe(v));
    return &v;
}

// A mapping (null counts as an empty mapping) whose keys are all known.
[[nodiscard]] inline config_result<const json*> get_object(const json& v, const std::string& path, key_list known) {
    if (v.is_null()) return &v; // find() on null finds nothing
    if (!v.is_object())
        return config_fail(path, "expected a mapping with keys " + join_keys(known) + ", got " + describe(v));
    if (auto ok = check_keys(v, path, known); !ok) return tl::unexpected(ok.error());
    return &v;
}

// "10.0.0.0/8" -> network; a reason on failure.
[[nodiscard]] inline tl::expected<ip_network, std::string> parse_network(std::string_view text) {
    const std::string_view example = "expected an IPv4 or IPv6 address or CIDR network such as \"8.8.8.8\", "
                                     "\"2001:4860:4860::8888\" or \"10.0.0.0/8\"";
    auto slash = text.find('/');
    auto addr = ip_address::parse(text.substr(0, slash));
    if (!addr) return tl::unexpected("is not an IP address; " + std::string(example));
    ip_network n{*addr, detail::full_prefix(*addr)};
    if (slash == std::string_view::npos) return n;
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return tl::unexpected("has a bad prefix length after '/'; " + std::string(example));
    unsigned p = 0;
    for (char c : digits) p = p * 10 + static_cast<unsigned>(c - '0');
    unsigned maxp = detail::full_prefix(*addr);
    if (p > maxp)
        return tl::unexpected("has prefix length /" + std::to_string(p) + "; expected /1 to /" + std::to_string(maxp) +
                              " for an IPv" + (addr->is_v4() ? "4" : "6") + " network");
    if (p == 0)
        return tl::unexpected(std::string("has prefix length /0, which would allowlist every destination; "
                                          "expected /1 to /") + std::to_string(maxp));
    n.prefix = static_cast<std::uint8_t>(p);
    // Host bits must be zero: "10.0.0.1/8" is most likely a mistake.
    ip_network canon = n;
    for (unsigned bit = p; bit < maxp; ++bit)
        canon.addr.bytes[bit / 8] = static_cast<std::uint8_t>(canon.addr.bytes[bit / 8] & ~(0x80u >> (bit % 8)));
    if (canon.addr != n.addr)
        return tl::unexpected("has host bits set after the /" + std::to_string(p) + " prefix; expected the network address (did you mean \"" +
                              canon.to_string() + "\"?)");
    return n;
}

// ---------------------------------------------------------------------------

inline constexpr std::array<std::string_view, 16> root_keys = {
    "window_duration", "suspicious_files", "suspicious_parents", "legit_parents",
    "whitelist",       "severity_thresholds", "alert_threshold", "limits", "family",
    "rate_limit", "trusted_binaries", "allowlist", "dns", "held", "taint", "interpreters",
};

// 64 lowercase hexadecimal digits.
[[nodiscard]] inline bool is_sha256_hex(std::string_view s) noexcept {
    return s.size() == 64 &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

[[nodiscard]] inline config_result<nanoseconds> parse_window(const json& v, const std::string& path) {
    const std::string expected = "expected a number of seconds greater than 0 and at most 86400 (1 day), "
                                 "such as 5 or 2.5";
    if (!v.is_number()) return config_fail(path, expected + ", got " + describe(v));
    if (v.is_number_integer()) {
        auto r = get_int(v, path, 1, static_cast<std::int64_t>(config_bounds::max_window_seconds));
        if (!r) return config_fail(path, expected + ", got " + describe(v));
        return std::chrono::duration_cast<nanoseconds>(std::chrono::seconds{*r});
    }
    double s = v.get<double>();
    if (!(s > 0.0) || !(s <= config_bounds::max_window_seconds))
        return config_fail(path, expected + ", got " + describe(v));
    auto ns = std::llround(s * 1e9);
    if (ns < 1) return config_fail(path, "is shorter than 1 nanosecond; " + expected);
    return nanoseconds{ns};
}

// "5", "2.5", "0.000000001": a duration in seconds as a config file writes it.
[[nodiscard]] inline std::string seconds_text(nanoseconds d) {
    constexpr std::int64_t ns_per_s = 1'000'000'000;
    const std::int64_t n = d.count();
    std::string s = std::to_string(n / ns_per_s);
    if (std::int64_t frac = n % ns_per_s; frac != 0) {
        std::string f = std::to_string(frac);
        f.insert(0, 9 - f.size(), '0');
        while (!f.empty() && f.back() == '0') f.pop_back();
        s += "." + f;
    }
    return s;
}

// true or false; `meaning` says what true does.
[[nodiscard]] inline config_result<bool> get_bool(const json& v, const std::string& path, std::string_view meaning) {
    if (!v.is_boolean())
        return config_fail(path, "expected true (" + std::string(meaning) + ") or false, got " + describe(v));
    return v.get<bool>();
}

// A score modifier, -100..100.
[[nodiscard]] inline config_result<int> get_modifier(const json& v, const std::string& path) {
    auto m = get_int(v, path, -config_bounds::max_modifier, config_bounds::max_modifier, "an integer score modifier");
    if (!m) return tl::unexpected(m.error());
    return static_cast<int>(*m);
}

// An absolute executable path, as the kernel reports it ("/usr/bin/ssh").
[[nodiscard]] inline config_result<std::string> get_exe_path(const json& v, const std::string& path,
                                                             std::string_view example) {
    const std::string ex = quote(example);
    auto s = get_string(v, path, "an absolute executable path such as " + ex, config_bounds::max_pattern);
    if (!s) return tl::unexpected(s.error());
    if ((*s)[0] != '/')
        return config_fail(path, "is not an absolute path (" + quote(*s) +
                                     "); expected the executable path the kernel reports, such as " + ex);
    return s;
}

// The SHA-256 of an executable: 64 lowercase hexadecimal digits. Uppercase is
// rejected rather than folded, so the rule reads as the alert's sha256 field.
[[nodiscard]] inline config_result<std::string> get_sha256(const json& v, const std::string& path) {
    if (!v.is_string() || !is_sha256_hex(v.get_ref<const std::string&>()))
        return config_fail(path, "expected the SHA-256 of the executable as 64 lowercase hexadecimal digits "
                                 "(sha256sum output), got " + describe(v));
    return v.get<std::string>();
}

// A list of IP addresses or CIDR networks without duplicates (null: empty).
[[nodiscard]] inline config_result<std::vector<ip_network>> parse_networks(const json& v, const std::string& path) {
    auto list = get_list(v, path, "IP addresses or CIDR networks");
    if (!list) return tl::unexpected(list.error());
    std::vector<ip_network> out;
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
        const json& e = (**list)[i];
        std::string ep = path_index(path, i);
        if (!e.is_string())
            return config_fail(ep, "expected an IP address or CIDR network string such as \"8.8.8.8\" or "
                                   "\"10.0.0.0/8\", got " + describe(e));
        const auto& text = e.get_ref<const std::string&>();
        auto n = parse_network(text);
        if (!n) return config_fail(ep, quote(text) + " " + n.error());
        for (std::size_t k = 0; k < out.size(); ++k)
            if (out[k] == *n)
                return config_fail(ep, "duplicate entry " + quote(text) + " (also " + path_index(path, k) +
                                           "); remove one");
        out.push_back(*n);
    }
    return out;
}

// A list of destination ports 1..65535 without duplicates (null: empty).
[[nodiscard]] inline config_result<std::vector<std::uint16_t>> parse_ports(const json& v, const std::string& path) {
    auto list = get_list(v, path, "destination ports");
    if (!list) return tl::unexpected(list.error());
    std::vector<std::uint16_t> out;
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
        std::string ep = path_index(path, i);
        auto p = get_int((**list)[i], ep, 1, 65535, "a destination port");
        if (!p) return tl::unexpected(p.error());
        auto port = static_cast<std::uint16_t>(*p);
        for (std::size_t k = 0; k < out.size(); ++k)
            if (out[k] == port)
                return config_fail(ep, "duplicate port " + std::to_string(port) + " (also " + path_index(path, k) +
                                           "); remove one");
        out.push_back(port);
    }
    return out;
}

// `scope: host | container | any` (rule_scope).
[[nodiscard]] inline config_result<rule_scope> parse_scope(const json& v, const std::string& path) {
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        for (rule_scope r : {rule_scope::any, rule_scope::host, rule_scope::container})
            if (s == to_string(r)) return r;
    }
    return config_fail(path, "expected host, container or any (where the rule holds; default any), got " + describe(v));
}

[[nodiscard]] inline config_result<std::vector<file_category>> parse_files(const json& v, const std::string& path) {
    static constexpr std::array<std::string_view, 5> keys = {"category", "base_score", "patterns", "context", "scope"};
    static constexpr std::array<std::string_view, 3> required = {"category", "base_score", "patterns"};
    auto list = get_list(v, path, "file categories ({category, base_score, patterns})");
    if (!list) return tl::unexpected(list.error());
    std::vector<file_category> out;
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
        const json& e = (**list)[i];
        std::string ep = path_index(path, i);
        if (!e.is_object())
            return config_fail(ep, "expected a mapping with keys category, base_score, patterns, got " + describe(e));
        if (auto ok = check_keys(e, ep, keys); !ok) return tl::unexpected(ok.error());
        for (auto k : required)
            if (!find_key(e, k))
                return config_fail(path_key(ep, k), "missing; every file category needs category, base_score and patterns");
        file_category c;
        auto name = get_string(*find_key(e, "category"), path_key(ep, "category"), "a category name",
                               config_bounds::max_category_name, true);
        if (!name) return tl::unexpected(name.error());
        c.name = std::move(*name);
        for (std::size_t j = 0; j < out.size(); ++j)
            if (out[j].name == c.name)
                return config_fail(path_key(ep, "category"), "duplicate category " + quote(c.name) + " (also " +
                                                                 path_key(path_index(path, j), "category") +
                                                                 "); category names must be unique");
        auto score = get_int(*find_key(e, "base_score"), path_key(ep, "base_score"), 0, config_bounds::max_base_score);
        if (!score) return tl::unexpected(score.error());
        c.base_score = static_cast<int>(*score);
        const std::string pp = path_key(ep, "patterns");
        const json& pats = *find_key(e, "patterns");
        if (!pats.is_array())
            return config_fail(pp, "expected a list of path substrings such as \"/etc/shadow\", got " + describe(pats));
        if (pats.empty()) return config_fail(pp, "must not be empty; expected at least one path substring");
        for (std::size_t j = 0; j < pats.size(); ++j) {
            auto s = get_string(pats[j], path_index(pp, j), "a path substring such as \".ssh/id_rsa\"",
                                config_bounds::max_pattern);
            if (!s) return tl::unexpected(s.error());
            for (std::size_t k = 0; k < c.patterns.size(); ++k)
                if (c.patterns[k] == *s)
                    return config_fail(path_index(pp, j), "duplicate pattern " + quote(*s) + " (also " +
                                                              path_index(pp, k) + "); remove one");
            c.patterns.push_back(std::move(*s));
        }
        if (const json* cx = find_key(e, "context")) {
            if (!cx->is_boolean())
                return config_fail(path_key(ep, "context"), "expected true (the category is context: its opens never "
                                                            "make an alert) or false, got " + describe(*cx));
            c.context = cx->get<bool>();
        }
        if (const json* sc = find_key(e, "scope")) {
            auto s = parse_scope(*sc, path_key(ep, "scope"));
            if (!s) return tl::unexpected(s.error());
            c.scope = *s;
        }
        out.push_back(std::move(c));
    }
    return out;
}

// suspicious_parents (sign = +1: modifier 0..100) / legit_parents (sign = -1: -100..0).
// Where each parent rule was given (its path, e.g. `legit_parents[0].comm`),
// to reject a process named twice across both lists.
struct parent_seen {
    std::string path;
    process_field field;
    std::string value;
};

[[nodiscard]] inline config_result<std::vector<parent_rule>> parse_parents(const json& v, const std::string& path,
                                                                           int sign, std::vector<parent_seen>& seen) {
    static constexpr std::array<std::string_view, 5> keys = {"program", "comm", "exe", "sha256", "modifier"};
    auto list = get_list(v, path, "parent rules ({program, modifier})");
    if (!list) return tl::unexpected(list.error());
    std::vector<parent_rule> out;
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
        const json& e = (**list)[i];
        std::string ep = path_index(path, i);
        if (!e.is_object())
            return config_fail(ep, "expected a mapping with one of program, comm, exe or sha256 and a modifier, got " + describe(e));
        if (auto ok = check_keys(e, ep, keys); !ok) return tl::unexpected(ok.error());
        std::vector<std::string_view> given;
        for (auto k : {"program", "comm", "exe", "sha256"})
            if (find_key(e, k)) given.emplace_back(k);
        if (given.empty())
            return config_fail(ep, "names no process; expected exactly one of program, comm (task name), exe "
                                   "(executable path) or sha256 (executable hash)");
        if (given.size() > 1)
            return config_fail(path_key(ep, given[1]), "conflicts with " + std::string(given[0]) +
                                                           "; expected exactly one of program, comm, exe or sha256 per entry");
        parent_rule r;
        const std::string vp = path_key(ep, given[0]);
        if (given[0] == "sha256") {
            r.field = process_field::sha256;
            const json& hv = *find_key(e, "sha256");
            if (!hv.is_string() || !is_sha256_hex(hv.get_ref<const std::string&>()))
                return config_fail(vp, "expected the SHA-256 of an executable as 64 lowercase hexadecimal digits, got " +
                                           describe(hv));
            r.value = hv.get<std::string>();
        } else if (given[0] == "exe") {
            r.field = process_field::exe;
            auto s = get_string(*find_key(e, "exe"), vp, "an absolute executable path such as \"/usr/bin/bash\"",
                                config_bounds::max_pattern);
            if (!s) return tl::unexpected(s.error());
            if ((*s)[0] != '/')
                return config_fail(vp, "is not an absolute path (" + quote(*s) +
                                           "); expected an executable path starting with '/', such as \"/usr/bin/bash\"");
            r.value = std::move(*s);
        } else {
            r.field = process_field::comm;
            auto s = get_string(*find_key(e, given[0]), vp, "a task name (comm) such as \"bash\"",
                                config_bounds::max_comm);
            if (!s) {
                if (find_key(e, given[0])->is_string() && find_key(e, given[0])->get_ref<const std::string&>().size() >
                                                             config_bounds::max_comm)
                    return config_fail(vp, "is longer than 15 bytes, and the kernel truncates task names (comm) to 15, "
                                           "so it could never match; expected at most 15 bytes, or use exe: with the "
                                           "executable path");
                return tl::unexpected(s.error());
            }
            r.value = std::move(*s);
        }
        for (const auto& o : seen)
            if (o.field == r.field && o.value == r.value)
                return config_fail(vp, "duplicate parent rule for " + quote(r.value) + " (also " + o.path +
                                           "); each process may appear once across suspicious_parents and legit_parents");
        seen.push_back(parent_seen{vp, r.field, r.value});
        const std::string mp = path_key(ep, "modifier");
        const json* m = find_key(e, "modifier");
        if (!m) return config_fail(mp, "missing; every parent rule needs an integer modifier");
        auto mod = sign > 0 ? get_int(*m, mp, 0, config_bounds::max_modifier, "an integer score modifier")
                            : get_int(*m, mp, -config_bounds::max_modifier, 0,
                                      "a score modifier (legit parents lower the score)");
        if (!mod) return tl::unexpected(mod.error());
        r.modifier = static_cast<int>(*mod);
        out.push_back(std::move(r));
    }
    return out;
}

// trusted_binaries: [{exe, sha256, categories}], after suspicious_files
// (a category must name one of them).
[[nodiscard]] inline config_result<std::vector<trusted_binary>>
parse_trusted(const json& v, const std::string& path, const std::vector<file_category>& files) {
    static constexpr std::array<std::string_view, 4> keys = {"exe", "sha256", "categories", "scope"};
    auto list = get_list(v, path, "trusted binaries ({exe, sha256, categories})");
    if (!list) return tl::unexpected(list.error());
    std::vector<trusted_binary> out;
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
        const json& e = (**list)[i];
        std::string ep = path_index(path, i);
        if (!e.is_object())
            return config_fail(ep, "expected a mapping with exe and/or sha256 (and optionally categories), got " +
                                       describe(e));
        if (auto ok = check_keys(e, ep, keys); !ok) return tl::unexpected(ok.error());
        trusted_binary t;
        if (const json* x = find_key(e, "exe")) {
            auto s = get_exe_path(*x, path_key(ep, "exe"), "/usr/bin/ssh");
            if (!s) return tl::unexpected(s.error());
            t.exe = std::move(*s);
        }
        if (const json* h = find_key(e, "sha256")) {
            auto s = get_sha256(*h, path_key(ep, "sha256"));
            if (!s) return tl::unexpected(s.error());
            t.sha256 = std::move(*s);
        }
        if (t.exe.empty() && t.sha256.empty())
            return config_fail(ep, "names no executable; expected exe (executable path), sha256 (its hash) or both");
        if (const json* sc = find_key(e, "scope")) {
            auto s = parse_scope(*sc, path_key(ep, "scope"));
            if (!s) return tl::unexpected(s.error());
            t.scope = *s;
        }
        if (const json* cs = find_key(e, "categories")) {
            const std::string cp = path_key(ep, "categories");
            if (!cs->is_array())
                return config_fail(cp, "expected a list of category names from suspicious_files, got " + describe(*cs));
            if (cs->empty())
                return config_fail(cp, "must not be empty; list the categories to trust, or leave categories out to "
                                       "trust the binary for every category");
            for (std::size_t j = 0; j < cs->size(); ++j) {
                const std::string np = path_index(cp, j);
                auto name = get_string((*cs)[j], np, "a category name from suspicious_files",
                                       config_bounds::max_category_name, true);
                if (!name) return tl::unexpected(name.error());
                const auto it = std::find_if(files.begin(), files.end(),
                                             [&](const file_category& f) { return f.name == *name; });
                if (it == files.end()) {
                    std::vector<std::string_view> names;
                    for (const auto& f : files) names.emplace_back(f.name);
                    std::string why = "unknown category " + quote(*name);
                    if (auto close = closest_key(*name, names)) why += " (did you mean " + quote(*close) + "?)";
                    why += names.empty() ? "; suspicious_files defines no categories"
                                         : "; expected one of the suspicious_files categories";
                    return config_fail(np, std::move(why));
                }
                if (it->context)
                    return config_fail(np, quote(*name) + " is a context category: its opens never count, so "
                                                          "trusting a binary for it changes nothing; remove it");
                for (std::size_t k = 0; k < t.categories.size(); ++k)
                    if (t.categories[k] == *name)
                        return config_fail(np, "duplicate category " + quote(*name) + " (also " +
                                                   path_index(cp, k) + "); remove one");
                t.categories.push_back(std::move(*name));
            }
        }
        for (std::size_t k = 0; k < out.size(); ++k)
            if (out[k].exe == t.exe && out[k].sha256 == t.sha256 && out[k].scope == t.scope)
                return config_fail(ep, "trusts the same executable as " + path_index(path, k) +
                                           "; merge their categories into one entry");
        out.push_back(std::move(t));
    }
    return out;
}

// allowlist: [{exe, sha256, ips, ports}]. Every part is optional, but an
// entry names at least one; a list that is given must not be empty (an empty
// list would read as "none" but mean "any").
[[nodiscard]] inline config_result<std::vector<allow_rule>> parse_allowlist(const json& v, const std::string& path) {
    static constexpr std::array<std::string_view, 4> keys = {"exe", "sha256", "ips", "ports"};
    auto list = get_list(v, path, "allowlist entries ({exe, sha256, ips, ports})");
    if (!list) return tl::unexpected(list.error());
    std::vector<allow_rule> out;
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
        const json& e = (**list)[i];
        std::string ep = path_index(path, i);
        if (!e.is_object())
            return config_fail(ep, "expected a mapping with one or more of exe, sha256, ips and ports, got " +
                                       describe(e));
        if (auto ok = check_keys(e, ep, keys); !ok) return tl::unexpected(ok.error());
        if (e.empty())
            return config_fail(ep, "allows nothing; expected at least one of exe (executable path), sha256 (its "
                                   "hash), ips (addresses or networks) and ports");
        allow_rule r;
        if (const json* x = find_key(e, "exe")) {
            auto s = get_exe_path(*x, path_key(ep, "exe"), "/usr/bin/curl");
            if (!s) return tl::unexpected(s.error());
            r.exe = std::move(*s);
        }
        if (const json* h = find_key(e, "sha256")) {
            auto s = get_sha256(*h, path_key(ep, "sha256"));
            if (!s) return tl::unexpected(s.error());
            r.sha256 = std::move(*s);
        }
        if (const json* ips = find_key(e, "ips")) {
            const std::string ip_path = path_key(ep, "ips");
            auto n = parse_networks(*ips, ip_path);
            if (!n) return tl::unexpected(n.error());
            if (n->empty())
                return config_fail(ip_path, "must not be empty; list the addresses or networks to allow, or leave "
                                            "ips out to allow every address");
            r.ips = std::move(*n);
        }
        if (const json* ports = find_key(e, "ports")) {
            const std::string port_path = path_key(ep, "ports");
            auto p = parse_ports(*ports, port_path);
            if (!p) return tl::unexpected(p.error());
            if (p->empty())
                return config_fail(port_path, "must not be empty; list the ports to allow, or leave ports out to "
                                              "allow every port");
            r.ports = std::move(*p);
        }
        for (std::size_t k = 0; k < out.size(); ++k)
            if (out[k] == r) return config_fail(ep, "is the same entry as " + path_index(path, k) + "; remove one");
        out.push_back(std::move(r));
    }
    return out;
}

[[nodiscard]] inline std::string_view field_key(process_field f) noexcept {
    switch (f) {
    case process_field::exe: return "exe";
    case process_field::sha256: return "sha256";
    case process_field::comm: break;
    }
    return "program";
}

[[nodiscard]] inline config_result<config> parse_config_tree(const json& root) {
    config c;
    // A rules file without a `family` section keeps the seed's meaning:
    // a network event correlates only with its own process's opens. The
    // built-in rules (and any file that says `family:`) turn families on.
    if (root.is_null() || (root.is_object() && !root.contains("family"))) {
        for (relation r : all_relations)
            if (r != relation::self) c.family[r] = family_rule{false, 0};
    }
    // Likewise `held` and `taint` (issue 12): without the section, a read
    // correlates only within the window and written files are not followed,
    // so the seed's file alerts exactly as the seed did. The built-in rules
    // (and any file that says `held:` / `taint:`) turn them on.
    if (root.is_null() || (root.is_object() && !root.contains("held"))) c.held.enabled = false;
    if (root.is_null() || (root.is_object() && !root.contains("taint"))) c.taint.enabled = false;
    if (root.is_null()) return c; // an empty file: every key takes its default
    if (!root.is_object())
        return config_fail("", "expected a mapping of settings (window_duration, suspicious_files, ...), got " +
                                   describe(root));
    if (auto ok = check_keys(root, "", root_keys); !ok) return tl::unexpected(ok.error());

    if (const json* v = find_key(root, "window_duration")) {
        auto w = parse_window(*v, "window_duration");
        if (!w) return tl::unexpected(w.error());
        c.window = *w;
    }
    if (const json* v = find_key(root, "suspicious_files")) {
        auto f = parse_files(*v, "suspicious_files");
        if (!f) return tl::unexpected(f.error());
        c.suspicious_files = std::move(*f);
    }
    // A process named twice, or in both lists, is a contradiction: rejected.
    std::vector<parent_seen> seen;
    if (const json* v = find_key(root, "suspicious_parents")) {
        auto p = parse_parents(*v, "suspicious_parents", +1, seen);
        if (!p) return tl::unexpected(p.error());
        c.suspicious_parents = std::move(*p);
    }
    if (const json* v = find_key(root, "legit_parents")) {
        auto p = parse_parents(*v, "legit_parents", -1, seen);
        if (!p) return tl::unexpected(p.error());
        c.legit_parents = std::move(*p);
    }
    if (const json* v = find_key(root, "whitelist")) {
        static constexpr std::array<std::string_view, 2> keys = {"ips", "ports"};
        auto wl = get_object(*v, "whitelist", keys);
        if (!wl) return tl::unexpected(wl.error());
        if (const json* ips = find_key(**wl, "ips")) {
            auto n = parse_networks(*ips, "whitelist.ips");
            if (!n) return tl::unexpected(n.error());
            c.allow_ips = std::move(*n);
        }
        if (const json* ports = find_key(**wl, "ports")) {
            auto p = parse_ports(*ports, "whitelist.ports");
            if (!p) return tl::unexpected(p.error());
            c.allow_ports = std::move(*p);
        }
    }
    if (const json* v = find_key(root, "severity_thresholds")) {
        static constexpr std::array<std::string_view, 2> keys = {"medium", "high"};
        auto st = get_object(*v, "severity_thresholds", keys);
        if (!st) return tl::unexpected(st.error());
        if (const json* m = find_key(**st, "medium")) {
            auto r = get_int(*m, "severity_thresholds.medium", 0, config_bounds::max_threshold, "an integer score");
            if (!r) return tl::unexpected(r.error());
            c.severity_medium = static_cast<int>(*r);
        }
        if (const json* h = find_key(**st, "high")) {
            auto r = get_int(*h, "severity_thresholds.high", 0, config_bounds::max_threshold, "an integer score");
            if (!r) return tl::unexpected(r.error());
            c.severity_high = static_cast<int>(*r);
        }
        if (c.severity_medium > c.severity_high)
            return config_fail("severity_thresholds.medium",
                               "is " + std::to_string(c.severity_medium) + ", above severity_thresholds.high (" +
                                   std::to_string(c.severity_high) + "); expected medium <= high");
    }
    if (const json* v = find_key(root, "alert_threshold")) {
        auto r = get_int(*v, "alert_threshold", 0, config_bounds::max_threshold, "an integer score");
        if (!r) return tl::unexpected(r.error());
        c.alert_threshold = static_cast<int>(*r);
    }
    if (const json* v = find_key(root, "limits")) {
        static constexpr std::array<std::string_view, 7> keys = {
            "max_processes",       "max_opens_per_process", "max_tracked_openers", "max_dedup_entries",
            "max_file_identities", "max_holders",           "max_derived_files"};
        auto lim = get_object(*v, "limits", keys);
        if (!lim) return tl::unexpected(lim.error());
        struct field {
            std::string_view key;
            std::size_t max;
            std::size_t* out;
        };
        const std::array<field, 7> fields{{
            {"max_processes", config_bounds::max_processes, &c.limits.max_processes},
            {"max_opens_per_process", config_bounds::max_opens_per_process, &c.limits.max_opens_per_process},
            {"max_tracked_openers", config_bounds::max_tracked_openers, &c.limits.max_tracked_openers},
            {"max_dedup_entries", config_bounds::max_dedup_entries, &c.limits.max_dedup_entries},
            {"max_file_identities", config_bounds::max_file_identities, &c.limits.max_file_identities},
            {"max_holders", config_bounds::max_holders, &c.limits.max_holders},
            {"max_derived_files", config_bounds::max_derived_files, &c.limits.max_derived_files},
        }};
        for (const auto& f : fields) {
            if (const json* x = find_key(**lim, f.key)) {
                auto r = get_int(*x, path_key("limits", f.key), 1, static_cast<std::int64_t>(f.max), "an integer");
                if (!r) return tl::unexpected(r.error());
                *f.out = static_cast<std::size_t>(*r);
            }
        }
    }
    if (const json* v = find_key(root, "trusted_binaries")) {
        auto t = parse_trusted(*v, "trusted_binaries", c.suspicious_files);
        if (!t) return tl::unexpected(t.error());
        c.trusted_binaries = std::move(*t);
    }
    if (const json* v = find_key(root, "family")) {
        static constexpr std::array<std::string_view, 5> keys = {"self", "ancestor", "descendant", "sibling",
                                                                 "session"};
        auto fam = get_object(*v, "family", keys);
        if (!fam) return tl::unexpected(fam.error());
        for (relation r : all_relations) {
            const std::string key(to_string(r));
            const json* x = find_key(**fam, key);
            if (x == nullptr) continue;
            const std::string fp = path_key("family", key);
            if (x->is_boolean()) {
                if (x->get<bool>())
                    return config_fail(fp, "expected an integer score modifier from -100 to 100, or false to turn "
                                           "this relation off, got true");
                c.family[r] = family_rule{false, 0};
                continue;
            }
            auto m = get_int(*x, fp, -config_bounds::max_modifier, config_bounds::max_modifier,
                             "an integer score modifier (or false to turn this relation off)");
            if (!m) return tl::unexpected(m.error());
            c.family[r] = family_rule{true, static_cast<int>(*m)};
        }
    }
    if (const json* v = find_key(root, "rate_limit")) {
        // `rate_limit: false` turns it off; `rate_limit: {period: S}` sets the quiet period.
        if (v->is_boolean()) {
            if (v->get<bool>())
                return config_fail("rate_limit", "expected a mapping such as {period: 60}, or false to turn rate "
                                                 "limiting off, got true");
            c.rate_limit_period = nanoseconds{0};
        } else if (!v->is_null()) {
            static constexpr std::array<std::string_view, 1> keys = {"period"};
            auto rl = get_object(*v, "rate_limit", keys);
            if (!rl) return tl::unexpected(rl.error());
            if (const json* x = find_key(**rl, "period")) {
                auto p = parse_window(*x, "rate_limit.period");
                if (!p) return tl::unexpected(p.error());
                c.rate_limit_period = *p;
            }
        }
    }
    if (const json* v = find_key(root, "allowlist")) {
        auto a = parse_allowlist(*v, "allowlist");
        if (!a) return tl::unexpected(a.error());
        c.allowlist = std::move(*a);
    }
    if (const json* v = find_key(root, "dns")) {
        static constexpr std::array<std::string_view, 5> keys = {"ports", "category", "modifier", "max_query_bytes",
                                                                 "oversize_modifier"};
        auto d = get_object(*v, "dns", keys);
        if (!d) return tl::unexpected(d.error());
        if (const json* x = find_key(**d, "ports")) {
            auto p = parse_ports(*x, "dns.ports");
            if (!p) return tl::unexpected(p.error());
            if (p->empty())
                return config_fail("dns.ports", "must not be empty; expected the name-service ports, such as [53], or "
                                                "leave ports out for [53]");
            c.dns.ports = std::move(*p);
        }
        if (const json* x = find_key(**d, "category")) {
            auto s = get_string(*x, "dns.category", "a category name such as \"dns\"", config_bounds::max_category_name,
                                true);
            if (!s) return tl::unexpected(s.error());
            c.dns.category = std::move(*s);
        }
        if (const json* x = find_key(**d, "modifier")) {
            auto m = get_modifier(*x, "dns.modifier");
            if (!m) return tl::unexpected(m.error());
            c.dns.modifier = *m;
        }
        if (const json* x = find_key(**d, "max_query_bytes")) {
            auto b = get_int(*x, "dns.max_query_bytes", 1, config_bounds::max_query_bytes, "a size in bytes");
            if (!b) return tl::unexpected(b.error());
            c.dns.max_query_bytes = static_cast<std::uint64_t>(*b);
        }
        if (const json* x = find_key(**d, "oversize_modifier")) {
            auto m = get_modifier(*x, "dns.oversize_modifier");
            if (!m) return tl::unexpected(m.error());
            c.dns.oversize_modifier = *m;
        }
    }
    bool stale_given = false;
    if (const json* v = find_key(root, "held")) {
        static constexpr std::array<std::string_view, 5> keys = {"enabled", "modifier", "stale_after",
                                                                 "stale_modifier", "inherit"};
        if (v->is_boolean())
            return config_fail("held", "expected a mapping such as {enabled: false} (to turn it off), got " +
                                           describe(*v));
        auto h = get_object(*v, "held", keys);
        if (!h) return tl::unexpected(h.error());
        if (const json* x = find_key(**h, "enabled")) {
            auto b = get_bool(*x, "held.enabled", "a process that read a secret keeps it past the window");
            if (!b) return tl::unexpected(b.error());
            c.held.enabled = *b;
        }
        if (const json* x = find_key(**h, "modifier")) {
            auto m = get_modifier(*x, "held.modifier");
            if (!m) return tl::unexpected(m.error());
            c.held.modifier = *m;
        }
        if (const json* x = find_key(**h, "stale_after")) {
            auto w = parse_window(*x, "held.stale_after");
            if (!w) return tl::unexpected(w.error());
            if (*w < c.window)
                return config_fail("held.stale_after",
                                   "is " + seconds_text(*w) + " s, shorter than window_duration (" +
                                       seconds_text(c.window) + " s); a read correlates without the held "
                                       "modifiers while it is within the window, so it can only become stale "
                                       "after the window; expected at least " + seconds_text(c.window));
            c.held.stale_after = *w;
            stale_given = true;
        }
        if (const json* x = find_key(**h, "stale_modifier")) {
            auto m = get_modifier(*x, "held.stale_modifier");
            if (!m) return tl::unexpected(m.error());
            c.held.stale_modifier = *m;
        }
        if (const json* x = find_key(**h, "inherit")) {
            auto b = get_bool(*x, "held.inherit", "a fork holds what its parent held until it execs");
            if (!b) return tl::unexpected(b.error());
            c.held.inherit = *b;
        }
    }
    // The default stale_after (10 minutes) never comes before the window: a
    // longer window_duration moves it to the window.
    if (!stale_given && c.held.stale_after < c.window) c.held.stale_after = c.window;
    if (const json* v = find_key(root, "taint")) {
        static constexpr std::array<std::string_view, 2> keys = {"enabled", "modifier"};
        if (v->is_boolean())
            return config_fail("taint", "expected a mapping such as {enabled: false} (to turn it off), got " +
                                            describe(*v));
        auto t = get_object(*v, "taint", keys);
        if (!t) return tl::unexpected(t.error());
        if (const json* x = find_key(**t, "enabled")) {
            auto b = get_bool(*x, "taint.enabled", "a file written by a family holding a secret becomes a derived secret");
            if (!b) return tl::unexpected(b.error());
            c.taint.enabled = *b;
        }
        if (const json* x = find_key(**t, "modifier")) {
            auto m = get_modifier(*x, "taint.modifier");
            if (!m) return tl::unexpected(m.error());
            c.taint.modifier = *m;
        }
    }
    if (const json* v = find_key(root, "interpreters")) {
        const std::string expected = "expected a list of at most " + std::to_string(config::max_interpreters) +
                                     " program names (1 to 15 bytes, no '/', an optional trailing '*'), "
                                     "such as [python3*, perl, bash]";
        if (!v->is_array()) return config_fail("interpreters", expected + ", got " + describe(*v));
        if (v->size() > config::max_interpreters)
            return config_fail("interpreters", expected + ", got " + std::to_string(v->size()) + " names");
        c.interpreters.clear();
        for (std::size_t i = 0; i < v->size(); ++i) {
            const json& e = (*v)[i];
            const std::string path = "interpreters[" + std::to_string(i) + "]";
            if (!e.is_string()) return config_fail(path, expected + ", got " + describe(e));
            const std::string& name = e.get_ref<const std::string&>();
            const std::string_view stem = std::string_view(name).substr(0, name.size() - (!name.empty() && name.back() == '*'));
            if (stem.empty() || stem.size() > 15 || stem.find_first_of("/*") != std::string_view::npos ||
                stem.find('\0') != std::string_view::npos)
                return config_fail(path, expected + ", got " + describe(e));
            c.interpreters.push_back(name);
        }
    }
    return c;
}

// JSON text -> tree, rejecting duplicate keys (nlohmann keeps the last one
// silently, which could hide a rule). Errors carry the path when known.
[[nodiscard]] inline config_result<json> parse_json_text(std::string_view text) {
    struct frame {
        bool is_array;
        std::size_t next_index = 0;
        std::string path;
        std::string key;
        std::vector<std::string> keys;
    };
    std::vector<frame> stack;
    std::optional<config_error> dup;
    auto child_path = [&stack]() -> std::string {
        if (stack.empty()) return "";
        const frame& f = stack.back();
        return f.is_array ? path_index(f.path, f.next_index) : path_key(f.path, f.key);
    };
    auto finished_child = [&stack] {
        if (!stack.empty() && stack.back().is_array) ++stack.back().next_index;
    };
    json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) -> bool {
        switch (ev) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start: {
            frame f{ev == json::parse_event_t::array_start, 0, child_path(), {}, {}};
            stack.push_back(std::move(f));
            break;
        }
        case json::parse_event_t::object_end:
        case json::parse_event_t::array_end:
            if (!stack.empty()) stack.pop_back();
            finished_child();
            break;
        case json::parse_event_t::key: {
            if (stack.empty() || !parsed.is_string()) break;
            frame& f = stack.back();
            const auto& k = parsed.get_ref<const std::string&>();
            if (!dup && std::find(f.keys.begin(), f.keys.end(), k) != f.keys.end()) {
                std::string p = path_key(f.path, k);
                dup = config_error{p, p + ": duplicate key; each key may appear once in a mapping"};
            }
            f.keys.push_back(k);
            f.key = k;
            break;
        }
        case json::parse_event_t::value: finished_child(); break;
        }
        return true;
    };
    try {
        json j = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
        if (dup) return tl::unexpected(*dup);
        return j;
    } catch (const json::parse_error& e) {
        std::string what = e.what();
        // "[json.exception.parse_error.101] parse error at line 2, column 4: ..." -> drop the tag.
        if (auto p = what.find("] "); p != std::string::npos && what.rfind("[json.exception", 0) == 0)
            what.erase(0, p + 2);
        return tl::unexpected(config_error{"", "JSON " + what + " (byte " + std::to_string(e.byte) + ")"});
    } catch (const std::exception& e) {
        return tl::unexpected(config_error{"", std::string("JSON could not be read: ") + e.what()});
    }
}

} // namespace detail

inline std::optional<ip_network> ip_network::parse(std::string_view text) {
    auto n = detail::parse_network(text);
    if (!n) return std::nullopt;
    return *n;
}

// Validates a JSON tree (the seed's schema, see docs/config.md). Keys that are
// absent take the defaults of `config`; an empty (null) document is config{}.
[[nodiscard]] inline result<config> parse_config(const nlohmann::json& root) {
    try {
        auto r = detail::parse_config_tree(root);
        if (!r) return make_error(errc::invalid_config, std::move(r.error().message));
        return std::move(*r);
    } catch (const std::exception& e) {
        return make_error(errc::invalid_config, std::string("config could not be validated: ") + e.what());
    }
}

// Parses and validates JSON text. Duplicate keys are errors.
[[nodiscard]] inline result<config> parse_config_json(std::string_view json_text) {
    auto tree = detail::parse_json_text(json_text);
    if (!tree) return make_error(errc::invalid_config, std::move(tree.error().message));
    return parse_config(*tree);
}

// The config in the same schema: parse_config(to_json(c)) == c for any
// config that parse_config produced.
[[nodiscard]] inline nlohmann::json to_json(const config& c) {
    using nlohmann::json;
    json j = json::object();
    // Whole seconds as an integer, anything else as a number that parses back
    // to the same nanoseconds.
    const auto seconds = [](nanoseconds d) -> json {
        constexpr std::int64_t ns_per_s = 1'000'000'000;
        if (d.count() % ns_per_s == 0) return d.count() / ns_per_s;
        return static_cast<double>(d.count()) / 1e9;
    };
    j["window_duration"] = seconds(c.window);
    json files = json::array();
    for (const auto& f : c.suspicious_files) {
        json cat = {{"category", f.name}, {"base_score", f.base_score}, {"patterns", f.patterns}};
        if (f.context) cat["context"] = true;
        if (f.scope != rule_scope::any) cat["scope"] = std::string(to_string(f.scope));
        files.push_back(std::move(cat));
    }
    j["suspicious_files"] = std::move(files);
    auto parents = [](const std::vector<parent_rule>& rules) {
        json a = json::array();
        for (const auto& r : rules) {
            json e = json::object();
            e[std::string(detail::field_key(r.field))] = r.value;
            e["modifier"] = r.modifier;
            a.push_back(std::move(e));
        }
        return a;
    };
    j["suspicious_parents"] = parents(c.suspicious_parents);
    j["legit_parents"] = parents(c.legit_parents);
    json ips = json::array();
    for (const auto& n : c.allow_ips) ips.push_back(n.to_string());
    j["whitelist"] = {{"ips", std::move(ips)}, {"ports", c.allow_ports}};
    j["severity_thresholds"] = {{"medium", c.severity_medium}, {"high", c.severity_high}};
    j["alert_threshold"] = c.alert_threshold;
    j["limits"] = {
        {"max_processes", c.limits.max_processes},
        {"max_opens_per_process", c.limits.max_opens_per_process},
        {"max_tracked_openers", c.limits.max_tracked_openers},
        {"max_dedup_entries", c.limits.max_dedup_entries},
        {"max_file_identities", c.limits.max_file_identities},
        {"max_holders", c.limits.max_holders},
        {"max_derived_files", c.limits.max_derived_files},
    };
    json fam = json::object();
    for (relation r : all_relations) {
        const family_rule& fr = c.family[r];
        fam[std::string(to_string(r))] = fr.enabled ? json(fr.modifier) : json(false);
    }
    j["family"] = std::move(fam);
    json trusted = json::array();
    for (const auto& t : c.trusted_binaries) {
        json e = json::object();
        if (!t.exe.empty()) e["exe"] = t.exe;
        if (!t.sha256.empty()) e["sha256"] = t.sha256;
        if (!t.categories.empty()) e["categories"] = t.categories;
        if (t.scope != rule_scope::any) e["scope"] = std::string(to_string(t.scope));
        trusted.push_back(std::move(e));
    }
    j["trusted_binaries"] = std::move(trusted);
    if (c.rate_limit_period.count() == 0)
        j["rate_limit"] = false;
    else
        j["rate_limit"] = {{"period", seconds(c.rate_limit_period)}};
    json allow = json::array();
    for (const auto& r : c.allowlist) {
        json e = json::object();
        if (!r.exe.empty()) e["exe"] = r.exe;
        if (!r.sha256.empty()) e["sha256"] = r.sha256;
        if (!r.ips.empty()) {
            json a = json::array();
            for (const auto& n : r.ips) a.push_back(n.to_string());
            e["ips"] = std::move(a);
        }
        if (!r.ports.empty()) e["ports"] = r.ports;
        allow.push_back(std::move(e));
    }
    j["allowlist"] = std::move(allow);
    j["dns"] = {{"ports", c.dns.ports},
                {"category", c.dns.category},
                {"modifier", c.dns.modifier},
                {"max_query_bytes", c.dns.max_query_bytes},
                {"oversize_modifier", c.dns.oversize_modifier}};
    j["held"] = {{"enabled", c.held.enabled},
                 {"modifier", c.held.modifier},
                 // parse_config keeps stale_after >= window; a config built in code may not,
                 // and then every held read is stale, as with stale_after == window.
                 {"stale_after", seconds(std::max(c.held.stale_after, c.window))},
                 {"stale_modifier", c.held.stale_modifier},
                 {"inherit", c.held.inherit}};
    j["taint"] = {{"enabled", c.taint.enabled}, {"modifier", c.taint.modifier}};
    j["interpreters"] = c.interpreters;
    return j;
}

// The embedded default rules (detail/default_rules.hpp), in the seed's schema.
inline constexpr std::string_view default_config_json = detail::default_rules_json;

// The default rules, parsed. test_config proves the embedded text is valid;
// should it ever not be, this returns config{} rather than throwing.
[[nodiscard]] inline config default_config() {
    auto c = parse_config_json(default_config_json);
    return c ? std::move(*c) : config{};
}

} // namespace barbwire
