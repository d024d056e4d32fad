// trace.hpp: the JSON-lines trace format, its reader and writer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "barbwire/decode.hpp"
#include "barbwire/trace.hpp"

using namespace barbwire;
using namespace std::string_literals;
using namespace std::chrono_literals;

namespace {

event parse_ok(std::string_view line) {
    auto r = parse_trace_line(line, 1);
    INFO(line);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r.has_value());
    REQUIRE(r->has_value());
    return **r;
}

std::string parse_err(std::string_view line, std::size_t line_no = 0) {
    auto r = parse_trace_line(line, line_no);
    INFO(line);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::parse_error);
    return r.error().message;
}

// Drains everything the reader has ready.
struct drained {
    std::vector<event> events;
    std::vector<std::string> errors;
};
void drain(trace_reader& rd, drained& out) {
    while (auto item = rd.next()) {
        if (*item) out.events.push_back(**item);
        else out.errors.push_back(item->error().message);
    }
}

const std::string sample =
    "# a hand-written trace\n"
    "{\"ts\": \"1s\", \"kind\": \"exec\", \"pid\": 100, \"ppid\": 1, \"comm\": \"cat\", \"argv\": [\"cat\", \"k\"]}\n"
    "\n"
    "{\"ts\": \"1500ms\", \"kind\": \"open\", \"pid\": 100, \"path\": \"/home/a/.ssh/id_rsa\"}\n"
    "   # an indented comment\n"
    "{\"ts\": 2000000000, \"kind\": \"connect\", \"pid\": 100, \"addr\": \"203.0.113.7\", \"port\": 443}\n";

} // namespace

TEST_CASE("trace: exec with every key") {
    auto e = parse_ok(R"({"ts": 5, "kind": "exec", "pid": 10, "tid": 11, "truncated": true, "ppid": 1, "uid": 1000,
        "sid": 2, "pgid": 3, "comm": "curl", "exe": "/usr/bin/curl", "argv": ["curl", "-T", "x"],
        "exe_dev": 18446744073709551615, "exe_ino": 9, "sha256": "ab12"})");
    CHECK(e.ts == 5ns);
    CHECK(e.pid == 10);
    CHECK(e.tid == 11);
    CHECK(e.truncated);
    REQUIRE(e.kind() == event_kind::exec);
    const auto& x = *e.as<exec_event>();
    CHECK(x.ppid == 1);
    CHECK(x.uid == 1000);
    CHECK(x.sid == 2);
    CHECK(x.pgid == 3);
    CHECK(x.comm == "curl");
    CHECK(x.exe == "/usr/bin/curl");
    CHECK(x.argv == std::vector<std::string>{"curl", "-T", "x"});
    CHECK(x.exe_dev == 18446744073709551615ull);
    CHECK(x.exe_ino == 9);
    CHECK(x.exe_sha256 == "ab12");
}

TEST_CASE("trace: defaults") {
    SECTION("exec: everything optional, tid = pid") {
        auto e = parse_ok(R"({"ts": 1, "kind": "exec", "pid": 42})");
        CHECK(e.tid == 42);
        CHECK_FALSE(e.truncated);
        CHECK(*e.as<exec_event>() == exec_event{});
    }
    SECTION("fork: child_tid = child_pid") {
        auto e = parse_ok(R"({"ts": 1, "kind": "fork", "pid": 1, "child_pid": 77})");
        CHECK(e.as<fork_event>()->child_pid == 77);
        CHECK(e.as<fork_event>()->child_tid == 77);
    }
    SECTION("fork: a thread") {
        auto e = parse_ok(R"({"ts": 1, "kind": "fork", "pid": 1, "child_pid": 1, "child_tid": 8})");
        CHECK(e.as<fork_event>()->child_tid == 8);
        CHECK(e.as<fork_event>()->is_thread(e.pid));
    }
    SECTION("exit") {
        auto e = parse_ok(R"({"ts": 1, "kind": "exit", "pid": 1})");
        CHECK(e.as<exit_event>()->exit_code == 0);
        CHECK(parse_ok(R"({"ts": 1, "kind": "exit", "pid": 1, "exit_code": -2147483648})")
                  .as<exit_event>()->exit_code == -2147483648);
    }
    SECTION("open") {
        auto e = parse_ok(R"({"ts": 1, "kind": "open", "pid": 1, "path": "/etc/shadow"})");
        const auto& o = *e.as<open_event>();
        CHECK(o.path == "/etc/shadow");
        CHECK(o.flags == 0);
        CHECK(o.dev == 0);
        CHECK(o.ino == 0);
        CHECK(o.uid == 0);
        auto f = parse_ok(R"({"ts": 1, "kind": "open", "pid": 1, "path": "/p", "flags": 524288, "dev": 2, "ino": 3, "uid": 4})");
        CHECK(*f.as<open_event>() == open_event{"/p", 524288, 2, 3, 4});
    }
    SECTION("connect defaults to tcp") {
        auto e = parse_ok(R"({"ts": 1, "kind": "connect", "pid": 1, "addr": "10.0.0.1", "port": 22})");
        const auto& n = *e.as<net_event>();
        CHECK(n.op == net_op::connect);
        CHECK(n.protocol == ip_proto::tcp);
        CHECK(n.addr.to_string() == "10.0.0.1");
        CHECK(n.port == 22);
        CHECK(n.uid == 0);
    }
    SECTION("send defaults to udp") {
        auto e = parse_ok(R"({"ts": 1, "kind": "send", "pid": 1, "addr": "::1", "port": 53, "uid": 5})");
        const auto& n = *e.as<net_event>();
        CHECK(n.op == net_op::send);
        CHECK(n.protocol == ip_proto::udp);
        CHECK(n.addr.family == AF_INET6);
        CHECK(n.uid == 5);
    }
    SECTION("explicit proto") {
        CHECK(parse_ok(R"({"ts": 1, "kind": "send", "pid": 1, "addr": "::1", "port": 53, "proto": "tcp"})")
                  .as<net_event>()->protocol == ip_proto::tcp);
        CHECK(parse_ok(R"({"ts": 1, "kind": "connect", "pid": 1, "addr": "::1", "port": 53, "proto": "udp"})")
                  .as<net_event>()->protocol == ip_proto::udp);
    }
}

TEST_CASE("trace: ts units") {
    auto ts = [](std::string_view v) {
        return parse_ok(R"({"kind": "exit", "pid": 1, "ts": )" + std::string(v) + "}").ts;
    };
    CHECK(ts("0") == 0ns);
    CHECK(ts("1234") == 1234ns);
    CHECK(ts("\"2s\"") == 2s);
    CHECK(ts("\"1500ms\"") == 1500ms);
    CHECK(ts("\"250us\"") == 250us);
    CHECK(ts("\"10ns\"") == 10ns);
    CHECK(ts("\"1.5s\"") == 1500ms);
    CHECK(ts("\"0.000000001s\"") == 1ns);
    CHECK(ts("\"1.25ms\"") == 1250us);
    CHECK(ts("\"2.000ns\"") == 2ns); // zeros below a nanosecond are fine
    CHECK(ts("\"1.000000001000s\"") == 1000000001ns);
    CHECK(ts("\"9223372036854775807ns\"") == nanoseconds::max());
    CHECK(ts("9223372036854775807") == nanoseconds::max());
    CHECK(ts("-5") == -5ns);

    auto bad = [](std::string_view v) { return parse_err(R"({"kind": "exit", "pid": 1, "ts": )" + std::string(v) + "}"); };
    CHECK_THAT(bad("\"2\""), Catch::Contains("key 'ts': \"2\" is not a time"));
    CHECK_THAT(bad("\"2m\""), Catch::Contains("is not a time"));
    CHECK_THAT(bad("\"s\""), Catch::Contains("is not a time"));
    CHECK_THAT(bad("\"1.s\""), Catch::Contains("is not a time"));
    CHECK_THAT(bad("\".5s\""), Catch::Contains("is not a time"));
    CHECK_THAT(bad("\"-1s\""), Catch::Contains("is not a time"));
    CHECK_THAT(bad("\" 1s\""), Catch::Contains("is not a time"));
    CHECK_THAT(bad("\"1.5ns\""), Catch::Contains("\"1.5ns\" is not a whole number of nanoseconds"));
    CHECK_THAT(bad("\"9223372036854775808ns\""), Catch::Contains("too large"));
    CHECK_THAT(bad("\"9223372037s\""), Catch::Contains("too large"));
    CHECK_THAT(bad("\"99999999999999999999999s\""), Catch::Contains("too large"));
    CHECK(bad("9223372036854775808") == "key 'ts': 9223372036854775808 is out of range -9223372036854775808..9223372036854775807");
    CHECK(bad("1.5") == "key 'ts': expected integer nanoseconds or a string like \"1.5s\", got non-integer number");
    CHECK(bad("true") == "key 'ts': expected integer nanoseconds or a string like \"1.5s\", got boolean");
}

TEST_CASE("trace: required keys") {
    CHECK(parse_err(R"({"kind": "exit", "pid": 1})") == "missing required key 'ts' for kind 'exit'");
    CHECK(parse_err(R"({"kind": "exit", "ts": 1})") == "missing required key 'pid' for kind 'exit'");
    CHECK(parse_err(R"({"pid": 1, "ts": 1})") == "missing required key 'kind'");
    CHECK(parse_err(R"({"ts": 1, "kind": "fork", "pid": 1})") == "missing required key 'child_pid' for kind 'fork'");
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1})") == "missing required key 'path' for kind 'open'");
    CHECK(parse_err(R"({"ts": 1, "kind": "connect", "pid": 1, "port": 1})") ==
          "missing required key 'addr' for kind 'connect'");
    CHECK(parse_err(R"({"ts": 1, "kind": "send", "pid": 1, "addr": "1.2.3.4"})") ==
          "missing required key 'port' for kind 'send'");
}

TEST_CASE("trace: unknown keys and kinds") {
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": "/x", "pth": "/y"})") ==
          "unknown key 'pth' for kind 'open'");
    // a key of another kind is unknown here
    CHECK(parse_err(R"({"ts": 1, "kind": "exit", "pid": 1, "path": "/x"})") == "unknown key 'path' for kind 'exit'");
    CHECK(parse_err(R"({"ts": 1, "kind": "net", "pid": 1})") ==
          "key 'kind': unknown kind 'net' (expected exec, fork, exit, open, write, connect, send, file, foreign, script or binding)");
    CHECK(parse_err(R"({"ts": 1, "kind": 4, "pid": 1})") == "key 'kind': expected a string, got integer");
    // non-printable key names are escaped in the message
    CHECK(parse_err("{\"ts\": 1, \"kind\": \"exit\", \"pid\": 1, \"a\\u0001\": 0}") ==
          "unknown key 'a\\x01' for kind 'exit'");
}

