#pragma once
// Ring-buffer bytes <-> event.
//
// decode_record() is a pure function from the bytes of one ring-buffer
// record to a kernel_record: an event, or an open_repeat (BW_EVENT_OPEN_REPEAT,
// a repeated open whose path the kernel filter left out; see
// kernel_filter.hpp), with what the kernel filter said about a full open
// (filter_tag). decode() is decode_record() for callers that want events
// only: it rejects a repeat record (unknown_kind: it is no event on its own).
//
// decode_record_into() and decode_into() are the same decoders filling a
// record or event the caller keeps across records: its strings and argv
// keep their capacity, so a ring-buffer reader does not allocate per record.
// Same values, same errors; a record that fails leaves the target as it was.
// decode_into(bytes, event_slots&) keeps one event per record kind, so a
// stream of mixed kinds keeps the capacity too.
//
// Decoding never reads outside the span it is given. It copies the header
// and every fixed-width field into aligned locals with memcpy (ring-buffer
// records are not guaranteed to be aligned for the record type), reads
// strings from the bytes in place and bounds every string by its field.
//
// Checks, in this order (the first failing one is reported):
//   1. the span holds a whole header                      -> short_record
//   2. header.version == BW_ABI_VERSION                   -> bad_version
//      (checked before the kind: another ABI version may number kinds differently)
//   3. header.kind is a known BW_EVENT_*                  -> unknown_kind
//   4. header.size == number of bytes given               -> size_mismatch
//   5. the bytes are exactly the kind's record size       -> short_record / oversized_record
//   6. field domains                                      -> bad_field
//        net: family AF_INET/AF_INET6, op connect/send (the protocol may be
//        any number: a raw socket's), sock_type one of
//        0 (unknown), SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_DCCP
//        exec: argv_size <= BW_ARGV_MAX;  open: path_size <= BW_PATH_MAX,
//        filter a BW_OPEN_* value, source a BW_SRC_* value, and key.ino == ino
//        unless unfiltered; open_repeat: key.ino == ino, source a BW_SRC_*;
//        write: path_size <= BW_PATH_MAX, source a BW_SRC_*, how a BW_WRITE_*
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
//   "a\0\0" -> {"a",""}); an IPv4 address keeps bytes 4..15 zero;
//   net: net_flags BW_NETF_PEER -> peer, BW_NETF_ACCEPTED -> accepted (other
//   bits ignored), conn_ns -> conn_ts, cookie and bytes as they are.
//
// encode() is the inverse, for tests, fuzzing and benchmarks: it fills a
// zeroed record, cuts strings that do not fit their field (and sets
// BW_F_TRUNCATED when it does), so decode(encode(e)) == e for every event whose
// strings fit and hold no NUL, whose IPv4 address has zero bytes 4..15, and
// whose address family is AF_INET or AF_INET6. exec_event::exe_sha256 is
// sensor-side enrichment and has no place in the record: encode() drops it.
//
// encode_into(ev, tag, out) also writes a full open's filter_tag, and
// encode_repeat_into() / encode_repeat() write repeat records, with the same
// round-trip property (decode_record gives back the tag and the repeat).
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
#include <variant>
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
static_assert(BW_SYS_VM_WRITE <= BW_SYS_ACTION_MASK, "every system call action fits in BW_SYS_ACTION_BITS");

BW_CHECK_FIELD(bw_exec_event, hdr, 0, 24);
BW_CHECK_FIELD(bw_exec_event, ppid, 24, 4);
BW_CHECK_FIELD(bw_exec_event, uid, 28, 4);
BW_CHECK_FIELD(bw_exec_event, sid, 32, 4);
BW_CHECK_FIELD(bw_exec_event, pgid, 36, 4);
BW_CHECK_FIELD(bw_exec_event, exe_dev, 40, 8);
BW_CHECK_FIELD(bw_exec_event, exe_ino, 48, 8);
BW_CHECK_FIELD(bw_exec_event, argv_size, 56, 2);
BW_CHECK_FIELD(bw_exec_event, exec_flags, 58, 2);
BW_CHECK_FIELD(bw_exec_event, foreign, 60, 4);
BW_CHECK_FIELD(bw_exec_event, comm, 64, BW_COMM_LEN);
BW_CHECK_FIELD(bw_exec_event, exe, 80, BW_PATH_MAX);
BW_CHECK_FIELD(bw_exec_event, argv, 592, BW_ARGV_MAX);
BW_CHECK_FIELD(bw_exec_event, script, 848, BW_SCRIPT_MAX);
BW_CHECK_FIELD(bw_exec_event, cgroup_id, 976, 8);
static_assert(sizeof(bw_exec_event) == 984, "bw_exec_event changed size");

BW_CHECK_FIELD(bw_foreign_event, hdr, 0, 24);
BW_CHECK_FIELD(bw_foreign_event, target_tgid, 24, 4);
BW_CHECK_FIELD(bw_foreign_event, bits, 28, 4);
BW_CHECK_FIELD(bw_foreign_event, how, 32, 4);
BW_CHECK_FIELD(bw_foreign_event, _pad0, 36, 4);
static_assert(sizeof(bw_foreign_event) == 40, "bw_foreign_event changed size");

