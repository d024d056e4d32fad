#pragma once
// Derived secrets (issue 12, config `taint`).
//
// A regular file written by a process whose family held a secret within the
// window (the writer itself, or a relative that read it within the window:
// `cat key > /tmp/x` is cat writing what it just read) becomes a derived
// secret, remembered by its inode. Opening it later, from any session,
// counts as opening the secret it came from: its category, its base score
// plus `taint.modifier`, and the alert names both files. A derived file
// written again by a family holding a derived secret stays derived from the
// ORIGINAL secret (a copy of a copy), so the chain never loses its origin.
//
// Bounded: at most `capacity` files, the least recently written or opened
// evicted first (counted). The sensor mirrors the set into the kernel
// filter's sensitive-inode map (changes()), so the kernel ships every open
// of a derived file like an open of a named secret.
//
// Limits (docs/design.md, "Derived secrets"): a write is taken as a copy of
// the secret without looking at the bytes (a family that read a key and
// then writes a log taints the log, within the window); a write later than
// the window after the read does not taint; writes through shared memory
// maps are not seen.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "barbwire/config.hpp"
#include "barbwire/detail/lru.hpp"
#include "barbwire/evidence.hpp"
#include "barbwire/rules.hpp"

namespace barbwire {

// A change of the derived set, for the kernel filter's mirror.
struct derived_change {
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    bool derived = false; // added (true) or removed (false)
    friend bool operator==(const derived_change&, const derived_change&) = default;
};

class derived_files {
public:
    struct entry {
        std::shared_ptr<const derived_origin> origin;
        file_match match; // the origin's category, base score + taint.modifier
    };

    explicit derived_files(std::size_t capacity = limits{}.max_derived_files) { set_capacity(capacity); }

    // (dev, ino) was written from `origin` (an open the writer's family
    // made); `match` is the match it gets. A file already derived keeps the
    // stronger origin (a tie to the newer). dev 0 or ino 0 is never derived.
    void learn(std::uint64_t dev, std::uint64_t ino, std::shared_ptr<const derived_origin> origin,
               const file_match& match) {
        if (dev == 0 || ino == 0 || !origin) return;
        const detail::inode_key k{dev, ino};
        detail::slab_index i = map_.find(k);
        if (i == detail::no_index) {
            if (map_.size() >= capacity_) evict_one();
            i = map_.insert(k, 0);
            map_.value(i) = entry{std::move(origin), match};
            changes_.push_back({dev, ino, true});
            ++learned_;
            return;
        }
        map_.move_to_back(i, 0);
        entry& e = map_.value(i);
        if (match.base_score >= e.match.base_score) e = entry{std::move(origin), match};
    }

    // The derived entry of (dev, ino), or nullptr; a hit counts as a use.
    [[nodiscard]] const entry* find(std::uint64_t dev, std::uint64_t ino) {
        if (dev == 0 || ino == 0 || map_.empty()) return nullptr;
        const detail::slab_index i = map_.find(detail::inode_key{dev, ino});
        if (i == detail::no_index) return nullptr;
        map_.move_to_back(i, 0);
        return &map_.value(i);
    }
    [[nodiscard]] const entry* peek(std::uint64_t dev, std::uint64_t ino) const {
        if (dev == 0 || ino == 0) return nullptr;
        const detail::slab_index i = map_.find(detail::inode_key{dev, ino});
        return i == detail::no_index ? nullptr : &map_.value(i);
    }

    // Re-derives every match under new rules (reload): the origin's
    // category is found again by name; a derived file whose category is
    // gone, or is context now, is forgotten.
    void reclassify(const rule_set& rules, int modifier) {
        std::vector<detail::slab_index> gone;
        for (detail::slab_index i = map_.front(0); i != detail::no_index; i = map_.next(i)) {
            entry& e = map_.value(i);
            const std::optional<file_match> m = match_for(rules, e.origin->category, modifier);
            if (m) e.match = *m;
            else gone.push_back(i);
        }
        for (auto i : gone) erase(i);
    }

    // The match a file derived from a secret of `category` gets: that
    // category's first pattern and base score, plus `modifier`; nullopt when
    // the rules have no such counting category.
    [[nodiscard]] static std::optional<file_match> match_for(const rule_set& rules, std::string_view category,
                                                             int modifier) {
        const auto& cats = rules.source().suspicious_files;
        for (std::size_t c = 0; c < cats.size(); ++c) {
            if (cats[c].name != category || cats[c].context) continue;
            return file_match{static_cast<std::uint32_t>(c), 0, cats[c].base_score + modifier, false};
        }
        return std::nullopt;
    }

    [[nodiscard]] std::vector<derived_change> drain_changes() {
        std::vector<derived_change> out;
        out.swap(changes_);
        return out;
    }

    void set_capacity(std::size_t n) {
        capacity_ = std::max<std::size_t>(n, 1);
        map_.shrink_to(capacity_, [this] { evict_one(); });
    }

    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }
    [[nodiscard]] std::uint64_t learned() const noexcept { return learned_; }

private:
    void evict_one() {
        ++evictions_;
        erase(map_.front(0));
    }
    void erase(detail::slab_index i) {
        const detail::inode_key k = map_.key(i);
        changes_.push_back({k.dev, k.ino, false});
        map_.value(i).origin.reset();
        map_.erase(i);
    }

    detail::slab_map<detail::inode_key, entry, detail::inode_key_hash, 1> map_;
    std::vector<derived_change> changes_;
    std::size_t capacity_ = 1;
    std::uint64_t evictions_ = 0;
    std::uint64_t learned_ = 0;
};

} // namespace barbwire
