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
#include "barbwire/container.hpp"

namespace barbwire {

using pid_type = std::uint32_t;

enum class event_kind : std::uint16_t {
    exec = BW_EVENT_EXEC,
    fork = BW_EVENT_FORK,
    exit = BW_EVENT_EXIT,
    open = BW_EVENT_OPEN,
    net = BW_EVENT_NET,
    write = BW_EVENT_WRITE,
    foreign = BW_EVENT_FOREIGN, // code of another process or library got into a process
    script = BW_EVENT_SCRIPT,   // the script file an interpreter process runs
    // Not a kernel record (no BW_EVENT_* number): produced by the sensor, see file_event.
    file = 100,
    // Not a kernel record either: the sensor's report of the servers a
    // credential file names (binding_event, docs/rules.md "Owner use").
    binding = 101,
};

enum class net_op : std::uint8_t {
    connect = BW_NET_CONNECT,
    send = BW_NET_SEND,
};

// The IP protocol of a network event. The named ones are those the kernel
// side reports by name; a raw socket's protocol can be any other number,
// kept as it is (to_string gives "", proto_text its number).
enum class ip_proto : std::uint8_t {
    icmp = IPPROTO_ICMP,
    tcp = IPPROTO_TCP,
    udp = IPPROTO_UDP,
    icmpv6 = IPPROTO_ICMPV6,
    udplite = IPPROTO_UDPLITE,
};

// How an open or a write was made (bw_source).
enum class access_path : std::uint8_t {
    syscall = BW_SRC_SYSCALL,   // a native system call
    compat = BW_SRC_COMPAT,     // the ia32 compat entry
    io_uring = BW_SRC_IO_URING, // an io_uring request
};

// How a file was written (bw_write_how).
enum class write_how : std::uint8_t {
    write = BW_WRITE_WRITE, // write, writev, pwrite*, io_uring write
    copy = BW_WRITE_COPY,   // sendfile, splice, copy_file_range into the file
    clone = BW_WRITE_CLONE, // FICLONE / FICLONERANGE
};

// The socket type of a network event (SOCK_*).
enum class sock_kind : std::uint8_t {
    unknown = 0,
    stream = 1, // SOCK_STREAM
    dgram = 2,  // SOCK_DGRAM
    raw = 3,    // SOCK_RAW
    seqpacket = 5, // SOCK_SEQPACKET (SCTP)
    dccp = 6,      // SOCK_DCCP
};

[[nodiscard]] constexpr std::string_view to_string(event_kind k) noexcept {
    switch (k) {
    case event_kind::exec: return "exec";
    case event_kind::fork: return "fork";
    case event_kind::exit: return "exit";
    case event_kind::open: return "open";
    case event_kind::net: return "net";
    case event_kind::write: return "write";
    case event_kind::file: return "file";
    case event_kind::foreign: return "foreign";
    case event_kind::script: return "script";
    case event_kind::binding: return "binding";
    }
    return "unknown";
}
[[nodiscard]] constexpr std::string_view to_string(net_op o) noexcept {
    return o == net_op::connect ? "connect" : "send";
}
// The protocol's name, or "" for a number without one (see proto_text).
[[nodiscard]] constexpr std::string_view to_string(ip_proto p) noexcept {
    switch (p) {
    case ip_proto::icmp: return "icmp";
    case ip_proto::tcp: return "tcp";
    case ip_proto::udp: return "udp";
    case ip_proto::icmpv6: return "icmpv6";
    case ip_proto::udplite: return "udplite";
    }
    return "";
}
// The protocol's name, or its number in decimal for a raw socket's other
// protocol ("47"): what traces, alerts and baselines write.
[[nodiscard]] inline std::string proto_text(ip_proto p) {
    const std::string_view n = to_string(p);
    return n.empty() ? std::to_string(static_cast<unsigned>(p)) : std::string(n);
}
// The inverse of proto_text: a name, or a decimal number 0..255.
[[nodiscard]] inline std::optional<ip_proto> parse_proto(std::string_view s) noexcept {
    if (s == "tcp") return ip_proto::tcp;
    if (s == "udp") return ip_proto::udp;
    if (s == "icmp") return ip_proto::icmp;
    if (s == "icmpv6") return ip_proto::icmpv6;
    if (s == "udplite") return ip_proto::udplite;
    if (s.empty() || s.size() > 3) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 255 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    return static_cast<ip_proto>(v);
}
[[nodiscard]] constexpr std::string_view to_string(access_path a) noexcept {
    switch (a) {
    case access_path::syscall: return "syscall";
    case access_path::compat: return "compat";
    case access_path::io_uring: return "io_uring";
    }
    return "syscall";
}
[[nodiscard]] constexpr std::string_view to_string(write_how w) noexcept {
    switch (w) {
    case write_how::write: return "write";
    case write_how::copy: return "copy";
    case write_how::clone: return "clone";
    }
    return "write";
}
[[nodiscard]] constexpr std::string_view to_string(sock_kind k) noexcept {
    switch (k) {
    case sock_kind::unknown: return "";
    case sock_kind::stream: return "stream";
    case sock_kind::dgram: return "dgram";
    case sock_kind::raw: return "raw";
    case sock_kind::seqpacket: return "seqpacket";
    case sock_kind::dccp: return "dccp";
    }
    return "";
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

// Ways code from outside a program gets into a process (process_info::foreign,
// exec_event::foreign, foreign_event::bits): a bitmask. A process with any of
// them is not trusted as its program (docs/rules.md, "Foreign code").
enum foreign_code : std::uint32_t {
    preload_env = BW_FOREIGN_PRELOAD_ENV,   // LD_PRELOAD in the environment at exec (dynamic, not secure-exec)
    audit_env = BW_FOREIGN_AUDIT_ENV,       // LD_AUDIT likewise
    preload_file = BW_FOREIGN_PRELOAD_FILE, // exec'd (dynamically linked) while /etc/ld.so.preload was not empty
    ptraced = BW_FOREIGN_PTRACED,           // ptrace attached (ATTACH, SEIZE, TRACEME, or traced at exec)
    mem_written = BW_FOREIGN_MEM_WRITTEN,   // process_vm_writev into it, or its /proc/PID/mem opened for writing
    // Not a kernel bit (decode sets it from the exec record's flags): the
    // loader ran (dynamic, not secure-exec) and the environment was longer
    // than the kernel's scan (BW_EXECF_ENV_LONG), so an LD_PRELOAD or
    // LD_AUDIT past the scan bound cannot be ruled out.
    env_unscanned = 0x20,
};
static_assert((env_unscanned & BW_FOREIGN_MASK) == 0, "env_unscanned is the library's, outside the kernel's bits");
inline constexpr std::uint32_t foreign_all =
    preload_env | audit_env | preload_file | ptraced | mem_written | env_unscanned;

// Each bit's word (traces, alerts' process.foreign, the text box), in bit order.
struct foreign_word {
    foreign_code bit;
    std::string_view word;   // in traces
    std::string_view reason; // in alerts
};
inline constexpr std::array<foreign_word, 6> foreign_words{{
    {preload_env, "preload_env", "LD_PRELOAD at exec"},
    {audit_env, "audit_env", "LD_AUDIT at exec"},
    {preload_file, "preload_file", "/etc/ld.so.preload at exec"},
    {ptraced, "ptraced", "ptrace attached"},
    {mem_written, "mem_written", "memory written by another process"},
    {env_unscanned, "env_unscanned", "environment past the exec scan (LD_PRELOAD not ruled out)"},
}};
[[nodiscard]] inline std::vector<std::string> foreign_reasons(std::uint32_t bits) {
    std::vector<std::string> out;
    for (const auto& w : foreign_words)
        if ((bits & w.bit) != 0) out.emplace_back(w.reason);
    return out;
}

// The script an interpreter process runs: the file the interpreter opened,
// as the kernel resolved it (never a path string from the command line
// re-resolved later), with the sensor's fstat and hash of that very inode.
struct script_identity {            // defined in event.hpp
    std::string path;               // the script the interpreter runs (absolute)
    std::uint64_t dev = 0, ino = 0;
    std::optional<std::uint32_t> uid, mode;
    std::string sha256;
    std::string package;            // filled with the trust helper's dpkg check (at merge)
    std::optional<bool> host_file;  // likewise
    friend bool operator==(const script_identity&, const script_identity&) = default;
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
    // Identity checks by the sensor (sensor/identity.cpp):
    std::optional<bool> exe_host_file; // the exe's (dev, ino) is the file at `exe` in the
                                       // host's mount namespace (sensor stats it via
                                       // /proc/1/root); nullopt: unknown
    std::string exe_package;           // the dpkg package whose md5sums list `exe` and whose
                                       // recorded md5 equals the file's; empty: none/unknown
    // The script the new image runs: set at exec only as a pending name (the
    // command-line argument that names the script, dev/ino 0, no hash) for a
    // #! exec or a known interpreter given a script argument; a script_event
    // from the sensor then gives the file the interpreter really opened.
    // nullopt: not a script exec.
    std::optional<script_identity> script;
    std::uint32_t foreign = 0; // foreign_code bits known at exec
    // The task's cgroup id in the unified hierarchy at exec (the kernel's;
    // 0: none, e.g. a trace), and the container the sensor resolved from
    // it (container.hpp; empty: a host process, or not known).
    std::uint64_t cgroup_id = 0;
    shared_container container;
    friend bool operator==(const exec_event&, const exec_event&) = default;
};

// foreign: the event's process (the actor) got code into process `target`
// (a tgid): a ptrace attach, a write into its memory; for PTRACE_TRACEME the
// actor is the target.
struct foreign_event {
    pid_type target = 0;
    std::uint32_t bits = 0; // foreign_code
    friend bool operator==(const foreign_event&, const foreign_event&) = default;
};

// script: the process's interpreter opened its script. The kernel ships the
// first open of a regular file whose name matches the script its exec named
// (docs/kernel.md, "Scripts"); the sensor adds owner, mode and hash.
struct script_event {
    script_identity script;
    friend bool operator==(const script_event&, const script_event&) = default;
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
    access_path source = access_path::syscall; // native syscall, ia32 compat or io_uring
    friend bool operator==(const open_event&, const open_event&) = default;
};

// A TCP connect, or data sent on an AF_INET/AF_INET6 socket (docs/kernel.md,
// "Network"): the destination is kernel memory (the socket's peer, or the
// IP header of the datagram sent), never user memory.
struct net_event {
    net_op op = net_op::connect;
    ip_proto protocol = ip_proto::tcp;
    ip_address addr;
    std::uint16_t port = 0;
    std::uint32_t uid = 0;
    sock_kind sock = sock_kind::unknown; // the socket's type; unknown in old traces
    bool peer = false;                   // the destination is the socket's connected peer
    bool accepted = false;               // the connection was accepted here (a passive open)
    std::uint64_t bytes = 0;             // send: bytes this call sent
    nanoseconds conn_ts{0};              // when the connection started (connect or accept); 0: unknown
    std::uint64_t cookie = 0;            // the socket (kernel socket cookie); 0: unknown
    friend bool operator==(const net_event&, const net_event&) = default;
};

// write: a process of a hot family wrote to a regular file (the kernel
// side ships the first write of each file per process and window). A
// file written by a family that holds a secret becomes a derived secret.
struct write_event {
    std::string path; // absolute, kernel-resolved
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::uint64_t bytes = 0; // this call's
    std::uint32_t uid = 0;
    access_path source = access_path::syscall;
    write_how how = write_how::write;
    friend bool operator==(const write_event&, const write_event&) = default;
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

// One server a credential file names: `host` as the file writes it (a name
// or an IP literal) and one address it stands for, with the port the client
// would use (0: any port; a .netrc machine names no port).
struct bound_destination {
    std::string host;
    ip_address addr;
    std::uint16_t port = 0;
    friend bool operator==(const bound_destination&, const bound_destination&) = default;
};

// binding: "the credential file (dev, ino), known as `path`, is for these
// servers" (docs/rules.md, "Owner use").
//
// Not a kernel record. When a sensitive open reads a file whose format names
// its servers (a .netrc, a kubeconfig, .git-credentials, a registry auth
// file, an .s3cfg), the sensor parses the file and reports the servers, each
// name resolved off the event loop: a binding event carries what is known
// when it is made and replaces every earlier binding of the same inode (an
// empty list unbinds it). Recorded in traces like any event, so a replay
// quiets exactly what the live run quieted. pid and tid are 0.
struct binding_event {
    std::string path;   // the file as it was opened (absolute)
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::string format; // "netrc", "kubeconfig", "git-credentials", "registry-auth", "s3cfg"
    std::vector<bound_destination> destinations;
    friend bool operator==(const binding_event&, const binding_event&) = default;
};

using event_body = std::variant<exec_event, fork_event, exit_event, open_event, net_event, file_event, write_event,
                                foreign_event, script_event, binding_event>;

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
        case 5: return event_kind::file;
        case 6: return event_kind::write;
        case 7: return event_kind::foreign;
        case 8: return event_kind::script;
        default: return event_kind::binding;
        }
    }
    template <class T> [[nodiscard]] const T* as() const noexcept { return std::get_if<T>(&body); }
    template <class T> [[nodiscard]] T* as() noexcept { return std::get_if<T>(&body); }
    friend bool operator==(const event&, const event&) = default;
};

} // namespace barbwire
