#pragma once
// Ring-buffer bytes <-> event.
//
// decode() is a pure function from the bytes of one ring-buffer record to an
// event. It never reads outside the span it is given, copies the header and
// the record into aligned locals with memcpy (ring-buffer records are not
// guaranteed to be aligned for the record type) and bounds every string by
// its field.
//
// Checks, in this order (the first failing one is reported):
//   1. the span holds a whole header                      -> short_record
//   2. header.version == BW_ABI_VERSION                   -> bad_version
//      (checked before the kind: another ABI version may number kinds differently)
//   3. header.kind is a known BW_EVENT_*                  -> unknown_kind
//   4. header.size == number of bytes given               -> size_mismatch
//   5. the bytes are exactly the kind's record size       -> short_record / oversized_record
//   6. field domains                                      -> bad_field
//        net: family AF_INET/AF_INET6, op connect/send, protocol TCP/UDP
//        exec: argv_size <= BW_ARGV_MAX;  open: path_size <= BW_PATH_MAX
// Unknown header flag bits and the explicit padding fields are ignored, so a
// newer kernel side may add flags without breaking older readers.
//
// Field mapping:
//   event.pid = hdr.tgid (process id), event.tid = hdr.pid (thread id),
//   event.ts = hdr.ktime_ns (as a signed nanosecond count; values above
//   INT64_MAX wrap, and encode() restores the same bits),
//   event.truncated = hdr.flags & BW_F_TRUNCATED;
//   fork: child_pid = child_tgid, child_tid = child_pid;
//   strings stop at their first NUL and never run past their field; open.path
//   is further bounded by path_size; argv is split on NUL within argv_size
//   ("a\0b\0" -> {"a","b"}; a trailing NUL does not make an empty element, but
//   "a\0\0" -> {"a",""}); an IPv4 address keeps bytes 4..15 zero.
//
// encode() is the inverse, for tests, fuzzing and benchmarks: it fills a
// zeroed record, cuts strings that do not fit their field (and sets
// BW_F_TRUNCATED when it does), so decode(encode(e)) == e for every event whose
// strings fit and hold no NUL, whose IPv4 address has zero bytes 4..15, and
// whose address family is AF_INET or AF_INET6. exec_event::exe_sha256 is
// sensor-side enrichment and has no place in the record: encode() drops it.
//
// A file_event (event_kind::file) is not a kernel record: the sensor makes it
// from stat(2) (see event.hpp). decode() never produces one (its kind number
// is outside 1..BW_EVENT_KIND_MAX), record_size() of it is 0, encode_into()
// writes nothing and returns 0, and encode() returns an unknown_kind error.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "barbwire/abi/events.h"
#include "barbwire/error.hpp"
#include "barbwire/event.hpp"

