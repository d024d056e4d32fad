#pragma once
// Traces: decoded events as JSON lines, one event per line, readable and
// writable by hand. The sensor records them; tests and `replay` read them.
// The full reference is docs/trace-format.md.
//
//   # a comment: blank lines and lines starting with '#' are skipped
//   {"ts": "1s", "kind": "exec", "pid": 100, "ppid": 1, "comm": "cat", "exe": "/usr/bin/cat", "argv": ["cat", "id_rsa"]}
//   {"ts": "1500ms", "kind": "open", "pid": 100, "path": "/home/a/.ssh/id_rsa"}
//   {"ts": 2000000000, "kind": "connect", "pid": 100, "addr": "203.0.113.7", "port": 443}
//
// Keys of every line:
//   "ts"        required. Kernel monotonic time: an integer number of
//               nanoseconds, or a string with a unit: "2s", "1500ms", "250us",
//               "10ns", "1.5s" (units ns, us, ms, s; the value must be a whole
//               number of nanoseconds).
//   "kind"      required. "exec" | "fork" | "exit" | "open" | "write" | "connect" | "send" | "file"
//               | "foreign" | "script" | "binding".
//   "pid"       required (except for "file" and "binding", where it defaults to 0). Process
//               id (kernel tgid), 0..2^32-1.
//   "tid"       thread id (kernel pid); defaults to pid.
//   "truncated" boolean, default false: the kernel cut a string field.
// Keys per kind (all optional unless marked; numbers default to 0, strings to ""):
//   exec     "ppid" "uid" "sid" "pgid" (u32), "comm" "exe" (string),
//            "argv" (array of strings), "exe_dev" "exe_ino" (u64),
//            "sha256" (string: the executable's SHA-256, empty when unknown),
//            "exe_uid" (u32: the executable's owner), "exe_mode" (its permission
//            bits: an octal string "0755", or an integer 0..4095); both absent
//            when unknown; "exe_host_file" (boolean: the exe is the host's file
//            at that path; absent when unknown), "exe_package" (string: the dpkg
//            package that ships it unmodified; absent when none); "script" (an
//            object, as a script line's keys: the script the image runs, pending
//            when dev/ino are 0; absent: none), "foreign" (array of words
//            "preload_env" "audit_env" "preload_file" "ptraced" "mem_written";
//            absent: none)
//   foreign  "target" (required, u32: the process the code got into), "bits"
//            (required, a non-empty array of the foreign words)
//   script   "path" (required, string), "dev" "ino" (u64), "uid" (u32), "mode"
//            (as exe_mode), "sha256" "package" (string), "host_file" (boolean;
//            absent: unknown): the script the process's interpreter opened
//   fork     "child_pid" (required, u32), "child_tid" (u32, defaults to child_pid)
//   exit     "exit_code" (i32)
//   open     "path" (required, string), "flags" (i32), "dev" "ino" (u64), "uid" (u32),
//            "source" ("syscall" | "compat" | "io_uring"; default "syscall")
//   write    "path" (required, string), "dev" "ino" "bytes" (u64), "uid" (u32),
//            "source" (as open's), "how" ("write" | "copy" | "clone"; default "write")
//   connect  "addr" (required, IPv4 or IPv6 text), "port" (required, 0..65535),
//   send     "proto" (a name: "tcp" "udp" "icmp" "icmpv6" "udplite", or a number
//            0..255 as a string or an integer; default "tcp" for connect, "udp"
//            for send), "uid" (u32), "sock" ("stream" | "dgram" | "raw" |
//            "seqpacket" | "dccp"; absent: unknown), "peer" "accepted" (boolean),
//            "bytes" "cookie" (u64), "conn_ts" (a time, as "ts"; 0: unknown)
//   file     "path" (required, string: an absolute path), "dev" "ino" (required, u64).
//            Not a kernel record: the sensor's report that inode (dev, ino)
//            is the file the rules know as path (event.hpp, file_event).
//   binding  "path" (required, an absolute path), "dev" "ino" (required, u64),
//            "format" (string), "destinations" (required, an array of
//            {"host": string, "addr": IPv4 or IPv6 text, "port": 0..65535}).
//            Not a kernel record: the servers the credential file (dev, ino)
//            names (event.hpp, binding_event).
// Strings are JSON strings. A string that is not valid UTF-8 (file names are
// bytes) is written as {"hex": "<two lowercase hex digits per byte>"}, and that
// form is accepted wherever a string is.
//
// Errors: a key the kind does not have is an error naming the key (typos do not
// pass silently); a value of the wrong type names the key and the expected
// type; a number outside its field's range is an error. A line longer than
// max_trace_line bytes is an error. A bad line never hides the lines around it.
//
// format_trace_line() writes every key (in the order above) with ts and
// conn_ts as integer nanoseconds, except the keys that came with ABI 3
// (open's "source"; write's "source" and "how"; connect's and send's "sock",
// "peer", "accepted", "bytes", "conn_ts", "cookie") and "truncated", which
// it writes only when they differ from their default: a line of an event
// that has none of them is the line older versions wrote, byte for byte.
// parse_trace_line() reads it back: parse(format(e)) == e for every event
// with a valid address family, enums holding named values (decode() makes
// no other) and, for a file event, an absolute path.
//
// Pure: no I/O here. Callers read the bytes and push them through
// trace_reader (streaming) or read_trace (a whole text).

#include <bit>
#include <charconv>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "barbwire/detail/utf8.hpp"
#include "barbwire/error.hpp"
#include "barbwire/event.hpp"

namespace barbwire {

// Longest trace line accepted, in bytes (without the line end).
inline constexpr std::size_t max_trace_line = 64 * 1024;

namespace detail {

inline constexpr char hex_digits[] = "0123456789abcdef";

inline void append_hex(std::string& out, std::string_view bytes) {
    for (const char ch : bytes) {
        const auto b = static_cast<unsigned char>(ch);
        out += hex_digits[b >> 4];
        out += hex_digits[b & 0xF];
    }
}

// Text safe to put in a one-line error message: printable ASCII kept, anything
// else as \xNN, cut to `max` input bytes.
[[nodiscard]] inline std::string printable(std::string_view s, std::size_t max = 48) {
    std::string out;
    const bool cut = s.size() > max;
    if (cut) s = s.substr(0, max);
    for (const char ch : s) {
        const auto b = static_cast<unsigned char>(ch);
        if (b >= 0x20 && b < 0x7F && b != '\\') {
            out += ch;
        } else if (b == '\\') {
            out += "\\\\";
        } else {
            out += "\\x";
            out += hex_digits[b >> 4];
            out += hex_digits[b & 0xF];
        }
    }
    if (cut) out += "...";
    return out;
}

// A JSON string literal for a valid UTF-8 string, or {"hex":"..."} otherwise.
inline void append_json_string(std::string& out, std::string_view s) {
    if (!valid_utf8(s)) {
        out += "{\"hex\":\"";
        append_hex(out, s);
        out += "\"}";
        return;
    }
    out += '"';
    std::size_t run = 0; // start of the pending run of bytes that need no escape
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b >= 0x20 && b != '"' && b != '\\') continue;
        out.append(s, run, i - run);
        run = i + 1;
        switch (b) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            out += "\\u00";
            out += hex_digits[b >> 4];
            out += hex_digits[b & 0xF];
        }
    }
    out.append(s, run, s.size() - run);
    out += '"';
}

template <class T>
inline void append_int(std::string& out, T v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, r.ptr);
}

[[nodiscard]] inline nlohmann::json string_to_json(const std::string& s) {
    if (valid_utf8(s)) return s;
    std::string hex;
    hex.reserve(s.size() * 2);
    append_hex(hex, s);
    return nlohmann::json{{"hex", std::move(hex)}};
}

// What a JSON value is, for "expected X, got Y" messages.
[[nodiscard]] inline std::string_view json_type(const nlohmann::json& v) noexcept {
    using t = nlohmann::json::value_t;
    switch (v.type()) {
    case t::null: return "null";
    case t::boolean: return "boolean";
    case t::string: return "string";
    case t::array: return "array";
    case t::object: return "object";
    case t::number_integer:
    case t::number_unsigned: return "integer";
    case t::number_float: return "non-integer number";
    case t::binary: return "binary";
    case t::discarded: return "nothing";
    }
    return "unknown";
}

[[nodiscard]] inline tl::unexpected<error> key_error(std::string_view key, std::string_view what) {
    std::string m = "key '";
    m += printable(key);
    m += "': ";
    m += what;
    return make_error(errc::parse_error, std::move(m));
}

[[nodiscard]] inline tl::unexpected<error> type_error(std::string_view key, std::string_view expected,
                                                      const nlohmann::json& v) {
    std::string m = "expected ";
    m += expected;
    m += ", got ";
    m += json_type(v);
    return key_error(key, m);
}

// An integer of type T from a JSON integer, range-checked.
template <class T>
[[nodiscard]] inline result<T> get_int(const nlohmann::json& v, std::string_view key) {
    static_assert(std::is_integral_v<T>);
    constexpr bool is_signed = std::is_signed_v<T>;
    if (!v.is_number_integer()) return type_error(key, is_signed ? "an integer" : "an unsigned integer", v);
    const auto out_of_range = [&](std::string value) {
        return key_error(key, value + " is out of range " + std::to_string(std::numeric_limits<T>::min()) + ".." +
                                  std::to_string(std::numeric_limits<T>::max()));
    };
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (!std::in_range<T>(u)) return out_of_range(std::to_string(u));
        return static_cast<T>(u);
    }
    const auto i = v.get<std::int64_t>();
    if (!std::in_range<T>(i)) return out_of_range(std::to_string(i));
    return static_cast<T>(i);
}

