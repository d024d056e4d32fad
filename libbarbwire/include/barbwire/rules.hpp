#pragma once
// Compiled matchers for a `config`: which file category a path belongs to,
// which lineage modifiers a parent process earns, and whether a destination
// is allowlisted. Built once per config (and on reload); matching allocates
// nothing.
//
//  * File categories: every pattern is a SUBSTRING of the absolute path (the
//    seed's semantics), matched case-sensitively by one Aho-Corasick
//    automaton over all patterns of all categories, so a path is scanned once
//    whatever the number of patterns. When several categories match, the one
//    with the highest base_score wins; ties go to the category listed first.
//    The reported pattern is the first pattern (in config order) of the
//    winning category that occurs in the path. An empty pattern matches every
//    path. A context category (file_category::context) ranks after every
//    category that counts, whatever the scores: match_file returns a context
//    match only for a path in context categories alone.
//  * Trusted binaries: trusted(who, category) is trusted_binary::matches and
//    ::covers over every entry, through hash indexes by exe and by sha256;
//    match_file_for(path, who) is match_file without the categories `who`
//    is trusted for (a linear scan, taken only when the best match is one
//    of them).
//  * Parent rules: a `comm` rule matches as parent_rule::matches says (a
//    rule that raises the score: the comm or the exe's name equals the
//    value; one that lowers it: the comm equals the value AND the kernel exe
//    backs the name), an `exe` rule when its executable path equals the value, a
//    `sha256` rule when the SHA-256 of its executable (as the sensor computed
//    it; unknown never matches) equals the value. From
//    each list (suspicious_parents, legit_parents) the FIRST matching rule
//    applies, so a comm rule and an exe rule describing the same program do
//    not count twice; a process matching both lists gets both modifiers.
//  * Allowlist: an IP matches an allow_ips entry when the first `prefix` bits
//    agree (IPv4 and IPv6 separately; prefixes above 32 / 128 are clamped).
//    An IPv4-mapped IPv6 destination (::ffff:a.b.c.d) is also checked
//    against the IPv4 entries. A port matches allow_ports whatever the
//    protocol or address.

#include <algorithm>
#include <array>
#include <bitset>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "barbwire/config.hpp"
#include "barbwire/event.hpp"

namespace barbwire {

// The category a path belongs to.
struct file_match {
    std::uint32_t category = 0; // index into config::suspicious_files
    std::uint32_t pattern = 0;  // index into that category's patterns
    int base_score = 0;
    bool context = false;       // the category is context: never a candidate for correlation
    friend bool operator==(const file_match&, const file_match&) = default;
};

// exe_facts (config.hpp): what the trust rules look at in a process: the
// facts of its PROGRAM (program_facts in correlator.hpp), its script when an
// interpreter runs one, else its executable. `foreign` withholds every trust.

// A secret whose base score is at least this one is never taken below the
// alert threshold by a lowering (legit_parents) modifier.
inline constexpr int lowering_floor_base_score = 5;

// Why an ancestor may not lower a score (a legit_parents rule it matches),
// or "" when its identity is verified: no foreign code in it, it runs as
// root (a user's own service manager, `systemd --user`, runs as the user),
// and its executable is the host's file at its path, unmodified, root-owned
// and not group/other-writable (path_trust_refusal) -- or its hash is the
// one a `sha256` rule pins (`pinned`).
[[nodiscard]] inline std::string lowering_refusal(const exe_facts& who, std::uint32_t process_uid, bool pinned) {
    if (who.foreign != 0) return "foreign code in it";
    if (process_uid != 0) return "runs as uid " + std::to_string(process_uid) + ", not root (a user's own service manager)";
    if (pinned) return {};
    const std::string_view why = path_trust_refusal(who);
    if (why.empty()) return {};
    std::string out(why);
    if (const auto at = out.find("at that path"); at != std::string::npos)
        out.replace(at, 12, "at " + std::string(who.exe));
    return out;
}

enum class parent_kind : std::uint8_t { suspicious, legit };

// One parent rule that matched a process.
struct parent_match {
    parent_kind kind = parent_kind::suspicious;
    std::uint32_t rule = 0;  // index into suspicious_parents or legit_parents
    int modifier = 0;
    std::string_view value;  // the rule's value; valid while the rule_set lives unmodified
};

// The rules a process matches as a parent (or grandparent).
struct parent_matches {
    std::optional<parent_match> suspicious;
    std::optional<parent_match> legit;
    [[nodiscard]] int total() const noexcept {
        return (suspicious ? suspicious->modifier : 0) + (legit ? legit->modifier : 0);
    }
    [[nodiscard]] bool empty() const noexcept { return !suspicious && !legit; }
};

namespace detail {

struct string_hash {
    using is_transparent = void;
    [[nodiscard]] std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

// Multi-pattern substring matcher: a dense Aho-Corasick DFA over byte classes
// (bytes that occur in no pattern share class 0). Each state carries the best
// (lowest) rank of any pattern ending there, so a scan keeps one integer.
class substring_automaton {
public:
    static constexpr std::uint32_t no_rank = std::numeric_limits<std::uint32_t>::max();