BW_CHECK_FIELD(bw_script_event, hdr, 0, 24);
BW_CHECK_FIELD(bw_script_event, dev, 24, 8);
BW_CHECK_FIELD(bw_script_event, ino, 32, 8);
BW_CHECK_FIELD(bw_script_event, path_size, 40, 2);
BW_CHECK_FIELD(bw_script_event, path, 48, BW_PATH_MAX);
static_assert(sizeof(bw_script_event) == 560, "bw_script_event changed size");

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
BW_CHECK_FIELD(bw_open_event, source, 50, 1);
BW_CHECK_FIELD(bw_open_event, _pad0, 51, 1);
BW_CHECK_FIELD(bw_open_event, _pad1, 52, 4);
BW_CHECK_FIELD(bw_open_event, path, 56, BW_PATH_MAX);
BW_CHECK_FIELD(bw_open_event, key, 568, 48);
BW_CHECK_FIELD(bw_open_event, gen, 616, 8);
BW_CHECK_FIELD(bw_open_event, filter, 624, 4);
BW_CHECK_FIELD(bw_open_event, _pad2, 628, 4);
BW_CHECK_FIELD(bw_open_event, dir, 632, 48);
static_assert(sizeof(bw_open_event) == 680, "bw_open_event changed size");

BW_CHECK_FIELD(bw_file_key, dentry, 0, 8);
BW_CHECK_FIELD(bw_file_key, mnt, 8, 8);
BW_CHECK_FIELD(bw_file_key, parent, 16, 8);
BW_CHECK_FIELD(bw_file_key, ino, 24, 8);
BW_CHECK_FIELD(bw_file_key, name, 32, 8);
BW_CHECK_FIELD(bw_file_key, generation, 40, 4);
BW_CHECK_FIELD(bw_file_key, _pad0, 44, 4);
static_assert(sizeof(bw_file_key) == 48, "bw_file_key changed size");

BW_CHECK_FIELD(bw_open_repeat_event, hdr, 0, 24);
BW_CHECK_FIELD(bw_open_repeat_event, dev, 24, 8);
BW_CHECK_FIELD(bw_open_repeat_event, ino, 32, 8);
BW_CHECK_FIELD(bw_open_repeat_event, flags, 40, 4);
BW_CHECK_FIELD(bw_open_repeat_event, uid, 44, 4);
BW_CHECK_FIELD(bw_open_repeat_event, key, 48, 48);
BW_CHECK_FIELD(bw_open_repeat_event, gen, 96, 8);
BW_CHECK_FIELD(bw_open_repeat_event, source, 104, 1);
BW_CHECK_FIELD(bw_open_repeat_event, _pad0, 105, 7);
static_assert(sizeof(bw_open_repeat_event) == 112, "bw_open_repeat_event changed size");

BW_CHECK_FIELD(bw_write_event, hdr, 0, 24);
BW_CHECK_FIELD(bw_write_event, dev, 24, 8);
BW_CHECK_FIELD(bw_write_event, ino, 32, 8);
BW_CHECK_FIELD(bw_write_event, bytes, 40, 8);
BW_CHECK_FIELD(bw_write_event, uid, 48, 4);
BW_CHECK_FIELD(bw_write_event, path_size, 52, 2);
BW_CHECK_FIELD(bw_write_event, source, 54, 1);
BW_CHECK_FIELD(bw_write_event, how, 55, 1);
BW_CHECK_FIELD(bw_write_event, path, 56, BW_PATH_MAX);
static_assert(sizeof(bw_write_event) == 568, "bw_write_event changed size");

// The kernel filter's maps: user space writes these layouts.
BW_CHECK_FIELD(bw_boring_slot, seq, 0, 4);
BW_CHECK_FIELD(bw_boring_slot, key, 8, 48);
BW_CHECK_FIELD(bw_boring_slot, gen, 56, 8);
static_assert(sizeof(bw_boring_slot) == 64, "bw_boring_slot changed size: it must stay one cache line");
BW_CHECK_FIELD(bw_dir_verdict, gen, 0, 8);
BW_CHECK_FIELD(bw_dir_verdict, prefix_bloom, 8, 32);
BW_CHECK_FIELD(bw_dir_verdict, contains, 40, 16);
BW_CHECK_FIELD(bw_dir_verdict, contains_len, 56, 2);
static_assert(sizeof(bw_dir_verdict) == 64, "bw_dir_verdict changed size");
BW_CHECK_FIELD(bw_verdict, gen, 0, 8);
BW_CHECK_FIELD(bw_verdict, state, 8, 4);
static_assert(sizeof(bw_verdict) == 16, "bw_verdict changed size");
BW_CHECK_FIELD(bw_inode_key, dev, 0, 8);
BW_CHECK_FIELD(bw_inode_key, ino, 8, 8);
static_assert(sizeof(bw_inode_key) == 16, "bw_inode_key changed size");
BW_CHECK_FIELD(bw_hot_key, kind, 0, 4);
BW_CHECK_FIELD(bw_hot_key, id, 4, 4);
static_assert(sizeof(bw_hot_key) == 8, "bw_hot_key changed size");
BW_CHECK_FIELD(bw_hot, sure_ns, 0, 8);
BW_CHECK_FIELD(bw_hot, maybe_pos, 8, 8);
BW_CHECK_FIELD(bw_hot, held_ns, 16, 8);
static_assert(sizeof(bw_hot) == 24, "bw_hot changed size");
BW_CHECK_FIELD(bw_filter_state, gen, 0, 8);
BW_CHECK_FIELD(bw_filter_state, window_ns, 8, 8);
static_assert(sizeof(bw_filter_state) == 16, "bw_filter_state changed size");
BW_CHECK_FIELD(bw_hot_summary, sure_ns, 0, 8);
BW_CHECK_FIELD(bw_hot_summary, maybe_pos, 8, 8);
BW_CHECK_FIELD(bw_hot_summary, user_ns, 16, 8);
BW_CHECK_FIELD(bw_hot_summary, held, 24, 8);
BW_CHECK_FIELD(bw_hot_summary, flags, 32, 8);
static_assert(sizeof(bw_hot_summary) == 40, "bw_hot_summary changed size");
static_assert(sizeof(bw_counters) == 256, "bw_counters changed size");
static_assert(BW_CTR_COUNT <= sizeof(bw_counters::v) / sizeof(bw_counters::v[0]), "bw_counters has no room");

