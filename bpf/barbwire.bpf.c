// SPDX-License-Identifier: GPL-2.0
/*
 * Barbwire kernel side: process lifecycle, successful file opens, writes of
 * hot families, TCP connects and data sent on AF_INET/AF_INET6 sockets,
 * written as bw_*_event records (barbwire/abi/events.h) into one ring
 * buffer. docs/kernel.md describes every hook, what it reads and its limits.
 *
 * Eight programs:
 *   - tp_btf sched_process_fork / exec / exit: the process graph;
 *   - tp_btf sys_exit: one dispatcher for every system call we care about,
 *     native and ia32 compat alike (opens, writes, renames and mounts);
 *     the per-syscall tracepoints never see compat system calls;
 *   - tp_btf io_uring_complete: opens, writes and renames made by io_uring;
 *   - tp_btf inet_sock_set_state: TCP connects, and when each connection
 *     started;
 *   - tp_btf net_dev_queue: the destination of each datagram a socket sends
 *     (the IP header in kernel memory);
 *   - tp_btf sock_send_length: every send on a socket, whatever issued it
 *     (write, send*, sendmmsg, sendfile, splice, io_uring).
 *
 * The in-kernel filter (docs/kernel.md, "In-kernel filtering"): an open of
 * a file whose cached verdict is "boring" at the current generation never
 * leaves the kernel; a connect, send or write of a process family with no
 * possibly sensitive open within the window, and no secret held, never does
 * either. Under a flood, opens, writes and network records are shed before
 * process lifecycle records, so lineage survives.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "barbwire/abi/events.h"
#include "path.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Not in vmlinux.h (macros in the kernel). */
#define BW_AF_INET 2
#define BW_AF_INET6 10
#define BW_S_IFMT 00170000
#define BW_S_IFREG 0100000
#define BW_S_IFSOCK 0140000
#define BW_SOCK_STREAM 1
#define BW_TCP_ESTABLISHED 1
#define BW_TCP_SYN_SENT 2
#define BW_TCP_SYN_RECV 3
#define BW_IPPROTO_UDP 17
#define BW_IPPROTO_UDPLITE 136
#define BW_TS_COMPAT 0x0002          /* thread_info.status: an ia32 system call is running (x86) */
#define BW_X32_SYSCALL_BIT 0x40000000 /* x32 system call numbers */
#define BW_FICLONE 0x40049409
#define BW_FICLONERANGE 0x4020940d
#define BW_IORING_FILE_INDEX_ALLOC (~0U)
#define BW_FFS_MASK (~3UL) /* io_uring fixed-file pointer flag bits */

/* Set by user space before load. */
const volatile __u32 self_tgid = 0;      /* the sensor's own process: not reported */
const volatile __u64 wakeup_bytes = 0;   /* wake the reader once this much is queued; 0: every record */
const volatile __u32 filter_enabled = 0; /* the in-kernel filter (verdict cache, hot families) */
const volatile __u64 shed_open_bytes = 0; /* shed opens, repeats and writes once this much is queued; 0: never */
const volatile __u64 shed_net_bytes = 0;  /* shed connects and sends once this much is queued; 0: never */
const volatile __u32 boring_mask = 0;     /* buckets of the boring front - 1; 0: no front */
/* The sys_exit dispatcher's table: by system call number, the native
 * action (enum bw_sys_action; x32 numbers with the x32 bit cleared) in the
 * low four bits and the ia32 one in the high four, filled by the loader
 * from bw_sys_action_x86_64 / _ia32 (events.h). One table, so a system
 * call's exit reads one cache line of it, not one of each of two tables. */
const volatile __u8 sys_actions[BW_SYS_TABLE] = {};

/* Generation and window, in .bss: user space maps it and bumps gen
 * atomically too. What every open reads of .bss (filter_state, inode_bloom,
 * script_slots) is declared first, in this order, so it all lies in the
 * first page of the map: an open of a stream of distinct files touches one
 * page of it, not three (on this KVM guest a page's translation is as likely
 * to be cold as a line). */
struct bw_filter_state filter_state = {};
/* The hottest marks over all families: a fast "nothing is hot" check. */
struct bw_hot_summary hot_summary = {};
/* A bloom filter of sensitive_inodes' keys, kept by the sensor (it sets the
 * bits before it adds an entry, and clears them only by rewriting the whole
 * filter from what is left): an inode with a clear bit is not sensitive. */
__u64 inode_bloom[BW_INODE_BLOOM_WORDS] = {};
/* Entries of script_wait by slot (tgid & (BW_SCRIPT_SLOTS - 1)): put in
 * and not yet taken out. An open looks its process up in script_wait only
 * when its slot is non-zero, so a process that waits for its script for
 * ever (an interpreter reading a pipe: `bash /dev/fd/3`) costs the lookup
 * to the processes of its slot only, not to every open of the host (a
 * single count did that). An LRU eviction leaves its slot high, never low. */
#define BW_SCRIPT_SLOTS 512
__u32 script_slots[BW_SCRIPT_SLOTS] = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24); /* replaced by user space */
} events SEC(".maps");

/* Failed bpf_ringbuf_reserve per record kind (index BW_EVENT_*: a slot for
 * every kind up to BW_EVENT_KIND_MAX; slot 0 is unused). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BW_EVENT_KIND_MAX + 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* The verdict cache: file key -> {gen, pending / boring / sensitive}. Its size
 * is set by user space before load. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct bw_file_key);
	__type(value, struct bw_verdict);
} verdicts SEC(".maps");

/* A small per-CPU front for boring verdicts, direct-mapped by the name hash:
 * a file opened again and again (a log, a library) skips the hash lookup.
 * It holds only boring verdicts at their generation, which never change
 * (a new verdict comes with a new generation), so it needs no invalidation. */
#define BW_RECENT_SLOTS 64
struct bw_recent {
	struct bw_file_key key;
	__u64 gen;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BW_RECENT_SLOTS);
	__type(key, __u32);
	__type(value, struct bw_recent);
} recent SEC(".maps");

/* Directory verdicts (struct bw_dir_verdict), written by user space, keyed
 * by the directory's own file key. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct bw_file_key);
	__type(value, struct bw_dir_verdict);
} dirs SEC(".maps");

/* A per-CPU front of directory verdicts, direct-mapped by the directory's
 * name hash: the directories files are opened in are few and hot. A plain
 * array of BW_RECENT_DIRS slots per CPU (index cpu * BW_RECENT_DIRS + slot;
 * the loader sizes it), mmapable so that its values start on a page and
 * each 128-byte slot is two whole cache lines: a boring open whose
 * directory has at most one contained string, and whose name's first four
 * bytes miss the folded prefix bloom, reads the first line only. (A per-CPU
 * array would first read the value's address, in another cold line.) A slot
 * is written only by a program on its own CPU; `seq` guards against one
 * that preempted another mid-write (bw_recent_dir_fill). */
#define BW_RECENT_DIRS 64
struct bw_recent_dir {
	/* first cache line */
	__u32 seq;                          /* odd while a program writes the slot */
	__u8 contains_len[BW_DIR_CONTAINS]; /* as bw_dir_verdict */
	__u8 _pad[2];
	__u64 dentry, mnt, parent, name;    /* the directory's key (bw_dir_key) */
	__u64 gen;
	__u64 prefix_fold;                  /* prefix_bloom's four words ORed together */
	__u64 contains0;                    /* contains[0], as a little-endian word */
	/* second cache line */
	__u64 prefix_bloom[4];
	__u64 contains1;
	__u8 _pad2[24];
};
_Static_assert(sizeof(struct bw_recent_dir) == 128, "a recent directory is two cache lines");
_Static_assert(BW_DIR_CONTAINS == 2, "bw_recent_dir has two contained strings");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, BW_RECENT_DIRS); /* times the possible CPUs: set by user space */
	__type(key, __u32);
	__type(value, struct bw_recent_dir);
} recent_dirs SEC(".maps");

/* The front of boring verdicts, written by the sensor alone (struct
 * bw_boring_slot in the ABI header): two slots per bucket. Its size is set
 * by user space before load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct bw_boring_slot);
} boring SEC(".maps");

/* The inodes of the files the rules name whose category counts (not
 * context), and of the derived secrets (files written by families that
 * held a secret). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bw_inode_key);
	__type(value, __u8);
} sensitive_inodes SEC(".maps");

/* Hot families: tgid or session -> its last sensitive open, the ring
 * position of its last open of unknown verdict, and (tgid) a secret
 * inherited at fork. Written by the kernel only. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct bw_hot_key);
	__type(value, struct bw_hot);
} hot SEC(".maps");

/* The same keys -> ktime of a sensitive open, written by the sensor only:
 * a tgid entry is a process the correlator knows holds a secret (for as
 * long as it lives: the sensor removes it at exit); a session entry is the
 * session's last sensitive open (within the window). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct bw_hot_key);
	__type(value, __u64);
} hot_user SEC(".maps");

/* The session user space knows a process by: the one of its last exec,
 * inherited at fork, or read from /proc at start (the correlator's sid). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);   /* tgid */
	__type(value, __u32); /* sid */
} proc_sid SEC(".maps");

/* What the filter did, per CPU (enum bw_counter). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_counters);
} counters SEC(".maps");

/*
 * Per socket (socket-local storage, freed with the socket, created only
 * while some family is hot): the destination of the last datagram it
 * queued, and what was shipped for it last (so a hot process streaming a
 * file over one connection ships one record per new mark or window, not
 * one per write).
 */
struct bw_sock_state {
	__u64 last_ns;   /* the last send shipped */
	__u64 last_mark; /* the family's newest time mark at that send */
	__u64 last_pos;  /* the family's newest pending ring position at that send */
	__u64 last_dest; /* a hash of that send's destination */
	__u64 pkt_seq;   /* bumped with every datagram destination recorded below */
	__u64 used_seq;  /* pkt_seq when a send last took the destination */
	__u8 pkt_addr[16];
	__u16 pkt_port;
	__u16 pkt_family;
	__u8 pkt_proto;
	__u8 _pad[3];
};
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct bw_sock_state);
} sock_state SEC(".maps");

/* When each TCP connection started (connect or accept), by socket cookie,
 * direct-mapped: no allocation per connection (socket storage for every
 * connect cost connect-heavy loops more than the rest of the sensor). A slot
 * is overwritten by the connection 65536 cookies later, whose age is then
 * the only one known for that slot; an older connection's age becomes
 * unknown (conn_ns 0 in its records). */
#define BW_CONN_SLOTS 65536
struct bw_conn_start {
	__u64 cookie;
	__u64 ns;       /* bit 0: an accepted connection */
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BW_CONN_SLOTS);
	__type(key, __u32);
	__type(value, struct bw_conn_start);
} conn_start SEC(".maps");

/* Writes shipped per (process, file): a file written over and over by a hot
 * process ships one write record per window or new mark. */
struct bw_written_key {
	__u32 tgid;
	__u32 _pad;
	__u64 dev;
	__u64 ino;
};
struct bw_written {
	__u64 last_ns;
	__u64 last_mark;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct bw_written_key);
	__type(value, struct bw_written);
} written SEC(".maps");

static __always_inline void bw_count(__u32 idx)
{
	__u32 zero = 0;
	struct bw_counters *c = bpf_map_lookup_elem(&counters, &zero);
	if (c && idx < BW_CTR_COUNT)
		c->v[idx] += 1; /* per-CPU slot: no atomic needed */
}