    substring_automaton() = default;

    // patterns[r] has rank r (lower is better).
    explicit substring_automaton(const std::vector<std::string_view>& patterns) {
        classes_.fill(0);
        std::uint32_t n_classes = 1;
        for (auto p : patterns)
            for (char ch : p) {
                const auto c = static_cast<unsigned char>(ch);
                if (classes_[c] == 0) classes_[c] = static_cast<std::uint16_t>(n_classes++);
            }
        n_classes_ = n_classes;
        build(patterns);
    }

    // Best rank of any pattern occurring in `text`, or no_rank.
    [[nodiscard]] std::uint32_t best_rank(std::string_view text) const noexcept {
        if (rows_.empty()) return no_rank;
        const std::uint32_t* rows = rows_.data();
        const std::size_t out_col = n_classes_;
        std::uint32_t at = 0; // the current state's row offset
        std::uint32_t best = rows[out_col];
        for (char ch : text) {
            at = rows[at + classes_[static_cast<unsigned char>(ch)]];
            best = std::min(best, rows[at + out_col]);
            if (best == 0) break; // nothing can beat rank 0
        }
        return best;
    }

    [[nodiscard]] std::size_t states() const noexcept { return out_.size(); }

private:
    void build(const std::vector<std::string_view>& patterns) {
        // The trie: state 0 is the root, 0 in `go` means "no edge" (the root
        // is never a child).
        const std::size_t C = n_classes_;
        std::vector<std::uint32_t> go(C, 0);
        out_.assign(1, no_rank);
        for (std::uint32_t r = 0; r < patterns.size(); ++r) {
            std::uint32_t s = 0;
            for (char ch : patterns[r]) {
                const std::size_t at = s * C + classes_[static_cast<unsigned char>(ch)];
                if (go[at] == 0) {
                    const auto fresh = static_cast<std::uint32_t>(out_.size());
                    out_.push_back(no_rank);
                    go.resize(go.size() + C, 0);
                    go[at] = fresh;
                }
                s = go[at];
            }
            out_[s] = std::min(out_[s], r);
        }
        // Breadth-first: failure links complete the DFA and merge outputs.
        std::vector<std::uint32_t> delta = go;
        std::vector<std::uint32_t> fail(out_.size(), 0);
        std::vector<std::uint32_t> queue;
        queue.reserve(out_.size());
        for (std::size_t c = 0; c < C; ++c) {
            const std::uint32_t t = go[c];
            if (t != 0) {
                fail[t] = 0;
                queue.push_back(t);
            }
            // missing root edges stay 0 (back to the root)
        }
        for (std::size_t qi = 0; qi < queue.size(); ++qi) {
            const std::uint32_t s = queue[qi];
            out_[s] = std::min(out_[s], out_[fail[s]]);
            for (std::size_t c = 0; c < C; ++c) {
                const std::uint32_t t = go[s * C + c];
                if (t != 0) {
                    fail[t] = delta[fail[s] * C + c];
                    queue.push_back(t);
                } else {
                    delta[s * C + c] = delta[fail[s] * C + c];
                }
            }
        }
        // The table best_rank() walks: one row of C + 1 entries per state,
        // the C transitions as row offsets (no multiply on the walk's
        // critical path) and the state's best rank last.
        const std::size_t stride = C + 1;
        rows_.assign(out_.size() * stride, 0);
        for (std::size_t s = 0; s < out_.size(); ++s) {
            for (std::size_t c = 0; c < C; ++c)
                rows_[s * stride + c] = static_cast<std::uint32_t>(delta[s * C + c] * stride);
            rows_[s * stride + C] = out_[s];
        }
    }

