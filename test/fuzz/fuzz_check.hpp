#pragma once
// A check for fuzz harnesses that survives NDEBUG: print what failed and abort,
// so libFuzzer records the input and the corpus runner fails.

#include <cstdio>
#include <cstdlib>

#define BW_FUZZ_CHECK(cond)                                                                \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                  \
        }                                                                                  \
    } while (0)
