// SPDX-License-Identifier: GPL-2.0
/*
 * Barbwire kernel side: process lifecycle, successful file opens and network
 * destinations, written as bw_*_event records (barbwire/abi/events.h) into
 * one ring buffer. docs/kernel.md describes every hook, what it reads and its
 * limits.
 *
 * The in-kernel filter (docs/kernel.md, "In-kernel filtering"): an open of
 * a file whose cached verdict is "boring" at the current generation never
 * leaves the kernel; a connect or UDP send of a process family with no
 * possibly sensitive open within the window never does either. Under a
 * flood, opens and network records are shed before process lifecycle
 * records, so lineage survives.
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
#define BW_SOCK_DGRAM 2
#define BW_TCP_SYN_SENT 2

/* Set by user space before load. */
const volatile __u32 self_tgid = 0;      /* the sensor's own process: not reported */
const volatile __u64 wakeup_bytes = 0;   /* wake the reader once this much is queued; 0: every record */
const volatile __u32 filter_enabled = 0; /* the in-kernel filter (verdict cache, hot families) */
const volatile __u64 shed_open_bytes = 0; /* shed opens and repeats once this much is queued; 0: never */
const volatile __u64 shed_net_bytes = 0;  /* shed connects and sends once this much is queued; 0: never */

/* Generation and window, in .bss: user space maps it and bumps gen atomically too. */
struct bw_filter_state filter_state = {};
/* The hottest marks over all families: a fast "nothing is hot" check. */
struct bw_hot_summary hot_summary = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24); /* replaced by user space */
} events SEC(".maps");

