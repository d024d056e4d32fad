// Owner use (owner.hpp and the correlator's owner_use stage): a verified
// client sending its own credential to the server the file names is quiet;
// another destination, an unverified sender or reader, a copy, still alert.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <barbwire/correlator.hpp>
#include <barbwire/trace.hpp>

using namespace barbwire;
using namespace std::chrono_literals;

namespace {

ip_address ip(const char* text) {
    auto a = ip_address::parse(text);
    REQUIRE(a);
    return *a;
}

config rules() {
    config c;
    c.window = 5s;
    c.suspicious_files = {
        {"netrc", 4, {"/.netrc"}},
        {"kubernetes credentials", 5, {"/.kube/config"}},
        {"cloud credentials", 5, {"/.aws/credentials"}},
    };
    c.severity_medium = 3;
    c.severity_high = 5;
    c.alert_threshold = 3;
    return c;
}

// A process exec'd from a verified package (or not).
event exec_ev(nanoseconds ts, pid_type pid, pid_type ppid, std::string exe, bool verified, pid_type sid = 0) {
    exec_event e;
    e.ppid = ppid;
    e.uid = 1000;
    e.sid = sid == 0 ? pid : sid;
    e.pgid = e.sid;
    e.exe = std::move(exe);
    e.comm = e.exe.substr(e.exe.rfind('/') + 1);
    e.argv = {e.comm};
    if (verified) {
        e.exe_package = "pkg";
        e.exe_host_file = true;
    }
    return event{ts, pid, pid, false, e};
}

event open_ev(nanoseconds ts, pid_type pid, std::string path, std::uint64_t ino) {
    open_event o;
    o.path = std::move(path);
    o.dev = 2049;
    o.ino = ino;
    return event{ts, pid, pid, false, o};
}

event net_ev(nanoseconds ts, pid_type pid, const char* addr, std::uint16_t port) {
    net_event n;
    n.op = net_op::connect;
    n.addr = ip(addr);
    n.port = port;
    return event{ts, pid, pid, false, n};
}

event bind_ev(nanoseconds ts, std::string path, std::uint64_t ino, std::vector<bound_destination> d,
              std::string format = "netrc") {
    binding_event b;
    b.path = std::move(path);
    b.dev = 2049;
    b.ino = ino;
    b.format = std::move(format);
    b.destinations = std::move(d);
    return event{ts, 0, 0, false, b};
}

const std::string netrc = "/home/u/.netrc";

} // namespace

TEST_CASE("verified_client: package, host file, no foreign code, a verified script", "[owner]") {
    process_info p;
    CHECK_FALSE(verified_client(p));
    p.exe_package = "curl";
    CHECK_FALSE(verified_client(p)); // host file unknown
    p.exe_host_file = false;
    CHECK_FALSE(verified_client(p));
    p.exe_host_file = true;
    CHECK(verified_client(p));
    p.foreign = ptraced;
    CHECK_FALSE(verified_client(p));
    p.foreign = 0;
    p.exe = "/usr/bin/python3.11";
    CHECK_FALSE(verified_client(p)); // an interpreter with no script: python3 -c, a pipe
    script_identity sc;
    sc.path = "/tmp/evil.py";
    p.script = sc;
    CHECK_FALSE(verified_client(p)); // an interpreter running an unverified script
    sc.package = "s3cmd";
    sc.host_file = true;
    p.script = sc;
    CHECK(verified_client(p));
    for (const char* i : {"/bin/sh", "/usr/bin/bash", "/usr/bin/perl5.36.0", "/usr/bin/node", "python3", "/x/ruby3.1"})
        CHECK(interpreter_exe(i));
    for (const char* n : {"/usr/bin/curl", "/usr/bin/pythonista", "/usr/bin/git", "/usr/bin/shred", "/usr/bin/kubectl"})
        CHECK_FALSE(interpreter_exe(n));
}