[[nodiscard]] inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A string field: a JSON string, or {"hex": "..."} for bytes that are not UTF-8.
[[nodiscard]] inline result<std::string> get_string(const nlohmann::json& v, std::string_view key) {
    if (v.is_string()) return v.get_ref<const std::string&>();
    if (v.is_object()) {
        const auto it = v.find("hex");
        if (v.size() != 1 || it == v.end() || !it->is_string())
            return key_error(key, "expected a string or {\"hex\": \"<hex bytes>\"}, got another object");
        const auto& hex = it->get_ref<const std::string&>();
        if (hex.size() % 2 != 0) return key_error(key, "\"hex\" has an odd number of digits");
        std::string out(hex.size() / 2, '\0');
        for (std::size_t i = 0; i < out.size(); ++i) {
            const int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return key_error(key, "\"hex\" has a non-hex character at offset " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
            out[i] = static_cast<char>(hi << 4 | lo);
        }
        return out;
    }
    return type_error(key, "a string", v);
}

// A time as a string ("ts", "conn_ts"): a decimal number with a unit (ns,
// us, ms, s), e.g. "1.5s". `key` names the key in error messages.
[[nodiscard]] inline result<nanoseconds> parse_ts_text(std::string_view text, std::string_view key = "ts") {
    const auto bad = [&](std::string_view why) {
        return key_error(key, "\"" + printable(text) + "\" " + std::string(why));
    };
    constexpr std::string_view form = "is not a time (expected integer nanoseconds or a number with a unit ns, us, ms or s, like \"1.5s\")";
    std::size_t i = 0;
    std::uint64_t whole = 0;
    std::size_t whole_digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++whole_digits) {
        if (whole > (std::numeric_limits<std::uint64_t>::max() - 9) / 10) return bad("is too large for 64-bit nanoseconds");
        whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
    }
    std::string_view frac;
    if (i < text.size() && text[i] == '.') {
        const std::size_t start = ++i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        frac = text.substr(start, i - start);
        if (frac.empty()) return bad(form);
    }
    if (whole_digits == 0) return bad(form);
    const std::string_view unit = text.substr(i);
    std::uint64_t scale = 0;
    if (unit == "ns") scale = 1;
    else if (unit == "us") scale = 1'000;
    else if (unit == "ms") scale = 1'000'000;
    else if (unit == "s") scale = 1'000'000'000;
    else return bad(form);

    std::uint64_t frac_ns = 0;
    std::uint64_t step = scale;
    for (const char c : frac) {
        step /= 10;
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (step == 0) {
            if (d != 0) return bad("is not a whole number of nanoseconds");
            continue;
        }
        frac_ns += d * step;
    }
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (whole > (max - frac_ns) / scale) return bad("is too large for 64-bit nanoseconds");
    return nanoseconds{static_cast<std::int64_t>(whole * scale + frac_ns)};
}

enum class line_kind : std::uint8_t { exec, fork, exit, open, connect, send, file, write, foreign, script, binding };

[[nodiscard]] inline std::optional<line_kind> line_kind_from(std::string_view s) noexcept {
    if (s == "exec") return line_kind::exec;
    if (s == "fork") return line_kind::fork;
    if (s == "exit") return line_kind::exit;
    if (s == "open") return line_kind::open;
    if (s == "write") return line_kind::write;
    if (s == "connect") return line_kind::connect;
    if (s == "send") return line_kind::send;
    if (s == "file") return line_kind::file;
    if (s == "foreign") return line_kind::foreign;
    if (s == "script") return line_kind::script;
    if (s == "binding") return line_kind::binding;
    return std::nullopt;
}

[[nodiscard]] inline std::string_view kind_text(const event& e) noexcept {
    switch (e.kind()) {
    case event_kind::exec: return "exec";
    case event_kind::fork: return "fork";
    case event_kind::exit: return "exit";
    case event_kind::open: return "open";
    case event_kind::net: return e.as<net_event>()->op == net_op::send ? "send" : "connect";
    case event_kind::write: return "write";
    case event_kind::file: return "file";
    case event_kind::foreign: return "foreign";
    case event_kind::script: return "script";
    case event_kind::binding: return "binding";
    }
    return "exec";
}

// The words of the keys that name an enum value. Each is the inverse of the
// enum's to_string (event.hpp) over its named values; the default values
// (sock_kind::unknown) have no word in a trace: the key is left out.
[[nodiscard]] inline std::optional<access_path> parse_source(std::string_view s) noexcept {
    if (s == "syscall") return access_path::syscall;
    if (s == "compat") return access_path::compat;
    if (s == "io_uring") return access_path::io_uring;
    return std::nullopt;
}
[[nodiscard]] inline std::optional<write_how> parse_how(std::string_view s) noexcept {
    if (s == "write") return write_how::write;
    if (s == "copy") return write_how::copy;
    if (s == "clone") return write_how::clone;
    return std::nullopt;
}
[[nodiscard]] inline std::optional<sock_kind> parse_sock(std::string_view s) noexcept {
    if (s == "stream") return sock_kind::stream;
    if (s == "dgram") return sock_kind::dgram;
    if (s == "raw") return sock_kind::raw;
    if (s == "seqpacket") return sock_kind::seqpacket;
    if (s == "dccp") return sock_kind::dccp;
    return std::nullopt;
}
inline constexpr std::string_view source_words = "\"syscall\", \"compat\" or \"io_uring\"";
inline constexpr std::string_view how_words = "\"write\", \"copy\" or \"clone\"";
inline constexpr std::string_view sock_words = "\"stream\", \"dgram\", \"raw\", \"seqpacket\" or \"dccp\"";
inline constexpr std::string_view proto_words =
    "a protocol name (\"tcp\", \"udp\", \"icmp\", \"icmpv6\", \"udplite\") or number 0..255";

// A word of one of the lists above: a JSON string that `parse` knows.
template <class Parse>
[[nodiscard]] inline auto get_word(const nlohmann::json& v, std::string_view key, Parse parse, std::string_view words)
    -> result<typename decltype(parse(std::string_view{}))::value_type> {
    if (!v.is_string()) return type_error(key, words, v);
    const auto& text = v.get_ref<const std::string&>();
    const auto w = parse(std::string_view(text));
    if (!w) return key_error(key, "'" + printable(text) + "' is not " + std::string(words));
    return *w;
}

// A time ("ts", "conn_ts"): integer nanoseconds or a string with a unit.
[[nodiscard]] inline result<nanoseconds> get_time(const nlohmann::json& v, std::string_view key) {
    if (v.is_string()) return parse_ts_text(v.get_ref<const std::string&>(), key);
    if (!v.is_number_integer()) return type_error(key, "integer nanoseconds or a string like \"1.5s\"", v);
    auto t = get_int<std::int64_t>(v, key);
    if (!t) return tl::unexpected(std::move(t).error());
    return nanoseconds{*t};
}

// A file line names the file by the absolute path the rules know it by.
[[nodiscard]] inline bool absolute_path(std::string_view p) noexcept { return !p.empty() && p.front() == '/'; }

// An executable's permission bits as trace text: 1 to 6 octal digits ("0755",
// "4755") for a value of at most 07777.
inline constexpr std::uint32_t max_exe_mode = 07777;
[[nodiscard]] inline std::optional<std::uint32_t> parse_octal_mode(std::string_view s) noexcept {
    if (s.empty() || s.size() > 6) return std::nullopt;
    std::uint32_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '7') return std::nullopt;
        v = v * 8 + static_cast<std::uint32_t>(c - '0');
    }
    if (v > max_exe_mode) return std::nullopt;
    return v;
}
// "0755": at least four octal digits.
[[nodiscard]] inline std::string format_octal_mode(std::uint32_t mode) {
    std::string out;
    for (mode &= max_exe_mode; mode != 0; mode /= 8) out.insert(out.begin(), static_cast<char>('0' + mode % 8));
    while (out.size() < 4) out.insert(out.begin(), '0');
    return out;
}

// Reads the nlohmann parse error of a line without building a value and
// without exceptions: every callback accepts, parse_error records the reason.
struct error_sax {
    using json = nlohmann::json;
    std::string message;
    bool null() { return true; }
    bool boolean(bool) { return true; }
    bool number_integer(json::number_integer_t) { return true; }
    bool number_unsigned(json::number_unsigned_t) { return true; }
    bool number_float(json::number_float_t, const json::string_t&) { return true; }
    bool string(json::string_t&) { return true; }
    bool binary(json::binary_t&) { return true; }
    bool start_object(std::size_t) { return true; }
    bool key(json::string_t&) { return true; }
    bool end_object() { return true; }
    bool start_array(std::size_t) { return true; }
    bool end_array() { return true; }
    bool parse_error(std::size_t position, const std::string&, const json::exception& ex) {
        // ex.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: <reason>"
        std::string_view what = ex.what();
        if (const auto colon = what.find(": "); colon != std::string_view::npos) what.remove_prefix(colon + 2);
        message = "invalid JSON at byte " + std::to_string(position) + ": " + printable(what, 160);
        return false;
    }
};

[[nodiscard]] inline std::string with_line(std::size_t line_no, std::string message) {
    if (line_no == 0) return message;
    return "line " + std::to_string(line_no) + ": " + message;
}

// The same words whether the line arrived whole or the streaming reader gave
// up on it before its end (and so never learned its length).
[[nodiscard]] inline std::string too_long(std::size_t line_no, std::size_t limit) {
    return with_line(line_no, "line is longer than the " + std::to_string(limit) + "-byte limit; skipped");
}


// foreign_code bits as their words, in bit order.
[[nodiscard]] inline nlohmann::json foreign_to_json(std::uint32_t bits) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& w : foreign_words)
        if ((bits & w.bit) != 0) out.push_back(std::string(w.word));
    return out;
}
[[nodiscard]] inline result<std::uint32_t> foreign_from_json(const nlohmann::json& v, std::string_view key) {
    constexpr std::string_view words = "\"preload_env\", \"audit_env\", \"preload_file\", \"ptraced\" or \"mem_written\"";
    if (!v.is_array()) return type_error(key, "an array of words", v);
    std::uint32_t bits = 0;
    for (const auto& w : v) {
        if (!w.is_string()) return type_error(key, "an array of words", v);
        const auto& text = w.get_ref<const std::string&>();
        bool found = false;
        for (const auto& fw : foreign_words)
            if (text == fw.word) {
                bits |= fw.bit;
                found = true;
            }
        if (!found) return key_error(key, "'" + printable(text) + "' is not " + std::string(words));
    }
    return bits;
}

[[nodiscard]] inline nlohmann::json script_to_json(const script_identity& s) {
    nlohmann::json j = nlohmann::json::object();
    j["path"] = string_to_json(s.path);
    j["dev"] = s.dev;
    j["ino"] = s.ino;
    if (s.uid) j["uid"] = *s.uid;
    if (s.mode) j["mode"] = format_octal_mode(*s.mode);
    if (!s.sha256.empty()) j["sha256"] = string_to_json(s.sha256);
    if (!s.package.empty()) j["package"] = string_to_json(s.package);
    if (s.host_file) j["host_file"] = *s.host_file;
    return j;
}

[[nodiscard]] inline result<std::uint32_t> get_mode(const nlohmann::json& v, std::string_view k) {
    if (v.is_string()) {
        const auto& text = v.get_ref<const std::string&>();
        if (auto m = parse_octal_mode(text)) return *m;
        return key_error(k, "'" + printable(text) +
                                "' is not a permission mode (octal digits, at most 07777, such as \"0755\")");
    }
    if (v.is_number_integer()) {
        auto m = get_int<std::uint32_t>(v, k);
        if (!m) return tl::unexpected(std::move(m).error());
        if (*m > max_exe_mode) return key_error(k, std::to_string(*m) + " is out of range 0..4095 (07777)");
        return *m;
    }
    return type_error(k, "an octal string such as \"0755\" or an integer 0..4095", v);
}

