// sensor/proc_seed: /proc parsing, the seed trace lines, and a scan over a
// fake /proc tree and the real one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <chrono>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <barbwire/correlator.hpp>
#include <barbwire/trace.hpp>

#include "deadline_worker.hpp"
#include "proc_seed.hpp"

using namespace barbwire;
using namespace barbwire::sensor;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace fs = std::filesystem;

TEST_CASE("parse_proc_stat reads pid, comm, state, ppid, pgid, sid", "[sensor][proc_seed]") {
    auto st = parse_proc_stat("1234 (bash) S 1000 1234 999 34816 1234 4194560 1 2 3 4");
    REQUIRE(st);
    CHECK(st->pid == 1234);
    CHECK(st->comm == "bash");
    CHECK(st->state == 'S');
    CHECK(st->ppid == 1000);
    CHECK(st->pgid == 1234);
    CHECK(st->sid == 999);
}

TEST_CASE("parse_proc_stat takes comm up to the LAST ')'", "[sensor][proc_seed]") {
    auto st = parse_proc_stat("42 (evil) S 1 2 3 (x) R 7 8 9 0 0");
    REQUIRE(st);
    CHECK(st->comm == "evil) S 1 2 3 (x");
    CHECK(st->state == 'R');
    CHECK(st->ppid == 7);
    CHECK(st->pgid == 8);
    CHECK(st->sid == 9);

    auto spaces = parse_proc_stat("7 (a b  c) S 2 0 0 0");
    REQUIRE(spaces);
    CHECK(spaces->comm == "a b  c");
    CHECK(spaces->ppid == 2);

    auto empty = parse_proc_stat("8 () Z 1 8 8");
    REQUIRE(empty);
    CHECK(empty->comm.empty());
    CHECK(empty->state == 'Z');
}

TEST_CASE("parse_proc_stat rejects lines of another shape", "[sensor][proc_seed]") {
    CHECK_FALSE(parse_proc_stat(""));
    CHECK_FALSE(parse_proc_stat("garbage"));
    CHECK_FALSE(parse_proc_stat("(bash) S 1 2 3"));        // no pid
    CHECK_FALSE(parse_proc_stat("x12 (bash) S 1 2 3"));    // pid not a number
    CHECK_FALSE(parse_proc_stat("12 (bash S 1 2 3"));      // no ')'
    CHECK_FALSE(parse_proc_stat("12 )bash( S 1 2 3"));     // ')' before '('
    CHECK_FALSE(parse_proc_stat("12 (bash) S 1 2"));       // no session
    CHECK_FALSE(parse_proc_stat("12 (bash) SS 1 2 3"));    // state is one letter
    CHECK_FALSE(parse_proc_stat("12 (bash) S -1 2 3"));    // negative ppid
    CHECK_FALSE(parse_proc_stat("12 (bash) S 1 2 3x"));    // trailing junk in a number
    CHECK_FALSE(parse_proc_stat("99999999999 (b) S 1 2 3")); // pid out of range
}

TEST_CASE("parse_status_uid reads the real uid", "[sensor][proc_seed]") {
    CHECK(parse_status_uid("Name:\tbash\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n") == 1000u);
    CHECK(parse_status_uid("Uid:\t0\t0\t0\t0") == 0u);
    CHECK_FALSE(parse_status_uid("Name:\tbash\nGid:\t1\t1\t1\t1\n"));
    CHECK_FALSE(parse_status_uid("Uid:\tabc\t0\t0\t0\n"));
    CHECK_FALSE(parse_status_uid("NotUid:\t5\n"));
    CHECK_FALSE(parse_status_uid(""));
}

