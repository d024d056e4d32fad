#pragma once
// The correlator: feeds events through the process table and the recent
// sensitive opens, and turns a network event that follows a sensitive open
// of the same process within the window into a scored alert.
//
// Semantics (docs/scoring.md has the full account):
//  * file: the sensor reports that inode (dev, ino) is the file the rules
//    know as `path` (file_identities; a table bounded by
//    limits.max_file_identities, LRU).
//  * open: the path is matched against the categories (rule_set::match_file)
//    and, when (dev, ino) is a known identity, so is the identity's named
//    path; the higher base score wins (a tie goes to the path). A match is
//    remembered for its process (recent_opens), with the named path when it
//    came through the identity.
//  * net (connect or send) of process P at time t:
//      1. destination IP or port allowlisted      -> no alert (suppressed_allowlist)
//      2. no open of P with 0 <= t - open.ts <= window -> no alert (uncorrelated_net)
//      2b. owner use (owner.hpp): the best secret is a credential file bound
//         (binding events) to this destination (a derived secret: its
//         original bound so), the sender is a verified
//         client and the reader is the sender or a verified client of its
//         family (any relation): that secret is no
//         evidence; the evidence is looked for again without such opens,
//         and none left -> no alert (suppressed_owner_use). An alert whose
//         secret is bound elsewhere says so in a 0-point score line.
//      3. score = best base_score (ties: most recent open)
//               + raising modifiers of P's parent and of P's grandparent
//               + the one strongest verified lowering of the two (issue 13:
//                 add_lowering; never a base-5 secret below the threshold)
//         score < alert_threshold                  -> no alert (below_threshold)
//      3b. a baseline (set_baseline) that has seen the correlation: suppress
//         -> no alert (suppressed_baseline); downscore -> the file
//         category's points are withdrawn, and below alert_threshold
//         -> no alert (suppressed_baseline). A correlation quieted here
//         never reaches rate limiting: it opens no incident and is never
//         counted in a summary.
//      4. rate limit (dedup.hpp, incident_table): a repeat of an alerted
//         incident (same secret, family scope and sending program) within
//         its quiet period, not more severe         -> suppressed_rate_limit (counted)
//      5. same (pid, addr, port, protocol) alerted within window, at least as
//         severe                                  -> suppressed_dedup
//      6. otherwise one alert, severity = config::classify(score), with its
//         incident id and the repeats suppressed since its previous alert.
//    Ended quiet periods that counted repeats become incident_summary
//    records: drain_summaries() after each process()/expire(), and
//    flush_incidents() at the end of a run.
//  * housekeeping runs from event time: whenever the newest event time has
//    advanced by max(window / 2, 1 ms) since the last run, expire(ev.ts).
//
// Pure and single-threaded: no I/O, no clock reads (tick() asks the injected
// clock), no exceptions of its own (only std::bad_alloc can escape).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h> // O_ACCMODE, O_WRONLY, O_PATH: pure constants

#include <nlohmann/json.hpp>

#include "barbwire/alert.hpp"
#include "barbwire/baseline.hpp"
#include "barbwire/clock.hpp"
#include "barbwire/config.hpp"
#include "barbwire/dedup.hpp"
#include "barbwire/detail/lru.hpp"
#include "barbwire/event.hpp"
#include "barbwire/evidence.hpp"
#include "barbwire/held.hpp"
#include "barbwire/owner.hpp"
#include "barbwire/process_table.hpp"
#include "barbwire/rules.hpp"
#include "barbwire/taint.hpp"

namespace barbwire {

// Is this executable good enough to vouch for the script it runs? An
// interpreter anyone can replace could run anything under a trusted
// script's name.
// Trust by path's checks (path_trust_refusal): the host's file at its path,
// unmodified (package provenance), root-owned, writable by nobody else.
[[nodiscard]] inline bool interpreter_vouches(const process_info& p) noexcept {
    return path_trust_refusal(exe_facts{p.exe, p.exe_sha256, p.exe_uid, p.exe_mode, p.exe_host_file, p.exe_package,
                                        p.foreign})
        .empty();
}

// The program identity of a process for trust, allowlists and baselines
// (docs/rules.md, "Scripts and foreign code"): its script when an
// interpreter runs one, else its executable. A script counts only by its
// own identity: a pending script (not opened yet), a script under an
// interpreter that does not vouch for it, or a script of unknown owner
// carries no uid, mode or hash, so nothing trusts it; the interpreter's
// own identity never stands in for it. `foreign` travels along: any bit
// withholds every trust.
[[nodiscard]] inline exe_facts program_facts(const process_info& p) noexcept {
    const bool boxed = p.container && p.container->verified; // rule_scope: a verified container
    if (!p.script)
        return exe_facts{p.exe, p.exe_sha256, p.exe_uid, p.exe_mode, p.exe_host_file, p.exe_package, p.foreign, boxed};
    const script_identity& s = *p.script;
    if (s.ino == 0 || !interpreter_vouches(p))
        return exe_facts{s.path, {}, std::nullopt, std::nullopt, std::nullopt, {}, p.foreign, boxed};
    return exe_facts{s.path, s.sha256, s.uid, s.mode, s.host_file, s.package, p.foreign, boxed};
}

// The best match of an open: its own path's, or that of the path the rules
// know its inode by (`named`, empty when the inode is not known), whichever
// is better: a match that counts beats a context one, then the higher base
// score; a tie goes to the path. `via_identity` tells which one won.
//
// With `who` (the opener's executable), categories the opener is trusted
// for (trusted_binaries) are skipped on both paths, and `trusted` tells that
// a category was skipped (the cached `named` match is then re-derived from
// `named_path`).
struct open_match {
    std::optional<file_match> match;
    bool via_identity = false;
    bool trusted = false;
};
[[nodiscard]] inline bool better_match(const std::optional<file_match>& a, const std::optional<file_match>& b) noexcept {
    if (!a) return false;
    if (!b) return true;
    if (a->context != b->context) return !a->context;
    return a->base_score > b->base_score;
}
[[nodiscard]] inline open_match best_open_match(const rule_set& rules, std::string_view path,
                                                const std::optional<file_match>& named,
                                                std::string_view named_path = {}, const exe_facts* who = nullptr) {
    open_match out{rules.match_file(path), false, false};
    std::optional<file_match> nm = named;
    if (who != nullptr && (rules.has_trust() || rules.has_scopes())) {
        bool skipped = false;
        if (out.match && !out.match->context && !rules.counts_for(*who, out.match->category)) {
            out.match = rules.match_file_for(path, *who, skipped);
            out.trusted = out.trusted || skipped;
        }
        if (nm && !nm->context && !named_path.empty() && !rules.counts_for(*who, nm->category)) {
            nm = rules.match_file_for(named_path, *who, skipped);
            out.trusted = out.trusted || skipped;
        }
    }
    if (better_match(nm, out.match)) {
        out.match = nm;
        out.via_identity = true;
    }
    return out;
}


// Identities of the files the rules name: (dev, ino) -> the path the rules
// know the file by, with that path's match under the current rules (cached,
// re-derived by reclassify() on reload). Fed by file events (event.hpp,
// file_event). A new (dev, ino) is a new entry, even for a path already
// known under another inode: the old inode may still be reachable through a
// hard link made before the file was replaced, and it still holds the old
// secret. A known (dev, ino) takes the new path. dev 0 or ino 0 is never an
// identity.
//
// At most `capacity` entries; the least recently reported or matched one is
// evicted first (counted).
class file_identities {
public:
    struct identity {
        std::string path;                // the named path (absolute)
        std::optional<file_match> match; // of `path` under the current rules
    };

    explicit file_identities(std::size_t capacity = limits{}.max_file_identities) { set_capacity(capacity); }

    // Records that (dev, ino) is the file the rules know as `path`.
    void learn(std::uint64_t dev, std::uint64_t ino, std::string_view path, const rule_set& rules) {
        if (dev == 0 || ino == 0) return;
        const key k{dev, ino};
        detail::slab_index i = map_.find(k);
        if (i == detail::no_index) {
            if (map_.size() >= capacity_) evict_one();
            i = map_.insert(k, 0);
        } else {
            map_.move_to_back(i, 0);
        }
        identity& id = map_.value(i); // a reused slot: overwrite it
        id.path.assign(path);
        id.match = rules.match_file(id.path);
    }

    // The identity of (dev, ino), or nullptr; a hit counts as a use (LRU).
    // One hash lookup, no allocation.
    [[nodiscard]] const identity* find(std::uint64_t dev, std::uint64_t ino) {
        if (dev == 0 || ino == 0 || map_.empty()) return nullptr;
        const detail::slab_index i = map_.find(key{dev, ino});
        if (i == detail::no_index) return nullptr;
        map_.move_to_back(i, 0);
        return &map_.value(i);
    }

    // The identity of (dev, ino) without touching the LRU order.
    [[nodiscard]] const identity* peek(std::uint64_t dev, std::uint64_t ino) const {
        if (dev == 0 || ino == 0) return nullptr;
        const detail::slab_index i = map_.find(key{dev, ino});
        return i == detail::no_index ? nullptr : &map_.value(i);
    }

    // Re-derives every identity's match under new rules (reload).
    void reclassify(const rule_set& rules) {
        for (detail::slab_index i = map_.front(0); i != detail::no_index; i = map_.next(i)) {
            identity& id = map_.value(i);
            id.match = rules.match_file(id.path);
        }
    }

    // New capacity (minimum 1); a lower one evicts at once.
    void set_capacity(std::size_t n) {
        capacity_ = std::max<std::size_t>(n, 1);
        map_.shrink_to(capacity_, [this] { evict_one(); });
    }

    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }

    void clear() { map_.clear(); }

private:
    using key = detail::inode_key;
    using key_hash = detail::inode_key_hash;

