/* argv_trap: a process whose command line cannot be read (issue 15's e2e
 * test, reliability_test.py case fuse_argv_does_not_hang_seeding).
 *
 *   argv_trap FILE
 *
 * FILE is a file on a FUSE filesystem whose daemon never answers a read of
 * it (test/e2e/hang_fs.c's "hang"). The trap maps FILE over the page that
 * holds its own argv strings, without touching that page. /proc/PID/cmdline
 * reads argv from the process's memory (access_remote_vm): the read faults
 * the page in through FUSE and waits for the daemon, for ever. Everything
 * here is what any unprivileged user may do to their own process.
 *
 * So that the page holding argv[0] is well above the stack the program runs
 * on, it first re-executes itself with many empty arguments: their pointers
 * (8 bytes each) lie between the stack pointer and the argv strings. It
 * reads its arg_start (field 48 of /proc/self/stat), checks the distance,
 * maps FILE there (MAP_FIXED, read-only, shared), prints
 * "ready PID ARG_START_HEX" and sleeps until killed. After the mapping it
 * must not look at argv, envp or the auxiliary vector again (they may sit
 * on that page); it does not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { PADDING_ARGS = 4096 };

static int arg_start(uintptr_t *out) {
	char buf[4096];
	const int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	const ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0) return -1;
	buf[n] = '\0';
	/* Fields after the command name (which may hold spaces and ')'): the
	 * first after the last ')' is field 3 (state); arg_start is field 48. */
	char *p = strrchr(buf, ')');
	if (!p) return -1;
	p++;
	for (int field = 3; field <= 48; field++) {
		while (*p == ' ') p++;
		if (*p == '\0') return -1;
		if (field == 48) {
			*out = (uintptr_t)strtoull(p, NULL, 10);
			return 0;
		}
		while (*p && *p != ' ') p++;
	}
	return -1;
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: argv_trap FILE\n");
		return 2;
	}
	if (argc == 2) {
		/* Again, with the padding: argv_trap FILE "" "" ... */
		char **nargv = calloc(PADDING_ARGS + 3, sizeof *nargv);
		if (!nargv) return 1;
		nargv[0] = argv[0];
		nargv[1] = argv[1];
		for (int i = 0; i < PADDING_ARGS; i++) nargv[2 + i] = "";
		execv("/proc/self/exe", nargv);
		perror("execv /proc/self/exe");
		return 1;
	}
	const char *file = argv[1];
	const long page = sysconf(_SC_PAGESIZE);
	uintptr_t start = 0;
	if (arg_start(&start) != 0 || start == 0) {
		fprintf(stderr, "argv_trap: cannot read arg_start from /proc/self/stat\n");
		return 1;
	}
	const uintptr_t target = start & ~(uintptr_t)(page - 1);
	int here = 0;
	const uintptr_t sp = (uintptr_t)&here;
	if (target < sp || target - sp < 4 * (uintptr_t)page) {
		fprintf(stderr, "argv_trap: the argv page %#lx is too close to the stack (%#lx)\n", (unsigned long)target,
			(unsigned long)sp);
		return 1;
	}
	const int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(file);
		return 1;
	}
	/* Not touched: mmap populates nothing; the first access is the reader's. */
	void *m = mmap((void *)target, (size_t)page, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	if (m == MAP_FAILED || (uintptr_t)m != target) {
		perror("mmap");
		return 1;
	}
	close(fd);
	printf("ready %d %#lx\n", (int)getpid(), (unsigned long)start);
	fflush(stdout);
	for (;;) pause();
}
