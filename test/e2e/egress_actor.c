// egress_actor: does, step by step, what an exfiltrating program does, by
// the system-call paths the end-to-end tests need and Python cannot reach
// (the ia32 compat entry, io_uring, sendmmsg, ICMP, sendfile, splice), to
// loopback only. Used by test/e2e/egress_test.py.
//
//   egress_actor STEP [then STEP ...]
//
// Steps (the data read by the last read step is what the send steps send;
// before any read, a fixed message):
//   read PATH              open(2) + read(2)
//   read-ia32 PATH         open through int $0x80 (the ia32 compat entry), read(2)
//   read-uring PATH        IORING_OP_OPENAT into the descriptor table, IORING_OP_READ
//   read-uring-fixed PATH  IORING_OP_OPENAT into a fixed-file slot, IORING_OP_READ on it
//   write PATH             write the data into PATH (created or truncated)
//   connect HOST PORT      TCP connect; the socket stays open for the send steps below
//   send                   write(2) the data on the connected TCP socket
//   sendfile PATH          sendfile(2) PATH's bytes on the connected TCP socket
//   splice PATH            splice(2) PATH's bytes through a pipe onto the connected socket
//   uring-send             IORING_OP_SEND of the data on the connected TCP socket
//   udp HOST PORT          sendto(2) the data (unconnected UDP)
//   udp-connected HOST PORT  connect(2) a UDP socket, then write(2) the data
//   sendmmsg HOST PORT     sendmmsg(2) of two datagrams (unconnected UDP)
//   uring-sendmsg HOST PORT  IORING_OP_SENDMSG of the data (unconnected UDP)
//   icmp HOST              an ICMP echo request carrying the data (raw socket)
//   sleep SECONDS          nanosleep
//   ready                  print "ready <pid>" and wait for a line on stdin
//
// Prints one line per step ("ok STEP ..."), and exits 1 with the reason on
// the first step that fails.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char data[65536] = "barbwire egress_actor: nothing read yet\n";
static size_t data_len = 40;
static int tcp = -1;

static void die(const char* step, const char* what) {
    fprintf(stderr, "egress_actor: %s: %s: %s\n", step, what, strerror(errno));
    exit(1);
}

static struct sockaddr_in addr_of(const char* step, const char* host, const char* port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        errno = EINVAL;
        die(step, "not an IPv4 address");
    }
    return a;
}

static void read_fd(const char* step, int fd) {
    ssize_t n = read(fd, data, sizeof(data));
    if (n < 0) die(step, "read");
    data_len = (size_t)n;
    close(fd);
}

// The ia32 entry takes 32-bit pointers: the path goes to a page below 4 GiB.
static int open_ia32(const char* path) {
    char* low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (low == MAP_FAILED) return -1;
    snprintf(low, 4096, "%s", path);
    long ret;
    // __NR_open (5) in the i386 table: open(path, O_RDONLY). From 64-bit code the
    // int $0x80 path returns with r8-r11 zeroed: the compiler must not keep values there.
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(5L), "b"(low), "c"(0L), "d"(0L) : "memory", "r8", "r9", "r10", "r11");
    munmap(low, 4096);
    if (ret < 0) {
        errno = (int)-ret;
        return -1;
    }
    return (int)ret;
}

static struct io_uring ring;
static int ring_ready = 0;

static int uring_run(const char* step, struct io_uring_sqe* sqe) {
    (void)sqe;
    if (io_uring_submit(&ring) < 0) die(step, "io_uring_submit");
    struct io_uring_cqe* cqe;
    if (io_uring_wait_cqe(&ring, &cqe) < 0) die(step, "io_uring_wait_cqe");
    int res = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    if (res < 0) {
        errno = -res;
        die(step, "request failed");
    }
    return res;
}

