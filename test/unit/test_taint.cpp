#include <catch2/catch.hpp>

#include <barbwire/taint.hpp>

using namespace barbwire;
using namespace std::chrono_literals;

namespace {

config rules_of() {
    config c;
    c.suspicious_files = {
        {"password hashes", 5, {"/etc/shadow"}},
        {"netrc", 4, {"/.netrc"}},
        {"name service files", 0, {"/etc/passwd"}, true},
    };
    return c;
}

std::shared_ptr<const derived_origin> origin(std::string path, std::string category) {
    return std::make_shared<const derived_origin>(
        derived_origin{std::move(path), std::move(category), 8, 1, 1s, process_ref{10, "cat", "/usr/bin/cat", ""}, 2s,
                       "/tmp/x"});
}

} // namespace

TEST_CASE("taint: a derived file is found by inode, with its origin") {
    const rule_set rules(rules_of());
    derived_files d(8);
    const auto m = derived_files::match_for(rules, "password hashes", -1);
    REQUIRE(m);
    CHECK(m->category == 0);
    CHECK(m->base_score == 4);
    CHECK_FALSE(m->context);
    d.learn(9, 77, origin("/etc/shadow", "password hashes"), *m);
    const derived_files::entry* e = d.find(9, 77);
    REQUIRE(e != nullptr);
    CHECK(e->origin->path == "/etc/shadow");
    CHECK(e->match.base_score == 4);
    CHECK(d.find(9, 78) == nullptr);
    CHECK(d.find(0, 77) == nullptr);
    d.learn(0, 5, origin("/etc/shadow", "password hashes"), *m); // never an identity without dev/ino
    CHECK(d.size() == 1);
    const auto c = d.drain_changes();
    REQUIRE(c.size() == 1);
    CHECK(c[0] == derived_change{9, 77, true});
}

TEST_CASE("taint: no match for unknown or context categories") {
    const rule_set rules(rules_of());
    CHECK_FALSE(derived_files::match_for(rules, "no such category", 0));
    CHECK_FALSE(derived_files::match_for(rules, "name service files", 0));
}

TEST_CASE("taint: a stronger origin wins, a weaker one does not replace it") {
    const rule_set rules(rules_of());
    derived_files d(8);
    d.learn(9, 77, origin("/root/.netrc", "netrc"), *derived_files::match_for(rules, "netrc", 0));
    d.learn(9, 77, origin("/etc/shadow", "password hashes"),
            *derived_files::match_for(rules, "password hashes", 0));
    CHECK(d.find(9, 77)->origin->path == "/etc/shadow");
    d.learn(9, 77, origin("/root/.netrc", "netrc"), *derived_files::match_for(rules, "netrc", 0));
    CHECK(d.find(9, 77)->origin->path == "/etc/shadow");
    CHECK(d.learned() == 1);
}

TEST_CASE("taint: bounded, evictions reach the kernel mirror") {
    const rule_set rules(rules_of());
    derived_files d(2);
    const auto m = *derived_files::match_for(rules, "netrc", 0);
    for (std::uint64_t i = 1; i <= 4; ++i) d.learn(9, i, origin("/root/.netrc", "netrc"), m);
    CHECK(d.size() == 2);
    CHECK(d.evictions() == 2);
    CHECK(d.peek(9, 1) == nullptr);
    CHECK(d.peek(9, 4) != nullptr);
    int added = 0, removed = 0;
    for (const auto& c : d.drain_changes()) (c.derived ? added : removed) += 1;
    CHECK(added == 4);
    CHECK(removed == 2);
}

TEST_CASE("taint: reclassify follows the category by name, and forgets it when gone") {
    derived_files d(8);
    {
        const rule_set rules(rules_of());
        d.learn(9, 1, origin("/etc/shadow", "password hashes"), *derived_files::match_for(rules, "password hashes", 0));
        d.learn(9, 2, origin("/root/.netrc", "netrc"), *derived_files::match_for(rules, "netrc", 0));
    }
    (void)d.drain_changes();
    config c = rules_of();
    c.suspicious_files.erase(c.suspicious_files.begin()); // password hashes gone; netrc is now index 0
    c.suspicious_files[0].base_score = 6;
    const rule_set rules(c);
    d.reclassify(rules, -1);
    CHECK(d.peek(9, 1) == nullptr);
    REQUIRE(d.peek(9, 2) != nullptr);
    CHECK(d.peek(9, 2)->match.category == 0);
    CHECK(d.peek(9, 2)->match.base_score == 5);
    const auto ch = d.drain_changes();
    REQUIRE(ch.size() == 1);
    CHECK(ch[0] == derived_change{9, 1, false});
}
