#pragma once
// A learned baseline: which executables (by path and SHA-256) read which
// file categories and then talked to which destination classes, so that
// `barbwire run --baseline FILE` can quiet what was seen while learning and
// still report what is new (docs/baseline.md).
//
//  * An entry is the key of one correlation: the sender's exe and sha256,
//    the reader's exe and sha256 (the same as the sender's for `self`), the
//    file category, the destination class (loopback / private / public),
//    the protocol and the port; with the number of times it was learned.
//  * learn(alert) adds the alert's key. Binaries of unknown identity (no exe
//    path or no sha256) are never learned: a baseline trusts content. Nor
//    are keys the file could not hold exactly (an exe path that is not
//    absolute, longer than 4096 bytes or not valid UTF-8; a sha256 that is
//    not 64 lowercase hex digits), so every learned key survives a round
//    trip through the file.
//  * check(alert) says whether the key was seen, whether a binary of the
//    alert is known by path with another hash (it changed since learning:
//    never quiet, reported), or whether it is new.
//  * apply(alert, mode, config) records the verdict in the alert and, for a
//    seen key, suppresses it or down-scores it by the category's points.
//  * merge(newer): the union; counts add up; a binary that `newer` learned
//    under some hashes voids the older entries that name its path with any
//    other hash (it was upgraded or replaced, and relearned).
//  * JSON: {"version": 1, "entries": [...]}; parse errors name the field.
//
// Bounded: at most max_entries keys (default 65536). When full, learn()
// adds nothing new (counted as `dropped`); known keys still count up.
//
// Pure: no I/O, no clock, no exceptions of its own (only std::bad_alloc).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "barbwire/alert.hpp"
#include "barbwire/config.hpp"
#include "barbwire/error.hpp"
#include "barbwire/event.hpp"

namespace barbwire {

// Where a destination lies, as far as a baseline cares.
enum class destination_class : std::uint8_t {
    loopback = 0, // 127.0.0.0/8, ::1, 0.0.0.0 and :: (which connect to this host)
    private_net = 1, // RFC 1918, CGNAT 100.64.0.0/10, link-local, IPv6 ULA fc00::/7 and fe80::/10
    public_net = 2,  // anything else (multicast and broadcast included)
};

[[nodiscard]] constexpr std::string_view to_string(destination_class c) noexcept {
    switch (c) {
    case destination_class::loopback: return "loopback";
    case destination_class::private_net: return "private";
    case destination_class::public_net: return "public";
    }
    return "public";
}

[[nodiscard]] inline std::optional<destination_class> parse_destination_class(std::string_view s) noexcept {
    if (s == "loopback") return destination_class::loopback;
    if (s == "private") return destination_class::private_net;
    if (s == "public") return destination_class::public_net;
    return std::nullopt;
}

// The class of a destination address. An IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) is classified as the IPv4 address it carries.
[[nodiscard]] inline destination_class classify_destination(const ip_address& a) noexcept {
    const std::uint8_t* v4 = nullptr;
    if (a.is_v4()) v4 = a.bytes.data();
    else if (detail::is_v4_mapped(a)) v4 = a.bytes.data() + 12;
    if (v4 != nullptr) {
        const unsigned b0 = v4[0], b1 = v4[1];
        if (b0 == 127) return destination_class::loopback;
        if (b0 == 0 && b1 == 0 && v4[2] == 0 && v4[3] == 0) return destination_class::loopback;
        if (b0 == 10) return destination_class::private_net;
        if (b0 == 172 && (b1 & 0xF0) == 16) return destination_class::private_net;
        if (b0 == 192 && b1 == 168) return destination_class::private_net;
        if (b0 == 100 && (b1 & 0xC0) == 64) return destination_class::private_net; // CGNAT 100.64.0.0/10
        if (b0 == 169 && b1 == 254) return destination_class::private_net;         // link-local
        return destination_class::public_net;
    }
    bool zero15 = true;
    for (std::size_t i = 0; i < 15; ++i) zero15 = zero15 && a.bytes[i] == 0;
    if (zero15 && (a.bytes[15] == 1 || a.bytes[15] == 0)) return destination_class::loopback; // ::1 and ::
    if ((a.bytes[0] & 0xFE) == 0xFC) return destination_class::private_net;                   // ULA fc00::/7
    if (a.bytes[0] == 0xFE && (a.bytes[1] & 0xC0) == 0x80) return destination_class::private_net; // fe80::/10
    return destination_class::public_net;
}

// What to do with an alert whose correlation the baseline has seen.
enum class baseline_mode : std::uint8_t {
    suppress = 0,  // no alert (the default)
    downscore = 1, // the file category's points are withdrawn; alert only if still >= alert_threshold
};

[[nodiscard]] constexpr std::string_view to_string(baseline_mode m) noexcept {
    return m == baseline_mode::downscore ? "downscore" : "suppress";
}

[[nodiscard]] inline std::optional<baseline_mode> parse_baseline_mode(std::string_view s) noexcept {
    if (s == "suppress") return baseline_mode::suppress;
    if (s == "downscore") return baseline_mode::downscore;
    return std::nullopt;
}

// One learned correlation.
struct baseline_key {
    std::string exe;           // the sender's kernel executable path
    std::string sha256;        // its SHA-256 (64 lowercase hex digits)
    std::string reader_exe;    // the reader's (the sender's own for relation self)
    std::string reader_sha256;
    std::string category;      // the file category's name
    destination_class destination = destination_class::public_net;
    ip_proto protocol = ip_proto::tcp;
    std::uint16_t port = 0;