TEST_CASE("bound_files: replace, unbind, capacity", "[owner]") {
    bound_files b(2);
    const bound_destination d{"h", ip("10.0.0.1"), 443};
    b.bind(std::get<binding_event>(bind_ev(1s, "/a", 1, {d}).body));
    REQUIRE(b.peek(2049, 1) != nullptr);
    CHECK(find_destination(*b.peek(2049, 1), ip("10.0.0.1"), 443) != nullptr);
    CHECK(find_destination(*b.peek(2049, 1), ip("10.0.0.1"), 80) == nullptr);
    CHECK(find_destination(*b.peek(2049, 1), ip("10.0.0.2"), 443) == nullptr);
    b.bind(std::get<binding_event>(bind_ev(2s, "/a", 1, {}).body));
    CHECK(b.peek(2049, 1) == nullptr);
    for (std::uint64_t i = 1; i <= 3; ++i) b.bind(std::get<binding_event>(bind_ev(3s, "/x", i, {d}).body));
    CHECK(b.size() == 2);
    CHECK(b.evictions() == 1);
    CHECK(b.peek(2049, 1) == nullptr);
    const bound_destination any{"m", ip("10.0.0.9"), 0};
    b.bind(std::get<binding_event>(bind_ev(4s, "/n", 9, {any}).body));
    CHECK(find_destination(*b.peek(2049, 9), ip("10.0.0.9"), 12345) != nullptr);
    CHECK(bound_text(*b.peek(2049, 9)) == "m");
}

TEST_CASE("owner use: a verified client sending to the server its file names is quiet; elsewhere alerts",
          "[owner][correlator]") {
    correlator c(rules());
    REQUIRE_FALSE(c.process(bind_ev(0s, netrc, 7, {{"127.0.0.1", ip("127.0.0.1"), 0}})));
    REQUIRE_FALSE(c.process(exec_ev(1s, 100, 1, "/usr/bin/curl", true)));
    REQUIRE_FALSE(c.process(open_ev(2s, 100, netrc, 7)));
    CHECK_FALSE(c.process(net_ev(3s, 100, "127.0.0.1", 8080)));
    CHECK(c.stats().suppressed_owner_use == 1);
    CHECK(c.stats().binding_events == 1);
    CHECK(c.stats().bound_files == 1);

    // The same program, the same file, another server: an alert that says where the file is bound.
    auto a = c.process(net_ev(3s, 100, "127.0.0.2", 8080));
    REQUIRE(a);
    bool said = false;
    for (const auto& p : a->breakdown)
        if (p.reason == "owner use: netrc bound to 127.0.0.1; sent to 127.0.0.2:8080") said = (p.points == 0);
    CHECK(said);
    CHECK(a->score == 4);
}

TEST_CASE("owner use: an unverified sender, a modified binary, foreign code alert", "[owner][correlator]") {
    correlator c(rules());
    REQUIRE_FALSE(c.process(bind_ev(0s, netrc, 7, {{"127.0.0.1", ip("127.0.0.1"), 0}})));
    REQUIRE_FALSE(c.process(exec_ev(1s, 100, 1, "/tmp/curl", false)));
    REQUIRE_FALSE(c.process(open_ev(2s, 100, netrc, 7)));
    auto a = c.process(net_ev(3s, 100, "127.0.0.1", 80));
    REQUIRE(a);
    CHECK(a->breakdown.back().reason ==
          "owner use: netrc bound to 127.0.0.1; sent to 127.0.0.1:80; the sender is not a verified client");

    exec_event e = std::get<exec_event>(exec_ev(4s, 200, 1, "/usr/bin/curl", true).body);
    e.foreign = preload_env;
    REQUIRE_FALSE(c.process(event{4s, 200, 200, false, e}));
    REQUIRE_FALSE(c.process(open_ev(5s, 200, netrc, 7)));
    CHECK(c.process(net_ev(6s, 200, "127.0.0.1", 80)));
    CHECK(c.stats().suppressed_owner_use == 0);
}

