#pragma once
// The processes the sensor marked hot in the kernel, with the time of each
// one's last sensitive open (run.cpp's kernel filter glue: an exec into a
// new session carries the mark over). Bounded: past its capacity, marks
// older than the window go first, then the oldest of the rest, never an
// arbitrary live one (a hash map's first entries are no age order).
// Pure: no clock, no I/O; unit-tested in test/unit/test_sensor_mark_table.cpp.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include <barbwire/clock.hpp>
#include <barbwire/event.hpp>

namespace barbwire::sensor {

class mark_table {
public:
    explicit mark_table(std::size_t capacity = 65536) : capacity_(std::max<std::size_t>(capacity, 8)) {}

    // `pid` opened a sensitive file at `ts`; `window` is the rules' window.
    void mark(pid_type pid, nanoseconds ts, nanoseconds window) {
        nanoseconds& m = marks_[pid];
        m = std::max(m, ts);
        if (marks_.size() > capacity_) shrink(ts, window);
    }

    // The last mark of `pid`, if any.
    [[nodiscard]] std::optional<nanoseconds> find(pid_type pid) const {
        const auto it = marks_.find(pid);
        return it == marks_.end() ? std::nullopt : std::optional<nanoseconds>(it->second);
    }

    void erase(pid_type pid) { marks_.erase(pid); }

    [[nodiscard]] std::size_t size() const noexcept { return marks_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    // Marks dropped while still within the window (the table was full of live ones).
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }

private:
    void shrink(nanoseconds now, nanoseconds window) {
        std::erase_if(marks_, [&](const auto& kv) { return older_than(kv.second, window, now); });
        if (marks_.size() <= capacity_) return;
        // Every mark is live: the oldest go, down to 7/8 of the capacity, so
        // that this O(n) pass runs once per capacity/8 new marks.
        const std::size_t drop = marks_.size() - capacity_ / 8 * 7;
        std::vector<nanoseconds> ages;
        ages.reserve(marks_.size());
        for (const auto& kv : marks_) ages.push_back(kv.second);
        std::nth_element(ages.begin(), ages.begin() + static_cast<std::ptrdiff_t>(drop - 1), ages.end());
        const nanoseconds cut = ages[drop - 1];
        std::size_t dropped = 0;
        // Strictly older than the cut first, then ties at the cut until `drop`.
        std::erase_if(marks_, [&](const auto& kv) {
            if (dropped < drop && kv.second < cut) return ++dropped, true;
            return false;
        });
        std::erase_if(marks_, [&](const auto& kv) {
            if (dropped < drop && kv.second == cut) return ++dropped, true;
            return false;
        });
        evictions_ += dropped;
    }

    std::size_t capacity_;
    std::unordered_map<pid_type, nanoseconds> marks_;
    std::uint64_t evictions_ = 0;
};

} // namespace barbwire::sensor
