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
    e.body = write_event{};
    CHECK(e.kind() == event_kind::write);
    CHECK(static_cast<unsigned>(event_kind::write) == BW_EVENT_WRITE);
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
    CHECK(to_string(event_kind::write) == "write");
    CHECK(to_string(net_op::connect) == "connect");
    CHECK(to_string(net_op::send) == "send");
    CHECK(to_string(ip_proto::tcp) == "tcp");
    CHECK(to_string(ip_proto::udp) == "udp");
    CHECK(static_cast<int>(ip_proto::tcp) == 6);
    CHECK(static_cast<int>(ip_proto::udp) == 17);
    CHECK(to_string(ip_proto::icmp) == "icmp");
    CHECK(to_string(ip_proto::icmpv6) == "icmpv6");
    CHECK(to_string(ip_proto::udplite) == "udplite");
    CHECK(to_string(ip_proto{47}).empty()); // a number without a name: see proto_text
    CHECK(to_string(access_path::syscall) == "syscall");
    CHECK(to_string(access_path::compat) == "compat");
    CHECK(to_string(access_path::io_uring) == "io_uring");
    CHECK(to_string(write_how::write) == "write");
    CHECK(to_string(write_how::copy) == "copy");
    CHECK(to_string(write_how::clone) == "clone");
    CHECK(to_string(sock_kind::unknown).empty());
    CHECK(to_string(sock_kind::stream) == "stream");
    CHECK(to_string(sock_kind::dgram) == "dgram");
    CHECK(to_string(sock_kind::raw) == "raw");
    CHECK(to_string(sock_kind::seqpacket) == "seqpacket");
    CHECK(to_string(sock_kind::dccp) == "dccp");
    CHECK(to_string(sock_kind{4}).empty()); // SOCK_RDM: not a socket the kernel side reports
}

TEST_CASE("ip_proto: proto_text and parse_proto are inverses over every number") {
    CHECK(proto_text(ip_proto::tcp) == "tcp");
    CHECK(proto_text(ip_proto::udp) == "udp");
    CHECK(proto_text(ip_proto::icmp) == "icmp");
    CHECK(proto_text(ip_proto::icmpv6) == "icmpv6");
    CHECK(proto_text(ip_proto::udplite) == "udplite");
    CHECK(proto_text(ip_proto{0}) == "0");
    CHECK(proto_text(ip_proto{47}) == "47");
    CHECK(proto_text(ip_proto{255}) == "255");
    for (unsigned p = 0; p <= 255; ++p) {
        const auto proto = static_cast<ip_proto>(p);
        INFO(p);
        const std::string text = proto_text(proto);
        CHECK(parse_proto(text) == proto);
        // a named protocol is also read by its number
        CHECK(parse_proto(std::to_string(p)) == proto);
        CHECK((to_string(proto).empty() ? text == std::to_string(p) : text == to_string(proto)));
    }
    for (std::string_view bad : {"", "256", "999", "1000", "-1", "+6", "06", "00", " 6", "6 ", "6.0", "0x6", "TCP",
                                 "Udp", "sctp", "proto 47", "icmp6"}) {
        INFO(bad);
        CHECK_FALSE(parse_proto(bad).has_value());
    }
    CHECK_FALSE(parse_proto("6\0"s).has_value()); // embedded NUL
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

TEST_CASE("event: equality covers the fields of ABI 3") {
    open_event o{"/x", 0, 1, 2, 3};
    open_event o2 = o;
    CHECK(o == o2);
    o2.source = access_path::io_uring;
    CHECK_FALSE(o == o2);

    const write_event w{"/tmp/k", 1, 2, 3, 4, access_path::syscall, write_how::write};
    CHECK(w == write_event{"/tmp/k", 1, 2, 3, 4});
    const auto differs = [&](auto change) {
        write_event x = w;
        change(x);
        return !(x == w);
    };
    CHECK(differs([](write_event& x) { x.path = "/tmp/j"; }));
    CHECK(differs([](write_event& x) { x.dev = 9; }));
    CHECK(differs([](write_event& x) { x.ino = 9; }));
    CHECK(differs([](write_event& x) { x.bytes = 9; }));
    CHECK(differs([](write_event& x) { x.uid = 9; }));
    CHECK(differs([](write_event& x) { x.source = access_path::compat; }));
    CHECK(differs([](write_event& x) { x.how = write_how::clone; }));

    net_event n;
    const auto net_differs = [&](auto change) {
        net_event x = n;
        change(x);
        return !(x == n);
    };
    CHECK(n.sock == sock_kind::unknown);
    CHECK_FALSE(n.peer);
    CHECK_FALSE(n.accepted);
    CHECK(n.bytes == 0);
    CHECK(n.conn_ts == nanoseconds{0});
    CHECK(n.cookie == 0);
    CHECK(net_differs([](net_event& x) { x.sock = sock_kind::stream; }));
    CHECK(net_differs([](net_event& x) { x.peer = true; }));
    CHECK(net_differs([](net_event& x) { x.accepted = true; }));
    CHECK(net_differs([](net_event& x) { x.bytes = 1; }));
    CHECK(net_differs([](net_event& x) { x.conn_ts = nanoseconds{1}; }));
    CHECK(net_differs([](net_event& x) { x.cookie = 1; }));
    CHECK(net_differs([](net_event& x) { x.protocol = ip_proto{47}; }));

    // a write and an open of the same file are different events
    event a, b;
    a.body = open_event{"/tmp/k", 0, 1, 2, 4};
    b.body = write_event{"/tmp/k", 1, 2, 0, 4};
    CHECK_FALSE(a == b);
}
