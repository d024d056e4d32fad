#pragma once
// Internal: a slab of nodes addressed by a hash index, threaded by up to
// `Lists` intrusive doubly linked lists (by index, not by pointer). The
// bounded tables (process_table, dedup_table, recent opens) build their LRU
// orders on it: O(1) find / insert / erase / move-to-back, no allocation once
// the slab and the index have grown to the table's capacity.
//
// The index is an open-addressing table (slot_index): linear probing,
// backward-shift deletion (no tombstones), at most half full. A slot holds a
// slab index and 32 bits of the key's hash, so a probe compares keys in the
// slab only when the hash bits agree, and growing never reads the slab.
// docs/design.md says why it replaced std::unordered_map.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace barbwire::detail {

using slab_index = std::uint32_t;
inline constexpr slab_index no_index = std::numeric_limits<slab_index>::max();

// A cache hint, nothing else: starts loading the line holding `p`.
inline void prefetch_address(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}

// The index of a slab_map: slab indices found by a 64-bit hash of their
// key. The keys stay in the slab: find() asks the caller whether slab index
// i holds the key (`same(i)`), and only when the stored hash bits agree.
// A slot is 8 bytes: the top 32 bits of the hash (its top bits pick the home
// slot) and the slab index. Slots are a power of two, at least 8, and at
// most half of them are used. The table doubles when an insert would pass
// half full, never shrinks on erase, and reset(n) rebuilds it empty, sized
// for n entries (slab_map::compact, clear).
class slot_index {
public:
    static constexpr std::size_t min_slots = 8;

    template <class Same>
    [[nodiscard]] slab_index find(std::uint64_t h, Same&& same) const {
        if (used_ == 0) return no_index;
        const std::uint32_t tag = tag_of(h);
        for (std::size_t p = home(tag);; p = (p + 1) & mask_) {
            const slot s = slots_[p];
            if (s.index == no_index) return no_index;
            if (s.tag == tag && same(s.index)) return s.index;
        }
    }

    // Starts loading the home slot of hash h into the cache (a hint for a
    // find() or insert() that follows other work).
    void prefetch(std::uint64_t h) const noexcept {
        if (!slots_.empty()) prefetch_address(&slots_[home(tag_of(h))]);
    }

    // Makes room for one more entry: doubles the table if the entry would
    // make it more than half full. Call before insert(); on std::bad_alloc
    // the index is unchanged.
    void reserve_one() {
        if ((used_ + 1) * 2 > slots_.size()) rehash(std::max(min_slots, slots_.size() * 2));
    }

    // Adds slab index i under hash h. i must not be in the index, and
    // reserve_one() must have been called since the last insert.
    void insert(std::uint64_t h, slab_index i) noexcept {
        const std::uint32_t tag = tag_of(h);
        std::size_t p = home(tag);
        while (slots_[p].index != no_index) p = (p + 1) & mask_;
        slots_[p] = slot{tag, i};
        ++used_;
    }

    // Removes slab index i (stored under hash h) and closes the gap with no
    // tombstone: each later entry of the probe run moves back into the hole
    // when its home is at or before the hole (cyclically), so every entry
    // stays reachable from its home by an unbroken run.
    void erase(std::uint64_t h, slab_index i) noexcept {
        std::size_t hole = home(tag_of(h));
        while (slots_[hole].index != i) hole = (hole + 1) & mask_;
        for (std::size_t q = (hole + 1) & mask_; slots_[q].index != no_index; q = (q + 1) & mask_) {
            if (((q - home(slots_[q].tag)) & mask_) >= ((q - hole) & mask_)) {
                slots_[hole] = slots_[q];
                hole = q;
            }
        }
        slots_[hole] = slot{};
        --used_;
    }

    // Empties the index, sized for n entries (n == 0: no memory).
    void reset(std::size_t n) {
        std::vector<slot> fresh;
        if (n > 0) fresh.assign(slots_for(n), slot{});
        slots_.swap(fresh);
        set_shape();
        used_ = 0;
    }

    [[nodiscard]] std::size_t size() const noexcept { return used_; }
    [[nodiscard]] std::size_t slot_count() const noexcept { return slots_.size(); }