BW_CHECK_FIELD(bw_net_event, hdr, 0, 24);
BW_CHECK_FIELD(bw_net_event, family, 24, 2);
BW_CHECK_FIELD(bw_net_event, port, 26, 2);
BW_CHECK_FIELD(bw_net_event, protocol, 28, 1);
BW_CHECK_FIELD(bw_net_event, op, 29, 1);
BW_CHECK_FIELD(bw_net_event, sock_type, 30, 1);
BW_CHECK_FIELD(bw_net_event, net_flags, 31, 1);
BW_CHECK_FIELD(bw_net_event, uid, 32, 4);
BW_CHECK_FIELD(bw_net_event, addr, 36, 16);
BW_CHECK_FIELD(bw_net_event, _pad1, 52, 4);
BW_CHECK_FIELD(bw_net_event, bytes, 56, 8);
BW_CHECK_FIELD(bw_net_event, conn_ns, 64, 8);
BW_CHECK_FIELD(bw_net_event, cookie, 72, 8);
static_assert(sizeof(bw_net_event) == 80, "bw_net_event changed size");

#undef BW_CHECK_FIELD

static_assert(BW_ABI_VERSION == 5, "ABI version changed: review decode() and the asserts above");
static_assert(BW_EVENT_KIND_MAX == BW_EVENT_SCRIPT, "a new record kind needs a decoder");
static_assert(static_cast<unsigned>(barbwire::event_kind::file) > BW_EVENT_KIND_MAX,
              "event_kind::file is not a kernel record: its number must stay outside the BW_EVENT_* range");
static_assert(AF_INET == 2 && AF_INET6 == 10, "the ABI documents AF_INET as 2 and AF_INET6 as 10");
static_assert(IPPROTO_TCP == 6 && IPPROTO_UDP == 17 && IPPROTO_ICMP == 1 && IPPROTO_ICMPV6 == 58 &&
              IPPROTO_UDPLITE == 136);

namespace barbwire {

// The kernel filter's verdict-cache key of an opened file (bw_file_key):
// kernel object addresses and inode facts, compared, never dereferenced.
struct file_key {
    std::uint64_t dentry = 0;
    std::uint64_t mnt = 0;
    std::uint64_t parent = 0;
    std::uint64_t ino = 0;
    std::uint64_t name = 0;       // d_name.hash_len
    std::uint32_t generation = 0; // i_generation
    friend bool operator==(const file_key&, const file_key&) = default;
};

// What the kernel filter knew when it shipped a full open (bw_open_filter).
enum class open_filter : std::uint8_t {
    unfiltered = BW_OPEN_UNFILTERED,           // the filter is off
    miss = BW_OPEN_MISS,                       // no verdict: user space must answer for (key, gen)
    sensitive_inode = BW_OPEN_SENSITIVE_INODE, // a known sensitive inode
    sensitive = BW_OPEN_SENSITIVE,             // the cached verdict is sensitive
};

[[nodiscard]] constexpr std::string_view to_string(open_filter f) noexcept {
    switch (f) {
    case open_filter::unfiltered: return "unfiltered";
    case open_filter::miss: return "miss";
    case open_filter::sensitive_inode: return "sensitive_inode";
    case open_filter::sensitive: return "sensitive";
    }
    return "unknown";
}

// The kernel filter's part of a full open record.
struct filter_tag {
    file_key key;
    std::uint64_t gen = 0;
    open_filter filter = open_filter::unfiltered;
    file_key dir; // the key of the directory the file is in (for the directory verdict)
    friend bool operator==(const filter_tag&, const filter_tag&) = default;
};

// BW_EVENT_OPEN_REPEAT: another open of a file whose verdict is pending.
// Everything an open_event has but the path (and the truncated flag), which
// come from the full open with the same key (repeat_expander).
struct open_repeat {
    nanoseconds ts{0};
    pid_type pid = 0; // process id (kernel tgid)
    pid_type tid = 0; // thread id
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::int32_t flags = 0;
    std::uint32_t uid = 0;
    file_key key;
    std::uint64_t gen = 0;
    access_path source = access_path::syscall;
    friend bool operator==(const open_repeat&, const open_repeat&) = default;
};

// One decoded ring-buffer record.
struct kernel_record {
    std::variant<event, open_repeat> body;
    filter_tag tag; // of a full open record; default for every other record