// ---------------------------------------------------------------------------
// ABI layout, checked at compile time. These numbers are what clang -target
// bpf produces for abi/events.h; a change on either side must fail here.
// ---------------------------------------------------------------------------
#define BW_CHECK_FIELD(type, field, off, sz)                                        \
    static_assert(offsetof(type, field) == (off), #type "." #field " moved");      \
    static_assert(sizeof(type::field) == (sz), #type "." #field " changed size")

BW_CHECK_FIELD(bw_event_header, kind, 0, 2);
BW_CHECK_FIELD(bw_event_header, version, 2, 1);
BW_CHECK_FIELD(bw_event_header, flags, 3, 1);
BW_CHECK_FIELD(bw_event_header, size, 4, 4);
BW_CHECK_FIELD(bw_event_header, ktime_ns, 8, 8);
BW_CHECK_FIELD(bw_event_header, pid, 16, 4);
BW_CHECK_FIELD(bw_event_header, tgid, 20, 4);
static_assert(sizeof(bw_event_header) == 24, "bw_event_header changed size");

BW_CHECK_FIELD(bw_exec_event, hdr, 0, 24);
BW_CHECK_FIELD(bw_exec_event, ppid, 24, 4);
BW_CHECK_FIELD(bw_exec_event, uid, 28, 4);
BW_CHECK_FIELD(bw_exec_event, sid, 32, 4);
BW_CHECK_FIELD(bw_exec_event, pgid, 36, 4);
BW_CHECK_FIELD(bw_exec_event, exe_dev, 40, 8);
BW_CHECK_FIELD(bw_exec_event, exe_ino, 48, 8);
BW_CHECK_FIELD(bw_exec_event, argv_size, 56, 2);
BW_CHECK_FIELD(bw_exec_event, _pad0, 58, 2);
BW_CHECK_FIELD(bw_exec_event, _pad1, 60, 4);
BW_CHECK_FIELD(bw_exec_event, comm, 64, BW_COMM_LEN);
BW_CHECK_FIELD(bw_exec_event, exe, 80, BW_PATH_MAX);
BW_CHECK_FIELD(bw_exec_event, argv, 592, BW_ARGV_MAX);
static_assert(sizeof(bw_exec_event) == 848, "bw_exec_event changed size");

BW_CHECK_FIELD(bw_fork_event, hdr, 0, 24);
BW_CHECK_FIELD(bw_fork_event, child_pid, 24, 4);
BW_CHECK_FIELD(bw_fork_event, child_tgid, 28, 4);
static_assert(sizeof(bw_fork_event) == 32, "bw_fork_event changed size");

BW_CHECK_FIELD(bw_exit_event, hdr, 0, 24);
BW_CHECK_FIELD(bw_exit_event, exit_code, 24, 4);
BW_CHECK_FIELD(bw_exit_event, _pad0, 28, 4);
static_assert(sizeof(bw_exit_event) == 32, "bw_exit_event changed size");

BW_CHECK_FIELD(bw_open_event, hdr, 0, 24);
BW_CHECK_FIELD(bw_open_event, dev, 24, 8);
BW_CHECK_FIELD(bw_open_event, ino, 32, 8);
BW_CHECK_FIELD(bw_open_event, flags, 40, 4);
BW_CHECK_FIELD(bw_open_event, uid, 44, 4);
BW_CHECK_FIELD(bw_open_event, path_size, 48, 2);
BW_CHECK_FIELD(bw_open_event, _pad0, 50, 2);
BW_CHECK_FIELD(bw_open_event, _pad1, 52, 4);
BW_CHECK_FIELD(bw_open_event, path, 56, BW_PATH_MAX);
static_assert(sizeof(bw_open_event) == 568, "bw_open_event changed size");

BW_CHECK_FIELD(bw_net_event, hdr, 0, 24);
BW_CHECK_FIELD(bw_net_event, family, 24, 2);
BW_CHECK_FIELD(bw_net_event, port, 26, 2);
BW_CHECK_FIELD(bw_net_event, protocol, 28, 1);
BW_CHECK_FIELD(bw_net_event, op, 29, 1);
BW_CHECK_FIELD(bw_net_event, _pad0, 30, 2);
BW_CHECK_FIELD(bw_net_event, uid, 32, 4);
BW_CHECK_FIELD(bw_net_event, addr, 36, 16);
BW_CHECK_FIELD(bw_net_event, _pad1, 52, 4);
static_assert(sizeof(bw_net_event) == 56, "bw_net_event changed size");

#undef BW_CHECK_FIELD

static_assert(BW_ABI_VERSION == 1, "ABI version changed: review decode() and the asserts above");
static_assert(BW_EVENT_KIND_MAX == BW_EVENT_NET, "a new record kind needs a decoder");
static_assert(static_cast<unsigned>(barbwire::event_kind::file) > BW_EVENT_KIND_MAX,
              "event_kind::file is not a kernel record: its number must stay outside the BW_EVENT_* range");
static_assert(AF_INET == 2 && AF_INET6 == 10, "the ABI documents AF_INET as 2 and AF_INET6 as 10");
static_assert(IPPROTO_TCP == 6 && IPPROTO_UDP == 17);

namespace barbwire {

// Size in bytes of the ring-buffer record of a kind; 0 for a kind that has
// no record (event_kind::file, made by the sensor).
[[nodiscard]] constexpr std::size_t record_size(event_kind k) noexcept {
    switch (k) {
    case event_kind::exec: return sizeof(bw_exec_event);
    case event_kind::fork: return sizeof(bw_fork_event);
    case event_kind::exit: return sizeof(bw_exit_event);
    case event_kind::open: return sizeof(bw_open_event);
    case event_kind::net: return sizeof(bw_net_event);
    case event_kind::file: return 0;
    }
    return 0;
}

// Whether events of kind `k` come from (and encode to) a ring-buffer record.
[[nodiscard]] constexpr bool is_kernel_record(event_kind k) noexcept { return record_size(k) != 0; }

// The largest record of any kind: a buffer this big fits encode_into() for any event.
inline constexpr std::size_t max_record_size = sizeof(bw_exec_event);

namespace detail {

// A string from a fixed char field: at most `max` bytes, up to the first NUL.
[[nodiscard]] inline std::string field_string(const char* field, std::size_t max) {
    const void* nul = std::memchr(field, '\0', max);
    const std::size_t len = nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - field) : max;
    return std::string(field, len);
}

// Splits `size` bytes of NUL-separated arguments. A final NUL terminates the
// last argument rather than starting an empty one.
[[nodiscard]] inline std::vector<std::string> split_argv(const char* data, std::size_t size) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < size) {
        const void* nul = std::memchr(data + start, '\0', size - start);
        const std::size_t end = nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - data) : size;
        out.emplace_back(data + start, end - start);
        start = end + 1;
    }
    return out;
}