    // For tests: the slab index in slot p (no_index: empty), and how far it
    // sits from its home slot.
    [[nodiscard]] slab_index at(std::size_t p) const noexcept { return slots_[p].index; }
    [[nodiscard]] std::size_t displacement(std::size_t p) const noexcept {
        return (p - home(slots_[p].tag)) & mask_;
    }

private:
    struct slot {
        std::uint32_t tag = 0;
        slab_index index = no_index;
    };

    [[nodiscard]] static std::uint32_t tag_of(std::uint64_t h) noexcept { return static_cast<std::uint32_t>(h >> 32); }
    [[nodiscard]] std::size_t home(std::uint32_t tag) const noexcept { return (tag >> shift_) & mask_; }
    [[nodiscard]] static std::size_t slots_for(std::size_t n) noexcept {
        std::size_t s = min_slots;
        while (s / 2 < n) s *= 2;
        return s;
    }
    // mask_ and shift_ for the current size: the home is the top log2(slots)
    // bits of the tag (a table of more than 2^32 slots takes all 32 bits and
    // uses its first 2^32 slots as homes).
    void set_shape() noexcept {
        mask_ = slots_.empty() ? 0 : slots_.size() - 1;
        unsigned bits = 0;
        while (bits < 32 && (std::size_t{1} << bits) < slots_.size()) ++bits;
        shift_ = 32 - bits;
        if (shift_ == 32) shift_ = 31; // an empty table: any valid shift (mask_ is 0)
    }
    void rehash(std::size_t n) {
        std::vector<slot> old(n, slot{});
        old.swap(slots_);
        set_shape();
        for (const slot& s : old) {
            if (s.index == no_index) continue;
            std::size_t p = home(s.tag);
            while (slots_[p].index != no_index) p = (p + 1) & mask_;
            slots_[p] = s;
        }
    }

    std::vector<slot> slots_;
    std::size_t mask_ = 0;
    unsigned shift_ = 31;
    std::size_t used_ = 0;
};

template <class Key, class Value, class Hash = std::hash<Key>, std::size_t Lists = 1>
class slab_map {
    static_assert(Lists >= 1 && Lists < 255);

public:
    // Grows the slab towards at most `n` nodes (a hint: the owner enforces
    // its capacity by evicting before insert()).
    void set_max_nodes(std::size_t n) { max_nodes_ = std::max<std::size_t>(n, 1); }

    // Bounds the map at `n` entries (minimum 1). While it holds more, calls
    // `evict_one()`, which must erase one entry (and count it as its table
    // sees fit); then gives back the slab memory the shrink freed.
    template <class EvictOne>
    void shrink_to(std::size_t n, EvictOne&& evict_one) {
        set_max_nodes(n);
        bool shrunk = false;
        while (size() > max_nodes_) {
            evict_one();
            shrunk = true;
        }
        if (shrunk || slab_size() > max_nodes_) compact();
    }

    [[nodiscard]] slab_index find(const Key& k) const {
        return index_.find(hash(k), [&](slab_index i) { return nodes_[i].key == k; });
    }

    // A hint: start loading the index slot where find(k) or insert(k) will look.
    void prefetch(const Key& k) const noexcept { index_.prefetch(hash(k)); }
    // A hint: start loading node i (its key and links).
    void prefetch_node(slab_index i) const noexcept {
        if (i < nodes_.size()) prefetch_address(&nodes_[i]);
    }

    // Inserts `k` (which must be absent) at the back of list `l`. A reused
    // slot still holds its previous occupant's value: the caller overwrites
    // it. Invalidates references to values (the slab may grow).
    slab_index insert(const Key& k, std::size_t l) {
        const std::uint64_t h = hash(k);
        index_.reserve_one();
        slab_index i;
        if (free_head_ != no_index) {
            i = free_head_;
            free_head_ = nodes_[i].next;
        } else {
            if (nodes_.size() == nodes_.capacity())
                nodes_.reserve(std::min(std::max<std::size_t>(16, nodes_.size() * 2),
                                        std::max(max_nodes_, nodes_.size() + 1)));
            i = static_cast<slab_index>(nodes_.size());
            nodes_.emplace_back();
        }
        nodes_[i].key = k;
        index_.insert(h, i);
        link_back(i, l);
        ++size_;
        return i;
    }

    // Removes node i; its value stays in the free slot until reused.
    void erase(slab_index i) {
        unlink(i);
        index_.erase(hash(nodes_[i].key), i);
        nodes_[i].list = free_mark;
        nodes_[i].prev = no_index;
        nodes_[i].next = free_head_;
        free_head_ = i;
        --size_;
    }