TEST_CASE("trace: file lines (identities of the files the rules name)") {
    SECTION("a minimal line: pid and tid default to 0") {
        const auto e = parse_ok(R"({"ts": "1s", "kind": "file", "path": "/etc/shadow", "dev": 65024, "ino": 941})");
        CHECK(e.kind() == event_kind::file);
        CHECK(e.ts == 1s);
        CHECK(e.pid == 0);
        CHECK(e.tid == 0);
        REQUIRE(e.as<file_event>() != nullptr);
        CHECK(*e.as<file_event>() == file_event{"/etc/shadow", 65024, 941});
    }
    SECTION("every key, any order, u64 extremes, a path of bytes") {
        const auto e = parse_ok(
            R"({"ino": 18446744073709551615, "dev": 0, "kind": "file", "ts": 5, "pid": 7, "tid": 8, "truncated": true, "path": {"hex": "2f746d702fff"}})");
        CHECK(e.pid == 7);
        CHECK(e.tid == 8);
        CHECK(e.truncated);
        CHECK(*e.as<file_event>() == file_event{"/tmp/\xff", 0, 18446744073709551615ull});
    }
    SECTION("the path must be absolute") {
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "path": "etc/shadow", "dev": 1, "ino": 2})", 4) ==
              "line 4: key 'path': 'etc/shadow' is not an absolute path (a file line names a file by its absolute path)");
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "path": "", "dev": 1, "ino": 2})") ==
              "key 'path': '' is not an absolute path (a file line names a file by its absolute path)");
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "path": {"hex": "41"}, "dev": 1, "ino": 2})") ==
              "key 'path': 'A' is not an absolute path (a file line names a file by its absolute path)");
        // an open line keeps its old freedom (a hand-written trace may use any text)
        CHECK(parse_ok(R"({"ts": 1, "kind": "open", "pid": 1, "path": "rel"})").as<open_event>()->path == "rel");
    }
    SECTION("path, dev and ino are required; pid is not") {
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "dev": 1, "ino": 2})") ==
              "missing required key 'path' for kind 'file'");
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "path": "/etc/shadow", "ino": 2})") ==
              "missing required key 'dev' for kind 'file'");
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "path": "/etc/shadow", "dev": 1})") ==
              "missing required key 'ino' for kind 'file'");
        CHECK(parse_err(R"({"kind": "file", "path": "/etc/shadow", "dev": 1, "ino": 2})") ==
              "missing required key 'ts' for kind 'file'");
    }
    SECTION("wrong types and keys of other kinds") {
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "path": "/etc/shadow", "dev": "1", "ino": 2})") ==
              "key 'dev': expected an unsigned integer, got string");
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "path": "/etc/shadow", "dev": 1, "ino": -2})") ==
              "key 'ino': -2 is out of range 0..18446744073709551615");
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "path": "/etc/shadow", "dev": 1, "ino": 2.5})") ==
              "key 'ino': expected an unsigned integer, got non-integer number");
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "path": ["/etc/shadow"], "dev": 1, "ino": 2})") ==
              "key 'path': expected a string, got array");
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "path": "/etc/shadow", "dev": 1, "ino": 2, "flags": 0})") ==
              "unknown key 'flags' for kind 'file'");
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "path": "/etc/shadow", "dev": 1, "ino": 2, "uid": 0})") ==
              "unknown key 'uid' for kind 'file'");
        // and the file keys are not an open's
        CHECK(parse_err(R"({"ts": 1, "kind": "exit", "pid": 1, "ino": 2})") == "unknown key 'ino' for kind 'exit'");
    }
    SECTION("written and read back") {
        event e;
        e.ts = 2s;
        e.body = file_event{"/home/a/.ssh/id_rsa", 65025, 5120};
        const std::string line = format_trace_line(e);
        CHECK(line == R"({"ts":2000000000,"kind":"file","pid":0,"tid":0,"path":"/home/a/.ssh/id_rsa","dev":65025,"ino":5120})");
        CHECK(parse_ok(line) == e);
        CHECK(detail::fast_parse_line(line) == e);
        CHECK(nlohmann::json::parse(line) == to_json(e));
        CHECK(*event_from_json(to_json(e)) == e);
        // no ring-buffer record: the binary encoding says so
        CHECK_FALSE(is_kernel_record(e.kind()));
        CHECK_FALSE(encode(e).has_value());
    }
}

TEST_CASE("trace: wrong types name the key and the expected type") {
    CHECK(parse_err(R"({"ts": 1, "kind": "exit", "pid": "1"})") == "key 'pid': expected an unsigned integer, got string");
    CHECK(parse_err(R"({"ts": 1, "kind": "exit", "pid": 1.0})") ==
          "key 'pid': expected an unsigned integer, got non-integer number");
    CHECK(parse_err(R"({"ts": 1, "kind": "exit", "pid": 1, "exit_code": null})") ==
          "key 'exit_code': expected an integer, got null");
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": 5})") == "key 'path': expected a string, got integer");
    CHECK(parse_err(R"({"ts": 1, "kind": "exec", "pid": 1, "argv": "ls -l"})") ==
          "key 'argv': expected an array of strings, got string");
    CHECK(parse_err(R"({"ts": 1, "kind": "exec", "pid": 1, "argv": ["ls", 1]})") ==
          "key 'argv[1]': expected a string, got integer");
    CHECK(parse_err(R"({"ts": 1, "kind": "exec", "pid": 1, "truncated": 1})") ==
          "key 'truncated': expected a boolean, got integer");
    CHECK(parse_err(R"({"ts": 1, "kind": "connect", "pid": 1, "addr": 16909060, "port": 1})") ==
          "key 'addr': expected an IPv4 or IPv6 address string, got integer");
    CHECK(parse_err(R"({"ts": 1, "kind": "connect", "pid": 1, "addr": "1.2.3", "port": 1})") ==
          "key 'addr': '1.2.3' is not an IPv4 or IPv6 address");
    CHECK(parse_err(R"({"ts": 1, "kind": "connect", "pid": 1, "addr": "1.2.3.4", "port": 1, "proto": "sctp"})") ==
          "key 'proto': 'sctp' is not a protocol name (\"tcp\", \"udp\", \"icmp\", \"icmpv6\", \"udplite\") or number 0..255");
    CHECK(parse_err(R"({"ts": 1, "kind": "connect", "pid": 1, "addr": "1.2.3.4", "port": 1, "proto": true})") ==
          "key 'proto': expected a protocol name (\"tcp\", \"udp\", \"icmp\", \"icmpv6\", \"udplite\") or number 0..255, got boolean");
    CHECK(parse_err(R"([1, 2])") == "expected a JSON object, got array");
    CHECK(parse_err(R"("exit")") == "expected a JSON object, got string");
}

TEST_CASE("trace: numbers out of range for their field") {
    CHECK(parse_err(R"({"ts": 1, "kind": "exit", "pid": 4294967296})") ==
          "key 'pid': 4294967296 is out of range 0..4294967295");
    CHECK(parse_err(R"({"ts": 1, "kind": "exit", "pid": -1})") == "key 'pid': -1 is out of range 0..4294967295");
    CHECK(parse_err(R"({"ts": 1, "kind": "exit", "pid": 1, "tid": 4294967296})") ==
          "key 'tid': 4294967296 is out of range 0..4294967295");
    CHECK(parse_err(R"({"ts": 1, "kind": "connect", "pid": 1, "addr": "1.2.3.4", "port": 65536})") ==
          "key 'port': 65536 is out of range 0..65535");
    CHECK(parse_err(R"({"ts": 1, "kind": "exit", "pid": 1, "exit_code": 2147483648})") ==
          "key 'exit_code': 2147483648 is out of range -2147483648..2147483647");
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": "/", "flags": -2147483649})") ==
          "key 'flags': -2147483649 is out of range -2147483648..2147483647");
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": "/", "dev": -1})") ==
          "key 'dev': -1 is out of range 0..18446744073709551615");
    // beyond 64 bits nlohmann makes a float: a type error, not a silent wrap
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": "/", "ino": 18446744073709551616})") ==
          "key 'ino': expected an unsigned integer, got non-integer number");
    CHECK(parse_ok(R"({"ts": 1, "kind": "connect", "pid": 4294967295, "addr": "1.2.3.4", "port": 65535})")
              .as<net_event>()->port == 65535);
}

TEST_CASE("trace: byte strings that are not UTF-8") {
    auto e = parse_ok(R"({"ts": 1, "kind": "open", "pid": 1, "path": {"hex": "2f746d702fFF00"}})");
    CHECK(e.as<open_event>()->path == "/tmp/\xff\0"s);
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": {"hex": "2f7"}})") ==
          "key 'path': \"hex\" has an odd number of digits");
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": {"hex": "2g"}})") ==
          "key 'path': \"hex\" has a non-hex character at offset 1");
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": {"hex": "2f", "x": 1}})") ==
          "key 'path': expected a string or {\"hex\": \"<hex bytes>\"}, got another object");
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": {}})") ==
          "key 'path': expected a string or {\"hex\": \"<hex bytes>\"}, got another object");

    open_event o;
    o.path = "/home/\xc3\x28/\x80"; // invalid UTF-8
    event ev;
    ev.ts = 3ns;
    ev.body = o;
    const auto line = format_trace_line(ev);
    CHECK(line == R"({"ts":3,"kind":"open","pid":0,"tid":0,"path":{"hex":"2f686f6d652fc3282f80"},"flags":0,"dev":0,"ino":0,"uid":0})");
    CHECK(parse_ok(line) == ev);
}

TEST_CASE("trace: comments and blank lines") {
    for (std::string_view line : {"", "   ", "\t", "\r", "# comment", "   # indented", "#{\"ts\":1}"}) {
        auto r = parse_trace_line(line, 3);
        REQUIRE(r.has_value());
        CHECK_FALSE(r->has_value());
    }
}

TEST_CASE("trace: error messages carry the line number") {
    CHECK(parse_err(R"({"ts": 1, "kind": "exit", "pid": "x"})", 17) ==
          "line 17: key 'pid': expected an unsigned integer, got string");
    CHECK_THAT(parse_err("{\"ts\": 1,", 4), Catch::StartsWith("line 4: invalid JSON at byte 10: "));
    CHECK_THAT(parse_err("not json", 2), Catch::StartsWith("line 2: invalid JSON at byte 2: "));
    CHECK_THAT(parse_err("{\"ts\":1} {", 9), Catch::Contains("expected end of input"));
}

TEST_CASE("trace: garbage gives one-line errors") {
    const std::string binary = "\x01\x02\xff\xfe{\"\x80\"}\n\x00"s;
    auto m = parse_err(binary, 1);
    CHECK(m.find('\n') == std::string::npos);
    CHECK_THAT(m, Catch::StartsWith("line 1: invalid JSON"));
    // invalid UTF-8 inside a JSON string
    CHECK_THAT(parse_err("{\"ts\": 1, \"kind\": \"open\", \"pid\": 1, \"path\": \"\xc0\xaf\"}"),
               Catch::Contains("invalid JSON"));
    // deep nesting within the line limit
    const std::string deep = std::string(30000, '[') + std::string(30000, ']');
    CHECK(parse_err(deep) == "expected a JSON object, got array");
    const std::string deep_open = "{\"a\":" + std::string(30000, '[');
    CHECK_THAT(parse_err(deep_open), Catch::StartsWith("invalid JSON at byte"));
    // huge numbers
    CHECK_THAT(parse_err(R"({"ts": 1e999, "kind": "exit", "pid": 1})"), Catch::Contains("invalid JSON"));
}

TEST_CASE("trace: line length limit") {
    const std::string path(max_trace_line, 'a');
    const std::string line = R"({"ts": 1, "kind": "open", "pid": 1, "path": ")" + path + "\"}";
    CHECK(parse_err(line, 5) == "line 5: line is longer than the 65536-byte limit; skipped");
    // a comment is no exception
    CHECK(parse_err("#" + path, 6) == "line 6: line is longer than the 65536-byte limit; skipped");
    auto t = read_trace(line + "\n{\"ts\": 1, \"kind\": \"exit\", \"pid\": 1}\n");
    REQUIRE(t.errors.size() == 1);
    CHECK(t.errors[0].message == "line 1: line is longer than the 65536-byte limit; skipped");
    CHECK(t.events.size() == 1);
    // a line at the limit is fine
    const std::string fits = R"({"ts":1,"kind":"open","pid":1,"path":")";
    const std::string ok = fits + std::string(max_trace_line - fits.size() - 2, 'b') + "\"}";
    REQUIRE(ok.size() == max_trace_line);
    CHECK(parse_ok(ok).as<open_event>()->path.size() == max_trace_line - fits.size() - 2);
}

TEST_CASE("trace: format_trace_line writes every key in a fixed order") {
    event e;
    e.ts = 1500ms;
    e.pid = 100;
    e.tid = 101;
    exec_event x;
    x.ppid = 1;
    x.comm = "sh";
    x.exe = "/bin/sh";
    x.argv = {"sh", "-c", "echo \"hi\"\n\\"};
    x.exe_sha256 = std::string(64, 'f');
    e.body = x;
    CHECK(format_trace_line(e) ==
          R"({"ts":1500000000,"kind":"exec","pid":100,"tid":101,"ppid":1,"uid":0,"sid":0,"pgid":0,"comm":"sh","exe":"/bin/sh","argv":["sh","-c","echo \"hi\"\n\\"],"exe_dev":0,"exe_ino":0,"sha256":"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"})");

    net_event n;
    n.op = net_op::send;
    n.protocol = ip_proto::udp;
    n.addr = *ip_address::parse("2001:db8::7");
    n.port = 53;
    e.body = n;
    e.truncated = true;
    CHECK(format_trace_line(e) ==
          R"({"ts":1500000000,"kind":"send","pid":100,"tid":101,"truncated":true,"addr":"2001:db8::7","port":53,"proto":"udp","uid":0})");

    e.body = fork_event{.child_pid = 5, .child_tid = 6};
    e.truncated = false;
    CHECK(format_trace_line(e) == R"({"ts":1500000000,"kind":"fork","pid":100,"tid":101,"child_pid":5,"child_tid":6})");
    e.body = exit_event{.exit_code = -1};
    CHECK(format_trace_line(e) == R"({"ts":1500000000,"kind":"exit","pid":100,"tid":101,"exit_code":-1})");
}