/* The ring holds at least `mark` bytes not yet consumed (0: no mark). */
static __always_inline bool bw_over_mark(__u64 mark)
{
	return mark != 0 && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= mark;
}

static __always_inline void *bw_reserve(__u32 kind, __u32 size)
{
	void *rec = bpf_ringbuf_reserve(&events, size, 0);
	if (!rec) {
		__u64 *n = bpf_map_lookup_elem(&drops, &kind);
		if (n)
			*n += 1; /* per-CPU slot: no atomic needed */
	}
	return rec;
}

static __always_inline void bw_submit(void *rec)
{
	__u64 flags = BPF_RB_FORCE_WAKEUP;
	if (wakeup_bytes) {
		__u64 queued = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
		flags = queued >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	}
	bpf_ringbuf_submit(rec, flags);
}

static __always_inline void bw_header_at(struct bw_event_header *h, __u16 kind, __u32 size, __u32 pid, __u32 tgid,
					 __u64 now)
{
	h->kind = kind;
	h->version = BW_ABI_VERSION;
	h->size = size;
	h->ktime_ns = now;
	h->pid = pid;
	h->tgid = tgid;
}

static __always_inline void bw_header(struct bw_event_header *h, __u16 kind, __u32 size, __u32 pid, __u32 tgid)
{
	bw_header_at(h, kind, size, pid, tgid, bpf_ktime_get_ns());
}

static __always_inline bool bw_is_self(__u32 tgid)
{
	return self_tgid != 0 && tgid == self_tgid;
}

/* A kernel pointer read as a number, as a typed pointer the verifier lets
 * us load from directly (untrusted: loads fault to zero, never crash). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* The struct file behind descriptor `fd` of the current task, or NULL.
 * Direct loads through BTF pointers (no helper call per field): this runs
 * on every successful open of the host. */
static __always_inline struct file *bw_task_fd_file(struct task_struct *task, long fd)
{
	struct fdtable *fdt = task->files->fdt;
	if (!fdt || fd < 0)
		return NULL;
	unsigned int max_fds = fdt->max_fds;
	if ((unsigned long)fd >= max_fds)
		return NULL;
	struct file **fds = fdt->fd;
	void *arr = bpf_rdonly_cast(fds, 0);
	struct file *f = *(struct file **)(arr + fd * sizeof(void *));
	if (!f)
		return NULL;
	return bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
}

static __always_inline struct file *bw_fd_file(long fd)
{
	return bw_task_fd_file((struct task_struct *)bpf_get_current_task_btf(), fd);
}

static __always_inline __u32 bw_pid_nr(struct task_struct *task, enum pid_type type)
{
	/* numbers[0]: the number in the initial pid namespace, like hdr.tgid. */
	struct pid *pid = BPF_CORE_READ(task, signal, pids[type]);
	if (!pid)
		return 0;
	return BPF_CORE_READ(pid, numbers[0].nr);
}

/* ------------------------------------------------------------------------ */
/* Hot families (docs/kernel.md, "Network events")                            */
/* ------------------------------------------------------------------------ */

/* The session the correlator knows the current process by: proc_sid, else
 * the task's session now. */
static __always_inline __u32 bw_family_sid(__u32 tgid)
{
	__u32 *known = bpf_map_lookup_elem(&proc_sid, &tgid);
	if (known)
		return *known;
	return bw_pid_nr((struct task_struct *)bpf_get_current_task_btf(), PIDTYPE_SID);
}

/* *slot = max(*slot, v), atomically against other CPUs. A failed exchange
 * means another CPU stored a value in between, and the loop ends as soon as
 * the slot holds v or more, so it fails only while other CPUs keep storing
 * smaller values: the bound is the verifier's, far above what any host's
 * CPUs can interleave (the host-wide hot_summary is raised by every CPU). */
#define BW_RAISE_TRIES 64
static __always_inline void bw_raise(__u64 *slot, __u64 v)
{
	__u64 old = *(volatile __u64 *)slot;
	for (int i = 0; i < BW_RAISE_TRIES && old < v; i++) {
		__u64 seen = __sync_val_compare_and_swap(slot, old, v);
		if (seen == old)
			break;
		old = seen;
	}
}

/* Raises the summary with a new mark (0: that field unchanged). Whatever a
 * reader of `hot` may see, the summary holds at least as hot a mark. */
/* Sets summary flag bits with one more count step (events.h): after the
 * mark they cover is raised, so whoever sees them clear either ran before
 * the raise or sees a newer count and fails to clear them. */
static __always_inline void bw_set_hot_flags(__u64 bits)
{
	__u64 old = *(volatile __u64 *)&hot_summary.flags;
	for (int i = 0; i < BW_RAISE_TRIES; i++) {
		__u64 seen = __sync_val_compare_and_swap(&hot_summary.flags, old, (old | bits) + BW_HOT_STEP);
		if (seen == old)
			break;
		old = seen;
	}
}

static __always_inline void bw_raise_summary(__u64 sure_ns, __u64 maybe_pos)
{
	if (sure_ns)
		bw_raise(&hot_summary.sure_ns, sure_ns);
	if (maybe_pos)
		bw_raise(&hot_summary.maybe_pos, maybe_pos);
	if (sure_ns || maybe_pos)
		bw_set_hot_flags((sure_ns ? BW_HOT_TIME : 0) | (maybe_pos ? BW_HOT_PENDING : 0));
}

/* Nothing hot anywhere, by the summary alone (the common case): nothing
 * held (when held secrets count), no open whose verdict may be unanswered,
 * no time mark that may be in the window. Plain loads: no helper call, no
 * clock. False means "maybe": the caller checks in full. */
static __always_inline bool bw_all_cold(bool with_held)
{
	if (with_held && *(volatile __u64 *)&hot_summary.held != 0)
		return false;
	return (*(volatile __u64 *)&hot_summary.flags & (BW_HOT_TIME | BW_HOT_PENDING)) == 0;
}

/* Raises the hot mark of a process or session: `sure_ns` (a sensitive open
 * at that time) and `maybe_pos` (an open of unknown verdict shipped up to
 * that ring position); 0 leaves a field as it is. */
static __always_inline void bw_hot_raise(__u32 kind, __u32 id, __u64 sure_ns, __u64 maybe_pos)
{
	/* The summary first: whoever sees the entry sees the summary too. */
	bw_raise_summary(sure_ns, maybe_pos);
	struct bw_hot_key k = {.kind = kind, .id = id};
	struct bw_hot *h = bpf_map_lookup_elem(&hot, &k);
	if (!h) {
		struct bw_hot v = {.sure_ns = sure_ns, .maybe_pos = maybe_pos};
		if (bpf_map_update_elem(&hot, &k, &v, BPF_NOEXIST) == 0)
			return;
		h = bpf_map_lookup_elem(&hot, &k); /* another CPU inserted it first */
		if (!h)
			return;
	}
	if (sure_ns)
		bw_raise(&h->sure_ns, sure_ns);
	if (maybe_pos)
		bw_raise(&h->maybe_pos, maybe_pos);
}

/* A shipped open makes the process, and its session when above init's, hot:
 * `sure_ns` for a known sensitive file, else `maybe_pos` (the verdict is
 * pending in user space: possibly sensitive until the reader is past it). */
static __always_inline void bw_mark_hot(__u32 tgid, __u64 sure_ns, __u64 maybe_pos)
{
	bw_hot_raise(BW_HOT_TGID, tgid, sure_ns, maybe_pos);
	__u32 sid = bw_family_sid(tgid);
	if (sid > 1)
		bw_hot_raise(BW_HOT_SID, sid, sure_ns, maybe_pos);
}

static __always_inline bool bw_within(__u64 at, __u64 now, __u64 window)
{
	/* a mark newer than `now` may hide an older one that is in the window */
	return at != 0 && (at >= now || now - at <= window);
}

/* Is the summary cold at `now`, past the flags: no open of unknown verdict
 * the reader has not consumed (its position `consumed`), and no sensitive
 * open, kernel's or sensor's, within `window`? Held secrets are the
 * caller's to check. */
static __always_inline bool bw_summary_cold(__u64 consumed, __u64 now, __u64 window)
{
	return *(volatile __u64 *)&hot_summary.maybe_pos <= consumed &&
	       !bw_within(*(volatile __u64 *)&hot_summary.sure_ns, now, window) &&
	       !bw_within(*(volatile __u64 *)&hot_summary.user_ns, now, window);
}

/* How hot a family is at a moment: whether any mark applies, the newest
 * time mark that does, and the newest pending position beyond the reader. */
struct bw_heat {
	__u64 mark;
	__u64 pos;
	bool hot;
};

static __always_inline void bw_heat_of(__u32 kind, __u32 id, __u64 now, __u64 window, __u64 consumed,
				       bool with_held, struct bw_heat *out)
{
	struct bw_hot_key k = {.kind = kind, .id = id};
	struct bw_hot *h = bpf_map_lookup_elem(&hot, &k);
	if (h) {
		__u64 sure = h->sure_ns;
		if (bw_within(sure, now, window)) {
			out->hot = true;
			if (sure > out->mark)
				out->mark = sure;
		}
		__u64 pos = h->maybe_pos;
		if (pos > consumed) {
			out->hot = true; /* an open whose verdict is not in yet */
			if (pos > out->pos)
				out->pos = pos;
		}
		__u64 held = h->held_ns;
		if (with_held && kind == BW_HOT_TGID && held) {
			out->hot = true; /* a secret inherited at fork, not exec'd away */
			if (held > out->mark)
				out->mark = held;
		}
	}
	__u64 *u = bpf_map_lookup_elem(&hot_user, &k);
	if (u) {
		__u64 at = *u;
		/* A process keeps the secrets it read for as long as it lives; a
		 * session relates its members only within the window. */
		if (at && ((with_held && kind == BW_HOT_TGID) || bw_within(at, now, window))) {
			out->hot = true;
			if (at > out->mark)
				out->mark = at;
		}
	}
}

/* May a connect or send (with_held) or a write (not: only reads within the
 * window taint a file) of the current process at `now` correlate with an
 * open? Only with one of its own (within the window, or held), or of its
 * session (sid > 1, within the window). */
static __always_inline bool bw_family_heat(__u32 tgid, __u64 now, bool with_held, struct bw_heat *out)
{
	/* Nothing hot and nothing held anywhere (the common case): plain loads
	 * of the summary's flags, no lookup, no helper. */
	if (bw_all_cold(with_held))
		return false;
	__u64 window = filter_state.window_ns;
	/* The reader's position first, then the summary and hot_user (the
	 * sensor writes hot_user before it moves past the record). */
	__u64 consumed = bpf_ringbuf_query(&events, BPF_RB_CONS_POS);
	if ((!with_held || *(volatile __u64 *)&hot_summary.held == 0) && bw_summary_cold(consumed, now, window))
		return false;
	bw_heat_of(BW_HOT_TGID, tgid, now, window, consumed, with_held, out);
	__u32 sid = bw_family_sid(tgid);
	if (sid > 1)
		bw_heat_of(BW_HOT_SID, sid, now, window, consumed, with_held, out);
	return out->hot;
}

