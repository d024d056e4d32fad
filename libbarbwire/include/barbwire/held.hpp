#pragma once
// Secrets held past the window (issue 12, config `held`).
//
// A process that read a secret keeps it in memory for as long as it runs
// the image that read it: it can send it an hour later. So the correlator
// remembers, per live process, the secrets it read itself (`own`), and,
// when `held.inherit` is on, those a fork copied from its parent's memory
// (`inherited`). An exec replaces the memory, and with it everything held:
// `bash -c 'read -r k < key; sleep 60; curl …'` execs curl in place, and
// curl holds nothing (a secret carried across exec in argv, the
// environment or an open descriptor is not followed: docs/threat-model.md).
// Nothing else inherits: a shell that ran `cat key` does not hold the key,
// and neither does a later `curl` it starts (relatives relate only within
// the window, correlator.hpp).
//
// Bounded: at most `capacity` processes (least recently recorded evicted,
// counted), and per process the best `max_per_process` secrets: as in
// recent_opens, a secret read later with at least the same base score
// supersedes an earlier one, so the list has strictly decreasing base scores
// from oldest to newest, and the oldest (the highest) is dropped first when
// it is too long. An entry is for one process instance (its generation in
// the process table): a reused pid finds nothing.
//
// Own holdings are what the kernel filter must know about (a holder's
// sends are shipped whatever their age): changes() lists them for the
// sensor to mirror, in order.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "barbwire/config.hpp"
#include "barbwire/detail/lru.hpp"
#include "barbwire/evidence.hpp"

namespace barbwire {

// One secret a process holds.
struct held_secret {
    sensitive_open open;
    process_ref reader;     // the process that read it (the holder, or the ancestor it was inherited from)
    bool inherited = false; // copied at fork; dropped at exec
    friend bool operator==(const held_secret&, const held_secret&) = default;
};

// A change of a process's own holding, for the kernel filter's mirror:
// `holds` with the time of its newest own read, or no longer.
struct holder_change {
    pid_type pid = 0;
    bool holds = false;
    nanoseconds since{0};
    friend bool operator==(const holder_change&, const holder_change&) = default;
};

class secret_holders {
public:
    static constexpr std::size_t max_per_process = 4;

    explicit secret_holders(std::size_t capacity = limits{}.max_holders) { set_capacity(capacity); }

    // Process `pid` (instance `generation`) read the secret `o`.
    void read(pid_type pid, std::uint64_t generation, const sensitive_open& o, const process_ref& reader) {
        entry& e = entry_for(pid, generation);
        insert(e.secrets, held_secret{o, reader, false});
        changes_.push_back({pid, true, o.ts}); // the kernel keeps the newest read's time
        ++reads_;
    }

    // A new process `child` forked from `parent`: it holds a copy of what
    // the parent holds (own or inherited), as inherited secrets.
    void fork(pid_type parent, std::uint64_t parent_generation, pid_type child, std::uint64_t child_generation) {
        forget(child); // a reused pid: nothing of the old process
        const detail::slab_index pi = map_.find(parent);
        if (pi == detail::no_index || map_.value(pi).generation != parent_generation) return;
        std::vector<held_secret> copy = map_.value(pi).secrets; // before entry_for may evict the parent
        if (copy.empty()) return;
        entry& e = entry_for(child, child_generation);
        for (auto& s : copy) {
            s.inherited = true;
            insert(e.secrets, std::move(s));
        }
        ++inherits_;
    }

    // `pid` execs a new image: what it held is gone with its memory.
    void exec(pid_type pid) { forget(pid); }

    // `pid` exited, or its entry is stale (a reused pid): it holds nothing.
    void forget(pid_type pid) {
        const detail::slab_index i = map_.find(pid);
        if (i != detail::no_index) erase(i);
    }

    // The secrets of `pid` if this is the instance that holds them.
    [[nodiscard]] const std::vector<held_secret>* secrets_of(pid_type pid, std::uint64_t generation) const {
        const detail::slab_index i = map_.find(pid);
        if (i == detail::no_index || map_.value(i).generation != generation) return nullptr;
        return &map_.value(i).secrets;
    }

    // The best secret `pid` held at time `t` (read at or before `t`): the
    // highest base score, ties to the most recent.
    [[nodiscard]] const held_secret* best(pid_type pid, std::uint64_t generation, nanoseconds t) const {
        const std::vector<held_secret>* v = secrets_of(pid, generation);
        if (v == nullptr) return nullptr;
        const held_secret* out = nullptr;
        for (const auto& s : *v) {
            if (s.open.ts > t) continue;
            if (out == nullptr || s.open.match.base_score > out->open.match.base_score ||
                (s.open.match.base_score == out->open.match.base_score && s.open.ts >= out->open.ts))
                out = &s;
        }
        return out;
    }

