// abi/events.h: the wire layout shared with the BPF programs. decode.hpp
// static_asserts every offset; these runtime checks state the same facts in a
// test report, plus the invariants of the constants.
#include <catch2/catch.hpp>

#include <cstddef>
#include <set>
#include <type_traits>

#include <sys/socket.h> // SOCK_*

#include "barbwire/abi/events.h"
#include "barbwire/decode.hpp"

TEST_CASE("abi: version and limits") {
    CHECK(BW_ABI_VERSION == 5);
    CHECK(BW_SCRIPT_MAX == 128);
    CHECK(BW_COMM_LEN == 16);
    CHECK(BW_PATH_MAX == 512);
    CHECK(BW_ARGV_MAX == 256);
    CHECK(BW_F_TRUNCATED == 0x01);
    // the size fields must be able to express their whole field
    CHECK(BW_PATH_MAX <= UINT16_MAX);
    CHECK(BW_ARGV_MAX <= UINT16_MAX);
}

TEST_CASE("abi: the enums of ABI 4 match the event model") {
    // bw_source: an open's and a write's source; 0 is the default (a native syscall)
    CHECK(BW_SRC_SYSCALL == 0);
    CHECK(BW_SRC_COMPAT == 1);
    CHECK(BW_SRC_IO_URING == 2);
    CHECK(BW_SRC_MAX == BW_SRC_IO_URING);
    CHECK(static_cast<int>(barbwire::access_path::syscall) == BW_SRC_SYSCALL);
    CHECK(static_cast<int>(barbwire::access_path::compat) == BW_SRC_COMPAT);
    CHECK(static_cast<int>(barbwire::access_path::io_uring) == BW_SRC_IO_URING);
    // bw_write_how: 0 is no value (a zeroed record is not a valid write)
    CHECK(BW_WRITE_WRITE == 1);
    CHECK(BW_WRITE_COPY == 2);
    CHECK(BW_WRITE_CLONE == 3);
    CHECK(BW_WRITE_HOW_MAX == BW_WRITE_CLONE);
    CHECK(static_cast<int>(barbwire::write_how::write) == BW_WRITE_WRITE);
    CHECK(static_cast<int>(barbwire::write_how::copy) == BW_WRITE_COPY);
    CHECK(static_cast<int>(barbwire::write_how::clone) == BW_WRITE_CLONE);
    // net_flags: distinct bits
    CHECK(BW_NETF_PEER == 0x01);
    CHECK(BW_NETF_ACCEPTED == 0x02);
    // sock_type is the kernel's SOCK_* number
    CHECK(static_cast<int>(barbwire::sock_kind::unknown) == 0);
    CHECK(static_cast<int>(barbwire::sock_kind::stream) == SOCK_STREAM);
    CHECK(static_cast<int>(barbwire::sock_kind::dgram) == SOCK_DGRAM);
    CHECK(static_cast<int>(barbwire::sock_kind::raw) == SOCK_RAW);
    CHECK(static_cast<int>(barbwire::sock_kind::seqpacket) == SOCK_SEQPACKET);
    CHECK(static_cast<int>(barbwire::sock_kind::dccp) == SOCK_DCCP);
    // protocol is the kernel's IPPROTO_* number
    CHECK(static_cast<int>(barbwire::ip_proto::icmp) == IPPROTO_ICMP);
    CHECK(static_cast<int>(barbwire::ip_proto::tcp) == IPPROTO_TCP);
    CHECK(static_cast<int>(barbwire::ip_proto::udp) == IPPROTO_UDP);
    CHECK(static_cast<int>(barbwire::ip_proto::icmpv6) == IPPROTO_ICMPV6);
    CHECK(static_cast<int>(barbwire::ip_proto::udplite) == IPPROTO_UDPLITE);
}