/* Failed bpf_ringbuf_reserve per record kind (index BW_EVENT_*). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 8);
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

/* The inodes of the files the rules name whose category counts (not context). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bw_inode_key);
	__type(value, __u8);
} sensitive_inodes SEC(".maps");

/* Hot families: tgid or session -> its last sensitive open, and the ring
 * position of its last open of unknown verdict. Written by the kernel only. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct bw_hot_key);
	__type(value, struct bw_hot);
} hot SEC(".maps");

/* The same keys -> ktime of a sensitive open, written by the sensor only:
 * opens it found sensitive, under the session the correlator knows. */
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
static __always_inline struct file *bw_fd_file(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
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
static __always_inline void bw_raise_summary(__u64 sure_ns, __u64 maybe_pos)
{
	if (sure_ns)
		bw_raise(&hot_summary.sure_ns, sure_ns);
	if (maybe_pos)
		bw_raise(&hot_summary.maybe_pos, maybe_pos);
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

/* Is this process or session hot at `now`? `consumed` is the reader's ring
 * position, read before (the sensor writes hot_user before it moves on). */
static __always_inline bool bw_is_hot(__u32 kind, __u32 id, __u64 now, __u64 window, __u64 consumed)
{
	struct bw_hot_key k = {.kind = kind, .id = id};
	struct bw_hot *h = bpf_map_lookup_elem(&hot, &k);
	if (h) {
		if (bw_within(h->sure_ns, now, window))
			return true;
		if (h->maybe_pos > consumed)
			return true; /* an open whose verdict is not in yet */
	}
	__u64 *u = bpf_map_lookup_elem(&hot_user, &k);
	return u && bw_within(*u, now, window);
}

/* May a network event of the current process at `now` correlate with an
 * open? Only with one of its own or of its session (sid > 1). */
static __always_inline bool bw_family_hot(__u32 tgid, __u64 now)
{
	__u64 window = filter_state.window_ns;
	__u64 consumed = bpf_ringbuf_query(&events, BPF_RB_CONS_POS);
	/* Nothing hot anywhere (the common case): no per-family lookup. Read
	 * after `consumed`, like hot_user below. */
	if (*(volatile __u64 *)&hot_summary.maybe_pos <= consumed &&
	    !bw_within(*(volatile __u64 *)&hot_summary.sure_ns, now, window) &&
	    !bw_within(*(volatile __u64 *)&hot_summary.user_ns, now, window))
		return false;
	if (bw_is_hot(BW_HOT_TGID, tgid, now, window, consumed))
		return true;
	__u32 sid = bw_family_sid(tgid);
	return sid > 1 && bw_is_hot(BW_HOT_SID, sid, now, window, consumed);
}

/* Ship a network event of tgid at now? Counts a cold one. */
static __always_inline bool bw_net_wanted(__u32 tgid, __u64 now)
{
	if (!filter_enabled)
		return true;
	if (bw_family_hot(tgid, now))
		return true;
	bw_count(BW_CTR_NET_COLD);
	return false;
}

/* ------------------------------------------------------------------------ */
/* Process lifecycle                                                          */
/* ------------------------------------------------------------------------ */

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
	if (!e) {
		bw_exec_carry_hot(task, tgid);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	bw_header(&e->hdr, BW_EVENT_EXEC, sizeof(*e), BPF_CORE_READ(task, pid), tgid);

	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = BPF_CORE_READ(task, real_cred, uid.val);
	e->sid = bw_pid_nr(task, PIDTYPE_SID);
	e->pgid = bw_pid_nr(task, PIDTYPE_PGID);
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
	bw_submit(e);
	bw_exec_carry_hot(task, tgid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_sched_process_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	if (bw_is_self(tgid))
		return 0;

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
/* File opens: on syscall exit, from the struct file the new fd points at      */
/* ------------------------------------------------------------------------ */

/* Ships a full open record: the path is resolved here. False when the ring
 * had no room (counted in drops) or was past its mark (counted as shed). */
static __always_inline bool bw_ship_open(struct file *file, struct inode *inode, __u64 id, __u64 now,
					 const struct bw_file_key *key, __u64 gen, __u32 filter)
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
	e->path_size = bw_resolve_path(&file->f_path, e->path, &e->hdr.flags);
	if (key)
		e->key = *key;
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
					   const struct bw_file_key *key, __u64 gen)
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
	bw_submit(e);
	return true;
}

static __always_inline int bw_on_open_exit(long ret)
{
	if (ret < 0)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	if (bw_is_self(tgid))
		return 0;

	struct file *file = bw_fd_file(ret);
	if (!file)
		return 0;
	struct inode *inode = file->f_inode;
	if (!inode)
		return 0;
	/* Only regular files: directories, devices, FIFOs and sockets hold no
	 * credentials, and skipping them here keeps the ring buffer for what does. */
	umode_t mode = inode->i_mode;
	if ((mode & BW_S_IFMT) != BW_S_IFREG)
		return 0;

	if (!filter_enabled) {
		if (bw_ship_open(file, inode, id, bpf_ktime_get_ns(), NULL, 0, BW_OPEN_UNFILTERED))
			bw_count(BW_CTR_OPEN_UNFILTERED);
		return 0;
	}

	/* The generation first, then everything the path depends on: a rename
	 * that the walk below could see bumps it after this read. */
	__u64 gen = *(volatile __u64 *)&filter_state.gen;
	struct dentry *dentry = file->f_path.dentry;
	struct bw_file_key key = {};
	key.dentry = (__u64)dentry;
	key.mnt = (__u64)file->f_path.mnt;
	key.parent = (__u64)dentry->d_parent;
	key.ino = inode->i_ino;
	key.name = dentry->d_name.hash_len;
	key.generation = inode->i_generation;

	__u32 slot = (__u32)key.name & (BW_RECENT_SLOTS - 1); /* the name hash (pointers are no numbers to the verifier) */
	struct bw_recent *r = bpf_map_lookup_elem(&recent, &slot);
	if (r && r->gen == gen && r->key.dentry == key.dentry && r->key.mnt == key.mnt &&
	    r->key.parent == key.parent && r->key.ino == key.ino && r->key.name == key.name &&
	    r->key.generation == key.generation) {
		bw_count(BW_CTR_OPEN_BORING);
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
			if (bw_ship_open(file, inode, id, now, &key, gen, BW_OPEN_SENSITIVE)) {
				bw_count(BW_CTR_OPEN_SENSITIVE);
				bw_mark_hot(tgid, now, 0);
			}
			return 0;
		}
		if (state == BW_VERDICT_PENDING) {
			if (bw_ship_repeat(file, inode, id, now, &key, gen)) {
				bw_count(BW_CTR_OPEN_REPEAT);
				bw_mark_hot(tgid, 0, bpf_ringbuf_query(&events, BPF_RB_PROD_POS));
			}
			return 0;
		}
	}

	__u64 now = bpf_ktime_get_ns();
	struct bw_inode_key ik = {.dev = bw_user_dev(inode->i_sb->s_dev), .ino = key.ino};
	if (bpf_map_lookup_elem(&sensitive_inodes, &ik)) {
		if (bw_ship_open(file, inode, id, now, &key, gen, BW_OPEN_SENSITIVE_INODE)) {
			bw_count(BW_CTR_OPEN_SENSITIVE_INODE);
			bw_mark_hot(tgid, now, 0);
		}
		return 0;
	}
	/* No verdict at this generation: ship it in full, and let user space decide. */
	if (bw_ship_open(file, inode, id, now, &key, gen, BW_OPEN_MISS)) {
		bw_count(BW_CTR_OPEN_MISS);
		/* after the submit: the producer position is past this record */
		bw_mark_hot(tgid, 0, bpf_ringbuf_query(&events, BPF_RB_PROD_POS));
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int handle_sys_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return bw_on_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int handle_sys_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return bw_on_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_open")
int handle_sys_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return bw_on_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int handle_sys_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	return bw_on_open_exit(ctx->ret);
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

/* TCP connect: the socket enters SYN_SENT in the connecting task's context,
 * whatever issued the connect (connect(2), io_uring, sendto with
 * MSG_FASTOPEN). */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_inet_sock_set_state, const struct sock *sk, int oldstate, int newstate)
{
	if (newstate != BW_TCP_SYN_SENT)
		return 0;
	/* Direct loads through the tracepoint's BTF pointer: no helper call. */
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	__u16 family = sk->__sk_common.skc_family;
	if (family != BW_AF_INET && family != BW_AF_INET6)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	if (bw_is_self(tgid))
		return 0;
	__u64 now = bpf_ktime_get_ns();
	if (!bw_net_wanted(tgid, now))
		return 0;

	struct bw_net_event *e = bw_reserve_net();
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	bw_header_at(&e->hdr, BW_EVENT_NET, sizeof(*e), (__u32)id, tgid, now);
	e->family = family;
	e->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e->protocol = IPPROTO_TCP;
	e->op = BW_NET_CONNECT;
	e->uid = (__u32)bpf_get_current_uid_gid();
	if (family == BW_AF_INET)
		bpf_core_read(e->addr, 4, &sk->__sk_common.skc_daddr);
	else
		bpf_core_read(e->addr, 16, &sk->__sk_common.skc_v6_daddr);
	bw_submit_net(e);
	return 0;
}

/* True when fd of the current task is a UDP socket (not UDP-Lite, not raw). */
static __always_inline bool bw_fd_is_udp(__s32 fd)
{
	struct file *file = bw_fd_file(fd);
	if (!file)
		return false;
	umode_t mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & BW_S_IFMT) != BW_S_IFSOCK)
		return false;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return false;
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return false;
	return BPF_CORE_READ(sk, sk_protocol) == IPPROTO_UDP && BPF_CORE_READ(sk, sk_type) == BW_SOCK_DGRAM;
}