// A script identity from the keys of a script line (or an exec's "script"
// object): every key but "kind", "ts", "pid", "tid" of the line. `where`
// prefixes key names in errors ("script." inside an exec line).
[[nodiscard]] inline result<bool> script_key(script_identity& s, const std::string& k, const nlohmann::json& v,
                                             std::string_view where) {
    const std::string name = std::string(where) + k;
    if (k == "path") {
        auto r = get_string(v, name);
        if (!r) return tl::unexpected(std::move(r).error());
        s.path = std::move(*r);
        return true;
    }
    if (k == "dev" || k == "ino") {
        auto r = get_int<std::uint64_t>(v, name);
        if (!r) return tl::unexpected(std::move(r).error());
        (k == "dev" ? s.dev : s.ino) = *r;
        return false;
    }
    if (k == "uid") {
        auto r = get_int<std::uint32_t>(v, name);
        if (!r) return tl::unexpected(std::move(r).error());
        s.uid = *r;
        return false;
    }
    if (k == "mode") {
        auto r = get_mode(v, name);
        if (!r) return tl::unexpected(std::move(r).error());
        s.mode = *r;
        return false;
    }
    if (k == "sha256" || k == "package") {
        auto r = get_string(v, name);
        if (!r) return tl::unexpected(std::move(r).error());
        (k == "sha256" ? s.sha256 : s.package) = std::move(*r);
        return false;
    }
    if (k == "host_file") {
        if (!v.is_boolean()) return type_error(name, "a boolean", v);
        s.host_file = v.get<bool>();
        return false;
    }
    return make_error(errc::parse_error, "unknown key '" + printable(name) + "' of a script");
}

// An exec's "container" object (docs/trace-format.md): "id" and "runtime"
// required; the text fields and "verified" optional.
[[nodiscard]] inline nlohmann::json container_to_json(const container_info& c) {
    nlohmann::json j = nlohmann::json::object();
    j["id"] = string_to_json(c.id);
    j["runtime"] = std::string(to_string(c.runtime));
    const auto text = [&j](const char* k, const std::string& v) {
        if (!v.empty()) j[k] = string_to_json(v);
    };
    text("cgroup", c.cgroup);
    text("name", c.name);
    text("image", c.image);
    text("pod_name", c.pod_name);
    text("pod_namespace", c.pod_namespace);
    text("pod_uid", c.pod_uid);
    text("k8s_container", c.k8s_container);
    if (c.verified) j["verified"] = true;
    if (!c.labels.empty()) {
        nlohmann::json labels = nlohmann::json::object();
        // A key is JSON text: labels come from the runtime's JSON, so a key
        // that is not UTF-8 cannot occur; one would be left out.
        for (const auto& [k, v] : c.labels)
            if (valid_utf8(k)) labels[k] = string_to_json(v);
        j["labels"] = std::move(labels);
    }
    return j;
}

// A container's "labels": an object of strings, made bounded (container.hpp).
[[nodiscard]] inline result<container_labels> labels_from_json(const nlohmann::json& v, std::string_view key) {
    if (!v.is_object()) return type_error(key, "an object of strings (a container's labels)", v);
    container_labels out;
    for (auto it = v.begin(); it != v.end(); ++it) {
        auto val = get_string(it.value(), std::string(key) + "." + it.key());
        if (!val) return tl::unexpected(std::move(val).error());
        out.emplace_back(it.key(), std::move(*val));
    }
    return bounded_labels(std::move(out));
}

[[nodiscard]] inline result<container_info> container_from_json(const nlohmann::json& v, std::string_view key) {
    if (!v.is_object()) return type_error(key, "an object (a container: id, runtime, ...)", v);
    container_info c;
    bool have_id = false, have_runtime = false;
    for (auto it = v.begin(); it != v.end(); ++it) {
        const std::string& k = it.key();
        const std::string name = std::string(key) + "." + k;
        if (k == "verified") {
            if (!it.value().is_boolean()) return type_error(name, "a boolean", it.value());
            c.verified = it.value().get<bool>();
            continue;
        }
        if (k == "labels") {
            auto labels = labels_from_json(it.value(), name);
            if (!labels) return tl::unexpected(std::move(labels).error());
            c.labels = std::move(*labels);
            continue;
        }
        std::string* field = k == "id"              ? &c.id
                             : k == "cgroup"        ? &c.cgroup
                             : k == "name"          ? &c.name
                             : k == "image"         ? &c.image
                             : k == "pod_name"      ? &c.pod_name
                             : k == "pod_namespace" ? &c.pod_namespace
                             : k == "pod_uid"       ? &c.pod_uid
                             : k == "k8s_container" ? &c.k8s_container
                                                    : nullptr;
        std::string runtime;
        if (k == "runtime") field = &runtime;
        if (field == nullptr)
            return make_error(errc::parse_error, "unknown key '" + printable(name) +
                                                     "' (a container has id, runtime, cgroup, name, image, pod_name, "
                                                     "pod_namespace, pod_uid, k8s_container, verified, labels)");
        auto r = get_string(it.value(), name);
        if (!r) return tl::unexpected(std::move(r).error());
        *field = std::move(*r);
        if (k == "runtime") {
            const auto rt = container_runtime_from(runtime);
            if (!rt)
                return key_error(name, "'" + printable(runtime) +
                                           "' is not a runtime (docker, containerd, cri-o, podman, kubernetes, lxc, unknown)");
            c.runtime = *rt;
            have_runtime = true;
        }
        if (k == "id") {
            if (c.id.empty()) return key_error(name, "is empty (a container has an id)");
            have_id = true;
        }
    }
    if (!have_id) return make_error(errc::parse_error, "missing required key '" + std::string(key) + ".id'");
    if (!have_runtime) return make_error(errc::parse_error, "missing required key '" + std::string(key) + ".runtime'");
    return c;
}

[[nodiscard]] inline result<script_identity> script_from_json(const nlohmann::json& v, std::string_view key) {
    if (!v.is_object()) return type_error(key, "an object (a script: path, dev, ino, ...)", v);
    script_identity s;
    bool have_path = false;
    for (auto it = v.begin(); it != v.end(); ++it) {
        auto r = script_key(s, it.key(), it.value(), std::string(key) + ".");
        if (!r) return tl::unexpected(std::move(r).error());
        have_path |= *r;
    }
    if (!have_path) return make_error(errc::parse_error, "missing required key '" + std::string(key) + ".path'");
    return s;
}

} // namespace detail

// The event as a JSON object with the keys of the trace format.
[[nodiscard]] inline nlohmann::json to_json(const event& e) {
    using nlohmann::json;
    json j = json::object();
    j["ts"] = static_cast<std::int64_t>(e.ts.count());
    j["kind"] = detail::kind_text(e);
    j["pid"] = e.pid;
    j["tid"] = e.tid;
    if (e.truncated) j["truncated"] = true;
    if (const auto* x = e.as<exec_event>()) {
        j["ppid"] = x->ppid;
        j["uid"] = x->uid;
        j["sid"] = x->sid;
        j["pgid"] = x->pgid;
        j["comm"] = detail::string_to_json(x->comm);
        j["exe"] = detail::string_to_json(x->exe);
        json argv = json::array();
        for (const auto& a : x->argv) argv.push_back(detail::string_to_json(a));
        j["argv"] = std::move(argv);
        j["exe_dev"] = x->exe_dev;
        j["exe_ino"] = x->exe_ino;
        j["sha256"] = detail::string_to_json(x->exe_sha256);
        if (x->exe_uid) j["exe_uid"] = *x->exe_uid;
        if (x->exe_mode) j["exe_mode"] = detail::format_octal_mode(*x->exe_mode);
        if (x->exe_host_file) j["exe_host_file"] = *x->exe_host_file;
        if (!x->exe_package.empty()) j["exe_package"] = detail::string_to_json(x->exe_package);
        if (x->script) j["script"] = detail::script_to_json(*x->script);
        if (x->foreign != 0) j["foreign"] = detail::foreign_to_json(x->foreign);
        if (x->cgroup_id != 0) j["cgroup_id"] = x->cgroup_id;
        if (x->container) j["container"] = detail::container_to_json(*x->container);
    } else if (const auto* fg = e.as<foreign_event>()) {
        j["target"] = fg->target;
        j["bits"] = detail::foreign_to_json(fg->bits);
    } else if (const auto* sc = e.as<script_event>()) {
        const nlohmann::json obj = detail::script_to_json(sc->script);
        for (auto it = obj.begin(); it != obj.end(); ++it) j[it.key()] = it.value();
    } else if (const auto* f = e.as<fork_event>()) {
        j["child_pid"] = f->child_pid;
        j["child_tid"] = f->child_tid;
    } else if (const auto* xt = e.as<exit_event>()) {
        j["exit_code"] = xt->exit_code;
    } else if (const auto* o = e.as<open_event>()) {
        j["path"] = detail::string_to_json(o->path);
        j["flags"] = o->flags;
        j["dev"] = o->dev;
        j["ino"] = o->ino;
        j["uid"] = o->uid;
        if (o->source != access_path::syscall) j["source"] = std::string(to_string(o->source));
    } else if (const auto* n = e.as<net_event>()) {
        j["addr"] = n->addr.to_string();
        j["port"] = n->port;
        j["proto"] = proto_text(n->protocol);
        j["uid"] = n->uid;
        if (n->sock != sock_kind::unknown) j["sock"] = std::string(to_string(n->sock));
        if (n->peer) j["peer"] = true;
        if (n->accepted) j["accepted"] = true;
        if (n->bytes != 0) j["bytes"] = n->bytes;
        if (n->conn_ts.count() != 0) j["conn_ts"] = static_cast<std::int64_t>(n->conn_ts.count());
        if (n->cookie != 0) j["cookie"] = n->cookie;
    } else if (const auto* w = e.as<write_event>()) {
        j["path"] = detail::string_to_json(w->path);
        j["dev"] = w->dev;
        j["ino"] = w->ino;
        j["bytes"] = w->bytes;
        j["uid"] = w->uid;
        if (w->source != access_path::syscall) j["source"] = std::string(to_string(w->source));
        if (w->how != write_how::write) j["how"] = std::string(to_string(w->how));
    } else if (const auto* fl = e.as<file_event>()) {
        j["path"] = detail::string_to_json(fl->path);
        j["dev"] = fl->dev;
        j["ino"] = fl->ino;
    } else if (const auto* b = e.as<binding_event>()) {
        j["path"] = detail::string_to_json(b->path);
        j["dev"] = b->dev;
        j["ino"] = b->ino;
        j["format"] = detail::string_to_json(b->format);
        nlohmann::json d = nlohmann::json::array();
        for (const bound_destination& x : b->destinations)
            d.push_back({{"host", detail::string_to_json(x.host)}, {"addr", x.addr.to_string()}, {"port", x.port}});
        j["destinations"] = std::move(d);
    }
    return j;
}

