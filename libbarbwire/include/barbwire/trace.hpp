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
//   "kind"      required. "exec" | "fork" | "exit" | "open" | "connect" | "send".
//   "pid"       required. Process id (kernel tgid), 0..2^32-1.
//   "tid"       thread id (kernel pid); defaults to pid.
//   "truncated" boolean, default false: the kernel cut a string field.
// Keys per kind (all optional unless marked; numbers default to 0, strings to ""):
//   exec     "ppid" "uid" "sid" "pgid" (u32), "comm" "exe" (string),
//            "argv" (array of strings), "exe_dev" "exe_ino" (u64),
//            "sha256" (string: the executable's SHA-256, empty when unknown)
//   fork     "child_pid" (required, u32), "child_tid" (u32, defaults to child_pid)
//   exit     "exit_code" (i32)
//   open     "path" (required, string), "flags" (i32), "dev" "ino" (u64), "uid" (u32)
//   connect  "addr" (required, IPv4 or IPv6 text), "port" (required, 0..65535),
//   send     "proto" ("tcp" | "udp"; default "tcp" for connect, "udp" for send), "uid" (u32)
// Strings are JSON strings. A string that is not valid UTF-8 (file names are
// bytes) is written as {"hex": "<two lowercase hex digits per byte>"}, and that
// form is accepted wherever a string is.
//
// Errors: a key the kind does not have is an error naming the key (typos do not
// pass silently); a value of the wrong type names the key and the expected
// type; a number outside its field's range is an error. A line longer than
// max_trace_line bytes is an error. A bad line never hides the lines around it.
//
// format_trace_line() writes every key (in the order above; "truncated" only
// when true) with ts as integer nanoseconds, and parse_trace_line() reads it
// back: parse(format(e)) == e for every event with a valid address family.
//
// Pure: no I/O here. Callers read the bytes and push them through
// trace_reader (streaming) or read_trace (a whole text).

#include <charconv>
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

#include "barbwire/error.hpp"
#include "barbwire/event.hpp"

namespace barbwire {

// Longest trace line accepted, in bytes (without the line end).
inline constexpr std::size_t max_trace_line = 64 * 1024;

namespace detail {

// Strict UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF),
// the same rule nlohmann::json applies when it parses or dumps.
[[nodiscard]] inline bool valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* const end = p + s.size();
    while (p != end) {
        const unsigned c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t len = 0;
        unsigned lo = 0x80, hi = 0xBF; // range of the second byte
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) len = 3, lo = 0xA0;
        else if (c >= 0xE1 && c <= 0xEC) len = 3;
        else if (c == 0xED) len = 3, hi = 0x9F;
        else if (c >= 0xEE && c <= 0xEF) len = 3;
        else if (c == 0xF0) len = 4, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else if (c == 0xF4) len = 4, hi = 0x8F;
        else return false;
        if (static_cast<std::size_t>(end - p) < len) return false;
        if (p[1] < lo || p[1] > hi) return false;
        for (std::size_t i = 2; i < len; ++i)
            if (p[i] < 0x80 || p[i] > 0xBF) return false;
        p += len;
    }
    return true;
}

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

// "ts" as a string: a decimal number with a unit (ns, us, ms, s), e.g. "1.5s".
[[nodiscard]] inline result<nanoseconds> parse_ts_text(std::string_view text) {
    const auto bad = [&](std::string_view why) {
        return key_error("ts", "\"" + printable(text) + "\" " + std::string(why));
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

enum class line_kind : std::uint8_t { exec, fork, exit, open, connect, send };

[[nodiscard]] inline std::optional<line_kind> line_kind_from(std::string_view s) noexcept {
    if (s == "exec") return line_kind::exec;
    if (s == "fork") return line_kind::fork;
    if (s == "exit") return line_kind::exit;
    if (s == "open") return line_kind::open;
    if (s == "connect") return line_kind::connect;
    if (s == "send") return line_kind::send;
    return std::nullopt;
}

[[nodiscard]] inline std::string_view kind_text(const event& e) noexcept {
    switch (e.kind()) {
    case event_kind::exec: return "exec";
    case event_kind::fork: return "fork";
    case event_kind::exit: return "exit";
    case event_kind::open: return "open";
    case event_kind::net: return e.as<net_event>()->op == net_op::send ? "send" : "connect";
    }
    return "exec";
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
    } else if (const auto* n = e.as<net_event>()) {
        j["addr"] = n->addr.to_string();
        j["port"] = n->port;
        j["proto"] = std::string(to_string(n->protocol));
        j["uid"] = n->uid;
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
                                     "' (expected exec, fork, exit, open, connect or send)");

    event e;
    exec_event* ex = nullptr;
    fork_event* fk = nullptr;
    exit_event* xt = nullptr;
    open_event* op = nullptr;
    net_event* nt = nullptr;
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
    }

    bool have_ts = false, have_pid = false, have_tid = false, have_required = false, have_child_tid = false,
         have_port = false;

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
            if (v.is_string()) {
                BW_TRACE_SET(e.ts, detail::parse_ts_text(v.get_ref<const std::string&>()));
            } else if (v.is_number_integer()) {
                std::int64_t t = 0;
                BW_TRACE_SET(t, get_int<std::int64_t>(v, k));
                e.ts = nanoseconds{t};
            } else {
                return detail::type_error(k, "integer nanoseconds or a string like \"1.5s\"", v);
            }
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
            if (!v.is_string()) return detail::type_error(k, "\"tcp\" or \"udp\"", v);
            const auto& p = v.get_ref<const std::string&>();
            if (p == "tcp") nt->protocol = ip_proto::tcp;
            else if (p == "udp") nt->protocol = ip_proto::udp;
            else return key_error(k, "'" + detail::printable(p) + "' is not \"tcp\" or \"udp\"");
        } else if (nt && k == "uid") {
            BW_TRACE_SET(nt->uid, get_int<std::uint32_t>(v, k));
        } else {
            return make_error(errc::parse_error, "unknown key '" + detail::printable(k) + "' for kind '" + kind_name + "'");
        }
    }
#undef BW_TRACE_SET

    const auto missing = [&](std::string_view key) {
        return make_error(errc::parse_error, "missing required key '" + std::string(key) + "' for kind '" + kind_name + "'");
    };
    if (!have_ts) return missing("ts");
    if (!have_pid) return missing("pid");
    if (!have_tid) e.tid = e.pid;
    if (fk) {
        if (!have_required) return missing("child_pid");
        if (!have_child_tid) fk->child_tid = fk->child_pid;
    }
    if (op && !have_required) return missing("path");
    if (nt && !have_required) return missing("addr");
    if (nt && !have_port) return missing("port");
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
    } else if (const auto* n = e.as<net_event>()) {
        out += ",\"addr\":\"";
        out += n->addr.to_string();
        out += "\",\"port\":";
        append_int(out, n->port);
        out += ",\"proto\":\"";
        out += to_string(n->protocol);
        out += "\",\"uid\":";
        append_int(out, n->uid);
    }
    out += '}';
    return out;
}

// Parses one line (without its '\n'; a trailing '\r' is allowed). Returns
// nullopt for a blank line or a comment (first non-blank character '#').
// Error messages start with "line N: " when line_no > 0.
[[nodiscard]] inline result<std::optional<event>> parse_trace_line(std::string_view line, std::size_t line_no = 0) {
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
