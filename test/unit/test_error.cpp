// error.hpp: errors as values.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "barbwire/error.hpp"

using namespace barbwire;

TEST_CASE("to_string names every errc") {
    CHECK(to_string(errc::short_record) == "short_record");
    CHECK(to_string(errc::oversized_record) == "oversized_record");
    CHECK(to_string(errc::size_mismatch) == "size_mismatch");
    CHECK(to_string(errc::unknown_kind) == "unknown_kind");
    CHECK(to_string(errc::bad_version) == "bad_version");
    CHECK(to_string(errc::bad_field) == "bad_field");
    CHECK(to_string(errc::invalid_config) == "invalid_config");
    CHECK(to_string(errc::parse_error) == "parse_error");
    CHECK(to_string(errc::system) == "system");
    CHECK(to_string(static_cast<errc>(0)) == "unknown");
    CHECK(to_string(static_cast<errc>(200)) == "unknown");
}

TEST_CASE("errc values are distinct and stable") {
    CHECK(static_cast<int>(errc::short_record) == 1);
    std::set<std::string_view> names;
    for (int i = 1; i <= static_cast<int>(errc::system); ++i) names.insert(to_string(static_cast<errc>(i)));
    CHECK(names.size() == 9);
    CHECK(names.count("unknown") == 0);
}

TEST_CASE("to_string is usable at compile time") {
    static_assert(to_string(errc::bad_field) == "bad_field");
    SUCCEED();
}

namespace {
result<int> half(int x) {
    if (x % 2 != 0) return make_error(errc::bad_field, std::to_string(x) + " is odd");
    return x / 2;
}
} // namespace

TEST_CASE("make_error builds an unexpected result") {
    auto ok = half(8);
    REQUIRE(ok.has_value());
    CHECK(*ok == 4);
    auto bad = half(7);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == errc::bad_field);
    CHECK(bad.error().message == "7 is odd");
}

TEST_CASE("result propagates through and_then / map") {
    auto r = half(8).and_then(half).map([](int v) { return v * 10; });
    REQUIRE(r.has_value());
    CHECK(*r == 20);
    auto e = half(12).and_then(half); // 12 -> 6 -> 3
    REQUIRE(e.has_value());
    CHECK(*e == 3);
    auto f = half(12).and_then(half).and_then(half);
    REQUIRE_FALSE(f.has_value());
    CHECK(f.error().message == "3 is odd");
}

TEST_CASE("issue 15: an error message is one line even when the input put a line break in it") {
    // yaml-cpp echoes the character after a backslash: a line break, here
    const auto e = make_error(errc::invalid_config, "YAML syntax error at line 10: unknown escape character: \n");
    CHECK(e.value().message == "YAML syntax error at line 10: unknown escape character: \\n");
    const auto t = make_error(errc::parse_error, std::string("key \"a\tb\x01\x7f\" é"));
    CHECK(t.value().message == "key \"a\\tb\\x01\\x7f\" é");
    const auto clean = make_error(errc::parse_error, "nothing to escape");
    CHECK(clean.value().message == "nothing to escape");
}
