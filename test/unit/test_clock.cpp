// clock.hpp: injected time.
#include <catch2/catch.hpp>

#include <memory>

#include "barbwire/clock.hpp"

using namespace barbwire;
using namespace std::chrono_literals;

TEST_CASE("manual_clock starts where told and moves only when told") {
    manual_clock c;
    CHECK(c.now() == 0ns);
    CHECK(c.now() == 0ns);
    c.advance(5s);
    CHECK(c.now() == 5s);
    c.advance(1ms);
    CHECK(c.now() == 5001ms);
    c.set(42ns);
    CHECK(c.now() == 42ns);
    manual_clock d(7s);
    CHECK(d.now() == 7s);
}

TEST_CASE("manual_clock through the clock interface") {
    auto c = std::make_unique<manual_clock>(1s);
    const barbwire::clock& base = *c; // qualified: ::clock() from <ctime> is also visible
    CHECK(base.now() == 1s);
    c->advance(2s);
    CHECK(base.now() == 3s);
}

TEST_CASE("nanoseconds is the kernel's unit") {
    CHECK(nanoseconds{1'500'000'000} == 1500ms);
    CHECK(std::chrono::duration_cast<std::chrono::seconds>(nanoseconds{2'999'999'999}) == 2s);
}

TEST_CASE("issue 15: older_than and saturating_add hold at the limits of the type") {
    constexpr auto max = nanoseconds::max();
    constexpr auto min = nanoseconds::min();
    CHECK(older_than(1s, 5s, 7s));
    CHECK_FALSE(older_than(2s, 5s, 7s)); // exactly the window: not older
    CHECK_FALSE(older_than(7s, 5s, 1s)); // later than now
    // Where at + window overflows (undefined behaviour; in practice it wrapped
    // negative, and everything near the end of time read as expired).
    CHECK_FALSE(older_than(max - 1s, 10s, max - 500ms));
    CHECK(older_than(max - 20s, 10s, max));
    // Where now - at overflows.
    CHECK(older_than(min, 10s, max));
    CHECK(older_than(min + 1s, 10s, 1s));
    CHECK_FALSE(older_than(min, max, min + 1s));
    CHECK(older_than(1s, nanoseconds{-1}, 2s)); // a negative window: every earlier time is older
    static_assert(older_than(0ns, 1ns, 2ns));
    CHECK(saturating_add(1s, 2s) == 3s);
    CHECK(saturating_add(max - 1s, 10s) == max);
    CHECK(saturating_add(min + 1s, -10s) == min);
    CHECK(saturating_add(max, min) == -1ns);
}