// An event from a JSON object with the keys of the trace format.
[[nodiscard]] inline result<event> event_from_json(const nlohmann::json& j) {
    using detail::get_int;
    using detail::key_error;
    using detail::line_kind;
    if (!j.is_object())
        return make_error(errc::parse_error, "expected a JSON object, got " + std::string(detail::json_type(j)));

    const auto kind_it = j.find("kind");
    if (kind_it == j.end()) return make_error(errc::parse_error, "missing required key 'kind'");
    if (!kind_it->is_string()) return detail::type_error("kind", "a string", *kind_it);
    const auto& kind_name = kind_it->get_ref<const std::string&>();
    const auto lk = detail::line_kind_from(kind_name);
    if (!lk)
        return key_error("kind", "unknown kind '" + detail::printable(kind_name) +
                                     "' (expected exec, fork, exit, open, write, connect, send, file, foreign, script or binding)");

    event e;
    exec_event* ex = nullptr;
    fork_event* fk = nullptr;
    exit_event* xt = nullptr;
    open_event* op = nullptr;
    net_event* nt = nullptr;
    write_event* wr = nullptr;
    file_event* fl = nullptr;
    foreign_event* fg = nullptr;
    script_event* sc = nullptr;
    binding_event* bd = nullptr;
    switch (*lk) {
    case line_kind::exec: ex = &e.body.emplace<exec_event>(); break;
    case line_kind::fork: fk = &e.body.emplace<fork_event>(); break;
    case line_kind::exit: xt = &e.body.emplace<exit_event>(); break;
    case line_kind::open: op = &e.body.emplace<open_event>(); break;
    case line_kind::connect:
        nt = &e.body.emplace<net_event>();
        nt->op = net_op::connect;
        nt->protocol = ip_proto::tcp;
        break;
    case line_kind::send:
        nt = &e.body.emplace<net_event>();
        nt->op = net_op::send;
        nt->protocol = ip_proto::udp;
        break;
    case line_kind::write: wr = &e.body.emplace<write_event>(); break;
    case line_kind::file: fl = &e.body.emplace<file_event>(); break;
    case line_kind::foreign: fg = &e.body.emplace<foreign_event>(); break;
    case line_kind::script: sc = &e.body.emplace<script_event>(); break;
    case line_kind::binding: bd = &e.body.emplace<binding_event>(); break;
    }

    bool have_bits = false;
    bool have_ts = false, have_pid = false, have_tid = false, have_required = false, have_child_tid = false,
         have_port = false, have_dev = false, have_ino = false;

// Assigns a checked value to `dest` or returns the error from the enclosing function.
#define BW_TRACE_SET(dest, expr)              \
    do {                                      \
        auto r_ = (expr);                     \
        if (!r_) return tl::unexpected(std::move(r_).error()); \
        dest = std::move(*r_);                \
    } while (0)

    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& k = it.key();
        const nlohmann::json& v = it.value();
        if (k == "kind") continue;
        if (k == "ts") {
            BW_TRACE_SET(e.ts, detail::get_time(v, k));
            have_ts = true;
        } else if (k == "pid") {
            BW_TRACE_SET(e.pid, get_int<pid_type>(v, k));
            have_pid = true;
        } else if (k == "tid") {
            BW_TRACE_SET(e.tid, get_int<pid_type>(v, k));
            have_tid = true;
        } else if (k == "truncated") {
            if (!v.is_boolean()) return detail::type_error(k, "a boolean", v);
            e.truncated = v.get<bool>();
        } else if (ex && k == "ppid") {
            BW_TRACE_SET(ex->ppid, get_int<pid_type>(v, k));
        } else if (ex && k == "uid") {
            BW_TRACE_SET(ex->uid, get_int<std::uint32_t>(v, k));
        } else if (ex && k == "sid") {
            BW_TRACE_SET(ex->sid, get_int<std::uint32_t>(v, k));
        } else if (ex && k == "pgid") {
            BW_TRACE_SET(ex->pgid, get_int<std::uint32_t>(v, k));
        } else if (ex && k == "comm") {
            BW_TRACE_SET(ex->comm, detail::get_string(v, k));
        } else if (ex && k == "exe") {
            BW_TRACE_SET(ex->exe, detail::get_string(v, k));
        } else if (ex && k == "argv") {
            if (!v.is_array()) return detail::type_error(k, "an array of strings", v);
            ex->argv.reserve(v.size());
            for (std::size_t i = 0; i < v.size(); ++i) {
                auto s = detail::get_string(v[i], "argv[" + std::to_string(i) + "]");
                if (!s) return tl::unexpected(std::move(s).error());
                ex->argv.push_back(std::move(*s));
            }
        } else if (ex && k == "exe_dev") {
            BW_TRACE_SET(ex->exe_dev, get_int<std::uint64_t>(v, k));
        } else if (ex && k == "exe_ino") {
            BW_TRACE_SET(ex->exe_ino, get_int<std::uint64_t>(v, k));
        } else if (ex && k == "sha256") {
            BW_TRACE_SET(ex->exe_sha256, detail::get_string(v, k));
        } else if (ex && k == "exe_uid") {
            BW_TRACE_SET(ex->exe_uid, get_int<std::uint32_t>(v, k));
        } else if (ex && k == "exe_host_file") {
            if (!v.is_boolean()) return detail::type_error(k, "a boolean", v);
            ex->exe_host_file = v.get<bool>();
        } else if (ex && k == "exe_package") {
            BW_TRACE_SET(ex->exe_package, detail::get_string(v, k));
        } else if (ex && k == "exe_mode") {
            if (v.is_string()) {
                const auto& text = v.get_ref<const std::string&>();
                ex->exe_mode = detail::parse_octal_mode(text);
                if (!ex->exe_mode)
                    return key_error(k, "'" + detail::printable(text) +
                                            "' is not a permission mode (octal digits, at most 07777, such as \"0755\")");
            } else if (v.is_number_integer()) {
                std::uint32_t m = 0;
                BW_TRACE_SET(m, get_int<std::uint32_t>(v, k));
                if (m > detail::max_exe_mode)
                    return key_error(k, std::to_string(m) + " is out of range 0..4095 (07777)");
                ex->exe_mode = m;
            } else {
                return detail::type_error(k, "an octal string such as \"0755\" or an integer 0..4095", v);
            }
        } else if (ex && k == "script") {
            BW_TRACE_SET(ex->script, detail::script_from_json(v, k));
        } else if (ex && k == "foreign") {
            BW_TRACE_SET(ex->foreign, detail::foreign_from_json(v, k));
        } else if (ex && k == "cgroup_id") {
            BW_TRACE_SET(ex->cgroup_id, get_int<std::uint64_t>(v, k));
        } else if (ex && k == "container") {
            auto c = detail::container_from_json(v, k);
            if (!c) return tl::unexpected(std::move(c).error());
            ex->container = std::move(*c);
        } else if (fg && k == "target") {
            BW_TRACE_SET(fg->target, get_int<pid_type>(v, k));
            have_required = true;
        } else if (fg && k == "bits") {
            BW_TRACE_SET(fg->bits, detail::foreign_from_json(v, k));
            if (fg->bits == 0) return key_error(k, "names no foreign code (a foreign line names at least one)");
            have_bits = true;
        } else if (sc) {
            auto r = detail::script_key(sc->script, k, v, "");
            if (!r) return tl::unexpected(std::move(r).error());
            have_required |= *r;
        } else if (fk && k == "child_pid") {
            BW_TRACE_SET(fk->child_pid, get_int<pid_type>(v, k));
            have_required = true;
        } else if (fk && k == "child_tid") {
            BW_TRACE_SET(fk->child_tid, get_int<pid_type>(v, k));
            have_child_tid = true;
        } else if (xt && k == "exit_code") {
            BW_TRACE_SET(xt->exit_code, get_int<std::int32_t>(v, k));
        } else if (op && k == "path") {
            BW_TRACE_SET(op->path, detail::get_string(v, k));
            have_required = true;
        } else if (op && k == "flags") {
            BW_TRACE_SET(op->flags, get_int<std::int32_t>(v, k));
        } else if (op && k == "dev") {
            BW_TRACE_SET(op->dev, get_int<std::uint64_t>(v, k));
        } else if (op && k == "ino") {
            BW_TRACE_SET(op->ino, get_int<std::uint64_t>(v, k));
        } else if (op && k == "uid") {
            BW_TRACE_SET(op->uid, get_int<std::uint32_t>(v, k));
        } else if (op && k == "source") {
            BW_TRACE_SET(op->source, detail::get_word(v, k, detail::parse_source, detail::source_words));
        } else if (wr && k == "path") {
            BW_TRACE_SET(wr->path, detail::get_string(v, k));
            have_required = true;
        } else if (wr && k == "dev") {
            BW_TRACE_SET(wr->dev, get_int<std::uint64_t>(v, k));
        } else if (wr && k == "ino") {
            BW_TRACE_SET(wr->ino, get_int<std::uint64_t>(v, k));
        } else if (wr && k == "bytes") {
            BW_TRACE_SET(wr->bytes, get_int<std::uint64_t>(v, k));
        } else if (wr && k == "uid") {
            BW_TRACE_SET(wr->uid, get_int<std::uint32_t>(v, k));
        } else if (wr && k == "source") {
            BW_TRACE_SET(wr->source, detail::get_word(v, k, detail::parse_source, detail::source_words));
        } else if (wr && k == "how") {
            BW_TRACE_SET(wr->how, detail::get_word(v, k, detail::parse_how, detail::how_words));
        } else if (nt && k == "addr") {
            if (!v.is_string()) return detail::type_error(k, "an IPv4 or IPv6 address string", v);
            const auto& text = v.get_ref<const std::string&>();
            const auto a = ip_address::parse(text);
            if (!a) return key_error(k, "'" + detail::printable(text) + "' is not an IPv4 or IPv6 address");
            nt->addr = *a;
            have_required = true;
        } else if (nt && k == "port") {
            BW_TRACE_SET(nt->port, get_int<std::uint16_t>(v, k));
            have_port = true;
        } else if (nt && k == "proto") {
            if (v.is_number_integer()) {
                std::uint8_t n = 0;
                BW_TRACE_SET(n, get_int<std::uint8_t>(v, k));
                nt->protocol = static_cast<ip_proto>(n);
            } else {
                BW_TRACE_SET(nt->protocol, detail::get_word(v, k, parse_proto, detail::proto_words));
            }
        } else if (nt && k == "uid") {
            BW_TRACE_SET(nt->uid, get_int<std::uint32_t>(v, k));
        } else if (nt && k == "sock") {
            BW_TRACE_SET(nt->sock, detail::get_word(v, k, detail::parse_sock, detail::sock_words));
        } else if (nt && k == "peer") {
            if (!v.is_boolean()) return detail::type_error(k, "a boolean", v);
            nt->peer = v.get<bool>();
        } else if (nt && k == "accepted") {
            if (!v.is_boolean()) return detail::type_error(k, "a boolean", v);
            nt->accepted = v.get<bool>();
        } else if (nt && k == "bytes") {
            BW_TRACE_SET(nt->bytes, get_int<std::uint64_t>(v, k));
        } else if (nt && k == "conn_ts") {
            BW_TRACE_SET(nt->conn_ts, detail::get_time(v, k));
        } else if (nt && k == "cookie") {
            BW_TRACE_SET(nt->cookie, get_int<std::uint64_t>(v, k));
        } else if (fl && k == "path") {
            BW_TRACE_SET(fl->path, detail::get_string(v, k));
            if (!detail::absolute_path(fl->path))
                return key_error(k, "'" + detail::printable(fl->path) +
                                        "' is not an absolute path (a file line names a file by its absolute path)");
            have_required = true;
        } else if (fl && k == "dev") {
            BW_TRACE_SET(fl->dev, get_int<std::uint64_t>(v, k));
            have_dev = true;
        } else if (fl && k == "ino") {
            BW_TRACE_SET(fl->ino, get_int<std::uint64_t>(v, k));
            have_ino = true;
        } else if (bd && k == "path") {
            BW_TRACE_SET(bd->path, detail::get_string(v, k));
            if (!detail::absolute_path(bd->path))
                return key_error(k, "'" + detail::printable(bd->path) + "' is not an absolute path");
            have_required = true;
        } else if (bd && k == "dev") {
            BW_TRACE_SET(bd->dev, get_int<std::uint64_t>(v, k));
            have_dev = true;
        } else if (bd && k == "ino") {
            BW_TRACE_SET(bd->ino, get_int<std::uint64_t>(v, k));
            have_ino = true;
        } else if (bd && k == "format") {
            BW_TRACE_SET(bd->format, detail::get_string(v, k));
        } else if (bd && k == "destinations") {
            if (!v.is_array()) return detail::type_error(k, "an array of {host, addr, port} objects", v);
            have_port = true;
            for (std::size_t i = 0; i < v.size(); ++i) {
                const std::string at = "destinations[" + std::to_string(i) + "]";
                const nlohmann::json& d = v[i];
                if (!d.is_object()) return detail::type_error(at, "an object with host, addr and port", d);
                bound_destination x;
                bool have_addr = false;
                for (auto di = d.begin(); di != d.end(); ++di) {
                    const std::string dk = at + "." + di.key();
                    if (di.key() == "host") {
                        BW_TRACE_SET(x.host, detail::get_string(di.value(), dk));
                    } else if (di.key() == "addr") {
                        if (!di.value().is_string()) return detail::type_error(dk, "an IPv4 or IPv6 address string", di.value());
                        const auto& text = di.value().get_ref<const std::string&>();
                        const auto a = ip_address::parse(text);
                        if (!a) return key_error(dk, "'" + detail::printable(text) + "' is not an IPv4 or IPv6 address");
                        x.addr = *a;
                        have_addr = true;
                    } else if (di.key() == "port") {
                        BW_TRACE_SET(x.port, get_int<std::uint16_t>(di.value(), dk));
                    } else {
                        return make_error(errc::parse_error, "unknown key '" + detail::printable(dk) + "' for kind 'binding'");
                    }
                }
                if (!have_addr) return make_error(errc::parse_error, "missing required key '" + at + ".addr' for kind 'binding'");
                bd->destinations.push_back(std::move(x));
            }
        } else {
            return make_error(errc::parse_error, "unknown key '" + detail::printable(k) + "' for kind '" + kind_name + "'");
        }
    }