    void evict_one() {
        const detail::slab_index i = map_.front(0);
        map_.value(i).path.clear();
        map_.erase(i);
        ++evictions_;
    }

    detail::slab_map<key, identity, key_hash, 1> map_;
    std::size_t capacity_ = 1;
    std::uint64_t evictions_ = 0;
};

// Recent sensitive opens per process.
//
// Per process, an open is dropped as soon as a later open scores at least as
// much (it is "superseded": it can never again be the best choice, because
// the later open is in the window whenever the earlier one is, and a tie goes
// to the most recent). What is kept is therefore short: opens ordered by time
// with strictly decreasing base scores. If more than max_per_process remain,
// the oldest is dropped (counted). Opens more than `window` older than the
// newest open of the same process are dropped on insert (they cannot
// correlate with any later event).
//
// At most max_processes processes hold opens; the one whose last sensitive
// open is oldest is evicted first (counted). expire(now, window) removes
// processes whose newest open is more than `window` before `now`.
class recent_opens {
public:
    explicit recent_opens(std::size_t max_processes = limits{}.max_tracked_openers,
                          std::size_t max_per_process = limits{}.max_opens_per_process) {
        set_limits(max_processes, max_per_process);
    }

    // Remembers an open (already matched to a category) of process `pid`.
    // `same_inode_as` is the named path the match came through, when it came
    // through the file's identity rather than its path.
    void record(pid_type pid, nanoseconds ts, std::string_view path, std::uint64_t dev, std::uint64_t ino,
                const file_match& match, nanoseconds window, std::string_view same_inode_as = {},
                access_path source = access_path::syscall, std::shared_ptr<const derived_origin> derived = {}) {
        detail::slab_index i = map_.find(pid);
        if (i == detail::no_index) {
            if (map_.size() >= max_processes_) evict_one();
            i = map_.insert(pid, 0);
            map_.value(i).clear(); // a reused slot: keep the vector's capacity, drop the old opens
        } else {
            map_.move_to_back(i, 0);
        }
        auto& opens = map_.value(i);
        // Out of the window for every later event: drop.
        const auto too_old = [&](const sensitive_open& o) { return older_than(o.ts, window, ts); };
        const auto old_end = std::find_if_not(opens.begin(), opens.end(), too_old);
        expired_ += static_cast<std::uint64_t>(old_end - opens.begin());
        opens.erase(opens.begin(), old_end);
        insert(opens, ts, path, dev, ino, match, same_inode_as, source, std::move(derived));
    }

    // The best open of `pid` for a network event at `t`: among opens with
    // 0 <= t - ts <= window, the highest base score, ties to the most recent.
    [[nodiscard]] const sensitive_open* best(pid_type pid, nanoseconds t, nanoseconds window) const {
        const detail::slab_index i = map_.find(pid);
        if (i == detail::no_index) return nullptr;
        const sensitive_open* best = nullptr;
        for (const auto& o : map_.value(i)) {
            if (o.ts > t || older_than(o.ts, window, t)) continue;
            if (best == nullptr || o.match.base_score > best->match.base_score ||
                (o.match.base_score == best->match.base_score && o.ts >= best->ts))
                best = &o;
        }
        return best;
    }

    // As best(), among the opens `keep` accepts.
    template <class Keep>
    [[nodiscard]] const sensitive_open* best_if(pid_type pid, nanoseconds t, nanoseconds window, const Keep& keep) const {
        const detail::slab_index i = map_.find(pid);
        if (i == detail::no_index) return nullptr;
        const sensitive_open* best = nullptr;
        for (const auto& o : map_.value(i)) {
            if (o.ts > t || older_than(o.ts, window, t) || !keep(o)) continue;
            if (best == nullptr || o.match.base_score > best->match.base_score ||
                (o.match.base_score == best->match.base_score && o.ts >= best->ts))
                best = &o;
        }
        return best;
    }

    // The opens kept for `pid` (oldest first), or nullptr.
    [[nodiscard]] const std::vector<sensitive_open>* opens_of(pid_type pid) const {
        const detail::slab_index i = map_.find(pid);
        return i == detail::no_index ? nullptr : &map_.value(i);
    }

    // A hint before forget(pid) or record(pid, ...): starts loading the
    // index slot of `pid`. Changes nothing.
    void prefetch(pid_type pid) const noexcept { map_.prefetch(pid); }

    // Drops everything remembered for `pid` (a reused pid, a new child).
    void forget(pid_type pid) {
        const detail::slab_index i = map_.find(pid);
        if (i == detail::no_index) return;
        map_.value(i).clear();
        map_.erase(i);
    }

    // Removes processes whose newest open is more than `window` before `now`.
    std::size_t expire(nanoseconds now, nanoseconds window) {
        std::size_t n = 0;
        for (detail::slab_index i = map_.front(0); i != detail::no_index; i = map_.front(0)) {
            auto& opens = map_.value(i);
            if (!opens.empty() && !older_than(opens.back().ts, window, now)) break;
            expired_ += opens.size();
            opens.clear();
            map_.erase(i);
            ++n;
        }
        return n;
    }

    // Re-derives every open's category with new rules (reload): opens that
    // no longer match, or match only context categories, are dropped, the
    // others re-ranked. An open that matched through its file's identity is
    // re-matched as an open would be: the better of its path and the named
    // path (a tie to the path). `who(pid)` gives the opener's executable
    // (exe_facts, or nullopt when unknown), so categories the opener is now
    // trusted for no longer count.
    template <class Who>
    void reclassify(const rule_set& rules, const Who& who) {
        std::vector<sensitive_open> kept;
        std::vector<detail::slab_index> empty;
        for (detail::slab_index i = map_.front(0); i != detail::no_index; i = map_.next(i)) {
            auto& opens = map_.value(i);
            const std::optional<exe_facts> facts = who(map_.key(i));
            kept.clear();
            for (auto& o : opens) {
                if (o.derived) { // a derived secret: its origin's category, found by name
                    const auto dm =
                        derived_files::match_for(rules, o.derived->category, rules.source().taint.modifier);
                    if (!dm || !rules.source().taint.enabled) continue;
                    o.match = *dm;
                    kept.push_back(std::move(o));
                    continue;
                }
                const std::optional<file_match> named =
                    o.same_inode_as.empty() ? std::nullopt : rules.match_file(o.same_inode_as);
                const open_match m =
                    best_open_match(rules, o.path, named, o.same_inode_as, facts ? &*facts : nullptr);
                if (!m.match || m.match->context) continue;
                o.match = *m.match;
                if (!m.via_identity) o.same_inode_as.clear();
                kept.push_back(std::move(o));
            }
            opens.clear();
            for (auto& o : kept)
                insert(opens, o.ts, o.path, o.dev, o.ino, o.match, o.same_inode_as, o.source, std::move(o.derived));
            if (opens.empty()) empty.push_back(i);
        }
        for (auto i : empty) map_.erase(i);
    }

    // New capacities (minimum 1 each); lower ones take effect at once.
    void set_limits(std::size_t max_processes, std::size_t max_per_process) {
        max_processes_ = std::max<std::size_t>(max_processes, 1);
        max_per_process_ = std::max<std::size_t>(max_per_process, 1);
        map_.shrink_to(max_processes_, [this] { evict_one(); });
        for (detail::slab_index i = map_.front(0); i != detail::no_index; i = map_.next(i)) {
            auto& opens = map_.value(i);
            if (opens.size() > max_per_process_) {
                const auto excess = opens.size() - max_per_process_;
                dropped_ += excess;
                opens.erase(opens.begin(), opens.begin() + static_cast<std::ptrdiff_t>(excess));
            }
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); } // processes holding opens
    [[nodiscard]] std::size_t open_count() const {
        std::size_t n = 0;
        for (detail::slab_index i = map_.front(0); i != detail::no_index; i = map_.next(i))
            n += map_.value(i).size();
        return n;
    }
    [[nodiscard]] std::size_t max_processes() const noexcept { return max_processes_; }
    [[nodiscard]] std::size_t max_per_process() const noexcept { return max_per_process_; }
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; } // processes evicted
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }     // opens over max_per_process
    [[nodiscard]] std::uint64_t superseded() const noexcept { return superseded_; }
    [[nodiscard]] std::uint64_t expired() const noexcept { return expired_; }     // opens aged out

    void clear() { map_.clear(); }

private:
    void evict_one() {
        const detail::slab_index i = map_.front(0);
        map_.value(i).clear();
        map_.erase(i);
        ++evictions_;
    }

    // Inserts into one process's list, keeping it free of superseded opens.
    // Reuses the string of a superseded open, so a stream of same-category
    // opens allocates nothing.
    void insert(std::vector<sensitive_open>& opens, nanoseconds ts, std::string_view path, std::uint64_t dev,
                std::uint64_t ino, const file_match& m, std::string_view same_inode_as, access_path source,
                std::shared_ptr<const derived_origin> derived) {
        // An existing open at least as good and at least as recent (strictly
        // better in one) makes the new one useless.
        for (const auto& o : opens) {
            if (o.match.base_score >= m.base_score && o.ts >= ts &&
                (o.match.base_score > m.base_score || o.ts > ts)) {
                ++superseded_;
                return;
            }
        }
        std::string buffer, named;
        const auto superseded_by_new = [&](const sensitive_open& o) {
            return o.match.base_score <= m.base_score && o.ts <= ts;
        };
        auto dead = std::stable_partition(opens.begin(), opens.end(),
                                          [&](const sensitive_open& o) { return !superseded_by_new(o); });
        if (dead != opens.end()) {
            buffer.swap(dead->path);
            named.swap(dead->same_inode_as);
        }
        superseded_ += static_cast<std::uint64_t>(opens.end() - dead);
        opens.erase(dead, opens.end());
        buffer.assign(path);
        named.assign(same_inode_as);
        const auto at = std::upper_bound(opens.begin(), opens.end(), ts,
                                         [](nanoseconds t, const sensitive_open& o) { return t < o.ts; });
        opens.insert(at, sensitive_open{ts, dev, ino, m, std::move(buffer), std::move(named), source, std::move(derived)});
        if (opens.size() > max_per_process_) {
            ++dropped_;
            opens.erase(opens.begin());
        }
    }

    detail::slab_map<pid_type, std::vector<sensitive_open>, std::hash<pid_type>, 1> map_;
    std::size_t max_processes_ = 1;
    std::size_t max_per_process_ = 1;
    std::uint64_t evictions_ = 0;
    std::uint64_t dropped_ = 0;
    std::uint64_t superseded_ = 0;
    std::uint64_t expired_ = 0;
};

