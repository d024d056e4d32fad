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

#define BW_ABI_VERSION 5 /* 2: open records carry the kernel filter's key; BW_EVENT_OPEN_REPEAT
			    3: opens say how they were made; net records are sends of any
			       AF_INET/AF_INET6 socket with the connection's age; BW_EVENT_WRITE
			    4: exec records carry foreign-code bits, flags and the pending
			       script's name; BW_EVENT_FOREIGN, BW_EVENT_SCRIPT
			    5: exec records carry the cgroup (v2) id */

#define BW_COMM_LEN 16  /* TASK_COMM_LEN */
#define BW_PATH_MAX 512 /* kernel-resolved paths; longer ones are truncated and flagged */
#define BW_ARGV_MAX 256 /* NUL-separated argv summary */
#define BW_SCRIPT_MAX 128 /* the name a script exec gives its script (as passed, not resolved) */

enum bw_event_kind {
	BW_EVENT_EXEC = 1,
	BW_EVENT_FORK = 2,
	BW_EVENT_EXIT = 3,
	BW_EVENT_OPEN = 4,
	BW_EVENT_NET = 5,
	BW_EVENT_OPEN_REPEAT = 6, /* a repeated open of a file whose verdict is pending (kernel filter) */
	BW_EVENT_WRITE = 7,       /* a process of a hot family wrote to a regular file (taint) */
	BW_EVENT_FOREIGN = 8,     /* a process got code into another (ptrace, memory writes) */
	BW_EVENT_SCRIPT = 9,      /* an interpreter opened the script its exec named */
};
#define BW_EVENT_KIND_MAX BW_EVENT_SCRIPT

/* Foreign code in a process (bw_exec_event.foreign, bw_foreign_event.bits). */
#define BW_FOREIGN_PRELOAD_ENV 0x01  /* LD_PRELOAD in the environment at exec */
#define BW_FOREIGN_AUDIT_ENV 0x02    /* LD_AUDIT in the environment at exec */
#define BW_FOREIGN_PRELOAD_FILE 0x04 /* /etc/ld.so.preload not empty at exec (set by user space) */
#define BW_FOREIGN_PTRACED 0x08      /* a ptrace attach (or traced at exec) */
#define BW_FOREIGN_MEM_WRITTEN 0x10  /* process_vm_writev into it, /proc/PID/mem opened for writing */
#define BW_FOREIGN_MASK 0x1f

/* bw_exec_event.exec_flags */
#define BW_EXECF_DYNAMIC 0x01    /* the image has a program interpreter (AT_BASE != 0): the loader runs */
#define BW_EXECF_SECURE 0x02     /* secure exec (setuid, file capabilities): AT_SECURE, the loader ignores LD_PRELOAD paths */
#define BW_EXECF_SCRIPT 0x04     /* a script exec: #! or a known interpreter with a script argument */
#define BW_EXECF_ENV_LONG 0x08   /* the environment was not scanned to its end (longer than the scan bound, or a read failed) */

/* How an open or a write was made (bw_open_event.source, bw_write_event.source). */
enum bw_source {
	BW_SRC_SYSCALL = 0,  /* a native (64-bit) system call */
	BW_SRC_COMPAT = 1,   /* the ia32 compat entry (int $0x80, sysenter, a 32-bit program) */
	BW_SRC_IO_URING = 2, /* an io_uring request (openat, openat2, write, writev, splice) */
};
#define BW_SRC_MAX BW_SRC_IO_URING

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
	__u16 exec_flags; /* BW_EXECF_* */
	__u32 foreign;    /* BW_FOREIGN_* seen at exec */
	char comm[BW_COMM_LEN];
	char exe[BW_PATH_MAX];   /* executable path resolved by the kernel from bprm->file */
	char argv[BW_ARGV_MAX];  /* arguments separated by NUL */
	char script[BW_SCRIPT_MAX]; /* BW_EXECF_SCRIPT: the script's name as the exec gave it (NUL-terminated) */
	__u64 cgroup_id; /* the task's cgroup in the unified (v2) hierarchy at exec: the id of its
			    cgroupfs directory (name_to_handle_at); 1 is the root, 0 none */
};