#undef BW_TRACE_SET

    const auto missing = [&](std::string_view key) {
        return make_error(errc::parse_error, "missing required key '" + std::string(key) + "' for kind '" + kind_name + "'");
    };
    if (!have_ts) return missing("ts");
    if (!have_pid && !fl && !bd) return missing("pid"); // a file or binding line is nobody's: pid 0
    if (!have_tid) e.tid = e.pid;
    if (fk) {
        if (!have_required) return missing("child_pid");
        if (!have_child_tid) fk->child_tid = fk->child_pid;
    }
    if (op && !have_required) return missing("path");
    if (wr && !have_required) return missing("path");
    if (nt && !have_required) return missing("addr");
    if (nt && !have_port) return missing("port");
    if (fl && !have_required) return missing("path");
    if (fl && !have_dev) return missing("dev");
    if (fl && !have_ino) return missing("ino");
    if (fg && !have_required) return missing("target");
    if (fg && !have_bits) return missing("bits");
    if (sc && !have_required) return missing("path");
    if (bd && !have_required) return missing("path");
    if (bd && !have_dev) return missing("dev");
    if (bd && !have_ino) return missing("ino");
    if (bd && !have_port) return missing("destinations");
    return e;
}

// One trace line for the event, without a line end. See the format above.
[[nodiscard]] inline std::string format_trace_line(const event& e) {
    using detail::append_int;
    using detail::append_json_string;
    std::string out;
    out.reserve(128);
    out += "{\"ts\":";
    append_int(out, static_cast<std::int64_t>(e.ts.count()));
    out += ",\"kind\":\"";
    out += detail::kind_text(e);
    out += "\",\"pid\":";
    append_int(out, e.pid);
    out += ",\"tid\":";
    append_int(out, e.tid);
    if (e.truncated) out += ",\"truncated\":true";
    // "source" of an open or a write: only when not the default
    const auto append_source = [&out](access_path source) {
        if (source == access_path::syscall) return;
        out += ",\"source\":\"";
        out += to_string(source);
        out += '"';
    };
    if (const auto* x = e.as<exec_event>()) {
        out += ",\"ppid\":";
        append_int(out, x->ppid);
        out += ",\"uid\":";
        append_int(out, x->uid);
        out += ",\"sid\":";
        append_int(out, x->sid);
        out += ",\"pgid\":";
        append_int(out, x->pgid);
        out += ",\"comm\":";
        append_json_string(out, x->comm);
        out += ",\"exe\":";
        append_json_string(out, x->exe);
        out += ",\"argv\":[";
        for (std::size_t i = 0; i < x->argv.size(); ++i) {
            if (i) out += ',';
            append_json_string(out, x->argv[i]);
        }
        out += "],\"exe_dev\":";
        append_int(out, x->exe_dev);
        out += ",\"exe_ino\":";
        append_int(out, x->exe_ino);
        out += ",\"sha256\":";
        append_json_string(out, x->exe_sha256);
        if (x->exe_uid) {
            out += ",\"exe_uid\":";
            append_int(out, *x->exe_uid);
        }
        if (x->exe_mode) {
            out += ",\"exe_mode\":\"";
            out += detail::format_octal_mode(*x->exe_mode);
            out += '"';
        }
        if (x->exe_host_file) out += *x->exe_host_file ? ",\"exe_host_file\":true" : ",\"exe_host_file\":false";
        if (!x->exe_package.empty()) {
            out += ",\"exe_package\":";
            append_json_string(out, x->exe_package);
        }
        if (x->script) {
            out += ",\"script\":";
            out += detail::script_to_json(*x->script).dump();
        }
        if (x->foreign != 0) {
            out += ",\"foreign\":";
            out += detail::foreign_to_json(x->foreign).dump();
        }
        if (x->cgroup_id != 0) {
            out += ",\"cgroup_id\":";
            append_int(out, x->cgroup_id);
        }
        if (x->container) {
            out += ",\"container\":";
            out += detail::container_to_json(*x->container).dump();
        }
    } else if (const auto* fg = e.as<foreign_event>()) {
        out += ",\"target\":";
        append_int(out, fg->target);
        out += ",\"bits\":";
        out += detail::foreign_to_json(fg->bits).dump();
    } else if (const auto* sc = e.as<script_event>()) {
        const std::string obj = detail::script_to_json(sc->script).dump();
        out += ',';
        out.append(obj, 1, obj.size() - 2); // the object's keys, without its braces
    } else if (const auto* f = e.as<fork_event>()) {
        out += ",\"child_pid\":";
        append_int(out, f->child_pid);
        out += ",\"child_tid\":";
        append_int(out, f->child_tid);
    } else if (const auto* xt = e.as<exit_event>()) {
        out += ",\"exit_code\":";
        append_int(out, xt->exit_code);
    } else if (const auto* o = e.as<open_event>()) {
        out += ",\"path\":";
        append_json_string(out, o->path);
        out += ",\"flags\":";
        append_int(out, o->flags);
        out += ",\"dev\":";
        append_int(out, o->dev);
        out += ",\"ino\":";
        append_int(out, o->ino);
        out += ",\"uid\":";
        append_int(out, o->uid);
        append_source(o->source);
    } else if (const auto* n = e.as<net_event>()) {
        out += ",\"addr\":\"";
        out += n->addr.to_string();
        out += "\",\"port\":";
        append_int(out, n->port);
        out += ",\"proto\":\"";
        out += proto_text(n->protocol);
        out += "\",\"uid\":";
        append_int(out, n->uid);
        if (n->sock != sock_kind::unknown) {
            out += ",\"sock\":\"";
            out += to_string(n->sock);
            out += '"';
        }
        if (n->peer) out += ",\"peer\":true";
        if (n->accepted) out += ",\"accepted\":true";
        if (n->bytes != 0) {
            out += ",\"bytes\":";
            append_int(out, n->bytes);
        }
        if (n->conn_ts.count() != 0) {
            out += ",\"conn_ts\":";
            append_int(out, static_cast<std::int64_t>(n->conn_ts.count()));
        }
        if (n->cookie != 0) {
            out += ",\"cookie\":";
            append_int(out, n->cookie);
        }
    } else if (const auto* w = e.as<write_event>()) {
        out += ",\"path\":";
        append_json_string(out, w->path);
        out += ",\"dev\":";
        append_int(out, w->dev);
        out += ",\"ino\":";
        append_int(out, w->ino);
        out += ",\"bytes\":";
        append_int(out, w->bytes);
        out += ",\"uid\":";
        append_int(out, w->uid);
        append_source(w->source);
        if (w->how != write_how::write) {
            out += ",\"how\":\"";
            out += to_string(w->how);
            out += '"';
        }
    } else if (const auto* fl = e.as<file_event>()) {
        out += ",\"path\":";
        append_json_string(out, fl->path);
        out += ",\"dev\":";
        append_int(out, fl->dev);
        out += ",\"ino\":";
        append_int(out, fl->ino);
    } else if (const auto* b = e.as<binding_event>()) {
        out += ",\"path\":";
        append_json_string(out, b->path);
        out += ",\"dev\":";
        append_int(out, b->dev);
        out += ",\"ino\":";
        append_int(out, b->ino);
        out += ",\"format\":";
        append_json_string(out, b->format);
        out += ",\"destinations\":[";
        bool first = true;
        for (const bound_destination& x : b->destinations) {
            if (!first) out += ',';
            first = false;
            out += "{\"host\":";
            append_json_string(out, x.host);
            out += ",\"addr\":\"";
            out += x.addr.to_string();
            out += "\",\"port\":";
            append_int(out, x.port);
            out += '}';
        }
        out += ']';
    }
    out += '}';
    return out;
}