    friend auto operator<=>(const baseline_key& a, const baseline_key& b) noexcept {
        return std::tie(a.exe, a.sha256, a.reader_exe, a.reader_sha256, a.category, a.destination, a.protocol,
                        a.port) <=> std::tie(b.exe, b.sha256, b.reader_exe, b.reader_sha256, b.category,
                                             b.destination, b.protocol, b.port);
    }
    friend bool operator==(const baseline_key&, const baseline_key&) = default;
};

// The key of an alert's correlation. A sender that runs a script is known
// by its script (path and hash), not its interpreter; so is the reader when
// it is the sender itself.
[[nodiscard]] inline baseline_key baseline_key_of(const alert& a) {
    const bool script = a.script && a.script->ino != 0;
    std::string exe = script ? a.script->path : a.process.exe;
    std::string sha = script ? a.script->sha256 : a.process.sha256;
    const bool self = a.reader.pid == a.process.pid;
    return {exe,
            sha,
            self ? exe : a.reader.exe,
            self ? sha : a.reader.sha256,
            a.file.category,
            classify_destination(a.destination.addr),
            a.destination.protocol,
            a.destination.port};
}

// What the baseline says about an alert.
struct baseline_check {
    baseline_verdict verdict = baseline_verdict::new_behaviour;
    std::string reason; // for changed_binary: "baseline: /usr/bin/x changed (sha256 ..., learned ...)"
};

// What learn() did with one alert.
enum class learn_outcome : std::uint8_t {
    added = 0,      // a new key
    counted = 1,    // a known key, its count went up
    dropped = 2,    // a new key, but the baseline is full
    unknown = 3,    // not learned: the sender's or reader's exe or sha256 is unknown
};

class baseline {
public:
    static constexpr std::size_t default_max_entries = 65536;
    static constexpr std::size_t max_entries_limit = 16777216;

    explicit baseline(std::size_t max_entries = default_max_entries)
        : max_entries_(std::clamp<std::size_t>(max_entries, 1, max_entries_limit)) {}

    // Learns the correlation of `a` (every correlation, not only alerts:
    // the sensor learns with alert_threshold 0).
    learn_outcome learn(const alert& a) { return add(baseline_key_of(a), 1); }

    // Adds `count` sightings of `k` (the JSON reader, merge, tests).
    learn_outcome add(const baseline_key& k, std::uint64_t count) {
        if (!identity_known(k.exe, k.sha256) || !identity_known(k.reader_exe, k.reader_sha256)) {
            ++unknown_;
            return learn_outcome::unknown;
        }
        if (auto it = entries_.find(k); it != entries_.end()) {
            it->second = saturating_add(it->second, count);
            return learn_outcome::counted;
        }
        if (entries_.size() >= max_entries_) {
            ++dropped_;
            return learn_outcome::dropped;
        }
        entries_.emplace(k, count);
        index(k.exe, k.sha256);
        index(k.reader_exe, k.reader_sha256);
        return learn_outcome::added;
    }

    // The verdict for `a`. A sender or reader whose path the baseline knows
    // only with other hashes makes it changed_binary, whatever else matches.
    [[nodiscard]] baseline_check check(const alert& a) const { return check(baseline_key_of(a)); }