TEST_CASE("trace: round trip parse(format(e)) == e, and to_json agrees with format") {
    std::vector<event> events;
    auto add = [&](event_body body, bool truncated = false) {
        event e;
        e.ts = nanoseconds{static_cast<std::int64_t>(events.size()) * 1'000'003 - 7};
        e.pid = static_cast<pid_type>(1000 + events.size());
        e.tid = e.pid + 1;
        e.truncated = truncated;
        e.body = std::move(body);
        events.push_back(std::move(e));
    };
    exec_event x;
    x.ppid = 4294967295u;
    x.uid = 1;
    x.sid = 2;
    x.pgid = 3;
    x.exe_dev = 18446744073709551615ull;
    x.exe_ino = 5;
    x.comm = "a\tb\x01\x7f";
    x.exe = "/usr/bin/\xe2\x82\xac"; // valid UTF-8 (euro sign)
    x.argv = {"", "\xff", "x\0y"s, "\"\\/"};
    x.exe_sha256 = "\xfe";
    add(x, true);
    add(exec_event{});
    add(fork_event{.child_pid = 0, .child_tid = 4294967295u});
    add(exit_event{.exit_code = -2147483647 - 1});
    add(open_event{"", -1, 0, 18446744073709551615ull, 7});
    add(open_event{"/etc/shadow", 0, 1, 2, 3});
    add(file_event{"/etc/shadow", 65024, 941});
    add(file_event{"/caf\xc3\xa9/\xff \"q\"\n", 0, 18446744073709551615ull}, true);
    net_event n;
    n.addr = *ip_address::parse("0.0.0.0");
    add(n);
    n.addr = *ip_address::parse("::ffff:192.0.2.1");
    n.op = net_op::send;
    n.protocol = ip_proto::tcp; // not the default for send: must be kept
    n.port = 65535;
    n.uid = 4294967295u;
    add(n);
    n.protocol = ip_proto::udp;
    n.op = net_op::connect; // not the default for connect
    add(n, true);
    // ABI 3: an open's source, write events, the socket keys, any protocol number
    open_event ou{"/root/.aws/credentials", 0, 3, 4, 0};
    ou.source = access_path::io_uring;
    add(ou);
    ou.source = access_path::compat;
    add(ou);
    add(write_event{});
    add(write_event{"/tmp/\xff\"k\"", 1, 18446744073709551615ull, 18446744073709551615ull, 4294967295u,
                    access_path::compat, write_how::clone},
        true);
    add(write_event{"/home/a/copy", 2, 3, 4096, 1000, access_path::io_uring, write_how::copy});
    add(write_event{"/home/a/copy", 2, 3, 0, 1000, access_path::syscall, write_how::write});
    for (const ip_proto p : {ip_proto::icmp, ip_proto::icmpv6, ip_proto::udplite, ip_proto{0}, ip_proto{47},
                             ip_proto{255}}) {
        net_event r;
        r.op = net_op::send;
        r.protocol = p;
        r.addr = *ip_address::parse("198.51.100.9");
        r.sock = sock_kind::raw;
        r.bytes = 64;
        add(r);
    }
    net_event full;
    full.op = net_op::send;
    full.addr = *ip_address::parse("2001:db8::2");
    full.port = 8443;
    full.sock = sock_kind::stream;
    full.peer = true;
    full.accepted = true;
    full.bytes = 18446744073709551615ull;
    full.conn_ts = nanoseconds::min(); // a kernel ktime above INT64_MAX decodes negative
    full.cookie = 18446744073709551615ull;
    add(full);
    for (const sock_kind k : {sock_kind::dgram, sock_kind::seqpacket, sock_kind::dccp}) {
        full.sock = k;
        full.peer = !full.peer;
        full.accepted = false;
        full.conn_ts = nanoseconds{static_cast<std::int64_t>(k)};
        full.cookie = 0;
        add(full);
    }

    for (const auto& e : events) {
        const std::string line = format_trace_line(e);
        INFO(line);
        CHECK(line.find('\n') == std::string::npos);
        CHECK(parse_ok(line) == e);
        CHECK(nlohmann::json::parse(line) == to_json(e));
        auto back = event_from_json(to_json(e));
        REQUIRE(back.has_value());
        CHECK(*back == e);
        // and through the binary record as well, for events whose strings fit
        if (e.kind() != event_kind::exec && is_kernel_record(e.kind())) CHECK(*decode(*encode(e)) == e);
    }
}

TEST_CASE("read_trace: events and errors of a whole text") {
    auto t = read_trace(sample);
    CHECK(t.errors.empty());
    REQUIRE(t.events.size() == 3);
    CHECK(t.events[0].ts == 1s);
    CHECK(t.events[0].as<exec_event>()->argv == std::vector<std::string>{"cat", "k"});
    CHECK(t.events[1].ts == 1500ms);
    CHECK(t.events[2].ts == 2s);
    CHECK(t.events[2].as<net_event>()->port == 443);
}

TEST_CASE("read_trace: a malformed line between valid lines loses nothing") {
    const std::string text =
        "{\"ts\": 1, \"kind\": \"exit\", \"pid\": 1}\r\n"
        "{\"ts\": 2, \"kind\": \"exit\", \"pid\": \r\n"
        "{\"ts\": 3, \"kind\": \"exit\", \"pid\": 3, \"bogus\": 1}\n"
        "\xff\xfe\x00garbage\n"s
        "{\"ts\": 4, \"kind\": \"exit\", \"pid\": 4}";
    auto t = read_trace(text);
    REQUIRE(t.events.size() == 2);
    CHECK(t.events[0].pid == 1);
    CHECK(t.events[1].pid == 4);
    REQUIRE(t.errors.size() == 3);
    CHECK_THAT(t.errors[0].message, Catch::StartsWith("line 2: invalid JSON"));
    CHECK(t.errors[1].message == "line 3: unknown key 'bogus' for kind 'exit'");
    CHECK_THAT(t.errors[2].message, Catch::StartsWith("line 4: invalid JSON"));
}

TEST_CASE("read_trace: a UTF-8 byte-order mark on line 1 is skipped") {
    auto t = read_trace("\xEF\xBB\xBF{\"ts\": 1, \"kind\": \"exit\", \"pid\": 1}\n");
    CHECK(t.errors.empty());
    CHECK(t.events.size() == 1);
}

TEST_CASE("trace_reader: lines split at every possible chunk size") {
    const auto want = read_trace(sample).events;
    REQUIRE(want.size() == 3);
    for (std::size_t chunk = 1; chunk <= sample.size(); ++chunk) {
        trace_reader rd;
        drained got;
        for (std::size_t i = 0; i < sample.size(); i += chunk) {
            rd.feed(std::string_view(sample).substr(i, chunk));
            drain(rd, got);
        }
        rd.finish();
        drain(rd, got);
        INFO("chunk size " << chunk);
        CHECK(got.errors.empty());
        CHECK(got.events == want);
        CHECK(rd.line() == 6);
        CHECK(rd.buffered() == 0);
    }
}

TEST_CASE("trace_reader: CRLF, and a final line without a newline waits for finish()") {
    trace_reader rd;
    drained got;
    rd.feed("{\"ts\": 1, \"kind\": \"exit\", \"pid\": 1}\r\n{\"ts\": 2, \"kind\": \"exit\", \"pid\": 2}");
    drain(rd, got);
    REQUIRE(got.events.size() == 1);
    CHECK(got.events[0].pid == 1);
    CHECK(rd.line() == 1);
    rd.finish();
    drain(rd, got);
    REQUIRE(got.events.size() == 2);
    CHECK(got.events[1].pid == 2);
    CHECK(rd.line() == 2);
    CHECK(got.errors.empty());
    CHECK_FALSE(rd.next().has_value());
}

TEST_CASE("trace_reader: errors report their line and the reader continues") {
    trace_reader rd;
    drained got;
    rd.feed("# header\n{\"ts\": 1, \"kind\": \"exit\", \"pid\": 1}\n{\"ts\": 1, \"kind\": \"exit\"}\n"
            "{\"ts\": 3, \"kind\": \"exit\", \"pid\": 3}\n");
    rd.finish();
    drain(rd, got);
    REQUIRE(got.events.size() == 2);
    CHECK(got.events[1].pid == 3);
    REQUIRE(got.errors.size() == 1);
    CHECK(got.errors[0] == "line 3: missing required key 'pid' for kind 'exit'");
}

TEST_CASE("trace_reader: an over-long line is reported once and skipped, memory stays bounded") {
    trace_reader rd(100);
    drained got;
    rd.feed("{\"ts\": 1, \"kind\": \"exit\", \"pid\": 1}\n");
    const std::string junk(64, 'x');
    for (int i = 0; i < 1000; ++i) {
        rd.feed(junk);
        drain(rd, got);
        CHECK(rd.buffered() <= 100 + 4 + junk.size());
    }
    rd.feed("tail of the long line\n{\"ts\": 2, \"kind\": \"exit\", \"pid\": 2}\n");
    rd.finish();
    drain(rd, got);
    REQUIRE(got.events.size() == 2);
    CHECK(got.events[1].pid == 2);
    REQUIRE(got.errors.size() == 1);
    CHECK(got.errors[0] == "line 2: line is longer than the 100-byte limit; skipped");
    CHECK(rd.line() == 3);
}

TEST_CASE("trace_reader: an over-long line that arrives whole") {
    trace_reader rd(50);
    drained got;
    rd.feed(std::string(60, ' ') + "\n{\"ts\": 2, \"kind\": \"exit\", \"pid\": 2}\n");
    drain(rd, got);
    REQUIRE(got.errors.size() == 1);
    CHECK(got.errors[0] == "line 1: line is longer than the 50-byte limit; skipped");
    REQUIRE(got.events.size() == 1);
    CHECK(rd.line() == 2);
}

TEST_CASE("trace_reader and read_trace agree on lines at the limit with CRLF and a byte-order mark") {
    const std::string body = R"({"ts":1,"kind":"exit","pid":1})";
    const std::size_t limit = body.size();
    const std::string text = "\xEF\xBB\xBF" + body + "\r\n" + body + "\r\n" + body + " \r\n";
    auto whole = read_trace(text, limit);
    REQUIRE(whole.events.size() == 2);
    REQUIRE(whole.errors.size() == 1);
    CHECK(whole.errors[0].message == "line 3: line is longer than the " + std::to_string(limit) + "-byte limit; skipped");
    for (std::size_t chunk = 1; chunk <= text.size(); ++chunk) {
        trace_reader rd(limit);
        drained got;
        for (std::size_t i = 0; i < text.size(); i += chunk) {
            rd.feed(std::string_view(text).substr(i, chunk));
            drain(rd, got);
        }
        rd.finish();
        drain(rd, got);
        INFO("chunk size " << chunk);
        CHECK(got.events == whole.events);
        REQUIRE(got.errors.size() == 1);
        CHECK(got.errors[0] == whole.errors[0].message);
    }
}

// ---------------------------------------------------------------------------
// The fast line parser (detail::fast_parse_line) against the full JSON parser
// (detail::parse_trace_line_slow). The contract: whenever the fast path gives
// an event, the full parser gives the same event; the fast path never gives
// errors, so messages come from the full parser alone.
// ---------------------------------------------------------------------------

namespace {

// Checks the contract on one line; returns whether the fast path took it.
bool fast_agrees(std::string_view line) {
    INFO("line: " << detail::printable(line, 400));
    const auto fast = detail::fast_parse_line(line);
    const auto slow = detail::parse_trace_line_slow(line, 7);
    const auto full = parse_trace_line(line, 7);
    if (fast) {
        INFO("full parser: " << (slow ? std::string("ok") : slow.error().message));
        REQUIRE(slow.has_value());
        REQUIRE(slow->has_value());
        CHECK(**slow == *fast);
    }
    // parse_trace_line is the full parser's answer, whichever path ran
    REQUIRE(full.has_value() == slow.has_value());
    if (full) CHECK(*full == *slow);
    else CHECK(full.error().message == slow.error().message);
    return fast.has_value();
}

std::vector<std::string> lines_of_dir(const std::filesystem::path& dir) {
    std::vector<std::string> out;
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".jsonl") continue;
        ++files;
        std::ifstream in(entry.path(), std::ios::binary);
        std::string line;
        while (std::getline(in, line)) out.push_back(line);
    }
    REQUIRE(files > 0);
    return out;
}

} // namespace

TEST_CASE("fast path: every line of the checked-in traces agrees, and every event line takes it") {
    const std::filesystem::path test_dir = BW_TEST_DIR;
    for (const auto& dir : {test_dir / "traces", test_dir / ".." / "examples" / "traces"}) {
        INFO(dir.string());
        const auto lines = lines_of_dir(dir);
        REQUIRE(!lines.empty());
        std::size_t events = 0, fast = 0;
        for (std::size_t i = 0; i < lines.size(); ++i) {
            const auto line = detail::clean_line(lines[i], i + 1);
            const bool took = fast_agrees(line);
            const auto r = parse_trace_line(line, i + 1);
            if (r && *r) {
                ++events;
                CHECK(took); // hand-written lines are the common form
            }
            fast += took ? 1 : 0;
        }
        CHECK(events > 0);
        CHECK(fast == events);
    }
}

