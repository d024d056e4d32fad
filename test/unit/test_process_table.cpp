#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <barbwire/process_table.hpp>

using namespace barbwire;
using namespace std::chrono_literals;

namespace {

event exec_ev(nanoseconds ts, pid_type pid, pid_type ppid, std::string comm, std::string exe = {}) {
    exec_event e;
    e.ppid = ppid;
    e.uid = 1000;
    e.sid = 77;
    e.pgid = pid;
    e.comm = std::move(comm);
    e.exe = std::move(exe);
    e.argv = {e.comm, "-x"};
    e.exe_sha256 = "ab12";
    e.exe_dev = 8;
    e.exe_ino = 99;
    return event{ts, pid, pid, false, e};
}

event fork_ev(nanoseconds ts, pid_type parent, pid_type child, pid_type parent_tid = 0) {
    return event{ts, parent, parent_tid == 0 ? parent : parent_tid, false, fork_event{child, child}};
}

event exit_ev(nanoseconds ts, pid_type pid, pid_type tid = 0) {
    return event{ts, pid, tid == 0 ? pid : tid, false, exit_event{0}};
}

event open_ev(nanoseconds ts, pid_type pid, std::string path) {
    open_event o;
    o.path = std::move(path);
    return event{ts, pid, pid, false, o};
}

std::vector<pid_type> pids(const process_table& t) {
    std::vector<pid_type> v;
    t.for_each([&](const process_info& p) { v.push_back(p.pid); });
    return v;
}

} // namespace

TEST_CASE("exec sets the identity from the event", "[process_table]") {
    process_table t(16);
    CHECK(t.apply(exec_ev(5s, 100, 1, "bash", "/usr/bin/bash")) == table_change::created);
    const process_info* p = t.find(100);
    REQUIRE(p);
    CHECK(p->pid == 100);
    CHECK(p->ppid == 1);
    CHECK(p->uid == 1000);
    CHECK(p->sid == 77);
    CHECK(p->pgid == 100);
    CHECK(p->comm == "bash");
    CHECK(p->exe == "/usr/bin/bash");
    CHECK(p->exe_sha256 == "ab12");
    CHECK(p->exe_dev == 8);
    CHECK(p->exe_ino == 99);
    CHECK(p->argv == std::vector<std::string>{"bash", "-x"});
    CHECK(p->first_seen == 5s);
    CHECK(p->last_seen == 5s);
    CHECK_FALSE(p->exited());
    CHECK(p->origin == process_origin::exec);

    // exec again in the same live process: a new image, first_seen kept
    CHECK(t.apply(exec_ev(6s, 100, 1, "curl", "/usr/bin/curl")) == table_change::updated);
    p = t.find(100);
    CHECK(p->comm == "curl");
    CHECK(p->exe == "/usr/bin/curl");
    CHECK(p->first_seen == 5s);
    CHECK(p->last_seen == 6s);
    CHECK(t.size() == 1);
}

TEST_CASE("fork: the child inherits, ppid is the parent", "[process_table]") {
    process_table t(16);
    (void)t.apply(exec_ev(1s, 100, 1, "bash", "/usr/bin/bash"));
    CHECK(t.apply(fork_ev(2s, 100, 101)) == table_change::created);
    const process_info* c = t.find(101);
    REQUIRE(c);
    CHECK(c->ppid == 100);
    CHECK(c->comm == "bash");
    CHECK(c->exe == "/usr/bin/bash");
    CHECK(c->exe_sha256 == "ab12");
    CHECK(c->uid == 1000);
    CHECK(c->sid == 77);
    CHECK(c->pgid == 100);
    CHECK(c->argv == std::vector<std::string>{"bash", "-x"});
    CHECK(c->first_seen == 2s);
    CHECK(c->origin == process_origin::fork);
    REQUIRE(t.parent(*c));
    CHECK(t.parent(*c)->pid == 100);
    CHECK(t.find(100)->last_seen == 2s);
    // the child holds its parent's argv, not a copy of it
    CHECK(c->argv.shares_with(t.find(100)->argv));
    // an exec in the child gives it its own
    (void)t.apply(exec_ev(3s, 101, 100, "curl", "/usr/bin/curl"));
    CHECK(!t.find(101)->argv.shares_with(t.find(100)->argv));
    CHECK(t.find(101)->argv == std::vector<std::string>{"curl", "-x"});
    CHECK(t.find(100)->argv == std::vector<std::string>{"bash", "-x"});
}

