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

[[nodiscard]] inline tl::unexpected<error> make_error(errc code, std::string message) {
    return tl::unexpected<error>(error{code, std::move(message)});
}

} // namespace barbwire