    [[nodiscard]] const event* as_event() const noexcept { return std::get_if<event>(&body); }
    [[nodiscard]] event* as_event() noexcept { return std::get_if<event>(&body); }
    [[nodiscard]] const open_repeat* as_repeat() const noexcept { return std::get_if<open_repeat>(&body); }
};

// Size in bytes of the ring-buffer record of a kind; 0 for a kind that has
// no record (event_kind::file, made by the sensor).
[[nodiscard]] constexpr std::size_t record_size(event_kind k) noexcept {
    switch (k) {
    case event_kind::exec: return sizeof(bw_exec_event);
    case event_kind::fork: return sizeof(bw_fork_event);
    case event_kind::exit: return sizeof(bw_exit_event);
    case event_kind::open: return sizeof(bw_open_event);
    case event_kind::net: return sizeof(bw_net_event);
    case event_kind::write: return sizeof(bw_write_event);
    case event_kind::foreign: return sizeof(bw_foreign_event);
    case event_kind::script: return sizeof(bw_script_event);
    case event_kind::file: return 0;
    case event_kind::binding: return 0;
    }
    return 0;
}

// Whether events of kind `k` come from (and encode to) a ring-buffer record.
[[nodiscard]] constexpr bool is_kernel_record(event_kind k) noexcept { return record_size(k) != 0; }

// The largest record of any kind: a buffer this big fits encode_into() for any event.
inline constexpr std::size_t max_record_size = sizeof(bw_exec_event);
static_assert(sizeof(bw_open_event) <= max_record_size && sizeof(bw_open_repeat_event) <= max_record_size);

// Size of the record of a BW_EVENT_* kind number; 0 for an unknown one.
[[nodiscard]] constexpr std::size_t record_size_of_kind(std::uint16_t kind) noexcept {
    if (kind == BW_EVENT_OPEN_REPEAT) return sizeof(bw_open_repeat_event);
    if (kind < BW_EVENT_EXEC || kind > BW_EVENT_KIND_MAX) return 0;
    return record_size(static_cast<event_kind>(kind));
}

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
    case BW_EVENT_OPEN_REPEAT: return "open_repeat";
    case BW_EVENT_WRITE: return "write";
    case BW_EVENT_FOREIGN: return "foreign";
    case BW_EVENT_SCRIPT: return "script";
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

[[nodiscard]] inline file_key key_of(const bw_file_key& k) noexcept {
    return file_key{k.dentry, k.mnt, k.parent, k.ino, k.name, k.generation};
}

[[nodiscard]] inline bw_file_key abi_key(const file_key& k) noexcept {
    bw_file_key r{};
    r.dentry = k.dentry;
    r.mnt = k.mnt;
    r.parent = k.parent;
    r.ino = k.ino;
    r.name = k.name;
    r.generation = k.generation;
    return r;
}

} // namespace detail

namespace detail {

// Assigns a fixed char field to `s` (at most `max` bytes, up to the first
// NUL), keeping s's capacity.
inline void assign_field(std::string& s, const char* field, std::size_t max) {
    const void* nul = std::memchr(field, '\0', max);
    const std::size_t len = nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - field) : max;
    s.assign(field, len);
}

// split_argv() into an existing vector: its strings are assigned in place
// (keeping their capacity), the ones past the new count are erased.
inline void split_argv_into(std::vector<std::string>& out, const char* data, std::size_t size) {
    std::size_t i = 0;
    std::size_t start = 0;
    while (start < size) {
        const void* nul = std::memchr(data + start, '\0', size - start);
        const std::size_t end = nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - data) : size;
        if (i < out.size()) out[i].assign(data + start, end - start);
        else out.emplace_back(data + start, end - start);
        ++i;
        start = end + 1;
    }
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(i), out.end());
}

// One fixed-width field of a record at `p` (need not be aligned).
template <class T>
[[nodiscard]] inline T load_at(const std::byte* p, std::size_t offset) noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    std::memcpy(&v, p + offset, sizeof(T));
    return v;
}

// The alternative T of a variant: the one it holds, or a new default one.
template <class T, class Variant>
[[nodiscard]] inline T& alternative(Variant& v) {
    if (T* x = std::get_if<T>(&v)) return *x;
    return v.template emplace<T>();
}

// Checks 1 to 5 of the list at the top of this file; the header when they pass.
[[nodiscard]] inline result<bw_event_header> check_frame(std::span<const std::byte> bytes) {
    const std::size_t n = bytes.size();
    if (n < sizeof(bw_event_header))
        return make_error(errc::short_record, "record is " + std::to_string(n) + " bytes, shorter than the " +
                                                  std::to_string(sizeof(bw_event_header)) + "-byte header");
    const auto hdr = load<bw_event_header>(bytes);
    if (hdr.version != BW_ABI_VERSION)
        return make_error(errc::bad_version, "record has ABI version " + std::to_string(hdr.version) +
                                                 ", expected " + std::to_string(BW_ABI_VERSION));
    if (hdr.kind < BW_EVENT_EXEC || hdr.kind > BW_EVENT_KIND_MAX)
        return make_error(errc::unknown_kind, "unknown record kind " + std::to_string(hdr.kind) + " (known: 1.." +
                                                  std::to_string(BW_EVENT_KIND_MAX) + ")");
    if (hdr.size != n)
        return make_error(errc::size_mismatch, std::string(kind_name(hdr.kind)) + " record header says " +
                                                   std::to_string(hdr.size) + " bytes, got " + std::to_string(n));
    if (hdr.kind == BW_EVENT_OPEN_REPEAT) {
        constexpr std::size_t want = sizeof(bw_open_repeat_event);
        if (n != want)
            return make_error(n < want ? errc::short_record : errc::oversized_record,
                              "open_repeat record is " + std::to_string(n) + " bytes, " +
                                  (n < want ? "needs " : "expected ") + std::to_string(want));
        return hdr;
    }
    const auto kind = static_cast<event_kind>(hdr.kind);
    const std::size_t want = record_size(kind);
    if (n < want)
        return make_error(errc::short_record, std::string(to_string(kind)) + " record is " + std::to_string(n) +
                                                  " bytes, needs " + std::to_string(want));
    if (n > want)
        return make_error(errc::oversized_record, std::string(to_string(kind)) + " record is " + std::to_string(n) +
                                                      " bytes, expected " + std::to_string(want));
    return hdr;
}