TEST_CASE("abi: record kinds are distinct, dense and match event_kind") {
    const std::set<int> kinds{BW_EVENT_EXEC, BW_EVENT_FORK, BW_EVENT_EXIT, BW_EVENT_OPEN, BW_EVENT_NET,
                              BW_EVENT_OPEN_REPEAT, BW_EVENT_WRITE, BW_EVENT_FOREIGN, BW_EVENT_SCRIPT};
    CHECK(kinds.size() == 9);
    CHECK(*kinds.begin() == 1);
    CHECK(*kinds.rbegin() == BW_EVENT_KIND_MAX);
    CHECK(static_cast<int>(barbwire::event_kind::exec) == BW_EVENT_EXEC);
    CHECK(static_cast<int>(barbwire::event_kind::fork) == BW_EVENT_FORK);
    CHECK(static_cast<int>(barbwire::event_kind::exit) == BW_EVENT_EXIT);
    CHECK(static_cast<int>(barbwire::event_kind::open) == BW_EVENT_OPEN);
    CHECK(static_cast<int>(barbwire::event_kind::net) == BW_EVENT_NET);
    CHECK(static_cast<int>(barbwire::event_kind::write) == BW_EVENT_WRITE);
    CHECK(static_cast<int>(barbwire::event_kind::foreign) == BW_EVENT_FOREIGN);
    CHECK(static_cast<int>(barbwire::event_kind::script) == BW_EVENT_SCRIPT);
    // the sensor's own kinds stay clear of every kernel record kind
    CHECK(static_cast<int>(barbwire::event_kind::file) > BW_EVENT_KIND_MAX);
    CHECK(static_cast<int>(barbwire::event_kind::binding) > BW_EVENT_KIND_MAX);
    CHECK(BW_NET_CONNECT != BW_NET_SEND);
    CHECK(static_cast<int>(barbwire::net_op::connect) == BW_NET_CONNECT);
    CHECK(static_cast<int>(barbwire::net_op::send) == BW_NET_SEND);
}

TEST_CASE("abi: sizes") {
    CHECK(sizeof(bw_event_header) == 24);
    CHECK(sizeof(bw_exec_event) == 984);
    CHECK(offsetof(bw_exec_event, cgroup_id) == 976);
    CHECK(sizeof(bw_foreign_event) == 40);
    CHECK(sizeof(bw_script_event) == 560);
    CHECK(sizeof(bw_fork_event) == 32);
    CHECK(sizeof(bw_exit_event) == 32);
    CHECK(sizeof(bw_open_event) == 680);
    CHECK(sizeof(bw_net_event) == 80);
    CHECK(sizeof(bw_open_repeat_event) == 112);
    CHECK(sizeof(bw_write_event) == 568);
    CHECK(sizeof(bw_file_key) == 48);
}

TEST_CASE("abi: every record starts with the header and is 8-byte aligned") {
    CHECK(offsetof(bw_exec_event, hdr) == 0);
    CHECK(offsetof(bw_fork_event, hdr) == 0);
    CHECK(offsetof(bw_exit_event, hdr) == 0);
    CHECK(offsetof(bw_open_event, hdr) == 0);
    CHECK(offsetof(bw_net_event, hdr) == 0);
    CHECK(offsetof(bw_open_repeat_event, hdr) == 0);
    CHECK(offsetof(bw_write_event, hdr) == 0);
    CHECK(offsetof(bw_foreign_event, hdr) == 0);
    CHECK(offsetof(bw_script_event, hdr) == 0);
    CHECK(sizeof(bw_foreign_event) % 8 == 0);
    CHECK(sizeof(bw_script_event) % 8 == 0);
    CHECK(sizeof(bw_open_repeat_event) % 8 == 0);
    CHECK(sizeof(bw_write_event) % 8 == 0);
    CHECK(sizeof(bw_exec_event) % 8 == 0);
    CHECK(sizeof(bw_fork_event) % 8 == 0);
    CHECK(sizeof(bw_exit_event) % 8 == 0);
    CHECK(sizeof(bw_open_event) % 8 == 0);
    CHECK(sizeof(bw_net_event) % 8 == 0);
}