    std::array<std::uint16_t, 256> classes_{};
    std::uint32_t n_classes_ = 1;
    std::vector<std::uint32_t> out_;  // best rank ending at each state
    std::vector<std::uint32_t> rows_; // states x (classes + 1): transitions as row offsets, then out_
};

struct v6_bits {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    friend auto operator<=>(const v6_bits&, const v6_bits&) = default;
};

[[nodiscard]] inline std::uint32_t load_v4(const ip_address& a) noexcept {
    return (std::uint32_t{a.bytes[0]} << 24) | (std::uint32_t{a.bytes[1]} << 16) |
           (std::uint32_t{a.bytes[2]} << 8) | std::uint32_t{a.bytes[3]};
}

[[nodiscard]] inline v6_bits load_v6(const ip_address& a) noexcept {
    v6_bits b;
    for (int i = 0; i < 8; ++i) b.hi = (b.hi << 8) | a.bytes[static_cast<std::size_t>(i)];
    for (int i = 8; i < 16; ++i) b.lo = (b.lo << 8) | a.bytes[static_cast<std::size_t>(i)];
    return b;
}

[[nodiscard]] constexpr std::uint32_t mask_v4(unsigned prefix) noexcept {
    return prefix == 0 ? 0u : (prefix >= 32 ? ~0u : ~0u << (32 - prefix));
}

[[nodiscard]] constexpr v6_bits mask_v6(unsigned prefix) noexcept {
    constexpr std::uint64_t all = ~std::uint64_t{0};
    if (prefix == 0) return {0, 0};
    if (prefix < 64) return {all << (64 - prefix), 0};
    if (prefix == 64) return {all, 0};
    if (prefix < 128) return {all, all << (128 - prefix)};
    return {all, all};
}

} // namespace detail

class rule_set {
public:
    rule_set() : rule_set(config{}) {}

    explicit rule_set(config cfg) : cfg_(std::move(cfg)) { compile(); }

    // The config these rules were compiled from.
    [[nodiscard]] const config& source() const noexcept { return cfg_; }

    // The best category for an absolute path, or nullopt when it is in none.
    // A category that is not context always beats a context one (whatever
    // the base scores), so a context match means "in context categories only".
    [[nodiscard]] std::optional<file_match> match_file(std::string_view path) const noexcept {
        const std::uint32_t r = automaton_.best_rank(path);
        if (r == detail::substring_automaton::no_rank) return std::nullopt;
        return ranked_[r];
    }

    // Is a process running this executable trusted for opens in `category`
    // (trusted_binary::matches and ::covers, for any entry)?
    [[nodiscard]] bool trusted(const exe_facts& who, std::uint32_t category) const {
        if (trust_.empty() || who.foreign != 0) return false;
        const auto check = [&](const std::vector<std::uint32_t>& entries) {
            for (std::uint32_t i : entries) {
                const trusted_binary& t = cfg_.trusted_binaries[i];
                if (!t.matches(who)) continue;
                const auto& cats = trust_cats_[i];
                if (cats.empty() || std::binary_search(cats.begin(), cats.end(), category)) return true;
            }
            return false;
        };
        if (!who.exe.empty())
            if (auto it = trust_by_exe_.find(who.exe); it != trust_by_exe_.end() && check(it->second)) return true;
        if (!who.sha256.empty())
            if (auto it = trust_by_sha_.find(who.sha256); it != trust_by_sha_.end() && check(it->second)) return true;
        return false;
    }
    [[nodiscard]] bool has_trust() const noexcept { return !trust_.empty(); }
    // Whether any category is scoped to the host or to containers.
    [[nodiscard]] bool has_scopes() const noexcept { return scoped_; }
    // Does an open by `who` in `category` count: its scope fits `who`'s
    // side of the container boundary, and `who` is not trusted for it?
    [[nodiscard]] bool counts_for(const exe_facts& who, std::uint32_t category) const {
        return scope_fits(cfg_.suspicious_files[category].scope, who.in_container) && !trusted(who, category);
    }

