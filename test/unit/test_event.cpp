// event.hpp: the decoded event model.
#include <catch2/catch.hpp>

#include <string>

#include "barbwire/event.hpp"

using namespace barbwire;
using namespace std::string_literals;

TEST_CASE("ip_address: IPv4") {
    auto a = ip_address::parse("192.0.2.10");
    REQUIRE(a.has_value());
    CHECK(a->family == AF_INET);
    CHECK(a->is_v4());
    CHECK(a->bytes[0] == 192);
    CHECK(a->bytes[1] == 0);
    CHECK(a->bytes[2] == 2);
    CHECK(a->bytes[3] == 10);
    for (std::size_t i = 4; i < 16; ++i) CHECK(a->bytes[i] == 0);
    CHECK(a->to_string() == "192.0.2.10");
}

TEST_CASE("ip_address: IPv6") {
    auto a = ip_address::parse("2001:DB8:0:0::1");
    REQUIRE(a.has_value());
    CHECK(a->family == AF_INET6);
    CHECK_FALSE(a->is_v4());
    CHECK(a->bytes[0] == 0x20);
    CHECK(a->bytes[1] == 0x01);
    CHECK(a->bytes[15] == 0x01);
    CHECK(a->to_string() == "2001:db8::1"); // canonical form
    auto m = ip_address::parse("::ffff:10.0.0.1");
    REQUIRE(m.has_value());
    CHECK(m->family == AF_INET6);
    CHECK(m->to_string() == "::ffff:10.0.0.1");
    CHECK(ip_address::parse("::")->to_string() == "::");
}

TEST_CASE("ip_address: invalid text") {
    for (std::string_view s : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "host.example",
                               "1:2:3:4:5:6:7:8:9", "::g", "1.2.3.4/24", "[::1]"}) {
        INFO(s);
        CHECK_FALSE(ip_address::parse(s).has_value());
    }
    CHECK_FALSE(ip_address::parse("1.2.3.4\0junk"s).has_value()); // embedded NUL
    CHECK_FALSE(ip_address::parse(std::string(100, '1')).has_value()); // too long for any address
}

TEST_CASE("ip_address: equality compares family and bytes") {
    CHECK(*ip_address::parse("10.0.0.1") == *ip_address::parse("10.0.0.1"));
    CHECK_FALSE(*ip_address::parse("10.0.0.1") == *ip_address::parse("10.0.0.2"));
    CHECK_FALSE(*ip_address::parse("::") == *ip_address::parse("0.0.0.0")); // same zero bytes, other family
}

TEST_CASE("event: kind() follows the body") {
    event e;
    CHECK(e.kind() == event_kind::exec); // default body
    e.body = fork_event{};
    CHECK(e.kind() == event_kind::fork);
    e.body = exit_event{};
    CHECK(e.kind() == event_kind::exit);
    e.body = open_event{};
    CHECK(e.kind() == event_kind::open);
    e.body = net_event{};
    CHECK(e.kind() == event_kind::net);
    e.body = file_event{};
    CHECK(e.kind() == event_kind::file);
}

TEST_CASE("file_event: not a kernel record, a sensor-made identity") {
    // its kind number is outside the ABI's BW_EVENT_* range, so no ring-buffer
    // record can ever be taken for one
    CHECK(static_cast<unsigned>(event_kind::file) > BW_EVENT_KIND_MAX);
    event e;
    e.body = file_event{"/etc/shadow", 65024, 941};
    CHECK(e.pid == 0);
    CHECK(e.tid == 0);
    REQUIRE(e.as<file_event>() != nullptr);
    CHECK(e.as<file_event>()->path == "/etc/shadow");
    CHECK(e.as<open_event>() == nullptr);
    event f = e;
    CHECK(f == e);
    f.as<file_event>()->ino = 942;
    CHECK_FALSE(f == e);
    f = e;
    f.as<file_event>()->dev = 1;
    CHECK_FALSE(f == e);
    f = e;
    f.as<file_event>()->path = "/etc/gshadow";
    CHECK_FALSE(f == e);
    // an open of the same (path, dev, ino) is another kind of event
    f.body = open_event{"/etc/shadow", 0, 65024, 941, 0};
    CHECK_FALSE(f == e);
}

TEST_CASE("event: as<> gives the body or nullptr") {
    event e;
    open_event o;
    o.path = "/etc/shadow";
    e.body = o;
    REQUIRE(e.as<open_event>() != nullptr);
    CHECK(e.as<open_event>()->path == "/etc/shadow");
    CHECK(e.as<exec_event>() == nullptr);
    CHECK(e.as<net_event>() == nullptr);
    e.as<open_event>()->path = "/x";
    const event& ce = e;
    CHECK(ce.as<open_event>()->path == "/x");
}

TEST_CASE("event: to_string of the enums") {
    CHECK(to_string(event_kind::exec) == "exec");
    CHECK(to_string(event_kind::fork) == "fork");
    CHECK(to_string(event_kind::exit) == "exit");
    CHECK(to_string(event_kind::open) == "open");
    CHECK(to_string(event_kind::net) == "net");
    CHECK(to_string(event_kind::file) == "file");
    CHECK(to_string(net_op::connect) == "connect");
    CHECK(to_string(net_op::send) == "send");
    CHECK(to_string(ip_proto::tcp) == "tcp");
    CHECK(to_string(ip_proto::udp) == "udp");
    CHECK(static_cast<int>(ip_proto::tcp) == 6);
    CHECK(static_cast<int>(ip_proto::udp) == 17);
}

TEST_CASE("fork_event: is_thread") {
    fork_event f{.child_pid = 10, .child_tid = 12};
    CHECK(f.is_thread(10));
    CHECK_FALSE(f.is_thread(9));
}

TEST_CASE("event: equality covers every field") {
    event a, b;
    a.body = b.body = exit_event{.exit_code = 1};
    CHECK(a == b);
    b.truncated = true;
    CHECK_FALSE(a == b);
    b = a;
    b.tid = 1;
    CHECK_FALSE(a == b);
    b = a;
    b.ts = nanoseconds{1};
    CHECK_FALSE(a == b);
    b = a;
    b.body = exit_event{.exit_code = 2};
    CHECK_FALSE(a == b);
}