TEST_CASE("shared_strings: reads, compares and copies like the vector it stands for", "[process_table]") {
    using detail::shared_strings;
    const shared_strings none;
    CHECK(none.empty());
    CHECK(none.size() == 0); // NOLINT: the size() of an empty list is the point
    CHECK(none.begin() == none.end());
    CHECK(none == std::vector<std::string>{});
    CHECK(none.to_vector().empty());
    CHECK(!none.shares_with(none)); // nothing is held, nothing is shared

    const std::vector<std::string> v{"a", "", std::string("n\0ul", 4), std::string(3000, 'x')};
    shared_strings s = v;
    REQUIRE(s.size() == 4);
    CHECK(s[0] == "a");
    CHECK(s[1].empty());
    CHECK(s[2] == std::string_view("n\0ul", 4)); // a NUL byte is kept, not a terminator
    CHECK(s[3].size() == 3000);
    CHECK(s.front() == "a");
    CHECK(s.back() == v.back());
    CHECK(s == v);
    CHECK(s.to_vector() == v);
    CHECK(std::vector<std::string>(s.begin(), s.end()) == v);

    shared_strings copy = s; // NOLINT: the copy is under test
    CHECK(copy.shares_with(s));
    CHECK(copy == s);
    shared_strings other = v; // equal but its own block
    CHECK(!other.shares_with(s));
    CHECK(other == s);
    CHECK(!(other == shared_strings{"a"}));
    CHECK(!(s == std::vector<std::string>{"a", "", "n"}));

    // dropping one holder leaves the others whole
    s.clear();
    CHECK(s.empty());
    CHECK(copy == v);
    shared_strings moved = std::move(copy);
    CHECK(moved == v);
    moved = shared_strings{"x", "y"};
    CHECK(moved.size() == 2);
    CHECK(moved[1] == "y");
    const shared_strings& alias = moved;
    moved = alias; // self-assignment keeps the list
    CHECK(moved == std::vector<std::string>{"x", "y"});
    moved = std::vector<std::string>{};
    CHECK(moved.empty());
}

TEST_CASE("a thread fork creates no process; thread exits do not end it", "[process_table]") {
    process_table t(16);
    (void)t.apply(exec_ev(1s, 100, 1, "java"));
    CHECK(t.apply(fork_ev(2s, 100, 100)) == table_change::none);
    CHECK(t.size() == 1);
    CHECK(t.apply(exit_ev(3s, 100, 105)) == table_change::none); // thread 105 exits
    CHECK_FALSE(t.find(100)->exited());
    CHECK(t.apply(exit_ev(4s, 100)) == table_change::exited);
    REQUIRE(t.find(100)->exit_ts);
    CHECK(*t.find(100)->exit_ts == 4s);
    CHECK(t.apply(exit_ev(5s, 100)) == table_change::none); // already exited
    CHECK(t.apply(exit_ev(5s, 555)) == table_change::none); // unknown: not created
    CHECK(t.find(555) == nullptr);
}

TEST_CASE("a fork from an unknown parent creates both; unknown pids get a minimal entry",
          "[process_table]") {
    process_table t(16);
    CHECK(t.apply(fork_ev(1s, 50, 51)) == table_change::created);
    REQUIRE(t.find(50));
    CHECK(t.find(50)->origin == process_origin::unknown);
    CHECK(t.find(51)->ppid == 50);
    CHECK(t.find(51)->comm.empty());

    CHECK(t.apply(open_ev(2s, 60, "/etc/passwd")) == table_change::touched);
    const process_info* p = t.find(60);
    REQUIRE(p);
    CHECK(p->ppid == 0);
    CHECK(p->comm.empty());
    CHECK(p->first_seen == 2s);
    CHECK(t.parent(*p) == nullptr);
}