TEST_CASE("split_cmdline splits NUL-separated arguments within the kernel side's bound", "[sensor][proc_seed]") {
    bool cut = true;
    CHECK(split_cmdline("python3\0-c\0print(1)\0"s, cut) == std::vector<std::string>{"python3", "-c", "print(1)"});
    CHECK_FALSE(cut);
    CHECK(split_cmdline("no-trailing-nul"s, cut) == std::vector<std::string>{"no-trailing-nul"});
    CHECK(split_cmdline(""s, cut).empty());
    CHECK_FALSE(cut);
    CHECK(split_cmdline("a\0\0b\0"s, cut) == std::vector<std::string>{"a", "", "b"});

    const std::string exact = std::string(BW_ARGV_MAX - 1, 'x') + '\0';
    auto v = split_cmdline(exact, cut);
    CHECK_FALSE(cut);
    REQUIRE(v.size() == 1);
    CHECK(v[0].size() == BW_ARGV_MAX - 1);

    const std::string longer = "cmd\0"s + std::string(1000, 'y') + '\0' + "more\0"s;
    v = split_cmdline(longer, cut);
    CHECK(cut);
    REQUIRE(v.size() == 2);
    CHECK(v[0] == "cmd");
    CHECK(v[1] == std::string(BW_ARGV_MAX - 4, 'y'));
}

namespace {

process_info sample(pid_type pid, pid_type ppid, std::string comm, std::string exe) {
    process_info p;
    p.pid = pid;
    p.ppid = ppid;
    p.uid = 1000;
    p.sid = 50;
    p.pgid = pid;
    p.comm = std::move(comm);
    p.exe = std::move(exe);
    p.exe_dev = 2049;
    p.exe_ino = 777;
    p.exe_host_file = true; // issue 13: identity facts travel in the seed line
    p.exe_package = "python3.11-minimal";
    p.argv = {p.comm, "arg with space", "\xff\xfe not utf-8"};
    p.first_seen = p.last_seen = 5s;
    p.origin = process_origin::seed;
    return p;
}

} // namespace

TEST_CASE("a seed trace line round-trips and replays into the same table entry", "[sensor][proc_seed]") {
    const process_info p = sample(300, 1, "we(i)rd comm", "/usr/bin/python3.11");
    const event e = seed_event(p, 5s, true);
    CHECK(e.kind() == event_kind::exec);
    CHECK(e.truncated);
    CHECK(e.as<exec_event>()->exe_host_file == std::optional<bool>(true));
    CHECK(e.as<exec_event>()->exe_package == "python3.11-minimal");

    const std::string line = format_trace_line(e);
    auto parsed = parse_trace_line(line);
    REQUIRE(parsed);
    REQUIRE(*parsed);
    CHECK(**parsed == e);

    process_table seeded, replayed;
    (void)seeded.seed(p);
    (void)replayed.apply(**parsed);
    const process_info* a = seeded.find(300);
    const process_info* b = replayed.find(300);
    REQUIRE(a);
    REQUIRE(b);
    process_info bb = *b;
    CHECK(bb.origin == process_origin::exec);
    bb.origin = process_origin::seed; // the only difference
    CHECK(bb == *a);
}

TEST_CASE("seeding live and replaying the seed lines give the same alerts", "[sensor][proc_seed]") {
    // The property `barbwire record` relies on: correlator A is seeded with
    // seed() + expire(ts) (what the sensor does), correlator B reads the seed
    // trace lines as events (what replay does); then both get the same events.
    const nanoseconds seed_ts = 10s;
    const std::vector<process_info> procs = {sample(1, 0, "systemd", "/usr/lib/systemd/systemd"),
                                             sample(100, 1, "bash", "/usr/bin/bash"),
                                             sample(200, 100, "python3", "/usr/bin/python3.11")};
    correlator live(default_config()), replay(default_config());
    for (const auto& p : procs) (void)live.processes().seed(p);
    live.expire(seed_ts);
    for (const auto& p : procs) {
        auto parsed = parse_trace_line(format_trace_line(seed_event(p, seed_ts, false)));
        REQUIRE(parsed);
        REQUIRE(*parsed);
        CHECK_FALSE(replay.process(**parsed));
    }

    std::vector<event> events;
    events.push_back(event{9s, 200, 200, false, open_event{"/etc/shadow", 0, 1, 2, 0}}); // raced the seed
    events.push_back(event{11s, 100, 100, false, exit_event{0}});                        // the parent exits
    net_event n;
    n.addr = *ip_address::parse("203.0.113.5");
    n.port = 443;
    events.push_back(event{12s, 200, 200, false, n});
    events.push_back(event{13s, 200, 200, false, n}); // deduplicated

    std::vector<std::string> a, b;
    for (const auto& e : events) {
        if (auto x = live.process(e)) a.push_back(to_json(*x).dump());
        if (auto x = replay.process(e)) b.push_back(to_json(*x).dump());
    }
    REQUIRE(a.size() == 1);
    CHECK(a == b);
    CHECK(a[0].find("bash") != std::string::npos); // the seeded parent is in the alert
}