    // The verdict for the correlation `k` (the correlator checks before it
    // builds an alert, so that a quieted correlation never reaches rate
    // limiting).
    [[nodiscard]] baseline_check check(const baseline_key& k) const {
        baseline_check out;
        if (auto why = changed(k.exe, k.sha256); !why.empty()) {
            out.verdict = baseline_verdict::changed_binary;
            out.reason = std::move(why);
            return out;
        }
        if (k.reader_exe != k.exe || k.reader_sha256 != k.sha256) {
            if (auto why = changed(k.reader_exe, k.reader_sha256); !why.empty()) {
                out.verdict = baseline_verdict::changed_binary;
                out.reason = std::move(why);
                return out;
            }
        }
        if (identity_known(k.exe, k.sha256) && identity_known(k.reader_exe, k.reader_sha256) &&
            entries_.contains(k))
            out.verdict = baseline_verdict::seen;
        return out;
    }

    // Records the verdict in `a` (a.baseline) and applies the mode to a seen
    // correlation. A changed binary adds a 0-point score_breakdown entry
    // carrying the reason; a down-score adds "baseline: seen while learning"
    // with minus the file category's points, and re-derives the severity.
    // Returns whether `a` is still an alert: false for a seen correlation
    // under `suppress`, or one down-scored below cfg.alert_threshold.
    [[nodiscard]] bool apply(alert& a, baseline_mode mode, const config& cfg) const {
        baseline_check c = check(a);
        a.baseline = c.verdict;
        if (c.verdict == baseline_verdict::changed_binary) {
            a.breakdown.push_back({std::move(c.reason), 0});
            return true;
        }
        if (c.verdict != baseline_verdict::seen) return true;
        if (mode == baseline_mode::suppress) return false;
        const int points = a.breakdown.empty() ? 0 : a.breakdown.front().points; // the file category's
        if (points != 0) {
            a.breakdown.push_back({std::string(seen_reason), -points});
            a.score -= points;
            a.severity = cfg.classify(a.score);
        }
        return a.score >= cfg.alert_threshold;
    }

    // The union of this baseline and `newer` (a later learning run). Every
    // binary path `newer` knows voids this baseline's entries that name the
    // path with a hash `newer` does not know for it; counts of equal keys
    // add up. Returns the number of entries voided. Over max_entries, the
    // excess of `newer`'s keys is dropped (counted).
    std::size_t merge(const baseline& newer) {
        std::size_t voided = 0;
        for (auto it = entries_.begin(); it != entries_.end();) {
            if (superseded(newer, it->first.exe, it->first.sha256) ||
                superseded(newer, it->first.reader_exe, it->first.reader_sha256)) {
                it = entries_.erase(it);
                ++voided;
            } else {
                ++it;
            }
        }
        if (voided != 0) rebuild_index();
        for (const auto& [k, n] : newer.entries_) (void)add(k, n);
        return voided;
    }

    [[nodiscard]] const std::map<baseline_key, std::uint64_t>& entries() const noexcept { return entries_; }
    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
    [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
    [[nodiscard]] std::size_t max_entries() const noexcept { return max_entries_; }
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; } // new keys refused: full
    [[nodiscard]] std::uint64_t unknown() const noexcept { return unknown_; } // refused: identity unknown
    // The hashes known for an executable path (sender or reader), or nullptr.
    [[nodiscard]] const std::set<std::string>* hashes_of(std::string_view exe) const {
        auto it = hashes_.find(exe);
        return it == hashes_.end() ? nullptr : &it->second;
    }

    static constexpr std::string_view seen_reason = "baseline: seen while learning";

private:
    [[nodiscard]] static bool identity_known(std::string_view exe, std::string_view sha256) {
        return !exe.empty() && exe.front() == '/' && exe.size() <= 4096 &&
               exe.find('\0') == std::string_view::npos && detail::json_string(exe) == exe &&
               detail::is_sha256_hex(sha256);
    }

    [[nodiscard]] static std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) noexcept {
        return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
    }

    void index(const std::string& exe, const std::string& sha256) { hashes_[exe].insert(sha256); }

    void rebuild_index() {
        hashes_.clear();
        for (const auto& [k, n] : entries_) {
            index(k.exe, k.sha256);
            index(k.reader_exe, k.reader_sha256);
        }
    }

    // True when `newer` knows `exe`, but not with `sha256`.
    [[nodiscard]] static bool superseded(const baseline& newer, const std::string& exe, const std::string& sha256) {
        const auto* hs = newer.hashes_of(exe);
        return hs != nullptr && !hs->contains(sha256);
    }