// Which processes of a session hold recent sensitive opens: the index that
// finds sibling, descendant and session readers of a network event in
// O(openers of that session) instead of O(all openers). Per session at most
// max_per_session pids (the least recent opener is dropped, counted); at
// most max_sessions sessions (the one whose last open is oldest is evicted,
// counted); expire(now, window) drops sessions with no open in the window.
// Entries may be stale (the opener's opens aged out, or the pid now holds
// another process): the correlator re-checks every candidate.
class session_openers {
public:
    static constexpr std::size_t max_per_session = 64;

    explicit session_openers(std::size_t max_sessions = limits{}.max_tracked_openers) { set_capacity(max_sessions); }

    void record(std::uint32_t sid, pid_type pid, nanoseconds ts) {
        detail::slab_index i = map_.find(sid);
        if (i == detail::no_index) {
            if (map_.size() >= capacity_) evict_one();
            i = map_.insert(sid, 0);
            map_.value(i).pids.clear();
            map_.value(i).last = ts;
        } else {
            map_.move_to_back(i, 0);
        }
        auto& v = map_.value(i);
        v.last = std::max(v.last, ts);
        auto it = std::find(v.pids.begin(), v.pids.end(), pid);
        if (it != v.pids.end()) v.pids.erase(it);
        v.pids.push_back(pid);
        if (v.pids.size() > max_per_session) {
            v.pids.erase(v.pids.begin());
            ++dropped_;
        }
    }

    [[nodiscard]] const std::vector<pid_type>* openers(std::uint32_t sid) const {
        const detail::slab_index i = map_.find(sid);
        return i == detail::no_index ? nullptr : &map_.value(i).pids;
    }

    std::size_t expire(nanoseconds now, nanoseconds window) {
        std::size_t n = 0;
        for (detail::slab_index i = map_.front(0); i != detail::no_index; i = map_.front(0)) {
            if (!older_than(map_.value(i).last, window, now)) break;
            map_.value(i).pids.clear();
            map_.erase(i);
            ++n;
        }
        return n;
    }

    void set_capacity(std::size_t n) {
        capacity_ = std::max<std::size_t>(n, 1);
        map_.shrink_to(capacity_, [this] { evict_one(); });
    }

    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }

private:
    struct value {
        nanoseconds last{0};
        std::vector<pid_type> pids;
    };
    void evict_one() {
        const detail::slab_index i = map_.front(0);
        map_.value(i).pids.clear();
        map_.erase(i);
        ++evictions_;
    }

    detail::slab_map<std::uint32_t, value, std::hash<std::uint32_t>, 1> map_;
    std::size_t capacity_ = 1;
    std::uint64_t evictions_ = 0;
    std::uint64_t dropped_ = 0;
};

// Counters since construction (reload keeps them) and current table sizes.
struct correlator_stats {
    // events by kind
    std::uint64_t events = 0;
    std::uint64_t exec_events = 0;
    std::uint64_t fork_events = 0;
    std::uint64_t exit_events = 0;
    std::uint64_t open_events = 0;
    std::uint64_t net_events = 0;
    std::uint64_t write_events = 0; // writes of hot families reported by the kernel (taint)
    std::uint64_t file_events = 0;  // file identities reported by the sensor
    std::uint64_t binding_events = 0; // servers of credential files reported by the sensor (owner use)
    std::uint64_t thread_forks = 0; // forks that created a thread, not a process
    std::uint64_t thread_exits = 0; // exits of a thread that is not the group leader
    std::uint64_t pid_reuses = 0;   // exec/fork onto a pid whose old process was still in the table
    std::uint64_t sensitive_opens = 0;
    std::uint64_t identity_opens = 0; // sensitive opens matched through the file's identity (another name of the inode)
    std::uint64_t context_opens = 0;  // opens that matched only context categories (not remembered)
    std::uint64_t trusted_opens = 0;  // opens where a category was skipped because the opener is trusted for it
    std::uint64_t unread_opens = 0;   // opens of a secret that cannot read it (write-only, O_PATH): no evidence
    std::uint64_t derived_opens = 0;  // sensitive opens of a derived secret (a file written from a secret)
    std::uint64_t unusual_opens = 0;  // sensitive opens made through the ia32 compat entry or io_uring
    std::uint64_t derived_writes = 0; // writes that made (or renewed) a derived secret
    // net event outcomes (each net event lands in exactly one)
    std::uint64_t alerts = 0;
    std::uint64_t suppressed_allowlist = 0;
    std::uint64_t uncorrelated_net = 0; // no sensitive open of the process within the window
    std::uint64_t below_threshold = 0;
    std::uint64_t suppressed_dedup = 0;
    std::uint64_t suppressed_rate_limit = 0; // repeats of an incident inside its quiet period (counted, summarized)
    std::uint64_t suppressed_baseline = 0;   // quieted by the baseline (suppressed, or down-scored below the threshold)
    std::uint64_t suppressed_owner_use = 0;  // a verified client sent its own credential to the server it names
    // baseline verdicts of the correlations that reached it (score >= alert_threshold)
    std::uint64_t baseline_seen = 0;
    std::uint64_t baseline_new = 0;
    std::uint64_t baseline_changed = 0;
    // alerts by relation of the reader to the sender
    std::uint64_t alerts_self = 0;
    std::uint64_t alerts_ancestor = 0;
    std::uint64_t alerts_descendant = 0;
    std::uint64_t alerts_sibling = 0;
    std::uint64_t alerts_session = 0;
    // alerts by what kind of evidence
    std::uint64_t alerts_held = 0;             // the secret was held (or inherited) past the window
    std::uint64_t alerts_derived = 0;          // the file was a derived secret
    std::uint64_t alerts_connection_first = 0; // the connection was open before the read
    // tables
    std::uint64_t process_evictions = 0;
    std::uint64_t processes_expired = 0;
    std::uint64_t opener_evictions = 0;  // processes dropped from recent opens for capacity
    std::uint64_t opens_dropped = 0;     // opens dropped over max_opens_per_process
    std::uint64_t opens_superseded = 0;  // opens replaced by a later one scoring at least as much
    std::uint64_t opens_expired = 0;
    std::uint64_t dedup_evictions = 0;
    std::uint64_t dedup_expired = 0;
    std::uint64_t session_evictions = 0;      // sessions dropped from the family index for capacity
    std::uint64_t session_openers_dropped = 0; // openers over session_openers::max_per_session
    std::uint64_t file_identity_evictions = 0; // file identities dropped for capacity
    std::uint64_t holder_evictions = 0;        // processes holding secrets dropped for capacity
    std::uint64_t derived_evictions = 0;       // derived secrets dropped for capacity
    std::uint64_t bound_file_evictions = 0;    // credential-file bindings dropped for capacity
    std::uint64_t incidents_opened = 0;             // rate limiting: incidents opened by an alert
    std::uint64_t incident_summaries = 0;           // summaries produced (quiet periods that counted repeats)
    std::uint64_t incident_summaries_dropped = 0;   // summaries dropped undrained (over the incident capacity)
    std::uint64_t incident_evictions = 0;           // incidents dropped for capacity (their counts summarized)
    std::uint64_t incident_mark_evictions = 0;      // destination/sender marks dropped: counts may be high
    std::uint64_t housekeeping_runs = 0; // expire() calls, explicit or from event time
    std::uint64_t reloads = 0;
    // gauges: current sizes, their high-water marks, and capacities
    std::size_t processes = 0;
    std::size_t processes_peak = 0;
    std::size_t processes_capacity = 0;
    std::size_t openers = 0;
    std::size_t openers_peak = 0;
    std::size_t openers_capacity = 0;
    std::size_t dedup_entries = 0;
    std::size_t dedup_peak = 0;
    std::size_t dedup_capacity = 0;
    std::size_t file_identities = 0;
    std::size_t file_identities_peak = 0;
    std::size_t file_identities_capacity = 0;
    std::size_t holders = 0; // processes holding a secret past the window (held.hpp)
    std::size_t holders_peak = 0;
    std::size_t holders_capacity = 0;
    std::size_t derived_files = 0; // derived secrets (taint.hpp)
    std::size_t derived_files_peak = 0;
    std::size_t derived_files_capacity = 0;
    std::size_t bound_files = 0; // credential files with known servers (owner.hpp)
    std::size_t bound_files_capacity = 0;
    std::size_t incidents = 0; // rate limiting: incidents in a quiet period or idle after one
    std::size_t incidents_peak = 0;
    std::size_t incidents_capacity = 0;

    friend bool operator==(const correlator_stats&, const correlator_stats&) = default;
};

