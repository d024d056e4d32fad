/* hang_fs: a FUSE filesystem for the end-to-end tests of issue 15 ("/proc
 * reads never block the event loop"), on libfuse3's low-level API.
 *
 *   hang_fs MOUNTPOINT LOG EXE_SOURCE
 *
 * Mounts (allow_other, type fuse.hang_fs) a read-only directory of three files:
 *
 *   hang   4096 bytes; a read of it is never answered: the request is logged
 *          and left without a reply, so the reader waits for ever (until this
 *          daemon dies, which aborts the connection). Open, stat and mmap of it
 *          are answered: only reading its content hangs.
 *   exe    the content of EXE_SOURCE (e.g. a copy of /bin/true), mode 0755
 *   data   a short text
 *
 * Every request is appended to LOG as one line, "OP ino=N pid=PID", PID being
 * the id of the thread that caused it (fuse_req_ctx()->pid): the tests tell
 * from it whether any thread of the sensor touched the filesystem. FORGET and
 * INTERRUPT are not logged (the kernel sends them for whatever task happens to
 * be running, not for a caller).
 *
 * Attribute and entry timeouts are 0, so that the kernel asks again for every
 * lookup and stat. Prints "mounted" on standard output once the mount is up;
 * SIGTERM, SIGINT or SIGHUP unmount and exit. Single-threaded: an unanswered
 * read holds no thread.
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { INO_ROOT = 1, INO_HANG = 2, INO_EXE = 3, INO_DATA = 4, HANG_SIZE = 4096 };

static int log_fd = -1;
static char *exe_buf;
static size_t exe_len;
static const char data_text[] = "barbwire hang_fs data\n";

static void log_req(fuse_req_t req, const char *op, fuse_ino_t ino, const char *note) {
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char line[160];
	int n = snprintf(line, sizeof line, "%s ino=%lu pid=%d%s%s\n", op, (unsigned long)ino, (int)ctx->pid,
			 note ? " " : "", note ? note : "");
	if (n > 0 && log_fd >= 0) {
		/* One write per line, O_APPEND: whole lines. */
		ssize_t w = write(log_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
		(void)w;
	}
}

static const char *name_of(fuse_ino_t ino) {
	switch (ino) {
	case INO_HANG: return "hang";
	case INO_EXE: return "exe";
	case INO_DATA: return "data";
	default: return NULL;
	}
}