    // Why a rule naming `who`'s executable path did not trust it for
    // `category` (a trusted_binaries entry) or for this destination (an
    // allowlist entry), or "" when no entry names the path or one applied.
    // For the alert: "trusted_binaries entry /usr/bin/ssh refused: not the
    // host's file at /usr/bin/ssh (a bind mount, ...)".
    [[nodiscard]] std::string trust_refusal(const exe_facts& who, std::uint32_t category, const ip_address& a,
                                            std::uint16_t port) const {
        if (who.exe.empty()) return {};
        const auto refused = [&](std::string_view list, std::string_view sha256) -> std::string {
            std::string why;
            if (!sha256.empty()) why = "its sha256 differs from the pinned one";
            else why = lowering_refusal(exe_facts{who.exe, who.sha256, who.uid, who.mode, who.host_file,
                                                  who.package, 0},
                                        0, false);
            return std::string(list) + " entry " + std::string(who.exe) + " refused: " + why;
        };
        std::string first; // the first refusal; any entry that applies wins
        if (auto it = trust_by_exe_.find(who.exe); it != trust_by_exe_.end())
            for (std::uint32_t i : it->second) {
                const trusted_binary& t = cfg_.trusted_binaries[i];
                const auto& cats = trust_cats_[i];
                if (!cats.empty() && !std::binary_search(cats.begin(), cats.end(), category)) continue;
                if (t.matches(who)) return {};
                if (first.empty()) first = refused("trusted_binaries", t.sha256);
            }
        for (const allow_rule& r : cfg_.allowlist) {
            if (r.exe != who.exe || !r.destination_matches(a, port)) continue;
            if (r.program_matches(who)) return {};
            if (first.empty()) first = refused("allowlist", r.sha256);
        }
        return first;
    }

    // The best category of `path` that counts for a process `who` opening
    // it: as match_file, but skipping the categories `who` is trusted for.
    // Context categories come last, as in match_file. Sets `skipped` when a
    // category that would have counted was skipped for trust. Only trusted
    // processes take the slow way (one substring search per pattern).
    [[nodiscard]] std::optional<file_match> match_file_for(std::string_view path, const exe_facts& who,
                                                           bool& skipped) const {
        skipped = false;
        std::optional<file_match> m = match_file(path);
        if (!m || m->context) return m;
        // A category is passed over for `who` when its scope is the other
        // side of the container boundary, or when `who` is trusted for it.
        const auto passed_over = [&](std::uint32_t c) { return !counts_for(who, c); };
        if (!passed_over(m->category)) return m;
        skipped = scope_fits(cfg_.suspicious_files[m->category].scope, who.in_container); // for trust
        for (const file_match& r : ranked_) {
            if (r.category == m->category) continue;
            if (!r.context && passed_over(r.category)) continue;
            if (path.find(cfg_.suspicious_files[r.category].patterns[r.pattern]) != std::string_view::npos) return r;
        }
        return std::nullopt;
    }

    [[nodiscard]] std::string_view category_name(std::uint32_t category) const noexcept {
        return category < cfg_.suspicious_files.size() ? std::string_view(cfg_.suspicious_files[category].name)
                                                       : std::string_view{};
    }
    [[nodiscard]] std::string_view pattern(const file_match& m) const noexcept {
        if (m.category >= cfg_.suspicious_files.size()) return {};
        const auto& pats = cfg_.suspicious_files[m.category].patterns;
        return m.pattern < pats.size() ? std::string_view(pats[m.pattern]) : std::string_view{};
    }

    // The parent rules a process with this comm / exe / executable hash
    // matches (an empty sha256 is unknown and matches no sha256 rule).
    [[nodiscard]] parent_matches match_parent(std::string_view comm, std::string_view exe,
                                              std::string_view sha256 = {}) const {
        parent_matches m;
        m.suspicious = first_match(suspicious_, cfg_.suspicious_parents, parent_kind::suspicious, comm, exe, sha256);
        m.legit = first_match(legit_, cfg_.legit_parents, parent_kind::legit, comm, exe, sha256);
        return m;
    }