/*
 * A UDP send with an explicit destination, at syscall exit. The arguments
 * are read from the task's saved user registers, which the syscall leaves
 * as they were (it returns in ax): no program at syscall entry, so no
 * per-syscall enter hook for every task of the host and no map to carry
 * the arguments across. sendto(fd, buf, len, flags, addr, addrlen);
 * sendmsg(fd, msg, flags), the destination in msg->msg_name.
 */
static __always_inline int bw_on_send_exit(long ret, bool is_msghdr)
{
	if (ret < 0)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	if (bw_is_self(id >> 32))
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__s32 fd = (__s32)PT_REGS_PARM1_SYSCALL(regs);
	const void *uaddr;
	if (is_msghdr) {
		struct user_msghdr *msg = (struct user_msghdr *)PT_REGS_PARM2_SYSCALL(regs);
		void *name = NULL;
		if (bpf_probe_read_user(&name, sizeof(name), &msg->msg_name))
			return 0;
		uaddr = name;
	} else {
		uaddr = (const void *)PT_REGS_PARM5_SYSCALL(regs);
	}
	if (!uaddr)
		return 0; /* no explicit destination: a connected socket */
	__u16 family = 0;
	if (bpf_probe_read_user(&family, sizeof(family), uaddr))
		return 0;
	if (family != BW_AF_INET && family != BW_AF_INET6)
		return 0;
	if (!bw_fd_is_udp(fd))
		return 0;
	__u64 now = bpf_ktime_get_ns();
	if (!bw_net_wanted(id >> 32, now))
		return 0;

	struct bw_net_event *e = bw_reserve_net();
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	bw_header_at(&e->hdr, BW_EVENT_NET, sizeof(*e), (__u32)id, id >> 32, now);
	e->family = family;
	e->protocol = IPPROTO_UDP;
	e->op = BW_NET_SEND;
	e->uid = (__u32)bpf_get_current_uid_gid();
	__be16 port = 0;
	if (family == BW_AF_INET) {
		const struct sockaddr_in *sin = uaddr;
		bpf_probe_read_user(&port, sizeof(port), &sin->sin_port);
		bpf_probe_read_user(&e->addr[0], 4, &sin->sin_addr);
	} else {
		const struct sockaddr_in6 *sin6 = uaddr;
		bpf_probe_read_user(&port, sizeof(port), &sin6->sin6_port);
		bpf_probe_read_user(&e->addr[0], 16, &sin6->sin6_addr);
	}
	e->port = bpf_ntohs(port);
	bw_submit_net(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int handle_sys_exit_sendto(struct trace_event_raw_sys_exit *ctx)
{
	return bw_on_send_exit(ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int handle_sys_exit_sendmsg(struct trace_event_raw_sys_exit *ctx)
{
	return bw_on_send_exit(ctx->ret, true);
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

SEC("tracepoint/syscalls/sys_exit_rename")
int handle_sys_exit_rename(struct trace_event_raw_sys_exit *ctx)
{
	return bw_bump_on_success(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_renameat")
int handle_sys_exit_renameat(struct trace_event_raw_sys_exit *ctx)
{
	return bw_bump_on_success(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_renameat2")
int handle_sys_exit_renameat2(struct trace_event_raw_sys_exit *ctx)
{
	return bw_bump_on_success(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_mount")
int handle_sys_exit_mount(struct trace_event_raw_sys_exit *ctx)
{
	return bw_bump_on_success(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_umount")
int handle_sys_exit_umount(struct trace_event_raw_sys_exit *ctx)
{
	return bw_bump_on_success(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_move_mount")
int handle_sys_exit_move_mount(struct trace_event_raw_sys_exit *ctx)
{
	return bw_bump_on_success(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_pivot_root")
int handle_sys_exit_pivot_root(struct trace_event_raw_sys_exit *ctx)
{
	return bw_bump_on_success(ctx->ret);
}
