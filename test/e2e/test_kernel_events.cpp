// The real BPF programs against reality (root only).
//
// Loads the programs through bpf_loader, performs actions in child processes
// (and a thread), and checks that the decoded records describe exactly what
// happened: kernel-resolved paths with the dev/ino stat(2) reports, fork, exec
// and exit of the right tasks, TCP connect and UDP send destinations.
//
// Not root: prints why and exits 77 (meson's skip), unless CI=true, where a
// skipped privileged test is a failure.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <barbwire/decode.hpp>

#include "loader.hpp"

namespace {

using namespace std::chrono_literals;
using barbwire::event;
using barbwire::sensor::bpf_loader;

// Runs before Catch2's main: the whole binary needs root.
const bool root_checked = [] {
    if (::geteuid() == 0) return true;
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") {
        std::fprintf(stderr, "test_kernel_events: needs root to load BPF programs; CI=true, so this is a failure\n");
        std::exit(1);
    }
    std::fprintf(stderr, "test_kernel_events: needs root to load BPF programs; skipped (exit 77)\n");
    std::exit(77);
}();

// The loader and every record it delivered since the start of the test binary.
struct sensor_fixture {
    std::unique_ptr<bpf_loader> loader;
    std::vector<event> events;
    std::size_t bad_records = 0;
    std::string first_bad;

    sensor_fixture() {
        barbwire::sensor::loader_options opts;
        opts.self_tgid = static_cast<std::uint32_t>(::getpid());
        opts.ring_bytes = 16u << 20;
        opts.verbose = std::getenv("BW_VERBOSE") != nullptr;
        auto l = bpf_loader::open_and_attach(opts);
        if (!l) {
            std::fprintf(stderr, "test_kernel_events: %s\n", l.error().message.c_str());
            std::exit(1);
        }
        loader = std::move(*l);
    }

    void poll_once(std::chrono::milliseconds timeout) {
        auto n = loader->poll(timeout, [this](std::span<const std::byte> bytes) {
            auto ev = barbwire::decode(bytes);
            if (ev) {
                events.push_back(std::move(*ev));
            } else {
                if (bad_records++ == 0) first_bad = ev.error().message;
            }
        });
        REQUIRE(n.has_value());
    }

    // Polls until the exit record of process `pid` (its group leader) has
    // arrived: everything the process did precedes it in the ring buffer.
    void drain_until_exit(pid_t pid) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (std::chrono::steady_clock::now() < deadline) {
            poll_once(50ms);
            for (const event& e : events)
                if (e.kind() == barbwire::event_kind::exit && e.pid == static_cast<std::uint32_t>(pid) &&
                    e.tid == static_cast<std::uint32_t>(pid))
                    return;
        }
        FAIL("no exit record for pid " << pid << " within 5 s");
    }

    template <class Body>
    std::vector<std::pair<event, Body>> of(pid_t pid) const {
        std::vector<std::pair<event, Body>> out;
        for (const event& e : events)
            if (e.pid == static_cast<std::uint32_t>(pid))
                if (const Body* b = std::get_if<Body>(&e.body)) out.emplace_back(e, *b);
        return out;
    }
};

sensor_fixture& sensor() {
    static sensor_fixture f;
    return f;
}

// Runs `fn` in a child process, waits for it and for its exit record.
// Returns the child's pid. The child exits with fn's return value.
pid_t run_child(const std::function<int()>& fn, int expect_status = 0) {
    sensor(); // attached before the child exists
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int rc = 99;
        try {
            rc = fn();
        } catch (...) {
        }
        ::_exit(rc);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == expect_status);
    sensor().drain_until_exit(pid);
    return pid;
}