TEST_CASE("abi: no implicit padding: the fields add up to the record size") {
    // If a field were added without explicit padding, the sum would fall short.
    CHECK(sizeof(bw_event_header) == 2 + 1 + 1 + 4 + 8 + 4 + 4);
    CHECK(sizeof(bw_exec_event) ==
          24 + 4 * 4 + 8 + 8 + 2 + 2 + 4 + BW_COMM_LEN + BW_PATH_MAX + BW_ARGV_MAX + BW_SCRIPT_MAX + 8);
    CHECK(sizeof(bw_foreign_event) == 24 + 4 + 4 + 4 + 4);
    CHECK(sizeof(bw_script_event) == 24 + 8 + 8 + 2 + 6 + BW_PATH_MAX);
    CHECK(sizeof(bw_fork_event) == 24 + 4 + 4);
    CHECK(sizeof(bw_exit_event) == 24 + 4 + 4);
    CHECK(sizeof(bw_file_key) == 5 * 8 + 4 + 4);
    CHECK(sizeof(bw_open_event) == 24 + 8 + 8 + 4 + 4 + 2 + 2 + 4 + BW_PATH_MAX + sizeof(bw_file_key) + 8 + 4 + 4 +
                                           sizeof(bw_file_key));
    CHECK(sizeof(bw_open_repeat_event) == 24 + 8 + 8 + 4 + 4 + sizeof(bw_file_key) + 8 + 1 + 7);
    CHECK(sizeof(bw_net_event) == 24 + 2 + 2 + 1 + 1 + 1 + 1 + 4 + 16 + 4 + 8 + 8 + 8);
    CHECK(sizeof(bw_write_event) == 24 + 8 + 8 + 8 + 4 + 2 + 1 + 1 + BW_PATH_MAX);
}

TEST_CASE("abi: field offsets") {
    CHECK(offsetof(bw_event_header, size) == 4);
    CHECK(offsetof(bw_event_header, ktime_ns) == 8);
    CHECK(offsetof(bw_event_header, tgid) == 20);
    CHECK(offsetof(bw_exec_event, argv_size) == 56);
    CHECK(offsetof(bw_exec_event, comm) == 64);
    CHECK(offsetof(bw_exec_event, exe) == 80);
    CHECK(offsetof(bw_exec_event, argv) == 592);
    CHECK(offsetof(bw_exec_event, exec_flags) == 58);
    CHECK(offsetof(bw_exec_event, foreign) == 60);
    CHECK(offsetof(bw_exec_event, script) == 848);
    CHECK(offsetof(bw_foreign_event, target_tgid) == 24);
    CHECK(offsetof(bw_foreign_event, how) == 32);
    CHECK(offsetof(bw_script_event, path_size) == 40);
    CHECK(offsetof(bw_script_event, path) == 48);
    CHECK(offsetof(bw_open_event, path_size) == 48);
    CHECK(offsetof(bw_open_event, source) == 50);
    CHECK(offsetof(bw_open_event, path) == 56);
    CHECK(offsetof(bw_open_event, key) == 568);
    CHECK(offsetof(bw_open_event, filter) == 624);
    CHECK(offsetof(bw_open_repeat_event, key) == 48);
    CHECK(offsetof(bw_open_repeat_event, gen) == 96);
    CHECK(offsetof(bw_open_repeat_event, source) == 104);
    CHECK(offsetof(bw_net_event, family) == 24);
    CHECK(offsetof(bw_net_event, sock_type) == 30);
    CHECK(offsetof(bw_net_event, net_flags) == 31);
    CHECK(offsetof(bw_net_event, addr) == 36);
    CHECK(offsetof(bw_net_event, bytes) == 56);
    CHECK(offsetof(bw_net_event, conn_ns) == 64);
    CHECK(offsetof(bw_net_event, cookie) == 72);
    CHECK(offsetof(bw_write_event, dev) == 24);
    CHECK(offsetof(bw_write_event, bytes) == 40);
    CHECK(offsetof(bw_write_event, uid) == 48);
    CHECK(offsetof(bw_write_event, path_size) == 52);
    CHECK(offsetof(bw_write_event, source) == 54);
    CHECK(offsetof(bw_write_event, how) == 55);
    CHECK(offsetof(bw_write_event, path) == 56);
}

