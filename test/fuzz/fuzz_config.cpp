// Fuzz the rules-file and baseline readers (issue 15): YAML and JSON rules
// (parse_config_text) and the baseline file (parse_baseline_text) never
// crash or throw; an error is one line; what parses survives a round trip
// (to_json, then parsed again, gives the same value).
//
// The first byte chooses the reader: even, the rules; odd, the baseline.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <barbwire/baseline.hpp>
#include <barbwire/yaml.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace barbwire;
    if (size == 0 || size > 256 * 1024) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    if (data[0] % 2 == 0) {
        const result<config> c = parse_config_text(text);
        if (!c) {
            fuzz::check_error(c.error());
            return 0;
        }
        const std::string again = to_json(*c).dump();
        const result<config> c2 = parse_config_json(again);
        if (!c2) std::fprintf(stderr, "a parsed config does not parse again: %s\n", c2.error().message.c_str());
        BW_FUZZ_CHECK(c2.has_value());
        BW_FUZZ_CHECK(to_json(*c2).dump() == again);
    } else {
        const result<baseline> b = parse_baseline_text(text, 64);
        if (!b) {
            fuzz::check_error(b.error());
            return 0;
        }
        BW_FUZZ_CHECK(b->size() <= 64);
        const std::string again = to_json(*b).dump();
        const result<baseline> b2 = parse_baseline_text(again, 64);
        BW_FUZZ_CHECK(b2.has_value());
        BW_FUZZ_CHECK(to_json(*b2).dump() == again);
    }
    return 0;
}