/* Ship a connect, send or write of tgid at now? Counts a cold one. */
static __always_inline bool bw_wanted(__u32 tgid, __u64 now, struct bw_heat *heat)
{
	if (!filter_enabled)
		return true;
	if (bw_family_heat(tgid, now, true, heat))
		return true;
	bw_count(BW_CTR_NET_COLD);
	return false;
}

/* ------------------------------------------------------------------------ */
/* Process lifecycle                                                          */
/* ------------------------------------------------------------------------ */

/* The secret a new process inherits from its parent: the parent's held
 * mark (the sensor's, for a secret it read; the kernel's, for one it
 * inherited in turn). A fork copies memory, so the child holds it too, until
 * it execs. */
static __always_inline void bw_fork_inherit(__u32 ptgid, __u32 ctgid)
{
	struct bw_hot_key pk = {.kind = BW_HOT_TGID, .id = ptgid};
	__u64 held = 0;
	__u64 *u = bpf_map_lookup_elem(&hot_user, &pk);
	if (u)
		held = *u;
	struct bw_hot *h = bpf_map_lookup_elem(&hot, &pk);
	if (h && h->held_ns > held)
		held = h->held_ns;
	struct bw_hot_key ck = {.kind = BW_HOT_TGID, .id = ctgid};
	if (!held) {
		/* A stale entry of a reused pid inherits nothing. */
		struct bw_hot *stale = bpf_map_lookup_elem(&hot, &ck);
		if (stale && stale->held_ns) {
			stale->held_ns = 0;
			__sync_fetch_and_sub(&hot_summary.held, 1);
		}
		return;
	}
	/* The count first: the summary is never below the entries. */
	__sync_fetch_and_add(&hot_summary.held, 1);
	struct bw_hot v = {.held_ns = held};
	if (bpf_map_update_elem(&hot, &ck, &v, BPF_NOEXIST) == 0)
		return;
	struct bw_hot *c = bpf_map_lookup_elem(&hot, &ck);
	if (c && !c->held_ns)
		c->held_ns = held;
	else
		__sync_fetch_and_sub(&hot_summary.held, 1); /* already counted (or lost to the LRU) */
}

/* Forgets what the kernel holds for a process: its memory is gone (exec
 * clears an inherited secret) or it is (exit removes the entry). */
