#pragma once
// Internal: a slab of nodes addressed by a hash index, threaded by up to
// `Lists` intrusive doubly linked lists (by index, not by pointer). The
// bounded tables (process_table, dedup_table, recent opens) build their LRU
// orders on it: O(1) find / insert / erase / move-to-back, no allocation once
// the slab and the index have grown to the table's capacity.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace barbwire::detail {

using slab_index = std::uint32_t;
inline constexpr slab_index no_index = std::numeric_limits<slab_index>::max();

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
        auto it = index_.find(k);
        return it == index_.end() ? no_index : it->second;
    }

    // Inserts `k` (which must be absent) at the back of list `l`. A reused
    // slot still holds its previous occupant's value: the caller overwrites
    // it. Invalidates references to values (the slab may grow).
    slab_index insert(const Key& k, std::size_t l) {
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
        index_.emplace(k, i);
        link_back(i, l);
        ++size_;
        return i;
    }

    // Removes node i; its value stays in the free slot until reused.
    void erase(slab_index i) {
        unlink(i);
        index_.erase(nodes_[i].key);
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

    void clear() {
        nodes_.clear();
        nodes_.shrink_to_fit();
        index_.clear();
        lists_ = {};
        free_head_ = no_index;
        size_ = 0;
    }

    // Rebuilds the slab densely, keeping every list's order, so that memory
    // follows a capacity that was lowered. Invalidates all indices.
    void compact() {
        std::vector<node> fresh;
        fresh.reserve(size_);
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
        index_.clear();
        index_.rehash(0);
        for (slab_index i = 0; i < nodes_.size(); ++i) index_.emplace(nodes_[i].key, i);
    }

private:
    static constexpr std::uint8_t free_mark = 0xff;

    struct node {
        Key key{};
        Value value{};
        slab_index prev = no_index;
        slab_index next = no_index;
        std::uint8_t list = free_mark;
    };
    struct list_head {
        slab_index head = no_index;
        slab_index tail = no_index;
        std::size_t size = 0;
    };

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
    std::unordered_map<Key, slab_index, Hash> index_;
    slab_index free_head_ = no_index;
    std::size_t size_ = 0;
    std::size_t max_nodes_ = std::numeric_limits<std::uint32_t>::max() - 1;
};

} // namespace barbwire::detail