static struct io_uring_sqe* sqe_of(const char* step) {
    if (!ring_ready) {
        if (io_uring_queue_init(8, &ring, 0) < 0) die(step, "io_uring_queue_init");
        int files[1] = {-1};
        if (io_uring_register_files(&ring, files, 1) < 0) die(step, "io_uring_register_files");
        ring_ready = 1;
    }
    struct io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    if (!sqe) die(step, "io_uring_get_sqe");
    return sqe;
}

static void need_tcp(const char* step) {
    if (tcp < 0) {
        errno = ENOTCONN;
        die(step, "no connect step before");
    }
}

// The number of arguments a step takes, or -1 for an unknown step.
static int args_of(const char* step) {
    static const char* const none[] = {"send", "uring-send", "ready"};
    static const char* const one[] = {"read", "read-ia32", "read-uring", "read-uring-fixed", "write",
                                      "sendfile", "splice", "icmp", "sleep"};
    static const char* const two[] = {"connect", "udp", "udp-connected", "sendmmsg", "uring-sendmsg"};
    for (size_t k = 0; k < sizeof(none) / sizeof(none[0]); ++k)
        if (!strcmp(step, none[k])) return 0;
    for (size_t k = 0; k < sizeof(one) / sizeof(one[0]); ++k)
        if (!strcmp(step, one[k])) return 1;
    for (size_t k = 0; k < sizeof(two) / sizeof(two[0]); ++k)
        if (!strcmp(step, two[k])) return 2;
    return -1;
}

