// Syscall workloads for the sensor-overhead benchmark (issues 6 and 12).
//
//   workload open-heavy    [N=1000000]      N open+close of one file in a temp dir
//   workload connect-heavy [N=200000]       N TCP connects to a refused loopback port
//   workload fork-exec     [N=2000]         N fork + exec of /bin/true, waiting for each
//   workload many-files    [F=20000] [R=15] F files made in a temp dir (not timed),
//                                           then R rounds that open+close each once
//   workload send-heavy    [T=200000] [U=100000]
//                                           T writes of 64 bytes on an established
//                                           loopback TCP connection (TCP_NODELAY), then
//                                           U sendto()s of 64 bytes on an unconnected
//                                           UDP socket to a loopback receiver; a reader
//                                           thread drains each (its CPU time counts)
//
// (The macro workload, a clean parallel build of the project, is
// bench/build_workload.py: it prints the same JSON line.)
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
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/eventfd.h>
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

// ---------------------------------------------------------------- send-heavy

enum { SEND_BYTES = 64, DRAIN_BUF = 1 << 16 };


struct tcp_drain {
    int fd;
    unsigned long long bytes;
    int err; // errno of a failed read, 0 when it ended at EOF
};

// Reads the accepted end until EOF (the writer's shutdown).
static void* tcp_drain_main(void* arg) {
    struct tcp_drain* d = arg;
    static char buf[DRAIN_BUF];
    for (;;) {
        ssize_t r = read(d->fd, buf, sizeof buf);
        if (r > 0) {
            d->bytes += (unsigned long long)r;
        } else if (r == 0) {
            return NULL;
        } else if (errno != EINTR) {
            d->err = errno;
            return NULL;
        }
    }
}

struct udp_drain {
    int fd;
    int stop_fd; // eventfd: the sender is done; drain what is queued and return
    unsigned long datagrams;
    int err;
};

// Receives datagrams until told to stop, then empties the queue; up to
// UDP_BATCH a call (recvmmsg), as a busy receiver would.
enum { UDP_BATCH = 256 };