// Check 6 of an open_repeat record that passed check_frame.
[[nodiscard]] inline result<void> check_repeat(const bw_open_repeat_event& r) {
    if (r.key.ino != r.ino)
        return make_error(errc::bad_field, "open_repeat record ino " + std::to_string(r.ino) +
                                               " differs from its key's ino " + std::to_string(r.key.ino));
    if (r.source > BW_SRC_MAX)
        return make_error(errc::bad_field, "open_repeat record source " + std::to_string(r.source) +
                                               " is not a BW_SRC_* value (0..2)");
    return {};
}

[[nodiscard]] constexpr bool valid_sock_type(std::uint8_t t) noexcept {
    return t == 0 || t == 1 || t == 2 || t == 3 || t == 5 || t == 6;
}

inline void fill_repeat(const bw_event_header& hdr, const bw_open_repeat_event& r, open_repeat& x) noexcept {
    x.ts = nanoseconds{static_cast<nanoseconds::rep>(hdr.ktime_ns)};
    x.pid = hdr.tgid;
    x.tid = hdr.pid;
    x.dev = r.dev;
    x.ino = r.ino;
    x.flags = r.flags;
    x.uid = r.uid;
    x.key = key_of(r.key);
    x.gen = r.gen;
    x.source = static_cast<access_path>(r.source);
}

