#pragma once
// A FIFO of at most `capacity` items that drops the NEWEST item when full
// (and counts it): what each alert output queues (docs/outputs.md, "Queues").
// Not synchronised: its owner (output_sinks.cpp) holds its own lock.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace barbwire::sensor {

template <class T>
class drop_newest_queue {
public:
    explicit drop_newest_queue(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

    // Appends `v`; false (and `v` counted as dropped) when the queue is full.
    bool push(T v) {
        if (items_.size() >= capacity_) {
            ++dropped_;
            return false;
        }
        items_.push_back(std::move(v));
        return true;
    }
    // The oldest item, removed; nullopt when empty.
    std::optional<T> pop() {
        if (items_.empty()) return std::nullopt;
        std::optional<T> v(std::move(items_.front()));
        items_.pop_front();
        return v;
    }
    // Removes every item; returns how many there were.
    std::size_t clear() {
        const std::size_t n = items_.size();
        items_.clear();
        return n;
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }

private:
    std::size_t capacity_;
    std::deque<T> items_;
    std::uint64_t dropped_ = 0;
};

} // namespace barbwire::sensor