// A scratch directory with canonical path (no symlinks in it).
struct temp_dir {
    std::string path;
    temp_dir() {
        char tmpl[] = "/tmp/bw-e2e-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = std::filesystem::canonical(tmpl).string();
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

void write_file(const std::string& path, const std::string& body) {
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(body.c_str(), f);
    std::fclose(f);
}

struct stat stat_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st;
}

// The open records of `pid` whose path is `path`.
std::vector<barbwire::open_event> opens_of(pid_t pid, const std::string& path) {
    std::vector<barbwire::open_event> out;
    for (auto& [e, o] : sensor().of<barbwire::open_event>(pid))
        if (o.path == path) out.push_back(o);
    return out;
}

void check_open(pid_t pid, const std::string& want_path) {
    const auto st = stat_of(want_path);
    const auto opens = opens_of(pid, want_path);
    INFO("expected an open of " << want_path << " by pid " << pid);
    for (auto& [e, o] : sensor().of<barbwire::open_event>(pid)) UNSCOPED_INFO("  saw open " << o.path);
    REQUIRE(opens.size() == 1);
    CHECK(opens[0].dev == st.st_dev);
    CHECK(opens[0].ino == st.st_ino);
    CHECK((opens[0].flags & O_ACCMODE) == O_RDONLY);
    CHECK(opens[0].uid == ::getuid());
}

std::optional<barbwire::net_event> net_of(pid_t pid, barbwire::net_op op) {
    for (auto& [e, n] : sensor().of<barbwire::net_event>(pid))
        if (n.op == op) return n;
    return std::nullopt;
}

} // namespace

TEST_CASE("an open through a relative path after chdir reports the absolute path, dev and ino") {
    temp_dir dir;
    std::filesystem::create_directory(dir.path + "/sub");
    const std::string file = dir.path + "/sub/secret.txt";
    write_file(file, "k");

    const pid_t pid = run_child([&] {
        if (::chdir((dir.path + "/sub").c_str()) != 0) return 2;
        const int fd = ::open("secret.txt", O_RDONLY);
        return fd >= 0 ? 0 : 3;
    });
    check_open(pid, file);
}

TEST_CASE("openat with a directory fd and a relative name is resolved") {
    temp_dir dir;
    const std::string file = dir.path + "/f.txt";
    write_file(file, "k");
    const pid_t pid = run_child([&] {
        const int dfd = ::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY);
        if (dfd < 0) return 2;
        return ::openat(dfd, "f.txt", O_RDONLY) >= 0 ? 0 : 3;
    });
    check_open(pid, file);
    // The directory itself is not a regular file: not reported.
    CHECK(opens_of(pid, dir.path).empty());
}

TEST_CASE("an open through a symlink reports the target") {
    temp_dir dir;
    const std::string target = dir.path + "/target.txt";
    const std::string link = dir.path + "/link";
    write_file(target, "k");
    REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
    const pid_t pid = run_child([&] { return ::open(link.c_str(), O_RDONLY) >= 0 ? 0 : 3; });
    check_open(pid, target);
    CHECK(opens_of(pid, link).empty());
}

TEST_CASE("a path with .. and // is reported canonical") {
    temp_dir dir;
    std::filesystem::create_directory(dir.path + "/a");
    std::filesystem::create_directory(dir.path + "/b");
    const std::string file = dir.path + "/b/x.txt";
    write_file(file, "k");
    const std::string twisted = dir.path + "//a/..//b/./x.txt";
    const pid_t pid = run_child([&] { return ::open(twisted.c_str(), O_RDONLY) >= 0 ? 0 : 3; });
    check_open(pid, file);
}

TEST_CASE("openat2 and creat are seen") {
    temp_dir dir;
    const std::string made = dir.path + "/made.txt";
    const std::string file = dir.path + "/o2.txt";
    write_file(file, "k");
    const pid_t pid = run_child([&] {
        if (::creat(made.c_str(), 0600) < 0) return 2;
#ifdef SYS_openat2
        struct {
            std::uint64_t flags, mode, resolve;
        } how{O_RDONLY, 0, 0};
        if (::syscall(SYS_openat2, AT_FDCWD, file.c_str(), &how, sizeof(how)) < 0) return 3;
#endif
        return 0;
    });
    const auto created = opens_of(pid, made);
    REQUIRE(created.size() == 1);
    CHECK((created[0].flags & O_ACCMODE) == O_WRONLY);
    CHECK(created[0].ino == stat_of(made).st_ino);
#ifdef SYS_openat2
    check_open(pid, file);
#endif
}

