#include <catch2/catch.hpp>

#include <algorithm>

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

// ---------------------------------------------------------------------------
// incident_table: rate limiting across a family.

namespace {

incident_key secret(std::uint32_t sid, std::uint64_t ino = 77, std::uint64_t program = 1) {
    incident_key k;
    k.scope = incident_scope::session;
    k.scope_id = sid;
    k.dev = 2049;
    k.ino = ino;
    k.program_hash = program;
    return k;
}

alert::destination_info dest(const char* addr, std::uint16_t port) {
    auto a = ip_address::parse(addr);
    REQUIRE(a);
    return {net_op::connect, ip_proto::tcp, *a, port};
}

incident_subject subject(pid_type pid) {
    return {{pid, "curl", "/usr/bin/curl", ""}, "/home/u/.ssh/id_rsa", 2049, 77, "ssh key exfiltration"};
}

} // namespace

TEST_CASE("incident: repeats inside the quiet period are counted, inclusive boundary", "[dedup][rate]") {
    incident_table t(16);
    const auto k = secret(300);
    CHECK_FALSE(t.suppress(k, 10s, 5, severity::high, 1, 1, dest("127.0.0.1", 80), 60s)); // unknown: alert
    const auto o = t.record_alert(k, 10s, severity::high, subject(1), dest("127.0.0.1", 80), 60s);
    CHECK(o.id == 1);
    CHECK_FALSE(o.repeats);
    CHECK(t.suppress(k, 11s, 5, severity::high, 2, 1, dest("127.0.0.1", 80), 60s));
    CHECK(t.suppress(k, 12s, 4, severity::medium, 3, 1, dest("127.0.0.2", 80), 60s));
    CHECK(t.suppress(k, 70s, 5, severity::high, 3, 1, dest("127.0.0.1", 81), 60s)); // exactly the period
    CHECK_FALSE(t.suppress(k, 70s + 1ns, 5, severity::high, 4, 1, dest("127.0.0.1", 80), 60s));
    CHECK(t.suppressed() == 3);
    t.close_due(70s, 60s);
    CHECK(t.pending() == 0);
    t.close_due(70s + 1ns, 60s);
    auto s = t.drain();
    REQUIRE(s.size() == 1);
    CHECK(s[0].incident == 1);
    CHECK(s[0].reason == summary_reason::quiet);
    CHECK(s[0].ts == 70s);
    CHECK(s[0].repeats.count == 3);
    CHECK(s[0].repeats.first == 11s);
    CHECK(s[0].repeats.last == 70s);
    CHECK(s[0].repeats.destinations == 3);
    CHECK(s[0].repeats.processes == 2);
    CHECK(s[0].repeats.max_score == 5);
    CHECK(s[0].repeats.max_severity == severity::high);
    CHECK(s[0].last_destination == dest("127.0.0.1", 81));
    CHECK(s[0].subject == subject(1));
    CHECK(t.drain().empty());
    // idle: no longer suppressing; the next alert continues the incident with the counts
    CHECK_FALSE(t.suppress(k, 71s, 5, severity::high, 5, 1, dest("127.0.0.1", 80), 60s));
    const auto o2 = t.record_alert(k, 71s, severity::high, subject(5), dest("127.0.0.1", 80), 60s);
    CHECK(o2.id == 1);
    REQUIRE(o2.repeats);
    CHECK(*o2.repeats == s[0].repeats);
    CHECK(t.opened_incidents() == 1);
}

TEST_CASE("incident: every part of the key matters", "[dedup][rate]") {
    incident_table t(16);
    (void)t.record_alert(secret(300), 1s, severity::high, subject(1), dest("127.0.0.1", 80), 60s);
    incident_key process_scope = secret(300);
    process_scope.scope = incident_scope::process;
    incident_key other_gen = process_scope;
    other_gen.generation = 2;
    incident_key by_path = secret(300);
    by_path.dev = by_path.ino = 0;
    by_path.path_hash = detail::hash_text("/home/u/.ssh/id_rsa");
    incident_key other_category = secret(300);
    other_category.category_hash = 9;
    for (const incident_key& k : {secret(301), secret(300, 78), secret(300, 77, 2), process_scope, other_gen, by_path,
                                  other_category}) {
        CHECK_FALSE(t.suppress(k, 2s, 5, severity::high, 1, 1, dest("127.0.0.1", 80), 60s));
        CHECK(incident_key_hash{}(k) != incident_key_hash{}(secret(300)));
    }
    CHECK(t.suppress(secret(300), 2s, 5, severity::high, 1, 1, dest("127.0.0.1", 80), 60s));
    CHECK(detail::hash_text("abc") == 0xe71fa2190541574bULL); // FNV-1a: stable across runs
}

