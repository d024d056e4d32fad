// Fuzz decode(): it never crashes or reads out of bounds, its errors are one
// line, and whatever it accepts survives encode() and the trace format.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace barbwire;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);

    // decode_record(): every record kind, repeats and filter tags included.
    auto rec = decode_record(bytes);
    if (!rec) {
        fuzz::check_error(rec.error());
    } else if (const open_repeat* r = rec->as_repeat()) {
        BW_FUZZ_CHECK(size == sizeof(bw_open_repeat_event));
        BW_FUZZ_CHECK(r->key.ino == r->ino);
        BW_FUZZ_CHECK(detail::parse_source(to_string(r->source)) == r->source);
        BW_FUZZ_CHECK(!decode(bytes).has_value()); // no event on its own
        auto again = decode_record(encode_repeat(*r));
        BW_FUZZ_CHECK(again.has_value() && again->as_repeat() != nullptr && *again->as_repeat() == *r);
    } else {
        const event& e = *rec->as_event();
        if (rec->tag.filter != open_filter::unfiltered) {
            BW_FUZZ_CHECK(e.kind() == event_kind::open);
            BW_FUZZ_CHECK(rec->tag.key.ino == e.as<open_event>()->ino);
        }
        if (fuzz::fits_record(e)) {
            std::byte buf[max_record_size];
            const std::size_t n = encode_into(e, rec->tag, buf);
            BW_FUZZ_CHECK(n == size);
            auto again = decode_record(std::span<const std::byte>(buf, n));
            BW_FUZZ_CHECK(again.has_value() && again->as_event() != nullptr && *again->as_event() == e &&
                          again->tag == rec->tag);
        }
    }

    auto ev = decode(bytes);
    BW_FUZZ_CHECK(ev.has_value() == (rec.has_value() && rec->as_event() != nullptr));
    if (!ev) {
        fuzz::check_error(ev.error());
        return 0;
    }
    BW_FUZZ_CHECK(is_kernel_record(ev->kind())); // never a file event: the sensor makes those
    BW_FUZZ_CHECK(size == record_size(ev->kind()));
    // enums hold named values only, so the trace format has a word for each
    if (const auto* o = ev->as<open_event>()) BW_FUZZ_CHECK(detail::parse_source(to_string(o->source)) == o->source);
    if (const auto* w = ev->as<write_event>()) {
        BW_FUZZ_CHECK(detail::parse_source(to_string(w->source)) == w->source);
        BW_FUZZ_CHECK(detail::parse_how(to_string(w->how)) == w->how);
    }
    if (const auto* n = ev->as<net_event>())
        BW_FUZZ_CHECK(n->sock == sock_kind::unknown || detail::parse_sock(to_string(n->sock)) == n->sock);
    // decode(encode(ev)) == ev: a decoded event always fits its record
    BW_FUZZ_CHECK(fuzz::fits_record(*ev));
    fuzz::check_round_trips(*ev);
    return 0;
}