TEST_CASE("abi: records are trivially copyable (memcpy from the ring buffer is valid)") {
    CHECK(std::is_trivially_copyable_v<bw_exec_event>);
    CHECK(std::is_trivially_copyable_v<bw_fork_event>);
    CHECK(std::is_trivially_copyable_v<bw_exit_event>);
    CHECK(std::is_trivially_copyable_v<bw_open_event>);
    CHECK(std::is_trivially_copyable_v<bw_net_event>);
    CHECK(std::is_trivially_copyable_v<bw_open_repeat_event>);
    CHECK(std::is_trivially_copyable_v<bw_write_event>);
    CHECK(std::is_trivially_copyable_v<bw_foreign_event>);
    CHECK(std::is_trivially_copyable_v<bw_script_event>);
}

TEST_CASE("abi: the sys_exit dispatcher's tables name the right system calls on each ABI") {
    // openat, write, sendfile, splice, rename and ioctl by their numbers on
    // x86-64, ia32 and asm-generic (arm64); read is no action anywhere.
    CHECK(bw_sys_action_x86_64(257) == BW_SYS_OPEN);
    CHECK(bw_sys_action_ia32(295) == BW_SYS_OPEN);
    CHECK(bw_sys_action_generic(56) == BW_SYS_OPEN);
    CHECK(bw_sys_action_x86_64(1) == BW_SYS_WRITE);
    CHECK(bw_sys_action_ia32(4) == BW_SYS_WRITE);
    CHECK(bw_sys_action_generic(64) == BW_SYS_WRITE);
    CHECK(bw_sys_action_x86_64(40) == BW_SYS_COPY);
    CHECK(bw_sys_action_ia32(239) == BW_SYS_COPY);
    CHECK(bw_sys_action_generic(71) == BW_SYS_COPY);
    CHECK(bw_sys_action_x86_64(275) == BW_SYS_COPY2);
    CHECK(bw_sys_action_generic(76) == BW_SYS_COPY2);
    CHECK(bw_sys_action_x86_64(316) == BW_SYS_BUMP);
    CHECK(bw_sys_action_generic(276) == BW_SYS_BUMP);
    CHECK(bw_sys_action_ia32(54) == BW_SYS_IOCTL);
    CHECK(bw_sys_action_generic(29) == BW_SYS_IOCTL);
    // issue 13's foreign code: ptrace and process_vm_writev on each ABI
    CHECK(bw_sys_action_x86_64(101) == BW_SYS_PTRACE);
    CHECK(bw_sys_action_ia32(26) == BW_SYS_PTRACE);
    CHECK(bw_sys_action_generic(117) == BW_SYS_PTRACE);
    CHECK(bw_sys_action_x86_64(311) == BW_SYS_VM_WRITE);
    CHECK(bw_sys_action_ia32(348) == BW_SYS_VM_WRITE);
    CHECK(bw_sys_action_generic(271) == BW_SYS_VM_WRITE);
    CHECK(bw_sys_action_x86_64(310) == BW_SYS_NONE); // process_vm_readv: not a write
    CHECK(bw_sys_action_x86_64(0) == BW_SYS_NONE);
    CHECK(bw_sys_action_ia32(3) == BW_SYS_NONE);
    CHECK(bw_sys_action_generic(63) == BW_SYS_NONE);
    // Every x86 number the tables act on fits the BPF program's lookup table.
    for (long nr = BW_SYS_TABLE; nr < 2 * BW_SYS_TABLE; ++nr) {
        CHECK(bw_sys_action_x86_64(nr) == BW_SYS_NONE);
        CHECK(bw_sys_action_ia32(nr) == BW_SYS_NONE);
    }
}