int main(int argc, char** argv) {
    for (int i = 1; i < argc;) {
        const char* step = argv[i];
        if (!strcmp(step, "then")) {
            ++i;
            continue;
        }
        const int n = args_of(step); // arguments the step takes
        if (n < 0) {
            fprintf(stderr, "egress_actor: unknown step '%s' (see the comment at the top of egress_actor.c)\n", step);
            return 2;
        }
        if (i + n >= argc) {
            fprintf(stderr, "egress_actor: %s needs %d argument(s)\n", step, n);
            return 2;
        }
        if (!strcmp(step, "read")) {
            int fd = open(argv[i + 1], O_RDONLY);
            if (fd < 0) die(step, argv[i + 1]);
            read_fd(step, fd);
        } else if (!strcmp(step, "read-ia32")) {
            int fd = open_ia32(argv[i + 1]);
            if (fd < 0) die(step, argv[i + 1]);
            read_fd(step, fd);
        } else if (!strcmp(step, "read-uring") || !strcmp(step, "read-uring-fixed")) {
            const int fixed = !strcmp(step, "read-uring-fixed");
            struct io_uring_sqe* sqe = sqe_of(step);
            if (fixed) io_uring_prep_openat_direct(sqe, AT_FDCWD, argv[i + 1], O_RDONLY, 0, 0);
            else io_uring_prep_openat(sqe, AT_FDCWD, argv[i + 1], O_RDONLY, 0);
            int fd = uring_run(step, sqe);
            sqe = sqe_of(step);
            io_uring_prep_read(sqe, fixed ? 0 : fd, data, sizeof(data), 0);
            if (fixed) sqe->flags |= IOSQE_FIXED_FILE;
            data_len = (size_t)uring_run(step, sqe);
            if (!fixed) close(fd);
        } else if (!strcmp(step, "write")) {
            int fd = open(argv[i + 1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0) die(step, argv[i + 1]);
            if (write(fd, data, data_len) != (ssize_t)data_len) die(step, "write");
            close(fd);
        } else if (!strcmp(step, "connect")) {
            struct sockaddr_in a = addr_of(step, argv[i + 1], argv[i + 2]);
            tcp = socket(AF_INET, SOCK_STREAM, 0);
            if (tcp < 0 || connect(tcp, (struct sockaddr*)&a, sizeof(a)) < 0) die(step, "connect");
        } else if (!strcmp(step, "send")) {
            need_tcp(step);
            if (write(tcp, data, data_len) < 0) die(step, "write");
        } else if (!strcmp(step, "sendfile")) {
            need_tcp(step);
            int fd = open(argv[i + 1], O_RDONLY);
            if (fd < 0) die(step, argv[i + 1]);
            if (sendfile(tcp, fd, NULL, 65536) < 0) die(step, "sendfile");
            close(fd);
        } else if (!strcmp(step, "splice")) {
            need_tcp(step);
            int fd = open(argv[i + 1], O_RDONLY);
            int p[2];
            if (fd < 0 || pipe(p) < 0) die(step, argv[i + 1]);
            ssize_t got = splice(fd, NULL, p[1], NULL, 65536, 0);
            if (got < 0 || splice(p[0], NULL, tcp, NULL, (size_t)got, 0) < 0) die(step, "splice");
            close(fd);
        } else if (!strcmp(step, "uring-send")) {
            need_tcp(step);
            struct io_uring_sqe* sqe = sqe_of(step);
            io_uring_prep_send(sqe, tcp, data, data_len, 0);
            uring_run(step, sqe);
        } else if (!strcmp(step, "udp") || !strcmp(step, "udp-connected") || !strcmp(step, "sendmmsg") ||
                   !strcmp(step, "uring-sendmsg")) {
            struct sockaddr_in a = addr_of(step, argv[i + 1], argv[i + 2]);
            int u = socket(AF_INET, SOCK_DGRAM, 0);
            if (u < 0) die(step, "socket");
            size_t len = data_len > 1400 ? 1400 : data_len;
            if (!strcmp(step, "udp")) {
                if (sendto(u, data, len, 0, (struct sockaddr*)&a, sizeof(a)) < 0) die(step, "sendto");
            } else if (!strcmp(step, "udp-connected")) {
                if (connect(u, (struct sockaddr*)&a, sizeof(a)) < 0 || write(u, data, len) < 0) die(step, "write");
            } else if (!strcmp(step, "sendmmsg")) {
                struct iovec iov[2] = {{data, len / 2}, {data + len / 2, len - len / 2}};
                struct mmsghdr m[2];
                memset(m, 0, sizeof(m));
                for (int k = 0; k < 2; ++k) {
                    m[k].msg_hdr.msg_name = &a;
                    m[k].msg_hdr.msg_namelen = sizeof(a);
                    m[k].msg_hdr.msg_iov = &iov[k];
                    m[k].msg_hdr.msg_iovlen = 1;
                }
                if (sendmmsg(u, m, 2, 0) != 2) die(step, "sendmmsg");
            } else {
                struct iovec iov = {data, len};
                struct msghdr mh = {.msg_name = &a, .msg_namelen = sizeof(a), .msg_iov = &iov, .msg_iovlen = 1};
                struct io_uring_sqe* sqe = sqe_of(step);
                io_uring_prep_sendmsg(sqe, u, &mh, 0);
                uring_run(step, sqe);
            }
            close(u);
        } else if (!strcmp(step, "icmp")) {
            struct sockaddr_in a = addr_of(step, argv[i + 1], "0");
            int r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
            if (r < 0) die(step, "socket(SOCK_RAW, IPPROTO_ICMP)");
            char pkt[1472];
            size_t len = data_len > sizeof(pkt) - sizeof(struct icmphdr) ? sizeof(pkt) - sizeof(struct icmphdr)
                                                                         : data_len;
            struct icmphdr h = {.type = ICMP_ECHO};
            memcpy(pkt, &h, sizeof(h));
            memcpy(pkt + sizeof(h), data, len);
            if (sendto(r, pkt, sizeof(h) + len, 0, (struct sockaddr*)&a, sizeof(a)) < 0) die(step, "sendto");
            close(r);
        } else if (!strcmp(step, "sleep")) {
            double s = atof(argv[i + 1]);
            struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
            nanosleep(&ts, NULL);
        } else if (!strcmp(step, "ready")) {
            printf("ready %d\n", (int)getpid());
            fflush(stdout);
            char line[64];
            if (!fgets(line, sizeof(line), stdin)) die(step, "stdin closed");
        }
        printf("ok %s\n", step);
        fflush(stdout);
        i += 1 + n;
    }
    return 0;
}
