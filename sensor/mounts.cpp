#include "mounts.hpp"

#include "fd_guard.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace barbwire::sensor {

std::vector<mount_entry> parse_mountinfo(std::string_view text) {
    std::vector<mount_entry> out;
    const auto octal = [](char c) { return c >= '0' && c <= '7'; };
    const auto unescape = [&octal](std::string_view v) {
        std::string r;
        r.reserve(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (v[i] == '\\' && i + 3 < v.size() && octal(v[i + 1]) && octal(v[i + 2]) &&
                octal(v[i + 3])) {
                r += static_cast<char>(((v[i + 1] - '0') * 64 + (v[i + 2] - '0') * 8 + (v[i + 3] - '0')) & 0xff);
                i += 3;
            } else {
                r += v[i];
            }
        }
        return r;
    };
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        std::vector<std::string_view> f;
        for (std::string_view rest = line;;) {
            const std::size_t sp = rest.find(' ');
            if (sp != 0 && !rest.empty()) f.push_back(rest.substr(0, sp));
            if (sp == std::string_view::npos) break;
            rest.remove_prefix(sp + 1);
        }
        // id parent major:minor root mount-point options [optional fields...] - fstype source super-options
        if (f.size() < 9) continue;
        std::size_t dash = 6;
        while (dash < f.size() && f[dash] != "-") ++dash;
        if (dash + 1 >= f.size()) continue;
        const std::string_view mm = f[2];
        const std::size_t colon = mm.find(':');
        if (colon == std::string_view::npos) continue;
        unsigned major = 0, minor = 0;
        const auto a = std::from_chars(mm.data(), mm.data() + colon, major);
        const auto b = std::from_chars(mm.data() + colon + 1, mm.data() + mm.size(), minor);
        if (a.ec != std::errc() || a.ptr != mm.data() + colon || b.ec != std::errc() || b.ptr != mm.data() + mm.size())
            continue;
        mount_entry e;
        (void)std::from_chars(f[0].data(), f[0].data() + f[0].size(), e.mount_id);
        e.dev = static_cast<std::uint64_t>(makedev(major, minor));
        e.fstype = std::string(f[dash + 1]);
        e.mount_point = unescape(f[4]);
        e.root = unescape(f[3]);
        out.push_back(std::move(e));
    }
    return out;
}

bool filesystem_may_block(std::string_view fstype) noexcept {
    static constexpr std::array<std::string_view, 20> types{
        // network and cluster filesystems: a call may wait on a server
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "ceph", "afs", "9p", "glusterfs", "lustre", "gpfs",
        "beegfs", "coda", "davfs", "vboxsf", "ocfs2", "gfs2",
        // userspace filesystems: a call may wait on a daemon
        "fuse", "fuseblk"};
    if (fstype.starts_with("fuse.")) return true; // fuse.sshfs, fuse.rclone, fuse.gvfsd-fuse, fuse.portal ...
    return std::find(types.begin(), types.end(), fstype) != types.end();
}

bool path_crosses(const std::vector<std::string>& mount_points, std::string_view path) noexcept {
    for (const std::string& m : mount_points) {
        if (m == "/" || m.empty()) return true;
        if (!path.starts_with(m)) continue;
        if (path.size() == m.size() || path[m.size()] == '/') return true;
    }
    return false;
}

