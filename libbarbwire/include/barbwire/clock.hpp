#pragma once
// Time is injected. The library never reads a clock: window arithmetic uses
// event timestamps (kernel CLOCK_MONOTONIC nanoseconds), and housekeeping uses
// an explicit `now` or a clock the caller provides. The sensor supplies a
// CLOCK_MONOTONIC clock; tests use manual_clock.

#include <chrono>

namespace barbwire {

// Nanoseconds on the kernel's monotonic clock (bpf_ktime_get_ns()).
using nanoseconds = std::chrono::nanoseconds;

class clock {
public:
    virtual ~clock() = default;
    [[nodiscard]] virtual nanoseconds now() const = 0;
};

// A clock that moves only when told to.
class manual_clock final : public clock {
public:
    explicit manual_clock(nanoseconds start = nanoseconds{0}) : now_(start) {}
    [[nodiscard]] nanoseconds now() const override { return now_; }
    void set(nanoseconds t) { now_ = t; }
    void advance(nanoseconds d) { now_ += d; }

private:
    nanoseconds now_;
};

} // namespace barbwire
