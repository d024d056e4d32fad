/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-side path resolution: struct path -> absolute, canonical path text.
 *
 * The path is rebuilt from the dentry and mount objects the kernel holds for
 * an open file, never from the string a process passed to open(2). Walking
 * d_parent up to the root and crossing mount points through struct mount
 * resolves symlinks, "..", "//", relative paths and dirfd by construction:
 * the dentry chain of an opened file has none of them.
 *
 * Needs vmlinux.h, bpf_helpers.h and bpf_core_read.h before it.
 */
#ifndef BARBWIRE_PATH_BPF_H
#define BARBWIRE_PATH_BPF_H

#include "barbwire/abi/events.h"

/* Steps of the walk: one step is one path component or one mount crossing. */
#define BW_PATH_STEPS 64
/* The scratch area the path is built in, backwards; a power of two. */
#define BW_SCRATCH_AREA 4096
#define BW_SCRATCH_MASK (BW_SCRATCH_AREA - 1)
/* Longest component copied (NAME_MAX); longer names are cut and flagged. */
#define BW_NAME_MAX 255

/* Twice the area, so that a masked offset plus one name never leaves the buffer. */
struct bw_scratch {
	char buf[2 * BW_SCRATCH_AREA];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_scratch);
} scratch SEC(".maps");

/*
 * User-space dev_t of a kernel dev_t, as stat(2) reports it (the kernel's
 * new_encode_dev): kernel dev_t is major << 20 | minor.
 */
static __always_inline __u64 bw_user_dev(__u32 kdev)
{
	__u32 major = kdev >> 20;
	__u32 minor = kdev & ((1U << 20) - 1);

	return (__u64)((minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12));
}

/* The state of one walk, shared with the bpf_loop callback. */
struct bw_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	__u32 pos;      /* the path so far is scratch.buf[pos .. BW_SCRATCH_AREA) */
	bool complete;  /* reached the root */
	bool cut;       /* a limit was hit */
};

/* One step of the walk: add one component, or cross one mount. Returns 1 to stop. */
static long bw_path_step(__u32 index, void *arg)
{
	struct bw_walk *w = arg;
	__u32 zero = 0;
	struct bw_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 1;

	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

	if (dentry == mnt_root || dentry == parent) {
		if (dentry != mnt_root) {
			/* The root of a file system that is not mounted here
			 * (a detached mount, an internal pseudo file system). */
			w->complete = true;
			return 1;
		}
		struct mount *mnt = w->mnt;
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (mnt_parent == mnt) {
			w->complete = true; /* the root of the mount namespace */
			return 1;
		}
		/* Continue from the mount point, in the parent mount. */
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		w->vfsmnt = &mnt_parent->mnt;
		return 0;
	}

	__u32 len = BPF_CORE_READ(dentry, d_name.len);
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	if (len > BW_NAME_MAX) {
		len = BW_NAME_MAX;
		w->cut = true;
	}
	__u32 pos = w->pos;
	if (len + 1 > pos) {
		w->cut = true; /* the scratch area is full */
		return 1;
	}
	pos -= len;
	barrier_var(len);
	barrier_var(pos);
	bpf_probe_read_kernel(&s->buf[pos & BW_SCRATCH_MASK], len & BW_NAME_MAX, name);
	pos -= 1;
	s->buf[pos & BW_SCRATCH_MASK] = '/';
	w->pos = pos;
	w->dentry = parent;
	return 0;
}

/*
 * Writes the absolute path of `p` (a kernel pointer to a struct path) into
 * `out` (BW_PATH_MAX bytes, zeroed). Returns the bytes written, the NUL not
 * counted. Sets BW_F_TRUNCATED in *flags when the walk hit a limit or the path
 * did not fit: the record then holds the END of the path (the file name
 * survives, the beginning is lost).
 */
static __always_inline __u16 bw_resolve_path(const struct path *p, char *out, __u8 *flags)
{
	__u32 zero = 0;
	struct bw_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;

	struct bw_walk w = {};
	w.dentry = BPF_CORE_READ(p, dentry);
	w.vfsmnt = BPF_CORE_READ(p, mnt);
	w.mnt = container_of(w.vfsmnt, struct mount, mnt);
	w.pos = BW_SCRATCH_AREA;
	bpf_loop(BW_PATH_STEPS, bw_path_step, &w, 0);

	bool cut = w.cut || !w.complete; /* out of steps or out of room */
	__u32 pos = w.pos;
	__u32 total = BW_SCRATCH_AREA - pos;
	if (total == 0) {
		out[0] = '/';
		if (cut)
			*flags |= BW_F_TRUNCATED;
		return 1;
	}
	if (total > BW_PATH_MAX - 1) {
		pos += total - (BW_PATH_MAX - 1); /* keep the end of the path */
		total = BW_PATH_MAX - 1;
		cut = true;
	}
	/* Keep clang from folding the masks the verifier needs to see. */
	barrier_var(total);
	barrier_var(pos);
	bpf_probe_read_kernel(out, total & (BW_PATH_MAX - 1), &s->buf[pos & BW_SCRATCH_MASK]);
	if (cut)
		*flags |= BW_F_TRUNCATED;
	return (__u16)total;
}

#endif /* BARBWIRE_PATH_BPF_H */