TEST_CASE("pid reuse replaces the old identity", "[process_table]") {
    process_table t(16);
    (void)t.apply(exec_ev(1s, 100, 1, "bash"));
    (void)t.apply(exec_ev(1s, 200, 100, "python", "/usr/bin/python3"));
    (void)t.apply(exit_ev(2s, 200));

    // a fork onto the exited pid: nothing of python survives
    CHECK(t.apply(fork_ev(3s, 100, 200)) == table_change::replaced);
    const process_info* p = t.find(200);
    CHECK(p->comm == "bash");
    CHECK(p->exe.empty());
    CHECK_FALSE(p->exited());
    CHECK(p->first_seen == 3s);
    CHECK(p->origin == process_origin::fork);

    // an exec onto an exited pid is a new process too
    (void)t.apply(exec_ev(4s, 300, 1, "a"));
    (void)t.apply(exit_ev(5s, 300));
    CHECK(t.apply(exec_ev(6s, 300, 1, "b")) == table_change::replaced);
    CHECK(t.find(300)->first_seen == 6s);
    CHECK_FALSE(t.find(300)->exited());

    // a fork onto a live pid (we missed its exit) replaces it as well
    (void)t.apply(exec_ev(7s, 400, 1, "old", "/old"));
    CHECK(t.apply(fork_ev(8s, 100, 400)) == table_change::replaced);
    CHECK(t.find(400)->comm == "bash");
    CHECK(t.find(400)->exe.empty());
    CHECK(t.find(400)->ppid == 100);
}

TEST_CASE("exit then expire: kept for the window, then removed", "[process_table]") {
    process_table t(16);
    (void)t.apply(exec_ev(1s, 100, 1, "sh"));
    (void)t.apply(exit_ev(10s, 100));
    CHECK(t.expire(15s, 5s) == 0); // exactly window after the exit: kept
    CHECK(t.find(100));
    CHECK(t.expire(15s + 1ns, 5s) == 1);
    CHECK(t.find(100) == nullptr);
    CHECK(t.expired() == 1);
    // live processes never expire
    (void)t.apply(exec_ev(1s, 200, 1, "sleep"));
    CHECK(t.expire(1000s, 5s) == 0);
    CHECK(t.size() == 1);
}

TEST_CASE("capacity: evict exited first, then least recently seen; count", "[process_table]") {
    process_table t(3);
    (void)t.apply(exec_ev(1s, 1, 0, "a"));
    (void)t.apply(exec_ev(2s, 2, 0, "b"));
    (void)t.apply(exec_ev(3s, 3, 0, "c"));
    (void)t.apply(open_ev(4s, 1, "/x")); // 1 is now the most recently seen
    (void)t.apply(exec_ev(5s, 4, 0, "d"));
    CHECK(t.size() == 3);
    CHECK(t.evictions() == 1);
    CHECK(t.find(2) == nullptr); // least recently seen
    CHECK(pids(t) == std::vector<pid_type>{3, 1, 4});

    (void)t.apply(exit_ev(6s, 4)); // exited: preferred victim even though most recent
    (void)t.apply(exec_ev(7s, 5, 0, "e"));
    CHECK(t.find(4) == nullptr);
    CHECK(t.find(3) != nullptr);
    CHECK(t.evictions() == 2);
    CHECK(t.size() == 3);

    // capacity pressure from many pids: never above capacity
    for (pid_type p = 100; p < 10100; ++p) {
        (void)t.apply(fork_ev(8s, 5, p));
        REQUIRE(t.size() <= 3);
    }
    CHECK(t.evictions() == 2 + 10000);
    CHECK(t.find(5) != nullptr); // the busy parent stays (touched by every fork)
    CHECK(t.find(10099) != nullptr);
}