// Check 6 and the fill of an event record that passed check_frame. Fields
// are read straight from the bytes: no copy of the whole record. `target()`
// gives the event to fill; it is called only once every check has passed, so
// a record that fails leaves it untouched. Its body keeps its strings when it
// already holds the record's kind. `tag`, when not null, gets the record's
// filter tag (the default one for every record but a filtered open).
template <class Target>
[[nodiscard]] inline result<void> decode_event(const bw_event_header& hdr, std::span<const std::byte> bytes,
                                               Target&& target, filter_tag* tag) {
#define BW_FIELD(record, field) detail::load_at<decltype(record::field)>(p, offsetof(record, field))
    const std::byte* p = bytes.data();
    const char* chars = reinterpret_cast<const char*>(p);
    const auto begin = [&]() -> event& {
        event& ev = target();
        ev.ts = nanoseconds{static_cast<nanoseconds::rep>(hdr.ktime_ns)};
        ev.pid = hdr.tgid;
        ev.tid = hdr.pid;
        ev.truncated = (hdr.flags & BW_F_TRUNCATED) != 0;
        return ev;
    };
    const auto no_tag = [&] {
        if (tag != nullptr) *tag = filter_tag{};
    };

    switch (static_cast<event_kind>(hdr.kind)) {
    case event_kind::exec: {
        const auto argv_size = BW_FIELD(bw_exec_event, argv_size);
        if (argv_size > BW_ARGV_MAX)
            return make_error(errc::bad_field, "exec record argv_size " + std::to_string(argv_size) +
                                                   " exceeds the " + std::to_string(BW_ARGV_MAX) + "-byte argv field");
        const auto exec_flags = BW_FIELD(bw_exec_event, exec_flags);
        const auto foreign = BW_FIELD(bw_exec_event, foreign);
        if ((foreign & ~std::uint32_t{BW_FOREIGN_MASK}) != 0)
            return make_error(errc::bad_field, "exec record foreign " + std::to_string(foreign) +
                                                   " has bits that are no BW_FOREIGN_* (mask 0x1f)");
        auto& x = alternative<exec_event>(begin().body);
        x.foreign = foreign;
        // The loader ran and read an environment the kernel did not scan to
        // its end: a preload past the bound is not ruled out.
        if ((exec_flags & (BW_EXECF_DYNAMIC | BW_EXECF_SECURE | BW_EXECF_ENV_LONG)) ==
            (BW_EXECF_DYNAMIC | BW_EXECF_ENV_LONG))
            x.foreign |= env_unscanned;
        if ((exec_flags & BW_EXECF_SCRIPT) != 0) {
            if (!x.script) x.script.emplace();
            *x.script = script_identity{};
            // NUL-terminated by the kernel (bpf_probe_read_kernel_str): at most
            // one byte less than the field, as encode writes it
            assign_field(x.script->path, chars + offsetof(bw_exec_event, script), BW_SCRIPT_MAX - 1);
            // The flag without a name (a malformed record: the kernel sets it
            // only with one) names no script; the exec itself is kept.
            if (x.script->path.empty()) x.script.reset();
        } else {
            x.script.reset();
        }
        x.ppid = BW_FIELD(bw_exec_event, ppid);
        x.uid = BW_FIELD(bw_exec_event, uid);
        x.sid = BW_FIELD(bw_exec_event, sid);
        x.pgid = BW_FIELD(bw_exec_event, pgid);
        x.cgroup_id = BW_FIELD(bw_exec_event, cgroup_id);
        x.container.reset(); // sensor-side enrichment: not in the record
        x.exe_dev = BW_FIELD(bw_exec_event, exe_dev);
        x.exe_ino = BW_FIELD(bw_exec_event, exe_ino);
        assign_field(x.comm, chars + offsetof(bw_exec_event, comm), BW_COMM_LEN);
        assign_field(x.exe, chars + offsetof(bw_exec_event, exe), BW_PATH_MAX);
        split_argv_into(x.argv, chars + offsetof(bw_exec_event, argv), argv_size);
        x.exe_sha256.clear(); // sensor-side enrichment: not in the record
        x.exe_uid.reset();
        x.exe_mode.reset();
        no_tag();
        return {};
    }
    case event_kind::fork: {
        const fork_event x{.child_pid = BW_FIELD(bw_fork_event, child_tgid),
                           .child_tid = BW_FIELD(bw_fork_event, child_pid)};
        alternative<fork_event>(begin().body) = x;
        no_tag();
        return {};
    }
    case event_kind::exit: {
        const exit_event x{.exit_code = BW_FIELD(bw_exit_event, exit_code)};
        alternative<exit_event>(begin().body) = x;
        no_tag();
        return {};
    }
    case event_kind::open: {
        const auto path_size = BW_FIELD(bw_open_event, path_size);
        const auto filter = BW_FIELD(bw_open_event, filter);
        const auto ino = BW_FIELD(bw_open_event, ino);
        const auto source = BW_FIELD(bw_open_event, source);
        if (path_size > BW_PATH_MAX)
            return make_error(errc::bad_field, "open record path_size " + std::to_string(path_size) +
                                                   " exceeds the " + std::to_string(BW_PATH_MAX) + "-byte path field");
        if (filter > BW_OPEN_SENSITIVE)
            return make_error(errc::bad_field, "open record filter " + std::to_string(filter) +
                                                   " is not a BW_OPEN_* value (0..3)");
        if (source > BW_SRC_MAX)
            return make_error(errc::bad_field, "open record source " + std::to_string(source) +
                                                   " is not a BW_SRC_* value (0..2)");
        bw_file_key key{};
        if (filter != BW_OPEN_UNFILTERED) {
            key = BW_FIELD(bw_open_event, key);
            if (key.ino != ino)
                return make_error(errc::bad_field, "open record ino " + std::to_string(ino) +
                                                       " differs from its key's ino " + std::to_string(key.ino));
        }
        auto& x = alternative<open_event>(begin().body);
        assign_field(x.path, chars + offsetof(bw_open_event, path), path_size);
        x.flags = BW_FIELD(bw_open_event, flags);
        x.dev = BW_FIELD(bw_open_event, dev);
        x.ino = ino;
        x.uid = BW_FIELD(bw_open_event, uid);
        x.source = static_cast<access_path>(source);
        if (tag != nullptr) {
            *tag = filter_tag{};
            if (filter != BW_OPEN_UNFILTERED) {
                tag->key = key_of(key);
                tag->gen = BW_FIELD(bw_open_event, gen);
                tag->filter = static_cast<open_filter>(filter);
                tag->dir = key_of(BW_FIELD(bw_open_event, dir));
            }
        }
        return {};
    }
    case event_kind::net: {
        const auto r = load<bw_net_event>(bytes);
        if (r.family != AF_INET && r.family != AF_INET6)
            return make_error(errc::bad_field, "net record family " + std::to_string(r.family) +
                                                   " is neither AF_INET (2) nor AF_INET6 (10)");
        if (r.op != BW_NET_CONNECT && r.op != BW_NET_SEND)
            return make_error(errc::bad_field, "net record op " + std::to_string(r.op) +
                                                   " is neither connect (1) nor send (2)");
        if (!valid_sock_type(r.sock_type))
            return make_error(errc::bad_field, "net record sock_type " + std::to_string(r.sock_type) +
                                                   " is not 0 or a SOCK_* value (1, 2, 3, 5, 6)");
        net_event x;
        x.op = static_cast<net_op>(r.op);
        x.protocol = static_cast<ip_proto>(r.protocol);
        x.addr.family = r.family;
        const std::size_t addr_len = r.family == AF_INET ? 4 : 16;
        std::memcpy(x.addr.bytes.data(), r.addr, addr_len);
        x.port = r.port;
        x.uid = r.uid;
        x.sock = static_cast<sock_kind>(r.sock_type);
        x.peer = (r.net_flags & BW_NETF_PEER) != 0;
        x.accepted = (r.net_flags & BW_NETF_ACCEPTED) != 0;
        x.bytes = r.bytes;
        x.conn_ts = nanoseconds{static_cast<nanoseconds::rep>(r.conn_ns)};
        x.cookie = r.cookie;
        alternative<net_event>(begin().body) = x;
        no_tag();
        return {};
    }
    case event_kind::write: {
        const auto path_size = BW_FIELD(bw_write_event, path_size);
        const auto source = BW_FIELD(bw_write_event, source);
        const auto how = BW_FIELD(bw_write_event, how);
        if (path_size > BW_PATH_MAX)
            return make_error(errc::bad_field, "write record path_size " + std::to_string(path_size) +
                                                   " exceeds the " + std::to_string(BW_PATH_MAX) + "-byte path field");
        if (source > BW_SRC_MAX)
            return make_error(errc::bad_field, "write record source " + std::to_string(source) +
                                                   " is not a BW_SRC_* value (0..2)");
        if (how < BW_WRITE_WRITE || how > BW_WRITE_HOW_MAX)
            return make_error(errc::bad_field, "write record how " + std::to_string(how) +
                                                   " is not a BW_WRITE_* value (1..3)");
        auto& x = alternative<write_event>(begin().body);
        assign_field(x.path, chars + offsetof(bw_write_event, path), path_size);
        x.dev = BW_FIELD(bw_write_event, dev);
        x.ino = BW_FIELD(bw_write_event, ino);
        x.bytes = BW_FIELD(bw_write_event, bytes);
        x.uid = BW_FIELD(bw_write_event, uid);
        x.source = static_cast<access_path>(source);
        x.how = static_cast<write_how>(how);
        no_tag();
        return {};
    }
    case event_kind::foreign: {
        const auto r = load<bw_foreign_event>(bytes);
        if (r.bits == 0 || (r.bits & ~std::uint32_t{BW_FOREIGN_MASK}) != 0)
            return make_error(errc::bad_field, "foreign record bits " + std::to_string(r.bits) +
                                                   " are not a non-empty set of BW_FOREIGN_* (mask 0x1f)");
        if (r.how < BW_FOREIGN_HOW_ATTACH || r.how > BW_FOREIGN_HOW_MAX)
            return make_error(errc::bad_field, "foreign record how " + std::to_string(r.how) +
                                                   " is not a BW_FOREIGN_HOW_* value (1..5)");
        alternative<foreign_event>(begin().body) = foreign_event{.target = r.target_tgid, .bits = r.bits};
        no_tag();
        return {};
    }
    case event_kind::script: {
        const auto path_size = BW_FIELD(bw_script_event, path_size);
        if (path_size > BW_PATH_MAX)
            return make_error(errc::bad_field, "script record path_size " + std::to_string(path_size) +
                                                   " exceeds the " + std::to_string(BW_PATH_MAX) + "-byte path field");
        auto& x = alternative<script_event>(begin().body);
        x.script = script_identity{};
        assign_field(x.script.path, chars + offsetof(bw_script_event, path), path_size);
        x.script.dev = BW_FIELD(bw_script_event, dev);
        x.script.ino = BW_FIELD(bw_script_event, ino);
        no_tag();
        return {};
    }
    case event_kind::file: break; // unreachable: check_frame rejects 100, but never build a wrong event
    case event_kind::binding: break; // likewise (101)
    }
    return make_error(errc::unknown_kind, "file events are not kernel records");
#undef BW_FIELD
}

} // namespace detail