    // "" when `exe` is not in the baseline, or is there with `sha256`;
    // otherwise the reason naming the change. An unknown hash of a known
    // path counts as a change: the binary cannot be shown to be the same.
    [[nodiscard]] std::string changed(const std::string& exe, const std::string& sha256) const {
        const auto* hs = hashes_of(exe);
        if (exe.empty() || hs == nullptr || hs->contains(sha256)) return {};
        const auto short_hash = [](std::string_view h) { return std::string(h.substr(0, 16)); };
        std::string r = "baseline: " + exe + " changed (sha256 " +
                        (sha256.empty() ? std::string("unknown") : short_hash(sha256)) + ", learned ";
        bool first = true;
        for (const auto& h : *hs) {
            if (!first) r += " or ";
            first = false;
            r += short_hash(h);
        }
        return r + ")";
    }

    std::map<baseline_key, std::uint64_t> entries_;
    std::map<std::string, std::set<std::string>, std::less<>> hashes_; // exe path -> hashes learned
    std::size_t max_entries_;
    std::uint64_t dropped_ = 0;
    std::uint64_t unknown_ = 0;
};

// --- JSON --------------------------------------------------------------------

inline constexpr int baseline_format_version = 1;

// {"version": 1, "entries": [{"exe", "sha256", "reader_exe", "reader_sha256",
// "category", "destination", "protocol", "port", "count"}, ...]}, entries
// in key order, so equal baselines give equal text.
[[nodiscard]] inline nlohmann::json to_json(const baseline& b) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& [k, n] : b.entries()) {
        entries.push_back({
            {"exe", detail::json_string(k.exe)},
            {"sha256", k.sha256},
            {"reader_exe", detail::json_string(k.reader_exe)},
            {"reader_sha256", k.reader_sha256},
            {"category", detail::json_string(k.category)},
            {"destination", std::string(to_string(k.destination))},
            {"protocol", proto_text(k.protocol)},
            {"port", k.port},
            {"count", n},
        });
    }
    return {{"version", baseline_format_version}, {"entries", std::move(entries)}};
}