TEST_CASE("incident: a higher severity escalates; flush ends every period", "[dedup][rate]") {
    incident_table t(16);
    const auto k = secret(300);
    (void)t.record_alert(k, 1s, severity::medium, subject(1), dest("127.0.0.1", 80), 60s);
    CHECK(t.suppress(k, 2s, 3, severity::medium, 2, 1, dest("127.0.0.1", 80), 60s));
    CHECK(t.suppress(k, 2s, 1, severity::low, 2, 1, dest("127.0.0.1", 80), 60s));
    CHECK_FALSE(t.suppress(k, 3s, 7, severity::high, 3, 1, dest("127.0.0.1", 80), 60s));
    const auto o = t.record_alert(k, 3s, severity::high, subject(3), dest("127.0.0.1", 80), 60s);
    CHECK(o.id == 1);
    REQUIRE(o.repeats);
    CHECK(o.repeats->count == 2);
    CHECK(o.repeats->processes == 1);
    auto s = t.drain();
    REQUIRE(s.size() == 1);
    CHECK(s[0].reason == summary_reason::escalated);
    CHECK(s[0].ts == 3s);
    CHECK(t.suppress(k, 4s, 3, severity::medium, 4, 1, dest("127.0.0.1", 80), 60s));
    // the other incident counted nothing: flush forgets it without a summary
    (void)t.record_alert(secret(400), 4s, severity::high, subject(9), dest("127.0.0.1", 80), 60s);
    t.flush(5s, 60s);
    s = t.drain();
    REQUIRE(s.size() == 1);
    CHECK(s[0].reason == summary_reason::flushed);
    CHECK(s[0].ts == 5s);
    CHECK(s[0].alert_ts == 3s);
    CHECK(s[0].quiet_until == 63s);
    CHECK(t.size() == 1);        // the flushed incident, idle
    CHECK(t.open_periods() == 0);
    t.close_due(65s + 1ns, 60s); // idle for a whole period: forgotten
    CHECK(t.size() == 0);
}

TEST_CASE("incident: bounded incidents, marks and undrained summaries, all counted", "[dedup][rate]") {
    incident_table t(4);
    for (std::uint32_t sid = 1; sid <= 10; ++sid) {
        (void)t.record_alert(secret(sid), nanoseconds{sid}, severity::high, subject(sid), dest("127.0.0.1", 80), 60s);
        CHECK(t.suppress(secret(sid), nanoseconds{sid} + 1ns, 5, severity::high, sid, 1, dest("127.0.0.1", 81), 60s));
        REQUIRE(t.size() <= 4);
    }
    CHECK(t.evictions() == 6);
    auto s = t.drain();
    REQUIRE(s.size() == 4); // 6 evicted with counts, the queue holds 4: the 2 oldest dropped
    CHECK(t.summaries() == 6);
    CHECK(t.summaries_dropped() == 2);
    CHECK(s[0].reason == summary_reason::evicted);
    CHECK(s[0].incident == 3);
    // an idle incident is evicted before a running one
    incident_table u(2);
    (void)u.record_alert(secret(1), 1s, severity::high, subject(1), dest("127.0.0.1", 80), 10s);
    CHECK(u.suppress(secret(1), 2s, 5, severity::high, 2, 1, dest("127.0.0.1", 80), 10s));
    (void)u.record_alert(secret(2), 3s, severity::high, subject(2), dest("127.0.0.1", 80), 60s);
    u.close_due(12s, 10s); // incident 1 ends (summarized), idle
    CHECK(u.drain().size() == 1);
    (void)u.record_alert(secret(3), 13s, severity::high, subject(3), dest("127.0.0.1", 80), 60s);
    CHECK(u.evictions() == 1);
    CHECK(u.drain().empty()); // the idle one went, quietly
    CHECK_FALSE(u.suppress(secret(1), 14s, 5, severity::high, 2, 1, dest("127.0.0.1", 80), 60s));
    CHECK(u.suppress(secret(2), 14s, 5, severity::high, 2, 1, dest("127.0.0.1", 80), 60s));
    // marks: 4 per incident; a flood of destinations evicts marks, never grows
    incident_table m(1);
    (void)m.record_alert(secret(1), 0s, severity::high, subject(1), dest("127.0.0.1", 80), 60s);
    for (std::uint16_t p = 1; p <= 100; ++p)
        CHECK(m.suppress(secret(1), 1s, 5, severity::high, 2, 1, dest("127.0.0.1", p), 60s));
    CHECK(m.marks() <= 4);
    CHECK(m.mark_evictions() > 0);
    // shrinking the capacity evicts at once, summarizing
    t.set_capacity(1, 60s);
    CHECK(t.size() == 1);
    CHECK(t.evictions() == 9);
    CHECK(t.drain().size() == 1); // 3 summarized; the queue now holds 1
    CHECK(t.summaries_dropped() == 4);
    CHECK(incident_table(0).capacity() == 1);
}

