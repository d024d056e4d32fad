#include "privileges.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <type_traits>

#include <seccomp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/psx_syscall.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace barbwire::sensor {

namespace {

constexpr cap_value_t k_keep[] = {CAP_BPF, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH};

struct cap_free_t {
    void operator()(cap_t c) const noexcept { cap_free(c); }
};
using cap_ptr = std::unique_ptr<std::remove_pointer_t<cap_t>, cap_free_t>;

struct seccomp_release_t {
    void operator()(scmp_filter_ctx c) const noexcept { seccomp_release(c); }
};
using seccomp_ptr = std::unique_ptr<void, seccomp_release_t>;

std::string why(int err) { return std::strerror(err); }

} // namespace

const std::vector<const char*>& steady_state_syscalls() {
    static const std::vector<const char*> names = {
        // files
        "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
        "open", "openat", "openat2", "close", "close_range", "stat", "fstat", "lstat", "newfstatat", "statx",
        "statfs", "fstatfs", "lseek", "getdents", "getdents64", "readlink", "readlinkat", "access", "faccessat",
        "faccessat2", "fcntl", "dup", "dup2", "dup3", "ioctl", "fsync", "fdatasync", "ftruncate", "rename",
        "renameat", "renameat2", "unlink", "unlinkat", "fchmod", "umask", "getcwd", "open_by_handle_at",
        "name_to_handle_at", "memfd_create", "fadvise64",
        // memory
        "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "msync", "membarrier",
        // signals, threads, time
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "rt_sigpending", "sigaltstack",
        "restart_syscall", "tgkill", "tkill", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
        "getegid", "getresuid", "getresgid", "getgroups", "getpgrp", "getpgid", "getsid", "futex", "futex_waitv",
        "set_robust_list", "get_robust_list", "rseq", "set_tid_address", "clone", "clone3", "exit", "exit_group",
        "sched_yield", "sched_getaffinity", "getcpu", "nanosleep", "clock_nanosleep", "clock_gettime",
        "clock_getres", "gettimeofday", "time", "getrusage", "times", "sysinfo", "uname", "prlimit64",
        "getrlimit", "getrandom", "prctl", "arch_prctl", "capget",
        // waiting
        "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
        "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "pipe", "pipe2", "timerfd_create",
        "timerfd_settime", "timerfd_gettime",
        // network (outputs, metrics, owner-use name resolution)
        "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto", "sendmsg", "sendmmsg",
        "recvfrom", "recvmsg", "recvmmsg", "getsockopt", "setsockopt", "getsockname", "getpeername", "shutdown",
        // the BPF maps and ring buffer
        "bpf",
    };
    return names;
}

std::string privilege_report::describe() const {
    std::string s = ", privileges: ";
    for (std::size_t i = 0; i < kept.size(); ++i) s += (i ? "," : "") + kept[i];
    if (kept.empty()) s += "no capabilities";
    s += seccomp ? "; seccomp (" + std::to_string(allowed_syscalls) + " system calls)" : "; no seccomp";
    return s;
}

check_result<privilege_report> drop_privileges(bool seccomp) {
    privilege_report rep;
    // Every capability change below goes to every thread of the process
    // (libpsx broadcasts the system call), not only to this one.
    cap_set_syscall(psx_syscall3, psx_syscall6);
    // 1. Capabilities: what is kept must be had; the rest goes from every set.
    cap_ptr now{cap_get_proc()};
    if (!now) return tl::unexpected("dropping privileges: cap_get_proc failed: " + why(errno));
    std::vector<cap_value_t> keep;
    for (cap_value_t c : k_keep) {
        cap_flag_value_t have = CAP_CLEAR;
        if (cap_get_flag(now.get(), c, CAP_PERMITTED, &have) == 0 && have == CAP_SET) keep.push_back(c);
    }
    // The bounding set first, while CAP_SETPCAP (if we have it) is still there.
    cap_flag_value_t setpcap = CAP_CLEAR;
    (void)cap_get_flag(now.get(), CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
    if (setpcap == CAP_SET) {
        cap_iab_t iab = cap_iab_get_proc();
        if (iab == nullptr) return tl::unexpected("dropping privileges: cap_iab_get_proc failed: " + why(errno));
        for (cap_value_t c = 0; c <= CAP_LAST_CAP; ++c) {
            const bool kept = std::find(keep.begin(), keep.end(), c) != keep.end();
            (void)cap_iab_set_vector(iab, CAP_IAB_INH, c, CAP_CLEAR);
            (void)cap_iab_set_vector(iab, CAP_IAB_AMB, c, CAP_CLEAR);
            if (!kept) (void)cap_iab_set_vector(iab, CAP_IAB_BOUND, c, CAP_SET); // BOUND set: dropped from the bound
        }
        const int rc = cap_iab_set_proc(iab);
        const int e = errno;
        cap_free(iab);
        if (rc != 0) return tl::unexpected("dropping privileges: emptying the bounding set failed: " + why(e));
    } else if (cap_reset_ambient() != 0 && errno != EINVAL) {
        // Without CAP_SETPCAP the bounding set stays as given (a systemd
        // unit's CapabilityBoundingSet); the ambient set is emptied anyway.
        return tl::unexpected("dropping privileges: clearing the ambient set failed: " + why(errno));
    }
    cap_ptr want{cap_init()};
    if (!want) return tl::unexpected("dropping privileges: cap_init failed: " + why(errno));
    if (!keep.empty() &&
        (cap_set_flag(want.get(), CAP_PERMITTED, static_cast<int>(keep.size()), keep.data(), CAP_SET) != 0 ||
         cap_set_flag(want.get(), CAP_EFFECTIVE, static_cast<int>(keep.size()), keep.data(), CAP_SET) != 0))
        return tl::unexpected("dropping privileges: cap_set_flag failed: " + why(errno));
    // With libpsx linked, every thread of the process changes, not only this one.
    if (cap_set_proc(want.get()) != 0)
        return tl::unexpected("dropping privileges: cap_set_proc failed: " + why(errno));
    for (cap_value_t c : keep) {
        char* name = cap_to_name(c);
        rep.kept.emplace_back(name != nullptr ? name : std::to_string(c));
        cap_free(name);
    }
    // 2. no_new_privs, on every thread.
    if (psx_syscall6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0) != 0) // prctl wants arguments 3-5 zero
        return tl::unexpected("dropping privileges: PR_SET_NO_NEW_PRIVS failed: " + why(errno));
    if (!seccomp) return rep;
    // 3. The allowlist, synchronised to every thread.
    seccomp_ptr ctx{seccomp_init(SCMP_ACT_ERRNO(EPERM))};
    if (!ctx) return tl::unexpected(std::string("dropping privileges: seccomp_init failed"));
    for (const char* name : steady_state_syscalls()) {
        const int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) continue; // not on this architecture
        if (const int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0); rc != 0)
            return tl::unexpected(std::string("dropping privileges: seccomp_rule_add(") + name + ") failed: " + why(-rc));
        ++rep.allowed_syscalls;
    }
    if (const int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1); rc != 0)
        return tl::unexpected("dropping privileges: seccomp thread sync unavailable: " + why(-rc));
    if (const int rc = seccomp_load(ctx.get()); rc != 0)
        return tl::unexpected("dropping privileges: seccomp_load failed: " + why(-rc));
    rep.seccomp = true;
    return rep;
}

} // namespace barbwire::sensor
