#pragma once
// Time is injected. The library never reads a clock: window arithmetic uses
// event timestamps (kernel CLOCK_MONOTONIC nanoseconds), and housekeeping uses
// an explicit `now` or a clock the caller provides. The sensor supplies a
// CLOCK_MONOTONIC clock; tests use manual_clock.

#include <chrono>
#include <cstdint>
#include <limits>

namespace barbwire {

// Nanoseconds on the kernel's monotonic clock (bpf_ktime_get_ns()).
using nanoseconds = std::chrono::nanoseconds;

// Whether `at` lies more than `window` before `now`: `at + window < now`,
// or `now - at > window`, without the overflow of either. Event times come
// from recorded traces too, and a hostile trace may put them at the limits
// of the type, where the sum is undefined behaviour. A negative window is
// never reached (validated configs have none): then every earlier time is older.
[[nodiscard]] constexpr bool older_than(nanoseconds at, nanoseconds window, nanoseconds now) noexcept {
    if (at >= now) return false;
    // now > at: the distance fits an unsigned 64-bit number exactly.
    const std::uint64_t d = static_cast<std::uint64_t>(now.count()) - static_cast<std::uint64_t>(at.count());
    return window.count() < 0 || d > static_cast<std::uint64_t>(window.count());
}

// a + b, held at the type's limits instead of overflowing (the end of a
// period that starts at a hostile trace's time).
[[nodiscard]] constexpr nanoseconds saturating_add(nanoseconds a, nanoseconds b) noexcept {
    using rep = nanoseconds::rep;
    rep out{};
    if (__builtin_add_overflow(a.count(), b.count(), &out))
        return nanoseconds{b.count() > 0 ? std::numeric_limits<rep>::max() : std::numeric_limits<rep>::min()};
    return nanoseconds{out};
}

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