namespace {

// A whole (small) file, at most `max` bytes; false when it cannot be read.
bool read_text(const std::string& path, std::size_t max, std::string& out) {
    out.clear();
    const fd_guard g{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (g.fd < 0) return false;
    char buf[8192];
    while (out.size() < max) {
        const ssize_t n = ::read(g.fd, buf, std::min(sizeof(buf), max - out.size()));
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return true;
}

std::vector<std::string> blocking_points(const std::vector<mount_entry>& m) {
    std::vector<std::string> out;
    for (const mount_entry& e : m)
        if (filesystem_may_block(e.fstype)) out.push_back(e.mount_point);
    return out;
}

} // namespace

mount_table::mount_table(mount_table_options opts) : opts_(std::move(opts)) {
    if (!opts_.clock) {
        opts_.clock = [] { return std::chrono::steady_clock::now().time_since_epoch(); };
    }
    if (opts_.max_devices == 0) opts_.max_devices = 1;
}

std::chrono::nanoseconds mount_table::now() const { return opts_.clock(); }

bool mount_table::read_table(const std::string& path, std::vector<mount_entry>& out) {
    ++stats_.reads;
    std::string text;
    if (!read_text(path, opts_.max_bytes, text)) {
        ++stats_.read_failures;
        out.clear();
        return false;
    }
    out = parse_mountinfo(text);
    return true;
}

void mount_table::add_devices(const std::vector<mount_entry>& m) {
    for (const mount_entry& e : m) {
        if (devs_.size() >= opts_.max_devices && !devs_.contains(e.dev)) continue;
        devs_[e.dev] = e.fstype; // a later table (the newer view) wins
    }
}

void mount_table::reload() {
    devs_.clear();
    missing_.clear();
    std::vector<mount_entry> self, host;
    (void)read_table(opts_.proc_root + "/self/mountinfo", self);
    add_devices(self);
    self_blocking_ = blocking_points(self);
    if (opts_.host) {
        // Unreadable (no /proc/1): the host is taken to be the sensor's own namespace.
        if (!read_table(opts_.proc_root + "/1/mountinfo", host)) host = self;
        add_devices(host);
        host_blocking_ = blocking_points(host);
    } else {
        host_blocking_ = self_blocking_;
    }
    loaded_ = now();
    ever_loaded_ = true;
}

void mount_table::refresh_if_aged() {
    if (!ever_loaded_ || now() - loaded_ >= opts_.max_age) reload();
}

fs_verdict mount_table::classify(std::uint64_t dev, pid_type pid) {
    refresh_if_aged();
    auto it = devs_.find(dev);
    if (it == devs_.end() && pid != 0 && !missing_.contains(dev)) {
        // The process's own namespace holds its executable's mount (a
        // container's overlay, a FUSE mount in a user namespace).
        std::vector<mount_entry> m;
        if (read_table(opts_.proc_root + "/" + std::to_string(pid) + "/mountinfo", m)) add_devices(m);
        it = devs_.find(dev);
        if (it == devs_.end() && missing_.size() < opts_.max_devices) missing_.insert(dev);
    }
    if (it == devs_.end() && now() - loaded_ >= opts_.min_interval) {
        reload(); // mounted since the last read
        it = devs_.find(dev);
    }
    if (it == devs_.end()) {
        ++stats_.unknown;
        return major(dev) == 0 ? fs_verdict::unknown : fs_verdict::local;
    }
    return filesystem_may_block(it->second) ? fs_verdict::may_block : fs_verdict::local;
}

namespace {

// "mnt_id:" and "ino:" of a /proc/self/fdinfo text.
bool parse_fdinfo(std::string_view text, std::uint64_t& mnt_id, std::uint64_t& ino) {
    bool have_mnt = false, have_ino = false;
    while (!text.empty()) {
        const std::size_t nl = std::min(text.find('\n'), text.size());
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(std::min(nl + 1, text.size()));
        const auto value = [&](std::string_view key, std::uint64_t& out) {
            if (!line.starts_with(key)) return false;
            std::string_view v = line.substr(key.size());
            while (!v.empty() && (v.front() == '\t' || v.front() == ' ')) v.remove_prefix(1);
            const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
            return r.ec == std::errc();
        };
        if (value("mnt_id:", mnt_id)) have_mnt = true;
        else if (value("ino:", ino)) have_ino = true;
    }
    return have_mnt && have_ino;
}

} // namespace

fs_verdict mount_table::classify_exe(std::uint64_t dev, std::uint64_t ino, pid_type pid) {
    const fs_verdict v = classify(dev, pid);
    if (v != fs_verdict::unknown || pid == 0) return v;
    // O_PATH through the magic link: no lookup, permission call or open on
    // the target's filesystem (only /proc is walked).
    const fd_guard pfd{::open((opts_.proc_root + "/" + std::to_string(pid) + "/exe").c_str(), O_PATH | O_CLOEXEC)};
    if (pfd.fd < 0) return v;
    // The descriptor is this process's own: the real /proc, whatever proc_root is.
    std::string info;
    std::uint64_t mnt_id = 0, fd_ino = 0;
    if (!read_text("/proc/self/fdinfo/" + std::to_string(pfd.fd), 4096, info) ||
        !parse_fdinfo(info, mnt_id, fd_ino) || fd_ino != ino)
        return v; // exec'd again since, or unreadable
    std::vector<mount_entry> m;
    if (!read_table(opts_.proc_root + "/" + std::to_string(pid) + "/mountinfo", m)) return v;
    for (const mount_entry& e : m) {
        if (e.mount_id != mnt_id) continue;
        if (devs_.size() < opts_.max_devices) devs_[dev] = e.fstype; // until the next reload
        missing_.erase(dev);
        return filesystem_may_block(e.fstype) ? fs_verdict::may_block : fs_verdict::local;
    }
    return v;
}

std::string mount_table::fstype(std::uint64_t dev) const {
    const auto it = devs_.find(dev);
    return it == devs_.end() ? std::string() : it->second;
}

bool mount_table::path_may_block(std::string_view path, bool host) {
    refresh_if_aged();
    return path_crosses(host ? host_blocking_ : self_blocking_, path);
}

bool mount_table::pid_path_may_block(pid_type pid, std::string_view path) {
    std::vector<mount_entry> m;
    if (pid == 0 || !read_table(opts_.proc_root + "/" + std::to_string(pid) + "/mountinfo", m)) return true;
    return path_crosses(blocking_points(m), path);
}

} // namespace barbwire::sensor