static int attr_of(fuse_ino_t ino, struct stat *st) {
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_uid = 0;
	st->st_gid = 0;
	st->st_nlink = 1;
	st->st_blksize = 4096;
	switch (ino) {
	case INO_ROOT:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	case INO_HANG:
		st->st_mode = S_IFREG | 0644;
		st->st_size = HANG_SIZE;
		break;
	case INO_EXE:
		st->st_mode = S_IFREG | 0755;
		st->st_size = (off_t)exe_len;
		break;
	case INO_DATA:
		st->st_mode = S_IFREG | 0644;
		st->st_size = (off_t)(sizeof data_text - 1);
		break;
	default:
		return ENOENT;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

static void hf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
	log_req(req, "lookup", parent, name);
	fuse_ino_t ino = 0;
	for (fuse_ino_t i = INO_HANG; i <= INO_DATA; i++)
		if (parent == INO_ROOT && strcmp(name, name_of(i)) == 0) ino = i;
	if (ino == 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	struct fuse_entry_param e;
	memset(&e, 0, sizeof e);
	e.ino = ino;
	e.generation = 1;
	e.attr_timeout = 0.0;
	e.entry_timeout = 0.0;
	attr_of(ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void hf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
	(void)fi;
	log_req(req, "getattr", ino, NULL);
	struct stat st;
	const int err = attr_of(ino, &st);
	if (err) fuse_reply_err(req, err);
	else fuse_reply_attr(req, &st, 0.0);
}

static void hf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
	(void)fi;
	log_req(req, "readdir", ino, NULL);
	if (ino != INO_ROOT) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	char buf[1024];
	size_t used = 0;
	const char *names[] = {".", "..", "hang", "exe", "data"};
	const fuse_ino_t inos[] = {INO_ROOT, INO_ROOT, INO_HANG, INO_EXE, INO_DATA};
	for (off_t i = off; i < 5; i++) {
		struct stat st;
		attr_of(inos[i], &st);
		const size_t n = fuse_add_direntry(req, buf + used, sizeof buf - used, names[i], &st, i + 1);
		if (n > sizeof buf - used || used + n > size) break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static void hf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
	log_req(req, "open", ino, NULL);
	if (ino == INO_ROOT) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (name_of(ino) == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fi->keep_cache = 0; /* every open reads through the daemon again */
	fuse_reply_open(req, fi);
}

static void hf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
	(void)fi;
	const char *src = NULL;
	size_t len = 0;
	switch (ino) {
	case INO_HANG:
		/* Never answered: the caller sleeps in the kernel until this daemon dies. */
		log_req(req, "read", ino, "(never answered)");
		return;
	case INO_EXE:
		src = exe_buf;
		len = exe_len;
		break;
	case INO_DATA:
		src = data_text;
		len = sizeof data_text - 1;
		break;
	default:
		log_req(req, "read", ino, NULL);
		fuse_reply_err(req, ENOENT);
		return;
	}
	log_req(req, "read", ino, NULL);
	if (off < 0 || (size_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	const size_t n = len - (size_t)off < size ? len - (size_t)off : size;
	fuse_reply_buf(req, src + off, n);
}

static void hf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
	(void)fi;
	log_req(req, "release", ino, NULL);
	fuse_reply_err(req, 0);
}

static void hf_statfs(fuse_req_t req, fuse_ino_t ino) {
	log_req(req, "statfs", ino, NULL);
	struct statvfs s;
	memset(&s, 0, sizeof s);
	s.f_bsize = 4096;
	s.f_frsize = 4096;
	s.f_namemax = 255;
	fuse_reply_statfs(req, &s);
}

static void hf_access(fuse_req_t req, fuse_ino_t ino, int mask) {
	(void)mask;
	log_req(req, "access", ino, NULL);
	fuse_reply_err(req, 0);
}

static void hf_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
	(void)size;
	log_req(req, "getxattr", ino, name);
	fuse_reply_err(req, ENODATA);
}

static void hf_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
	log_req(req, "listxattr", ino, NULL);
	if (size == 0) fuse_reply_xattr(req, 0);
	else fuse_reply_buf(req, NULL, 0);
}

static void hf_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
	log_req(req, "opendir", ino, NULL);
	if (ino != INO_ROOT) fuse_reply_err(req, ENOTDIR);
	else fuse_reply_open(req, fi);
}

static void hf_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
	(void)fi;
	log_req(req, "releasedir", ino, NULL);
	fuse_reply_err(req, 0);
}

static int load_exe(const char *path) {
	FILE *f = fopen(path, "rb");
	if (!f) return -1;
	size_t cap = 1 << 16;
	exe_buf = malloc(cap);
	for (;;) {
		if (!exe_buf) break;
		const size_t n = fread(exe_buf + exe_len, 1, cap - exe_len, f);
		exe_len += n;
		if (n == 0) break;
		if (exe_len == cap) {
			cap *= 2;
			exe_buf = realloc(exe_buf, cap);
		}
	}
	const int bad = ferror(f) || !exe_buf;
	fclose(f);
	return bad ? -1 : 0;
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: hang_fs MOUNTPOINT LOG EXE_SOURCE\n");
		return 2;
	}
	const char *mnt = argv[1];
	log_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		perror(argv[2]);
		return 1;
	}
	if (load_exe(argv[3]) != 0) {
		perror(argv[3]);
		return 1;
	}
	static const struct fuse_lowlevel_ops ops = {
	    .lookup = hf_lookup,
	    .getattr = hf_getattr,
	    .open = hf_open,
	    .read = hf_read,
	    .release = hf_release,
	    .opendir = hf_opendir,
	    .readdir = hf_readdir,
	    .releasedir = hf_releasedir,
	    .statfs = hf_statfs,
	    .access = hf_access,
	    .getxattr = hf_getxattr,
	    .listxattr = hf_listxattr,
	};
	char *fargv[] = {argv[0], "-o", "allow_other,fsname=hang_fs,subtype=hang_fs,ro", NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
	if (!se) return 1;
	int rc = 1;
	if (fuse_set_signal_handlers(se) == 0) {
		if (fuse_session_mount(se, mnt) == 0) {
			printf("mounted\n");
			fflush(stdout);
			rc = fuse_session_loop(se) == 0 ? 0 : 1;
			fuse_session_unmount(se);
		}
		fuse_remove_signal_handlers(se);
	}
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return rc;
}