/* How a foreign record's code got in (bw_foreign_event.how). */
enum bw_foreign_how {
	BW_FOREIGN_HOW_ATTACH = 1,   /* ptrace(PTRACE_ATTACH) */
	BW_FOREIGN_HOW_SEIZE = 2,    /* ptrace(PTRACE_SEIZE) */
	BW_FOREIGN_HOW_TRACEME = 3,  /* ptrace(PTRACE_TRACEME): the actor is the target */
	BW_FOREIGN_HOW_VM_WRITE = 4, /* process_vm_writev */
	BW_FOREIGN_HOW_PROC_MEM = 5, /* open of /proc/PID/mem for writing */
};
#define BW_FOREIGN_HOW_MAX BW_FOREIGN_HOW_PROC_MEM

/* hdr.tgid got (or may get) code into process target_tgid. */
struct bw_foreign_event {
	struct bw_event_header hdr;
	__u32 target_tgid; /* in the initial pid namespace */
	__u32 bits;        /* BW_FOREIGN_* */
	__u32 how;         /* enum bw_foreign_how */
	__u32 _pad0;
};

/* The first open, after a script exec, of a regular file whose name matches
 * the script's: the file the interpreter reads, resolved by the kernel. */
struct bw_script_event {
	struct bw_event_header hdr;
	__u64 dev;
	__u64 ino;
	__u16 path_size; /* bytes of path used, excluding the NUL */
	__u8 _pad0[6];
	char path[BW_PATH_MAX];
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

/*
 * The kernel filter's name for "this open file as a path string": everything
 * the path the kernel resolves (bpf/path.bpf.h) depends on, short of the
 * names of the ancestors and the mount tree, whose changes bump the filter
 * generation instead (docs/kernel.md, "In-kernel filtering"). Kernel
 * pointers are opaque numbers here: user space only compares them.
 */
struct bw_file_key {
	__u64 dentry;     /* file->f_path.dentry */
	__u64 mnt;        /* file->f_path.mnt */
	__u64 parent;     /* dentry->d_parent */
	__u64 ino;        /* inode->i_ino */
	__u64 name;       /* dentry->d_name.hash_len: the name's (salted) hash and length */
	__u32 generation; /* inode->i_generation */
	__u32 _pad0;
};

/* bw_open_event.filter: what the kernel filter knew when it shipped the open. */
enum bw_open_filter {
	BW_OPEN_UNFILTERED = 0,      /* the filter is off: nothing to answer */
	BW_OPEN_MISS = 1,            /* no verdict for key at gen: user space must answer */
	BW_OPEN_SENSITIVE_INODE = 2, /* (dev, ino) is in the sensitive-inode map */
	BW_OPEN_SENSITIVE = 3,       /* the verdict cache says sensitive */
};

/* A successful open: the path is resolved by the kernel from struct file. */
struct bw_open_event {
	struct bw_event_header hdr;
	__u64 dev;       /* device of the opened inode */
	__u64 ino;       /* inode number */
	__s32 flags;     /* open(2) flags */
	__u32 uid;
	__u16 path_size; /* bytes of path used, excluding the NUL */
	__u8 source;     /* enum bw_source */
	__u8 _pad0;
	__u32 _pad1;
	char path[BW_PATH_MAX];
	struct bw_file_key key; /* the verdict-cache key (filter != BW_OPEN_UNFILTERED) */
	__u64 gen;              /* the filter generation the key was looked up at */
	__u32 filter;           /* enum bw_open_filter */
	__u32 _pad2;
	struct bw_file_key dir; /* the key of the directory the file is in (its own bw_file_key) */
};

/*
 * Another open of a file whose verdict is still pending: the verdict cache
 * holds BW_VERDICT_PENDING for (key, gen), so a full bw_open_event with that
 * key precedes this record in the ring. No path: user space takes it from
 * that event.
 */
struct bw_open_repeat_event {
	struct bw_event_header hdr;
	__u64 dev;
	__u64 ino;
	__s32 flags;
	__u32 uid;
	struct bw_file_key key;
	__u64 gen;
	__u8 source; /* enum bw_source */
	__u8 _pad0[7];
};

/* bw_net_event.op */
enum bw_net_op {
	BW_NET_CONNECT = 1, /* a TCP connect (SYN_SENT) */
	BW_NET_SEND = 2,    /* data sent on an AF_INET/AF_INET6 socket, by any syscall or io_uring */
};

/* bw_net_event.net_flags */
#define BW_NETF_PEER 0x01     /* the destination is the socket's connected peer (else: the packet's) */
#define BW_NETF_ACCEPTED 0x02 /* the connection was accepted here (a passive open), not connected out */

/*
 * A network action towards a destination. For a send, the destination is
 * read from kernel memory: the socket's peer for a connected socket, else
 * the IP header of the datagram the send queued (docs/kernel.md).
 */
struct bw_net_event {
	struct bw_event_header hdr;
	__u16 family;    /* AF_INET (2) or AF_INET6 (10): of the destination address */
	__u16 port;      /* destination port, host byte order (0 for ICMP and raw) */
	__u8 protocol;   /* IPPROTO_*: TCP (6), UDP (17), ICMP (1), ICMPV6 (58), UDP-Lite (136), or a raw socket's */
	__u8 op;         /* enum bw_net_op */
	__u8 sock_type;  /* SOCK_STREAM (1), SOCK_DGRAM (2), SOCK_RAW (3) */
	__u8 net_flags;  /* BW_NETF_* */
	__u32 uid;
	__u8 addr[16];   /* network byte order; IPv4 uses the first 4 bytes */
	__u32 _pad1;
	__u64 bytes;     /* send: bytes this call sent; connect: 0 */
	__u64 conn_ns;   /* ktime the connection started (connect or accept); 0: unknown */
	__u64 cookie;    /* the socket's cookie: every record of one socket has the same */
};

/*
 * A write to a regular file by a process of a hot family (the taint of
 * derived secrets): the first write of that file by the process within the
 * window; later ones are folded in the kernel.
 */
struct bw_write_event {
	struct bw_event_header hdr;
	__u64 dev;       /* device of the written inode (encoded like bw_open_event.dev) */
	__u64 ino;
	__u64 bytes;     /* bytes this call wrote */
	__u32 uid;
	__u16 path_size; /* bytes of path used, excluding the NUL */
	__u8 source;     /* enum bw_source */
	__u8 how;        /* enum bw_write_how */
	char path[BW_PATH_MAX];
};

/* bw_write_event.how */
enum bw_write_how {
	BW_WRITE_WRITE = 1, /* write, writev, pwrite64, pwritev, pwritev2, io_uring write */
	BW_WRITE_COPY = 2,  /* sendfile, splice, copy_file_range into the file */
	BW_WRITE_CLONE = 3, /* ioctl FICLONE / FICLONERANGE (a reflink copy) */
};
#define BW_WRITE_HOW_MAX BW_WRITE_CLONE

/* ------------------------------------------------------------------------ */
/* The kernel filter's maps (written by user space, read by the BPF side)     */
/* ------------------------------------------------------------------------ */

/* Verdict-cache values (map `verdicts`, key struct bw_file_key). */
enum bw_verdict_state {
	BW_VERDICT_PENDING = 1,   /* a full open event is on its way to user space */
	BW_VERDICT_BORING = 2,    /* no rule can match this file: opens stay in the kernel */
	BW_VERDICT_SENSITIVE = 3, /* a rule matches: every open is shipped in full */
};
struct bw_verdict {
	__u64 gen;   /* the generation the verdict was decided at; another one is stale */
	__u32 state; /* enum bw_verdict_state */
	__u32 _pad0;
};

/*
 * The front of boring verdicts (map `boring`: a BPF_F_MMAPABLE array of
 * slots that the sensor alone writes through its mapping and the kernel
 * reads): a file whose verdict the sensor decided BORING at generation
 * `gen` is also put in one of the two slots of its bucket, so most boring
 * opens cost one cache line instead of a hash-map lookup. A slot is
 * written like a seqcount: `seq` made odd, the fields, `seq` made even; a
 * reader that sees an odd `seq`, or another `seq` after the fields, ignores
 * the slot (x86's store and load order makes that enough; other
 * architectures leave the front off).
 */
struct bw_boring_slot {
	__u32 seq;
	__u32 _pad0;
	struct bw_file_key key;
	__u64 gen;
};

/* The bucket of a key (slots 2*b and 2*b+1); `mask` = buckets - 1. Only the
 * key's numbers are mixed, not its kernel pointers (the BPF verifier allows
 * no arithmetic on those); the name's hash is salted by its parent dentry. */
static __inline __u32 bw_boring_bucket(const struct bw_file_key *k, __u32 mask)
{
	__u64 h = k->name ^ (k->ino << 17) ^ k->generation;
	h *= 0x9E3779B97F4A7C15ULL;
	return (__u32)(h >> 32) & mask;
}

/*
 * The verdict on a directory (map `dirs`, keyed by the directory's own
 * bw_file_key; user space writes it from the path of a full open record):
 * which child names could match a rule. An open of a regular file in the
 * directory, at generation `gen`, whose name is at most BW_DIR_NAME_MAX
 * bytes, fails every check below, and whose inode is not sensitive, is
 * boring: no per-file lookup. The checks only say "maybe" (the open then
 * goes on to the per-file verdict), never "no" when a rule could match
 * (kernel_filter.hpp, dir_verdict_of, derives them from the rules).
 */
#define BW_DIR_NAME_MAX 32
#define BW_DIR_CONTAINS 2
struct bw_dir_verdict {
	__u64 gen;
	__u64 prefix_bloom[4]; /* bit bw_name_bloom_bit(first 4 bytes of X) for every prefix X a name may start with */
	__u8 contains[BW_DIR_CONTAINS][8]; /* a name containing one of these (contains_len bytes) may match */
	__u8 contains_len[BW_DIR_CONTAINS]; /* 1..8; 0: unused */
	__u8 _pad[6];
};

/* The prefix bloom's bit (0..255) of a name's first four bytes, read as a
 * little-endian word. */
static __inline __u32 bw_name_bloom_bit(__u32 first4)
{
	return (first4 * 0x9E3779B1U) >> 24;
}

#define BW_INODE_BLOOM_WORDS 128 /* a power of two */

/* The word (0..BW_INODE_BLOOM_WORDS-1) and the two bits in it (a 64-bit
 * mask; one bit when both fall on the same) of (dev, ino) in the
 * sensitive-inode bloom (bw_filter_state's sibling in .bss, `inode_bloom`,
 * written by the sensor): an inode whose word lacks a bit of its mask is not
 * in `sensitive_inodes`. Both bits in one word, so a check reads one cache
 * line (a blocked bloom filter). */
static __inline void bw_inode_bloom_slot(__u64 dev, __u64 ino, __u32 *word, __u64 *mask)
{
	__u64 h = (ino ^ (dev << 40) ^ (dev >> 24)) * 0x9E3779B97F4A7C15ULL;
	*word = (__u32)(h >> 54) & (BW_INODE_BLOOM_WORDS - 1);
	*mask = (1ULL << ((h >> 48) & 63)) | (1ULL << ((h >> 42) & 63));
}

/* Sensitive-inode map key (map `sensitive_inodes`, value __u8 1). */
struct bw_inode_key {
	__u64 dev; /* encoded like bw_open_event.dev */
	__u64 ino;
};

/* Hot-family map key (maps `hot`, written by the kernel, and `hot_user`,
 * written by the sensor, value __u64: the ktime of a sensitive open). */
enum bw_hot_kind {
	BW_HOT_TGID = 1,
	BW_HOT_SID = 2,
};
struct bw_hot_key {
	__u32 kind; /* enum bw_hot_kind */
	__u32 id;   /* tgid or session id */
};

/* The kernel's hot mark of a process or session (map `hot`). */
struct bw_hot {
	__u64 sure_ns;   /* ktime of the last open known sensitive (sensitive inode or verdict) */
	__u64 maybe_pos; /* ring producer position after the last record of an open whose
			    verdict was unknown (a miss or a repeat): until the reader has
			    consumed up to here, that open may still turn out sensitive */
	__u64 held_ns;   /* tgid keys: a secret inherited at fork from a parent that held
			    one (its time); cleared by exec, the entry removed at exit */
};

/* Filter state in the object's .bss, read and bumped atomically by both sides. */
struct bw_filter_state {
	__u64 gen;       /* verdicts of another generation are stale */
	__u64 window_ns; /* the rules' correlation window */
};

/* The hottest marks of any process or session (object .bss `hot_summary`):
 * each is the maximum of that field over every entry of `hot` (sure_ns,
 * maybe_pos) or `hot_user` (user_ns), raised atomically with the entry.
 * When none of them is within the window or unconsumed, no family is hot
 * and a network event is dropped without a per-family lookup. */
struct bw_hot_summary {
	__u64 sure_ns;   /* max bw_hot.sure_ns (kernel) */
	__u64 maybe_pos; /* max bw_hot.maybe_pos (kernel) */
	__u64 user_ns;   /* max hot_user value (sensor) */
	__u64 held;      /* processes that may hold a secret past the window: the sensor's
			    hot_user tgid entries plus the kernel's inherited ones (bw_hot.held_ns);
			    raised and lowered atomically by both sides, never below the truth */
	__u64 flags;     /* BW_HOT_TIME: a time mark (sure_ns, user_ns) may be within the window;
			    BW_HOT_PENDING: maybe_pos may be beyond the reader; upper bits count
			    the raises. While neither bit is set (and nothing is held), every
			    family is cold, which a check reads with no helper call and no
			    clock. Set, with a count step (compare-and-exchange), by whoever
			    raises such a mark, after the mark; cleared only by the sensor, by a
			    compare-and-exchange from the value it read before it found every
			    time mark older than the window, or its consumer position past
			    maybe_pos: a raise in between changes the count and makes it fail */
};
#define BW_HOT_TIME 1ULL
#define BW_HOT_PENDING 2ULL
#define BW_HOT_STEP 4ULL

/* Per-CPU counters of the kernel side (map `counters`, one struct per CPU). */
enum bw_counter {
	BW_CTR_OPEN_BORING = 0,      /* opens dropped: the verdict cache's boring verdict */
	BW_CTR_OPEN_MISS,            /* full opens shipped for a verdict */
	BW_CTR_OPEN_REPEAT,          /* repeat records shipped (verdict pending) */
	BW_CTR_OPEN_SENSITIVE_INODE, /* full opens shipped: sensitive inode */
	BW_CTR_OPEN_SENSITIVE,       /* full opens shipped: cached sensitive verdict */
	BW_CTR_OPEN_UNFILTERED,      /* full opens shipped with the filter off */
	BW_CTR_NET_COLD,             /* connects / sends dropped: no recent sensitive open in the family */
	BW_CTR_NET_SHIPPED,          /* connects / sends shipped */
	BW_CTR_GEN_BUMPS,            /* generation bumps by the kernel (rename, mount, ...) */
	BW_CTR_SHED_OPEN,            /* full opens shed: ring past its high-water mark */
	BW_CTR_SHED_REPEAT,          /* repeat records shed */
	BW_CTR_SHED_NET,             /* connects / sends shed */
	BW_CTR_PENDING_FAILED,       /* a pending verdict could not be inserted */
	BW_CTR_SEND_FOLDED,          /* sends of a hot family not shipped: same socket, destination and marks */
	BW_CTR_SEND_NODEST,          /* sends of a hot family whose destination was not found */
	BW_CTR_WRITE_SHIPPED,        /* writes shipped (taint) */
	BW_CTR_WRITE_FOLDED,         /* writes of a hot family not shipped: the same file within the window */
	BW_CTR_OPEN_COMPAT,          /* opens seen through the ia32 compat entry */
	BW_CTR_OPEN_IO_URING,        /* opens seen through io_uring */
	BW_CTR_SHED_WRITE,           /* write records shed */
	/* opens dropped as boring before the verdict cache is looked at
	 * (BW_CTR_OPEN_BORING counts the cache's own boring verdicts) */
	BW_CTR_OPEN_BORING_DIR,      /* by the directory's verdict */
	BW_CTR_OPEN_BORING_RECENT,   /* by the per-CPU recent-file slot */
	BW_CTR_OPEN_BORING_FRONT,    /* by the boring front (bw_boring_slot) */
	BW_CTR_SCRIPT_LOOKUPS,       /* opens that looked their process up in script_wait (its slot waits) */
	BW_CTR_COUNT
};
struct bw_counters {
	__u64 v[32]; /* indexed by enum bw_counter; room to grow */
};

/*
 * The interpreters whose exec with a script argument (argv[1], not an
 * option) is a script exec (object .bss `interp_names`, `interp_count`,
 * written by the sensor from the config's `interpreters`): the new comm,
 * read as two little-endian words, masked, equals `name`. An exact name
 * also compares its terminating NUL; a prefix ("python3*") does not.
 */
#define BW_INTERP_MAX 16
struct bw_interp_name {
	__u64 name[2]; /* the comm bytes that must match, zero elsewhere */
	__u64 mask[2]; /* 0xff for each byte compared */
};

/* Entries of the dispatcher's lookup tables (system call numbers 0..1023;
 * x32's with the x32 bit cleared). */
#define BW_SYS_TABLE 1024

/* What the kernel side's sys_exit dispatcher does with a system call
 * (bpf/barbwire.bpf.c). The tables below are the one statement of which
 * numbers count: on x86 user space fills the BPF program's read-only lookup
 * tables from the x86-64 and ia32 ones before load; on arm64 the program
 * calls the asm-generic one itself. */
enum bw_sys_action {
	BW_SYS_NONE = 0,
	BW_SYS_OPEN,  /* returns a new descriptor of an opened file */
	BW_SYS_BUMP,  /* rename or mount: bumps the filter generation on success */
	BW_SYS_WRITE, /* writes into the descriptor in argument 0 */
	BW_SYS_COPY,  /* sendfile: into the descriptor in argument 0 */
	BW_SYS_COPY2, /* splice, copy_file_range: into the descriptor in argument 2 */
	BW_SYS_IOCTL, /* ioctl: FICLONE / FICLONERANGE into the descriptor in argument 0 */
	BW_SYS_PTRACE,   /* ptrace: ATTACH, SEIZE, TRACEME on success */
	BW_SYS_VM_WRITE, /* process_vm_writev: into the process in argument 0, on success */
};
/* The x86 dispatcher keeps both ABIs' actions of a number in one byte:
 * native in the low BW_SYS_ACTION_BITS, ia32 above. */
#define BW_SYS_ACTION_BITS 4
#define BW_SYS_ACTION_MASK ((1 << BW_SYS_ACTION_BITS) - 1)

/* x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl); x32
 * ones are the same with BW_X32_SYSCALL_BIT, plus a few of their own. */
static __inline int bw_sys_action_x86_64(long nr)
{
	switch (nr) {
	case 2:   /* open */
	case 85:  /* creat */
	case 257: /* openat */
	case 304: /* open_by_handle_at */
	case 437: /* openat2 */
		return BW_SYS_OPEN;
	case 82:  /* rename */
	case 264: /* renameat */
	case 316: /* renameat2 */
	case 165: /* mount */
	case 166: /* umount2 */
	case 429: /* move_mount */
	case 155: /* pivot_root */
		return BW_SYS_BUMP;
	case 1:   /* write */
	case 18:  /* pwrite64 */
	case 20:  /* writev */
	case 296: /* pwritev */
	case 328: /* pwritev2 */
	case 516: /* x32 writev */
	case 535: /* x32 pwritev */
	case 547: /* x32 pwritev2 */
		return BW_SYS_WRITE;
	case 40:  /* sendfile */
		return BW_SYS_COPY;
	case 275: /* splice */
	case 326: /* copy_file_range */
		return BW_SYS_COPY2;
	case 16:  /* ioctl */
	case 514: /* x32 ioctl */
		return BW_SYS_IOCTL;
	case 101: /* ptrace */
	case 521: /* x32 ptrace */
		return BW_SYS_PTRACE;
	case 311: /* process_vm_writev */
	case 540: /* x32 process_vm_writev */
		return BW_SYS_VM_WRITE;
	}
	return BW_SYS_NONE;
}

/* ia32 compat numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
static __inline int bw_sys_action_ia32(long nr)
{
	switch (nr) {
	case 5:   /* open */
	case 8:   /* creat */
	case 295: /* openat */
	case 342: /* open_by_handle_at */
	case 437: /* openat2 */
		return BW_SYS_OPEN;
	case 38:  /* rename */
	case 302: /* renameat */
	case 353: /* renameat2 */
	case 21:  /* mount */
	case 22:  /* umount */
	case 52:  /* umount2 */
	case 429: /* move_mount */
	case 217: /* pivot_root */
		return BW_SYS_BUMP;
	case 4:   /* write */
	case 146: /* writev */
	case 181: /* pwrite64 */
	case 334: /* pwritev */
	case 379: /* pwritev2 */
		return BW_SYS_WRITE;
	case 187: /* sendfile */
	case 239: /* sendfile64 */
		return BW_SYS_COPY;
	case 313: /* splice */
	case 377: /* copy_file_range */
		return BW_SYS_COPY2;
	case 54:  /* ioctl */
		return BW_SYS_IOCTL;
	case 26:  /* ptrace */
		return BW_SYS_PTRACE;
	case 348: /* process_vm_writev */
		return BW_SYS_VM_WRITE;
	}
	return BW_SYS_NONE;
}