namespace {

struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "bw-proc-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

void write(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
}

} // namespace

TEST_CASE("scan_proc reads a /proc tree", "[sensor][proc_seed]") {
    temp_dir root;
    // An ordinary process with an executable, a command line and a status.
    fs::create_directories(root.path / "42");
    write(root.path / "42" / "stat", "42 (my (prog)) S 1 42 40 0 -1 0\n");
    write(root.path / "42" / "status", "Name:\tx\nUid:\t1001\t1001\t1001\t1001\n");
    write(root.path / "42" / "cmdline", "prog\0--flag\0"s);
    fs::create_symlink("/bin/sh", root.path / "42" / "exe");
    // A kernel thread: no exe link, empty cmdline.
    fs::create_directories(root.path / "2");
    write(root.path / "2" / "stat", "2 (kthreadd) S 0 0 0 0 -1\n");
    write(root.path / "2" / "cmdline", "");
    // Gone (no stat), unparsable, pid mismatch, and names that are not pids.
    fs::create_directories(root.path / "77");
    fs::create_directories(root.path / "78");
    write(root.path / "78" / "stat", "garbage\n");
    fs::create_directories(root.path / "79");
    write(root.path / "79" / "stat", "80 (liar) S 1 1 1\n");
    fs::create_directories(root.path / "self");
    fs::create_directories(root.path / "sys");
    write(root.path / "1x", "");

    const proc_scan scan = scan_proc(3s, root.path.string());
    CHECK(scan.skipped == 3);
    REQUIRE(scan.processes.size() == 2);

    const process_info& k = scan.processes[0].info;
    CHECK(k.pid == 2);
    CHECK(k.comm == "kthreadd");
    CHECK(k.ppid == 0);
    CHECK(k.exe.empty());
    CHECK(k.argv.empty());

    const process_info& p = scan.processes[1].info;
    CHECK(p.pid == 42);
    CHECK(p.comm == "my (prog)");
    CHECK(p.ppid == 1);
    CHECK(p.pgid == 42);
    CHECK(p.sid == 40);
    CHECK(p.uid == 1001);
    CHECK(p.exe == "/bin/sh");
    CHECK(p.argv == std::vector<std::string>{"prog", "--flag"});
    struct stat sb {};
    REQUIRE(::stat("/bin/sh", &sb) == 0);
    CHECK(p.exe_dev == static_cast<std::uint64_t>(sb.st_dev));
    CHECK(p.exe_ino == static_cast<std::uint64_t>(sb.st_ino));
    CHECK(p.first_seen == 3s);
    CHECK(p.last_seen == 3s);
    CHECK(p.origin == process_origin::seed);
    CHECK_FALSE(scan.processes[1].truncated);
}

