#include <catch2/catch.hpp>

#include <barbwire/dedup.hpp>

using namespace barbwire;
using namespace std::chrono_literals;

namespace {

dedup_key key(pid_type pid, const char* addr, std::uint16_t port, ip_proto proto = ip_proto::tcp) {
    auto a = ip_address::parse(addr);
    REQUIRE(a);
    return dedup_key{pid, *a, port, proto};
}

} // namespace

TEST_CASE("same key within the window is suppressed, inclusive boundary", "[dedup]") {
    dedup_table d(16);
    const auto k = key(100, "203.0.113.5", 443);
    CHECK_FALSE(d.suppress(k, 10s, 5s));
    CHECK(d.suppress(k, 12s, 5s));
    CHECK(d.suppress(k, 15s, 5s)); // exactly window apart: still a duplicate
    CHECK_FALSE(d.suppress(k, 15s + 1ns, 5s));
    CHECK(d.last_alert(k) == 15s + 1ns);
    CHECK(d.suppressed() == 2);
}

TEST_CASE("suppressed alerts do not extend the quiet period", "[dedup]") {
    dedup_table d(16);
    const auto k = key(1, "198.51.100.1", 80);
    CHECK_FALSE(d.suppress(k, 0s, 5s));
    CHECK(d.suppress(k, 4s, 5s));
    CHECK(d.last_alert(k) == 0s);
    CHECK_FALSE(d.suppress(k, 6s, 5s));
}

TEST_CASE("every part of the key matters", "[dedup]") {
    dedup_table d(16);
    CHECK_FALSE(d.suppress(key(1, "203.0.113.5", 443), 1s, 5s));
    CHECK_FALSE(d.suppress(key(1, "203.0.113.5", 444), 1s, 5s));
    CHECK_FALSE(d.suppress(key(1, "203.0.113.6", 443), 1s, 5s));
    CHECK_FALSE(d.suppress(key(2, "203.0.113.5", 443), 1s, 5s));
    CHECK_FALSE(d.suppress(key(1, "203.0.113.5", 443, ip_proto::udp), 1s, 5s));
    CHECK_FALSE(d.suppress(key(1, "::ffff:203.0.113.5", 443), 1s, 5s));
    CHECK(d.suppress(key(1, "203.0.113.5", 443), 2s, 5s));
    CHECK(d.size() == 6);
    CHECK(d.suppressed() == 1);
    CHECK(dedup_key_hash{}(key(1, "203.0.113.5", 443)) != dedup_key_hash{}(key(1, "203.0.113.5", 444)));
}

TEST_CASE("events out of order: within the window either way", "[dedup]") {
    dedup_table d(4);
    const auto k = key(7, "203.0.113.5", 443);
    CHECK_FALSE(d.suppress(k, 10s, 5s));
    CHECK(d.suppress(k, 6s, 5s)); // 4 s earlier
    CHECK_FALSE(d.suppress(k, 4s, 5s)); // 6 s earlier: a separate alert
    CHECK(d.last_alert(k) == 10s);       // the newest emission is kept
}

TEST_CASE("LRU eviction under capacity pressure, counted", "[dedup]") {
    dedup_table d(3);
    CHECK_FALSE(d.suppress(key(1, "192.0.2.1", 1), 1s, 5s));
    CHECK_FALSE(d.suppress(key(2, "192.0.2.1", 1), 2s, 5s));
    CHECK_FALSE(d.suppress(key(3, "192.0.2.1", 1), 3s, 5s));
    CHECK_FALSE(d.suppress(key(4, "192.0.2.1", 1), 4s, 5s)); // evicts pid 1
    CHECK(d.size() == 3);
    CHECK(d.evictions() == 1);
    CHECK_FALSE(d.last_alert(key(1, "192.0.2.1", 1)));
    CHECK_FALSE(d.suppress(key(1, "192.0.2.1", 1), 4s, 5s)); // forgotten: alerts again, evicts pid 2
    CHECK(d.evictions() == 2);
    CHECK_FALSE(d.last_alert(key(2, "192.0.2.1", 1)));
    for (pid_type p = 10; p < 5010; ++p) {
        CHECK_FALSE(d.suppress(key(p, "192.0.2.1", 1), 5s, 5s));
        REQUIRE(d.size() <= 3);
    }
    CHECK(d.evictions() == 5002);
}

TEST_CASE("expire removes keys older than the window", "[dedup]") {
    dedup_table d(8);
    (void)d.suppress(key(1, "192.0.2.1", 1), 1s, 5s);
    (void)d.suppress(key(2, "192.0.2.1", 1), 3s, 5s);
    CHECK(d.expire(6s, 5s) == 0);
    CHECK(d.expire(6s + 1ns, 5s) == 1);
    CHECK(d.size() == 1);
    CHECK(d.expired() == 1);
    CHECK(d.expire(100s, 5s) == 1);
    CHECK(d.size() == 0);
}

TEST_CASE("shrinking the capacity evicts the oldest", "[dedup]") {
    dedup_table d(10);
    for (pid_type p = 1; p <= 10; ++p) (void)d.suppress(key(p, "192.0.2.1", 1), nanoseconds{p}, 5s);
    d.set_capacity(2);
    CHECK(d.size() == 2);
    CHECK(d.evictions() == 8);
    CHECK(d.last_alert(key(9, "192.0.2.1", 1)));
    CHECK(d.last_alert(key(10, "192.0.2.1", 1)));
    CHECK_FALSE(d.last_alert(key(8, "192.0.2.1", 1)));
    CHECK(dedup_table(0).capacity() == 1);
}