/* asm-generic numbers (include/uapi/asm-generic/unistd.h), as arm64 uses
 * them; its compat (AArch32) system calls are not dispatched. */
static __inline int bw_sys_action_generic(long nr)
{
	switch (nr) {
	case 56:  /* openat */
	case 265: /* open_by_handle_at */
	case 437: /* openat2 */
		return BW_SYS_OPEN;
	case 38:  /* renameat */
	case 276: /* renameat2 */
	case 40:  /* mount */
	case 39:  /* umount2 */
	case 429: /* move_mount */
	case 41:  /* pivot_root */
		return BW_SYS_BUMP;
	case 64:  /* write */
	case 66:  /* writev */
	case 68:  /* pwrite64 */
	case 70:  /* pwritev */
	case 287: /* pwritev2 */
		return BW_SYS_WRITE;
	case 71:  /* sendfile */
		return BW_SYS_COPY;
	case 76:  /* splice */
	case 285: /* copy_file_range */
		return BW_SYS_COPY2;
	case 29:  /* ioctl */
		return BW_SYS_IOCTL;
	case 117: /* ptrace */
		return BW_SYS_PTRACE;
	case 271: /* process_vm_writev */
		return BW_SYS_VM_WRITE;
	}
	return BW_SYS_NONE;
}

#endif /* BARBWIRE_ABI_EVENTS_H */
