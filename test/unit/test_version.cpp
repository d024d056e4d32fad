#include <catch2/catch.hpp>

#include <string>

#include <barbwire/version.hpp>

TEST_CASE("version macros, constants and the meson project version agree", "[version]") {
    const std::string joined = std::to_string(barbwire::version_major) + "." +
                               std::to_string(barbwire::version_minor) + "." +
                               std::to_string(barbwire::version_patch);
    CHECK(joined == barbwire::version_string);
    CHECK(std::string(BW_VERSION_STRING) == barbwire::version_string);
    CHECK(std::string(BW_PROJECT_VERSION) == barbwire::version_string);
}
