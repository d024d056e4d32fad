// Syscall workloads for the sensor-overhead benchmark (issue 6).
//
//   workload open-heavy    [N=1000000]      N open+close of one file in a temp dir
//   workload connect-heavy [N=200000]       N TCP connects to a refused loopback port
//   workload fork-exec     [N=2000]         N fork + exec of /bin/true, waiting for each
//   workload many-files    [F=20000] [R=15] F files made in a temp dir (not timed),
//                                           then R rounds that open+close each once
//
// Each prints one JSON line on stdout:
//   {"workload":"open-heavy","n":1000000,"ops":1000000,"wall_s":..,"cpu_s":..,"user_s":..,"sys_s":..}
// wall_s and cpu_s cover only the measured part (not set-up or clean-up).
// cpu_s is this process's user+system time plus that of its waited-for
// children (fork-exec), from getrusage over the measured part.
//
// Only temp dirs and the loopback interface are used; everything made is
// removed before exit. Exit status 0 on success, 1 when a step failed (the
// reason on stderr), 2 on a usage error.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

struct span {
    double wall0;
    struct rusage self0, kids0;
};

static void span_start(struct span* s) {
    getrusage(RUSAGE_SELF, &s->self0);
    getrusage(RUSAGE_CHILDREN, &s->kids0);
    s->wall0 = now_s();
}

static void span_report(const struct span* s, const char* name, unsigned long n, unsigned long ops,
                        const char* extra) {
    const double wall = now_s() - s->wall0;
    struct rusage self1, kids1;
    getrusage(RUSAGE_SELF, &self1);
    getrusage(RUSAGE_CHILDREN, &kids1);
    const double user = tv_s(self1.ru_utime) - tv_s(s->self0.ru_utime) + tv_s(kids1.ru_utime) - tv_s(s->kids0.ru_utime);
    const double sys = tv_s(self1.ru_stime) - tv_s(s->self0.ru_stime) + tv_s(kids1.ru_stime) - tv_s(s->kids0.ru_stime);
    printf("{\"workload\":\"%s\",\"n\":%lu,\"ops\":%lu,\"wall_s\":%.6f,\"cpu_s\":%.6f,\"user_s\":%.6f,"
           "\"sys_s\":%.6f%s}\n",
           name, n, ops, wall, user + sys, user, sys, extra ? extra : "");
    fflush(stdout);
}

static int fail(const char* what) {
    fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
    return 1;
}

static int parse_count(const char* s, unsigned long* out) {
    char* end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v == 0) return -1;
    *out = v;
    return 0;
}

static int make_tmpdir(char* buf, size_t len) {
    const char* base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0') base = "/tmp";
    snprintf(buf, len, "%s/barbwire-workload-XXXXXX", base);
    return mkdtemp(buf) ? 0 : -1;
}

// ---------------------------------------------------------------- open-heavy

static int open_heavy(unsigned long n) {
    char dir[4096], file[4200];
    if (make_tmpdir(dir, sizeof dir) != 0) return fail("mkdtemp");
    snprintf(file, sizeof file, "%s/f", dir);
    int rc = 0;
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = fail("create the file");
        goto out;
    }
    close(fd);
    struct span s;
    span_start(&s);
    for (unsigned long i = 0; i < n; ++i) {
        fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rc = fail("open");
            goto out;
        }
        close(fd);
    }
    span_report(&s, "open-heavy", n, n, NULL);
out:
    unlink(file);
    rmdir(dir);
    return rc;
}

// ---------------------------------------------------------------- connect-heavy

