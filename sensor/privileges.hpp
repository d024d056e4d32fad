#pragma once
// Least privilege for the steady state (issue 15; docs/deployment.md,
// "What the running sensor keeps"). Once the BPF programs are loaded and
// attached, the sensor no longer needs most of what started it:
//
//   1. capabilities (libcap): every thread keeps only
//        CAP_BPF             map updates on SIGHUP, counters (the bpf()
//                            system call wants it while
//                            kernel.unprivileged_bpf_disabled is set)
//        CAP_SYS_PTRACE      /proc/PID/exe, root, environ of other users'
//                            processes (identities, containers, seeding)
//        CAP_DAC_READ_SEARCH executables, credential files and homes of
//                            other users; open_by_handle_at (cgroup ids)
//      of those it has; the bounding, inheritable and ambient sets are
//      emptied of the rest, so nothing it could exec gets more back;
//   2. no_new_privs;
//   3. a seccomp allowlist (libseccomp) of the system calls the steady
//      state makes, on every thread (TSYNC). Anything else fails with
//      EPERM: execve, ptrace, mount, module loading, kexec, setns,
//      unshare, perf_event_open, io_uring, keyctl, chroot, set*id, ...
//
// libpsx (linked with -Wl,-wrap,pthread_create) lets libcap change the
// capabilities of every thread, including the outputs' and the metrics
// server's, which start before the programs are attached.

#include <string>
#include <vector>

#include "preflight.hpp" // check_result

namespace barbwire::sensor {

struct privilege_report {
    std::vector<std::string> kept; // capability names kept, e.g. "cap_bpf"
    bool seccomp = false;
    std::size_t allowed_syscalls = 0;
    // ", privileges: cap_bpf,cap_sys_ptrace,cap_dac_read_search; seccomp (N system calls)"
    [[nodiscard]] std::string describe() const;
};

// The system calls of the steady state's allowlist (names; those this
// architecture lacks are skipped).
[[nodiscard]] const std::vector<const char*>& steady_state_syscalls();

// Drops what the steady state does not need, as above. `seccomp` false:
// capabilities and no_new_privs only. The error is one line.
[[nodiscard]] check_result<privilege_report> drop_privileges(bool seccomp);

} // namespace barbwire::sensor
