// Fuzz the trace reader: it never crashes or throws, streaming in chunks gives
// exactly what reading the whole text gives, errors are one line, every
// event it parses survives format/parse, to_json/event_from_json and
// encode/decode, and the fast line parser agrees with the full JSON parser on
// every line it takes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"

namespace {

// Whenever detail::fast_parse_line gives an event, the nlohmann-based path
// gives the same event (the fast path never gives errors: it leaves them to
// the full parser, so both paths report the same message by construction).
void check_fast_path(std::string_view line, std::size_t line_no) {
    using namespace barbwire;
    const auto fast = detail::fast_parse_line(line);
    if (!fast) return;
    const auto slow = detail::parse_trace_line_slow(line, line_no);
    if (!slow) std::fprintf(stderr, "fast path took a line the full parser rejects: %s\n", slow.error().message.c_str());
    BW_FUZZ_CHECK(slow.has_value());
    BW_FUZZ_CHECK(slow->has_value());
    BW_FUZZ_CHECK(**slow == *fast);
    const auto both = parse_trace_line(line, line_no);
    BW_FUZZ_CHECK(both.has_value() && both->has_value() && **both == *fast);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace barbwire;
    if (size == 0) return 0;
    // The first byte picks the chunk size for the streaming reader and, when
    // its top bit is set, a small line limit so over-long lines get exercised.
    const std::size_t chunk = 1 + data[0] % 64;
    const std::size_t limit = (data[0] & 0x80) ? 16 + 4 * (data[0] & 0x3F) : max_trace_line;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

    // Line by line as read_trace splits them, and the whole text as one line
    // (parse_trace_line may be handed text with '\n' in it).
    check_fast_path(text, 1);
    std::string_view rest = text;
    for (std::size_t line_no = 1; !rest.empty(); ++line_no) {
        const std::size_t nl = rest.find('\n');
        const std::string_view raw = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        check_fast_path(raw, line_no);
        check_fast_path(detail::clean_line(raw, line_no), line_no);
    }

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