TEST_CASE("fast path: lines as bench/gen_trace and format_trace_line write them") {
    std::vector<std::string> lines;
    const std::string_view paths[] = {"/usr/lib/x86_64-linux-gnu/libc.so.6", "/etc/ld.so.cache", "/home/dev/.ssh/id_rsa",
                                      "/home/dev/.aws/credentials", "/etc/shadow"};
    for (std::uint64_t i = 0; i < 400; ++i) {
        const std::string ts = std::to_string(1'000'000'000 + i * 10'000);
        const std::string pid = std::to_string(10'000 + i);
        lines.push_back(R"({"ts":)" + ts + R"(,"kind":"exec","pid":)" + std::to_string(900 + i % 4) +
                        R"(,"ppid":1,"uid":1000,"comm":"bash","exe":"/usr/bin/bash","argv":["-bash"]})");
        lines.push_back(R"({"ts":)" + ts + R"(,"pid":900,"kind":"fork","child_pid":)" + pid + "}");
        lines.push_back(R"({"ts":)" + ts + R"(,"pid":)" + pid + R"(,"kind":"exec","ppid":900,"uid":1000,"comm":"curl","exe":"/usr/bin/curl","argv":["curl"]})");
        lines.push_back(R"({"ts":)" + ts + R"(,"pid":)" + pid + R"(,"kind":"open","path":")" + std::string(paths[i % 5]) +
                        R"(","flags":0,"dev":2049,"ino":)" + std::to_string(i * 7919 % 100000 + 2) + "}");
        lines.push_back(R"({"ts":)" + ts + R"(,"pid":)" + pid + R"(,"kind":"connect","addr":"198.51.100.)" +
                        std::to_string(i % 250 + 1) + R"(","port":443,"proto":"tcp"})");
        lines.push_back(R"({"ts":)" + ts + R"(,"pid":)" + pid + R"(,"kind":"exit","exit_code":0})");

        // and what the sensor records: every key, in format_trace_line's order
        event e;
        e.ts = nanoseconds{static_cast<std::int64_t>(i * 1'000'003)};
        e.pid = static_cast<pid_type>(i);
        e.tid = static_cast<pid_type>(i + 1);
        e.truncated = i % 7 == 0;
        switch (i % 6) {
        case 0: {
            exec_event x;
            x.ppid = static_cast<pid_type>(i * 3);
            x.uid = 4294967295u;
            x.comm = "sh";
            x.exe = "/bin/sh\t\"q\"";
            x.argv = {"sh", "-c", "echo \"hi\" \\ /x\n\r\b\f", ""};
            x.exe_dev = 18446744073709551615ull;
            x.exe_sha256 = std::string(64, 'a');
            e.body = x;
            break;
        }
        case 1: e.body = fork_event{.child_pid = static_cast<pid_type>(i), .child_tid = 5}; break;
        case 2: e.body = exit_event{.exit_code = -2147483647 - 1}; break;
        case 3: e.body = open_event{"/caf\xc3\xa9/\xf0\x9f\x94\x91", -1, i, ~std::uint64_t{0}, 1000}; break;
        case 4: {
            net_event n;
            n.addr = *ip_address::parse("2001:db8::1");
            n.port = 65535;
            n.protocol = ip_proto::udp;
            e.body = n;
            break;
        }
        default: {
            net_event n;
            n.op = net_op::send;
            n.addr = *ip_address::parse("10.1.2.3");
            n.port = 53;
            e.body = n;
            break;
        }
        }
        const std::string line = format_trace_line(e);
        lines.push_back(line);
        CHECK(*detail::fast_parse_line(line) == e);

        // and the kinds and keys of ABI 3
        constexpr access_path sources[] = {access_path::syscall, access_path::compat, access_path::io_uring};
        constexpr write_how hows[] = {write_how::write, write_how::copy, write_how::clone};
        constexpr sock_kind socks[] = {sock_kind::unknown, sock_kind::stream, sock_kind::dgram, sock_kind::raw,
                                       sock_kind::seqpacket, sock_kind::dccp};
        if (i % 2 == 0) {
            write_event w{"/home/dev/.ssh/copy-" + std::to_string(i), i, i * 3, i * 100, 1000,
                          sources[i % 3], hows[i / 3 % 3]};
            e.body = w;
        } else {
            net_event n;
            n.op = i % 4 == 1 ? net_op::send : net_op::connect;
            n.protocol = static_cast<ip_proto>(i % 256);
            n.addr = *ip_address::parse(i % 3 == 0 ? "2001:db8::9" : "203.0.113.9");
            n.port = static_cast<std::uint16_t>(i * 163);
            n.sock = socks[i % 6];
            n.peer = i % 5 == 0;
            n.accepted = i % 7 == 0;
            n.bytes = i % 3 == 0 ? 0 : i * 1000;
            n.conn_ts = nanoseconds{static_cast<std::int64_t>(i % 4 == 0 ? 0 : i * 999) - 500};
            n.cookie = i % 9 == 0 ? 0 : ~std::uint64_t{0} - i;
            e.body = n;
        }
        const std::string line3 = format_trace_line(e);
        lines.push_back(line3);
        CHECK(*detail::fast_parse_line(line3) == e);
    }
    lines.push_back(R"({"ts":"2s","pid":7,"kind":"write","path":"/tmp/k","bytes":3072,"how":"copy"})");
    lines.push_back(R"({"ts":"2s","pid":7,"kind":"open","path":"/home/dev/.ssh/id_rsa","source":"io_uring"})");
    lines.push_back(R"({"ts":"2s","pid":7,"kind":"send","addr":"203.0.113.9","port":443,"proto":"tcp","sock":"stream","peer":true,"bytes":512,"conn_ts":"1.5s","cookie":4097})");
    lines.push_back(R"({"ts":"2s","pid":7,"kind":"send","addr":"203.0.113.9","port":0,"proto":"icmp","sock":"dgram"})");
    for (const auto& line : lines) CHECK(fast_agrees(line)); // all of them take the fast path
}