    // Own holdings that changed since the last call, oldest first.
    [[nodiscard]] std::vector<holder_change> drain_changes() {
        std::vector<holder_change> out;
        out.swap(changes_);
        return out;
    }

    // New capacity (minimum 1); a lower one evicts at once.
    void set_capacity(std::size_t n) {
        capacity_ = std::max<std::size_t>(n, 1);
        map_.shrink_to(capacity_, [this] {
            ++evictions_;
            erase(map_.front(0));
        });
    }

    // Forgets every holder (their ends are listed in the changes).
    void clear() {
        while (!map_.empty()) erase(map_.front(0));
    }

    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }
    [[nodiscard]] std::uint64_t reads() const noexcept { return reads_; }
    [[nodiscard]] std::uint64_t inherits() const noexcept { return inherits_; }
    [[nodiscard]] std::uint64_t superseded() const noexcept { return superseded_; }

    // Re-derives every secret's match under new rules (reload): `rematch`
    // gives the new match of a held open, or nullopt when it no longer
    // counts (then it is dropped).
    template <class Rematch>
    void reclassify(const Rematch& rematch) {
        std::vector<detail::slab_index> empty;
        for (detail::slab_index i = map_.front(0); i != detail::no_index; i = map_.next(i)) {
            auto& v = map_.value(i).secrets;
            std::vector<held_secret> kept;
            for (auto& s : v) {
                const std::optional<file_match> m = rematch(s.open, s.reader);
                if (!m) continue;
                s.open.match = *m;
                kept.push_back(std::move(s));
            }
            v.clear();
            for (auto& s : kept) insert(v, std::move(s));
            if (v.empty()) empty.push_back(i);
        }
        for (auto i : empty) erase(i);
    }

private:
    struct entry {
        std::uint64_t generation = 0;
        std::vector<held_secret> secrets;
    };

    [[nodiscard]] static bool has_own(const entry& e) noexcept {
        return std::any_of(e.secrets.begin(), e.secrets.end(), [](const held_secret& s) { return !s.inherited; });
    }

    entry& entry_for(pid_type pid, std::uint64_t generation) {
        detail::slab_index i = map_.find(pid);
        if (i != detail::no_index && map_.value(i).generation != generation) {
            erase(i); // a stale entry of a reused pid
            i = detail::no_index;
        }
        if (i == detail::no_index) {
            if (map_.size() >= capacity_) {
                ++evictions_;
                erase(map_.front(0));
            }
            i = map_.insert(pid, 0);
            map_.value(i).generation = generation;
            map_.value(i).secrets.clear(); // a reused slot
        } else {
            map_.move_to_back(i, 0);
        }
        return map_.value(i);
    }

    void erase(detail::slab_index i) {
        entry& e = map_.value(i);
        if (has_own(e)) changes_.push_back({map_.key(i), false, nanoseconds{0}});
        e.secrets.clear();
        map_.erase(i);
    }

    // Keeps the list free of superseded secrets (see the top of the file).
    void insert(std::vector<held_secret>& v, held_secret s) {
        const int score = s.open.match.base_score;
        for (const auto& o : v) {
            if (o.open.match.base_score >= score && o.open.ts >= s.open.ts &&
                (o.open.match.base_score > score || o.open.ts > s.open.ts || (!o.inherited && s.inherited))) {
                ++superseded_;
                return;
            }
        }
        const auto dead = std::remove_if(v.begin(), v.end(), [&](const held_secret& o) {
            return o.open.match.base_score <= score && o.open.ts <= s.open.ts && (o.inherited || !s.inherited);
        });
        superseded_ += static_cast<std::uint64_t>(v.end() - dead);
        v.erase(dead, v.end());
        const auto at = std::upper_bound(v.begin(), v.end(), s.open.ts,
                                         [](nanoseconds t, const held_secret& o) { return t < o.open.ts; });
        v.insert(at, std::move(s));
        if (v.size() > max_per_process) v.erase(v.begin());
    }

    detail::slab_map<pid_type, entry, std::hash<pid_type>, 1> map_;
    std::vector<holder_change> changes_;
    std::size_t capacity_ = 1;
    std::uint64_t evictions_ = 0;
    std::uint64_t reads_ = 0;
    std::uint64_t inherits_ = 0;
    std::uint64_t superseded_ = 0;
};

} // namespace barbwire
