#pragma once
// The user-space half of the in-kernel filter (docs/kernel.md, "In-kernel
// filtering"; docs/design.md, "Filtering in the kernel").
//
// The kernel keeps a verdict per opened file (a cache keyed by file_key, at a
// generation) and drops the opens of files whose verdict is boring. It
// cannot decide a verdict itself: rules are substring patterns over the
// resolved path. So the first open of a file at a generation is shipped in
// full (open_filter::miss) and user space answers with verdict_of(), which
// the sensor writes back into the cache. Until it does, further opens of that
// file are shipped as small repeat records without a path (open_repeat);
// repeat_expander turns the ones of sensitive files back into ordinary open
// events, with the path of the full open.
//
// The verdict is per file, not per process: "sensitive" when the path, or
// the path the rules know the inode by (a file identity), is in a category
// that counts (not context), whoever opens it. Trusted binaries
// (trusted_binaries) only take categories away from an open, so a file that
// is boring without trust is boring for every process; the kernel never drops
// an open the correlator could have remembered as sensitive.
//
// identity_mirror keeps the inodes of the file identities that are sensitive
// under the current rules, bounded, and says which entries of the kernel's
// sensitive-inode map to add or remove.
//
// Pure: no I/O, no clock, no threads. The sensor does the map writes.

#include <array>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "barbwire/abi/events.h"
#include "barbwire/correlator.hpp"
#include "barbwire/decode.hpp"
#include "barbwire/detail/lru.hpp"
#include "barbwire/event.hpp"
#include "barbwire/rules.hpp"