TEST_CASE("a failed open emits nothing") {
    temp_dir dir;
    const std::string missing = dir.path + "/does-not-exist";
    const pid_t pid = run_child([&] { return ::open(missing.c_str(), O_RDONLY) < 0 ? 0 : 3; });
    for (auto& [e, o] : sensor().of<barbwire::open_event>(pid)) CHECK(o.path.find(dir.path) == std::string::npos);
}

TEST_CASE("fork, exec of /bin/true and exit are reported with the resolved executable") {
    const std::string exe = std::filesystem::canonical("/bin/true").string(); // /usr/bin/true on Debian
    const auto exe_st = stat_of(exe);
    pid_t grandchild = 0;
    int pfd[2];
    REQUIRE(::pipe(pfd) == 0);
    const pid_t pid = run_child([&] {
        const pid_t c = ::fork();
        if (c < 0) return 2;
        if (c == 0) {
            char* const argv[] = {const_cast<char*>("true"), const_cast<char*>("--bw-marker"), nullptr};
            ::execv("/bin/true", argv);
            ::_exit(127);
        }
        if (::write(pfd[1], &c, sizeof(c)) != sizeof(c)) return 3;
        int st = 0;
        if (::waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 4;
        return 0;
    });
    REQUIRE(::read(pfd[0], &grandchild, sizeof(grandchild)) == sizeof(grandchild));
    ::close(pfd[0]);
    ::close(pfd[1]);
    sensor().drain_until_exit(grandchild);

    const auto forks = sensor().of<barbwire::fork_event>(pid);
    bool forked = false;
    for (auto& [e, f] : forks)
        if (f.child_pid == static_cast<std::uint32_t>(grandchild)) {
            forked = true;
            CHECK(f.child_tid == static_cast<std::uint32_t>(grandchild));
            CHECK(e.tid == static_cast<std::uint32_t>(pid));
        }
    CHECK(forked);

    const auto execs = sensor().of<barbwire::exec_event>(grandchild);
    REQUIRE(execs.size() == 1);
    const auto& x = execs[0].second;
    CHECK(x.exe == exe);
    CHECK(x.exe == "/usr/bin/true");
    CHECK(x.exe_dev == exe_st.st_dev);
    CHECK(x.exe_ino == exe_st.st_ino);
    CHECK(x.comm == "true");
    CHECK(x.ppid == static_cast<std::uint32_t>(pid));
    CHECK(x.uid == ::getuid());
    CHECK(x.sid == static_cast<std::uint32_t>(::getsid(0)));
    CHECK(x.pgid == static_cast<std::uint32_t>(::getpgrp()));
    CHECK(x.argv == std::vector<std::string>{"true", "--bw-marker"});
    CHECK_FALSE(execs[0].first.truncated);

    const auto exits = sensor().of<barbwire::exit_event>(grandchild);
    REQUIRE(exits.size() == 1);
    CHECK(exits[0].second.exit_code == 0);
}

TEST_CASE("exec of a #! script reports the interpreter, as /proc/PID/exe does") {
    temp_dir dir;
    const std::string script = dir.path + "/script.sh";
    write_file(script, "#!/bin/sh\nexit 0\n");
    REQUIRE(::chmod(script.c_str(), 0755) == 0);
    const std::string sh = std::filesystem::canonical("/bin/sh").string();
    const pid_t pid = run_child([&] {
        const pid_t c = ::fork();
        if (c == 0) {
            ::execl(script.c_str(), script.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        int st = 0;
        return c > 0 && ::waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 2;
    });
    std::optional<std::uint32_t> child;
    for (auto& [e, f] : sensor().of<barbwire::fork_event>(pid))
        if (!f.is_thread(static_cast<std::uint32_t>(pid))) child = f.child_pid;
    REQUIRE(child.has_value());
    sensor().drain_until_exit(static_cast<pid_t>(*child));
    const auto execs = sensor().of<barbwire::exec_event>(static_cast<pid_t>(*child));
    REQUIRE(execs.size() == 1);
    CHECK(execs[0].second.exe == sh);
    CHECK(execs[0].second.exe_ino == stat_of(sh).st_ino);
    REQUIRE_FALSE(execs[0].second.argv.empty());
    CHECK(execs[0].second.argv.back() == script);
}

TEST_CASE("exit codes and threads") {
    const pid_t pid = run_child(
        [] {
            pthread_t t;
            if (::pthread_create(&t, nullptr, [](void*) -> void* { return nullptr; }, nullptr) != 0) return 2;
            ::pthread_join(t, nullptr);
            return 7;
        },
        7);
    // The thread: a fork record with child_pid == pid (same process) and child_tid != pid,
    // then an exit record whose tid is that thread.
    std::optional<std::uint32_t> thread;
    for (auto& [e, f] : sensor().of<barbwire::fork_event>(pid))
        if (f.is_thread(static_cast<std::uint32_t>(pid))) thread = f.child_tid;
    REQUIRE(thread.has_value());
    CHECK(*thread != static_cast<std::uint32_t>(pid));
    bool thread_exit = false, leader_exit = false;
    for (auto& [e, x] : sensor().of<barbwire::exit_event>(pid)) {
        if (e.tid == *thread) thread_exit = true;
        if (e.tid == static_cast<std::uint32_t>(pid)) {
            leader_exit = true;
            CHECK(x.exit_code == 7 << 8); // wait(2) status: the code in bits 8..15
        }
    }
    CHECK(thread_exit);
    CHECK(leader_exit);
}

namespace {

struct listener {
    int fd = -1;
    std::uint16_t port = 0;
    listener(int family, int type) {
        fd = ::socket(family, type, 0);
        if (fd < 0) return;
        sockaddr_storage ss{};
        socklen_t len = 0;
        if (family == AF_INET) {
            auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
            sin->sin_family = AF_INET;
            sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            len = sizeof(sockaddr_in);
        } else {
            auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
            sin6->sin6_family = AF_INET6;
            sin6->sin6_addr = in6addr_loopback;
            len = sizeof(sockaddr_in6);
        }
        if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || (type == SOCK_STREAM && ::listen(fd, 4) != 0)) {
            ::close(fd);
            fd = -1;
            return;
        }
        len = sizeof(ss);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
        port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
        this->family = family;
    }
    ~listener() {
        if (fd >= 0) ::close(fd);
    }
    int family = AF_INET;

    sockaddr_storage address(socklen_t& len) const {
        sockaddr_storage ss{};
        if (family == AF_INET) {
            auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
            sin->sin_family = AF_INET;
            sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            sin->sin_port = htons(port);
            len = sizeof(sockaddr_in);
        } else {
            auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
            sin6->sin6_family = AF_INET6;
            sin6->sin6_addr = in6addr_loopback;
            sin6->sin6_port = htons(port);
            len = sizeof(sockaddr_in6);
        }
        return ss;
    }
};

void check_tcp_connect(int family, const char* text) {
    listener l(family, SOCK_STREAM);
    if (l.fd < 0 && family == AF_INET6) {
        WARN("no IPv6 loopback here; skipping the ::1 connect");
        return;
    }
    REQUIRE(l.fd >= 0);
    const pid_t pid = run_child([&] {
        const int s = ::socket(family, SOCK_STREAM, 0);
        socklen_t len = 0;
        const sockaddr_storage ss = l.address(len);
        return ::connect(s, reinterpret_cast<const sockaddr*>(&ss), len) == 0 ? 0 : 3;
    });
    const auto n = net_of(pid, barbwire::net_op::connect);
    REQUIRE(n.has_value());
    CHECK(n->protocol == barbwire::ip_proto::tcp);
    CHECK(n->addr.family == family);
    CHECK(n->addr.to_string() == text);
    CHECK(n->port == l.port);
    CHECK(n->uid == ::getuid());
}

} // namespace

TEST_CASE("TCP connect to 127.0.0.1 gives the destination address and port") {
    check_tcp_connect(AF_INET, "127.0.0.1");
}

TEST_CASE("TCP connect to ::1 gives the destination address and port") {
    check_tcp_connect(AF_INET6, "::1");
}

TEST_CASE("UDP sendto and sendmsg with an address give op send, protocol udp") {
    listener l4(AF_INET, SOCK_DGRAM);
    REQUIRE(l4.fd >= 0);
    const pid_t pid = run_child([&] {
        const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
        socklen_t len = 0;
        const sockaddr_storage ss = l4.address(len);
        return ::sendto(s, "x", 1, 0, reinterpret_cast<const sockaddr*>(&ss), len) == 1 ? 0 : 3;
    });
    auto n = net_of(pid, barbwire::net_op::send);
    REQUIRE(n.has_value());
    CHECK(n->protocol == barbwire::ip_proto::udp);
    CHECK(n->addr.to_string() == "127.0.0.1");
    CHECK(n->port == l4.port);

    listener l6(AF_INET6, SOCK_DGRAM);
    if (l6.fd < 0) {
        WARN("no IPv6 loopback here; skipping sendmsg to ::1");
        return;
    }
    const pid_t pid6 = run_child([&] {
        const int s = ::socket(AF_INET6, SOCK_DGRAM, 0);
        socklen_t len = 0;
        sockaddr_storage ss = l6.address(len);
        char byte = 'y';
        iovec iov{&byte, 1};
        msghdr msg{};
        msg.msg_name = &ss;
        msg.msg_namelen = len;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        return ::sendmsg(s, &msg, 0) == 1 ? 0 : 3;
    });
    n = net_of(pid6, barbwire::net_op::send);
    REQUIRE(n.has_value());
    CHECK(n->protocol == barbwire::ip_proto::udp);
    CHECK(n->addr.to_string() == "::1");
    CHECK(n->port == l6.port);
}

TEST_CASE("no record for a UDP send without an address, a failed send, or a TCP sendto") {
    listener u(AF_INET, SOCK_DGRAM);
    listener t(AF_INET, SOCK_STREAM);
    REQUIRE(u.fd >= 0);
    REQUIRE(t.fd >= 0);
    const pid_t pid = run_child([&] {
        socklen_t len = 0;
        sockaddr_storage ss = u.address(len);
        const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
        if (::connect(s, reinterpret_cast<const sockaddr*>(&ss), len) != 0) return 2;
        if (::send(s, "x", 1, 0) != 1) return 3; // connected: no explicit address
        // A failing sendto (bad fd) with an address.
        if (::sendto(-1, "x", 1, 0, reinterpret_cast<const sockaddr*>(&ss), len) != -1) return 4;
        // An address on a TCP socket: the connect record is what counts, not a send.
        sockaddr_storage ts = t.address(len);
        const int c = ::socket(AF_INET, SOCK_STREAM, 0);
        if (::connect(c, reinterpret_cast<const sockaddr*>(&ts), len) != 0) return 5;
        if (::sendto(c, "x", 1, 0, reinterpret_cast<const sockaddr*>(&ts), len) != 1) return 6;
        return 0;
    });
    CHECK_FALSE(net_of(pid, barbwire::net_op::send).has_value());
    CHECK(net_of(pid, barbwire::net_op::connect).has_value());
}

TEST_CASE("a path deeper than the walk's step limit is flagged truncated and keeps its end") {
    temp_dir dir;
    std::string deep = dir.path;
    for (int i = 0; i < 70; ++i) deep += "/d" + std::to_string(i);
    std::filesystem::create_directories(deep);
    const std::string file = deep + "/deep-secret";
    write_file(file, "k");
    const pid_t pid = run_child([&] { return ::open(file.c_str(), O_RDONLY) >= 0 ? 0 : 3; });
    const auto st = stat_of(file);
    std::optional<std::pair<event, barbwire::open_event>> hit;
    for (auto& [e, o] : sensor().of<barbwire::open_event>(pid))
        if (o.ino == st.st_ino) hit.emplace(e, o);
    REQUIRE(hit.has_value());
    CHECK(hit->first.truncated);
    CHECK(hit->second.path.ends_with("/d69/deep-secret"));
    CHECK(file.ends_with(hit->second.path));
    CHECK(hit->second.dev == st.st_dev);
}

TEST_CASE("a path longer than the record field is flagged truncated and keeps its end") {
    temp_dir dir;
    std::string longdir = dir.path;
    for (int i = 0; i < 4; ++i) longdir += "/" + std::string(200, static_cast<char>('a' + i));
    std::filesystem::create_directories(longdir);
    const std::string file = longdir + "/long-secret";
    write_file(file, "k");
    REQUIRE(file.size() > BW_PATH_MAX);
    const pid_t pid = run_child([&] { return ::open(file.c_str(), O_RDONLY) >= 0 ? 0 : 3; });
    const auto st = stat_of(file);
    std::optional<std::pair<event, barbwire::open_event>> hit;
    for (auto& [e, o] : sensor().of<barbwire::open_event>(pid))
        if (o.ino == st.st_ino) hit.emplace(e, o);
    REQUIRE(hit.has_value());
    CHECK(hit->first.truncated);
    CHECK(hit->second.path.size() == BW_PATH_MAX - 1);
    CHECK(file.ends_with(hit->second.path));
}

TEST_CASE("a path that fits exactly is not flagged") {
    temp_dir dir;
    // BW_PATH_MAX - 1 bytes in all: the longest path the record holds whole.
    std::string name(BW_PATH_MAX - 1 - dir.path.size() - 1, 'x');
    std::string sub;
    while (name.size() > 200) {
        sub += "/" + name.substr(0, 199);
        name = name.substr(200);
    }
    std::filesystem::create_directories(dir.path + sub);
    const std::string file = dir.path + sub + "/" + name;
    REQUIRE(file.size() == BW_PATH_MAX - 1);
    write_file(file, "k");
    const pid_t pid = run_child([&] { return ::open(file.c_str(), O_RDONLY) >= 0 ? 0 : 3; });
    const auto opens = opens_of(pid, file);
    REQUIRE(opens.size() == 1);
    for (auto& [e, o] : sensor().of<barbwire::open_event>(pid))
        if (o.path == file) CHECK_FALSE(e.truncated);
}

TEST_CASE("a file on an overlay mount: the path crosses the mount point, dev/ino match stat") {
    temp_dir dir;
    for (const char* d : {"/lower", "/upper", "/work", "/merged"}) std::filesystem::create_directory(dir.path + d);
    write_file(dir.path + "/lower/ov-secret", "k");
    const std::string opts = "lowerdir=" + dir.path + "/lower,upperdir=" + dir.path + "/upper,workdir=" + dir.path + "/work";
    const std::string merged = dir.path + "/merged";
    const std::string cmd = "mount -t overlay overlay -o " + opts + " " + merged + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) {
        WARN("cannot mount overlayfs here; skipped");
        return;
    }
    const std::string file = merged + "/ov-secret";
    const pid_t pid = run_child([&] { return ::open(file.c_str(), O_RDONLY) >= 0 ? 0 : 3; });
    check_open(pid, file);
    CHECK(std::system(("umount " + merged).c_str()) == 0);
}

TEST_CASE("a full ring buffer counts drops per kind") {
    // A second, tiny and never-read ring buffer: a burst of opens must
    // overflow it, and every lost record must be counted.
    barbwire::sensor::loader_options opts;
    opts.self_tgid = static_cast<std::uint32_t>(::getpid());
    opts.ring_bytes = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    auto small = bpf_loader::open_and_attach(opts);
    REQUIRE(small.has_value());
    temp_dir dir;
    const std::string file = dir.path + "/burst";
    write_file(file, "k");
    run_child([&] {
        for (int i = 0; i < 200; ++i) {
            const int fd = ::open(file.c_str(), O_RDONLY);
            if (fd < 0) return 2;
            ::close(fd);
        }
        return 0;
    });
    const auto c = (*small)->counters();
    CHECK(c.drops_by_kind[BW_EVENT_OPEN] >= 190);
    std::uint64_t sum = 0;
    for (auto n : c.drops_by_kind) sum += n;
    CHECK(c.drops == sum);
}

// Last, so that it covers the records of every case above.
TEST_CASE("every record decodes, none is from the sensor itself, nothing was dropped") {
    // Make sure some traffic went through even when this case runs alone.
    run_child([] { return 0; });
    sensor().poll_once(50ms);
    INFO("first decode failure: " << sensor().first_bad);
    CHECK(sensor().bad_records == 0);
    CHECK_FALSE(sensor().events.empty());
    for (const event& e : sensor().events) CHECK(e.pid != static_cast<std::uint32_t>(::getpid()));
    const auto c = sensor().loader->counters();
    CHECK(c.drops == 0);
    CHECK(sensor().loader->attached_programs() == 12);
}