static __always_inline void bw_forget_held(__u32 tgid, bool exited)
{
	struct bw_hot_key k = {.kind = BW_HOT_TGID, .id = tgid};
	struct bw_hot *h = bpf_map_lookup_elem(&hot, &k);
	if (h && h->held_ns) {
		h->held_ns = 0;
		__sync_fetch_and_sub(&hot_summary.held, 1);
	}
	if (exited && h)
		bpf_map_delete_elem(&hot, &k);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	if (bw_is_self(ptgid))
		return 0;

	__u32 ctgid = BPF_CORE_READ(child, tgid);
	if (filter_enabled && ctgid != ptgid) {
		/* A new process is in its parent's session, as user space sees it. */
		__u32 *sid = bpf_map_lookup_elem(&proc_sid, &ptgid);
		if (sid) {
			__u32 v = *sid;
			bpf_map_update_elem(&proc_sid, &ctgid, &v, BPF_ANY);
		} else {
			bpf_map_delete_elem(&proc_sid, &ctgid); /* a stale entry of a reused pid */
		}
		if (*(volatile __u64 *)&hot_summary.held != 0)
			bw_fork_inherit(ptgid, ctgid);
	}

	struct bw_fork_event *e = bw_reserve(BW_EVENT_FORK, sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	bw_header(&e->hdr, BW_EVENT_FORK, sizeof(*e), BPF_CORE_READ(parent, pid), ptgid);
	e->child_pid = BPF_CORE_READ(child, pid);
	e->child_tgid = ctgid;
	bw_submit(e);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Foreign code and scripts (docs/kernel.md, "Foreign code and scripts")      */
/* ------------------------------------------------------------------------ */

/* Written by user space after load (start and reload). */
struct bw_interp_name interp_names[BW_INTERP_MAX] = {};
__u32 interp_count = 0;     /* entries of interp_names in use */
__u32 preload_file_set = 0; /* /etc/ld.so.preload is not empty (the sensor's last look) */

#define BW_AT_BASE 7
#define BW_AT_SECURE 23
#define BW_AUXV_PAIRS 28      /* AT_VECTOR_SIZE is 2 * (AT_VECTOR_SIZE_ARCH + AT_VECTOR_SIZE_BASE + 1) words */
#define BW_ENV_CHUNK 4096     /* the environment is read in chunks of this many bytes */
#define BW_ENV_STRIDE (BW_ENV_CHUNK - 16) /* overlapping, so "\0LD_PRELOAD=" is whole in one */
#define BW_ENV_CHUNKS 4       /* scan bound: about 16 KiB of environment */
#define BW_ENV_BUF 8192       /* power of two above BW_ENV_CHUNK + 16: indexes are masked */
#define BW_SCRIPT_OPENS 256   /* regular-file opens after a script exec before giving up */
#define BW_SCRIPT_NAME_MAX 32        /* a script's last path component, compared with an opened file's name */
#define BW_FMODE_WRITE 0x2
#define BW_PROC_SUPER_MAGIC 0x9fa0
#define BW_PTRACE_TRACEME 0
#define BW_PTRACE_ATTACH 16
#define BW_PTRACE_SEIZE 0x4206

struct bw_script_wait {
	char path[BW_SCRIPT_MAX]; /* the script's name as the exec gave it, zero-padded */
	char base[BW_SCRIPT_NAME_MAX];   /* its last component, zero-padded */
	__u32 opens_left;
	__u32 _pad0;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tgid */
	__type(value, struct bw_script_wait);
} script_wait SEC(".maps");

struct bw_foreign_scratch {
	char env[BW_ENV_BUF];
	unsigned long auxv[2 * BW_AUXV_PAIRS];
	char uname[BW_SCRIPT_MAX];
	char dname[BW_SCRIPT_NAME_MAX];
	struct bw_script_wait w;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_foreign_scratch);
} foreign_scratch SEC(".maps");

#ifndef bpf_ksym_exists /* older libbpf */
#define bpf_ksym_exists(sym) (!!(sym))
#endif
extern struct task_struct *bpf_task_from_vpid(s32 vpid) __ksym __weak;
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;

/* The environment scan's state, for bpf_loop over the words of one chunk. */
struct bw_env_scan {
	__u32 chunk; /* index of the chunk in the buffer */
	__u32 len;   /* bytes of this chunk read */
	__u32 found; /* BW_FOREIGN_PRELOAD_ENV | BW_FOREIGN_AUDIT_ENV */
};

/* Does the variable starting at env[pos] start "LD_PRELOAD=" or
 * "LD_AUDIT=" within the chunk's `len` bytes? The caller checked that it
 * starts a variable.
 *
 * Written without a branch on `pos` or `len`: the verifier narrows a
 * register's bounds at every conditional jump on it, and bounds narrowed
 * differently in each of the word's eight positions left it eight sets of
 * states it could not prune. On Linux 6.18, which also narrows the
 * registers linked to one (pos = at + b narrows `at`), that took the exec
 * program past the verifier's 1M-instruction limit, and the sensor did not
 * load. Here the only jumps are on values loaded fresh from the buffer. */
static __always_inline __u32 bw_env_var_at(const char *env, __u32 pos, __u32 len)
{
	/* 16 bytes from pos: masked, pos + 16 stays inside the scratch value
	 * (env[BW_ENV_BUF] has auxv after it); bytes past `len` are stale, and
	 * the room check below leaves them out. */
	const char *p = env + (pos & (BW_ENV_BUF - 1));
	__u64 lo, hi;
	__builtin_memcpy(&lo, p, 8);
	__builtin_memcpy(&hi, p + 8, 8);
	/* 1 when the chunk has fewer than n bytes from pos (both below 2^32,
	 * so the 64-bit difference is negative exactly then) */
	__u64 short11 = ((__u64)len - pos - 11) >> 63;
	__u64 short9 = ((__u64)len - pos - 9) >> 63;
	__u64 preload = (lo ^ 0x4f4c4552505f444cULL) | ((hi ^ 0x3d4441ULL) & 0xffffffULL) | short11; /* "LD_PRELO" "AD=" */
	__u64 audit = (lo ^ 0x54494455415f444cULL) | ((hi ^ 0x3dULL) & 0xffULL) | short9;         /* "LD_AUDIT" "=" */
	if (preload == 0)
		return BW_FOREIGN_PRELOAD_ENV;
	if (audit == 0)
		return BW_FOREIGN_AUDIT_ENV;
	return 0;
}

/* Bit 7 of each byte of x that is 0, exactly (no borrow between bytes). */
static __always_inline __u64 bw_zero_bytes(__u64 x)
{
	const __u64 low7 = 0x7F7F7F7F7F7F7F7FULL;
	return ~(((x & low7) + low7) | x | low7);
}

/* One 8-byte word of the chunk. A variable starts at a byte after a NUL
 * (or at the very start of the environment); only an 'L' that starts one
 * is looked at further. */
static long bw_env_word(__u64 i, void *ctx)
{
	struct bw_env_scan *st = ctx;
	__u32 zero = 0;
	struct bw_foreign_scratch *s = bpf_map_lookup_elem(&foreign_scratch, &zero);
	if (!s)
		return 1;
	__u32 len = st->len;
	__u32 at = (__u32)i * 8;
	if (at >= len)
		return 1;
	__u64 w = *(__u64 *)&s->env[at & (BW_ENV_BUF - 1) & ~7U];
	__u64 x = w ^ 0x4C4C4C4C4C4C4C4CULL; /* "LLLLLLLL" */
	if (((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL) == 0)
		return 0; /* no 'L' in the word (the quick, inexact test: no false "none") */
	/* The byte before the word: at the chunk's start, the start of the
	 * environment (a variable starts there) or, in a later chunk, a byte
	 * the previous chunk already scanned (the chunks overlap). */
	__u64 before;
	if (at == 0)
		before = st->chunk == 0 ? 0 : 1;
	else
		before = (__u8)s->env[(at - 1) & (BW_ENV_BUF - 1)];
	__u64 starts = bw_zero_bytes(x) & bw_zero_bytes((w << 8) | before);
	if (starts == 0)
		return 0;
	for (int b = 0; b < 8; b++) {
		if (!((starts >> (8 * b + 7)) & 1))
			continue;
		__u32 found = bw_env_var_at(s->env, at + b, len);
		if (found) {
			/* the next variable starts past "LD_AUDIT=" and its NUL: in a later word */
			st->found |= found;
			return 0;
		}
	}
	return 0;
}

/* LD_PRELOAD / LD_AUDIT in the new image's environment (its stack was just
 * written by exec: resident). At most BW_ENV_CHUNKS chunks; a longer
 * environment, or one a read failed on, sets BW_EXECF_ENV_LONG (the
 * library then takes the preload as not ruled out). */
static __always_inline __u32 bw_env_foreign(struct mm_struct *mm, __u16 *xflags)
{
	unsigned long start = BPF_CORE_READ(mm, env_start);
	unsigned long end = BPF_CORE_READ(mm, env_end);
	if (end <= start)
		return 0;
	unsigned long total = end - start;
	__u32 zero = 0;
	struct bw_foreign_scratch *s = bpf_map_lookup_elem(&foreign_scratch, &zero);
	if (!s)
		return 0;
	struct bw_env_scan st = {};
	for (__u32 c = 0; c < BW_ENV_CHUNKS; c++) {
		unsigned long off = (unsigned long)c * BW_ENV_STRIDE;
		if (off >= total)
			break;
		unsigned long n = total - off;
		if (n > BW_ENV_CHUNK)
			n = BW_ENV_CHUNK;
		barrier_var(n);
		if (n == 0 || n > BW_ENV_CHUNK)
			break;
		if (bpf_probe_read_user(s->env, n, (const void *)(start + off)) != 0) {
			*xflags |= BW_EXECF_ENV_LONG; /* not scanned to its end: said, as for a long one */
			break;
		}
		st.chunk = c;
		st.len = n;
		bpf_loop((n + 7) / 8, bw_env_word, &st, 0);
	}
	if (total > (unsigned long)(BW_ENV_CHUNKS - 1) * BW_ENV_STRIDE + BW_ENV_CHUNK)
		*xflags |= BW_EXECF_ENV_LONG;
	return st.found;
}

/* The new image's auxiliary vector: AT_BASE (the program interpreter's
 * load address: 0 for a static binary, which has no loader to preload
 * into) and AT_SECURE (the loader's secure mode). */
static __always_inline __u16 bw_auxv_flags(struct mm_struct *mm)
{
	__u32 zero = 0;
	struct bw_foreign_scratch *s = bpf_map_lookup_elem(&foreign_scratch, &zero);
	if (!s)
		return 0;
	if (bpf_probe_read_kernel(s->auxv, sizeof(s->auxv), &mm->saved_auxv) != 0)
		return 0;
	__u16 flags = 0;
	for (int i = 0; i < BW_AUXV_PAIRS; i++) {
		unsigned long type = s->auxv[2 * i];
		if (type == 0)
			break;
		if (type == BW_AT_BASE && s->auxv[2 * i + 1] != 0)
			flags |= BW_EXECF_DYNAMIC;
		if (type == BW_AT_SECURE && s->auxv[2 * i + 1] != 0)
			flags |= BW_EXECF_SECURE;
	}
	return flags;
}

/* Is the new comm one of the interpreters? */
static __always_inline bool bw_is_interpreter(const char *comm)
{
	__u32 n = *(volatile __u32 *)&interp_count;
	if (n == 0)
		return false;
	__u64 c0 = *(const __u64 *)comm, c1 = *(const __u64 *)(comm + 8);
	for (__u32 i = 0; i < BW_INTERP_MAX; i++) {
		if (i >= n)
			break;
		const struct bw_interp_name *in = &interp_names[i];
		if ((c0 & in->mask[0]) == in->name[0] && (c1 & in->mask[1]) == in->name[1])
			return true;
	}
	return false;
}

/* The last '/' of the script's name (bpf_loop over its bytes): its last
 * component starts after it. */
struct bw_last_slash {
	__u32 last;
};
static long bw_find_slash(__u64 i, void *ctx)
{
	struct bw_last_slash *st = ctx;
	__u32 zero = 0;
	struct bw_foreign_scratch *s = bpf_map_lookup_elem(&foreign_scratch, &zero);
	if (!s)
		return 1;
	char ch = s->w.path[i & (BW_SCRIPT_MAX - 1)];
	if (ch == 0)
		return 1;
	if (ch == '/')
		st->last = (__u32)i + 1;
	return 0;
}

/* After a script exec: remember, for the process, the script's name (as
 * the exec gave it, in w->path: the scratch's) and its last component, so
 * the first open of a regular file of that name is shipped as the script.
 * Copies the name into the exec record. */
static __always_inline void bw_script_expect(__u32 tgid, struct bw_script_wait *w, struct bw_exec_event *e)
{
	bpf_probe_read_kernel_str(e->script, sizeof(e->script), w->path);
	struct bw_last_slash st = {};
	bpf_loop(BW_SCRIPT_MAX, bw_find_slash, &st, 0);
	bpf_probe_read_kernel_str(w->base, sizeof(w->base), &w->path[st.last & (BW_SCRIPT_MAX - 1)]);
	w->opens_left = BW_SCRIPT_OPENS;
	/* Counted only when new: an entry left by a racing forget is replaced,
	 * not counted twice (its slot would stay high for good). */
	if (bpf_map_update_elem(&script_wait, &tgid, w, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&script_slots[tgid & (BW_SCRIPT_SLOTS - 1)], 1);
	else
		bpf_map_update_elem(&script_wait, &tgid, w, BPF_EXIST);
}

/* Does the slot of `tgid` hold any waiting process? One load. */
static __always_inline bool bw_script_may_wait(__u32 tgid)
{
	return *(volatile __u32 *)&script_slots[tgid & (BW_SCRIPT_SLOTS - 1)] != 0;
}

static __always_inline void bw_script_forget(__u32 tgid)
{
	if (!bw_script_may_wait(tgid))
		return;
	if (bpf_map_delete_elem(&script_wait, &tgid) == 0)
		__sync_fetch_and_sub(&script_slots[tgid & (BW_SCRIPT_SLOTS - 1)], 1);
}

/* The exec's foreign bits, flags, and script (a #! exec: the kernel's
 * interpreter differs from the file exec'd; or a known interpreter given a
 * script argument). */
static __always_inline void bw_exec_foreign(struct task_struct *task, struct linux_binprm *bprm, __u32 tgid,
					    struct bw_exec_event *e)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u16 xflags = bw_auxv_flags(mm);
	__u32 foreign = 0;
	if (BPF_CORE_READ(task, ptrace) != 0)
		foreign |= BW_FOREIGN_PTRACED; /* traced at exec: the tracer can change the new image too */
	if ((xflags & (BW_EXECF_DYNAMIC | BW_EXECF_SECURE)) == BW_EXECF_DYNAMIC) {
		/* The loader honours LD_PRELOAD / LD_AUDIT only when it runs
		 * (dynamic) and not in secure mode (where it takes no paths). */
		foreign |= bw_env_foreign(mm, &xflags);
	}
	if ((xflags & BW_EXECF_DYNAMIC) && *(volatile __u32 *)&preload_file_set)
		foreign |= BW_FOREIGN_PRELOAD_FILE;

	bw_script_forget(tgid); /* a new image: the old one's script is not awaited */
	__u32 zero = 0;
	struct bw_foreign_scratch *s = bpf_map_lookup_elem(&foreign_scratch, &zero);
	if (s) {
		struct bw_script_wait *w = &s->w;
		__builtin_memset(w, 0, sizeof(*w));
		const char *fname = BPF_CORE_READ(bprm, filename);
		const char *interp = BPF_CORE_READ(bprm, interp);
		bool script = false;
		if (fname && interp && fname != interp) {
			/* #! (or binfmt_misc): the interpreter is given the file's name. */
			script = bpf_probe_read_kernel_str(w->path, sizeof(w->path), fname) > 1;
		} else if (bw_is_interpreter(e->comm) && e->argv_size > 0) {
			/* argv[1], when it is not an option: read again from the new
			 * image's stack, after argv[0]'s NUL. */
			unsigned long start = BPF_CORE_READ(mm, arg_start);
			long a1 = bpf_probe_read_user_str(w->path, sizeof(w->path), (const void *)start);
			if (a1 > 0 && a1 < (long)sizeof(w->path) && a1 < e->argv_size) {
				__builtin_memset(w->path, 0, sizeof(w->path));
				long n = bpf_probe_read_user_str(w->path, sizeof(w->path) - 1, (const void *)(start + a1));
				script = n > 1 && w->path[0] != '-';
			}
			if (!script)
				__builtin_memset(w->path, 0, sizeof(w->path));
		}
		if (script) {
			xflags |= BW_EXECF_SCRIPT;
			bw_script_expect(tgid, w, e);
		}
	}
	e->exec_flags = xflags;
	e->foreign = foreign;
}

/* Ships "the actor (current) got code into target". */
static __always_inline void bw_ship_foreign(__u32 target, __u32 bits, __u32 how)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (bw_is_self(id >> 32))
		return;
	struct bw_foreign_event *e = bw_reserve(BW_EVENT_FOREIGN, sizeof(*e));
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	bw_header(&e->hdr, BW_EVENT_FOREIGN, sizeof(*e), (__u32)id, id >> 32);
	e->target_tgid = target;
	e->bits = bits;
	e->how = how;
	bw_submit(e);
}

/* The tgid (initial namespace) of the process with thread id `vpid` as the
 * current task's pid namespace numbers it; 0 when not found. */
static __always_inline __u32 bw_tgid_of_vpid(long vpid)
{
	struct task_struct *t = NULL;
	if (bpf_ksym_exists(bpf_task_from_vpid))
		t = bpf_task_from_vpid((s32)vpid);
	else if (bpf_ksym_exists(bpf_task_from_pid))
		t = bpf_task_from_pid((s32)vpid); /* the initial namespace's numbers */
	if (!t)
		return 0;
	__u32 tgid = t->tgid;
	bpf_task_release(t);
	return tgid;
}

/* A successful ptrace: ATTACH and SEIZE name the tracee; TRACEME makes the
 * caller traced by its parent. */
static __always_inline int bw_on_ptrace(long req, long pid)
{
	__u32 how;
	__u32 target;
	if (req == BW_PTRACE_TRACEME) {
		how = BW_FOREIGN_HOW_TRACEME;
		target = bpf_get_current_pid_tgid() >> 32;
	} else if (req == BW_PTRACE_ATTACH || req == BW_PTRACE_SEIZE) {
		how = req == BW_PTRACE_ATTACH ? BW_FOREIGN_HOW_ATTACH : BW_FOREIGN_HOW_SEIZE;
		target = bw_tgid_of_vpid(pid);
	} else {
		return 0;
	}
	if (target != 0)
		bw_ship_foreign(target, BW_FOREIGN_PTRACED, how);
	return 0;
}

/* An open of a regular file by the current task: /proc/PID/mem for
 * writing marks PID; the file a pending script exec waits for is shipped.
 * `uname` is the name the open was given (user memory), or NULL. */
static __always_inline void bw_open_foreign(struct file *file, struct inode *inode, __u32 tgid, const char *uname)
{
	if ((file->f_mode & BW_FMODE_WRITE) && inode->i_sb->s_magic == BW_PROC_SUPER_MAGIC) {
		struct dentry *d = file->f_path.dentry;
		if (d->d_name.len == 3) {
			char name[4] = {};
			bpf_probe_read_kernel(name, 3, d->d_name.name);
			if (name[0] == 'm' && name[1] == 'e' && name[2] == 'm') {
				struct proc_inode *pi = container_of(inode, struct proc_inode, vfs_inode);
				__u32 target = BPF_CORE_READ(pi, pid, numbers[0].nr);
				if (target != 0) {
					/* a thread id: its process */
					struct task_struct *t = bpf_ksym_exists(bpf_task_from_pid) ? bpf_task_from_pid(target) : NULL;
					if (t) {
						target = t->tgid;
						bpf_task_release(t);
					}
					bw_ship_foreign(target, BW_FOREIGN_MEM_WRITTEN, BW_FOREIGN_HOW_PROC_MEM);
				}
			}
		}
	}
	if (!bw_script_may_wait(tgid))
		return;
	bw_count(BW_CTR_SCRIPT_LOOKUPS);
	struct bw_script_wait *w = bpf_map_lookup_elem(&script_wait, &tgid);
	if (!w)
		return;
	__u32 zero = 0;
	struct bw_foreign_scratch *s = bpf_map_lookup_elem(&foreign_scratch, &zero);
	if (!s)
		return;
	bool match = true;
	/* the opened file's own name against the script's last component */
	__builtin_memset(s->dname, 0, sizeof(s->dname));
	struct dentry *d = file->f_path.dentry;
	if (d->d_name.len < BW_SCRIPT_NAME_MAX) {
		bpf_probe_read_kernel_str(s->dname, sizeof(s->dname), d->d_name.name);
		for (int i = 0; i < BW_SCRIPT_NAME_MAX / 8; i++)
			if (((__u64 *)s->dname)[i] != ((__u64 *)w->base)[i])
				match = false;
	} else {
		match = false;
	}
	if (!match && uname) {
		/* the name the open was given against the name the exec gave */
		__builtin_memset(s->uname, 0, sizeof(s->uname));
		if (bpf_probe_read_user_str(s->uname, sizeof(s->uname) - 1, uname) > 1) {
			match = true;
			for (int i = 0; i < BW_SCRIPT_MAX / 8; i++)
				if (((__u64 *)s->uname)[i] != ((__u64 *)w->path)[i])
					match = false;
		}
	}
	if (!match) {
		if (w->opens_left <= 1)
			bw_script_forget(tgid);
		else
			w->opens_left--;
		return;
	}
	bw_script_forget(tgid);
	struct bw_script_event *e = bw_reserve(BW_EVENT_SCRIPT, sizeof(*e));
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	__u64 id = bpf_get_current_pid_tgid();
	bw_header(&e->hdr, BW_EVENT_SCRIPT, sizeof(*e), (__u32)id, tgid);
	e->dev = bw_user_dev(inode->i_sb->s_dev);
	e->ino = inode->i_ino;
	e->path_size = bw_resolve_path(&file->f_path, e->path, &e->hdr.flags);
	bw_submit(e);
}

/*
 * A process that is hot and execs into another session (setsid, then exec)
 * makes that session hot: the correlator relates the members of its new
 * session to its opens. Called after the exec record is submitted: an
 * unanswered open keeps the new session "maybe" hot until the reader is
 * past this exec record, by which time the sensor has marked the session
 * (hot_user) if it found the open sensitive.
 */
static __always_inline void bw_exec_carry_hot(struct task_struct *task, __u32 tgid)
{
	if (!filter_enabled)
		return;
	__u32 sid = bw_pid_nr(task, PIDTYPE_SID);
	if (sid <= 1)
		return;
	struct bw_hot_key k = {.kind = BW_HOT_TGID, .id = tgid};
	struct bw_hot *h = bpf_map_lookup_elem(&hot, &k);
	__u64 *u = bpf_map_lookup_elem(&hot_user, &k);
	__u64 sure = h ? h->sure_ns : 0;
	if (u && *u > sure)
		sure = *u;
	__u64 pos = 0;
	if (h && h->maybe_pos > bpf_ringbuf_query(&events, BPF_RB_CONS_POS))
		pos = bpf_ringbuf_query(&events, BPF_RB_PROD_POS);
	if (sure || pos)
		bw_hot_raise(BW_HOT_SID, sid, sure, pos);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_sched_process_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	if (bw_is_self(tgid))
		return 0;

	if (filter_enabled) {
		/* User space takes the session from this exec: so does proc_sid. */
		__u32 sid = bw_pid_nr(task, PIDTYPE_SID);
		bpf_map_update_elem(&proc_sid, &tgid, &sid, BPF_ANY);
	}

	struct bw_exec_event *e = bw_reserve(BW_EVENT_EXEC, sizeof(*e));
	if (!e)
		goto marks;
	__builtin_memset(e, 0, sizeof(*e));
	bw_header(&e->hdr, BW_EVENT_EXEC, sizeof(*e), BPF_CORE_READ(task, pid), tgid);

	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = BPF_CORE_READ(task, real_cred, uid.val);
	e->sid = bw_pid_nr(task, PIDTYPE_SID);
	e->pgid = bw_pid_nr(task, PIDTYPE_PGID);
	e->cgroup_id = bpf_get_current_cgroup_id(); /* the container (docs/kernel.md, "Containers") */
	bpf_get_current_comm(e->comm, sizeof(e->comm));

	/* The file the kernel is executing (the interpreter for a #! script,
	 * as /proc/PID/exe shows it). */
	struct file *file = BPF_CORE_READ(bprm, file);
	if (file) {
		struct inode *inode = BPF_CORE_READ(file, f_inode);
		e->exe_dev = bw_user_dev(BPF_CORE_READ(inode, i_sb, s_dev));
		e->exe_ino = BPF_CORE_READ(inode, i_ino);
		bw_resolve_path(&file->f_path, e->exe, &e->hdr.flags);
	}

	/* argv as the new image sees it: its stack was just written by exec,
	 * so the pages are resident. */
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	if (end > start) {
		unsigned long n = end - start;
		if (n > BW_ARGV_MAX) {
			n = BW_ARGV_MAX;
			e->hdr.flags |= BW_F_TRUNCATED;
		}
		barrier_var(n);
		if (bpf_probe_read_user(e->argv, n & (2 * BW_ARGV_MAX - 1), (const void *)start) == 0)
			e->argv_size = (__u16)n;
	}
	bw_exec_foreign(task, bprm, tgid, e);
	bw_submit(e);
marks:
	bw_exec_carry_hot(task, tgid);
	/* The new image has none of the memory it inherited at fork. */
	if (filter_enabled && *(volatile __u64 *)&hot_summary.held != 0)
		bw_forget_held(tgid, false);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_sched_process_exit, struct task_struct *task, bool group_dead)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	if (bw_is_self(tgid))
		return 0;

	if (filter_enabled && group_dead) {
		/* The process is gone: a new one on its pid inherits nothing. The
		 * sensor removes its own hot_user entry when it reads this exit. */
		bw_forget_held(tgid, true);
		bpf_map_delete_elem(&proc_sid, &tgid);
	}
	if (group_dead)
		bw_script_forget(tgid);

	struct bw_exit_event *e = bw_reserve(BW_EVENT_EXIT, sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	bw_header(&e->hdr, BW_EVENT_EXIT, sizeof(*e), BPF_CORE_READ(task, pid), tgid);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	bw_submit(e);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* File opens: from the struct file the new descriptor points at              */
/* ------------------------------------------------------------------------ */

/* Ships a full open record: the path is resolved here. False when the ring
 * had no room (counted in drops) or was past its mark (counted as shed). */
static __always_inline bool bw_ship_open(struct file *file, struct inode *inode, __u64 id, __u64 now,
					 const struct bw_file_key *key, __u64 gen, __u32 filter, __u8 source,
					 const struct bw_file_key *dir)
{
	if (bw_over_mark(shed_open_bytes)) {
		bw_count(BW_CTR_SHED_OPEN);
		return false;
	}
	struct bw_open_event *e = bw_reserve(BW_EVENT_OPEN, sizeof(*e));
	if (!e)
		return false;
	__builtin_memset(e, 0, sizeof(*e));
	bw_header_at(&e->hdr, BW_EVENT_OPEN, sizeof(*e), (__u32)id, id >> 32, now);
	e->dev = bw_user_dev(BPF_CORE_READ(inode, i_sb, s_dev));
	e->ino = BPF_CORE_READ(inode, i_ino);
	e->flags = (__s32)BPF_CORE_READ(file, f_flags);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->source = source;
	e->path_size = bw_resolve_path(&file->f_path, e->path, &e->hdr.flags);
	if (key)
		e->key = *key;
	if (dir)
		e->dir = *dir;
	e->gen = gen;
	e->filter = filter;
	if (filter == BW_OPEN_MISS) {
		/* Before the submit: user space answers only after this, and a
		 * repeat seeing it is reserved behind this record. */
		struct bw_verdict v = {.gen = gen, .state = BW_VERDICT_PENDING};
		if (bpf_map_update_elem(&verdicts, key, &v, BPF_ANY))
			bw_count(BW_CTR_PENDING_FAILED);
	}
	bw_submit(e);
	return true;
}

/* Ships a repeat record: no path (user space has it from the full record). */
static __always_inline bool bw_ship_repeat(struct file *file, struct inode *inode, __u64 id, __u64 now,
					   const struct bw_file_key *key, __u64 gen, __u8 source)
{
	if (bw_over_mark(shed_open_bytes)) {
		bw_count(BW_CTR_SHED_REPEAT);
		return false;
	}
	struct bw_open_repeat_event *e = bw_reserve(BW_EVENT_OPEN_REPEAT, sizeof(*e));
	if (!e)
		return false;
	__builtin_memset(e, 0, sizeof(*e));
	bw_header_at(&e->hdr, BW_EVENT_OPEN_REPEAT, sizeof(*e), (__u32)id, id >> 32, now);
	e->dev = bw_user_dev(BPF_CORE_READ(inode, i_sb, s_dev));
	e->ino = key->ino;
	e->flags = (__s32)BPF_CORE_READ(file, f_flags);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->key = *key;
	e->gen = gen;
	e->source = source;
	bw_submit(e);
	return true;
}

/* Is (key, gen) in the boring front? Each slot is read between two loads
 * of its sequence number, which the sensor makes odd while it writes the
 * slot: a slot caught mid-write is ignored, never half-believed. */
static __always_inline bool bw_boring_front(const struct bw_file_key *k, __u64 gen)
{
	if (boring_mask == 0)
		return false;
	__u32 first = bw_boring_bucket(k, boring_mask) * 2;
	for (__u32 w = 0; w < 2; w++) {
		__u32 i = first + w;
		struct bw_boring_slot *s = bpf_map_lookup_elem(&boring, &i);
		if (!s)
			return false;
		__u32 seq = *(volatile __u32 *)&s->seq;
		if (seq & 1)
			continue;
		asm volatile("" ::: "memory");
		bool same = s->gen == gen && s->key.dentry == k->dentry && s->key.mnt == k->mnt &&
			    s->key.parent == k->parent && s->key.ino == k->ino && s->key.name == k->name &&
			    s->key.generation == k->generation;
		asm volatile("" ::: "memory");
		if (same && *(volatile __u32 *)&s->seq == seq)
			return true;
	}
	return false;
}

/* May (dev, ino) be in sensitive_inodes? False only when it is not. */
static __always_inline bool bw_inode_maybe_sensitive(__u64 dev, __u64 ino)
{
	__u32 word;
	__u64 mask;
	bw_inode_bloom_slot(dev, ino, &word, &mask);
	__u64 w = *(volatile __u64 *)&inode_bloom[word];
	return (w & mask) == mask;
}

/* The key of the directory `dir` (in mount `mnt`): its dentry, mount,
 * parent and name hash. No inode fields: a directory verdict depends on the
 * path string alone, and a freed dentry reused with the same parent and
 * name hash (salted by the parent) is, but for a hash collision, the same
 * name in the same place, so the same path. */
static __always_inline void bw_dir_key(struct dentry *dir, __u64 mnt, struct bw_file_key *dk)
{
	dk->dentry = (__u64)dir;
	dk->mnt = mnt;
	dk->parent = (__u64)dir->d_parent;
	dk->name = dir->d_name.hash_len;
}

/* Does the name (its first 32 bytes as four little-endian words and a zero
 * one, `len` bytes long) contain the n-byte string `want`? First a
 * prefilter with no loop over positions: the positions whose byte is the
 * string's first and (for a longer string) whose next byte is its second,
 * by exact zero-byte masks of whole words. Bytes past the name may add
 * candidates, never remove one; only a name with a candidate goes on to the
 * position-by-position compare, which looks at no byte past `len`. */
static __always_inline bool bw_name_contains(const __u64 *w, __u32 len, __u64 want, __u32 n)
{
	if (n == 0 || n > 8 || n > len)
		return false;
	const __u64 ones = 0x0101010101010101ULL;
	__u64 first = (want & 0xff) * ones;
	__u64 second = ((want >> 8) & 0xff) * ones;
	__u64 cand = 0;
	for (__u32 q = 0; q < 4; q++) {
		if (q * 8 >= len)
			break;
		__u64 m = bw_zero_bytes(w[q] ^ first);
		if (n > 1)
			m &= bw_zero_bytes(((w[q] >> 8) | (w[q + 1] << 56)) ^ second);
		cand |= m;
	}
	if (cand == 0)
		return false;
	__u64 mask = n == 8 ? ~0ULL : (1ULL << (8 * n)) - 1;
	for (__u32 i = 0; i + n <= len && i < BW_DIR_NAME_MAX; i++) {
		__u32 q = (i >> 3) & 3, r8 = (i & 7) * 8;
		__u64 word = w[q] >> r8;
		if (r8)
			word |= w[q + 1] << (64 - r8);
		if ((word & mask) == want)
			return true;
	}
	return false;
}

/* Puts the directory verdict `v` of `dk` into the slot `rd` of this CPU's
 * front; false when another program on this CPU is writing it (this one
 * preempted it), and then the slot is left alone. The sequence number is
 * claimed by a compare-and-exchange, so of two writers only one writes,
 * and it only grows: a reader that sees the same even number before and
 * after its reads read one writer's whole entry. */
static __always_inline bool bw_recent_dir_fill(struct bw_recent_dir *rd, const struct bw_file_key *dk,
					       const struct bw_dir_verdict *v, __u32 *seq)
{
	__u32 s = *(volatile __u32 *)&rd->seq;
	if (s & 1)
		return false;
	if (__sync_val_compare_and_swap(&rd->seq, s, s + 1) != s)
		return false;
	asm volatile("" ::: "memory");
	rd->dentry = dk->dentry;
	rd->mnt = dk->mnt;
	rd->parent = dk->parent;
	rd->name = dk->name;
	rd->gen = v->gen;
	rd->prefix_fold = v->prefix_bloom[0] | v->prefix_bloom[1] | v->prefix_bloom[2] | v->prefix_bloom[3];
	for (int i = 0; i < 4; i++)
		rd->prefix_bloom[i] = v->prefix_bloom[i];
	rd->contains_len[0] = v->contains_len[0];
	rd->contains_len[1] = v->contains_len[1];
	rd->contains0 = *(const __u64 *)v->contains[0];
	rd->contains1 = *(const __u64 *)v->contains[1];
	asm volatile("" ::: "memory");
	*(volatile __u32 *)&rd->seq = s + 2;
	*seq = s + 2;
	return true;
}

/* Does the verdict on the file's directory make this open boring? Its name
 * fails every check of the verdict (kernel_filter.hpp, dir_name_may_match,
 * is the same in C++) and its inode is not sensitive. False: undecided
 * here, the per-file verdict decides. */
static __always_inline bool bw_dir_says_boring(struct dentry *dentry, const struct bw_file_key *dk, __u64 gen,
					       __u64 dev, __u64 ino)
{
	__u32 idx = bpf_get_smp_processor_id() * BW_RECENT_DIRS + ((__u32)dk->name & (BW_RECENT_DIRS - 1));
	struct bw_recent_dir *rd = bpf_map_lookup_elem(&recent_dirs, &idx);
	if (!rd)
		return false;
	/* A directory's key has no inode fields (bw_dir_key): the slot keeps
	 * the four that are set. */
	__u32 seq = *(volatile __u32 *)&rd->seq;
	asm volatile("" ::: "memory");
	if ((seq & 1) || rd->gen != gen || rd->dentry != dk->dentry || rd->mnt != dk->mnt ||
	    rd->parent != dk->parent || rd->name != dk->name) {
		struct bw_dir_verdict *v = bpf_map_lookup_elem(&dirs, dk);
		if (!v || v->gen != gen)
			return false;
		if (!bw_recent_dir_fill(rd, dk, v, &seq))
			return false;
	}
	__u32 len = dentry->d_name.len;
	if (len > BW_DIR_NAME_MAX)
		return false;
	/* The name's first 32 bytes as four little-endian words, by direct
	 * loads (a faulting load reads 0). Bytes past `len` are never compared. */
	const __u64 *nm = bpf_rdonly_cast(dentry->d_name.name, 0);
	__u64 w[5];
	w[0] = nm[0];
	w[1] = nm[1];
	w[2] = nm[2];
	w[3] = nm[3];
	w[4] = 0;
	if (len >= 4) {
		/* the folded bloom first (the slot's first line), the whole one
		 * only when its bit is set */
		__u32 bit = bw_name_bloom_bit((__u32)w[0]);
		if (((rd->prefix_fold >> (bit & 63)) & 1) && ((rd->prefix_bloom[(bit >> 6) & 3] >> (bit & 63)) & 1))
			return false;
	}
	if (bw_name_contains(w, len, rd->contains0, rd->contains_len[0]))
		return false;
	/* contains_len sits in the slot's first line, contains1 in its second:
	 * check the length first, so a directory with one string never reads
	 * the second line */
	if (rd->contains_len[1] != 0 && bw_name_contains(w, len, rd->contains1, rd->contains_len[1]))
		return false;
	/* the slot was not rewritten under these reads */
	asm volatile("" ::: "memory");
	if (*(volatile __u32 *)&rd->seq != seq)
		return false;
	return !bw_inode_maybe_sensitive(dev, ino);
}

/* A successful open of `file` by the current task, however it was made. */
static __always_inline int bw_on_open_file(struct task_struct *task, struct file *file, __u8 source,
					   const char *uname)
{
	if (!file)
		return 0;
	/* The ids from the current task's own fields (a trusted pointer: plain
	 * loads), not from a helper call: this runs on every open of the host,
	 * and a call and its return cost more than the loads with the kernel's
	 * return-thunk mitigations. */
	__u32 tgid = task->tgid;
	__u64 id = ((__u64)tgid << 32) | (__u32)task->pid;
	if (bw_is_self(tgid))
		return 0;
	struct inode *inode = file->f_inode;
	if (!inode)
		return 0;
	/* Only regular files: directories, devices, FIFOs and sockets hold no
	 * credentials, and skipping them here keeps the ring buffer for what does. */
	umode_t mode = inode->i_mode;
	if ((mode & BW_S_IFMT) != BW_S_IFREG)
		return 0;
	bw_open_foreign(file, inode, tgid, uname);
	if (source == BW_SRC_COMPAT)
		bw_count(BW_CTR_OPEN_COMPAT);
	else if (source == BW_SRC_IO_URING)
		bw_count(BW_CTR_OPEN_IO_URING);

	if (!filter_enabled) {
		if (bw_ship_open(file, inode, id, bpf_ktime_get_ns(), NULL, 0, BW_OPEN_UNFILTERED, source, NULL))
			bw_count(BW_CTR_OPEN_UNFILTERED);
		return 0;
	}

	/* The generation first, then everything the path depends on: a rename
	 * that the walk below could see bumps it after this read. */
	__u64 gen = *(volatile __u64 *)&filter_state.gen;
	struct dentry *dentry = file->f_path.dentry;
	__u64 mnt = (__u64)file->f_path.mnt;
	__u64 ino = inode->i_ino;
	__u64 dev = bw_user_dev(inode->i_sb->s_dev);
	/* The directory's verdict decides most boring opens, from fields the
	 * open itself just touched: a stream of distinct files (a build, a
	 * scan) pays no load of a cold inode field here. */
	struct bw_file_key dkey = {};
	bw_dir_key(dentry->d_parent, mnt, &dkey);
	if (bw_dir_says_boring(dentry, &dkey, gen, dev, ino)) {
		/* Not into `recent`: the directory's entry is about as cheap,
		 * and a stream of new files would only churn it. */
		bw_count(BW_CTR_OPEN_BORING_DIR);
		return 0;
	}
	struct bw_file_key key = {};
	key.dentry = (__u64)dentry;
	key.mnt = mnt;
	key.parent = (__u64)dentry->d_parent;
	key.ino = ino;
	key.name = dentry->d_name.hash_len;
	key.generation = inode->i_generation;

	__u32 slot = (__u32)key.name & (BW_RECENT_SLOTS - 1); /* the name hash (pointers are no numbers to the verifier) */
	struct bw_recent *r = bpf_map_lookup_elem(&recent, &slot);
	if (r && r->gen == gen && r->key.dentry == key.dentry && r->key.mnt == key.mnt &&
	    r->key.parent == key.parent && r->key.ino == key.ino && r->key.name == key.name &&
	    r->key.generation == key.generation) {
		bw_count(BW_CTR_OPEN_BORING_RECENT);
		return 0;
	}
	if (bw_boring_front(&key, gen)) {
		if (r) {
			r->key = key;
			r->gen = gen;
		}
		bw_count(BW_CTR_OPEN_BORING_FRONT);
		return 0;
	}

	struct bw_verdict *v = bpf_map_lookup_elem(&verdicts, &key);
	if (v && v->gen == gen) {
		__u32 state = v->state;
		if (state == BW_VERDICT_BORING) {
			if (r) {
				r->key = key;
				r->gen = gen;
			}
			bw_count(BW_CTR_OPEN_BORING);
			return 0;
		}
		__u64 now = bpf_ktime_get_ns();
		if (state == BW_VERDICT_SENSITIVE) {
			if (bw_ship_open(file, inode, id, now, &key, gen, BW_OPEN_SENSITIVE, source, &dkey)) {
				bw_count(BW_CTR_OPEN_SENSITIVE);
				bw_mark_hot(tgid, now, 0);
			}
			return 0;
		}
		if (state == BW_VERDICT_PENDING) {
			if (bw_ship_repeat(file, inode, id, now, &key, gen, source)) {
				bw_count(BW_CTR_OPEN_REPEAT);
				bw_mark_hot(tgid, 0, bpf_ringbuf_query(&events, BPF_RB_PROD_POS));
			}
			return 0;
		}
	}

	__u64 now = bpf_ktime_get_ns();
	struct bw_inode_key ik = {.dev = dev, .ino = key.ino};
	if (bw_inode_maybe_sensitive(dev, key.ino) && bpf_map_lookup_elem(&sensitive_inodes, &ik)) {
		if (bw_ship_open(file, inode, id, now, &key, gen, BW_OPEN_SENSITIVE_INODE, source, &dkey)) {
			bw_count(BW_CTR_OPEN_SENSITIVE_INODE);
			bw_mark_hot(tgid, now, 0);
		}
		return 0;
	}
	/* No verdict at this generation: ship it in full, and let user space decide. */
	if (bw_ship_open(file, inode, id, now, &key, gen, BW_OPEN_MISS, source, &dkey)) {
		bw_count(BW_CTR_OPEN_MISS);
		/* after the submit: the producer position is past this record */
		bw_mark_hot(tgid, 0, bpf_ringbuf_query(&events, BPF_RB_PROD_POS));
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Writes of hot families: the taint of derived secrets                       */
/* ------------------------------------------------------------------------ */

/* `bytes` were written into `file` by the current task. Shipped when its
 * family is hot (it may hold a secret) and the file is a regular file, once
 * per process, file and window (or new mark). */
static __always_inline int bw_on_write_file(struct file *file, __u64 bytes, __u8 source, __u8 how)
{
	if (!file || bytes == 0)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	if (bw_is_self(tgid))
		return 0;
	__u64 now = bpf_ktime_get_ns();
	struct bw_heat heat = {};
	if (filter_enabled && !bw_family_heat(tgid, now, false, &heat))
		return 0; /* the common case: no family read a secret within the window */
	struct inode *inode = file->f_inode;
	if (!inode)
		return 0;
	umode_t mode = inode->i_mode;
	if ((mode & BW_S_IFMT) != BW_S_IFREG)
		return 0;
	__u64 dev = bw_user_dev(inode->i_sb->s_dev);
	__u64 ino = inode->i_ino;
	if (filter_enabled) {
		struct bw_written_key wk = {.tgid = tgid, .dev = dev, .ino = ino};
		struct bw_written *w = bpf_map_lookup_elem(&written, &wk);
		__u64 window = filter_state.window_ns;
		if (w && now - w->last_ns <= window && heat.mark <= w->last_mark && heat.pos == 0) {
			bw_count(BW_CTR_WRITE_FOLDED);
			return 0;
		}
		struct bw_written nw = {.last_ns = now, .last_mark = heat.mark};
		bpf_map_update_elem(&written, &wk, &nw, BPF_ANY);
	}
	if (bw_over_mark(shed_open_bytes)) {
		bw_count(BW_CTR_SHED_WRITE);
		return 0;
	}
	struct bw_write_event *e = bw_reserve(BW_EVENT_WRITE, sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	bw_header_at(&e->hdr, BW_EVENT_WRITE, sizeof(*e), (__u32)id, tgid, now);
	e->dev = dev;
	e->ino = ino;
	e->bytes = bytes;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->source = source;
	e->how = how;
	e->path_size = bw_resolve_path(&file->f_path, e->path, &e->hdr.flags);
	bw_count(BW_CTR_WRITE_SHIPPED);
	/* A write may stage a secret: wake the reader, like a network record. */
	if (filter_enabled)
		bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	else
		bw_submit(e);
	return 0;
}

static __always_inline int bw_on_write_fd(long fd, long ret, __u8 source, __u8 how)
{
	if (ret <= 0)
		return 0;
	/* Quick exit before the descriptor walk when no family is hot within
	 * the window (held secrets do not taint: see bw_on_write_file). */
	if (filter_enabled) {
		if (bw_all_cold(false))
			return 0;
		__u64 consumed = bpf_ringbuf_query(&events, BPF_RB_CONS_POS);
		__u64 window = filter_state.window_ns;
		__u64 now = bpf_ktime_get_ns();
		if (bw_summary_cold(consumed, now, window))
			return 0;
	}
	return bw_on_write_file(bw_fd_file(fd), (__u64)ret, source, how);
}

/* ------------------------------------------------------------------------ */
/* Filter generation: what can change the path a cached key resolves to       */
/* ------------------------------------------------------------------------ */

/* A successful rename moves a dentry (and with a directory, every path
 * below it); mount, umount, move_mount and pivot_root move mounts. Each
 * makes every cached verdict stale. */
static __always_inline int bw_bump_on_success(long ret)
{
	if (ret != 0 || !filter_enabled)
		return 0;
	__sync_fetch_and_add(&filter_state.gen, 1);
	bw_count(BW_CTR_GEN_BUMPS);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* System calls: one dispatcher at raw sys_exit, native and ia32 alike        */
/* ------------------------------------------------------------------------ */

/*
 * Every system call's exit. The per-syscall tracepoints (syscalls:sys_exit_*)
 * skip ia32 compat system calls (int $0x80 works from any 64-bit process),
 * so one raw sys_exit program handles both ABIs: the number in orig_ax, the
 * arguments in the saved user registers of the ABI that was used. Most
 * system calls leave after one load and a few compares.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit, struct pt_regs *regs, long ret)
{
	long nr, a0, a1, a2;
	__u8 source = BW_SRC_SYSCALL;
	int action;
#if defined(__TARGET_ARCH_x86)
	nr = regs->orig_ax;
	/* Most system calls are no action in either ABI: one byte load from the
	 * read-only table, and they leave. An x32 number (the bit set) is no
	 * ia32 number. */
	long idx = nr & ~(long)BW_X32_SYSCALL_BIT;
	if (idx < 0 || idx >= BW_SYS_TABLE)
		return 0;
	int both = sys_actions[idx];
	if (nr != idx)
		both &= BW_SYS_ACTION_MASK;
	if (both == 0)
		return 0;
	int native = both & BW_SYS_ACTION_MASK;
	int compat = both >> BW_SYS_ACTION_BITS;
	struct task_struct *task = bpf_get_current_task_btf();
	if (task->thread_info.status & BW_TS_COMPAT) {
		action = compat;
		source = BW_SRC_COMPAT;
		/* The arguments, as the i386 ABI passed them. */
		a0 = (__u32)regs->bx;
		a1 = (__u32)regs->cx;
		a2 = (__u32)regs->dx;
	} else {
		action = native;
		a0 = regs->di;
		a1 = regs->si;
		a2 = regs->dx;
	}
#elif defined(__TARGET_ARCH_arm64)
	/* asm-generic numbers; the return value replaced x0, orig_x0 keeps argument 0.
	 * Compat (AArch32) system calls are not dispatched. */
	nr = regs->syscallno;
	action = bw_sys_action_generic(nr);
	a0 = regs->orig_x0;
	a1 = regs->regs[1];
	a2 = regs->regs[2];
#else
#error "the sys_exit dispatcher knows the system call numbers of x86-64 (with ia32 and x32) and arm64"
#endif
	if (action == BW_SYS_NONE)
		return 0;

	long fd = a0;
	__u8 how = BW_WRITE_WRITE;
	switch (action) {
	case BW_SYS_OPEN:
		if (ret < 0)
			return 0;
#if defined(__TARGET_ARCH_x86)
		/* openat and openat2 name the file in argument 1 */
		return bw_on_open_file(task, bw_task_fd_file(task, ret), source,
				       source == BW_SRC_SYSCALL && (nr == 257 || nr == 437) ? (const char *)a1 : NULL);
#else
		{
			struct task_struct *task = bpf_get_current_task_btf();
			return bw_on_open_file(task, bw_task_fd_file(task, ret), source,
					       nr == 56 || nr == 437 ? (const char *)a1 : NULL);
		}
#endif
	case BW_SYS_PTRACE:
		if (ret != 0)
			return 0;
		return bw_on_ptrace(a0, a1);
	case BW_SYS_VM_WRITE:
		if (ret <= 0)
			return 0;
		{
			__u32 target = bw_tgid_of_vpid(a0);
			if (target != 0)
				bw_ship_foreign(target, BW_FOREIGN_MEM_WRITTEN, BW_FOREIGN_HOW_VM_WRITE);
		}
		return 0;
	case BW_SYS_BUMP:
		return bw_bump_on_success(ret);
	case BW_SYS_WRITE:
		break;
	case BW_SYS_COPY:
		how = BW_WRITE_COPY;
		break;
	case BW_SYS_COPY2:
		fd = a2;
		how = BW_WRITE_COPY;
		break;
	case BW_SYS_IOCTL: {
		long cmd = (long)(__u32)a1;
		if (ret != 0 || (cmd != BW_FICLONE && cmd != BW_FICLONERANGE))
			return 0;
		/* A reflink copy reports 0 on success: count the file as written. */
		ret = 1;
		how = BW_WRITE_CLONE;
		break;
	}
	default:
		return 0;
	}
	return bw_on_write_fd((int)fd, ret, source, how);
}

/* ------------------------------------------------------------------------ */
/* io_uring: opens, writes and renames that make no system call               */
/* ------------------------------------------------------------------------ */

/* The file an io_uring open put in the ring's fixed-file table. */
static __always_inline struct file *bw_uring_fixed_file(struct io_kiocb *req, __u32 slot)
{
	/* The fixed-file table as Linux 6.13+ lays it out (io_rsrc_node.file_ptr);
	 * on older kernels this is dead code and fixed-slot opens are not seen. */
	if (!bpf_core_field_exists(struct io_rsrc_node, file_ptr) || !bpf_core_field_exists(struct io_file_table, data) ||
	    !bpf_core_field_exists(struct io_rsrc_data, nodes))
		return NULL;
	struct io_ring_ctx *ctx = BPF_CORE_READ(req, ctx);
	if (!ctx)
		return NULL;
	unsigned int nr = BPF_CORE_READ(ctx, file_table.data.nr);
	if (slot >= nr)
		return NULL;
	struct io_rsrc_node **nodes = BPF_CORE_READ(ctx, file_table.data.nodes);
	struct io_rsrc_node *node = NULL;
	if (bpf_probe_read_kernel(&node, sizeof(node), &nodes[slot]) || !node)
		return NULL;
	unsigned long ptr = BPF_CORE_READ(node, file_ptr);
	return bpf_rdonly_cast((void *)(ptr & BW_FFS_MASK), bpf_core_type_id_kernel(struct file));
}

/*
 * A completed io_uring request, in the task that submitted it or in one of
 * its io-wq workers (threads of the same process, sharing its descriptor
 * table). Sends and connects are seen by the socket programs below.
 */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(handle_io_uring_complete, struct io_ring_ctx *ring, void *req_ptr, struct io_uring_cqe *cqe)
{
	struct io_kiocb *req = bpf_rdonly_cast(req_ptr, bpf_core_type_id_kernel(struct io_kiocb));
	if (!req)
		return 0;
	__u8 op = req->opcode;
	__s32 res = cqe->res;
	switch (op) {
	case IORING_OP_OPENAT:
	case IORING_OP_OPENAT2: {
		if (res < 0)
			return 0;
		/* The request's command area is its struct io_open. */
		__u32 file_slot = BPF_CORE_READ((struct io_open *)req_ptr, file_slot);
		struct task_struct *task = bpf_get_current_task_btf();
		if (file_slot == 0)
			return bw_on_open_file(task, bw_task_fd_file(task, res), BW_SRC_IO_URING, NULL);
		__u32 slot = file_slot == BW_IORING_FILE_INDEX_ALLOC ? (__u32)res : file_slot - 1;
		return bw_on_open_file(task, bw_uring_fixed_file(req, slot), BW_SRC_IO_URING, NULL);
	}
	case IORING_OP_WRITE:
	case IORING_OP_WRITEV:
	case IORING_OP_WRITE_FIXED:
	case IORING_OP_SPLICE: /* the command's first field is the output file */
		if (res <= 0)
			return 0;
		return bw_on_write_file(req->file, (__u64)res, BW_SRC_IO_URING,
					op == IORING_OP_SPLICE ? BW_WRITE_COPY : BW_WRITE_WRITE);
	case IORING_OP_RENAMEAT:
		return bw_bump_on_success(res);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Network                                                                    */
/* ------------------------------------------------------------------------ */

/* A network record, unless the ring is past the network mark (shed, counted). */
static __always_inline struct bw_net_event *bw_reserve_net(void)
{
	if (bw_over_mark(shed_net_bytes)) {
		bw_count(BW_CTR_SHED_NET);
		return NULL;
	}
	struct bw_net_event *e = bw_reserve(BW_EVENT_NET, sizeof(struct bw_net_event));
	if (e)
		bw_count(BW_CTR_NET_SHIPPED);
	return e;
}

/* With the filter on, a network record that passed it may complete an alert:
 * wake the reader now rather than at the next fill mark or timer. */
static __always_inline void bw_submit_net(void *rec)
{
	if (filter_enabled)
		bpf_ringbuf_submit(rec, BPF_RB_FORCE_WAKEUP);
	else
		bw_submit(rec);
}

static __always_inline struct bw_sock_state *bw_sock_state_of(const struct sock *sk, bool create)
{
	return bpf_sk_storage_get(&sock_state, (struct sock *)sk, 0, create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
}

/* The socket's peer: the destination of a connected socket. */
static __always_inline void bw_peer(const struct sock *sk, __u16 family, struct bw_net_event *e)
{
	e->family = family;
	e->port = bpf_ntohs(sk->__sk_common.skc_dport);
	if (family == BW_AF_INET) {
		bpf_core_read(e->addr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(e->addr, 16, &sk->__sk_common.skc_v6_daddr);
		/* An IPv4 peer of a dual-stack socket is reported as IPv4. */
		__u32 w[4];
		__builtin_memcpy(w, e->addr, 16);
		if (w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0x0000ffff)) {
			__builtin_memset(e->addr, 0, 16);
			__builtin_memcpy(e->addr, &w[3], 4);
			e->family = BW_AF_INET;
		}
	}
}

/*
 * TCP state changes: SYN_SENT is a connect, in the connecting task's
 * context however it was issued (connect(2), io_uring, sendto with
 * MSG_FASTOPEN); SYN_RECV -> ESTABLISHED is a connection accepted here.
 * Both start the connection's clock (bw_sock_state.conn_ns), which a later
 * send reports: the alert says whether the connection or the read came first.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_inet_sock_set_state, const struct sock *sk, int oldstate, int newstate)
{
	bool connect = newstate == BW_TCP_SYN_SENT;
	bool accepted = newstate == BW_TCP_ESTABLISHED && oldstate == BW_TCP_SYN_RECV;
	if (!connect && !accepted)
		return 0;
	/* Direct loads through the tracepoint's BTF pointer: no helper call. */
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	__u16 family = sk->__sk_common.skc_family;
	if (family != BW_AF_INET && family != BW_AF_INET6)
		return 0;
	/* Even: bit 0 of the stored start says "accepted", and the connect
	 * record below must carry the same start as every later send. */
	__u64 now = bpf_ktime_get_ns() & ~1ULL;
	__u64 cookie = bpf_get_socket_cookie((struct sock *)sk);
	__u32 slot = (__u32)cookie & (BW_CONN_SLOTS - 1);
	struct bw_conn_start *cs = bpf_map_lookup_elem(&conn_start, &slot);
	if (cs) {
		cs->cookie = cookie;
		cs->ns = now | (accepted ? 1 : 0);
	}
	if (accepted)
		return 0; /* in softirq: no owning task yet; its sends are seen below */

	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	if (bw_is_self(tgid))
		return 0;
	struct bw_heat heat = {};
	if (!bw_wanted(tgid, now, &heat))
		return 0;

	struct bw_net_event *e = bw_reserve_net();
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	bw_header_at(&e->hdr, BW_EVENT_NET, sizeof(*e), (__u32)id, tgid, now);
	bw_peer(sk, family, e);
	e->protocol = IPPROTO_TCP;
	e->op = BW_NET_CONNECT;
	e->sock_type = BW_SOCK_STREAM;
	e->net_flags = BW_NETF_PEER;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->conn_ns = now;
	e->cookie = cookie;
	bw_submit_net(e);
	return 0;
}

/*
 * A packet about to be queued to a device. For a datagram or raw socket of
 * this host (skb->sk), the IP header holds where this datagram goes, in
 * kernel memory: it is kept on the socket for the send that queued it
 * (sock_send_length below, in the same system call). TCP's destination is
 * the connection's peer, so TCP packets return at once; so does every
 * packet while no family is hot.
 */
SEC("tp_btf/net_dev_queue")
int BPF_PROG(handle_net_dev_queue, struct sk_buff *skb)
{
	struct sock *sk = skb->sk;
	if (!sk)
		return 0;
	if (sk->sk_protocol == IPPROTO_TCP)
		return 0;
	__u16 family = sk->__sk_common.skc_family;
	if (family != BW_AF_INET && family != BW_AF_INET6)
		return 0;
	if (filter_enabled) {
		if (bw_all_cold(true))
			return 0;
		__u64 consumed = bpf_ringbuf_query(&events, BPF_RB_CONS_POS);
		if (*(volatile __u64 *)&hot_summary.held == 0) {
			__u64 now = bpf_ktime_get_ns();
			__u64 window = filter_state.window_ns;
			if (bw_summary_cold(consumed, now, window))
				return 0;
		}
	}
	unsigned char *head = skb->head;
	__u16 nh = skb->network_header;
	__u8 first = 0;
	if (bpf_probe_read_kernel(&first, 1, head + nh))
		return 0;
	__u8 addr[16] = {};
	__u16 port = 0;
	__u16 ip_family;
	__u8 proto;
	if ((first >> 4) == 4) {
		struct iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return 0;
		ip_family = BW_AF_INET;
		proto = ip.protocol;
		__builtin_memcpy(addr, &ip.daddr, 4);
		bool first_fragment = (bpf_ntohs(ip.frag_off) & 0x1fff) == 0;
		if (first_fragment && (proto == BW_IPPROTO_UDP || proto == BW_IPPROTO_UDPLITE)) {
			struct udphdr uh;
			if (bpf_probe_read_kernel(&uh, sizeof(uh), head + nh + (ip.ihl & 0xf) * 4) == 0)
				port = bpf_ntohs(uh.dest);
		}
	} else if ((first >> 4) == 6) {
		struct ipv6hdr ip6;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return 0;
		ip_family = BW_AF_INET6;
		proto = ip6.nexthdr;
		__builtin_memcpy(addr, &ip6.daddr, 16);
		if (proto == BW_IPPROTO_UDP || proto == BW_IPPROTO_UDPLITE) {
			struct udphdr uh;
			if (bpf_probe_read_kernel(&uh, sizeof(uh), head + nh + sizeof(ip6)) == 0)
				port = bpf_ntohs(uh.dest);
		}
	} else {
		return 0;
	}
	struct bw_sock_state *st = bw_sock_state_of(sk, true);
	if (!st)
		return 0;
	__builtin_memcpy(st->pkt_addr, addr, 16);
	st->pkt_port = port;
	st->pkt_family = ip_family;
	st->pkt_proto = proto;
	st->pkt_seq += 1;
	return 0;
}

/* A hash of a destination, to fold repeated sends to it. */
static __always_inline __u64 bw_dest_hash(const struct bw_net_event *e)
{
	__u64 a, b;
	__builtin_memcpy(&a, e->addr, 8);
	__builtin_memcpy(&b, e->addr + 8, 8);
	__u64 h = a * 0x9E3779B97F4A7C15ull ^ b;
	h ^= ((__u64)e->port << 16 | (__u64)e->protocol << 8 | e->family) * 0xBF58476D1CE4E5B9ull;
	return h | 1; /* never 0, which means "nothing shipped yet" */
}

/*
 * Data sent on an AF_INET/AF_INET6 socket: every sendmsg of the socket
 * layer (write, send, sendto, sendmsg, each message of sendmmsg, sendfile
 * and splice into a socket, io_uring sends), in the sending task, after the
 * send, with the bytes it sent. The destination is kernel memory: the
 * datagram's IP header (net_dev_queue above) for a datagram or raw socket,
 * else the socket's connected peer. A hot family's repeated sends to one
 * destination on one socket ship once per window or new mark.
 */
SEC("tp_btf/sock_send_length")
int BPF_PROG(handle_sock_send_length, struct sock *sk, int ret, int flags)
{
	if (ret <= 0)
		return 0;
	__u16 family = sk->__sk_common.skc_family;
	if (family != BW_AF_INET && family != BW_AF_INET6)
		return 0;
	/* The common case, before anything else: nothing hot anywhere. */
	if (filter_enabled && bw_all_cold(true)) {
		bw_count(BW_CTR_NET_COLD);
		return 0;
	}
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	if (bw_is_self(tgid))
		return 0;
	__u64 now = bpf_ktime_get_ns();
	struct bw_heat heat = {};
	if (!bw_wanted(tgid, now, &heat))
		return 0;

	__u8 type = sk->sk_type;
	__u8 proto = sk->sk_protocol;
	struct bw_sock_state *st = bw_sock_state_of(sk, true);

	struct bw_net_event tmp = {};
	tmp.protocol = proto;
	if (st && st->pkt_seq != st->used_seq) {
		/* The datagram this send queued (or the last one it did). */
		st->used_seq = st->pkt_seq;
		__builtin_memcpy(tmp.addr, st->pkt_addr, 16);
		tmp.port = st->pkt_port;
		tmp.family = st->pkt_family;
		tmp.protocol = st->pkt_proto;
	} else if (type == BW_SOCK_STREAM || sk->__sk_common.skc_state == BW_TCP_ESTABLISHED) {
		bw_peer(sk, family, &tmp);
		tmp.net_flags = BW_NETF_PEER;
	} else {
		bw_count(BW_CTR_SEND_NODEST); /* queued later (neighbour resolution, a cork) */
		return 0;
	}

	if (filter_enabled && st) {
		__u64 dest = bw_dest_hash(&tmp);
		__u64 window = filter_state.window_ns;
		if (st->last_dest == dest && now - st->last_ns <= window && heat.mark <= st->last_mark &&
		    heat.pos <= st->last_pos) {
			bw_count(BW_CTR_SEND_FOLDED);
			return 0;
		}
		st->last_ns = now;
		st->last_dest = dest;
		st->last_mark = heat.mark;
		st->last_pos = heat.pos;
	}

	struct bw_net_event *e = bw_reserve_net();
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	bw_header_at(&e->hdr, BW_EVENT_NET, sizeof(*e), (__u32)id, tgid, now);
	__builtin_memcpy(e->addr, tmp.addr, 16);
	e->family = tmp.family;
	e->port = tmp.port;
	e->protocol = tmp.protocol;
	e->op = BW_NET_SEND;
	e->sock_type = type;
	__u64 cookie = bpf_get_socket_cookie(sk);
	__u32 cslot = (__u32)cookie & (BW_CONN_SLOTS - 1);
	struct bw_conn_start *cs = bpf_map_lookup_elem(&conn_start, &cslot);
	__u64 conn = cs && cs->cookie == cookie ? cs->ns : 0;
	e->net_flags = tmp.net_flags | ((conn & 1) ? BW_NETF_ACCEPTED : 0);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->bytes = (__u64)ret;
	e->conn_ns = conn & ~1ULL;
	e->cookie = cookie;
	bw_submit_net(e);
	return 0;
}