    [[nodiscard]] bool ip_allowed(const ip_address& a) const noexcept {
        if (a.family == AF_INET6) {
            if (detail::is_v4_mapped(a)) {
                ip_address v4;
                v4.family = AF_INET;
                std::copy_n(a.bytes.begin() + 12, 4, v4.bytes.begin());
                if (ip_allowed(v4)) return true;
            }
            const detail::v6_bits b = detail::load_v6(a);
            for (const auto& [prefix, nets] : v6_) {
                const detail::v6_bits m = detail::mask_v6(prefix);
                if (std::binary_search(nets.begin(), nets.end(), detail::v6_bits{b.hi & m.hi, b.lo & m.lo}))
                    return true;
            }
            return false;
        }
        const std::uint32_t v = detail::load_v4(a);
        for (const auto& [prefix, nets] : v4_)
            if (std::binary_search(nets.begin(), nets.end(), v & detail::mask_v4(prefix))) return true;
        return false;
    }

    [[nodiscard]] bool port_allowed(std::uint16_t port) const noexcept { return ports_.test(port); }

    [[nodiscard]] bool allowlisted(const ip_address& a, std::uint16_t port) const noexcept {
        return port_allowed(port) || ip_allowed(a);
    }

    // The seed's whitelist, or an `allowlist` entry for this sender
    // (config::allowlisted, the plain statement; entries are few, so a scan).
    [[nodiscard]] bool allowlisted(const ip_address& a, std::uint16_t port, const exe_facts& who) const noexcept {
        if (allowlisted(a, port)) return true;
        for (const allow_rule& r : cfg_.allowlist)
            if (r.destination_matches(a, port) && (!r.names_program() || who.foreign == 0) &&
                r.program_matches(who))
                return true;
        return false;
    }

private:
    using rule_index = std::unordered_map<std::string, std::uint32_t, detail::string_hash, std::equal_to<>>;
    struct parent_index {
        rule_index by_comm; // value -> first rule index with that value
        rule_index by_exe;
        rule_index by_sha256;
    };