namespace barbwire {

// A file's verdict, as written into the kernel's verdict cache (bw_verdict_state).
enum class file_verdict : std::uint8_t {
    boring = BW_VERDICT_BORING,       // no category that counts: its opens stay in the kernel
    sensitive = BW_VERDICT_SENSITIVE, // every open is shipped
};

[[nodiscard]] constexpr std::string_view to_string(file_verdict v) noexcept {
    return v == file_verdict::sensitive ? "sensitive" : "boring";
}

// Whether a match makes an open a candidate for correlation.
[[nodiscard]] constexpr bool counts(const std::optional<file_match>& m) noexcept { return m && !m->context; }

// The verdict on a file opened at `path` whose inode the rules know by a
// named path matching `identity_match` (nullopt when the inode is no known
// identity): sensitive when either match counts.
[[nodiscard]] inline file_verdict verdict_of(const rule_set& rules, std::string_view path,
                                             const std::optional<file_match>& identity_match) {
    return counts(rules.match_file(path)) || counts(identity_match) ? file_verdict::sensitive : file_verdict::boring;
}

// The same, looking the inode up among the correlator's file identities
// (without touching their LRU order).
[[nodiscard]] inline file_verdict verdict_of(const rule_set& rules, const file_identities& ids, std::string_view path,
                                             std::uint64_t dev, std::uint64_t ino) {
    const file_identities::identity* id = ids.peek(dev, ino);
    return verdict_of(rules, path, id != nullptr ? id->match : std::nullopt);
}

// ---------------------------------------------------------------------------
// Directory verdicts (bw_dir_verdict): which child names of a directory
// could match a rule, so that the kernel drops the opens of the others with
// the directory's entry (hot in the cache whatever the number of files)
// instead of one per-file lookup each.
//
// Rules match by substring of the path S + name, where S is the directory's
// path with a trailing '/'. Name by name, a counting pattern p can only:
//   - lie within S: then every child matches, and the directory gets no
//     verdict (its files are decided one by one);
//   - have no '/': then it matches exactly the names that contain p;
//   - have its last '/' at S's last '/', which needs the part of p before
//     that '/' to end S: then it matches the names that start with X, the
//     part after it (X empty: every name, no verdict);
//   - anything else puts p's last '/' at an earlier '/' of S, and then p,
//     whose last part has no '/', lies within S (the first case).
// The verdict keeps "starts with X" as a bloom bit of X's first four bytes
// (a name shorter than four bytes starts with no such X) and "contains p"
// as up to BW_DIR_CONTAINS strings of at most 8 bytes. A directory whose
// rules need a shorter prefix, more or longer contained strings gets no
// verdict. dir_name_may_match() is the kernel's check, in C++.
// ---------------------------------------------------------------------------

// The kernel's check of a name against a directory verdict: true when the
// name may match (the open goes on to the per-file verdict).
[[nodiscard]] inline bool dir_name_may_match(const bw_dir_verdict& v, std::string_view name) noexcept {
    if (name.size() > BW_DIR_NAME_MAX) return true;
    if (name.size() >= 4) {
        std::uint32_t first4 = 0;
        for (int i = 3; i >= 0; --i) first4 = (first4 << 8) | static_cast<unsigned char>(name[static_cast<std::size_t>(i)]);
        const std::uint32_t bit = bw_name_bloom_bit(first4);
        if ((v.prefix_bloom[bit >> 6] >> (bit & 63)) & 1u) return true;
    }
    for (std::size_t c = 0; c < BW_DIR_CONTAINS; ++c) {
        const std::size_t n = v.contains_len[c];
        if (n == 0) continue;
        const std::string_view needle(reinterpret_cast<const char*>(v.contains[c]), n);
        if (name.find(needle) != std::string_view::npos) return true;
    }
    return false;
}

// The verdict on the directory at `dir_path` (absolute; "/" for the root),
// decided at generation `gen`; nullopt when the rules give it none (its
// files are then decided one by one, as before).
[[nodiscard]] inline std::optional<bw_dir_verdict> dir_verdict_of(const rule_set& rules, std::string_view dir_path,
                                                                  std::uint64_t gen) {
    if (dir_path.empty() || dir_path.front() != '/') return std::nullopt;
    const std::string s = dir_path == "/" ? std::string("/") : std::string(dir_path) + "/";
    bw_dir_verdict v{};
    v.gen = gen;
    std::size_t contains = 0;
    for (const file_category& cat : rules.source().suspicious_files) {
        if (cat.context) continue; // never evidence: never sensitive
        for (const std::string& p : cat.patterns) {
            if (p.empty() || s.find(p) != std::string::npos) return std::nullopt; // every child matches
            const std::size_t k = p.rfind('/');
            if (k == std::string::npos) { // "name contains p"
                if (p.size() > 8) return std::nullopt;
                bool seen = false;
                for (std::size_t c = 0; c < contains; ++c)
                    seen = seen || std::string_view(reinterpret_cast<const char*>(v.contains[c]), v.contains_len[c]) == p;
                if (seen) continue;
                if (contains == BW_DIR_CONTAINS) return std::nullopt;
                std::memcpy(v.contains[contains], p.data(), p.size());
                v.contains_len[contains] = static_cast<std::uint8_t>(p.size());
                ++contains;
                continue;
            }
            // p's last '/' at s's last '/': the part before it must end s (before that '/')
            const std::string_view before(p.data(), k);
            const std::string_view dir(s.data(), s.size() - 1);
            if (before.size() > dir.size() || dir.substr(dir.size() - before.size()) != before) continue;
            const std::string_view x(p.data() + k + 1, p.size() - k - 1);
            if (x.size() < 4) return std::nullopt; // every name (x empty), or too short for the bloom
            std::uint32_t first4 = 0;
            for (int i = 3; i >= 0; --i) first4 = (first4 << 8) | static_cast<unsigned char>(x[static_cast<std::size_t>(i)]);
            const std::uint32_t bit = bw_name_bloom_bit(first4);
            v.prefix_bloom[bit >> 6] |= std::uint64_t{1} << (bit & 63);
        }
    }
    return v;
}

namespace detail {

struct file_key_hash {
    [[nodiscard]] std::size_t operator()(const file_key& k) const noexcept {
        std::uint64_t h = 0x9E3779B97F4A7C15ull;
        const auto mix = [&h](std::uint64_t v) {
            h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
            h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
            h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
            h ^= h >> 31;
        };
        mix(k.dentry);
        mix(k.mnt);
        mix(k.parent);
        mix(k.ino);
        mix(k.name);
        mix(k.generation);
        return static_cast<std::size_t>(h);
    }
};

} // namespace detail

struct repeat_expander_stats {
    std::uint64_t remembered = 0; // full opens remembered
    std::uint64_t expanded = 0;   // repeats of sensitive files turned into open events
    std::uint64_t boring = 0;     // repeats of boring files (dropped)
    std::uint64_t unknown = 0;    // repeats whose key (at their generation) is not remembered
    std::uint64_t evictions = 0;  // entries dropped for capacity
    friend bool operator==(const repeat_expander_stats&, const repeat_expander_stats&) = default;
};

// key -> (generation, path, truncated, verdict) of the latest full open
// with a pending verdict. At most capacity() entries; the least recently
// remembered or expanded one is evicted first (counted).
//
// Why the bound loses nothing in practice: a repeat is reserved in the ring
// after the full open of the same key (the kernel inserts the pending verdict
// before submitting the full record), and the kernel stops sending repeats as
// soon as the sensor writes the verdict, which it does while handling that
// full open. So every repeat of a key follows its full open within one
// ring's worth of records; a capacity of at least the number of full opens a
// ring holds (ring bytes / sizeof(bw_open_event)) never evicts a key that a
// repeat still needs. The sensor sizes it so; unknown repeats are counted.
class repeat_expander {
public:
    enum class outcome : std::uint8_t {
        sensitive, // `ev` is the open event the repeat stands for
        boring,    // the file is boring: nothing to correlate
        unknown,   // no full open with this key and generation is remembered
    };
    struct expansion {
        outcome what = outcome::unknown;
        event ev; // valid for outcome::sensitive
    };

