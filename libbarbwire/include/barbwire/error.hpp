#pragma once
// Errors are values: every fallible call returns result<T>.

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace barbwire {

enum class errc : std::uint8_t {
    // decode
    short_record = 1,   // fewer bytes than the header or the record kind needs
    oversized_record,   // more bytes than the record kind has
    size_mismatch,      // header.size disagrees with the bytes given
    unknown_kind,       // header.kind is not a known BW_EVENT_*
    bad_version,        // header.version is not BW_ABI_VERSION
    bad_field,          // a field holds a value outside its domain
    // config
    invalid_config,
    // trace
    parse_error,
    // the sensor: an operating-system or kernel facility failed or is missing
    // (privileges, BTF, BPF load/attach, tracefs). Never produced by the library.
    system,
};

[[nodiscard]] constexpr std::string_view to_string(errc c) noexcept {
    switch (c) {
    case errc::short_record: return "short_record";
    case errc::oversized_record: return "oversized_record";
    case errc::size_mismatch: return "size_mismatch";
    case errc::unknown_kind: return "unknown_kind";
    case errc::bad_version: return "bad_version";
    case errc::bad_field: return "bad_field";
    case errc::invalid_config: return "invalid_config";
    case errc::parse_error: return "parse_error";
    case errc::system: return "system";
    }
    return "unknown";
}

struct error {
    errc code;
    std::string message; // one line: what is wrong, and where
};

template <class T>
using result = tl::expected<T, error>;

namespace detail {

// A message is one line: a line break or other control character that came
// from the input (a YAML parser echoing an escape, a hostile key) is written
// as an escape instead.
inline void one_line(std::string& m) {
    bool clean = true;
    for (const char ch : m) clean = clean && static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f;
    if (clean) return;
    std::string out;
    for (const char ch : m) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c != 0x7f) {
            out += ch;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    m = std::move(out);
}

} // namespace detail

[[nodiscard]] inline tl::unexpected<error> make_error(errc code, std::string message) {
    detail::one_line(message);
    return tl::unexpected<error>(error{code, std::move(message)});
}

} // namespace barbwire