[[nodiscard]] inline std::string_view kind_name(std::uint16_t kind) noexcept {
    switch (kind) {
    case BW_EVENT_EXEC: return "exec";
    case BW_EVENT_FORK: return "fork";
    case BW_EVENT_EXIT: return "exit";
    case BW_EVENT_OPEN: return "open";
    case BW_EVENT_NET: return "net";
    default: return "unknown";
    }
}

// Copies s into a char field of `cap` bytes (already zeroed). Returns false if
// it had to cut the string.
inline bool put_string(char* field, std::size_t cap, std::string_view s) noexcept {
    const std::size_t n = s.size() < cap ? s.size() : cap;
    if (n > 0) std::memcpy(field, s.data(), n);
    return n == s.size();
}

// Joins argv as NUL-separated arguments into a field of `cap` bytes (zeroed).
// The NUL after the last argument is left out when only it does not fit and
// the argument is not empty: decode() gives back the same list either way.
// Returns the bytes used and sets `cut` when arguments did not fit.
inline std::size_t put_argv(char* field, std::size_t cap, const std::vector<std::string>& argv, bool& cut) noexcept {
    std::size_t used = 0;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        const std::size_t room = cap - used;
        if (a.size() > room) {
            if (room > 0) std::memcpy(field + used, a.data(), room);
            used = cap;
            cut = true;
            return used;
        }
        if (!a.empty()) std::memcpy(field + used, a.data(), a.size());
        used += a.size();
        const bool last = i + 1 == argv.size();
        if (used < cap) {
            ++used; // the terminating NUL (field is zeroed)
        } else if (!last || a.empty()) {
            cut = true; // a NUL was needed to keep what follows (or an empty last argument)
            return used;
        }
    }
    return used;
}

template <class Record>
[[nodiscard]] inline Record load(std::span<const std::byte> bytes) noexcept {
    static_assert(std::is_trivially_copyable_v<Record>);
    Record r;
    std::memcpy(&r, bytes.data(), sizeof(Record));
    return r;
}

} // namespace detail