TEST_CASE("owner use: the reader must be the sender or a verified client of its family", "[owner][correlator]") {
    correlator c(rules());
    REQUIRE_FALSE(c.process(bind_ev(0s, netrc, 7, {{"127.0.0.1", ip("127.0.0.1"), 0}})));
    // git-remote-http (100) runs a credential helper (101) that reads the file.
    REQUIRE_FALSE(c.process(exec_ev(1s, 100, 50, "/usr/lib/git-core/git-remote-http", true, 50)));
    REQUIRE_FALSE(c.process(exec_ev(1s, 101, 100, "/usr/bin/git", true, 50)));
    REQUIRE_FALSE(c.process(open_ev(2s, 101, netrc, 7)));
    CHECK_FALSE(c.process(net_ev(3s, 100, "127.0.0.1", 80)));
    CHECK(c.stats().suppressed_owner_use == 1);

    // An unverified reader in the family: its read is not owner use.
    REQUIRE_FALSE(c.process(exec_ev(4s, 102, 100, "/tmp/helper", false, 50)));
    REQUIRE_FALSE(c.process(open_ev(5s, 102, netrc, 7)));
    auto a = c.process(net_ev(6s, 100, "127.0.0.1", 80));
    REQUIRE(a);
    CHECK(a->reader.exe == "/tmp/helper");
}

TEST_CASE("owner use: another secret the family read is still evidence", "[owner][correlator]") {
    correlator c(rules());
    REQUIRE_FALSE(c.process(bind_ev(0s, "/home/u/.kube/config", 8, {{"k", ip("127.0.0.1"), 6443}}, "kubeconfig")));
    // bash (50) runs kubectl (100) and cat (101) in one session and process group.
    REQUIRE_FALSE(c.process(exec_ev(1s, 50, 1, "/usr/bin/bash", true, 50)));
    REQUIRE_FALSE(c.process(exec_ev(1s, 100, 50, "/usr/bin/kubectl", true, 50)));
    REQUIRE_FALSE(c.process(exec_ev(1s, 101, 50, "/usr/bin/cat", true, 50)));
    REQUIRE_FALSE(c.process(open_ev(2s, 101, "/home/u/.aws/credentials", 9)));
    REQUIRE_FALSE(c.process(open_ev(2500ms, 100, "/home/u/.kube/config", 8)));
    auto a = c.process(net_ev(3s, 100, "127.0.0.1", 6443));
    REQUIRE(a); // the kubeconfig is owner use; the sibling's AWS credentials are not
    CHECK(a->file.path == "/home/u/.aws/credentials");
    CHECK(a->relation == relation::sibling);
    CHECK(c.stats().suppressed_owner_use == 0);
    // One process that reads the kubeconfig first and then another secret: that one wins.
    REQUIRE_FALSE(c.process(exec_ev(4s, 200, 1, "/usr/bin/kubectl", true)));
    REQUIRE_FALSE(c.process(open_ev(4s, 200, "/home/u/.kube/config", 8)));
    REQUIRE_FALSE(c.process(open_ev(4500ms, 200, "/home/u/.aws/credentials", 9)));
    auto b = c.process(net_ev(5s, 200, "127.0.0.1", 6443));
    REQUIRE(b);
    CHECK(b->file.path == "/home/u/.aws/credentials");
    // The wrong port of the bound host alerts on the kubeconfig itself.
    correlator d(rules());
    REQUIRE_FALSE(d.process(bind_ev(0s, "/home/u/.kube/config", 8, {{"k", ip("127.0.0.1"), 6443}}, "kubeconfig")));
    REQUIRE_FALSE(d.process(exec_ev(1s, 100, 1, "/usr/bin/kubectl", true)));
    REQUIRE_FALSE(d.process(open_ev(2s, 100, "/home/u/.kube/config", 8)));
    CHECK_FALSE(d.process(net_ev(3s, 100, "127.0.0.1", 6443)));
    CHECK(d.process(net_ev(3s, 100, "127.0.0.1", 6444)));
}