    explicit repeat_expander(std::size_t capacity = 65536) { set_capacity(capacity); }

    // Remembers the full open of `key` at generation `gen` (a newer one
    // replaces an older one of the same key).
    void remember(const file_key& key, std::uint64_t gen, std::string_view path, bool truncated, file_verdict v) {
        detail::slab_index i = map_.find(key);
        if (i == detail::no_index) {
            if (map_.size() >= capacity_) evict_one();
            i = map_.insert(key, 0);
        } else {
            map_.move_to_back(i, 0);
        }
        entry& e = map_.value(i); // a reused slot: overwrite every field
        e.gen = gen;
        e.path.assign(path);
        e.truncated = truncated;
        e.verdict = v;
        ++stats_.remembered;
    }

    // What a repeat stands for.
    [[nodiscard]] expansion expand(const open_repeat& r) {
        expansion out;
        const detail::slab_index i = map_.find(r.key);
        if (i == detail::no_index || map_.value(i).gen != r.gen) {
            ++stats_.unknown;
            return out;
        }
        map_.move_to_back(i, 0);
        const entry& e = map_.value(i);
        if (e.verdict == file_verdict::boring) {
            ++stats_.boring;
            out.what = outcome::boring;
            return out;
        }
        ++stats_.expanded;
        out.what = outcome::sensitive;
        out.ev.ts = r.ts;
        out.ev.pid = r.pid;
        out.ev.tid = r.tid;
        out.ev.truncated = e.truncated;
        open_event o;
        o.path = e.path;
        o.flags = r.flags;
        o.dev = r.dev;
        o.ino = r.ino;
        o.uid = r.uid;
        out.ev.body = std::move(o);
        return out;
    }

    // The remembered verdict of `key` at `gen`, if any (no LRU effect).
    [[nodiscard]] std::optional<file_verdict> verdict(const file_key& key, std::uint64_t gen) const {
        const detail::slab_index i = map_.find(key);
        if (i == detail::no_index || map_.value(i).gen != gen) return std::nullopt;
        return map_.value(i).verdict;
    }

    // Re-derives every remembered verdict (new rules): fn(path) -> file_verdict.
    template <class Fn>
    void reclassify(Fn&& fn) {
        for (detail::slab_index i = map_.front(0); i != detail::no_index; i = map_.next(i)) {
            entry& e = map_.value(i);
            e.verdict = fn(std::string_view(e.path));
        }
    }