// Decodes one ring-buffer record. Throws nothing but std::bad_alloc.
[[nodiscard]] inline result<event> decode(std::span<const std::byte> bytes) {
    const std::size_t n = bytes.size();
    if (n < sizeof(bw_event_header))
        return make_error(errc::short_record, "record is " + std::to_string(n) + " bytes, shorter than the " +
                                                  std::to_string(sizeof(bw_event_header)) + "-byte header");
    const auto hdr = detail::load<bw_event_header>(bytes);
    if (hdr.version != BW_ABI_VERSION)
        return make_error(errc::bad_version, "record has ABI version " + std::to_string(hdr.version) +
                                                 ", expected " + std::to_string(BW_ABI_VERSION));
    if (hdr.kind < BW_EVENT_EXEC || hdr.kind > BW_EVENT_KIND_MAX)
        return make_error(errc::unknown_kind, "unknown record kind " + std::to_string(hdr.kind) + " (known: 1.." +
                                                  std::to_string(BW_EVENT_KIND_MAX) + ")");
    if (hdr.size != n)
        return make_error(errc::size_mismatch, std::string(detail::kind_name(hdr.kind)) + " record header says " +
                                                   std::to_string(hdr.size) + " bytes, got " + std::to_string(n));
    const auto kind = static_cast<event_kind>(hdr.kind);
    const std::size_t want = record_size(kind);
    if (n < want)
        return make_error(errc::short_record, std::string(to_string(kind)) + " record is " + std::to_string(n) +
                                                  " bytes, needs " + std::to_string(want));
    if (n > want)
        return make_error(errc::oversized_record, std::string(to_string(kind)) + " record is " + std::to_string(n) +
                                                      " bytes, expected " + std::to_string(want));

    event ev;
    ev.ts = nanoseconds{static_cast<nanoseconds::rep>(hdr.ktime_ns)};
    ev.pid = hdr.tgid;
    ev.tid = hdr.pid;
    ev.truncated = (hdr.flags & BW_F_TRUNCATED) != 0;

    switch (kind) {
    case event_kind::exec: {
        const auto r = detail::load<bw_exec_event>(bytes);
        if (r.argv_size > BW_ARGV_MAX)
            return make_error(errc::bad_field, "exec record argv_size " + std::to_string(r.argv_size) +
                                                   " exceeds the " + std::to_string(BW_ARGV_MAX) + "-byte argv field");
        exec_event x;
        x.ppid = r.ppid;
        x.uid = r.uid;
        x.sid = r.sid;
        x.pgid = r.pgid;
        x.exe_dev = r.exe_dev;
        x.exe_ino = r.exe_ino;
        x.comm = detail::field_string(r.comm, sizeof(r.comm));
        x.exe = detail::field_string(r.exe, sizeof(r.exe));
        x.argv = detail::split_argv(r.argv, r.argv_size);
        ev.body = std::move(x);
        break;
    }
    case event_kind::fork: {
        const auto r = detail::load<bw_fork_event>(bytes);
        ev.body = fork_event{.child_pid = r.child_tgid, .child_tid = r.child_pid};
        break;
    }
    case event_kind::exit: {
        const auto r = detail::load<bw_exit_event>(bytes);
        ev.body = exit_event{.exit_code = r.exit_code};
        break;
    }
    case event_kind::open: {
        const auto r = detail::load<bw_open_event>(bytes);
        if (r.path_size > BW_PATH_MAX)
            return make_error(errc::bad_field, "open record path_size " + std::to_string(r.path_size) +
                                                   " exceeds the " + std::to_string(BW_PATH_MAX) + "-byte path field");
        open_event x;
        x.path = detail::field_string(r.path, r.path_size);
        x.flags = r.flags;
        x.dev = r.dev;
        x.ino = r.ino;
        x.uid = r.uid;
        ev.body = std::move(x);
        break;
    }
    case event_kind::net: {
        const auto r = detail::load<bw_net_event>(bytes);
        if (r.family != AF_INET && r.family != AF_INET6)
            return make_error(errc::bad_field, "net record family " + std::to_string(r.family) +
                                                   " is neither AF_INET (2) nor AF_INET6 (10)");
        if (r.op != BW_NET_CONNECT && r.op != BW_NET_SEND)
            return make_error(errc::bad_field, "net record op " + std::to_string(r.op) +
                                                   " is neither connect (1) nor send (2)");
        if (r.protocol != IPPROTO_TCP && r.protocol != IPPROTO_UDP)
            return make_error(errc::bad_field, "net record protocol " + std::to_string(r.protocol) +
                                                   " is neither TCP (6) nor UDP (17)");
        net_event x;
        x.op = static_cast<net_op>(r.op);
        x.protocol = static_cast<ip_proto>(r.protocol);
        x.addr.family = r.family;
        const std::size_t addr_len = r.family == AF_INET ? 4 : 16;
        std::memcpy(x.addr.bytes.data(), r.addr, addr_len);
        x.port = r.port;
        x.uid = r.uid;
        ev.body = x;
        break;
    }
    case event_kind::file: // unreachable: the kind check above rejects 100, but never build a wrong event
        return make_error(errc::unknown_kind, "file events are not kernel records");
    }
    return ev;
}

