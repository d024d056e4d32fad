#pragma once
// The decoded event model: what decode() produces, what trace files hold,
// and what the correlator consumes.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <arpa/inet.h> // inet_pton / inet_ntop: pure conversions, no I/O
#include <netinet/in.h>

#include "barbwire/abi/events.h"
#include "barbwire/clock.hpp"

namespace barbwire {

using pid_type = std::uint32_t;

enum class event_kind : std::uint16_t {
    exec = BW_EVENT_EXEC,
    fork = BW_EVENT_FORK,
    exit = BW_EVENT_EXIT,
    open = BW_EVENT_OPEN,
    net = BW_EVENT_NET,
    // Not a kernel record (no BW_EVENT_* number): produced by the sensor, see file_event.
    file = 100,
};

enum class net_op : std::uint8_t {
    connect = BW_NET_CONNECT,
    send = BW_NET_SEND,
};

enum class ip_proto : std::uint8_t {
    tcp = IPPROTO_TCP,
    udp = IPPROTO_UDP,
};

[[nodiscard]] constexpr std::string_view to_string(event_kind k) noexcept {
    switch (k) {
    case event_kind::exec: return "exec";
    case event_kind::fork: return "fork";
    case event_kind::exit: return "exit";
    case event_kind::open: return "open";
    case event_kind::net: return "net";
    case event_kind::file: return "file";
    }
    return "unknown";
}
[[nodiscard]] constexpr std::string_view to_string(net_op o) noexcept {
    return o == net_op::connect ? "connect" : "send";
}
[[nodiscard]] constexpr std::string_view to_string(ip_proto p) noexcept {
    return p == ip_proto::tcp ? "tcp" : "udp";
}

// An IPv4 or IPv6 address. IPv4 lives in the first four bytes.
struct ip_address {
    std::uint16_t family = AF_INET; // AF_INET or AF_INET6
    std::array<std::uint8_t, 16> bytes{};

    [[nodiscard]] static std::optional<ip_address> parse(std::string_view text) {
        char buf[INET6_ADDRSTRLEN + 1];
        // inet_pton stops at a NUL: "1.2.3.4\0junk" must not parse as 1.2.3.4.
        if (text.empty() || text.size() >= sizeof(buf) || text.find('\0') != std::string_view::npos)
            return std::nullopt;
        text.copy(buf, text.size());
        buf[text.size()] = '\0';
        ip_address a;
        if (::inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
            a.family = AF_INET;
            return a;
        }
        if (::inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
            a.family = AF_INET6;
            return a;
        }
        return std::nullopt;
    }

    [[nodiscard]] std::string to_string() const {
        char buf[INET6_ADDRSTRLEN] = {};
        if (::inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof(buf)) == nullptr)
            return "?";
        return buf;
    }

    [[nodiscard]] bool is_v4() const noexcept { return family == AF_INET; }
    friend bool operator==(const ip_address&, const ip_address&) = default;
};

// exec: hdr.tgid now runs a new image.
struct exec_event {
    pid_type ppid = 0;
    std::uint32_t uid = 0;
    std::uint32_t sid = 0;
    std::uint32_t pgid = 0;
    std::uint64_t exe_dev = 0;
    std::uint64_t exe_ino = 0;
    std::string comm;
    std::string exe;               // kernel executable path
    std::vector<std::string> argv;
    std::string exe_sha256;        // enrichment by the sensor; empty when unknown
    // Owner and permission bits (st_mode & 07777) of the executable, from the
    // sensor's fstat of the file it hashed; nullopt when unknown. Trust by
    // path alone (trusted_binaries without sha256) needs both known: a
    // root-owned file that group and others cannot write.
    std::optional<std::uint32_t> exe_uid;
    std::optional<std::uint32_t> exe_mode;
    friend bool operator==(const exec_event&, const exec_event&) = default;
};

// fork: the event's pid/tid are the parent's.
struct fork_event {
    pid_type child_pid = 0; // tgid of the child
    pid_type child_tid = 0; // thread id of the child
    [[nodiscard]] bool is_thread(pid_type parent_pid) const noexcept { return child_pid == parent_pid; }
    friend bool operator==(const fork_event&, const fork_event&) = default;
};

struct exit_event {
    std::int32_t exit_code = 0;
    friend bool operator==(const exit_event&, const exit_event&) = default;
};

struct open_event {
    std::string path; // absolute, kernel-resolved
    std::int32_t flags = 0;
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::uint32_t uid = 0;
    friend bool operator==(const open_event&, const open_event&) = default;
};

struct net_event {
    net_op op = net_op::connect;
    ip_proto protocol = ip_proto::tcp;
    ip_address addr;
    std::uint16_t port = 0;
    std::uint32_t uid = 0;
    friend bool operator==(const net_event&, const net_event&) = default;
};

// file: "the inode (dev, ino) is the file the rules know as `path`".
//
// Not a kernel record. The sensor stats the files the rules name (absolute
// patterns such as /etc/shadow, and home-relative ones such as .ssh/id_rsa
// under every local home directory) and reports each one's identity, at start,
// after a reload and when a named file appears or changes inode. An open of
// that inode under any other name (a hard link, a bind mount, a path through
// another mount) then matches the rules as an open of `path` would. Recorded
// in traces like any event, so a replay matches exactly as the live run did.
// pid and tid are 0.
struct file_event {
    std::string path;      // the name the rules know the file by (absolute)
    std::uint64_t dev = 0; // st_dev, in the same encoding as open_event::dev
    std::uint64_t ino = 0; // st_ino
    friend bool operator==(const file_event&, const file_event&) = default;
};

using event_body = std::variant<exec_event, fork_event, exit_event, open_event, net_event, file_event>;

struct event {
    nanoseconds ts{0};  // kernel monotonic time
    pid_type pid = 0;   // process id (kernel tgid)
    pid_type tid = 0;   // thread id (kernel pid)
    bool truncated = false; // a string field was cut by the kernel side
    event_body body;

    [[nodiscard]] event_kind kind() const noexcept {
        switch (body.index()) {
        case 0: return event_kind::exec;
        case 1: return event_kind::fork;
        case 2: return event_kind::exit;
        case 3: return event_kind::open;
        case 4: return event_kind::net;
        default: return event_kind::file;
        }
    }
    template <class T> [[nodiscard]] const T* as() const noexcept { return std::get_if<T>(&body); }
    template <class T> [[nodiscard]] T* as() noexcept { return std::get_if<T>(&body); }
    friend bool operator==(const event&, const event&) = default;
};

} // namespace barbwire