namespace detail {

// ---------------------------------------------------------------------------
// Fast path for parse_trace_line: a hand-written scanner that reads the line
// once (values stay text until the kind is known) and fills an event
// straight from the text of a well-formed line in the common form, without
// building a JSON value. It handles a flat object whose values are integers,
// strings (with the escapes \" \\ \/ \b \f \n \r \t), booleans and, for
// "argv", an array of strings.
//
// It never reports an error. On anything it does not fully understand (\u
// escapes, {"hex": ...} strings, null, floats and exponents, nesting, unknown,
// duplicate or misplaced keys, values of the wrong type or out of range, a
// missing required key, any JSON syntax error) it returns nullopt and
// parse_trace_line runs the nlohmann-based path, so the error messages stay
// those of that path. The contract, checked by the unit tests and fuzz_trace:
// whenever fast_parse_line returns an event, parse_trace_line_slow returns
// the same event for that line.
// ---------------------------------------------------------------------------

// The keys of the trace format, as bits of a mask.
enum class fast_key : std::uint8_t {
    ts, kind, pid, tid, truncated,
    ppid, uid, sid, pgid, comm, exe, argv, exe_dev, exe_ino, sha256, exe_uid, exe_mode, exe_host_file, exe_package,
    child_pid, child_tid,
    exit_code,
    path, flags, dev, ino, source,
    bytes, how,
    addr, port, proto, sock, peer, accepted, conn_ts, cookie,
    count
};

using fast_mask = std::uint64_t;
static_assert(static_cast<unsigned>(fast_key::count) <= 64, "fast_mask has a bit per key");

[[nodiscard]] constexpr fast_mask fast_bit(fast_key k) noexcept {
    return fast_mask{1} << static_cast<unsigned>(k);
}

template <class... K>
[[nodiscard]] constexpr fast_mask fast_bits(K... k) noexcept {
    return (fast_bit(k) | ...);
}

// Up to the first 8 bytes of a short text as one integer (byte i in bits
// 8i..8i+7), so the keys and words of the format compare without memcmp.
[[nodiscard]] constexpr std::uint64_t fast_pack(std::string_view s) noexcept {
    std::uint64_t w = 0;
    for (std::size_t i = 0; i < s.size() && i < 8; ++i)
        w |= std::uint64_t{static_cast<unsigned char>(s[i])} << (8 * i);
    return w;
}

// fast_pack of a word of the format, at compile time.
template <std::size_t N>
[[nodiscard]] consteval std::uint64_t fast_word(const char (&s)[N]) noexcept {
    return fast_pack(std::string_view(s, N - 1));
}

// fast_pack(s) for text inside a buffer that ends at `limit`: one 8-byte load
// when the buffer has room for it.
[[nodiscard]] inline std::uint64_t fast_pack_in(std::string_view s, const char* limit) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        if (limit - s.data() >= 8) {
            std::uint64_t w;
            std::memcpy(&w, s.data(), 8);
            return s.size() >= 8 ? w : w & ((std::uint64_t{1} << (8 * s.size())) - 1);
        }
    }
    return fast_pack(s);
}

// The key for its exact text, or fast_key::count for any other text.
// `limit` is the end of the buffer holding k (see fast_pack_in).
[[nodiscard]] inline fast_key fast_key_of(std::string_view k, const char* limit) noexcept {
    using enum fast_key;
    const std::uint64_t x = fast_pack_in(k, limit);
    switch (k.size()) {
    case 2:
        if (x == fast_word("ts")) return ts;
        break;
    case 3:
        if (x == fast_word("pid")) return pid;
        if (x == fast_word("tid")) return tid;
        if (x == fast_word("uid")) return uid;
        if (x == fast_word("exe")) return exe;
        if (x == fast_word("dev")) return dev;
        if (x == fast_word("ino")) return ino;
        if (x == fast_word("sid")) return sid;
        if (x == fast_word("how")) return how;
        break;
    case 4:
        if (x == fast_word("kind")) return kind;
        if (x == fast_word("path")) return path;
        if (x == fast_word("ppid")) return ppid;
        if (x == fast_word("comm")) return comm;
        if (x == fast_word("argv")) return argv;
        if (x == fast_word("addr")) return addr;
        if (x == fast_word("port")) return port;
        if (x == fast_word("pgid")) return pgid;
        if (x == fast_word("sock")) return sock;
        if (x == fast_word("peer")) return peer;
        break;
    case 5:
        if (x == fast_word("flags")) return flags;
        if (x == fast_word("proto")) return proto;
        if (x == fast_word("bytes")) return bytes;
        break;
    case 6:
        if (x == fast_word("sha256")) return sha256;
        if (x == fast_word("source")) return source;
        if (x == fast_word("cookie")) return cookie;
        break;
    case 7:
        if (x == fast_word("exe_dev")) return exe_dev;
        if (x == fast_word("exe_ino")) return exe_ino;
        if (x == fast_word("exe_uid")) return exe_uid;
        if (x == fast_word("conn_ts")) return conn_ts;
        break;
    case 8:
        if (x == fast_word("exe_mode")) return exe_mode;
        if (x == fast_word("accepted")) return accepted;
        break;
    case 9: // eight bytes and the last one
        if (x == fast_word("child_pi") && k[8] == 'd') return child_pid;
        if (x == fast_word("child_ti") && k[8] == 'd') return child_tid;
        if (x == fast_word("exit_cod") && k[8] == 'e') return exit_code;
        if (x == fast_word("truncate") && k[8] == 'd') return truncated;
        break;
    case 11:
        if (x == fast_word("exe_pack") && k.substr(8) == "age") return exe_package;
        break;
    case 13:
        if (x == fast_word("exe_host") && k.substr(8) == "_file") return exe_host_file;
        break;
    default: break;
    }
    return count;
}

// The kind for its exact text (as line_kind_from, without memcmp calls).
[[nodiscard]] inline std::optional<line_kind> fast_kind_of(std::string_view s, const char* limit) noexcept {
    if (s.size() != 4 && s.size() != 5 && s.size() != 7) return std::nullopt;
    const std::uint64_t x = fast_pack_in(s, limit);
    if (s.size() == 4) {
        if (x == fast_word("exec")) return line_kind::exec;
        if (x == fast_word("fork")) return line_kind::fork;
        if (x == fast_word("exit")) return line_kind::exit;
        if (x == fast_word("open")) return line_kind::open;
        if (x == fast_word("send")) return line_kind::send;
        if (x == fast_word("file")) return line_kind::file;
    } else if (s.size() == 5) {
        if (x == fast_word("write")) return line_kind::write;
    } else if (x == fast_word("connect")) {
        return line_kind::connect;
    }
    return std::nullopt;
}

enum class fast_type : std::uint8_t { integer, string, boolean, array };

// One scanned value, still as text where it is a string or an array.
struct fast_value {
    const char* begin;       // string: first byte of the body; array: first byte after '['
    const char* end;         // string: its closing quote; array: its ']'
    std::uint64_t magnitude; // integer: absolute value
    std::size_t elements;    // array: number of strings in it
    fast_type type;
    bool negative; // integer: had a '-' (so "-0" is 0, as nlohmann reads it)
    bool escaped;  // string: holds a backslash escape
    bool flag;     // boolean: its value
};

[[nodiscard]] inline bool fast_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

[[nodiscard]] inline const char* fast_skip_space(const char* p, const char* end) noexcept {
    while (p != end && fast_space(*p)) ++p;
    return p;
}

// The body of a JSON string, from just after its opening quote: returns its
// closing quote, or nullptr for a string the fast path leaves alone (no end,
// a control character, \u or an invalid escape, invalid UTF-8).
[[nodiscard]] inline const char* fast_string_end(const char* p, const char* end, bool& escaped) noexcept {
    const char* const start = p;
    bool high = false;
    while (p != end) {
        const auto c = static_cast<unsigned char>(*p);
        if (c == '"') {
            // Escapes are ASCII and never split a UTF-8 sequence that nlohmann
            // accepts, so checking the raw body is checking the string.
            if (high && !valid_utf8(std::string_view(start, static_cast<std::size_t>(p - start)))) return nullptr;
            return p;
        }
        if (c == '\\') {
            if (++p == end) return nullptr;
            switch (*p) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
            default: return nullptr;
            }
            escaped = true;
        } else if (c < 0x20) {
            return nullptr;
        } else if (c >= 0x80) {
            high = true;
        }
        ++p;
    }
    return nullptr;
}

// The text of a string body checked by fast_string_end, escapes resolved.
inline void fast_unescape(std::string& out, const char* p, const char* end) {
    out.clear();
    out.reserve(static_cast<std::size_t>(end - p));
    while (p != end) {
        const char* run = p;
        while (p != end && *p != '\\') ++p;
        out.append(run, p);
        if (p == end) break;
        ++p; // the escaped character, always there after fast_string_end
        switch (*p) {
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        default: out += *p; break; // '"', '\\', '/'
        }
        ++p;
    }
}

// A JSON integer, -?(0|[1-9][0-9]*), that nlohmann stores as a 64-bit integer
// (unsigned up to 2^64-1, negative down to -2^63). Returns the byte after it,
// or nullptr for anything else (a fraction or exponent, a bigger number).
[[nodiscard]] inline const char* fast_integer(const char* p, const char* end, fast_value& v) noexcept {
    v.negative = *p == '-';
    if (v.negative) ++p;
    if (p == end || *p < '0' || *p > '9') return nullptr;
    std::uint64_t m = 0;
    if (*p == '0') {
        ++p;
    } else {
        // 19 digits always fit 64 bits; a 20th may overflow; 21 always do.
        const char* const first = p;
        while (p != end && *p >= '0' && *p <= '9') ++p;
        const auto digits = static_cast<std::size_t>(p - first);
        if (digits > 20) return nullptr;
        for (std::size_t i = 0; i < digits && i < 19; ++i) m = m * 10 + static_cast<std::uint64_t>(first[i] - '0');
        if (digits == 20) {
            constexpr auto max = std::numeric_limits<std::uint64_t>::max();
            const auto d = static_cast<std::uint64_t>(first[19] - '0');
            if (m > max / 10 || (m == max / 10 && d > max % 10)) return nullptr;
            m = m * 10 + d;
        }
    }
    if (p != end && (*p == '.' || *p == 'e' || *p == 'E')) return nullptr;
    if (v.negative && m > (std::uint64_t{1} << 63)) return nullptr;
    v.magnitude = m;
    v.type = fast_type::integer;
    return p;
}