TEST_CASE("scan_proc: a process whose command line read blocks is seeded without argv, within the deadline",
          "[sensor][proc_seed]") {
    temp_dir root;
    // 43's cmdline is a FIFO nobody writes: opening it blocks, as a read of an
    // argv page mapped from a FUSE file whose daemon never answers does.
    for (const char* pid : {"42", "43", "44"}) {
        fs::create_directories(root.path / pid);
        write(root.path / pid / "stat", std::string(pid) + " (p" + pid + ") S 1 " + pid + " " + pid + " 0 -1 0\n");
        write(root.path / pid / "status", "Name:\tx\nUid:\t1001\t1001\t1001\t1001\n");
        fs::create_symlink("/bin/sh", root.path / pid / "exe");
    }
    write(root.path / "42" / "cmdline", "a\0"s);
    write(root.path / "44" / "cmdline", "c\0"s);
    const fs::path fifo = root.path / "43" / "cmdline";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);

    deadline_worker w(deadline_worker::options{100ms, 4});
    const auto t0 = std::chrono::steady_clock::now();
    const proc_scan scan = scan_proc(3s, root.path.string(), &w);
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    REQUIRE(scan.processes.size() == 3);
    CHECK(scan.timed_out == std::vector<pid_type>{43});
    CHECK(scan.refused.empty());
    const seeded_process& stuck = scan.processes[1];
    CHECK(stuck.info.pid == 43);
    CHECK(stuck.partial);
    CHECK(stuck.info.comm == "p43"); // from stat: no user memory
    CHECK(stuck.info.ppid == 1);
    CHECK(stuck.info.uid == 1001);
    CHECK(stuck.info.argv.empty());
    CHECK(stuck.info.exe.empty());
    // The processes around it are read in full (44 on a fresh worker).
    CHECK(scan.processes[0].info.argv == std::vector<std::string>{"a"});
    CHECK(scan.processes[2].info.argv == std::vector<std::string>{"c"});
    CHECK(scan.processes[2].info.exe == "/bin/sh");
    CHECK_FALSE(scan.processes[2].partial);
    CHECK(w.stats().abandoned_alive == 1);

    // With the bound reached, a scan reads no process's user parts at all
    // (readdir's order is the filesystem's, so the bound is reached first
    // by a call of our own, not by 43 partway through the scan).
    deadline_worker tight(deadline_worker::options{100ms, 1});
    const auto stuck_call = tight.run([fifo] {
        const int fd = ::open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
        return fd >= 0;
    });
    REQUIRE(stuck_call.outcome == call_outcome::timed_out);
    const proc_scan again = scan_proc(3s, root.path.string(), &tight);
    CHECK(again.timed_out.empty());
    std::vector<pid_type> refused = again.refused;
    std::sort(refused.begin(), refused.end());
    CHECK(refused == std::vector<pid_type>{42, 43, 44});
    REQUIRE(again.processes.size() == 3);
    for (const seeded_process& sp : again.processes) {
        CHECK(sp.partial);
        CHECK(sp.info.argv.empty());
        CHECK(sp.info.comm == "p" + std::to_string(sp.info.pid));
    }

    // A writer releases both stuck reads; the abandoned threads leave.
    const int wfd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(wfd >= 0);
    ::close(wfd);
    const auto end = std::chrono::steady_clock::now() + 5s;
    while ((w.stats().abandoned_alive > 0 || tight.stats().abandoned_alive > 0) &&
           std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(5ms);
    CHECK(w.stats().abandoned_alive == 0);
    CHECK(tight.stats().abandoned_alive == 0);
}

TEST_CASE("scan_proc of a missing root is empty", "[sensor][proc_seed]") {
    const proc_scan scan = scan_proc(1s, "/nonexistent/proc");
    CHECK(scan.processes.empty());
    CHECK(scan.skipped == 0);
}

TEST_CASE("scan_proc of the real /proc finds this test", "[sensor][proc_seed]") {
    const proc_scan scan = scan_proc(1s);
    const auto self = static_cast<pid_type>(::getpid());
    const seeded_process* me = nullptr;
    for (const auto& sp : scan.processes)
        if (sp.info.pid == self) me = &sp;
    REQUIRE(me != nullptr);
    CHECK(me->info.ppid == static_cast<pid_type>(::getppid()));
    CHECK(me->info.sid == static_cast<std::uint32_t>(::getsid(0)));
    CHECK(me->info.pgid == static_cast<std::uint32_t>(::getpgrp()));
    CHECK(me->info.uid == ::getuid());
    CHECK(me->info.exe == fs::read_symlink("/proc/self/exe").string());
    REQUIRE_FALSE(me->info.argv.empty());
    CHECK(me->info.comm == std::string(fs::path(me->info.exe).filename().string()).substr(0, 15));
}
