// sensor/mark_table.hpp: the bounded table of processes marked hot (issue 15).
#include <catch2/catch.hpp>

#include "mark_table.hpp"

using namespace barbwire;
using namespace barbwire::sensor;
using namespace std::chrono_literals;

TEST_CASE("mark_table keeps the latest mark of each process", "[sensor][mark_table]") {
    mark_table t(64);
    t.mark(10, 5s, 10s);
    t.mark(10, 3s, 10s); // an older one does not move it back
    CHECK(t.find(10) == std::optional<nanoseconds>(5s));
    t.mark(10, 7s, 10s);
    CHECK(t.find(10) == std::optional<nanoseconds>(7s));
    CHECK_FALSE(t.find(11));
    t.erase(10);
    CHECK_FALSE(t.find(10));
}

TEST_CASE("issue 15: a full mark_table drops expired marks, then the oldest, never a newer live one",
          "[sensor][mark_table]") {
    constexpr std::size_t cap = 1024;
    mark_table t(cap);
    // Fill it with live marks, oldest first, under pids in no particular
    // hash order; then one more. The old code erased marked_.begin(): any of them.
    for (std::size_t i = 0; i < cap; ++i) t.mark(static_cast<pid_type>(7919 * (i + 1) % 100003), nanoseconds(1000 + i), 1h);
    CHECK(t.size() == cap);
    t.mark(1, nanoseconds(5000), 1h);
    CHECK(t.size() <= cap);
    CHECK(t.evictions() == cap + 1 - t.size());
    // Every mark newer than the oldest evicted one is still there.
    std::size_t kept_newest = 0;
    for (std::size_t i = cap / 2; i < cap; ++i)
        if (t.find(static_cast<pid_type>(7919 * (i + 1) % 100003))) ++kept_newest;
    CHECK(kept_newest == cap / 2);
    CHECK(t.find(1));
    // The evicted ones are the oldest.
    CHECK_FALSE(t.find(static_cast<pid_type>(7919 * 1 % 100003)));

    SECTION("expired marks go first, and then nothing live is evicted") {
        mark_table u(cap);
        for (std::size_t i = 0; i < cap; ++i) u.mark(static_cast<pid_type>(i + 1), nanoseconds(i), 10s);
        u.mark(99999, 1h, 10s); // every earlier mark is past the window
        CHECK(u.size() == 1);
        CHECK(u.evictions() == 0);
        CHECK(u.find(99999));
    }
}