template <class T>
[[nodiscard]] inline bool fast_int(const fast_value& v, T& out) noexcept {
    if (v.type != fast_type::integer) return false;
    if (!v.negative) {
        if (!std::in_range<T>(v.magnitude)) return false;
        out = static_cast<T>(v.magnitude);
        return true;
    }
    const std::int64_t i = v.magnitude == (std::uint64_t{1} << 63) ? std::numeric_limits<std::int64_t>::min()
                                                                    : -static_cast<std::int64_t>(v.magnitude);
    if (!std::in_range<T>(i)) return false;
    out = static_cast<T>(i);
    return true;
}

[[nodiscard]] inline bool fast_string(const fast_value& v, std::string& out) {
    if (v.type != fast_type::string) return false;
    if (v.escaped) fast_unescape(out, v.begin, v.end);
    else out.assign(v.begin, v.end);
    return true;
}

// A short string value (kind, ts, addr, proto, a word) as a view: the raw body, or
// the unescaped text in `scratch`.
[[nodiscard]] inline bool fast_text(const fast_value& v, std::string& scratch, std::string_view& out) {
    if (v.type != fast_type::string) return false;
    if (v.escaped) {
        fast_unescape(scratch, v.begin, v.end);
        out = scratch;
    } else {
        out = std::string_view(v.begin, static_cast<std::size_t>(v.end - v.begin));
    }
    return true;
}

// A time value ("ts", "conn_ts"): integer nanoseconds or a string with a
// unit that parse_ts_text takes.
[[nodiscard]] inline bool fast_time(const fast_value& v, std::string& scratch, nanoseconds& out) {
    if (v.type == fast_type::string) {
        std::string_view text;
        if (!fast_text(v, scratch, text)) return false;
        const auto r = parse_ts_text(text);
        if (!r) return false;
        out = *r;
        return true;
    }
    std::int64_t n = 0;
    if (!fast_int(v, n)) return false;
    out = nanoseconds{n};
    return true;
}

// A word value (source, how, sock, proto) that `parse` knows.
template <class T, class Parse>
[[nodiscard]] inline bool fast_word_value(const fast_value& v, std::string& scratch, Parse parse, T& out) {
    std::string_view text;
    if (!fast_text(v, scratch, text)) return false;
    const auto w = parse(text);
    if (!w) return false;
    out = *w;
    return true;
}

// The strings of an array checked by the scanner.
[[nodiscard]] inline bool fast_string_array(const fast_value& v, std::vector<std::string>& out) {
    if (v.type != fast_type::array) return false;
    out.reserve(v.elements);
    const char* p = fast_skip_space(v.begin, v.end);
    while (p != v.end) {
        bool escaped = false;
        const char* const body = p + 1; // p is at the opening quote
        const char* const close = fast_string_end(body, v.end, escaped);
        if (close == nullptr) return false;
        auto& s = out.emplace_back();
        if (escaped) fast_unescape(s, body, close);
        else s.assign(body, close);
        p = fast_skip_space(close + 1, v.end);
        if (p != v.end) p = fast_skip_space(p + 1, v.end); // the ','
    }
    return true;
}

// The event of a line in the common form, or nullopt when the line needs the
// full parser (see above). Blank lines and comments are nullopt too.
[[nodiscard]] inline std::optional<event> fast_parse_line(std::string_view line) {
    using enum fast_key;
    const char* p = line.data();
    const char* const end = p + line.size();

    // Pass 1: scan the object into one value per key.
    fast_value values[static_cast<std::size_t>(count)];
    fast_mask seen = 0;
    p = fast_skip_space(p, end);
    if (p == end || *p != '{') return std::nullopt;
    p = fast_skip_space(p + 1, end);
    for (;;) {
        if (p == end || *p != '"') return std::nullopt; // also "{}" and a trailing comma
        const char* const key_begin = ++p;
        while (p != end && *p != '"' && *p != '\\') ++p;
        if (p == end || *p != '"') return std::nullopt;
        const fast_key k = fast_key_of(std::string_view(key_begin, static_cast<std::size_t>(p - key_begin)), end);
        if (k == count || (seen & fast_bit(k))) return std::nullopt; // unknown or duplicate
        seen |= fast_bit(k);
        p = fast_skip_space(p + 1, end);
        if (p == end || *p != ':') return std::nullopt;
        p = fast_skip_space(p + 1, end);
        if (p == end) return std::nullopt;
        fast_value& v = values[static_cast<std::size_t>(k)];
        const char c = *p;
        if (c == '"') {
            v.type = fast_type::string;
            v.escaped = false;
            v.begin = p + 1;
            v.end = fast_string_end(v.begin, end, v.escaped);
            if (v.end == nullptr) return std::nullopt;
            p = v.end + 1;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            p = fast_integer(p, end, v);
            if (p == nullptr) return std::nullopt;
        } else if (c == 't' || c == 'f') {
            const std::string_view word = c == 't' ? "true" : "false";
            if (static_cast<std::size_t>(end - p) < word.size() || std::string_view(p, word.size()) != word)
                return std::nullopt;
            v.type = fast_type::boolean;
            v.flag = c == 't';
            p += word.size();
        } else if (c == '[' && k == argv) {
            v.type = fast_type::array;
            v.elements = 0;
            v.begin = p + 1;
            p = fast_skip_space(p + 1, end);
            if (p != end && *p != ']') {
                for (;;) {
                    if (p == end || *p != '"') return std::nullopt;
                    bool escaped = false;
                    const char* const close = fast_string_end(p + 1, end, escaped);
                    if (close == nullptr) return std::nullopt;
                    ++v.elements;
                    p = fast_skip_space(close + 1, end);
                    if (p == end) return std::nullopt;
                    if (*p == ']') break;
                    if (*p != ',') return std::nullopt;
                    p = fast_skip_space(p + 1, end);
                }
            }
            if (p == end) return std::nullopt;
            v.end = p;
            ++p;
        } else {
            return std::nullopt; // null, objects, other arrays, anything else
        }
        p = fast_skip_space(p, end);
        if (p == end) return std::nullopt;
        if (*p == '}') break;
        if (*p != ',') return std::nullopt;
        p = fast_skip_space(p + 1, end);
    }
    if (fast_skip_space(p + 1, end) != end) return std::nullopt;

    // Pass 2: the kind decides which keys are allowed and required.
    constexpr fast_mask common = fast_bits(ts, kind, pid, tid, truncated);
    if (!(seen & fast_bit(kind))) return std::nullopt;
    std::string scratch;
    std::string_view kind_name;
    if (!fast_text(values[static_cast<std::size_t>(kind)], scratch, kind_name)) return std::nullopt;
    const auto lk = fast_kind_of(kind_name, kind_name.data() == scratch.data() ? kind_name.data() + kind_name.size() : end);
    if (!lk) return std::nullopt;
    fast_mask allowed = common;
    fast_mask required = fast_bits(ts, pid);
    switch (*lk) {
    case line_kind::exec:
        allowed |= fast_bits(ppid, uid, sid, pgid, comm, exe, argv, exe_dev, exe_ino, sha256, exe_uid, exe_mode,
                             exe_host_file, exe_package);
        break;
    case line_kind::fork:
        allowed |= fast_bits(child_pid, child_tid);
        required |= fast_bit(child_pid);
        break;
    case line_kind::exit: allowed |= fast_bit(exit_code); break;
    case line_kind::open:
        allowed |= fast_bits(path, flags, dev, ino, uid, source);
        required |= fast_bit(path);
        break;
    case line_kind::write:
        allowed |= fast_bits(path, dev, ino, bytes, uid, source, how);
        required |= fast_bit(path);
        break;
    case line_kind::connect:
    case line_kind::send:
        allowed |= fast_bits(addr, port, proto, uid, sock, peer, accepted, bytes, conn_ts, cookie);
        required |= fast_bits(addr, port);
        break;
    case line_kind::file:
        allowed |= fast_bits(path, dev, ino);
        required = fast_bits(ts, path, dev, ino); // pid is optional: a file line is nobody's
        break;
    case line_kind::foreign:
    case line_kind::script:
    case line_kind::binding: return std::nullopt; // the slow path (fast_kind_of never says so)
    }
    if ((seen & ~allowed) != 0 || (seen & required) != required) return std::nullopt;

    const auto has = [&](fast_key k) { return (seen & fast_bit(k)) != 0; };
    const auto val = [&](fast_key k) -> const fast_value& { return values[static_cast<std::size_t>(k)]; };
    // An optional integer key: absent leaves the default, present must fit.
    const auto opt_int = [&](fast_key k, auto& dest) { return !has(k) || fast_int(val(k), dest); };
    const auto opt_string = [&](fast_key k, std::string& dest) { return !has(k) || fast_string(val(k), dest); };
    const auto opt_bool = [&](fast_key k, bool& dest) {
        if (!has(k)) return true;
        if (val(k).type != fast_type::boolean) return false;
        dest = val(k).flag;
        return true;
    };
    // An optional key holding a word of a list (parse_source, parse_how, ...).
    const auto opt_word = [&](fast_key k, auto parse, auto& dest) {
        return !has(k) || fast_word_value(val(k), scratch, parse, dest);
    };

    event e;
    if (!fast_time(val(ts), scratch, e.ts)) return std::nullopt;
    if (!opt_int(pid, e.pid)) return std::nullopt; // required (checked above) for all kinds but file
    e.tid = e.pid;
    if (!opt_int(tid, e.tid)) return std::nullopt;
    if (!opt_bool(truncated, e.truncated)) return std::nullopt;

    switch (*lk) {
    case line_kind::exec: {
        auto& x = e.body.emplace<exec_event>();
        if (!opt_int(ppid, x.ppid) || !opt_int(uid, x.uid) || !opt_int(sid, x.sid) || !opt_int(pgid, x.pgid) ||
            !opt_int(exe_dev, x.exe_dev) || !opt_int(exe_ino, x.exe_ino) || !opt_string(comm, x.comm) ||
            !opt_string(exe, x.exe) || !opt_string(sha256, x.exe_sha256) || !opt_string(exe_package, x.exe_package))
            return std::nullopt;
        if (has(exe_host_file)) {
            if (val(exe_host_file).type != fast_type::boolean) return std::nullopt;
            x.exe_host_file = val(exe_host_file).flag;
        }
        if (has(exe_uid)) {
            std::uint32_t u = 0;
            if (!fast_int(val(exe_uid), u)) return std::nullopt;
            x.exe_uid = u;
        }
        if (has(exe_mode)) {
            const fast_value& mv = val(exe_mode);
            std::uint32_t m = 0;
            if (mv.type == fast_type::string) {
                std::string_view text;
                if (!fast_text(mv, scratch, text)) return std::nullopt;
                const auto pm = parse_octal_mode(text);
                if (!pm) return std::nullopt;
                m = *pm;
            } else if (!fast_int(mv, m) || m > max_exe_mode) {
                return std::nullopt;
            }
            x.exe_mode = m;
        }
        if (has(argv) && !fast_string_array(val(argv), x.argv)) return std::nullopt;
        break;
    }
    case line_kind::fork: {
        auto& f = e.body.emplace<fork_event>();
        if (!fast_int(val(child_pid), f.child_pid)) return std::nullopt;
        f.child_tid = f.child_pid;
        if (!opt_int(child_tid, f.child_tid)) return std::nullopt;
        break;
    }
    case line_kind::exit: {
        auto& x = e.body.emplace<exit_event>();
        if (!opt_int(exit_code, x.exit_code)) return std::nullopt;
        break;
    }
    case line_kind::open: {
        auto& o = e.body.emplace<open_event>();
        if (!fast_string(val(path), o.path) || !opt_int(flags, o.flags) || !opt_int(dev, o.dev) ||
            !opt_int(ino, o.ino) || !opt_int(uid, o.uid) || !opt_word(source, parse_source, o.source))
            return std::nullopt;
        break;
    }
    case line_kind::write: {
        auto& w = e.body.emplace<write_event>();
        if (!fast_string(val(path), w.path) || !opt_int(dev, w.dev) || !opt_int(ino, w.ino) ||
            !opt_int(bytes, w.bytes) || !opt_int(uid, w.uid) || !opt_word(source, parse_source, w.source) ||
            !opt_word(how, parse_how, w.how))
            return std::nullopt;
        break;
    }
    case line_kind::connect:
    case line_kind::send: {
        auto& n = e.body.emplace<net_event>();
        const bool send = *lk == line_kind::send;
        n.op = send ? net_op::send : net_op::connect;
        n.protocol = send ? ip_proto::udp : ip_proto::tcp;
        std::string_view text;
        if (!fast_text(val(addr), scratch, text)) return std::nullopt;
        const auto a = ip_address::parse(text);
        if (!a) return std::nullopt;
        n.addr = *a;
        if (!fast_int(val(port), n.port) || !opt_int(uid, n.uid) || !opt_word(sock, parse_sock, n.sock) ||
            !opt_bool(peer, n.peer) || !opt_bool(accepted, n.accepted) || !opt_int(bytes, n.bytes) ||
            !opt_int(cookie, n.cookie))
            return std::nullopt;
        if (has(proto)) {
            if (val(proto).type == fast_type::integer) {
                std::uint8_t number = 0;
                if (!fast_int(val(proto), number)) return std::nullopt;
                n.protocol = static_cast<ip_proto>(number);
            } else if (!fast_word_value(val(proto), scratch, parse_proto, n.protocol)) {
                return std::nullopt;
            }
        }
        if (has(conn_ts) && !fast_time(val(conn_ts), scratch, n.conn_ts)) return std::nullopt;
        break;
    }
    case line_kind::file: {
        auto& fl = e.body.emplace<file_event>();
        if (!fast_string(val(path), fl.path) || !absolute_path(fl.path) || !fast_int(val(dev), fl.dev) ||
            !fast_int(val(ino), fl.ino))
            return std::nullopt;
        break;
    }
    case line_kind::foreign:
    case line_kind::script:
    case line_kind::binding: return std::nullopt;
    }
    return e;
}