TEST_CASE("fast path: hand-picked lines, taken or left to the full parser") {
    const std::string exit1 = R"("ts":1,"kind":"exit","pid":1)";
    const std::string open1 = R"("ts":1,"kind":"open","pid":1,"path":)";
    // {line, whether the fast path takes it}
    const std::vector<std::pair<std::string, bool>> cases = {
        {"{" + exit1 + "}", true},
        // whitespace: JSON's four kinds anywhere between tokens
        {R"( { "ts" : 1 , "kind" : "exit" , "pid" : 1 } )", true},
        {"\t{\"ts\":\t1,\r\n\"kind\":\"exit\",\"pid\":1}\r", true},
        {"{" + exit1 + "}\n", true},
        {"{" + exit1 + "}\v", false},
        {"{" + exit1 + "}\f", false},
        {"\f{" + exit1 + "}", false},
        {"\xEF\xBB\xBF{" + exit1 + "}", false}, // a byte-order mark (clean_line strips it on line 1)
        // escapes
        {"{" + open1 + R"("/a\"b\\c\/d\n\t\r\b\f"})", true},
        {"{" + open1 + R"("\\"})", true},
        {"{" + open1 + R"("/\u0041"})", false},
        {"{" + open1 + R"("/\u0000"})", false},
        {"{" + open1 + R"("/\x41"})", false},
        {"{" + open1 + R"("/\a"})", false},
        {"{" + open1 + R"("/\)", false},
        {"{" + open1 + R"("/\"})", false},
        {R"({"ts":1,"kind":"ex\u0069t","pid":1})", false},
        {R"({"ts":1,"kind":"ex\/it","pid":1})", false},
        {R"({"ts":1,"kind":"exit","p\u0069d":1})", false},
        {R"({"ts":"1\u0073","kind":"exit","pid":1})", false},
        {R"({"ts":"1\/s","kind":"exit","pid":1})", false},
        {R"({"ts":1,"kind":"connect","pid":1,"addr":"1.2.3.4","port":1,"proto":"tc\/p"})", false},
        // big and negative numbers
        {"{" + open1 + R"("/","dev":18446744073709551615,"ino":0})", true},
        {"{" + open1 + R"("/","dev":18446744073709551616})", false},
        {"{" + open1 + R"("/","dev":99999999999999999999999})", false},
        {"{" + open1 + R"("/","dev":10000000000000000000,"ino":9999999999999999999})", true},
        {"{" + open1 + R"("/","dev":18446744073709551620})", false},
        {"{" + open1 + R"("/","dev":28446744073709551615})", false},
        {"{" + open1 + R"("/","dev":100000000000000000000})", false},
        {R"({"ts":9223372036854775807,"kind":"exit","pid":1})", true},
        {R"({"ts":9223372036854775808,"kind":"exit","pid":1})", false},
        {R"({"ts":-9223372036854775808,"kind":"exit","pid":1})", true},
        {R"({"ts":-9223372036854775809,"kind":"exit","pid":1})", false},
        {R"({"ts":-1,"kind":"exit","pid":1,"exit_code":-2147483648})", true},
        {R"({"ts":1,"kind":"exit","pid":1,"exit_code":-2147483649})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"exit_code":2147483647})", true},
        {R"({"ts":1,"kind":"exit","pid":1,"exit_code":2147483648})", false},
        {R"({"ts":1,"kind":"exit","pid":4294967295})", true},
        {R"({"ts":1,"kind":"exit","pid":4294967296})", false},
        {R"({"ts":1,"kind":"exit","pid":-1})", false},
        {R"({"ts":1,"kind":"connect","pid":1,"addr":"::1","port":65535})", true},
        {R"({"ts":1,"kind":"connect","pid":1,"addr":"::1","port":65536})", false},
        {R"({"ts":1,"kind":"connect","pid":1,"addr":"::1","port":-0})", true},
        // leading zeros, -0, fractions and exponents
        {R"({"ts":1,"kind":"exit","pid":01})", false},
        {R"({"ts":1,"kind":"exit","pid":00})", false},
        {R"({"ts":1,"kind":"exit","pid":0})", true},
        {R"({"ts":1,"kind":"exit","pid":-0})", true},
        {R"({"ts":-0,"kind":"exit","pid":1})", true},
        {R"({"ts":1,"kind":"exit","pid":-})", false},
        {R"({"ts":1,"kind":"exit","pid":+1})", false},
        {R"({"ts":1,"kind":"exit","pid":1e3})", false},
        {R"({"ts":1,"kind":"exit","pid":1E3})", false},
        {R"({"ts":1,"kind":"exit","pid":1.0})", false},
        {R"({"ts":1,"kind":"exit","pid":1.})", false},
        {R"({"ts":1e3,"kind":"exit","pid":1})", false},
        {R"({"ts":1,"kind":"exit","pid":0x10})", false},
        {R"({"ts":1,"kind":"exit","pid":1x})", false},
        // broken syntax
        {R"({"ts":1 "kind":"exit","pid":1})", false},
        {R"({"ts":1,"kind":"exit","pid":1,})", false},
        {R"({"ts":1,,"kind":"exit","pid":1})", false},
        {R"({,"ts":1,"kind":"exit","pid":1})", false},
        {R"({"ts" 1,"kind":"exit","pid":1})", false},
        {R"({"ts"::1,"kind":"exit","pid":1})", false},
        {R"({"ts":1,"kind":"exit","pid":1)", false},
        {R"({"ts":1,"kind":"exit","pid":1}})", false},
        {R"({"ts":1,"kind":"exit","pid":1} x)", false},
        {R"({"ts":1,"kind":"exit","pid":1}{})", false},
        {"{" + exit1 + "}\0junk"s, false},
        {"{" + exit1 + "\0}"s, false},
        {R"({ts:1,"kind":"exit","pid":1})", false},
        {R"({'ts':1,"kind":"exit","pid":1})", false},
        {R"({"ts":1,"kind":"exit","pid":1 /* c */})", false},
        {"{}", false},
        {"[]", false},
        {"{", false},
        {"\"exit\"", false},
        {"", false},
        {"   ", false},
        {"# comment", false},
        // duplicate keys: nlohmann keeps the last one; the fast path leaves them alone
        {R"({"ts":1,"kind":"exit","pid":1,"pid":2})", false},
        {R"({"ts":1,"kind":"exit","kind":"open","pid":1,"path":"/"})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"exit_code":1,"exit_code":"x"})", false},
        // empty strings and arrays
        {R"({"ts":1,"kind":"exec","pid":1,"comm":"","exe":"","argv":[],"sha256":""})", true},
        {R"({"ts":1,"kind":"exec","pid":1,"argv":[""]})", true},
        {R"({"ts":1,"kind":"exec","pid":1,"argv":[ "a" , "" ,"c\"" ]})", true},
        {R"({"ts":1,"kind":"exec","pid":1,"argv":[ ]})", true},
        {R"({"ts":1,"kind":"exec","pid":1,"argv":["a",]})", false},
        {R"({"ts":1,"kind":"exec","pid":1,"argv":[,"a"]})", false},
        {R"({"ts":1,"kind":"exec","pid":1,"argv":["a" "b"]})", false},
        {R"({"ts":1,"kind":"exec","pid":1,"argv":["a",1]})", false},
        {R"({"ts":1,"kind":"exec","pid":1,"argv":[["a"]]})", false},
        {R"({"ts":1,"kind":"exec","pid":1,"argv":["a"})", false},
        {R"({"ts":1,"kind":"exec","pid":1,"argv":"a"})", false},
        {R"({"ts":1,"kind":"exec","pid":1,"argv":[{"hex":"ff"}]})", false},
        {R"({"ts":1,"kind":"exec","pid":1,"comm":["a"]})", false},
        {"{" + open1 + R"(""})", true},
        // unicode and bytes
        {"{" + open1 + "\"/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x94\x91/\xf4\x8f\xbf\xbf\"}", true},
        {"{" + open1 + "\"\x7f\"}", true},
        {"{" + open1 + "\"/\xff\"}", false},
        {"{" + open1 + "\"/\xc0\xaf\"}", false},         // overlong
        {"{" + open1 + "\"/\xed\xa0\x80\"}", false},     // surrogate
        {"{" + open1 + "\"/\xf4\x90\x80\x80\"}", false}, // above U+10FFFF
        {"{" + open1 + "\"/\xc3\"}", false},             // cut short
        {"{" + open1 + "\"/\xc3\\n\xa9\"}", false},      // an escape inside a sequence
        {"{" + open1 + "\"/\x01\"}", false},
        {"{" + open1 + "\"/\t\"}", false},
        {"{" + open1 + "\"/\0\"}"s, false},
        {"{" + open1 + R"({"hex":"2f"}})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"caf)" "\xc3\xa9" R"(":1})", false},
        // booleans and null
        {R"({"ts":1,"kind":"exit","pid":1,"truncated":true})", true},
        {R"({"ts":1,"kind":"exit","pid":1,"truncated":false})", true},
        {R"({"ts":1,"kind":"exit","pid":1,"truncated":tru})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"truncated":truee})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"truncated":True})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"truncated":1})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"truncated":"true"})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"exit_code":null})", false},
        {R"({"ts":1,"kind":"exit","pid":true})", false},
        // ts as text
        {R"({"ts":"1.5s","kind":"exit","pid":1})", true},
        {R"({"ts":"0.000000001s","kind":"exit","pid":1})", true},
        {R"({"ts":"9223372036854775807ns","kind":"exit","pid":1})", true},
        {R"({"ts":"9223372036854775808ns","kind":"exit","pid":1})", false},
        {R"({"ts":"1.5ns","kind":"exit","pid":1})", false},
        {R"({"ts":"2m","kind":"exit","pid":1})", false},
        {R"({"ts":"","kind":"exit","pid":1})", false},
        // keys: unknown, of another kind, missing, odd
        {R"({"ts":1,"kind":"exit","pid":1,"path":"/"})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"bogus":1})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"pid ":1})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"":1})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"PID":1})", false},
        {R"({"ts":1,"kind":"fork","pid":1,"child_pid":2})", true},
        {R"({"ts":1,"kind":"fork","pid":1,"child_tid":2})", false},
        {R"({"ts":1,"kind":"open","pid":1})", false},
        {R"({"ts":1,"kind":"connect","pid":1,"port":1})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4"})", false},
        {R"({"kind":"exit","pid":1})", false},
        {R"({"ts":1,"kind":"exit"})", false},
        {R"({"ts":1,"pid":1})", false},
        {R"({"ts":1,"kind":"net","pid":1})", false},
        {R"({"ts":1,"kind":"","pid":1})", false},
        {R"({"ts":1,"kind":4,"pid":1})", false},
        {R"({"pid":1,"kind":"exit","ts":1})", true}, // any key order
        {R"({"ts":1,"kind":"exec","pid":1,"uid":1,"ppid":2,"sid":3,"pgid":4,"exe_dev":5,"exe_ino":6})", true},
        {R"({"ts":1,"kind":"open","pid":1,"path":"/","flags":-1,"dev":1,"ino":2,"uid":3})", true},
        {R"({"ts":1,"kind":"open","pid":1,"path":"/","flags":2147483648})", false},
        // addresses and protocols
        {R"({"ts":1,"kind":"send","pid":1,"addr":"::ffff:192.0.2.1","port":53,"proto":"tcp","uid":0})", true},
        {R"({"ts":1,"kind":"connect","pid":1,"addr":"1.2.3","port":1})", false},
        {R"({"ts":1,"kind":"connect","pid":1,"addr":"","port":1})", false},
        {R"({"ts":1,"kind":"connect","pid":1,"addr":" 1.2.3.4","port":1})", false},
        {R"({"ts":1,"kind":"connect","pid":1,"addr":"1.2.3.4","port":1,"proto":"icmp"})", true},
        {R"({"ts":1,"kind":"connect","pid":1,"addr":"1.2.3.4","port":1,"proto":"sctp"})", false},
        {R"({"ts":1,"kind":"connect","pid":1,"addr":"1.2.3.4","port":1,"proto":"TCP"})", false},
        {R"({"ts":1,"kind":"connect","pid":1,"addr":1,"port":1})", false},
        // protocols: a name, or a number as a string or an integer (ABI 3)
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":"icmpv6"})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":"udplite"})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":"47"})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":"0"})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":"255"})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":47})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":255})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":-0})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":256})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":-1})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":6.0})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":"256"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":"06"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":"-1"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":"+6"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":""})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":"1000"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":true})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":null})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":0,"proto":"\u0036"})", false},
        // the socket keys of connect and send (ABI 3)
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"sock":"stream","peer":true,"accepted":false,"bytes":18446744073709551615,"conn_ts":"1.5s","cookie":1})", true},
        {R"({"ts":1,"kind":"connect","pid":1,"addr":"::1","port":1,"cookie":0,"bytes":0,"conn_ts":-5,"sock":"dccp","accepted":true})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"sock":"seqpacket"})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"sock":"raw","proto":"47"})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"sock":"dgram"})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"sock":"unknown"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"sock":""})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"sock":"Stream"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"sock":1})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"peer":1})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"peer":"true"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"accepted":null})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"bytes":-1})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"bytes":18446744073709551616})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"cookie":"1"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"conn_ts":"1.5ns"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"conn_ts":"2m"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"conn_ts":9223372036854775808})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"conn_ts":-9223372036854775808})", true},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"conn_ts":1.5})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"conn_ts":true})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"source":"syscall"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"how":"write"})", false},
        {R"({"ts":1,"kind":"send","pid":1,"addr":"1.2.3.4","port":1,"path":"/"})", false},
        // an open's source (ABI 3)
        {R"({"ts":1,"kind":"open","pid":1,"path":"/","source":"syscall"})", true},
        {R"({"ts":1,"kind":"open","pid":1,"path":"/","source":"compat"})", true},
        {R"({"ts":1,"kind":"open","pid":1,"path":"/","source":"io_uring"})", true},
        {R"({"ts":1,"kind":"open","pid":1,"path":"/","source":"io-uring"})", false},
        {R"({"ts":1,"kind":"open","pid":1,"path":"/","source":"Compat"})", false},
        {R"({"ts":1,"kind":"open","pid":1,"path":"/","source":""})", false},
        {R"({"ts":1,"kind":"open","pid":1,"path":"/","source":2})", false},
        {R"({"ts":1,"kind":"open","pid":1,"path":"/","source":"compat","how":"copy"})", false},
        {R"({"ts":1,"kind":"open","pid":1,"path":"/","bytes":1})", false},
        {R"({"ts":1,"kind":"exit","pid":1,"source":"compat"})", false},
        // write lines (ABI 3)
        {R"({"ts":1,"kind":"write","pid":1,"path":"/tmp/x"})", true},
        {R"({"ts":1,"kind":"write","pid":1,"tid":2,"truncated":true,"path":"/tmp/x","dev":1,"ino":2,"bytes":3,"uid":4,"source":"io_uring","how":"copy"})", true},
        {R"({"how":"clone","path":"rel","kind":"write","ts":"2s","pid":1})", true},
        {R"({"ts":1,"kind":"write","pid":1,"path":"\/tmp\/x\n"})", true},
        {R"({"ts":1,"kind":"write","pid":1,"path":{"hex":"2f"}})", false},
        {R"({"ts":1,"kind":"write","pid":1})", false},
        {R"({"ts":1,"kind":"write","path":"/x"})", false},
        {R"({"ts":1,"kind":"write","pid":1,"path":"/x","how":"move"})", false},
        {R"({"ts":1,"kind":"write","pid":1,"path":"/x","how":"Write"})", false},
        {R"({"ts":1,"kind":"write","pid":1,"path":"/x","how":1})", false},
        {R"({"ts":1,"kind":"write","pid":1,"path":"/x","source":"uring"})", false},
        {R"({"ts":1,"kind":"write","pid":1,"path":"/x","bytes":-1})", false},
        {R"({"ts":1,"kind":"write","pid":1,"path":"/x","flags":0})", false},
        {R"({"ts":1,"kind":"write","pid":1,"path":"/x","addr":"1.2.3.4"})", false},
        {R"({"ts":1,"kind":"write","pid":1,"path":"/x","sock":"stream"})", false},
        {R"({"ts":1,"kind":"write","pid":1,"path":"/x","path":"/y"})", false},
        {R"({"ts":1,"kind":"writes","pid":1,"path":"/x"})", false},
        {R"({"ts":1,"kind":"Write","pid":1,"path":"/x"})", false},
        // file lines: pid optional, path absolute, dev and ino required
        {R"({"ts":1,"kind":"file","path":"/etc/shadow","dev":65024,"ino":941})", true},
        {R"({"ts":1,"kind":"file","pid":0,"tid":0,"path":"/etc/shadow","dev":0,"ino":0})", true},
        {R"({"ts":1,"kind":"file","pid":3,"path":"/","dev":18446744073709551615,"ino":1,"truncated":true})", true},
        {R"({"ts":1,"kind":"file","path":"\/etc\/shadow","dev":1,"ino":2})", true},
        {R"({"ts":1,"kind":"file","path":"etc/shadow","dev":1,"ino":2})", false},
        {R"({"ts":1,"kind":"file","path":"","dev":1,"ino":2})", false},
        {R"({"ts":1,"kind":"file","path":"\\etc","dev":1,"ino":2})", false},
        {R"({"ts":1,"kind":"file","path":{"hex":"2f"},"dev":1,"ino":2})", false},
        {R"({"ts":1,"kind":"file","path":"/etc/shadow","ino":2})", false},
        {R"({"ts":1,"kind":"file","path":"/etc/shadow","dev":1})", false},
        {R"({"ts":1,"kind":"file","dev":1,"ino":2})", false},
        {R"({"kind":"file","path":"/etc/shadow","dev":1,"ino":2})", false},
        {R"({"ts":1,"kind":"file","path":"/etc/shadow","dev":"1","ino":2})", false},
        {R"({"ts":1,"kind":"file","path":"/etc/shadow","dev":1,"ino":-2})", false},
        {R"({"ts":1,"kind":"file","path":"/etc/shadow","dev":1,"ino":2,"flags":0})", false},
        {R"({"ts":1,"kind":"file","path":"/etc/shadow","dev":1,"ino":2,"uid":0})", false},
        {R"({"ts":1,"kind":"file","path":"/etc/shadow","dev":1,"ino":2,"pid":-1})", false},
        {R"({"ts":1,"kind":"open","pid":1,"path":"/","dev":1,"ino":2,"kind":"file"})", false},
        {R"({"ts":1,"kind":"File","path":"/etc/shadow","dev":1,"ino":2})", false},
    };
    for (const auto& [line, takes] : cases) {
        INFO("line: " << detail::printable(line, 400));
        CHECK(fast_agrees(line) == takes);
    }

    // a few values, to be sure the fast path reads them as the full parser does
    const auto fast = [](std::string_view line) {
        auto e = detail::fast_parse_line(line);
        REQUIRE(e.has_value());
        return *e;
    };
    CHECK(fast("{" + open1 + R"("/a\"b\\c\/d\n\t\r\b\f"})").as<open_event>()->path == "/a\"b\\c/d\n\t\r\b\f");
    CHECK(fast(R"({"ts":-0,"kind":"exit","pid":-0})").pid == 0);
    CHECK(fast(R"({"ts":-9223372036854775808,"kind":"exit","pid":1})").ts == nanoseconds::min());
    CHECK(fast(R"({"pid":7,"kind":"exit","ts":"1.5s"})").ts == 1500ms);
    CHECK(fast(R"({"pid":7,"kind":"exit","ts":1})").tid == 7);
    CHECK(fast(R"({"ts":1,"kind":"fork","pid":1,"child_pid":2})").as<fork_event>()->child_tid == 2);
    CHECK(fast(R"({"ts":1,"kind":"send","pid":1,"addr":"::1","port":5})").as<net_event>()->protocol == ip_proto::udp);
    CHECK(fast(R"({"ts":1,"kind":"connect","pid":1,"addr":"::1","port":5})").as<net_event>()->protocol == ip_proto::tcp);
    CHECK(fast(R"({"ts":1,"kind":"exec","pid":1,"argv":[ "a" , "" ,"c\"" ]})").as<exec_event>()->argv ==
          std::vector<std::string>{"a", "", "c\""});
    // duplicates: the full parser keeps the last value, and parse_trace_line does too
    CHECK(parse_ok(R"({"ts":1,"kind":"exit","pid":1,"pid":2})").pid == 2);
}