// decode_record() into an existing record, reusing its storage: when `out`
// already holds an event of the record's kind, its strings and argv keep
// their capacity (a reader that decodes every ring-buffer record into one
// kernel_record allocates only when a string outgrows what it held before).
// The result is the same as `out = *decode_record(bytes)` (equal values;
// exe_sha256, exe_uid and exe_mode come out empty), and a record that fails
// gives the same error as decode_record() and leaves `out` as it was. Throws
// nothing but std::bad_alloc (which may leave `out` partly filled, but valid).
[[nodiscard]] inline result<void> decode_record_into(std::span<const std::byte> bytes, kernel_record& out) {
    auto hdr = detail::check_frame(bytes);
    if (!hdr) return tl::unexpected(std::move(hdr.error()));
    if (hdr->kind == BW_EVENT_OPEN_REPEAT) {
        const auto r = detail::load<bw_open_repeat_event>(bytes);
        if (auto ok = detail::check_repeat(r); !ok) return ok;
        detail::fill_repeat(*hdr, r, detail::alternative<open_repeat>(out.body));
        out.tag = filter_tag{};
        return {};
    }
    return detail::decode_event(
        *hdr, bytes, [&]() -> event& { return detail::alternative<event>(out.body); }, &out.tag);
}

// decode() into an existing event, reusing its storage as decode_record_into()
// does: the same event as `out = *decode(bytes)`, or the same error as
// decode() with `out` left as it was (an open_repeat record included).
[[nodiscard]] inline result<void> decode_into(std::span<const std::byte> bytes, event& out) {
    auto hdr = detail::check_frame(bytes);
    if (!hdr) return tl::unexpected(std::move(hdr.error()));
    if (hdr->kind == BW_EVENT_OPEN_REPEAT) {
        if (auto ok = detail::check_repeat(detail::load<bw_open_repeat_event>(bytes)); !ok) return ok;
        return make_error(errc::unknown_kind, "open_repeat record (kind " + std::to_string(BW_EVENT_OPEN_REPEAT) +
                                                  ") is no event on its own; decode_record() returns it");
    }
    return detail::decode_event(*hdr, bytes, [&]() -> event& { return out; }, nullptr);
}

// Long-lived events to decode into, one per record kind (see the
// decode_into() below).
struct event_slots {
    std::array<event, BW_EVENT_KIND_MAX + 1> by_kind; // indexed by BW_EVENT_*; [0] and [BW_EVENT_OPEN_REPEAT] unused
};

// decode_into() the event of `slots` that holds the record's kind: its
// strings are those of the last record of that kind, so a stream of mixed
// kinds (fork, exec, opens, connect, exit) keeps every string's capacity
// where one event would free and reallocate them at each change of kind.
// Returns that event (valid until the next call with these slots), or
// decode()'s error with every slot left as it was.
[[nodiscard]] inline result<event*> decode_into(std::span<const std::byte> bytes, event_slots& slots) {
    auto hdr = detail::check_frame(bytes);
    if (!hdr) return tl::unexpected(std::move(hdr.error()));
    if (hdr->kind == BW_EVENT_OPEN_REPEAT) {
        if (auto ok = detail::check_repeat(detail::load<bw_open_repeat_event>(bytes)); !ok)
            return tl::unexpected(std::move(ok.error()));
        return make_error(errc::unknown_kind, "open_repeat record (kind " + std::to_string(BW_EVENT_OPEN_REPEAT) +
                                                  ") is no event on its own; decode_record() returns it");
    }
    event& ev = slots.by_kind[hdr->kind]; // check_frame: 1..BW_EVENT_KIND_MAX here, not the repeat
    if (auto ok = detail::decode_event(*hdr, bytes, [&]() -> event& { return ev; }, nullptr); !ok)
        return tl::unexpected(std::move(ok.error()));
    return &ev;
}

// Decodes one ring-buffer record. Throws nothing but std::bad_alloc.
// decode_record_into() is the same without a new record per call.
[[nodiscard]] inline result<kernel_record> decode_record(std::span<const std::byte> bytes) {
    kernel_record r;
    if (auto ok = decode_record_into(bytes, r); !ok) return tl::unexpected(std::move(ok.error()));
    return r;
}