// Flat object, one key per member, same names (docs/scoring.md).
[[nodiscard]] inline nlohmann::json to_json(const correlator_stats& s) {
    return {
        {"events", s.events},
        {"exec_events", s.exec_events},
        {"fork_events", s.fork_events},
        {"exit_events", s.exit_events},
        {"open_events", s.open_events},
        {"net_events", s.net_events},
        {"write_events", s.write_events},
        {"file_events", s.file_events},
        {"binding_events", s.binding_events},
        {"thread_forks", s.thread_forks},
        {"thread_exits", s.thread_exits},
        {"pid_reuses", s.pid_reuses},
        {"sensitive_opens", s.sensitive_opens},
        {"identity_opens", s.identity_opens},
        {"context_opens", s.context_opens},
        {"trusted_opens", s.trusted_opens},
        {"unread_opens", s.unread_opens},
        {"derived_opens", s.derived_opens},
        {"unusual_opens", s.unusual_opens},
        {"derived_writes", s.derived_writes},
        {"alerts", s.alerts},
        {"suppressed_allowlist", s.suppressed_allowlist},
        {"uncorrelated_net", s.uncorrelated_net},
        {"below_threshold", s.below_threshold},
        {"suppressed_dedup", s.suppressed_dedup},
        {"suppressed_rate_limit", s.suppressed_rate_limit},
        {"suppressed_baseline", s.suppressed_baseline},
        {"suppressed_owner_use", s.suppressed_owner_use},
        {"baseline_seen", s.baseline_seen},
        {"baseline_new", s.baseline_new},
        {"baseline_changed", s.baseline_changed},
        {"alerts_self", s.alerts_self},
        {"alerts_ancestor", s.alerts_ancestor},
        {"alerts_descendant", s.alerts_descendant},
        {"alerts_sibling", s.alerts_sibling},
        {"alerts_session", s.alerts_session},
        {"alerts_held", s.alerts_held},
        {"alerts_derived", s.alerts_derived},
        {"alerts_connection_first", s.alerts_connection_first},
        {"process_evictions", s.process_evictions},
        {"processes_expired", s.processes_expired},
        {"opener_evictions", s.opener_evictions},
        {"opens_dropped", s.opens_dropped},
        {"opens_superseded", s.opens_superseded},
        {"opens_expired", s.opens_expired},
        {"dedup_evictions", s.dedup_evictions},
        {"dedup_expired", s.dedup_expired},
        {"session_evictions", s.session_evictions},
        {"session_openers_dropped", s.session_openers_dropped},
        {"file_identity_evictions", s.file_identity_evictions},
        {"holder_evictions", s.holder_evictions},
        {"derived_evictions", s.derived_evictions},
        {"bound_file_evictions", s.bound_file_evictions},
        {"incidents_opened", s.incidents_opened},
        {"incident_summaries", s.incident_summaries},
        {"incident_summaries_dropped", s.incident_summaries_dropped},
        {"incident_evictions", s.incident_evictions},
        {"incident_mark_evictions", s.incident_mark_evictions},
        {"housekeeping_runs", s.housekeeping_runs},
        {"reloads", s.reloads},
        {"processes", s.processes},
        {"processes_peak", s.processes_peak},
        {"processes_capacity", s.processes_capacity},
        {"openers", s.openers},
        {"openers_peak", s.openers_peak},
        {"openers_capacity", s.openers_capacity},
        {"dedup_entries", s.dedup_entries},
        {"dedup_peak", s.dedup_peak},
        {"dedup_capacity", s.dedup_capacity},
        {"file_identities", s.file_identities},
        {"file_identities_peak", s.file_identities_peak},
        {"file_identities_capacity", s.file_identities_capacity},
        {"holders", s.holders},
        {"holders_peak", s.holders_peak},
        {"holders_capacity", s.holders_capacity},
        {"derived_files", s.derived_files},
        {"derived_files_peak", s.derived_files_peak},
        {"derived_files_capacity", s.derived_files_capacity},
        {"bound_files", s.bound_files},
        {"bound_files_capacity", s.bound_files_capacity},
        {"incidents", s.incidents},
        {"incidents_peak", s.incidents_peak},
        {"incidents_capacity", s.incidents_capacity},
    };
}

class correlator {
public:
    explicit correlator(config cfg) : correlator(rule_set(std::move(cfg))) {}

    // From rules compiled once (rule_set): compiling builds the file
    // matcher's automaton, which costs more than a short replay; a tool that
    // makes many correlators from one config (a fuzzer, a replay per trace
    // file, a test) compiles it once and copies it.
    explicit correlator(rule_set rules)
        : rules_(std::move(rules)),
          processes_(rules_.source().limits.max_processes),
          opens_(rules_.source().limits.max_tracked_openers, rules_.source().limits.max_opens_per_process),
          dedup_(rules_.source().limits.max_dedup_entries),
          sessions_(rules_.source().limits.max_tracked_openers),
          identities_(rules_.source().limits.max_file_identities),
          incidents_(rules_.source().limits.max_dedup_entries),
          holders_(rules_.source().limits.max_holders),
          derived_(rules_.source().limits.max_derived_files),
          bound_(rules_.source().limits.max_file_identities) {
        sync_stats();
    }

    // `clk` must outlive the correlator; tick() reads it.
    correlator(config cfg, const clock& clk) : correlator(std::move(cfg)) { clock_ = &clk; }

    // Feeds one event; returns the alert it completes, if any.
    [[nodiscard]] std::optional<alert> process(const event& ev) {
        ++stats_.events;
        newest_ts_ = std::max(newest_ts_, ev.ts);
        // Quiet periods that ran out before this event end first, so their
        // summaries come before anything this event causes (event time:
        // a replay ends them at the same points).
        incidents_.close_due(ev.ts, rules_.source().rate_limit_period);
        // Only a net event can complete an alert. The others return nullopt
        // directly: an empty std::optional<alert> declared up front costs a
        // zero-fill of the whole alert on every event.
        if (ev.kind() == event_kind::net) {
            std::optional<alert> out = on_net(ev);
            after_event(ev.ts);
            return out;
        }
        switch (ev.kind()) {
        case event_kind::exec: on_exec(ev); break;
        case event_kind::fork: on_fork(ev); break;
        case event_kind::exit: on_exit(ev); break;
        case event_kind::open: on_open(ev); break;
        case event_kind::net: break; // above
        case event_kind::write: on_write(ev); break;
        case event_kind::file: on_file(ev); break;
        case event_kind::foreign:
        case event_kind::script: processes_.apply(ev); break;
        case event_kind::binding: on_binding(ev); break;
        }
        after_event(ev.ts);
        return std::nullopt;
    }

    // Drops state no window can need any more: exited processes, opens and
    // dedup keys older than the window before `now`.
    void expire(nanoseconds now) {
        const nanoseconds w = rules_.source().window;
        processes_.expire(now, w);
        opens_.expire(now, w);
        dedup_.expire(now, w);
        sessions_.expire(now, w);
        incidents_.close_due(now, rules_.source().rate_limit_period);
        ++stats_.housekeeping_runs;
        last_housekeeping_ = last_housekeeping_ ? std::max(*last_housekeeping_, now) : now;
        sync_stats();
    }

    // expire(clock.now()) when constructed with a clock; otherwise nothing.
    void tick() {
        if (clock_ != nullptr) expire(clock_->now());
    }

    // Summaries of quiet periods that ended (rate limiting), oldest first,
    // since the last call. Call after process(), expire() or tick(), and
    // print them before the alert process() returned.
    [[nodiscard]] std::vector<incident_summary> drain_summaries() {
        auto out = incidents_.drain();
        sync_stats();
        return out;
    }

    // Ends every running quiet period at the newest event time, queueing a
    // summary for each that counted repeats (end of a replay, sensor stop).
    void flush_incidents() {
        incidents_.flush(newest_ts_, rules_.source().rate_limit_period);
        sync_stats();
    }

    // New rules; processes, recent opens (re-classified under the new rules),
    // file identities (their matches re-derived) and dedup state are kept;
    // tables take the new limits (lower ones evict).
    void reload(config cfg) { reload(rule_set(std::move(cfg))); }
    void reload(rule_set rules) {
        rules_ = std::move(rules);
        const auto& l = rules_.source().limits;
        processes_.set_capacity(l.max_processes);
        opens_.set_limits(l.max_tracked_openers, l.max_opens_per_process);
        opens_.reclassify(rules_, [this](pid_type pid) -> std::optional<exe_facts> {
            const process_info* p = processes_.find(pid);
            if (p == nullptr) return std::nullopt;
            return program_facts(*p);
        });
        dedup_.set_capacity(l.max_dedup_entries);
        sessions_.set_capacity(l.max_tracked_openers);
        identities_.set_capacity(l.max_file_identities);
        identities_.reclassify(rules_);
        bound_.set_capacity(l.max_file_identities);
        derived_.set_capacity(l.max_derived_files);
        derived_.reclassify(rules_, rules_.source().taint.modifier);
        holders_.set_capacity(l.max_holders);
        if (!rules_.source().held.enabled) holders_.clear(); // held secrets turned off: nobody holds one
        holders_.reclassify([this](const sensitive_open& o, const process_ref& reader) -> std::optional<file_match> {
            if (o.derived) {
                if (!rules_.source().taint.enabled) return std::nullopt;
                return derived_files::match_for(rules_, o.derived->category, rules_.source().taint.modifier);
            }
            const std::optional<file_match> named =
                o.same_inode_as.empty() ? std::nullopt : rules_.match_file(o.same_inode_as);
            exe_facts who; // a reader that may be gone: only its path and hash are kept
            who.exe = reader.exe;
            who.sha256 = reader.sha256;
            const open_match m = best_open_match(rules_, o.path, named, o.same_inode_as, &who);
            if (!m.match || m.match->context) return std::nullopt;
            return m.match;
        });
        // Incidents are kept; the new period applies from now on. Rate
        // limiting turned off ends the running periods (summarized).
        if (rules_.source().rate_limit_period.count() == 0) incidents_.flush(newest_ts_, nanoseconds{0});
        incidents_.set_capacity(l.max_dedup_entries, rules_.source().rate_limit_period);
        ++stats_.reloads;
        sync_stats();
    }