TEST_CASE("fast path: key and kind words") {
    const std::vector<std::string> keys = {"ts", "kind", "pid", "tid", "truncated", "ppid", "uid", "sid", "pgid",
                                           "comm", "exe", "argv", "exe_dev", "exe_ino", "sha256", "exe_uid",
                                           "exe_mode", "exe_host_file", "exe_package", "child_pid",
                                           "child_tid", "exit_code", "path", "flags", "dev", "ino", "source",
                                           "bytes", "how", "addr", "port", "proto", "sock", "peer", "accepted",
                                           "conn_ts", "cookie"};
    REQUIRE(keys.size() == static_cast<std::size_t>(detail::fast_key::count));
    std::uint64_t seen = 0;
    for (const auto& k : keys) {
        INFO(k);
        // alone in its buffer (byte by byte) and inside a longer one (one load)
        const std::string in_line = k + "\":1234567}";
        const auto a = detail::fast_key_of(k, k.data() + k.size());
        const auto b = detail::fast_key_of(std::string_view(in_line).substr(0, k.size()), in_line.data() + in_line.size());
        CHECK(a == b);
        REQUIRE(a != detail::fast_key::count);
        CHECK((seen & detail::fast_bit(a)) == 0);
        seen |= detail::fast_bit(a);
        // near misses
        for (const std::string& miss : {k.substr(1), k.substr(0, k.size() - 1), k + "x", k + "d", "_" + k,
                                        k.substr(0, k.size() - 1) + "X"}) {
            INFO(miss);
            if (std::find(keys.begin(), keys.end(), miss) != keys.end()) continue; // "ppid" less a letter
            const std::string padded = miss + "\":0000000}";
            CHECK(detail::fast_key_of(miss, miss.data() + miss.size()) == detail::fast_key::count);
            CHECK(detail::fast_key_of(std::string_view(padded).substr(0, miss.size()), padded.data() + padded.size()) ==
                  detail::fast_key::count);
        }
    }
    for (std::string_view kind : {"exec", "fork", "exit", "open", "write", "connect", "send", "file"}) {
        INFO(kind);
        CHECK(detail::fast_kind_of(kind, kind.data() + kind.size()) == detail::line_kind_from(kind));
        const std::string longer = std::string(kind) + "\",\"pid\":1}";
        CHECK(detail::fast_kind_of(std::string_view(longer).substr(0, kind.size()), longer.data() + longer.size()) ==
              detail::line_kind_from(kind));
    }
    for (std::string_view other : {"", "exe", "execs", "Exec", "connec", "connectt", "net", "sen\0", "fil", "files", "File",
                                   "writ", "writes", "Write", "wrote"}) {
        INFO(other);
        CHECK_FALSE(detail::fast_kind_of(other, other.data() + other.size()).has_value());
    }
}

TEST_CASE("trace: exe_uid and exe_mode (the executable's owner and permission bits)", "[trace][trust]") {
    const std::string head = R"({"ts": 1, "kind": "exec", "pid": 7, "exe": "/usr/bin/ssh")";
    SECTION("absent: unknown") {
        const auto e = parse_ok(head + "}");
        CHECK_FALSE(e.as<exec_event>()->exe_uid);
        CHECK_FALSE(e.as<exec_event>()->exe_mode);
        // and the writer leaves them out
        CHECK(format_trace_line(e).find("exe_uid") == std::string::npos);
        CHECK(format_trace_line(e).find("exe_mode") == std::string::npos);
        CHECK_FALSE(to_json(e).contains("exe_mode"));
    }
    SECTION("an octal string or an integer") {
        struct c {
            std::string text;
            std::uint32_t mode;
        };
        for (const auto& [text, mode] : {c{R"("0755")", 0755u}, c{R"("755")", 0755u}, c{R"("4755")", 04755u},
                                         c{R"("0")", 0u}, c{R"("007777")", 07777u}, c{"493", 0755u}, c{"0", 0u},
                                         c{"4095", 07777u}}) {
            const std::string line = head + R"(, "exe_uid": 0, "exe_mode": )" + text + "}";
            const auto e = parse_ok(line);
            INFO(line);
            CHECK(e.as<exec_event>()->exe_uid == 0u);
            CHECK(e.as<exec_event>()->exe_mode == mode);
            CHECK(fast_agrees(line));
        }
        const auto e = parse_ok(head + R"(, "exe_uid": 4294967295, "exe_mode": "0600"})");
        CHECK(e.as<exec_event>()->exe_uid == 4294967295u);
    }
    SECTION("written as an octal string, read back the same, by both paths") {
        event e = parse_ok(head + R"(, "exe_uid": 1000, "exe_mode": 2047})");
        const std::string line = format_trace_line(e);
        CHECK(line.find(R"("exe_uid":1000,"exe_mode":"3777")") != std::string::npos);
        CHECK(to_json(e)["exe_mode"] == "3777");
        CHECK(parse_ok(line) == e);
        CHECK(fast_agrees(line));
        CHECK(detail::fast_parse_line(line).has_value());
        e.as<exec_event>()->exe_mode = 0u;
        CHECK(format_trace_line(e).find(R"("exe_mode":"0000")") != std::string::npos);
        CHECK(parse_ok(format_trace_line(e)) == e);
    }
    SECTION("bad values: one error naming the key") {
        CHECK(parse_err(head + R"(, "exe_mode": "0758"})") ==
              "key 'exe_mode': '0758' is not a permission mode (octal digits, at most 07777, such as \"0755\")");
        CHECK(parse_err(head + R"(, "exe_mode": "17777"})").rfind("key 'exe_mode': '17777' is not a permission mode", 0) == 0);
        CHECK(parse_err(head + R"(, "exe_mode": ""})").rfind("key 'exe_mode': '' is not a permission mode", 0) == 0);
        CHECK(parse_err(head + R"(, "exe_mode": "0o755"})").rfind("key 'exe_mode':", 0) == 0);
        CHECK(parse_err(head + R"(, "exe_mode": 4096})") == "key 'exe_mode': 4096 is out of range 0..4095 (07777)");
        CHECK(parse_err(head + R"(, "exe_mode": -1})").rfind("key 'exe_mode': -1 is out of range", 0) == 0);
        CHECK(parse_err(head + R"(, "exe_mode": true})").rfind("key 'exe_mode': expected an octal string", 0) == 0);
        CHECK(parse_err(head + R"(, "exe_uid": -1})").rfind("key 'exe_uid':", 0) == 0);
        CHECK(parse_err(head + R"(, "exe_uid": "0"})").rfind("key 'exe_uid':", 0) == 0);
        CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 7, "path": "/x", "exe_uid": 0})") ==
              "unknown key 'exe_uid' for kind 'open'");
        for (const char* v : {R"("0758")", "4096", "-1", "true", R"("")", "1.5", "null"})
            CHECK_FALSE(fast_agrees(head + R"(, "exe_mode": )" + v + "}"));
    }
}

// ---------------------------------------------------------------------------
// ABI 3: write lines, an open's source, the socket keys of connect and send,
// any protocol number. Old lines read as before and old events write the
// lines they always did.
// ---------------------------------------------------------------------------

TEST_CASE("trace: write lines", "[trace][abi3]") {
    SECTION("a minimal line: defaults") {
        const auto e = parse_ok(R"({"ts": "1s", "kind": "write", "pid": 5, "path": "/tmp/k"})");
        REQUIRE(e.kind() == event_kind::write);
        CHECK(e.ts == 1s);
        CHECK(e.tid == 5);
        const auto& w = *e.as<write_event>();
        CHECK(w == write_event{"/tmp/k", 0, 0, 0, 0, access_path::syscall, write_how::write});
    }
    SECTION("every key") {
        const auto e = parse_ok(
            R"({"ts": 1, "kind": "write", "pid": 5, "tid": 6, "truncated": true, "path": "/tmp/x", "dev": 1, "ino": 2,
                "bytes": 18446744073709551615, "uid": 1000, "source": "compat", "how": "clone"})");
        CHECK(e.tid == 6);
        CHECK(e.truncated);
        CHECK(*e.as<write_event>() ==
              write_event{"/tmp/x", 1, 2, 18446744073709551615ull, 1000, access_path::compat, write_how::clone});
        CHECK(parse_ok(R"({"ts": 1, "kind": "write", "pid": 5, "path": "/x", "how": "copy", "source": "io_uring"})")
                  .as<write_event>()->how == write_how::copy);
        CHECK(parse_ok(R"({"ts": 1, "kind": "write", "pid": 5, "path": "/x", "how": "write", "source": "syscall"})") ==
              parse_ok(R"({"ts": 1, "kind": "write", "pid": 5, "path": "/x"})"));
        // like an open's, the path may be any text (a hand-written trace) or bytes
        CHECK(parse_ok(R"({"ts": 1, "kind": "write", "pid": 5, "path": "rel"})").as<write_event>()->path == "rel");
        CHECK(parse_ok(R"({"ts": 1, "kind": "write", "pid": 5, "path": {"hex": "2fff"}})").as<write_event>()->path ==
              "/\xff");
    }
    SECTION("errors") {
        CHECK(parse_err(R"({"ts": 1, "kind": "write", "pid": 5})") == "missing required key 'path' for kind 'write'");
        CHECK(parse_err(R"({"ts": 1, "kind": "write", "path": "/x"})") == "missing required key 'pid' for kind 'write'");
        CHECK(parse_err(R"({"ts": 1, "kind": "write", "pid": 5, "path": "/x", "how": "move"})") ==
              "key 'how': 'move' is not \"write\", \"copy\" or \"clone\"");
        CHECK(parse_err(R"({"ts": 1, "kind": "write", "pid": 5, "path": "/x", "how": 1})") ==
              "key 'how': expected \"write\", \"copy\" or \"clone\", got integer");
        CHECK(parse_err(R"({"ts": 1, "kind": "write", "pid": 5, "path": "/x", "source": "uring"})") ==
              "key 'source': 'uring' is not \"syscall\", \"compat\" or \"io_uring\"");
        CHECK(parse_err(R"({"ts": 1, "kind": "write", "pid": 5, "path": "/x", "bytes": -1})") ==
              "key 'bytes': -1 is out of range 0..18446744073709551615");
        CHECK(parse_err(R"({"ts": 1, "kind": "write", "pid": 5, "path": "/x", "uid": 4294967296})") ==
              "key 'uid': 4294967296 is out of range 0..4294967295");
        CHECK(parse_err(R"({"ts": 1, "kind": "write", "pid": 5, "path": 7})") == "key 'path': expected a string, got integer");
        // keys of other kinds are unknown here, and write's own are unknown elsewhere
        CHECK(parse_err(R"({"ts": 1, "kind": "write", "pid": 5, "path": "/x", "flags": 0})") ==
              "unknown key 'flags' for kind 'write'");
        CHECK(parse_err(R"({"ts": 1, "kind": "write", "pid": 5, "path": "/x", "port": 1})") ==
              "unknown key 'port' for kind 'write'");
        CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 5, "path": "/x", "how": "copy"})") ==
              "unknown key 'how' for kind 'open'");
        CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 5, "path": "/x", "bytes": 1})") ==
              "unknown key 'bytes' for kind 'open'");
        CHECK(parse_err(R"({"ts": 1, "kind": "file", "path": "/x", "dev": 1, "ino": 1, "how": "copy"})") ==
              "unknown key 'how' for kind 'file'");
        CHECK(parse_err(R"({"ts": 1, "kind": "writes", "pid": 5, "path": "/x"})") ==
              "key 'kind': unknown kind 'writes' (expected exec, fork, exit, open, write, connect, send, file, foreign, script or binding)");
    }
    SECTION("written: source and how only when not the default; read back by both paths") {
        event e;
        e.ts = 1s;
        e.pid = 5;
        e.tid = 5;
        e.body = write_event{"/tmp/k", 2049, 77, 4096, 1000, access_path::syscall, write_how::write};
        std::string line = format_trace_line(e);
        CHECK(line == R"({"ts":1000000000,"kind":"write","pid":5,"tid":5,"path":"/tmp/k","dev":2049,"ino":77,"bytes":4096,"uid":1000})");
        CHECK(detail::fast_parse_line(line) == e);
        CHECK(parse_ok(line) == e);
        CHECK(nlohmann::json::parse(line) == to_json(e));
        e.body = write_event{"/tmp/k", 2049, 77, 4096, 1000, access_path::io_uring, write_how::copy};
        line = format_trace_line(e);
        CHECK(line ==
              R"({"ts":1000000000,"kind":"write","pid":5,"tid":5,"path":"/tmp/k","dev":2049,"ino":77,"bytes":4096,"uid":1000,"source":"io_uring","how":"copy"})");
        CHECK(detail::fast_parse_line(line) == e);
        CHECK(detail::parse_trace_line_slow(line)->value() == e);
        CHECK(nlohmann::json::parse(line) == to_json(e));
        CHECK(*event_from_json(to_json(e)) == e);
        e.as<write_event>()->source = access_path::syscall;
        e.as<write_event>()->how = write_how::clone;
        CHECK(format_trace_line(e).ends_with(R"("uid":1000,"how":"clone"})"));
        CHECK(parse_ok(format_trace_line(e)) == e);
        // and through the binary record
        CHECK(*decode(*encode(e)) == e);
    }
}

