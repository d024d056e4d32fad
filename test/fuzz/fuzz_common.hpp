#pragma once
// Properties shared by the harnesses.

#include <string>

#include "barbwire/decode.hpp"
#include "barbwire/trace.hpp"
#include "fuzz_check.hpp"

namespace barbwire::fuzz {

// Every error message is one non-empty line.
inline void check_error(const error& e) {
    BW_FUZZ_CHECK(!e.message.empty());
    BW_FUZZ_CHECK(e.message.find('\n') == std::string::npos);
    BW_FUZZ_CHECK(to_string(e.code) != "unknown");
}

// Whether decode(encode(e)) must give e back: every string fits its field and
// holds no NUL, and there is no sensor-side enrichment (exe_sha256 is not in
// the ring-buffer record, and neither are exe_uid / exe_mode).
inline bool fits_record(const event& e) {
    const auto ok = [](const std::string& s, std::size_t cap) {
        return s.size() <= cap && s.find('\0') == std::string::npos;
    };
    if (const auto* x = e.as<exec_event>()) {
        if (!ok(x->comm, BW_COMM_LEN) || !ok(x->exe, BW_PATH_MAX) || !x->exe_sha256.empty() || x->exe_uid ||
            x->exe_mode || x->exe_host_file || !x->exe_package.empty() || x->container)
            return false; // the sensor's enrichment is not in the record
        // a script exec's record holds the name only (pending), NUL-terminated
        if (x->script && (!ok(x->script->path, BW_SCRIPT_MAX - 1) || x->script->path.empty() ||
                          !(x->script == std::optional<script_identity>(script_identity{x->script->path}))))
            return false;
        std::size_t used = 0;
        for (const auto& a : x->argv) {
            if (a.find('\0') != std::string::npos) return false;
            used += a.size() + 1;
        }
        // the NUL after a non-empty last argument may be left out
        if (!x->argv.empty() && !x->argv.back().empty() && used == BW_ARGV_MAX + 1) used = BW_ARGV_MAX;
        return used <= BW_ARGV_MAX;
    }
    if (const auto* o = e.as<open_event>()) return ok(o->path, BW_PATH_MAX);
    if (const auto* sc = e.as<script_event>()) {
        const script_identity& s = sc->script; // the record holds path, dev and ino
        return ok(s.path, BW_PATH_MAX) && !s.uid && !s.mode && s.sha256.empty() && s.package.empty() && !s.host_file;
    }
    if (const auto* w = e.as<write_event>()) return ok(w->path, BW_PATH_MAX);
    if (e.as<file_event>() != nullptr) return false; // no record at all
    if (const auto* n = e.as<net_event>()) {
        if (n->addr.family != AF_INET && n->addr.family != AF_INET6) return false;
        if (n->addr.family == AF_INET)
            for (std::size_t i = 4; i < 16; ++i)
                if (n->addr.bytes[i] != 0) return false;
    }
    return true;
}

// Whether a string field holds a NUL (decode() stops at the first one).
inline bool has_nul(const event& e) {
    const auto nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
    if (const auto* x = e.as<exec_event>()) {
        if (nul(x->comm) || nul(x->exe)) return true;
        if (x->script && nul(x->script->path)) return true; // the pending script name
        for (const auto& a : x->argv)
            if (nul(a)) return true;
    }
    if (const auto* sc = e.as<script_event>()) return nul(sc->script.path);
    if (const auto* o = e.as<open_event>()) return nul(o->path);
    if (const auto* w = e.as<write_event>()) return nul(w->path);
    return false;
}

// Every way an event leaves and re-enters the library gives it back.
inline void check_round_trips(const event& e) {
    const std::string line = format_trace_line(e);
    BW_FUZZ_CHECK(line.find('\n') == std::string::npos);
    auto parsed = parse_trace_line(line, 1);
    BW_FUZZ_CHECK(parsed.has_value());
    BW_FUZZ_CHECK(parsed->has_value());
    BW_FUZZ_CHECK(**parsed == e);

    const auto j = to_json(e);
    BW_FUZZ_CHECK(nlohmann::json::parse(line, nullptr, false) == j);
    auto from_json = event_from_json(j);
    BW_FUZZ_CHECK(from_json.has_value());
    BW_FUZZ_CHECK(*from_json == e);

    const auto bytes = encode(e);
    if (!is_kernel_record(e.kind())) {
        // a file event (made by the sensor) has no record: a clear error, nothing written
        BW_FUZZ_CHECK(e.as<file_event>() != nullptr);
        BW_FUZZ_CHECK(!bytes.has_value());
        check_error(bytes.error());
        BW_FUZZ_CHECK(bytes.error().code == errc::unknown_kind);
        std::byte buf[max_record_size];
        BW_FUZZ_CHECK(encode_into(e, buf) == 0);
        // what a file line holds: an absolute path
        BW_FUZZ_CHECK(!e.as<file_event>()->path.empty() && e.as<file_event>()->path.front() == '/');
        return;
    }
    BW_FUZZ_CHECK(bytes.has_value());
    BW_FUZZ_CHECK(bytes->size() == record_size(e.kind()));
    auto decoded = decode(*bytes);
    BW_FUZZ_CHECK(decoded.has_value());
    BW_FUZZ_CHECK(decoded->kind() == e.kind());
    if (fits_record(e)) BW_FUZZ_CHECK(*decoded == e);
    // cutting is stable: a cut record decodes to an event that encodes to the
    // same bytes (NULs inside strings are the exception: decode stops there)
    if (!has_nul(e)) {
        const auto again = encode(*decoded);
        BW_FUZZ_CHECK(again.has_value() && *again == *bytes);
    }
}

} // namespace barbwire::fuzz
