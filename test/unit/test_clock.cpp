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