    void move_to_back(slab_index i, std::size_t l) {
        unlink(i);
        link_back(i, l);
    }

    [[nodiscard]] slab_index front(std::size_t l) const noexcept { return lists_[l].head; }
    [[nodiscard]] slab_index next(slab_index i) const noexcept { return nodes_[i].next; }
    [[nodiscard]] std::size_t list_of(slab_index i) const noexcept { return nodes_[i].list; }
    [[nodiscard]] std::size_t list_size(std::size_t l) const noexcept { return lists_[l].size; }
    [[nodiscard]] const Key& key(slab_index i) const noexcept { return nodes_[i].key; }
    [[nodiscard]] Value& value(slab_index i) noexcept { return nodes_[i].value; }
    [[nodiscard]] const Value& value(slab_index i) const noexcept { return nodes_[i].value; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t slab_size() const noexcept { return nodes_.size(); }
    [[nodiscard]] const slot_index& index() const noexcept { return index_; }

    void clear() {
        nodes_.clear();
        nodes_.shrink_to_fit();
        index_.reset(0);
        lists_ = {};
        free_head_ = no_index;
        size_ = 0;
    }

    // Rebuilds the slab densely, keeping every list's order, so that memory
    // follows a capacity that was lowered. Invalidates all indices.
    void compact() {
        std::vector<node> fresh;
        fresh.reserve(size_);
        slot_index fresh_index;
        fresh_index.reset(size_);
        std::array<list_head, Lists> heads{};
        for (std::size_t l = 0; l < Lists; ++l) {
            for (slab_index i = lists_[l].head; i != no_index; i = nodes_[i].next) {
                const auto n = static_cast<slab_index>(fresh.size());
                node& f = fresh.emplace_back();
                f.key = nodes_[i].key;
                f.value = std::move(nodes_[i].value);
                f.list = static_cast<std::uint8_t>(l);
                f.prev = heads[l].tail;
                if (heads[l].tail != no_index) fresh[heads[l].tail].next = n;
                else heads[l].head = n;
                heads[l].tail = n;
                ++heads[l].size;
            }
        }
        nodes_ = std::move(fresh);
        lists_ = heads;
        free_head_ = no_index;
        index_ = std::move(fresh_index);
        for (slab_index i = 0; i < nodes_.size(); ++i) index_.insert(hash(nodes_[i].key), i);
    }

private:
    static constexpr std::uint8_t free_mark = 0xff;

    // The key and the links first: a probe that compares the key and an
    // unlink or move_to_back touch the node's first cache line only.
    struct node {
        Key key{};
        slab_index prev = no_index;
        slab_index next = no_index;
        std::uint8_t list = free_mark;
        Value value{};
    };
    struct list_head {
        slab_index head = no_index;
        slab_index tail = no_index;
        std::size_t size = 0;
    };

    // The table's hash, mixed (Fibonacci hashing) so that identity hashes
    // of dense keys such as pids spread over the top bits the index uses.
    [[nodiscard]] static std::uint64_t hash(const Key& k) noexcept {
        return static_cast<std::uint64_t>(Hash{}(k)) * 0x9E3779B97F4A7C15ull;
    }

    void link_back(slab_index i, std::size_t l) {
        node& n = nodes_[i];
        list_head& h = lists_[l];
        n.list = static_cast<std::uint8_t>(l);
        n.prev = h.tail;
        n.next = no_index;
        if (h.tail != no_index) nodes_[h.tail].next = i;
        else h.head = i;
        h.tail = i;
        ++h.size;
    }

    void unlink(slab_index i) {
        node& n = nodes_[i];
        list_head& h = lists_[n.list];
        if (n.prev != no_index) nodes_[n.prev].next = n.next;
        else h.head = n.next;
        if (n.next != no_index) nodes_[n.next].prev = n.prev;
        else h.tail = n.prev;
        n.prev = n.next = no_index;
        --h.size;
    }

    std::vector<node> nodes_;
    std::array<list_head, Lists> lists_{};
    slot_index index_;
    slab_index free_head_ = no_index;
    std::size_t size_ = 0;
    std::size_t max_nodes_ = std::numeric_limits<std::uint32_t>::max() - 1;
};

} // namespace barbwire::detail