// parse_trace_line without the fast path: nlohmann::json builds the value and
// event_from_json reads it. Kept callable so tests and fuzz_trace can check
// that both paths agree.
[[nodiscard]] inline result<std::optional<event>> parse_trace_line_slow(std::string_view line, std::size_t line_no = 0) {
    if (line.size() > max_trace_line) return make_error(errc::parse_error, detail::too_long(line_no, max_trace_line));
    std::size_t first = 0;
    while (first < line.size() && (line[first] == ' ' || line[first] == '\t' || line[first] == '\r')) ++first;
    if (first == line.size() || line[first] == '#') return std::optional<event>{};
    try {
        const auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded()) {
            detail::error_sax sax;
            nlohmann::json::sax_parse(line.begin(), line.end(), &sax);
            if (sax.message.empty()) sax.message = "invalid JSON";
            return make_error(errc::parse_error, detail::with_line(line_no, std::move(sax.message)));
        }
        auto e = event_from_json(j);
        if (!e) return make_error(errc::parse_error, detail::with_line(line_no, std::move(e.error().message)));
        return std::optional<event>{std::move(*e)};
    } catch (const nlohmann::json::exception& ex) {
        return make_error(errc::parse_error, detail::with_line(line_no, "invalid JSON: " + detail::printable(ex.what(), 160)));
    }
}

} // namespace detail

// Parses one line (without its '\n'; a trailing '\r' is allowed). Returns
// nullopt for a blank line or a comment (first non-blank character '#').
// Error messages start with "line N: " when line_no > 0.
// Lines in the common form take detail::fast_parse_line; everything else,
// errors included, goes through the full JSON parser.
[[nodiscard]] inline result<std::optional<event>> parse_trace_line(std::string_view line, std::size_t line_no = 0) {
    if (line.size() <= max_trace_line) {
        if (auto e = detail::fast_parse_line(line)) return std::optional<event>{std::move(*e)};
    }
    return detail::parse_trace_line_slow(line, line_no);
}

// A whole trace text: the events of the good lines and one error per bad line.
struct trace_contents {
    std::vector<event> events;
    std::vector<error> errors;
};

namespace detail {

// Strips the line end and, on line 1, a UTF-8 byte-order mark.
[[nodiscard]] inline std::string_view clean_line(std::string_view line, std::size_t line_no) noexcept {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    return line;
}

} // namespace detail

// max_line_bytes lowers the line limit (never above max_trace_line).
[[nodiscard]] inline trace_contents read_trace(std::string_view text, std::size_t max_line_bytes = max_trace_line) {
    trace_contents out;
    const std::size_t max = max_line_bytes < max_trace_line ? max_line_bytes : max_trace_line;
    std::size_t line_no = 0;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++line_no;
        line = detail::clean_line(line, line_no);
        if (line.size() > max) {
            out.errors.push_back(error{errc::parse_error, detail::too_long(line_no, max)});
            continue;
        }
        auto r = parse_trace_line(line, line_no);
        if (!r) out.errors.push_back(std::move(r.error()));
        else if (*r) out.events.push_back(std::move(**r));
    }
    return out;
}

// An incremental trace reader for callers that do their own I/O:
//
//   trace_reader rd;
//   while (read a chunk) {
//       rd.feed(chunk);
//       while (auto item = rd.next()) { *item ? use(**item) : report((*item).error()); }
//   }
//   rd.finish();
//   while (auto item = rd.next()) { ... }   // a last line without '\n'
//
// Lines may be split anywhere across chunks; "\r\n" line ends and a final line
// without a line end are accepted. A line longer than the limit is reported
// as soon as it is seen and then skipped up to its '\n', so memory stays
// bounded by about the limit plus the chunk size.
class trace_reader {
public:
    // max_line_bytes lowers the line limit (never above max_trace_line).
    explicit trace_reader(std::size_t max_line_bytes = max_trace_line)
        : max_(max_line_bytes < max_trace_line ? max_line_bytes : max_trace_line) {}

    // Appends input. Data fed after finish() is still read.
    void feed(std::string_view chunk) {
        if (pos_ == buf_.size()) {
            buf_.clear();
            pos_ = scan_ = 0;
        } else if (pos_ > 0 && pos_ >= buf_.size() / 2) {
            buf_.erase(0, pos_);
            scan_ -= pos_;
            pos_ = 0;
        }
        if (skipping_) {
            // The rest of an over-long line already reported: drop it on arrival.
            const std::size_t nl = chunk.find('\n');
            if (nl == std::string_view::npos) return;
            chunk.remove_prefix(nl + 1);
            skipping_ = false;
        }
        buf_.append(chunk);
    }

    // Marks the end of the input: a last line without '\n' becomes readable.
    void finish() noexcept { eof_ = true; }

    // The next event or error, or nullopt when no whole line is buffered (or,
    // after finish(), when everything has been read).
    [[nodiscard]] std::optional<result<event>> next() {
        for (;;) {
            const std::size_t nl = buf_.find('\n', scan_);
            std::size_t end = nl;
            if (nl == std::string::npos) {
                scan_ = buf_.size();
                const std::size_t pending = buf_.size() - pos_;
                // +4: room for a '\r' before the '\n' and a byte-order mark on line 1,
                // which clean_line() strips before the limit applies.
                if (pending > max_ + 4) {
                    ++line_;
                    skipping_ = true;
                    pos_ = scan_ = buf_.size();
                    return result<event>(make_error(errc::parse_error, detail::too_long(line_, max_)));
                }
                if (!eof_ || pending == 0) {
                    if (eof_) skipping_ = false;
                    return std::nullopt;
                }
                end = buf_.size();
            }
            std::string_view line = std::string_view(buf_).substr(pos_, end - pos_);
            pos_ = scan_ = (nl == std::string::npos) ? end : nl + 1;
            ++line_;
            line = detail::clean_line(line, line_);
            if (line.size() > max_) return result<event>(make_error(errc::parse_error, detail::too_long(line_, max_)));
            auto r = parse_trace_line(line, line_);
            if (!r) return result<event>(tl::unexpect, std::move(r.error()));
            if (*r) return result<event>(std::move(**r));
        }
    }

    // Lines consumed so far: the line number of the item next() last returned.
    [[nodiscard]] std::size_t line() const noexcept { return line_; }

    // Bytes buffered and not yet consumed.
    [[nodiscard]] std::size_t buffered() const noexcept { return buf_.size() - pos_; }

private:
    std::string buf_;
    std::size_t pos_ = 0;  // start of the unconsumed bytes
    std::size_t scan_ = 0; // where the search for the next '\n' resumes
    std::size_t line_ = 0;
    std::size_t max_;
    bool skipping_ = false; // dropping the rest of an over-long line
    bool eof_ = false;
};

} // namespace barbwire
