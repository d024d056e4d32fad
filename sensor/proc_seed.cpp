#include "proc_seed.hpp"

#include "deadline_worker.hpp"
#include "fd_guard.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <memory>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <barbwire/abi/events.h>

namespace barbwire::sensor {

namespace {

// Parses an unsigned decimal field that must fill `s` completely.
template <class T> std::optional<T> to_uint(std::string_view s) {
    T v{};
    if (s.empty()) return std::nullopt;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

// The next space-separated field of `s` (advancing it), or an empty view.
std::string_view next_field(std::string_view& s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    const std::size_t end = std::min(s.find(' '), s.size());
    const std::string_view f = s.substr(0, end);
    s.remove_prefix(end);
    return f;
}


std::optional<std::string> read_link(const std::string& path) {
    std::string buf(PATH_MAX, '\0');
    const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
}

// What scan_proc reads of a process that may block: the executable (its
// link, and a stat through it) and the command line (the process's memory).
struct user_reads {
    std::optional<std::string> exe;
    bool have_stat = false;
    std::uint64_t dev = 0, ino = 0;
    std::uint32_t uid = 0, mode = 0;
    std::optional<std::string> cmdline;
};

// Owns its arguments: it may run on a worker that outlives the call.
user_reads read_user_parts(const std::string& base) {
    user_reads r;
    // Kernel threads have no executable and no command line.
    r.exe = read_link(base + "/exe");
    if (r.exe) {
        // AT_STATX_DONT_SYNC: what the kernel has cached of the inode (its
        // device and number never change), without asking a FUSE daemon or
        // an NFS server again where the filesystem allows it.
        struct statx sx {};
        if (::statx(AT_FDCWD, (base + "/exe").c_str(), AT_STATX_DONT_SYNC,
                    STATX_TYPE | STATX_MODE | STATX_UID | STATX_INO, &sx) == 0) {
            r.have_stat = true;
            r.dev = static_cast<std::uint64_t>(makedev(sx.stx_dev_major, sx.stx_dev_minor));
            r.ino = sx.stx_ino;
            r.uid = sx.stx_uid;
            r.mode = static_cast<std::uint32_t>(sx.stx_mode) & 07777u;
        }
    }
    r.cmdline = read_proc_file(base + "/cmdline", BW_ARGV_MAX + 1);
    return r;
}

} // namespace

// Reads at most `max` bytes of a (proc) file; nullopt when it cannot be opened
// or read (the process is gone, or we may not look).
std::optional<std::string> read_proc_file(const std::string& path, std::size_t max) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    fd_guard guard{fd};
    std::string out;
    char buf[4096];
    while (out.size() < max) {
        const ssize_t n = ::read(fd, buf, std::min(sizeof(buf), max - out.size()));
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}


std::optional<proc_stat> parse_proc_stat(std::string_view line) {
    // "1234 (some comm) S 1 1234 1234 0 -1 ...": comm is whatever lies
    // between the first '(' and the last ')'.
    const std::size_t open = line.find('(');
    const std::size_t close = line.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open || open == 0) {
        return std::nullopt;
    }
    proc_stat st;
    std::string_view head = line.substr(0, open);
    while (!head.empty() && head.back() == ' ') head.remove_suffix(1);
    const auto pid = to_uint<pid_type>(head);
    if (!pid) return std::nullopt;
    st.pid = *pid;
    st.comm = std::string(line.substr(open + 1, close - open - 1));