namespace detail {

inline constexpr std::string_view baseline_top_keys[] = {"version", "entries"};
inline constexpr std::string_view baseline_entry_keys[] = {
    "exe", "sha256", "reader_exe", "reader_sha256", "category", "destination", "protocol", "port", "count"};

[[nodiscard]] inline config_result<std::string> baseline_exe(const json& e, const std::string& path,
                                                             std::string_view key) {
    const json* v = find_key(e, key);
    const std::string p = path_key(path, key);
    if (v == nullptr) return config_fail(p, "missing; every entry needs " + join_keys(baseline_entry_keys));
    auto s = get_string(*v, p, "an absolute executable path", 4096);
    if (!s) return s;
    if (s->front() != '/') return config_fail(p, "is " + quote(*s) + "; expected an absolute executable path");
    return s;
}

[[nodiscard]] inline config_result<std::string> baseline_sha(const json& e, const std::string& path,
                                                             std::string_view key) {
    const json* v = find_key(e, key);
    const std::string p = path_key(path, key);
    if (v == nullptr) return config_fail(p, "missing; every entry needs " + join_keys(baseline_entry_keys));
    if (!v->is_string() || !is_sha256_hex(v->get_ref<const std::string&>()))
        return config_fail(p, "expected 64 lowercase hexadecimal digits (a SHA-256), got " + describe(*v));
    return v->get<std::string>();
}

[[nodiscard]] inline config_result<baseline> parse_baseline_tree(const json& root, std::size_t max_entries) {
    if (!root.is_object())
        return config_fail("baseline", "expected a JSON object with keys version and entries, got " + describe(root));
    if (auto ok = check_keys(root, "", baseline_top_keys); !ok) return tl::unexpected(ok.error());
    const json* ver = find_key(root, "version");
    if (ver == nullptr) return config_fail("version", "missing; a baseline file starts with \"version\": 1");
    if (!ver->is_number_integer())
        return config_fail("version", "expected the integer 1, got " + describe(*ver));
    if (*ver != baseline_format_version)
        return config_fail("version", "is " + ver->dump() + "; this barbwire reads baseline version " +
                                          std::to_string(baseline_format_version) +
                                          " only (learn a new baseline with this version)");
    const json* entries = find_key(root, "entries");
    if (entries == nullptr) return config_fail("entries", "missing; expected a list of learned correlations");
    if (!entries->is_array()) return config_fail("entries", "expected a list, got " + describe(*entries));
    baseline b(max_entries);
    if (entries->size() > b.max_entries())
        return config_fail("entries", "holds " + std::to_string(entries->size()) + " entries, more than the " +
                                          std::to_string(b.max_entries()) + " a baseline may hold");
    for (std::size_t i = 0; i < entries->size(); ++i) {
        const json& e = (*entries)[i];
        const std::string p = path_index("entries", i);
        if (!e.is_object()) return config_fail(p, "expected a mapping, got " + describe(e));
        if (auto ok = check_keys(e, p, baseline_entry_keys); !ok) return tl::unexpected(ok.error());
        baseline_key k;
        auto exe = baseline_exe(e, p, "exe");
        if (!exe) return tl::unexpected(exe.error());
        auto sha = baseline_sha(e, p, "sha256");
        if (!sha) return tl::unexpected(sha.error());
        auto rexe = baseline_exe(e, p, "reader_exe");
        if (!rexe) return tl::unexpected(rexe.error());
        auto rsha = baseline_sha(e, p, "reader_sha256");
        if (!rsha) return tl::unexpected(rsha.error());
        k.exe = std::move(*exe);
        k.sha256 = std::move(*sha);
        k.reader_exe = std::move(*rexe);
        k.reader_sha256 = std::move(*rsha);

        const json* cat = find_key(e, "category");
        if (cat == nullptr) return config_fail(path_key(p, "category"), "missing; every entry needs a category");
        auto c = get_string(*cat, path_key(p, "category"), "a file category name", 128, true);
        if (!c) return tl::unexpected(c.error());
        k.category = std::move(*c);

        const json* dst = find_key(e, "destination");
        const std::string dp = path_key(p, "destination");
        if (dst == nullptr) return config_fail(dp, "missing; expected loopback, private or public");
        auto dc = dst->is_string() ? parse_destination_class(dst->get_ref<const std::string&>()) : std::nullopt;
        if (!dc) return config_fail(dp, "expected loopback, private or public, got " + describe(*dst));
        k.destination = *dc;

        const json* proto = find_key(e, "protocol");
        const std::string pp = path_key(p, "protocol");
        // a name (tcp, udp, ...) or a number 0..255 in a string: what proto_text writes
        constexpr std::string_view proto_words = "expected tcp or udp (or icmp, icmpv6, udplite, or a protocol number 0..255)";
        if (proto == nullptr) return config_fail(pp, "missing; " + std::string(proto_words));
        const auto pv = proto->is_string() ? parse_proto(proto->get_ref<const std::string&>()) : std::nullopt;
        if (!pv) return config_fail(pp, std::string(proto_words) + ", got " + describe(*proto));
        k.protocol = *pv;

        const json* port = find_key(e, "port");
        // 0: a destination without ports (ICMP, raw IP sends)
        if (port == nullptr) return config_fail(path_key(p, "port"), "missing; expected a port from 0 to 65535");
        auto pn = get_int(*port, path_key(p, "port"), 0, 65535, "a port");
        if (!pn) return tl::unexpected(pn.error());
        k.port = static_cast<std::uint16_t>(*pn);

        std::uint64_t count = 1;
        if (const json* n = find_key(e, "count")) {
            auto cn = get_int(*n, path_key(p, "count"), 1, std::numeric_limits<std::int64_t>::max(), "a count");
            if (!cn) return tl::unexpected(cn.error());
            count = static_cast<std::uint64_t>(*cn);
        }
        if (b.entries().contains(k))
            return config_fail(p, "repeats an earlier entry (same exe, sha256, reader, category, destination, "
                                  "protocol and port); each correlation appears once");
        (void)b.add(k, count);
    }
    return b;
}

} // namespace detail

// Validates a baseline JSON tree. Errors name the field
// (`entries[3].sha256: expected 64 lowercase hexadecimal digits ...`).
[[nodiscard]] inline result<baseline> parse_baseline(const nlohmann::json& root,
                                                     std::size_t max_entries = baseline::default_max_entries) {
    try {
        auto b = detail::parse_baseline_tree(root, max_entries);
        if (!b) return make_error(errc::bad_field, std::move(b.error().message));
        return std::move(*b);
    } catch (const std::exception& e) { // a json type error would be a bug above; never crash on input
        return make_error(errc::bad_field, std::string("baseline could not be read: ") + e.what());
    }
}

// Parses baseline JSON text (duplicate keys are errors, as in rules files).
[[nodiscard]] inline result<baseline> parse_baseline_text(std::string_view text,
                                                          std::size_t max_entries = baseline::default_max_entries) {
    auto tree = detail::parse_json_text(text);
    if (!tree) return make_error(errc::parse_error, std::move(tree.error().message));
    return parse_baseline(*tree, max_entries);
}

} // namespace barbwire
