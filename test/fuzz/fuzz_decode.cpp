// Fuzz decode(): it never crashes or reads out of bounds, its errors are one
// line, and whatever it accepts survives encode() and the trace format.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace barbwire;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    auto ev = decode(bytes);
    if (!ev) {
        fuzz::check_error(ev.error());
        return 0;
    }
    BW_FUZZ_CHECK(is_kernel_record(ev->kind())); // never a file event: the sensor makes those
    BW_FUZZ_CHECK(size == record_size(ev->kind()));
    // decode(encode(ev)) == ev: a decoded event always fits its record
    BW_FUZZ_CHECK(fuzz::fits_record(*ev));
    fuzz::check_round_trips(*ev);
    return 0;
}
