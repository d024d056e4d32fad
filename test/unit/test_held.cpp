#include <catch2/catch.hpp>

#include <barbwire/held.hpp>

using namespace barbwire;
using namespace std::chrono_literals;

namespace {

sensitive_open secret(nanoseconds ts, int score, std::string path = "/etc/shadow", std::uint64_t ino = 1) {
    sensitive_open o;
    o.ts = ts;
    o.dev = 8;
    o.ino = ino;
    o.match = file_match{0, 0, score, false};
    o.path = std::move(path);
    return o;
}

process_ref who(pid_type pid) { return process_ref{pid, "cat", "/usr/bin/cat", ""}; }

} // namespace

TEST_CASE("held: a process keeps what it read, for its instance only") {
    secret_holders h(8);
    h.read(10, 1, secret(1s, 5), who(10));
    const held_secret* b = h.best(10, 1, 100s);
    REQUIRE(b != nullptr);
    CHECK(b->open.path == "/etc/shadow");
    CHECK_FALSE(b->inherited);
    CHECK(b->reader.pid == 10);
    CHECK(h.best(10, 1, 500ms) == nullptr); // read after that moment
    CHECK(h.best(10, 2, 100s) == nullptr);  // another process on the pid
    CHECK(h.best(11, 1, 100s) == nullptr);
    // the kernel mirror learns of the holder, then of its end
    auto c = h.drain_changes();
    REQUIRE(c.size() == 1);
    CHECK(c[0] == holder_change{10, true, 1s});
    h.forget(10);
    CHECK(h.best(10, 1, 100s) == nullptr);
    c = h.drain_changes();
    REQUIRE(c.size() == 1);
    CHECK(c[0] == holder_change{10, false, 0s});
    CHECK(h.drain_changes().empty());
}

TEST_CASE("held: the best secret is the highest score, ties to the newest; lists stay short") {
    secret_holders h(8);
    h.read(10, 1, secret(1s, 5, "/etc/shadow", 1), who(10));
    h.read(10, 1, secret(2s, 4, "/root/.netrc", 2), who(10));
    h.read(10, 1, secret(3s, 1, "/root/.bash_history", 3), who(10));
    REQUIRE(h.secrets_of(10, 1)->size() == 3);
    CHECK(h.best(10, 1, 10s)->open.ino == 1);
    CHECK(h.best(10, 1, 2500ms)->open.ino == 1);
    // a later read of the same score supersedes the earlier one
    h.read(10, 1, secret(4s, 5, "/root/.ssh/id_rsa", 4), who(10));
    CHECK(h.best(10, 1, 10s)->open.ino == 4);
    CHECK(h.secrets_of(10, 1)->size() == 1); // 4 s, score 5, beats every earlier one
    CHECK(h.superseded() == 3);
    // never more than max_per_process
    for (int k = 0; k < 10; ++k)
        h.read(20, 1, secret(nanoseconds{std::chrono::seconds{k}}, 20 - k, "/x", 100 + static_cast<unsigned>(k)),
               who(20));
    CHECK(h.secrets_of(20, 1)->size() == secret_holders::max_per_process);
    CHECK(h.best(20, 1, 100s)->open.match.base_score == 20 - 6); // the oldest (highest) were dropped first
}

TEST_CASE("held: a fork inherits until it execs; exec ends own reads too") {
    secret_holders h(8);
    h.read(10, 1, secret(1s, 5), who(10));
    h.fork(10, 1, 11, 7);
    const held_secret* b = h.best(11, 7, 50s);
    REQUIRE(b != nullptr);
    CHECK(b->inherited);
    CHECK(b->reader.pid == 10);
    CHECK(h.inherits() == 1);
    // a grandchild inherits from the child, still naming the reader
    h.fork(11, 7, 12, 8);
    REQUIRE(h.best(12, 8, 50s) != nullptr);
    CHECK(h.best(12, 8, 50s)->reader.pid == 10);
    // only own holders reach the kernel mirror (inherited ones are the kernel's own)
    auto c = h.drain_changes();
    REQUIRE(c.size() == 1);
    CHECK(c[0].pid == 10);
    // exec: the inherited copy is gone with the memory, and so is an own read
    // (bash -c 'read k < key; ...; curl' execs curl in place)
    h.exec(11);
    CHECK(h.best(11, 7, 50s) == nullptr);
    h.exec(10);
    CHECK(h.best(10, 1, 50s) == nullptr);
    c = h.drain_changes();
    REQUIRE(c.size() == 1);
    CHECK(c[0] == holder_change{10, false, 0s}); // the kernel mirror forgets it
    h.read(12, 8, secret(3s, 4, "/root/.netrc", 9), who(12));
    h.exec(12);
    CHECK(h.best(12, 8, 50s) == nullptr);
    // a fork from a wrong parent instance inherits nothing
    h.fork(10, 99, 13, 9);
    CHECK(h.best(13, 9, 50s) == nullptr);
}

TEST_CASE("held: bounded, least recently recorded evicted and counted") {
    secret_holders h(3);
    for (pid_type p = 1; p <= 5; ++p) h.read(p, 1, secret(nanoseconds{std::chrono::seconds{p}}, 5), who(p));
    CHECK(h.size() == 3);
    CHECK(h.evictions() == 2);
    CHECK(h.best(1, 1, 100s) == nullptr);
    CHECK(h.best(5, 1, 100s) != nullptr);
    // evicted holders are ended in the kernel mirror too
    int ends = 0;
    for (const auto& c : h.drain_changes()) ends += c.holds ? 0 : 1;
    CHECK(ends == 2);
    h.set_capacity(1);
    CHECK(h.size() == 1);
    CHECK(h.evictions() == 4);
    h.clear();
    CHECK(h.size() == 0);
}

TEST_CASE("held: a reused pid starts empty") {
    secret_holders h(8);
    h.read(10, 1, secret(1s, 5), who(10));
    h.read(10, 2, secret(5s, 1, "/x", 2), who(10)); // a new instance on pid 10
    CHECK(h.best(10, 1, 10s) == nullptr);
    REQUIRE(h.best(10, 2, 10s) != nullptr);
    CHECK(h.best(10, 2, 10s)->open.match.base_score == 1);
}

TEST_CASE("held: reclassify re-derives or drops") {
    secret_holders h(8);
    h.read(10, 1, secret(1s, 5, "/etc/shadow", 1), who(10));
    h.read(10, 1, secret(2s, 1, "/root/.bash_history", 2), who(10));
    h.reclassify([](const sensitive_open& o, const process_ref&) -> std::optional<file_match> {
        if (o.ino == 1) return std::nullopt; // no longer counts
        return file_match{3, 0, 7, false};
    });
    REQUIRE(h.secrets_of(10, 1) != nullptr);
    REQUIRE(h.secrets_of(10, 1)->size() == 1);
    CHECK(h.best(10, 1, 10s)->open.match.base_score == 7);
    h.reclassify([](const sensitive_open&, const process_ref&) -> std::optional<file_match> { return std::nullopt; });
    CHECK(h.size() == 0);
}