TEST_CASE("trace: an open's source", "[trace][abi3]") {
    CHECK(parse_ok(R"({"ts": 1, "kind": "open", "pid": 1, "path": "/x"})").as<open_event>()->source ==
          access_path::syscall);
    for (const auto& [word, source] : {std::pair{"syscall", access_path::syscall}, std::pair{"compat", access_path::compat},
                                       std::pair{"io_uring", access_path::io_uring}}) {
        const std::string line = R"({"ts": 1, "kind": "open", "pid": 1, "path": "/x", "source": ")" + std::string(word) + "\"}";
        INFO(line);
        CHECK(parse_ok(line).as<open_event>()->source == source);
        CHECK(fast_agrees(line));
    }
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": "/x", "source": "io-uring"})") ==
          "key 'source': 'io-uring' is not \"syscall\", \"compat\" or \"io_uring\"");
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": "/x", "source": 2})") ==
          "key 'source': expected \"syscall\", \"compat\" or \"io_uring\", got integer");
    CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": "/x", "source": null})") ==
          "key 'source': expected \"syscall\", \"compat\" or \"io_uring\", got null");
    CHECK(parse_err(R"({"ts": 1, "kind": "exec", "pid": 1, "source": "compat"})") == "unknown key 'source' for kind 'exec'");
    CHECK(parse_err(R"({"ts": 1, "kind": "connect", "pid": 1, "addr": "::1", "port": 1, "source": "compat"})") ==
          "unknown key 'source' for kind 'connect'");

    event e;
    e.ts = 3ns;
    e.pid = 1;
    e.tid = 2;
    e.body = open_event{"/x", 0, 1, 2, 3};
    CHECK(format_trace_line(e) == R"({"ts":3,"kind":"open","pid":1,"tid":2,"path":"/x","flags":0,"dev":1,"ino":2,"uid":3})");
    CHECK_FALSE(to_json(e).contains("source"));
    e.as<open_event>()->source = access_path::compat;
    const std::string line = format_trace_line(e);
    CHECK(line == R"({"ts":3,"kind":"open","pid":1,"tid":2,"path":"/x","flags":0,"dev":1,"ino":2,"uid":3,"source":"compat"})");
    CHECK(detail::fast_parse_line(line) == e);
    CHECK(parse_ok(line) == e);
    CHECK(to_json(e)["source"] == "compat");
    CHECK(*event_from_json(to_json(e)) == e);
}

TEST_CASE("trace: protocols by name or number", "[trace][abi3]") {
    const auto proto = [](std::string_view value, std::string_view kind = "send") {
        const std::string line = R"({"ts": 1, "kind": ")" + std::string(kind) +
                                 R"(", "pid": 1, "addr": "192.0.2.1", "port": 0, "proto": )" + std::string(value) + "}";
        CHECK(fast_agrees(line));
        return parse_ok(line).as<net_event>()->protocol;
    };
    CHECK(proto(R"("tcp")") == ip_proto::tcp);
    CHECK(proto(R"("udp")", "connect") == ip_proto::udp);
    CHECK(proto(R"("icmp")") == ip_proto::icmp);
    CHECK(proto(R"("icmpv6")") == ip_proto::icmpv6);
    CHECK(proto(R"("udplite")") == ip_proto::udplite);
    CHECK(proto(R"("47")") == ip_proto{47});
    CHECK(proto(R"("0")") == ip_proto{0});
    CHECK(proto(R"("255")") == ip_proto{255});
    CHECK(proto(R"("6")") == ip_proto::tcp); // a named protocol by number is that protocol
    CHECK(proto("47") == ip_proto{47});
    CHECK(proto("0") == ip_proto{0});
    CHECK(proto("255") == ip_proto{255});
    CHECK(proto("17", "connect") == ip_proto::udp);

    const auto bad = [](std::string_view value) {
        return parse_err(R"({"ts": 1, "kind": "send", "pid": 1, "addr": "192.0.2.1", "port": 0, "proto": )" +
                         std::string(value) + "}");
    };
    const std::string names = "a protocol name (\"tcp\", \"udp\", \"icmp\", \"icmpv6\", \"udplite\") or number 0..255";
    for (const char* text : {"256", "06", "-1", "+6", "", " 6", "6 ", "1000", "TCP", "sctp", "0x6", "6.0"}) {
        INFO(text);
        CHECK(bad("\"" + std::string(text) + "\"") == "key 'proto': '" + std::string(text) + "' is not " + names);
    }
    CHECK(bad("256") == "key 'proto': 256 is out of range 0..255");
    CHECK(bad("-1") == "key 'proto': -1 is out of range 0..255");
    CHECK(bad("6.0") == "key 'proto': expected " + names + ", got non-integer number");
    CHECK(bad("true") == "key 'proto': expected " + names + ", got boolean");
    CHECK(bad("[6]") == "key 'proto': expected " + names + ", got array");

    // written: the name, or the number as a string
    event e;
    e.ts = 1ns;
    e.pid = 1;
    e.tid = 1;
    net_event n;
    n.op = net_op::send;
    n.addr = *ip_address::parse("192.0.2.1");
    for (unsigned p = 0; p <= 255; ++p) {
        n.protocol = static_cast<ip_proto>(p);
        e.body = n;
        const std::string line = format_trace_line(e);
        INFO(line);
        CHECK(line.find("\"proto\":\"" + proto_text(n.protocol) + "\"") != std::string::npos);
        CHECK(detail::fast_parse_line(line) == e);
        CHECK(detail::parse_trace_line_slow(line)->value() == e);
        CHECK(nlohmann::json::parse(line) == to_json(e));
    }
}

TEST_CASE("trace: the socket keys of connect and send", "[trace][abi3]") {
    const std::string head = R"({"ts": 1, "kind": "send", "pid": 1, "addr": "203.0.113.7", "port": 443)";
    SECTION("absent: the defaults (unknown socket, not peer, not accepted, 0 bytes, conn_ts and cookie unknown)") {
        for (const std::string kind : {"send", "connect"}) {
            const auto e = parse_ok(R"({"ts": 1, "kind": ")" + kind + R"(", "pid": 1, "addr": "203.0.113.7", "port": 443})");
            const auto& n = *e.as<net_event>();
            CHECK(n.sock == sock_kind::unknown);
            CHECK_FALSE(n.peer);
            CHECK_FALSE(n.accepted);
            CHECK(n.bytes == 0);
            CHECK(n.conn_ts == 0ns);
            CHECK(n.cookie == 0);
        }
    }
    SECTION("every key, on a send and on a connect") {
        const auto e = parse_ok(head + R"(, "proto": "tcp", "sock": "stream", "peer": true, "accepted": true,
            "bytes": 18446744073709551615, "conn_ts": "1.5s", "cookie": 4097})");
        const auto& n = *e.as<net_event>();
        CHECK(n.op == net_op::send);
        CHECK(n.protocol == ip_proto::tcp);
        CHECK(n.sock == sock_kind::stream);
        CHECK(n.peer);
        CHECK(n.accepted);
        CHECK(n.bytes == 18446744073709551615ull);
        CHECK(n.conn_ts == 1500ms);
        CHECK(n.cookie == 4097);
        const auto c = parse_ok(
            R"({"ts": 1, "kind": "connect", "pid": 1, "addr": "::1", "port": 22, "sock": "seqpacket", "peer": false, "accepted": false, "bytes": 0, "conn_ts": 0, "cookie": 0})");
        net_event want;
        want.addr = *ip_address::parse("::1");
        want.port = 22;
        want.sock = sock_kind::seqpacket;
        CHECK(*c.as<net_event>() == want);
    }
    SECTION("sock words") {
        for (const auto& [word, kind] : {std::pair{"stream", sock_kind::stream}, std::pair{"dgram", sock_kind::dgram},
                                         std::pair{"raw", sock_kind::raw}, std::pair{"seqpacket", sock_kind::seqpacket},
                                         std::pair{"dccp", sock_kind::dccp}}) {
            const std::string line = head + R"(, "sock": ")" + word + "\"}";
            INFO(line);
            CHECK(parse_ok(line).as<net_event>()->sock == kind);
            CHECK(fast_agrees(line));
        }
    }
    SECTION("conn_ts: the syntax of ts, errors naming conn_ts") {
        CHECK(parse_ok(head + R"(, "conn_ts": 123})").as<net_event>()->conn_ts == 123ns);
        CHECK(parse_ok(head + R"(, "conn_ts": -5})").as<net_event>()->conn_ts == -5ns);
        CHECK(parse_ok(head + R"(, "conn_ts": "250us"})").as<net_event>()->conn_ts == 250us);
        CHECK(parse_ok(head + R"(, "conn_ts": "9223372036854775807ns"})").as<net_event>()->conn_ts == nanoseconds::max());
        CHECK(parse_err(head + R"(, "conn_ts": "1.5ns"})") ==
              "key 'conn_ts': \"1.5ns\" is not a whole number of nanoseconds");
        CHECK_THAT(parse_err(head + R"(, "conn_ts": "2m"})"), Catch::StartsWith("key 'conn_ts': \"2m\" is not a time"));
        CHECK_THAT(parse_err(head + R"(, "conn_ts": "9223372037s"})"), Catch::StartsWith("key 'conn_ts': \"9223372037s\" is too large"));
        CHECK(parse_err(head + R"(, "conn_ts": 9223372036854775808})") ==
              "key 'conn_ts': 9223372036854775808 is out of range -9223372036854775808..9223372036854775807");
        CHECK(parse_err(head + R"(, "conn_ts": true})") ==
              "key 'conn_ts': expected integer nanoseconds or a string like \"1.5s\", got boolean");
        CHECK(parse_err(head + R"(, "conn_ts": 1.5})") ==
              "key 'conn_ts': expected integer nanoseconds or a string like \"1.5s\", got non-integer number");
    }
    SECTION("errors") {
        const std::string socks = "\"stream\", \"dgram\", \"raw\", \"seqpacket\" or \"dccp\"";
        CHECK(parse_err(head + R"(, "sock": "unknown"})") == "key 'sock': 'unknown' is not " + socks);
        CHECK(parse_err(head + R"(, "sock": "tcp"})") == "key 'sock': 'tcp' is not " + socks);
        CHECK(parse_err(head + R"(, "sock": 1})") == "key 'sock': expected " + socks + ", got integer");
        CHECK(parse_err(head + R"(, "peer": 1})") == "key 'peer': expected a boolean, got integer");
        CHECK(parse_err(head + R"(, "accepted": "yes"})") == "key 'accepted': expected a boolean, got string");
        CHECK(parse_err(head + R"(, "bytes": -1})") == "key 'bytes': -1 is out of range 0..18446744073709551615");
        CHECK(parse_err(head + R"(, "cookie": "1"})") == "key 'cookie': expected an unsigned integer, got string");
        CHECK(parse_err(head + R"(, "cookie": 18446744073709551616})") ==
              "key 'cookie': expected an unsigned integer, got non-integer number");
        CHECK(parse_err(head + R"(, "how": "copy"})") == "unknown key 'how' for kind 'send'");
        CHECK(parse_err(R"({"ts": 1, "kind": "open", "pid": 1, "path": "/x", "sock": "raw"})") ==
              "unknown key 'sock' for kind 'open'");
        CHECK(parse_err(R"({"ts": 1, "kind": "write", "pid": 1, "path": "/x", "cookie": 1})") ==
              "unknown key 'cookie' for kind 'write'");
        CHECK(parse_err(R"({"ts": 1, "kind": "exit", "pid": 1, "peer": true})") == "unknown key 'peer' for kind 'exit'");
    }
    SECTION("written only when not the default, in a fixed order after uid") {
        event e;
        e.ts = 2s;
        e.pid = 9;
        e.tid = 9;
        net_event n;
        n.op = net_op::send;
        n.protocol = ip_proto{47};
        n.addr = *ip_address::parse("203.0.113.7");
        n.uid = 7;
        n.sock = sock_kind::raw;
        n.peer = true;
        n.accepted = true;
        n.bytes = 1200;
        n.conn_ts = 500ns;
        n.cookie = 99;
        e.body = n;
        std::string line = format_trace_line(e);
        CHECK(line ==
              R"({"ts":2000000000,"kind":"send","pid":9,"tid":9,"addr":"203.0.113.7","port":0,"proto":"47","uid":7,"sock":"raw","peer":true,"accepted":true,"bytes":1200,"conn_ts":500,"cookie":99})");
        CHECK(detail::fast_parse_line(line) == e);
        CHECK(parse_ok(line) == e);
        CHECK(nlohmann::json::parse(line) == to_json(e));
        CHECK(*event_from_json(to_json(e)) == e);
        CHECK(*decode(*encode(e)) == e);
        // one key at a time
        n = net_event{};
        n.addr = *ip_address::parse("203.0.113.7");
        const std::string base = R"({"ts":2000000000,"kind":"connect","pid":9,"tid":9,"addr":"203.0.113.7","port":0,"proto":"tcp","uid":0)";
        const auto one = [&](auto set, const std::string& tail) {
            net_event m = n;
            set(m);
            e.body = m;
            const std::string l = format_trace_line(e);
            CHECK(l == base + tail + "}");
            CHECK(detail::fast_parse_line(l) == e);
            CHECK(parse_ok(l) == e);
            CHECK(nlohmann::json::parse(l) == to_json(e));
        };
        one([](net_event&) {}, "");
        one([](net_event& m) { m.sock = sock_kind::dgram; }, R"(,"sock":"dgram")");
        one([](net_event& m) { m.peer = true; }, R"(,"peer":true)");
        one([](net_event& m) { m.accepted = true; }, R"(,"accepted":true)");
        one([](net_event& m) { m.bytes = 1; }, R"(,"bytes":1)");
        one([](net_event& m) { m.conn_ts = -1ns; }, R"(,"conn_ts":-1)");
        one([](net_event& m) { m.conn_ts = nanoseconds::min(); }, R"(,"conn_ts":-9223372036854775808)");
        one([](net_event& m) { m.cookie = 18446744073709551615ull; }, R"(,"cookie":18446744073709551615)");
    }
}

