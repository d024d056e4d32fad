/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Barbwire wire ABI: the records the BPF programs write into the ring buffer.
 *
 * This is the ONLY header shared between bpf/ and user space. It is plain C
 * with fixed-width types and explicit padding, so the layout is identical for
 * clang -target bpf and for the host compiler. libbarbwire static_asserts every
 * size and offset (see barbwire/decode.hpp), so drift between the two sides
 * fails to compile.
 *
 * Rules for changing it:
 *   - never reorder or resize an existing field;
 *   - a layout change bumps BW_ABI_VERSION;
 *   - new record kinds take the next free BW_EVENT_* number.
 */
#ifndef BARBWIRE_ABI_EVENTS_H
#define BARBWIRE_ABI_EVENTS_H

#ifdef __BPF__
/* vmlinux.h (or linux/types.h) provides __u8 .. __u64 */
#else
#include <linux/types.h>
#endif

#define BW_ABI_VERSION 1

#define BW_COMM_LEN 16  /* TASK_COMM_LEN */
#define BW_PATH_MAX 512 /* kernel-resolved paths; longer ones are truncated and flagged */
#define BW_ARGV_MAX 256 /* NUL-separated argv summary */

enum bw_event_kind {
	BW_EVENT_EXEC = 1,
	BW_EVENT_FORK = 2,
	BW_EVENT_EXIT = 3,
	BW_EVENT_OPEN = 4,
	BW_EVENT_NET = 5,
};
#define BW_EVENT_KIND_MAX BW_EVENT_NET

/* bw_event_header.flags */
#define BW_F_TRUNCATED 0x01 /* a string field did not fit and was cut */

/* Every record starts with this header. */
struct bw_event_header {
	__u16 kind;     /* enum bw_event_kind */
	__u8 version;   /* BW_ABI_VERSION */
	__u8 flags;     /* BW_F_* */
	__u32 size;     /* size of the whole record in bytes, header included */
	__u64 ktime_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 pid;      /* kernel pid: the thread id */
	__u32 tgid;     /* kernel tgid: the process id */
};

/* sched_process_exec: the new image of hdr.tgid. */
struct bw_exec_event {
	struct bw_event_header hdr;
	__u32 ppid;      /* tgid of the real parent */
	__u32 uid;       /* real uid */
	__u32 sid;       /* session id (pid namespace of the sensor) */
	__u32 pgid;      /* process group id */
	__u64 exe_dev;   /* device of the executable (kernel dev_t, new_encode_dev) */
	__u64 exe_ino;   /* inode of the executable */
	__u16 argv_size; /* bytes of argv used, including the NULs */
	__u16 _pad0;
	__u32 _pad1;
	char comm[BW_COMM_LEN];
	char exe[BW_PATH_MAX];   /* executable path resolved by the kernel from bprm->file */
	char argv[BW_ARGV_MAX];  /* arguments separated by NUL */
};

/* sched_process_fork: hdr.pid/hdr.tgid are the parent. */
struct bw_fork_event {
	struct bw_event_header hdr;
	__u32 child_pid;  /* thread id of the new task */
	__u32 child_tgid; /* process id of the new task; == hdr.tgid for a thread */
};

/* sched_process_exit: one per exiting task (thread or group leader). */
struct bw_exit_event {
	struct bw_event_header hdr;
	__s32 exit_code;
	__u32 _pad0;
};

/* A successful open: the path is resolved by the kernel from struct file. */
struct bw_open_event {
	struct bw_event_header hdr;
	__u64 dev;       /* device of the opened inode */
	__u64 ino;       /* inode number */
	__s32 flags;     /* open(2) flags */
	__u32 uid;
	__u16 path_size; /* bytes of path used, excluding the NUL */
	__u16 _pad0;
	__u32 _pad1;
	char path[BW_PATH_MAX];
};

/* bw_net_event.op */
enum bw_net_op {
	BW_NET_CONNECT = 1, /* TCP connect */
	BW_NET_SEND = 2,    /* UDP sendto/sendmsg with an explicit address */
};

/* A network action towards a destination. */
struct bw_net_event {
	struct bw_event_header hdr;
	__u16 family;   /* AF_INET (2) or AF_INET6 (10) */
	__u16 port;     /* destination port, host byte order */
	__u8 protocol;  /* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
	__u8 op;        /* enum bw_net_op */
	__u16 _pad0;
	__u32 uid;
	__u8 addr[16];  /* network byte order; IPv4 uses the first 4 bytes */
	__u32 _pad1;    /* explicit tail padding (the header's __u64 aligns the record to 8) */
};

#endif /* BARBWIRE_ABI_EVENTS_H */