TEST_CASE("capacity 1 and shrinking the capacity", "[process_table]") {
    process_table t(0); // clamps to 1
    CHECK(t.capacity() == 1);
    (void)t.apply(fork_ev(1s, 10, 11)); // the child evicts the parent
    CHECK(t.size() == 1);
    REQUIRE(t.find(11));
    CHECK(t.find(11)->ppid == 10);

    process_table u(10);
    for (pid_type p = 1; p <= 10; ++p) (void)u.apply(exec_ev(nanoseconds{p}, p, 0, "x"));
    u.set_capacity(4);
    CHECK(u.size() == 4);
    CHECK(u.evictions() == 6);
    CHECK(pids(u) == std::vector<pid_type>{7, 8, 9, 10});
    (void)u.apply(exec_ev(20ns, 11, 0, "y"));
    CHECK(pids(u) == std::vector<pid_type>{8, 9, 10, 11});
}

TEST_CASE("seed inserts or replaces from /proc", "[process_table]") {
    process_table t(8);
    process_info info;
    info.pid = 42;
    info.ppid = 1;
    info.comm = "sshd";
    info.exe = "/usr/sbin/sshd";
    info.origin = process_origin::seed;
    CHECK(t.seed(info) == table_change::created);
    CHECK(*t.find(42) == info);
    info.comm = "sshd2";
    CHECK(t.seed(info) == table_change::replaced);
    CHECK(t.find(42)->comm == "sshd2");
    CHECK(t.size() == 1);
    CHECK(to_string(process_origin::seed) == "seed");
}

TEST_CASE("lineage: an exited ancestor is pinned while a descendant lives", "[process_table][family]") {
    process_table t(16);
    (void)t.apply(exec_ev(0s, 100, 1, "bash"));
    (void)t.apply(fork_ev(0s, 100, 101)); // subshell
    (void)t.apply(fork_ev(0s, 101, 102)); // its child
    (void)t.apply(exit_ev(1s, 101));      // the middle one exits
    CHECK(t.pinned(101));
    CHECK(t.expire(1000s, 5s) == 0);      // kept however long 102 lives
    const process_info* c = t.find(102);
    REQUIRE(c);
    const process_info* mid = t.parent(*c);
    REQUIRE(mid);
    CHECK(mid->pid == 101);
    REQUIRE(t.parent(*mid));
    CHECK(t.parent(*mid)->pid == 100);
    // the last descendant goes: the ancestor is retired, then expires a window later
    (void)t.apply(exit_ev(1001s, 102));
    CHECK(t.expire(1006s + 1ns, 5s) == 1); // 102
    CHECK_FALSE(t.pinned(101));
    REQUIRE(t.find(101));
    CHECK(t.expire(1011s + 2ns, 5s) == 1); // 101
    CHECK(t.find(101) == nullptr);
    CHECK(t.find(100) != nullptr); // live
}

TEST_CASE("reparenting: a dead parent's child keeps its lineage until an exec says otherwise",
          "[process_table][family]") {
    for (pid_type reaper : {pid_type{1}, pid_type{900}}) { // init, or a subreaper
        process_table t(16);
        (void)t.apply(exec_ev(0s, 900, 1, "containerd-shim"));
        (void)t.apply(exec_ev(0s, 100, 900, "bash"));
        (void)t.apply(fork_ev(1s, 100, 200));
        (void)t.apply(exit_ev(2s, 100)); // the kernel reparents 200 to `reaper`
        const process_info* c = t.find(200);
        REQUIRE(c);
        REQUIRE(t.parent(*c));
        CHECK(t.parent(*c)->pid == 100); // remembered lineage
        CHECK(t.pinned(100));
        CHECK(t.children(100) == 1);
        (void)t.apply(exec_ev(3s, 200, reaper, "curl")); // the exec carries the new ppid
        c = t.find(200);
        CHECK(c->ppid == reaper);
        CHECK(t.children(100) == 0);
        CHECK_FALSE(t.pinned(100)); // nothing needs it any more
        if (reaper == 900) {
            REQUIRE(t.parent(*c));
            CHECK(t.parent(*c)->pid == 900);
            CHECK(t.children(900) == 2); // bash (exited, still in the table) and 200
        } else {
            CHECK(t.parent(*c) == nullptr); // pid 1 is not in this table
        }
        CHECK(t.expire(3s + 5s + 1ns, 5s) == 1); // bash goes a window after its retirement
    }
}