TEST_CASE("trace: lines of events without the ABI 3 keys are the lines older versions wrote", "[trace][abi3]") {
    // Lines as format_trace_line wrote them before ABI 3, one per kind: each
    // reads, and writes back, byte for byte.
    const std::vector<std::string> old_lines = {
        R"({"ts":1500000000,"kind":"exec","pid":100,"tid":101,"ppid":1,"uid":0,"sid":0,"pgid":0,"comm":"sh","exe":"/bin/sh","argv":["sh"],"exe_dev":0,"exe_ino":0,"sha256":""})",
        R"({"ts":1500000000,"kind":"fork","pid":100,"tid":101,"child_pid":5,"child_tid":6})",
        R"({"ts":1500000000,"kind":"exit","pid":100,"tid":101,"exit_code":-1})",
        R"({"ts":1500000000,"kind":"open","pid":100,"tid":100,"path":"/home/a/.ssh/id_rsa","flags":0,"dev":2051,"ino":77,"uid":1000})",
        R"({"ts":1500000000,"kind":"connect","pid":100,"tid":100,"addr":"203.0.113.7","port":443,"proto":"tcp","uid":1000})",
        R"({"ts":1500000000,"kind":"connect","pid":100,"tid":100,"addr":"2001:db8::1","port":53,"proto":"udp","uid":0})",
        R"({"ts":1500000000,"kind":"send","pid":100,"tid":101,"truncated":true,"addr":"2001:db8::7","port":53,"proto":"udp","uid":0})",
        R"({"ts":1500000000,"kind":"send","pid":100,"tid":101,"addr":"10.0.0.1","port":53,"proto":"tcp","uid":0})",
        R"({"ts":0,"kind":"file","pid":0,"tid":0,"path":"/etc/shadow","dev":65024,"ino":941})",
    };
    for (const auto& line : old_lines) {
        INFO(line);
        const event e = parse_ok(line);
        CHECK(format_trace_line(e) == line);
        CHECK(fast_agrees(line));
        if (const auto* o = e.as<open_event>()) CHECK(o->source == access_path::syscall);
        if (const auto* n = e.as<net_event>()) {
            net_event d = *n; // everything ABI 3 added is at its default
            d.sock = sock_kind::unknown;
            d.peer = d.accepted = false;
            d.bytes = d.cookie = 0;
            d.conn_ts = 0ns;
            CHECK(d == *n);
        }
    }
}

TEST_CASE("trace: exe_host_file and exe_package (issue 13) round-trip; old traces load without them",
          "[trace][trust]") {
    const std::string head = R"({"ts": 1, "kind": "exec", "pid": 7, "exe": "/usr/bin/ssh")";
    SECTION("absent: unknown and none, and the writer leaves them out") {
        const auto e = parse_ok(head + "}");
        CHECK_FALSE(e.as<exec_event>()->exe_host_file);
        CHECK(e.as<exec_event>()->exe_package.empty());
        CHECK(format_trace_line(e).find("exe_host_file") == std::string::npos);
        CHECK(format_trace_line(e).find("exe_package") == std::string::npos);
        CHECK_FALSE(to_json(e).contains("exe_package"));
    }
    SECTION("present: read by both paths, written back the same") {
        for (const bool host : {true, false}) {
            const std::string line = head + R"(, "exe_host_file": )" + (host ? "true" : "false") +
                                     R"(, "exe_package": "openssh-client"})";
            INFO(line);
            const event e = parse_ok(line);
            CHECK(e.as<exec_event>()->exe_host_file == std::optional<bool>(host));
            CHECK(e.as<exec_event>()->exe_package == "openssh-client");
            CHECK(fast_agrees(line));
            const std::string out = format_trace_line(e);
            CHECK(detail::fast_parse_line(out).has_value());
            CHECK(parse_ok(out) == e);
            CHECK(to_json(e)["exe_host_file"] == host);
            CHECK(parse_ok(to_json(e).dump()) == e);
        }
    }
    SECTION("bad values: one error naming the key") {
        CHECK(parse_err(head + R"(, "exe_host_file": 1})").rfind("key 'exe_host_file'", 0) == 0);
        CHECK(parse_err(head + R"(, "exe_package": 5})").rfind("key 'exe_package'", 0) == 0);
    }
}

// ---------------------------------------------------------------------------
// Issue 13: exec "script" and "foreign", and the foreign and script lines.
// ---------------------------------------------------------------------------

TEST_CASE("trace: foreign code and scripts round-trip; bad values are clear errors") {
    exec_event x;
    x.ppid = 1;
    x.comm = "sync.py";
    x.exe = "/usr/bin/python3.11";
    x.argv = {"/usr/bin/python3", "/usr/lib/cloud/sync.py"};
    x.foreign = preload_env | ptraced;
    x.script.emplace();
    x.script->path = "/usr/lib/cloud/sync.py";
    script_event s;
    s.script.path = "/usr/lib/cloud/sync.py";
    s.script.dev = 2049;
    s.script.ino = 77;
    s.script.uid = 0;
    s.script.mode = 0755;
    s.script.sha256 = std::string(64, 'a');
    s.script.package = "cloud-tools";
    s.script.host_file = true;
    for (const event& ev : {event{1s, 10, 10, false, x}, event{2s, 10, 10, false, s},
                            event{3s, 11, 11, false, foreign_event{10, mem_written | ptraced}}}) {
        const std::string line = format_trace_line(ev);
        INFO(line);
        auto back = parse_trace_line(line, 1);
        REQUIRE(back);
        CHECK(*back == ev);
        auto via_json = event_from_json(to_json(ev));
        REQUIRE(via_json);
        CHECK(*via_json == ev);
    }
    CHECK(format_trace_line(event{2s, 10, 10, false, s}).find("\"kind\":\"script\",\"pid\":10,\"tid\":10,") !=
          std::string::npos);
    CHECK(format_trace_line(event{3s, 11, 11, false, foreign_event{10, ptraced}})
              .find("\"target\":10,\"bits\":[\"ptraced\"]") != std::string::npos);

    const std::pair<const char*, const char*> bad[] = {
        {R"({"ts":1,"kind":"foreign","pid":1,"bits":["ptraced"]})", "missing required key 'target'"},
        {R"({"ts":1,"kind":"foreign","pid":1,"target":2})", "missing required key 'bits'"},
        {R"({"ts":1,"kind":"foreign","pid":1,"target":2,"bits":[]})", "names no foreign code"},
        {R"({"ts":1,"kind":"foreign","pid":1,"target":2,"bits":["injected"]})", "'injected' is not"},
        {R"({"ts":1,"kind":"script","pid":1,"dev":1})", "missing required key 'path'"},
        {R"({"ts":1,"kind":"script","pid":1,"path":"/x","mode":"999"})", "not a permission mode"},
        {R"({"ts":1,"kind":"script","pid":1,"path":"/x","shebang":"y"})", "unknown key 'shebang'"},
        {R"({"ts":1,"kind":"exec","pid":1,"script":"/x"})", "expected an object"},
        {R"({"ts":1,"kind":"exec","pid":1,"script":{"dev":1}})", "missing required key 'script.path'"},
        {R"({"ts":1,"kind":"exec","pid":1,"foreign":"ptraced"})", "expected an array of words"},
    };
    for (const auto& [line, why] : bad) {
        INFO(line);
        auto r = parse_trace_line(line, 3);
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find(why) != std::string::npos);
    }
}

TEST_CASE("trace: a container's labels round-trip; bad ones are clear errors; too many are bounded",
          "[trace][container]") {
    const std::string id(64, 'a');
    const std::string head = R"({"ts": 1, "kind": "exec", "pid": 7, "exe": "/actor", "container": {"id": ")" + id +
                             R"(", "runtime": "podman", "verified": true)";
    SECTION("present: read, written back the same by both writers") {
        const std::string line = head + R"(, "labels": {"team": "payments", "app": "x"}}})";
        const event e = parse_ok(line);
        const auto& c = e.as<exec_event>()->container;
        REQUIRE(c);
        CHECK(c->labels == container_labels{{"app", "x"}, {"team", "payments"}});
        (void)fast_agrees(line); // whichever parser takes it, the same event
        const std::string out = format_trace_line(e);
        CHECK(out.find(R"("labels":{"app":"x","team":"payments"})") != std::string::npos);
        CHECK(parse_ok(out) == e);
        CHECK(parse_ok(to_json(e).dump()) == e);
    }
    SECTION("absent: none, and the writer leaves the key out") {
        const event e = parse_ok(head + "}}");
        CHECK(e.as<exec_event>()->container->labels.empty());
        CHECK(format_trace_line(e).find("labels") == std::string::npos);
    }
    SECTION("bounded like the sensor's") {
        std::string labels;
        for (int i = 0; i < 40; ++i) labels += (i ? ", " : "") + std::string("\"k") + std::to_string(10 + i) + "\": \"v\"";
        const event e = parse_ok(head + R"(, "labels": {)" + labels + "}}}");
        CHECK(e.as<exec_event>()->container->labels.size() == max_container_labels);
    }
    SECTION("bad values name the key") {
        CHECK(parse_err(head + R"(, "labels": ["team"]}})").find("container.labels") != std::string::npos);
        CHECK(parse_err(head + R"(, "labels": {"team": 5}}})").find("container.labels.team") != std::string::npos);
    }
}