static void* udp_drain_main(void* arg) {
    struct udp_drain* d = arg;
    static char bufs[UDP_BATCH][SEND_BYTES * 2];
    static struct iovec iov[UDP_BATCH];
    static struct mmsghdr msgs[UDP_BATCH];
    for (int i = 0; i < UDP_BATCH; ++i) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int stopping = 0;
    for (;;) {
        int r = recvmmsg(d->fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (r > 0) {
            d->datagrams += (unsigned long)r;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            d->err = errno;
            return NULL;
        }
        if (stopping) return NULL; // queue empty after the stop: done
        struct pollfd p[2] = {{.fd = d->fd, .events = POLLIN}, {.fd = d->stop_fd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR) {
            d->err = errno;
            return NULL;
        }
        if (p[1].revents & POLLIN) stopping = 1;
    }
}

static int loopback_socket(int type, struct sockaddr_in* addr) {
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof *addr;
    if (bind(fd, (struct sockaddr*)addr, sizeof *addr) != 0 || getsockname(fd, (struct sockaddr*)addr, &alen) != 0) {
        const int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int send_heavy(unsigned long tcp_writes, unsigned long udp_sends) {
    // Set-up, not timed: an established TCP connection over loopback and a
    // bound UDP receiver, each with a reader thread draining it.
    struct sockaddr_in laddr, uaddr;
    int lfd = -1, cfd = -1, afd = -1, ufd = -1, sfd = -1, stop_fd = -1, rc = 1;
    int tcp_started = 0, udp_started = 0;
    pthread_t tcp_thread, udp_thread;
    struct tcp_drain td = {0};
    struct udp_drain ud = {0};
    static char payload[SEND_BYTES];
    memset(payload, 'x', sizeof payload);

    lfd = loopback_socket(SOCK_STREAM, &laddr);
    if (lfd < 0 || listen(lfd, 1) != 0) {
        fail("a loopback TCP listener");
        goto out;
    }
    cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cfd < 0 || connect(cfd, (struct sockaddr*)&laddr, sizeof laddr) != 0) {
        fail("connect to the loopback listener");
        goto out;
    }
    afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (afd < 0) {
        fail("accept");
        goto out;
    }
    // Every write is its own segment (no Nagle coalescing): the worst case for
    // per-packet hooks, and the same packet count in every run.
    const int one = 1;
    if (setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        fail("TCP_NODELAY");
        goto out;
    }
    ufd = loopback_socket(SOCK_DGRAM, &uaddr);
    if (ufd < 0) {
        fail("a loopback UDP receiver");
        goto out;
    }
    // A deep receive queue, so a reader that falls behind loses few datagrams
    // (root may exceed net.core.rmem_max; otherwise the ordinary option).
    const int rcvbuf = 16 << 20;
    if (setsockopt(ufd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
        (void)setsockopt(ufd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); // never connected: every send names its destination
    stop_fd = eventfd(0, EFD_CLOEXEC);
    if (sfd < 0 || stop_fd < 0) {
        fail("a UDP sender");
        goto out;
    }
    td.fd = afd;
    ud.fd = ufd;
    ud.stop_fd = stop_fd;
    if ((errno = pthread_create(&tcp_thread, NULL, tcp_drain_main, &td)) != 0) {
        fail("start the TCP reader");
        goto out;
    }
    tcp_started = 1;
    if ((errno = pthread_create(&udp_thread, NULL, udp_drain_main, &ud)) != 0) {
        fail("start the UDP reader");
        goto out;
    }
    udp_started = 1;

    struct span s;
    span_start(&s);
    // Timed: the TCP writes, until the reader has seen every byte (EOF).
    const double t0 = now_s();
    for (unsigned long i = 0; i < tcp_writes; ++i) {
        ssize_t w = write(cfd, payload, sizeof payload);
        if (w != (ssize_t)sizeof payload) {
            if (w < 0 && errno == EINTR) {
                --i;
                continue;
            }
            fail(w < 0 ? "TCP write" : "TCP write (short)");
            goto out;
        }
    }
    shutdown(cfd, SHUT_WR);
    pthread_join(tcp_thread, NULL);
    tcp_started = 0;
    const double t1 = now_s();
    // Timed: the UDP sends, until the reader has emptied its queue.
    unsigned long udp_errors = 0;
    for (unsigned long i = 0; i < udp_sends; ++i) {
        if (sendto(sfd, payload, sizeof payload, 0, (struct sockaddr*)&uaddr, sizeof uaddr) != (ssize_t)sizeof payload)
            ++udp_errors; // ENOBUFS/EAGAIN under pressure: counted, not retried
    }
    const uint64_t one64 = 1;
    if (write(stop_fd, &one64, sizeof one64) != (ssize_t)sizeof one64) {
        fail("stop the UDP reader");
        goto out;
    }
    pthread_join(udp_thread, NULL);
    udp_started = 0;
    const double t2 = now_s();

    const unsigned long long want = (unsigned long long)tcp_writes * SEND_BYTES;
    char extra[256];
    snprintf(extra, sizeof extra,
             ",\"tcp_writes\":%lu,\"tcp_bytes_read\":%llu,\"tcp_wall_s\":%.6f,\"udp_sends\":%lu,\"udp_received\":%lu,"
             "\"udp_send_errors\":%lu,\"udp_wall_s\":%.6f,\"bytes_per_send\":%d",
             tcp_writes, td.bytes, t1 - t0, udp_sends, ud.datagrams, udp_errors, t2 - t1, SEND_BYTES);
    span_report(&s, "send-heavy", tcp_writes + udp_sends, tcp_writes + udp_sends, extra);
    if (td.err != 0 || ud.err != 0) {
        errno = td.err ? td.err : ud.err;
        fail(td.err ? "TCP reader" : "UDP reader");
    } else if (td.bytes != want) {
        fprintf(stderr, "workload: send-heavy: the TCP reader got %llu bytes of %llu\n", td.bytes, want);
    } else if (udp_errors == udp_sends) {
        fprintf(stderr, "workload: send-heavy: every UDP send failed\n");
    } else {
        rc = 0;
    }
out:
    if (tcp_started) {
        shutdown(cfd, SHUT_WR);
        pthread_join(tcp_thread, NULL);
    }
    if (udp_started) {
        const uint64_t v = 1;
        if (write(stop_fd, &v, sizeof v) == (ssize_t)sizeof v) pthread_join(udp_thread, NULL);
    }
    int fds[] = {lfd, cfd, afd, ufd, sfd, stop_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; ++i)
        if (fds[i] >= 0) close(fds[i]);
    return rc;
}

static int usage(void) {
    fprintf(stderr,
            "usage: workload open-heavy [N=1000000]\n"
            "       workload connect-heavy [N=200000]\n"
            "       workload fork-exec [N=2000]\n"
            "       workload many-files [FILES=20000] [ROUNDS=15]\n"
            "       workload send-heavy [TCP_WRITES=200000] [UDP_SENDS=100000]\n");
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
    if (strcmp(mode, "send-heavy") == 0 && argc <= 4) return send_heavy(a ? a : 200000, b ? b : 100000);
    return usage();
}