    // New capacity (minimum 1); a lower one evicts at once.
    void set_capacity(std::size_t n) {
        capacity_ = std::max<std::size_t>(n, 1);
        map_.shrink_to(capacity_, [this] { evict_one(); });
    }

    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] const repeat_expander_stats& stats() const noexcept { return stats_; }

private:
    struct entry {
        std::uint64_t gen = 0;
        std::string path;
        bool truncated = false;
        file_verdict verdict = file_verdict::boring;
    };

    void evict_one() {
        const detail::slab_index i = map_.front(0);
        map_.value(i).path.clear();
        map_.value(i).path.shrink_to_fit();
        map_.erase(i);
        ++stats_.evictions;
    }

    detail::slab_map<file_key, entry, detail::file_key_hash, 1> map_;
    std::size_t capacity_ = 1;
    repeat_expander_stats stats_;
};

// The file identities (file events) whose named path is in a category that
// counts: the kernel's sensitive-inode map. Bounded by capacity() (the
// oldest learned is evicted first); every change returns the map edits.
class identity_mirror {
public:
    struct edit {
        std::uint64_t dev = 0;
        std::uint64_t ino = 0;
        bool add = false; // true: insert into the kernel map; false: delete from it
        friend bool operator==(const edit&, const edit&) = default;
    };

    explicit identity_mirror(std::size_t capacity = limits{}.max_file_identities) { set_capacity(capacity); }

    // "(dev, ino) is the file the rules know as `path`" (a file event).
    [[nodiscard]] std::vector<edit> learn(std::uint64_t dev, std::uint64_t ino, std::string_view path,
                                          const rule_set& rules) {
        std::vector<edit> out;
        if (dev == 0 || ino == 0) return out;
        const key k{dev, ino};
        detail::slab_index i = map_.find(k);
        if (i == detail::no_index) {
            if (map_.size() >= capacity_) evict_one(out);
            i = map_.insert(k, 0);
            map_.value(i).sensitive = false;
        } else {
            map_.move_to_back(i, 0);
        }
        entry& e = map_.value(i);
        e.path.assign(path);
        set(k, e, counts(rules.match_file(e.path)), out);
        return out;
    }

    // New rules: every identity re-derived.
    [[nodiscard]] std::vector<edit> reclassify(const rule_set& rules) {
        std::vector<edit> out;
        for (detail::slab_index i = map_.front(0); i != detail::no_index; i = map_.next(i)) {
            entry& e = map_.value(i);
            set(map_.key(i), e, counts(rules.match_file(e.path)), out);
        }
        return out;
    }

    // New capacity (minimum 1); a lower one evicts at once (the edits say what left).
    std::vector<edit> set_capacity(std::size_t n) {
        std::vector<edit> out;
        capacity_ = std::max<std::size_t>(n, 1);
        map_.shrink_to(capacity_, [this, &out] { evict_one(out); });
        return out;
    }

    [[nodiscard]] bool sensitive(std::uint64_t dev, std::uint64_t ino) const {
        const detail::slab_index i = map_.find(key{dev, ino});
        return i != detail::no_index && map_.value(i).sensitive;
    }
    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
    [[nodiscard]] std::size_t sensitive_count() const noexcept { return sensitive_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }

private:
    using key = detail::inode_key;
    using key_hash = detail::inode_key_hash;
    struct entry {
        std::string path;
        bool sensitive = false;
    };

    void set(const key& k, entry& e, bool now, std::vector<edit>& out) {
        if (e.sensitive == now) return;
        e.sensitive = now;
        if (now) ++sensitive_;
        else --sensitive_;
        out.push_back(edit{k.dev, k.ino, now});
    }

    void evict_one(std::vector<edit>& out) {
        const detail::slab_index i = map_.front(0);
        entry& e = map_.value(i);
        if (e.sensitive) {
            --sensitive_;
            out.push_back(edit{map_.key(i).dev, map_.key(i).ino, false});
        }
        e.sensitive = false;
        e.path.clear();
        map_.erase(i);
        ++evictions_;
    }

    detail::slab_map<key, entry, key_hash, 1> map_;
    std::size_t capacity_ = 1;
    std::size_t sensitive_ = 0;
    std::uint64_t evictions_ = 0;
};

} // namespace barbwire