    // Applies `b` to every correlation from now on (step 3b above); kept
    // across reload(). A correlation it has seen is suppressed or
    // down-scored (`mode`); every alert records the verdict (alert::baseline)
    // and a changed binary adds a 0-point breakdown line with the reason.
    void set_baseline(baseline b, baseline_mode mode) {
        baseline_ = std::move(b);
        baseline_mode_ = mode;
    }
    void clear_baseline() noexcept { baseline_.reset(); }
    [[nodiscard]] const baseline* applied_baseline() const noexcept { return baseline_ ? &*baseline_ : nullptr; }

    [[nodiscard]] const config& rules() const noexcept { return rules_.source(); }
    [[nodiscard]] const rule_set& compiled_rules() const noexcept { return rules_; }
    [[nodiscard]] const correlator_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] const process_table& processes() const noexcept { return processes_; }
    [[nodiscard]] process_table& processes() noexcept { return processes_; }
    [[nodiscard]] const recent_opens& opens() const noexcept { return opens_; }
    [[nodiscard]] const dedup_table& dedup() const noexcept { return dedup_; }
    [[nodiscard]] const file_identities& identities() const noexcept { return identities_; }
    [[nodiscard]] const incident_table& incidents() const noexcept { return incidents_; }
    [[nodiscard]] const secret_holders& holders() const noexcept { return holders_; }
    [[nodiscard]] const derived_files& derived() const noexcept { return derived_; }
    [[nodiscard]] const bound_files& bindings() const noexcept { return bound_; }

    // For a kernel-side mirror (the sensor's filter): the processes that
    // started or stopped holding a secret of their own, and the files that
    // became or stopped being derived secrets, since the last call.
    [[nodiscard]] std::vector<holder_change> drain_holder_changes() { return holders_.drain_changes(); }
    [[nodiscard]] std::vector<derived_change> drain_derived_changes() { return derived_.drain_changes(); }