    std::string_view rest = line.substr(close + 1);
    const std::string_view state = next_field(rest);
    if (state.size() != 1) return std::nullopt;
    st.state = state.front();
    const auto ppid = to_uint<pid_type>(next_field(rest));
    const auto pgid = to_uint<std::uint32_t>(next_field(rest));
    const auto sid = to_uint<std::uint32_t>(next_field(rest));
    if (!ppid || !pgid || !sid) return std::nullopt;
    st.ppid = *ppid;
    st.pgid = *pgid;
    st.sid = *sid;
    return st;
}

std::optional<std::uint32_t> parse_status_uid(std::string_view status) {
    std::size_t at = 0;
    while (at < status.size()) {
        const std::size_t eol = std::min(status.find('\n', at), status.size());
        std::string_view line = status.substr(at, eol - at);
        at = eol + 1;
        if (!line.starts_with("Uid:")) continue;
        line.remove_prefix(4);
        while (!line.empty() && (line.front() == '\t' || line.front() == ' ')) line.remove_prefix(1);
        const std::size_t end = std::min(line.find_first_of("\t "), line.size());
        return to_uint<std::uint32_t>(line.substr(0, end));
    }
    return std::nullopt;
}

std::vector<std::string> split_cmdline(std::string_view cmdline, bool& truncated) {
    truncated = false;
    if (cmdline.size() > BW_ARGV_MAX) {
        // The kernel side keeps BW_ARGV_MAX bytes; a cut exactly after a NUL
        // loses nothing of the kept arguments, but later ones are gone.
        cmdline = cmdline.substr(0, BW_ARGV_MAX);
        truncated = true;
    }
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < cmdline.size()) {
        const std::size_t end = std::min(cmdline.find('\0', start), cmdline.size());
        out.emplace_back(cmdline.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

event seed_event(const process_info& p, nanoseconds ts, bool truncated) {
    exec_event x;
    x.ppid = p.ppid;
    x.uid = p.uid;
    x.sid = p.sid;
    x.pgid = p.pgid;
    x.exe_dev = p.exe_dev;
    x.exe_ino = p.exe_ino;
    x.comm = p.comm;
    x.exe = p.exe;
    x.argv = p.argv.to_vector();
    x.exe_sha256 = p.exe_sha256;
    x.exe_uid = p.exe_uid;
    x.exe_mode = p.exe_mode;
    x.exe_host_file = p.exe_host_file;
    x.exe_package = p.exe_package;
    x.container = p.container;
    event e;
    e.ts = ts;
    e.pid = p.pid;
    e.tid = p.pid;
    e.truncated = truncated;
    e.body = std::move(x);
    return e;
}

proc_scan scan_proc(nanoseconds now, const std::string& proc_root, deadline_worker* worker) {
    proc_scan scan;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(proc_root.c_str()), &::closedir);
    if (!dir) return scan;
    while (const dirent* d = ::readdir(dir.get())) {
        const std::string_view name(d->d_name);
        const auto pid = to_uint<pid_type>(name);
        if (!pid || *pid == 0) continue;
        const std::string base = proc_root + "/" + std::string(name);

        const auto stat_text = read_proc_file(base + "/stat", 4096);
        if (!stat_text) {
            ++scan.skipped; // exited since readdir
            continue;
        }
        std::string_view line(*stat_text);
        if (const auto nl = line.find('\n'); nl != std::string_view::npos) line = line.substr(0, nl);
        auto st = parse_proc_stat(line);
        if (!st || st->pid != *pid) {
            ++scan.skipped;
            continue;
        }

        seeded_process sp;
        process_info& p = sp.info;
        p.pid = st->pid;
        p.ppid = st->ppid;
        p.pgid = st->pgid;
        p.sid = st->sid;
        p.comm = std::move(st->comm);
        if (p.comm.size() >= BW_COMM_LEN) p.comm.resize(BW_COMM_LEN - 1);
        if (const auto status = read_proc_file(base + "/status", 16384)) {
            if (const auto uid = parse_status_uid(*status)) p.uid = *uid;
        }
        std::optional<user_reads> got;
        if (worker == nullptr) {
            got = read_user_parts(base);
        } else {
            auto r = worker->run([base] { return read_user_parts(base); });
            if (r.outcome == call_outcome::done) got = std::move(r.value);
            else (r.outcome == call_outcome::timed_out ? scan.timed_out : scan.refused).push_back(p.pid);
        }
        if (!got) {
            // Seeded from stat and status only: lineage, session and comm;
            // no executable, no argv (the process's next exec brings both).
            sp.partial = true;
            got.emplace();
        }
        if (auto& exe = got->exe) {
            if (exe->size() >= BW_PATH_MAX) {
                exe->resize(BW_PATH_MAX - 1);
                sp.truncated = true;
            }
            p.exe = std::move(*exe);
            if (got->have_stat) {
                p.exe_dev = got->dev;
                p.exe_ino = got->ino;
                p.exe_uid = got->uid;
                p.exe_mode = got->mode;
            }
        }
        if (const auto& cmdline = got->cmdline) {
            bool cut = false;
            p.argv = split_cmdline(*cmdline, cut);
            sp.truncated = sp.truncated || cut;
        }
        p.first_seen = p.last_seen = now;
        p.origin = process_origin::seed;
        scan.processes.push_back(std::move(sp));
    }
    std::sort(scan.processes.begin(), scan.processes.end(),
              [](const seeded_process& a, const seeded_process& b) { return a.info.pid < b.info.pid; });
    return scan;
}

} // namespace barbwire::sensor