static int connect_heavy(unsigned long n) {
    // A port nobody listens on, and nobody can take while we run: bind a
    // socket to an ephemeral loopback port and never listen() on it. A
    // connect to a bound but not listening TCP port is refused (RST).
    int holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (holder < 0) return fail("socket");
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(holder, (struct sockaddr*)&addr, sizeof addr) != 0) return fail("bind a loopback port");
    socklen_t alen = sizeof addr;
    if (getsockname(holder, (struct sockaddr*)&addr, &alen) != 0) return fail("getsockname");

    unsigned long refused = 0, other = 0;
    int first_other = 0;
    struct span s;
    span_start(&s);
    for (unsigned long i = 0; i < n; ++i) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            close(holder);
            return fail("socket");
        }
        if (connect(fd, (struct sockaddr*)&addr, sizeof addr) == 0) {
            ++other; // connected: someone listens after all
            if (!first_other) first_other = -1;
        } else if (errno == ECONNREFUSED) {
            ++refused;
        } else {
            ++other;
            if (!first_other) first_other = errno;
        }
        close(fd);
    }
    char extra[128];
    snprintf(extra, sizeof extra, ",\"port\":%u,\"refused\":%lu,\"other\":%lu", (unsigned)ntohs(addr.sin_port),
             refused, other);
    span_report(&s, "connect-heavy", n, n, extra);
    close(holder);
    if (other != 0) {
        if (first_other == -1)
            fprintf(stderr, "workload: connect-heavy: %lu connects to 127.0.0.1:%u succeeded; expected refusals\n",
                    other, (unsigned)ntohs(addr.sin_port));
        else
            fprintf(stderr, "workload: connect-heavy: %lu connects failed other than ECONNREFUSED (first: %s)\n",
                    other, strerror(first_other));
        return 1;
    }
    return 0;
}

// ---------------------------------------------------------------- fork-exec

static int fork_exec(unsigned long n) {
    const char* prog = "/bin/true";
    char* const argv[] = {(char*)"true", NULL};
    char* const envp[] = {NULL};
    struct span s;
    span_start(&s);
    for (unsigned long i = 0; i < n; ++i) {
        pid_t pid = fork();
        if (pid < 0) return fail("fork");
        if (pid == 0) {
            execve(prog, argv, envp);
            _exit(127);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) return fail("waitpid");
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "workload: fork-exec: %s exited with status 0x%x (127: exec failed)\n", prog, status);
            return 1;
        }
    }
    span_report(&s, "fork-exec", n, n, NULL);
    return 0;
}

// ---------------------------------------------------------------- many-files

static int many_files(unsigned long files, unsigned long rounds) {
    char dir[4096];
    if (make_tmpdir(dir, sizeof dir) != 0) return fail("mkdtemp");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        rmdir(dir);
        return fail("open the temp dir");
    }
    int rc = 0;
    char name[32];
    unsigned long made = 0;
    // Set-up, not timed: create every file.
    for (; made < files; ++made) {
        snprintf(name, sizeof name, "f%06lu", made);
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            rc = fail("create a file");
            goto out;
        }
        close(fd);
    }
    // Timed: rounds x files open+close. The sensor sees a full path for
    // every open (the kernel resolves it from the struct file), like open-heavy.
    char path[4200];
    size_t dlen = (size_t)snprintf(path, sizeof path, "%s/", dir);
    struct span s;
    span_start(&s);
    for (unsigned long r = 0; r < rounds; ++r) {
        for (unsigned long i = 0; i < files; ++i) {
            snprintf(path + dlen, sizeof path - dlen, "f%06lu", i);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                rc = fail("open");
                goto out;
            }
            close(fd);
        }
    }
    char extra[64];
    snprintf(extra, sizeof extra, ",\"files\":%lu,\"rounds\":%lu", files, rounds);
    span_report(&s, "many-files", files, files * rounds, extra);
out:
    for (unsigned long i = 0; i < made; ++i) {
        snprintf(name, sizeof name, "f%06lu", i);
        unlinkat(dfd, name, 0);
    }
    close(dfd);
    rmdir(dir);
    return rc;
}

static int usage(void) {
    fprintf(stderr,
            "usage: workload open-heavy [N=1000000]\n"
            "       workload connect-heavy [N=200000]\n"
            "       workload fork-exec [N=2000]\n"
            "       workload many-files [FILES=20000] [ROUNDS=15]\n");
    return 2;
}

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const char* mode = argv[1];
    unsigned long a = 0, b = 0;
    if (argc >= 3 && parse_count(argv[2], &a) != 0) return usage();
    if (argc >= 4 && parse_count(argv[3], &b) != 0) return usage();
    if (strcmp(mode, "open-heavy") == 0 && argc <= 3) return open_heavy(a ? a : 1000000);
    if (strcmp(mode, "connect-heavy") == 0 && argc <= 3) return connect_heavy(a ? a : 200000);
    if (strcmp(mode, "fork-exec") == 0 && argc <= 3) return fork_exec(a ? a : 2000);
    if (strcmp(mode, "many-files") == 0 && argc <= 4) return many_files(a ? a : 20000, b ? b : 15);
    return usage();
}
