// The one translation unit that holds Catch2's main(); every test_<header>.cpp
// links against it so the (slow) Catch2 implementation compiles once.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