    static std::optional<parent_match> first_match(const parent_index& idx, const std::vector<parent_rule>& rules,
                                                   parent_kind kind, std::string_view comm, std::string_view exe,
                                                   std::string_view sha256) {
        std::uint32_t best = std::numeric_limits<std::uint32_t>::max();
        // Name rules: the candidates are the rule for the comm and the rule
        // for the exe's name; parent_rule::matches decides (it depends on
        // the modifier's sign). Values are unique per list (config check).
        const auto by_name = [&](std::string_view name) {
            if (auto it = idx.by_comm.find(name); it != idx.by_comm.end() && rules[it->second].matches(comm, exe, sha256))
                best = std::min(best, it->second);
        };
        by_name(comm);
        if (const auto en = detail::exe_name(exe); !en.empty() && en != comm) by_name(en);
        if (auto it = idx.by_exe.find(exe); it != idx.by_exe.end()) best = std::min(best, it->second);
        if (!sha256.empty())
            if (auto it = idx.by_sha256.find(sha256); it != idx.by_sha256.end()) best = std::min(best, it->second);
        if (best == std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
        const parent_rule& r = rules[best];
        return parent_match{kind, best, r.modifier, r.value};
    }

    static parent_index index_rules(const std::vector<parent_rule>& rules) {
        parent_index idx;
        for (std::uint32_t i = 0; i < rules.size(); ++i) {
            auto& map = rules[i].field == process_field::exe      ? idx.by_exe
                        : rules[i].field == process_field::sha256 ? idx.by_sha256
                                                                  : idx.by_comm;
            map.try_emplace(rules[i].value, i); // keeps the first rule for a value
        }
        return idx;
    }

    void compile() {
        // Rank every (category, pattern): higher base_score first, then config
        // order of the category, then of the pattern.
        std::vector<file_match> all;
        for (std::uint32_t c = 0; c < cfg_.suspicious_files.size(); ++c) {
            const auto& cat = cfg_.suspicious_files[c];
            for (std::uint32_t p = 0; p < cat.patterns.size(); ++p) all.push_back({c, p, cat.base_score});
        }
        for (auto& m : all) m.context = cfg_.suspicious_files[m.category].context;
        std::stable_sort(all.begin(), all.end(), [](const file_match& a, const file_match& b) {
            if (a.context != b.context) return !a.context; // evidence before context
            return a.base_score > b.base_score;
        });
        ranked_ = all;
        std::vector<std::string_view> pats;
        pats.reserve(all.size());
        for (const auto& m : all) pats.push_back(cfg_.suspicious_files[m.category].patterns[m.pattern]);
        automaton_ = detail::substring_automaton(pats);

        scoped_ = std::any_of(cfg_.suspicious_files.begin(), cfg_.suspicious_files.end(),
                              [](const file_category& f) { return f.scope != rule_scope::any; });
        trust_.clear();
        trust_cats_.clear();
        trust_by_exe_.clear();
        trust_by_sha_.clear();
        for (std::uint32_t i = 0; i < cfg_.trusted_binaries.size(); ++i) {
            const trusted_binary& t = cfg_.trusted_binaries[i];
            trust_.push_back(i);
            std::vector<std::uint32_t> cats;
            for (const auto& name : t.categories)
                for (std::uint32_t c = 0; c < cfg_.suspicious_files.size(); ++c)
                    if (cfg_.suspicious_files[c].name == name) cats.push_back(c);
            std::sort(cats.begin(), cats.end());
            // An entry listing only unknown categories (not from parse_config) trusts nothing.
            if (!t.categories.empty() && cats.empty()) cats.push_back(std::numeric_limits<std::uint32_t>::max());
            trust_cats_.push_back(std::move(cats));
            if (!t.exe.empty()) trust_by_exe_[t.exe].push_back(i);
            else trust_by_sha_[t.sha256].push_back(i);
        }

        suspicious_ = index_rules(cfg_.suspicious_parents);
        legit_ = index_rules(cfg_.legit_parents);

        ports_.reset();
        for (auto p : cfg_.allow_ports) ports_.set(p);

        v4_.clear();
        v6_.clear();
        for (const auto& net : cfg_.allow_ips) {
            if (net.addr.family == AF_INET6) {
                const unsigned prefix = std::min<unsigned>(net.prefix, 128);
                const detail::v6_bits b = detail::load_v6(net.addr), m = detail::mask_v6(prefix);
                bucket(v6_, prefix).push_back({b.hi & m.hi, b.lo & m.lo});
            } else {
                const unsigned prefix = std::min<unsigned>(net.prefix, 32);
                bucket(v4_, prefix).push_back(detail::load_v4(net.addr) & detail::mask_v4(prefix));
            }
        }
        for (auto& [p, nets] : v4_) sort_unique(nets);
        for (auto& [p, nets] : v6_) sort_unique(nets);
    }

    template <class T>
    static std::vector<T>& bucket(std::vector<std::pair<unsigned, std::vector<T>>>& buckets, unsigned prefix) {
        for (auto& [p, nets] : buckets)
            if (p == prefix) return nets;
        return buckets.emplace_back(prefix, std::vector<T>{}).second;
    }

    template <class T> static void sort_unique(std::vector<T>& v) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
    }

    config cfg_;
    bool scoped_ = false;            // a category has a scope (has_scopes)
    std::vector<file_match> ranked_; // rank -> match
    detail::substring_automaton automaton_;
    parent_index suspicious_;
    parent_index legit_;
    using trust_index = std::unordered_map<std::string, std::vector<std::uint32_t>, detail::string_hash, std::equal_to<>>;
    std::vector<std::uint32_t> trust_;                   // every entry (empty: no trust rules)
    std::vector<std::vector<std::uint32_t>> trust_cats_; // per entry: sorted category indices; empty: all
    trust_index trust_by_exe_;                           // entries with an exe
    trust_index trust_by_sha_;                           // entries with only a sha256
    std::bitset<65536> ports_;
    std::vector<std::pair<unsigned, std::vector<std::uint32_t>>> v4_;     // prefix -> sorted masked networks
    std::vector<std::pair<unsigned, std::vector<detail::v6_bits>>> v6_;
};

} // namespace barbwire