TEST_CASE("incident summary: JSON and one line of text", "[dedup][rate]") {
    incident_table t(4);
    (void)t.record_alert(secret(300), 1s, severity::high, subject(4242), dest("127.0.0.1", 8080), 60s);
    for (pid_type p = 1; p <= 999; ++p)
        CHECK(t.suppress(secret(300), 1s + std::chrono::milliseconds{p}, 7, severity::high, p, 1,
                         dest("127.0.0.1", 8080), 60s));
    t.flush(2s, 60s);
    auto s = t.drain();
    REQUIRE(s.size() == 1);
    s[0].subject.path = "/home/u/.ssh/id_rsa\n\xff";
    const auto j = to_json(s[0]);
    const auto expected = nlohmann::json::parse(R"({
      "type": "summary", "version": 1, "incident": 1, "ts_ns": 2000000000, "ended": "flushed",
      "alert_ts_ns": 1000000000, "quiet_until_ns": 61000000000,
      "scope": {"kind": "session", "id": 300},
      "process": {"pid": 4242, "comm": "curl", "exe": "/usr/bin/curl", "sha256": null},
      "file": {"path": "/home/u/.ssh/id_rsa\n\ufffd", "dev": 2049, "ino": 77, "category": "ssh key exfiltration"},
      "repeats": {"count": 999, "first_ts_ns": 1001000000, "last_ts_ns": 1999000000, "destinations": 1,
                  "processes": 999, "max_score": 7, "max_severity": "HIGH"},
      "last_destination": {"op": "connect", "protocol": "tcp", "addr": "127.0.0.1", "port": 8080, "family": "ipv4"}
    })");
    CHECK(j == expected);
    CHECK_NOTHROW(j.dump());
    const std::string text = render_text(s[0]);
    CHECK(text ==
          "\u2500\u2500 barbwire incident 1: like the alert of PID 4242 (curl) at 1.000 s, file "
          "/home/u/.ssh/id_rsa\\x0a\\xff, session 300: 999 more, to 1 destination, from 999 processes, over "
          "0.998 s, up to HIGH (last 127.0.0.1:8080); sensor stopped\n");
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}

TEST_CASE("config: rate_limit period, false, defaults and errors", "[dedup][rate][config]") {
    CHECK(config{}.rate_limit_period == 60s);
    auto c = parse_config_json(R"({"rate_limit": {"period": 2.5}})");
    REQUIRE(c);
    CHECK(c->rate_limit_period == 2500ms);
    CHECK(parse_config(to_json(*c)) == *c);
    c = parse_config_json(R"({"rate_limit": false})");
    REQUIRE(c);
    CHECK(c->rate_limit_period == nanoseconds{0});
    CHECK(parse_config(to_json(*c)) == *c);
    c = parse_config_json(R"({"rate_limit": {}})");
    REQUIRE(c);
    CHECK(c->rate_limit_period == 60s);
    c = parse_config_json(R"({"window_duration": 5})"); // a seed file: no rate_limit key
    REQUIRE(c);
    CHECK(c->rate_limit_period == 60s);
    const auto err = [](const char* text) {
        auto r = parse_config_json(text);
        REQUIRE_FALSE(r);
        return r.error().message;
    };
    CHECK(err(R"({"rate_limit": true})").rfind("rate_limit: expected a mapping such as {period: 60}", 0) == 0);
    CHECK(err(R"({"rate_limit": {"period": 0}})").rfind("rate_limit.period: expected a number of seconds", 0) == 0);
    CHECK(err(R"({"rate_limit": {"period": "60"}})").rfind("rate_limit.period: expected", 0) == 0);
    CHECK(err(R"({"rate_limit": {"perod": 60}})").find("did you mean period?") != std::string::npos);
    CHECK(err(R"({"rate_limit": 60})").rfind("rate_limit: expected a mapping", 0) == 0);
}