// Writes the record for `ev` into `out`, which need not be aligned. Returns the
// record size, or 0 (writing nothing) when `out` is smaller than the record
// or `ev` has no record (a file_event: is_kernel_record() is false).
// Strings that do not fit their field are cut and BW_F_TRUNCATED is set; the
// flag is also set when ev.truncated is.
[[nodiscard]] inline std::size_t encode_into(const event& ev, std::span<std::byte> out) noexcept {
    const event_kind kind = ev.kind();
    const std::size_t size = record_size(kind);
    if (size == 0 || out.size() < size) return 0;

    bw_event_header hdr{};
    hdr.kind = static_cast<std::uint16_t>(kind);
    hdr.version = BW_ABI_VERSION;
    hdr.flags = ev.truncated ? BW_F_TRUNCATED : 0;
    hdr.size = static_cast<std::uint32_t>(size);
    hdr.ktime_ns = static_cast<std::uint64_t>(ev.ts.count());
    hdr.pid = ev.tid;
    hdr.tgid = ev.pid;

    const auto store = [&](auto& rec, bool cut) {
        if (cut) hdr.flags |= BW_F_TRUNCATED;
        rec.hdr = hdr;
        std::memcpy(out.data(), &rec, sizeof(rec));
    };

    switch (kind) {
    case event_kind::exec: {
        const auto& x = *ev.as<exec_event>();
        bw_exec_event r{};
        r.ppid = x.ppid;
        r.uid = x.uid;
        r.sid = x.sid;
        r.pgid = x.pgid;
        r.exe_dev = x.exe_dev;
        r.exe_ino = x.exe_ino;
        bool cut = !detail::put_string(r.comm, sizeof(r.comm), x.comm);
        cut |= !detail::put_string(r.exe, sizeof(r.exe), x.exe);
        r.argv_size = static_cast<std::uint16_t>(detail::put_argv(r.argv, sizeof(r.argv), x.argv, cut));
        store(r, cut);
        break;
    }
    case event_kind::fork: {
        const auto& x = *ev.as<fork_event>();
        bw_fork_event r{};
        r.child_tgid = x.child_pid;
        r.child_pid = x.child_tid;
        store(r, false);
        break;
    }
    case event_kind::exit: {
        bw_exit_event r{};
        r.exit_code = ev.as<exit_event>()->exit_code;
        store(r, false);
        break;
    }
    case event_kind::open: {
        const auto& x = *ev.as<open_event>();
        bw_open_event r{};
        r.dev = x.dev;
        r.ino = x.ino;
        r.flags = x.flags;
        r.uid = x.uid;
        const bool cut = !detail::put_string(r.path, sizeof(r.path), x.path);
        r.path_size = static_cast<std::uint16_t>(cut ? sizeof(r.path) : x.path.size());
        store(r, cut);
        break;
    }
    case event_kind::net: {
        const auto& x = *ev.as<net_event>();
        bw_net_event r{};
        r.family = x.addr.family;
        r.port = x.port;
        r.protocol = static_cast<std::uint8_t>(x.protocol);
        r.op = static_cast<std::uint8_t>(x.op);
        r.uid = x.uid;
        std::memcpy(r.addr, x.addr.bytes.data(), x.addr.family == AF_INET ? 4 : 16);
        store(r, false);
        break;
    }
    case event_kind::file: return 0; // not a kernel record (size is 0: returned above)
    }
    return size;
}

// The record for `ev` as a new buffer (see encode_into), or an unknown_kind
// error for an event that has no ring-buffer record (a file_event).
[[nodiscard]] inline result<std::vector<std::byte>> encode(const event& ev) {
    if (!is_kernel_record(ev.kind()))
        return make_error(errc::unknown_kind, std::string(to_string(ev.kind())) +
                                                  " events are made by the sensor, not the kernel: they have no "
                                                  "ring-buffer record to encode");
    std::vector<std::byte> out(record_size(ev.kind()));
    const std::size_t n = encode_into(ev, out);
    out.resize(n);
    return out;
}

} // namespace barbwire