TEST_CASE("owner use: a binding of another inode binds nothing; an unbinding takes effect", "[owner][correlator]") {
    correlator c(rules());
    REQUIRE_FALSE(c.process(bind_ev(0s, netrc, 70, {{"127.0.0.1", ip("127.0.0.1"), 0}})));
    REQUIRE_FALSE(c.process(exec_ev(1s, 100, 1, "/usr/bin/curl", true)));
    REQUIRE_FALSE(c.process(open_ev(2s, 100, netrc, 7))); // a new file at the same path
    CHECK(c.process(net_ev(3s, 100, "127.0.0.1", 80)));
    correlator d(rules());
    REQUIRE_FALSE(d.process(bind_ev(0s, netrc, 7, {{"127.0.0.1", ip("127.0.0.1"), 0}})));
    REQUIRE_FALSE(d.process(bind_ev(1s, netrc, 7, {})));
    REQUIRE_FALSE(d.process(exec_ev(1s, 100, 1, "/usr/bin/curl", true)));
    REQUIRE_FALSE(d.process(open_ev(2s, 100, netrc, 7)));
    CHECK(d.process(net_ev(3s, 100, "127.0.0.1", 80)));
}

TEST_CASE("binding events round-trip through traces", "[owner][trace]") {
    const event e = bind_ev(5s, netrc, 7, {{"example.org", ip("192.0.2.1"), 0}, {"v6", ip("2001:db8::1"), 443}});
    const std::string line = format_trace_line(e);
    CHECK(line ==
          R"({"ts":5000000000,"kind":"binding","pid":0,"tid":0,"path":"/home/u/.netrc","dev":2049,"ino":7,)"
          R"("format":"netrc","destinations":[{"host":"example.org","addr":"192.0.2.1","port":0},)"
          R"({"host":"v6","addr":"2001:db8::1","port":443}]})");
    auto back = parse_trace_line(line);
    REQUIRE(back);
    REQUIRE(*back);
    CHECK(**back == e);
    CHECK(event_from_json(to_json(e)).value() == e);

    auto bad = parse_trace_line(R"({"ts":1,"kind":"binding","path":"/x","dev":1,"ino":2,"destinations":[{"addr":"nope"}]})");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("destinations[0].addr") != std::string::npos);
    auto missing = parse_trace_line(R"({"ts":1,"kind":"binding","path":"/x","dev":1,"ino":2})");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("destinations") != std::string::npos);
    auto rel = parse_trace_line(R"({"ts":1,"kind":"binding","path":"x","dev":1,"ino":2,"destinations":[]})");
    REQUIRE_FALSE(rel);
}

TEST_CASE("owner use: a client's own copy of a bound file (a derived secret) is bound as the original",
          "[owner][correlator]") {
    correlator c(rules());
    const std::string kc = "/home/u/.kube/config";
    REQUIRE_FALSE(c.process(bind_ev(0s, kc, 8, {{"k", ip("127.0.0.1"), 6443}}, "kubeconfig")));
    REQUIRE_FALSE(c.process(exec_ev(1s, 100, 1, "/usr/bin/kubectl", true)));
    REQUIRE_FALSE(c.process(open_ev(1s, 100, kc, 8)));
    write_event w;
    w.path = "/home/u/.kube/cache/discovery/servergroups.json";
    w.dev = 2049;
    w.ino = 20;
    w.bytes = 10;
    REQUIRE_FALSE(c.process(event{1100ms, 100, 100, false, w}));
    REQUIRE(c.stats().derived_writes == 1);
    REQUIRE_FALSE(c.process(exec_ev(60s, 200, 1, "/usr/bin/kubectl", true)));
    REQUIRE_FALSE(c.process(open_ev(61s, 200, w.path, 20)));
    REQUIRE(c.stats().derived_opens == 1);
    CHECK_FALSE(c.process(net_ev(62s, 200, "127.0.0.1", 6443)));
    CHECK(c.stats().suppressed_owner_use == 1);
    auto a = c.process(net_ev(62s, 200, "127.0.0.2", 6443));
    REQUIRE(a);
    CHECK(a->breakdown.back().reason == "owner use: kubeconfig bound to k:6443; sent to 127.0.0.2:6443");
    // An unverified reader of the copy, to the bound server: an alert.
    REQUIRE_FALSE(c.process(exec_ev(70s, 300, 1, "/tmp/x", false)));
    REQUIRE_FALSE(c.process(open_ev(71s, 300, w.path, 20)));
    CHECK(c.process(net_ev(72s, 300, "127.0.0.1", 6443)));
}
