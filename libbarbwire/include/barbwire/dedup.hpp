#pragma once
// Alert deduplication: one alert per (pid, destination address, port,
// protocol) per window, per process instance (the generation: a reused pid
// does not inherit the old process's dedup history).
//
// The table remembers when the last alert for a key was EMITTED. An alert
// whose time is within `window` of that (|ts - last| <= window, inclusive,
// the same boundary as correlation) is suppressed and counted; a suppressed
// alert does not extend the quiet period, so a steady beacon still alerts
// about once per window. Bounded by capacity with LRU eviction (counted);
// expire() removes keys whose last alert is more than `window` old.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "barbwire/clock.hpp"
#include "barbwire/config.hpp"
#include "barbwire/detail/lru.hpp"
#include "barbwire/event.hpp"

namespace barbwire {

struct dedup_key {
    pid_type pid = 0;
    ip_address addr;
    std::uint16_t port = 0;
    ip_proto protocol = ip_proto::tcp;
    std::uint64_t generation = 0; // process instance (process_table::generation): a reused pid starts afresh
    friend bool operator==(const dedup_key&, const dedup_key&) = default;
};

struct dedup_key_hash {
    [[nodiscard]] std::size_t operator()(const dedup_key& k) const noexcept {
        std::uint64_t a = 0;
        std::uint64_t b = 0;
        std::memcpy(&a, k.addr.bytes.data(), 8);
        std::memcpy(&b, k.addr.bytes.data() + 8, 8);
        std::uint64_t h = (std::uint64_t{k.pid} << 32) ^ (std::uint64_t{k.port} << 16) ^
                          (std::uint64_t{static_cast<std::uint8_t>(k.protocol)} << 8) ^ k.addr.family;
        for (std::uint64_t v : {a, b}) {
            h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
            h ^= h >> 31;
            h *= 0xbf58476d1ce4e5b9ULL;
        }
        h ^= k.generation * 0x94d049bb133111ebULL;
        h ^= h >> 29;
        return static_cast<std::size_t>(h);
    }
};

class dedup_table {
public:
    explicit dedup_table(std::size_t capacity = limits{}.max_dedup_entries) { set_capacity(capacity); }

    // True when an alert for `key` at `ts` duplicates one emitted within
    // `window`: it is counted as suppressed. Otherwise `ts` is recorded as
    // the key's last alert (the key becomes most recently used) and false is
    // returned: the caller emits the alert.
    [[nodiscard]] bool suppress(const dedup_key& key, nanoseconds ts, nanoseconds window) {
        detail::slab_index i = map_.find(key);
        if (i != detail::no_index) {
            const nanoseconds last = map_.value(i);
            const nanoseconds gap = ts >= last ? ts - last : last - ts;
            if (gap <= window) {
                ++suppressed_;
                return true;
            }
            map_.value(i) = std::max(last, ts);
            map_.move_to_back(i, 0);
            return false;
        }
        if (map_.size() >= capacity_) evict_one();
        i = map_.insert(key, 0);
        map_.value(i) = ts;
        return false;
    }

    // When the last alert for `key` was emitted, if remembered.
    [[nodiscard]] std::optional<nanoseconds> last_alert(const dedup_key& key) const {
        const detail::slab_index i = map_.find(key);
        if (i == detail::no_index) return std::nullopt;
        return map_.value(i);
    }

    // Removes keys whose last alert is more than `window` before `now`.
    std::size_t expire(nanoseconds now, nanoseconds window) {
        std::size_t n = 0;
        for (detail::slab_index i = map_.front(0); i != detail::no_index; i = map_.front(0)) {
            if (!(map_.value(i) + window < now)) break;
            map_.erase(i);
            ++n;
        }
        expired_ += n;
        return n;
    }

    // Changes the capacity (minimum 1); a smaller capacity evicts at once.
    void set_capacity(std::size_t capacity) {
        capacity_ = std::max<std::size_t>(capacity, 1);
        map_.shrink_to(capacity_, [this] { evict_one(); });
    }

    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::uint64_t suppressed() const noexcept { return suppressed_; }
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }
    [[nodiscard]] std::uint64_t expired() const noexcept { return expired_; }

    void clear() { map_.clear(); }

private:
    void evict_one() {
        map_.erase(map_.front(0));
        ++evictions_;
    }

    detail::slab_map<dedup_key, nanoseconds, dedup_key_hash, 1> map_;
    std::size_t capacity_ = 1;
    std::uint64_t suppressed_ = 0;
    std::uint64_t evictions_ = 0;
    std::uint64_t expired_ = 0;
};

} // namespace barbwire