// Decodes one ring-buffer record that holds an event (every kind but
// BW_EVENT_OPEN_REPEAT, which is rejected as unknown_kind: it only means
// something next to the full open it repeats; see decode_record()).
// decode_into() is the same without a new event per call.
[[nodiscard]] inline result<event> decode(std::span<const std::byte> bytes) {
    event ev;
    if (auto ok = decode_into(bytes, ev); !ok) return tl::unexpected(std::move(ok.error()));
    return ev;
}

// Writes the record for `ev` into `out`, which need not be aligned. Returns the
// record size, or 0 (writing nothing) when `out` is smaller than the record
// or `ev` has no record (a file_event: is_kernel_record() is false).
// Strings that do not fit their field are cut and BW_F_TRUNCATED is set; the
// flag is also set when ev.truncated is.
[[nodiscard]] inline std::size_t encode_into(const event& ev, const filter_tag& tag, std::span<std::byte> out) noexcept {
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
        r.foreign = x.foreign & BW_FOREIGN_MASK;
        r.cgroup_id = x.cgroup_id;
        // env_unscanned is the decoder's reading of these flags (decode_event)
        if ((x.foreign & env_unscanned) != 0) r.exec_flags |= BW_EXECF_DYNAMIC | BW_EXECF_ENV_LONG;
        if (x.script) {
            r.exec_flags |= BW_EXECF_SCRIPT;
            // NUL-terminated: one byte less than the field
            cut |= !detail::put_string(r.script, sizeof(r.script) - 1, x.script->path);
        }
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
        r.source = static_cast<std::uint8_t>(x.source);
        const bool cut = !detail::put_string(r.path, sizeof(r.path), x.path);
        r.path_size = static_cast<std::uint16_t>(cut ? sizeof(r.path) : x.path.size());
        if (tag.filter != open_filter::unfiltered) {
            r.key = detail::abi_key(tag.key);
            r.gen = tag.gen;
            r.filter = static_cast<std::uint32_t>(tag.filter);
            r.dir = detail::abi_key(tag.dir);
        }
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
        r.sock_type = static_cast<std::uint8_t>(x.sock);
        r.net_flags = static_cast<std::uint8_t>((x.peer ? BW_NETF_PEER : 0) | (x.accepted ? BW_NETF_ACCEPTED : 0));
        r.bytes = x.bytes;
        r.conn_ns = static_cast<std::uint64_t>(x.conn_ts.count());
        r.cookie = x.cookie;
        std::memcpy(r.addr, x.addr.bytes.data(), x.addr.family == AF_INET ? 4 : 16);
        store(r, false);
        break;
    }
    case event_kind::write: {
        const auto& x = *ev.as<write_event>();
        bw_write_event r{};
        r.dev = x.dev;
        r.ino = x.ino;
        r.bytes = x.bytes;
        r.uid = x.uid;
        r.source = static_cast<std::uint8_t>(x.source);
        r.how = static_cast<std::uint8_t>(x.how);
        const bool cut = !detail::put_string(r.path, sizeof(r.path), x.path);
        r.path_size = static_cast<std::uint16_t>(cut ? sizeof(r.path) : x.path.size());
        store(r, cut);
        break;
    }
    case event_kind::foreign: {
        const auto& x = *ev.as<foreign_event>();
        bw_foreign_event r{};
        r.target_tgid = x.target;
        r.bits = x.bits;
        r.how = (x.bits & BW_FOREIGN_PTRACED) != 0 ? BW_FOREIGN_HOW_ATTACH : BW_FOREIGN_HOW_VM_WRITE;
        store(r, false);
        break;
    }
    case event_kind::script: {
        const auto& x = *ev.as<script_event>();
        bw_script_event r{};
        r.dev = x.script.dev;
        r.ino = x.script.ino;
        const bool cut = !detail::put_string(r.path, sizeof(r.path), x.script.path);
        r.path_size = static_cast<std::uint16_t>(cut ? sizeof(r.path) : x.script.path.size());
        store(r, cut);
        break;
    }
    case event_kind::file: return 0; // not a kernel record (size is 0: returned above)
    case event_kind::binding: return 0;
    }
    return size;
}

// The record for `ev` without a filter tag (an unfiltered open).
[[nodiscard]] inline std::size_t encode_into(const event& ev, std::span<std::byte> out) noexcept {
    return encode_into(ev, filter_tag{}, out);
}

// Writes the BW_EVENT_OPEN_REPEAT record of `r` into `out` (need not be
// aligned). Returns its size, or 0 when `out` is too small.
[[nodiscard]] inline std::size_t encode_repeat_into(const open_repeat& r, std::span<std::byte> out) noexcept {
    if (out.size() < sizeof(bw_open_repeat_event)) return 0;
    bw_open_repeat_event rec{};
    rec.hdr.kind = BW_EVENT_OPEN_REPEAT;
    rec.hdr.version = BW_ABI_VERSION;
    rec.hdr.size = sizeof(rec);
    rec.hdr.ktime_ns = static_cast<std::uint64_t>(r.ts.count());
    rec.hdr.pid = r.tid;
    rec.hdr.tgid = r.pid;
    rec.dev = r.dev;
    rec.ino = r.ino;
    rec.flags = r.flags;
    rec.uid = r.uid;
    rec.key = detail::abi_key(r.key);
    rec.gen = r.gen;
    rec.source = static_cast<std::uint8_t>(r.source);
    std::memcpy(out.data(), &rec, sizeof(rec));
    return sizeof(rec);
}

[[nodiscard]] inline std::vector<std::byte> encode_repeat(const open_repeat& r) {
    std::vector<std::byte> out(sizeof(bw_open_repeat_event));
    out.resize(encode_repeat_into(r, out));
    return out;
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