private:
    [[nodiscard]] nanoseconds housekeeping_interval() const noexcept {
        return std::max<nanoseconds>(rules_.source().window / 2, std::chrono::milliseconds{1});
    }

    // After every event: housekeeping when event time has advanced far
    // enough, and the stats' gauges.
    void after_event(nanoseconds ts) {
        // Saturating: a trace's times may sit at both ends of the type (ts
        // near its least, the last run near its greatest), where ts - last
        // overflows (found by the correlator fuzz harness).
        if (!last_housekeeping_ || ts >= saturating_add(*last_housekeeping_, housekeeping_interval())) expire(ts);
        sync_stats();
    }

    // ---- process lifecycle ------------------------------------------------

    void on_exec(const event& ev) {
        ++stats_.exec_events;
        const table_change c = processes_.apply(ev);
        if (c == table_change::replaced) {
            ++stats_.pid_reuses;
            opens_.forget(ev.pid);
            holders_.forget(ev.pid); // a new process: it holds nothing
        } else {
            holders_.exec(ev.pid); // a new image: what it inherited at fork is gone
        }
    }

    void on_fork(const event& ev) {
        ++stats_.fork_events;
        const auto& f = *ev.as<fork_event>();
        if (f.is_thread(ev.pid)) ++stats_.thread_forks;
        else {
            // A new child's pid is cold in both tables: start both loads
            // (and that of the entry its insert evicts) before the work.
            processes_.prefetch_insert(f.child_pid);
            opens_.prefetch(f.child_pid);
        }
        const table_change c = processes_.apply(ev);
        if (c == table_change::replaced) ++stats_.pid_reuses;
        if (c == table_change::created || c == table_change::replaced) {
            opens_.forget(f.child_pid);
            // A fork copies the parent's memory, and with it what it holds.
            const held_policy& hp = rules_.source().held;
            if (hp.enabled && hp.inherit && holders_.size() != 0)
                holders_.fork(ev.pid, processes_.generation(ev.pid), f.child_pid, processes_.generation(f.child_pid));
            else
                holders_.forget(f.child_pid);
        }
    }

    void on_exit(const event& ev) {
        ++stats_.exit_events;
        if (ev.tid != ev.pid) ++stats_.thread_exits;
        if (processes_.apply(ev) == table_change::exited) holders_.forget(ev.pid); // gone: holds nothing
    }

    void on_file(const event& ev) {
        ++stats_.file_events;
        const auto& f = *ev.as<file_event>();
        identities_.learn(f.dev, f.ino, f.path, rules_);
    }

    void on_binding(const event& ev) {
        ++stats_.binding_events;
        bound_.bind(*ev.as<binding_event>());
    }

    // ---- evidence: opens -------------------------------------------------

    void on_open(const event& ev) {
        ++stats_.open_events;
        const auto& o = *ev.as<open_event>();
        const process_info& p = processes_.touch(ev.pid, ev.ts);
        const file_identities::identity* id = identities_.find(o.dev, o.ino);
        const exe_facts who = program_facts(p);
        open_match m = best_open_match(rules_, o.path, id ? id->match : std::nullopt,
                                       id ? std::string_view(id->path) : std::string_view{}, &who);
        // A derived secret (taint.hpp) counts as the secret it came from,
        // unless the opener is trusted for that secret's category.
        std::shared_ptr<const derived_origin> derived;
        if (const derived_files::entry* d = derived_.find(o.dev, o.ino); d != nullptr && rules_.source().taint.enabled) {
            if (rules_.has_trust() && rules_.trusted(who, d->match.category)) {
                m.trusted = true;
            } else if (!rules_.counts_for(who, d->match.category)) {
                // its category is scoped to the other side of the container boundary
            } else if (better_match(d->match, m.match)) {
                m.match = d->match;
                m.via_identity = false;
                derived = d->origin;
            }
        }
        if (m.trusted) ++stats_.trusted_opens;
        if (!m.match) return;
        if (m.match->context) {
            ++stats_.context_opens; // no evidence: never a candidate
            return;
        }
        // An open that cannot read (write-only, or O_PATH) takes no secret:
        // a script creating ~/.netrc, an installer writing a key it was given.
        if (!can_read(o.flags)) {
            ++stats_.unread_opens;
            return;
        }
        ++stats_.sensitive_opens;
        if (m.via_identity) ++stats_.identity_opens;
        if (derived) ++stats_.derived_opens;
        if (o.source != access_path::syscall) ++stats_.unusual_opens;
        if (in_family_session(p)) sessions_.record(p.sid, ev.pid, ev.ts);
        const std::string_view named = m.via_identity ? std::string_view(id->path) : std::string_view{};
        opens_.record(ev.pid, ev.ts, o.path, o.dev, o.ino, *m.match, rules_.source().window, named, o.source,
                      derived);
        // The process keeps what it read for as long as it lives.
        if (rules_.source().held.enabled) {
            const sensitive_open kept{ev.ts, o.dev, o.ino, *m.match, o.path, std::string(named), o.source, derived};
            holders_.read(ev.pid, processes_.generation(ev.pid), kept, ref(p));
        }
    }

    // ---- evidence: writes (derived secrets) ------------------------------

    // A regular file written by a family that read a secret within the
    // window becomes a derived secret (taint.hpp).
    void on_write(const event& ev) {
        ++stats_.write_events;
        const auto& w = *ev.as<write_event>();
        const process_info& p = processes_.touch(ev.pid, ev.ts);
        if (!rules_.source().taint.enabled) return;
        const candidate c = best_in_family(p, ev.ts);
        if (c.open == nullptr) return;
        if (c.open->dev == w.dev && c.open->ino == w.ino) return; // the secret itself, not a copy
        // A copy of a derived file is derived from the original secret.
        std::shared_ptr<const derived_origin> origin;
        if (c.open->derived) {
            auto o = std::make_shared<derived_origin>(*c.open->derived);
            o->writer = ref(p);
            o->written_ts = ev.ts;
            o->written_path = w.path;
            origin = std::move(o);
        } else {
            origin = std::make_shared<const derived_origin>(
                derived_origin{c.open->path, std::string(rules_.category_name(c.open->match.category)), c.open->dev,
                               c.open->ino, c.open->ts, ref(p), ev.ts, w.path});
        }
        const auto m = derived_files::match_for(rules_, origin->category, rules_.source().taint.modifier);
        if (!m) return;
        derived_.learn(w.dev, w.ino, std::move(origin), *m);
        ++stats_.derived_writes;
    }

    // Whether an open with these open(2) flags can read the file: not
    // O_WRONLY, not O_PATH (the kernel keeps the access mode in f_flags).
    [[nodiscard]] static bool can_read(std::int32_t flags) noexcept {
        return (flags & O_ACCMODE) != O_WRONLY && (flags & O_PATH) == 0;
    }

    // Family correlation needs a known session that is not init's: sid 0 is
    // unknown (a minimal entry, a kernel thread), sid 1 is the session of
    // init, shared by unrelated daemons that never called setsid().
    [[nodiscard]] static bool in_family_session(const process_info& p) noexcept { return p.sid > 1; }

    // Is r in p's family scope: the same session, and the same container
    // (a container boundary is a family boundary: a runtime that does not
    // start its container in a session of its own still separates it)?
    [[nodiscard]] static bool same_family_scope(const process_info& p, const process_info& r) noexcept {
        return r.sid == p.sid && same_container(r.container, p.container);
    }

    // The ancestors of p within its session, nearest first: the walk stops
    // after the session leader (pid == sid), before init (pid <= 1), before a
    // process of another session or container or an unknown parent, and
    // after max_depth.
    static constexpr std::size_t max_depth = 64;
    void session_ancestors(const process_info& p, std::vector<const process_info*>& out) const {
        out.clear();
        const process_info* cur = &p;
        while (out.size() < max_depth && cur->pid != cur->sid) {
            const process_info* par = processes_.parent(*cur);
            if (par == nullptr || par->pid <= 1 || !same_family_scope(p, *par)) break;
            if (std::find(out.begin(), out.end(), par) != out.end() || par == &p) break; // a cycle
            out.push_back(par);
            cur = par;
        }
    }

    // A secret the sender's family can have sent: an open within the window
    // (the sender's or a relative's), or one the sender still holds.
    struct candidate {
        const sensitive_open* open = nullptr;
        const process_info* reader = nullptr; // in the table; null for a held secret (see reader_ref)
        process_ref reader_ref;               // a held secret's reader, as it was when it read
        relation rel = relation::self;
        enum retention kept = retention::window;
        int points = 0; // base score + relation and retention modifiers
    };

    void consider(candidate& best, const sensitive_open* o, const process_info* reader, relation rel) const {
        if (o == nullptr) return;
        const family_rule& fr = rules_.source().family[rel];
        if (!fr.enabled) return;
        const int points = o->match.base_score + fr.modifier;
        const bool better = best.open == nullptr || points > best.points ||
                            (points == best.points && (rel < best.rel || (rel == best.rel && o->ts > best.open->ts)));
        if (better) best = candidate{o, reader, {}, rel, retention::window, points};
    }

    // The best open of p's family for a network event at t.
    candidate best_in_family(const process_info& p, nanoseconds t) {
        const nanoseconds w = rules_.source().window;
        candidate best;
        consider(best, pick(p.pid, t, w, &p, relation::self), &p, relation::self);
        if (!in_family_session(p) || opens_.size() == 0) return best;
        session_ancestors(p, chain_);
        for (const process_info* a : chain_)
            consider(best, pick(a->pid, t, w, a, relation::ancestor), a, relation::ancestor);
        const std::vector<pid_type>* members = sessions_.openers(p.sid);
        if (members == nullptr) return best;
        for (pid_type q : *members) {
            if (q == p.pid) continue;
            const process_info* r = processes_.find(q);
            if (r == nullptr || !same_family_scope(p, *r)) continue; // stale, moved, or another container
            if (std::find(chain_.begin(), chain_.end(), r) != chain_.end()) continue; // an ancestor: done above
            if (opens_.best(q, t, w) == nullptr) continue;
            session_ancestors(*r, reader_chain_);
            relation rel = relation::session;
            if (std::find(reader_chain_.begin(), reader_chain_.end(), &p) != reader_chain_.end())
                rel = relation::descendant;
            else if (r->ppid == p.ppid && p.ppid > 1 && r->pgid == p.pgid && p.pgid != 0 &&
                     processes_.parent(*r) == processes_.parent(p))
                rel = relation::sibling;
            consider(best, pick(q, t, w, r, rel), r, rel);
        }
        return best;
    }

    // What the sender holds past the window: a secret it read itself
    // (self), or one it inherited at fork (its reader is an ancestor).
    void consider_held(candidate& best, const process_info& p, nanoseconds t) const {
        const held_policy& hp = rules_.source().held;
        if (!hp.enabled || holders_.size() == 0) return;
        const held_secret* h = holders_.best(p.pid, processes_.generation(p.pid), t);
        if (h == nullptr) return;
        // Owner use of a secret the sender read itself (not one inherited:
        // its reader is gone from the table's view of this process).
        if (owner_scope_ != nullptr && !h->inherited && owner_open(*owner_scope_, h->open, &p, relation::self)) return;
        const nanoseconds age = elapsed(h->open.ts, t);
        if (age <= rules_.source().window) return; // the window's own evidence covers it
        const relation rel = h->inherited ? relation::ancestor : relation::self;
        const family_rule& fr = rules_.source().family[rel];
        if (!fr.enabled) return;
        const int points = h->open.match.base_score + fr.modifier + held_modifier(age);
        if (best.open != nullptr && points <= best.points) return; // the window's evidence wins ties
        best = candidate{&h->open, nullptr, h->reader, rel, h->inherited ? retention::inherited : retention::held,
                         points};
    }

    [[nodiscard]] int held_modifier(nanoseconds age) const noexcept {
        const held_policy& hp = rules_.source().held;
        return age > hp.stale_after ? hp.stale_modifier : hp.modifier;
    }

    // ---- the network pipeline: scope -> evidence -> score -> suppress -> emit

    // 1. Scope: the sender, and where it sent.
    struct net_scope {
        const event& ev;
        const net_event& n;
        const process_info& p;
    };

    // 3. Score: the points, part by part.
    struct net_score {
        int score = 0;
        std::vector<score_part> parts;
        const process_info* parent = nullptr;
        const process_info* grandparent = nullptr;
        std::string destination_category; // dns.category, or empty
        int withdrawn = 0;                // baseline downscore: the file category's points
        baseline_check verdict;
    };

    std::optional<alert> on_net(const event& ev) {
        ++stats_.net_events;
        const net_scope s{ev, *ev.as<net_event>(), processes_.touch(ev.pid, ev.ts)};
        if (allowed(s)) return std::nullopt;
        candidate c = evidence_for(s);
        if (c.open == nullptr) {
            ++stats_.uncorrelated_net;
            return std::nullopt;
        }
        if (owner_use(s, c)) {
            ++stats_.suppressed_owner_use;
            return std::nullopt;
        }
        net_score sc = score(s, c);
        if (std::string note = binding_note(s, c); !note.empty()) sc.parts.push_back({std::move(note), 0});
        if (suppressed(s, c, sc)) return std::nullopt;
        return emit(s, c, std::move(sc));
    }

    // 1. The seed's whitelist, or an allowlist entry for this program.
    [[nodiscard]] bool allowed(const net_scope& s) {
        const exe_facts who = program_facts(s.p);
        if (!rules_.allowlisted(s.n.addr, s.n.port, who)) return false;
        ++stats_.suppressed_allowlist;
        return true;
    }

    // 2. The best secret the sender's family can have sent: within the
    // window, or held by the sender past it.
    [[nodiscard]] candidate evidence_for(const net_scope& s) {
        candidate c = best_in_family(s.p, s.ev.ts);
        consider_held(c, s.p, s.ev.ts);
        return c;
    }

    // 2b. Owner use: the best secret is a credential the sender's verified
    // client family read and sends to a server the file names. Then the
    // evidence is looked for again with every such open left out (a family
    // that also read another secret is judged on that one); true when none
    // is left.
    [[nodiscard]] bool owner_use(const net_scope& s, candidate& c) {
        if (bound_.empty() || c.open == nullptr) return false;
        if (!owner_candidate(s, c)) return false;
        owner_scope_ = &s;
        candidate rest = evidence_for(s);
        owner_scope_ = nullptr;
        if (rest.open == nullptr) return true;
        c = rest;
        return false;
    }

    [[nodiscard]] bool owner_candidate(const net_scope& s, const candidate& c) const {
        if (c.kept == retention::inherited) return false;
        const process_info* reader = c.kept == retention::held ? &s.p : c.reader;
        return owner_open(s, *c.open, reader, c.rel);
    }

    // Whether open `o`, read by `reader` (relation `rel` to the sender), is
    // owner use for the network event of `s`.
    [[nodiscard]] bool owner_open(const net_scope& s, const sensitive_open& o, const process_info* reader,
                                  relation rel) const {
        const file_binding* b = binding_of(o);
        if (b == nullptr || find_destination(*b, s.n.addr, s.n.port) == nullptr) return false;
        if (!verified_client(s.p) || reader == nullptr) return false;
        if (rel == relation::self) return reader == &s.p || (reader->pid == s.p.pid && verified_client(*reader));
        // Any member of the family: git's clone, its fetch, the remote helper
        // and the credential helper are in one session but not one line.
        return verified_client(*reader);
    }

    // The servers the secret of `o` names: its own file's, or for a derived
    // secret (a client's cache written from it) its original's.
    [[nodiscard]] const file_binding* binding_of(const sensitive_open& o) const {
        return o.derived ? bound_.peek(o.derived->dev, o.derived->ino) : bound_.peek(o.dev, o.ino);
    }

    // The best open of `pid` for the evidence; while owner_use() looks
    // again, owner-use opens are left out.
    [[nodiscard]] const sensitive_open* pick(pid_type pid, nanoseconds t, nanoseconds w, const process_info* reader,
                                             relation rel) const {
        if (owner_scope_ == nullptr) return opens_.best(pid, t, w);
        const net_scope& s = *owner_scope_;
        return opens_.best_if(pid, t, w, [&](const sensitive_open& o) { return !owner_open(s, o, reader, rel); });
    }

    // A 0-point score line when the alert's secret names its servers: where
    // it is bound, where it went, and why owner use did not apply.
    [[nodiscard]] std::string binding_note(const net_scope& s, const candidate& c) const {
        if (bound_.empty() || c.open == nullptr) return {};
        const file_binding* b = binding_of(*c.open);
        if (b == nullptr) return {};
        std::string out = "owner use: " + b->format + " bound to " + bound_text(*b) + "; sent to " +
                          s.n.addr.to_string() + ":" + std::to_string(s.n.port);
        if (find_destination(*b, s.n.addr, s.n.port) == nullptr) return out;
        if (!verified_client(s.p)) return out + "; the sender is not a verified client";
        return out + "; the reader is not the sender or a verified client of its family";
    }

    // 3. Base score, relation, retention, destination, parent and
    // grandparent: every point with its reason.
    [[nodiscard]] net_score score(const net_scope& s, const candidate& c) {
        const config& cfg = rules_.source();
        net_score sc;
        const sensitive_open& o = *c.open;
        sc.parts.push_back({std::string(rules_.category_name(o.match.category)), o.match.base_score});
        if (o.derived && cfg.taint.modifier != 0) sc.parts.back().points -= cfg.taint.modifier;
        if (o.derived && cfg.taint.modifier != 0)
            sc.parts.push_back({"derived copy of " + o.derived->path, cfg.taint.modifier});
        const int rel_mod = cfg.family[c.rel].modifier;
        if (rel_mod != 0) sc.parts.push_back({"relation: " + std::string(to_string(c.rel)), rel_mod});
        if (c.kept != retention::window) {
            const nanoseconds age = elapsed(o.ts, s.ev.ts);
            const int hm = held_modifier(age);
            sc.parts.push_back({std::string(c.kept == retention::held ? "held" : "inherited") + " " +
                                    detail::duration_text(age) + " past the read",
                                hm});
        }
        if (cfg.dns_port(s.n.port)) {
            sc.destination_category = cfg.dns.category;
            if (s.n.bytes > cfg.dns.max_query_bytes)
                sc.parts.push_back({cfg.dns.category + ": " + std::to_string(s.n.bytes) +
                                        " bytes, larger than a name lookup",
                                    cfg.dns.oversize_modifier});
            else
                sc.parts.push_back({cfg.dns.category + ": a name-lookup-sized send", cfg.dns.modifier});
        }
        sc.parent = processes_.parent(s.p);
        sc.grandparent = sc.parent != nullptr ? processes_.parent(*sc.parent) : nullptr;
        if (sc.grandparent != nullptr && sc.grandparent->pid == s.p.pid) sc.grandparent = nullptr; // a cycle
        const parent_matches pm = sc.parent ? rules_.match_parent(sc.parent->comm, sc.parent->exe,
                                                                  sc.parent->exe_sha256)
                                            : parent_matches{};
        const parent_matches gm = sc.grandparent ? rules_.match_parent(sc.grandparent->comm, sc.grandparent->exe,
                                                                       sc.grandparent->exe_sha256)
                                                 : parent_matches{};
        add_raising(sc.parts, "parent", pm);
        add_raising(sc.parts, "grandparent", gm);
        foreign_parts(sc.parts, s.p, c.reader);
        for (const auto& part : sc.parts) sc.score += part.points;
        sc.score += add_lowering(sc.parts, o.match.base_score, sc.score,
                                 {{"parent", sc.parent, pm}, {"grandparent", sc.grandparent, gm}});
        return sc;
    }

    // 3b. Lineage that lowers (legit_parents): ancestry explains, it does
    // not excuse. A lowering needs an ancestor whose identity is verified
    // (lowering_refusal); of the verified ones, only the strongest applies,
    // once per alert; and it never takes a secret of base score
    // lowering_floor_base_score or more below the alert threshold. Every
    // lowering rule that matched gets a part saying what happened to it.
    // Returns the points added (0 or negative).
    struct lineage_step {
        std::string_view who; // "parent" or "grandparent"
        const process_info* p = nullptr;
        const parent_matches& m;
    };
    int add_lowering(std::vector<score_part>& parts, int base_score, int score_before,
                     std::initializer_list<lineage_step> steps) const {
        const config& cfg = rules_.source();
        const lineage_step* best = nullptr;
        for (const lineage_step& st : steps) {
            if (st.p == nullptr || !st.m.legit) continue;
            const parent_rule& rule = cfg.legit_parents[st.m.legit->rule];
            const std::string why =
                lowering_refusal(facts_of(*st.p), st.p->uid, rule.field == process_field::sha256);
            if (!why.empty()) {
                parts.push_back({std::string(st.who) + " " + lineage_name(rule) + " " + std::string(st.m.legit->value) +
                                     " not verified: " + why,
                                 0});
                continue;
            }
            if (best == nullptr || st.m.legit->modifier < best->m.legit->modifier) best = &st;
        }
        int applied = 0;
        for (const lineage_step& st : steps) {
            if (st.p == nullptr || !st.m.legit) continue;
            const parent_rule& rule = cfg.legit_parents[st.m.legit->rule];
            if (!lowering_refusal(facts_of(*st.p), st.p->uid, rule.field == process_field::sha256).empty()) continue;
            std::string reason = "legit " + std::string(st.who) + ": " + std::string(st.m.legit->value) + " (verified: " +
                                 verified_text(*st.p, rule) + ")";
            if (&st != best) {
                parts.push_back({std::move(reason) + ", not applied: one lowering per alert", 0});
                continue;
            }
            applied = st.m.legit->modifier;
            if (base_score >= lowering_floor_base_score && score_before + applied < cfg.alert_threshold) {
                const int limit = std::min(0, cfg.alert_threshold - score_before);
                if (applied < limit) {
                    reason += ", limited from " + std::to_string(applied) + ": a secret of base score " +
                              std::to_string(base_score) + " stays at the alert threshold";
                    applied = limit;
                }
            }
            parts.push_back({std::move(reason), applied});
        }
        return applied;
    }

    [[nodiscard]] static std::string lineage_name(const parent_rule& r) {
        switch (r.field) {
        case process_field::exe: return "at";
        case process_field::sha256: return "with sha256";
        case process_field::comm: break;
        }
        return "named";
    }

    [[nodiscard]] static std::string verified_text(const process_info& p, const parent_rule& r) {
        if (r.field == process_field::sha256) return p.exe + ", sha256 pinned by the rule";
        return p.exe + ", package " + p.exe_package;
    }

    [[nodiscard]] static exe_facts facts_of(const process_info& p) noexcept { return program_facts(p); }

    // 4. Below the threshold, seen by the baseline, a repeat of an incident
    // within its quiet period, or the same destination within the window.
    [[nodiscard]] bool suppressed(const net_scope& s, const candidate& c, net_score& sc) {
        const config& cfg = rules_.source();
        const sensitive_open& o = *c.open;
        if (sc.score < cfg.alert_threshold) {
            ++stats_.below_threshold;
            return true;
        }
        // The baseline, before rate limiting: what it quiets opens no incident.
        if (baseline_) {
            // Program identities (a script's, not its interpreter's). A
            // process with foreign code is not its program: what the
            // baseline learned for the program does not cover it.
            const exe_facts sender = program_facts(s.p);
            const exe_facts reader = c.reader ? program_facts(*c.reader) : exe_facts{};
            const std::string_view reader_exe = c.reader ? reader.exe : std::string_view(c.reader_ref.exe);
            const std::string_view reader_sha = c.reader ? reader.sha256 : std::string_view(c.reader_ref.sha256);
            sc.verdict = baseline_->check(baseline_key{std::string(sender.exe), std::string(sender.sha256),
                                                       std::string(reader_exe),
                                                       std::string(reader_sha),
                                                       std::string(rules_.category_name(o.match.category)),
                                                       classify_destination(s.n.addr), s.n.protocol, s.n.port});
            if (sc.verdict.verdict == baseline_verdict::seen && (sender.foreign != 0 || reader.foreign != 0))
                sc.verdict = baseline_check{baseline_verdict::new_behaviour, {}};
            switch (sc.verdict.verdict) {
            case baseline_verdict::seen: ++stats_.baseline_seen; break;
            case baseline_verdict::changed_binary: ++stats_.baseline_changed; break;
            default: ++stats_.baseline_new; break;
            }
            if (sc.verdict.verdict == baseline_verdict::seen) {
                if (baseline_mode_ == baseline_mode::downscore) {
                    sc.withdrawn = o.match.base_score;
                    sc.score -= sc.withdrawn;
                }
                if (baseline_mode_ == baseline_mode::suppress || sc.score < cfg.alert_threshold) {
                    ++stats_.suppressed_baseline;
                    return true;
                }
            }
        }
        // Rate limiting: one alert per incident per quiet period.
        const nanoseconds period = cfg.rate_limit_period;
        if (period.count() > 0) {
            incident_ = incident_key_of(s.p, o);
            if (incidents_.suppress(incident_, s.ev.ts, sc.score, cfg.classify(sc.score), s.ev.pid,
                                    processes_.generation(s.ev.pid), destination_of(s.n), period)) {
                ++stats_.suppressed_rate_limit;
                return true;
            }
        }
        if (dedup_.suppress(dedup_key{s.ev.pid, s.n.addr, s.n.port, s.n.protocol, processes_.generation(s.ev.pid)},
                            s.ev.ts, cfg.window, cfg.classify(sc.score))) {
            ++stats_.suppressed_dedup;
            return true;
        }
        return false;
    }

    [[nodiscard]] static alert::destination_info destination_of(const net_event& n) {
        alert::destination_info d;
        d.op = n.op;
        d.protocol = n.protocol;
        d.addr = n.addr;
        d.port = n.port;
        d.bytes = n.bytes;
        d.accepted = n.accepted;
        return d;
    }

    // Which came first: the read, or the connection the secret left on.
    [[nodiscard]] static event_order order_of(const net_event& n, const sensitive_open& o) noexcept {
        if (n.op == net_op::connect) return event_order::read_then_connect;
        if (n.conn_ts.count() != 0) return n.conn_ts < o.ts ? event_order::connection_then_read : event_order::read_then_send;
        return n.peer && n.sock == sock_kind::stream ? event_order::unknown_connection : event_order::read_then_send;
    }

    // 5. The alert.
    alert emit(const net_scope& s, const candidate& c, net_score sc) {
        const config& cfg = rules_.source();
        const sensitive_open& o = *c.open;
        const process_info& p = s.p;
        alert a;
        a.ts = s.ev.ts;
        a.process = ref(p);
        a.trust.host_file = p.exe_host_file;
        a.trust.package = p.exe_package;
        a.trust.refused = rules_.trust_refusal(facts_of(p), o.match.category, s.n.addr, s.n.port);
        a.tid = s.ev.tid;
        a.uid = s.n.uid;
        a.argv = p.argv.to_vector();
        a.script = p.script.copy();
        a.foreign = p.foreign;
        a.container = p.container.copy();
        a.file.path = o.path;
        a.file.in_container = p.container.has_value(); // the family's: a container is its own family
        a.file.dev = o.dev;
        a.file.ino = o.ino;
        a.file.same_inode_as = o.same_inode_as;
        a.file.category = std::string(rules_.category_name(o.match.category));
        a.file.pattern = o.derived ? std::string() : std::string(rules_.pattern(o.match));
        a.file.ts = o.ts;
        a.file.source = o.source;
        a.file.derived_from = o.derived;
        a.destination = destination_of(s.n);
        a.destination.category = std::move(sc.destination_category);
        a.order = order_of(s.n, o);
        a.connection_ts = s.n.conn_ts;
        a.retention = c.kept;
        a.delta = elapsed(o.ts, s.ev.ts);
        a.score = sc.score;
        a.severity = cfg.classify(sc.score);
        a.breakdown = std::move(sc.parts);
        if (baseline_) {
            a.baseline = sc.verdict.verdict;
            if (sc.verdict.verdict == baseline_verdict::changed_binary)
                a.breakdown.push_back({std::move(sc.verdict.reason), 0});
            else if (sc.withdrawn != 0)
                a.breakdown.push_back({std::string(baseline::seen_reason), -sc.withdrawn});
        }
        const process_info* parent = sc.parent;
        if (p.ppid != 0 && p.ppid != p.pid) a.parent = parent ? ref(*parent) : process_ref{p.ppid, {}, {}, {}};
        if (parent != nullptr && parent->ppid != 0 && parent->ppid != parent->pid && parent->ppid != p.pid)
            a.grandparent = sc.grandparent ? ref(*sc.grandparent) : process_ref{parent->ppid, {}, {}, {}};
        a.relation = c.rel;
        a.reader = c.reader ? ref(*c.reader) : c.reader_ref;
        a.ancestry = ancestry(p);
        switch (c.rel) {
        case relation::self: ++stats_.alerts_self; break;
        case relation::ancestor: ++stats_.alerts_ancestor; break;
        case relation::descendant: ++stats_.alerts_descendant; break;
        case relation::sibling: ++stats_.alerts_sibling; break;
        case relation::session: ++stats_.alerts_session; break;
        }
        if (c.kept != retention::window) ++stats_.alerts_held;
        if (o.derived) ++stats_.alerts_derived;
        if (a.order == event_order::connection_then_read) ++stats_.alerts_connection_first;
        if (cfg.rate_limit_period.count() > 0) {
            auto rec = incidents_.record_alert(
                incident_, s.ev.ts, a.severity,
                incident_subject{a.process, a.file.path, a.file.dev, a.file.ino, a.file.category}, a.destination,
                cfg.rate_limit_period);
            a.incident = rec.id;
            a.repeats = std::move(rec.repeats);
        }
        ++stats_.alerts;
        return a;
    }

    // The incident of an alert-worthy network event of p whose best open is
    // o: the sender's session (sid > 1: the family boundary) or else the
    // process instance; the file's (dev, ino), else its path, and its
    // category; the sender's
    // executable path (its comm when unknown).
    [[nodiscard]] incident_key incident_key_of(const process_info& p, const sensitive_open& o) const {
        incident_key k;
        if (in_family_session(p)) {
            k.scope = incident_scope::session;
            k.scope_id = p.sid;
        } else {
            k.scope = incident_scope::process;
            k.scope_id = p.pid;
            k.generation = processes_.generation(p.pid);
        }
        if (o.dev != 0 && o.ino != 0) {
            k.dev = o.dev;
            k.ino = o.ino;
        } else {
            k.path_hash = detail::hash_text(o.path);
        }
        k.category_hash = detail::hash_text(rules_.category_name(o.match.category));
        k.program_hash = detail::hash_text(p.exe.empty() ? std::string_view(p.comm) : std::string_view(p.exe));
        if (p.exe.empty()) k.program_hash = ~k.program_hash; // a comm never equals an exe path
        return k;
    }

    // The sender and its ancestors up to its session leader (as
    // session_ancestors); with no known session, the sender, its parent and
    // grandparent as far as they are known.
    std::vector<process_ref> ancestry(const process_info& p) {
        std::vector<process_ref> out;
        out.push_back(ref(p));
        if (in_family_session(p)) {
            session_ancestors(p, chain_);
            for (const process_info* a : chain_) out.push_back(ref(*a));
            return out;
        }
        const process_info* cur = &p;
        for (int k = 0; k < 2; ++k) {
            const process_info* par = processes_.parent(*cur);
            if (par == nullptr || par == &p) break;
            out.push_back(ref(*par));
            cur = par;
        }
        return out;
    }

    // Why trust was withheld: one part (0 points: the secret counted in
    // full) for the sender's foreign code, and the reader's when another.
    static void foreign_parts(std::vector<score_part>& parts, const process_info& sender, const process_info* reader) {
        const auto add = [&parts](std::string_view who, const process_info& p) {
            if (p.foreign == 0) return;
            std::string reason = "foreign code in " + std::string(who) + " (";
            const auto reasons = foreign_reasons(p.foreign);
            for (std::size_t i = 0; i < reasons.size(); ++i) reason += (i ? ", " : "") + reasons[i];
            reason += "): no trust, allowlist or baseline for its program";
            parts.push_back({std::move(reason), 0});
        };
        add("sender", sender);
        if (reader != nullptr && reader != &sender) add("reader", *reader);
    }

    // Raising (suspicious_parents) modifiers count per generation.
    static void add_raising(std::vector<score_part>& parts, std::string_view who, const parent_matches& m) {
        if (m.suspicious)
            parts.push_back({"suspicious " + std::string(who) + ": " + std::string(m.suspicious->value),
                             m.suspicious->modifier});
    }

    static process_ref ref(const process_info& p) { return {p.pid, p.comm, p.exe, p.exe_sha256}; }

    void sync_stats() {
        stats_.process_evictions = processes_.evictions();
        stats_.processes_expired = processes_.expired();
        stats_.opener_evictions = opens_.evictions();
        stats_.opens_dropped = opens_.dropped();
        stats_.opens_superseded = opens_.superseded();
        stats_.opens_expired = opens_.expired();
        stats_.dedup_evictions = dedup_.evictions();
        stats_.dedup_expired = dedup_.expired();
        stats_.session_evictions = sessions_.evictions();
        stats_.session_openers_dropped = sessions_.dropped();
        stats_.processes = processes_.size();
        stats_.processes_peak = std::max(stats_.processes_peak, stats_.processes);
        stats_.processes_capacity = processes_.capacity();
        stats_.openers = opens_.size();
        stats_.openers_peak = std::max(stats_.openers_peak, stats_.openers);
        stats_.openers_capacity = opens_.max_processes();
        stats_.dedup_entries = dedup_.size();
        stats_.dedup_peak = std::max(stats_.dedup_peak, stats_.dedup_entries);
        stats_.dedup_capacity = dedup_.capacity();
        stats_.file_identity_evictions = identities_.evictions();
        stats_.holder_evictions = holders_.evictions();
        stats_.derived_evictions = derived_.evictions();
        stats_.bound_file_evictions = bound_.evictions();
        stats_.bound_files = bound_.size();
        stats_.bound_files_capacity = bound_.capacity();
        stats_.holders = holders_.size();
        stats_.holders_peak = std::max(stats_.holders_peak, stats_.holders);
        stats_.holders_capacity = holders_.capacity();
        stats_.derived_files = derived_.size();
        stats_.derived_files_peak = std::max(stats_.derived_files_peak, stats_.derived_files);
        stats_.derived_files_capacity = derived_.capacity();
        stats_.file_identities = identities_.size();
        stats_.file_identities_peak = std::max(stats_.file_identities_peak, stats_.file_identities);
        stats_.file_identities_capacity = identities_.capacity();
        stats_.incidents_opened = incidents_.opened_incidents();
        stats_.incident_summaries = incidents_.summaries();
        stats_.incident_summaries_dropped = incidents_.summaries_dropped();
        stats_.incident_evictions = incidents_.evictions();
        stats_.incident_mark_evictions = incidents_.mark_evictions();
        stats_.incidents = incidents_.size();
        stats_.incidents_peak = std::max(stats_.incidents_peak, stats_.incidents);
        stats_.incidents_capacity = incidents_.capacity();
    }

    rule_set rules_;
    const clock* clock_ = nullptr;
    process_table processes_;
    recent_opens opens_;
    dedup_table dedup_;
    session_openers sessions_;
    file_identities identities_;
    incident_table incidents_;
    secret_holders holders_;           // secrets kept past the window (held.hpp)
    derived_files derived_;            // files written from secrets (taint.hpp)
    bound_files bound_;                // servers of credential files (owner.hpp)
    const net_scope* owner_scope_ = nullptr; // set while owner_use() looks for other evidence
    incident_key incident_;            // scratch: the incident of the network event in the pipeline
    std::optional<baseline> baseline_; // set_baseline: applied before rate limiting
    baseline_mode baseline_mode_ = baseline_mode::suppress;
    nanoseconds newest_ts_{0}; // the newest event time seen (flush_incidents)
    std::vector<const process_info*> chain_;        // scratch: the sender's session ancestors
    std::vector<const process_info*> reader_chain_; // scratch: a reader's session ancestors
    correlator_stats stats_;
    std::optional<nanoseconds> last_housekeeping_;
};

} // namespace barbwire
