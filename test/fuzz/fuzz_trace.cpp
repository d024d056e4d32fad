// Fuzz the trace reader: it never crashes or throws, streaming in chunks gives
// exactly what reading the whole text gives, errors are one line, and every
// event it parses survives format/parse, to_json/event_from_json and encode/decode.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace barbwire;
    if (size == 0) return 0;
    // The first byte picks the chunk size for the streaming reader and, when
    // its top bit is set, a small line limit so over-long lines get exercised.
    const std::size_t chunk = 1 + data[0] % 64;
    const std::size_t limit = (data[0] & 0x80) ? 16 + 4 * (data[0] & 0x3F) : max_trace_line;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

    const trace_contents whole = read_trace(text, limit);
    for (const auto& e : whole.errors) {
        fuzz::check_error(e);
        BW_FUZZ_CHECK(e.code == errc::parse_error);
        BW_FUZZ_CHECK(e.message.rfind("line ", 0) == 0);
    }
    for (const auto& e : whole.events) fuzz::check_round_trips(e);

    trace_reader rd(limit);
    std::vector<event> events;
    std::vector<std::string> errors;
    const auto drain = [&] {
        while (auto item = rd.next()) {
            if (*item) events.push_back(std::move(**item));
            else errors.push_back(std::move(item->error().message));
        }
    };
    for (std::size_t i = 0; i < text.size(); i += chunk) {
        rd.feed(text.substr(i, chunk));
        drain();
    }
    rd.finish();
    drain();
    BW_FUZZ_CHECK(rd.buffered() == 0);
    BW_FUZZ_CHECK(events == whole.events);
    BW_FUZZ_CHECK(errors.size() == whole.errors.size());
    for (std::size_t i = 0; i < errors.size(); ++i) BW_FUZZ_CHECK(errors[i] == whole.errors[i].message);
    return 0;
}