TEST_CASE("pid reuse inherits nothing: no identity, no lineage, new generation", "[process_table][family]") {
    process_table t(16);
    (void)t.apply(exec_ev(0s, 100, 1, "bash"));
    (void)t.apply(fork_ev(0s, 100, 150));
    (void)t.apply(exec_ev(0s, 150, 100, "cat"));
    (void)t.apply(fork_ev(0s, 150, 151)); // a child of the old 150
    const std::uint64_t g = t.generation(150);
    (void)t.apply(exit_ev(1s, 150));
    CHECK(t.pinned(150));
    // pid 150 reused by an unrelated process
    (void)t.apply(exec_ev(0s, 700, 1, "sshd"));
    (void)t.apply(fork_ev(2s, 700, 150));
    const process_info* p = t.find(150);
    REQUIRE(p);
    CHECK(p->ppid == 700);
    CHECK(p->comm == "sshd");
    CHECK(t.generation(150) != g);
    CHECK(t.children(150) == 0);
    CHECK(t.children(100) == 0); // the old 150 no longer counts as bash's child
    // the old child's parent link does not resolve to the new process
    const process_info* old_child = t.find(151);
    REQUIRE(old_child);
    CHECK(old_child->ppid == 150);
    CHECK(t.parent(*old_child) == nullptr);
    // exec onto an exited pid: also a new instance
    (void)t.apply(exit_ev(3s, 150));
    const std::uint64_t g2 = t.generation(150);
    CHECK(t.apply(exec_ev(4s, 150, 1, "python")) == table_change::replaced);
    CHECK(t.generation(150) != g2);
    CHECK(t.find(150)->argv == std::vector<std::string>{"python", "-x"});
    CHECK(t.find(150)->first_seen == 4s);
}

TEST_CASE("fork storm: 1M processes, size bounded, evictions counted", "[process_table][family]") {
    constexpr std::size_t cap = 4096;
    process_table t(cap);
    (void)t.apply(exec_ev(0s, 1000, 1, "bash"));
    std::uint64_t ts = 1;
    // a parent forking short-lived children, and a chain of forks whose
    // intermediate processes exit (each one pinned by its live child)
    pid_type chain = 1000;
    for (pid_type i = 0; i < 1'000'000; ++i) {
        const pid_type child = 2'000'000 + i;
        if (i % 2 == 0) {
            (void)t.apply(fork_ev(nanoseconds{ts++}, 1000, child));
            (void)t.apply(exit_ev(nanoseconds{ts++}, child));
        } else {
            (void)t.apply(fork_ev(nanoseconds{ts++}, chain, child));
            if (chain != 1000) (void)t.apply(exit_ev(nanoseconds{ts++}, chain));
            chain = child;
        }
        REQUIRE(t.size() <= cap);
    }
    CHECK(t.size() == cap);
    CHECK(t.evictions() + cap == 1'000'000 + 1);
    CHECK(t.find(1000) != nullptr);  // the busy parent stays
    CHECK(t.find(chain) != nullptr); // the newest process is there
    CHECK(t.pinned_count() < cap);
    CHECK(t.live_count() >= 2);
    long rss = -1;
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("VmRSS:", 0) == 0) rss = std::stol(line.substr(6));
    INFO("VmRSS " << rss << " KiB");
    CHECK(rss < 64 * 1024);
}
