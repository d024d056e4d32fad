#include "package_check.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

namespace barbwire::sensor {

namespace {

std::uint64_t path_hash(std::string_view s) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull; // FNV-1a
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ull;
    }
    return h;
}

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

struct fd_guard {
    int fd;
    explicit fd_guard(int f) noexcept : fd(f) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

bool read_all(const std::string& path, std::string& out) {
    const fd_guard g{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)};
    if (g.fd < 0) return false;
    struct stat sb {};
    if (::fstat(g.fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > (64 << 20)) return false;
    out.resize(static_cast<std::size_t>(sb.st_size));
    std::size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::read(g.fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return true;
}

struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

std::optional<std::array<unsigned char, 16>> md5_fd(int fd) {
    std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) return std::nullopt;
    std::vector<unsigned char> buf(1 << 16);
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) break;
        if (EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n)) != 1) return std::nullopt;
    }
    std::array<unsigned char, 16> out{};
    unsigned int len = 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1 || len != 16) return std::nullopt;
    std::memcpy(out.data(), md, 16);
    return out;
}

file_key key_of(const struct stat& sb) {
    file_key k;
    k.dev = static_cast<std::uint64_t>(sb.st_dev);
    k.ino = static_cast<std::uint64_t>(sb.st_ino);
    k.size = static_cast<std::uint64_t>(sb.st_size);
    k.mtime_ns = static_cast<std::int64_t>(sb.st_mtim.tv_sec) * 1'000'000'000 + sb.st_mtim.tv_nsec;
    return k;
}

} // namespace

std::size_t package_index::key_hash::operator()(const file_key& k) const noexcept {
    return static_cast<std::size_t>(k.dev * 0x9e3779b97f4a7c15ull ^ k.ino ^ (k.size << 17) ^
                                    static_cast<std::uint64_t>(k.mtime_ns));
}

package_index::package_index(std::string info_dir, std::string proc_root)
    : info_dir_(std::move(info_dir)), proc_root_(std::move(proc_root)) {
    refresh();
}

void package_index::refresh() {
    struct stat sb {};
    if (::stat(info_dir_.c_str(), &sb) != 0) return;
    const std::int64_t m = static_cast<std::int64_t>(sb.st_mtim.tv_sec) * 1'000'000'000 + sb.st_mtim.tv_nsec;
    if (m == dir_mtime_ns_) return;
    dir_mtime_ns_ = m;
    paths_.clear();
    packages_.clear();
    md5_cache_.clear();
    ++stats_.builds;
    DIR* d = ::opendir(info_dir_.c_str());
    if (d == nullptr) return;
    std::string text;
    constexpr std::string_view suffix = ".md5sums";
    while (const dirent* e = ::readdir(d)) {
        const std::string_view name = e->d_name;
        if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) continue;
        std::string_view pkg = name.substr(0, name.size() - suffix.size());
        if (const auto colon = pkg.find(':'); colon != std::string_view::npos) pkg = pkg.substr(0, colon); // pkg:arch
        if (!read_all(info_dir_ + "/" + std::string(name), text)) continue;
        const auto pkg_id = static_cast<std::uint32_t>(packages_.size());
        packages_.emplace_back(pkg);
        std::string_view rest = text;
        while (!rest.empty()) {
            const auto nl = rest.find('\n');
            const std::string_view line = rest.substr(0, nl);
            rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
            if (line.size() < 35 || line[32] != ' ' || line[33] != ' ') continue;
            listed l;
            l.package = pkg_id;
            bool ok = true;
            for (std::size_t i = 0; i < 16 && ok; ++i) {
                const int hi = hex_digit(line[2 * i]), lo = hex_digit(line[2 * i + 1]);
                if (hi < 0 || lo < 0) ok = false;
                else l.md5[i] = static_cast<unsigned char>(hi * 16 + lo);
            }
            if (!ok) continue;
            std::string path = "/" + std::string(line.substr(34));
            paths_.emplace(path_hash(path), l);
            ++stats_.entries;
            // usr-merge: a package listing /bin/x ships what runs as /usr/bin/x.
            if (path.rfind("/bin/", 0) == 0 || path.rfind("/sbin/", 0) == 0 || path.rfind("/lib", 0) == 0)
                paths_.emplace(path_hash("/usr" + path), l);
        }
    }
    ::closedir(d);
}

std::optional<std::array<unsigned char, 16>> package_index::md5_of(pid_type pid, const std::string& exe,
                                                                   std::uint64_t dev, std::uint64_t ino) {
    const auto try_open = [&](const std::string& p) -> std::optional<std::array<unsigned char, 16>> {
        const fd_guard g{::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
        if (g.fd < 0) return std::nullopt;
        struct stat sb {};
        if (::fstat(g.fd, &sb) != 0 || !S_ISREG(sb.st_mode)) return std::nullopt;
        if ((dev != 0 || ino != 0) &&
            (static_cast<std::uint64_t>(sb.st_dev) != dev || static_cast<std::uint64_t>(sb.st_ino) != ino))
            return std::nullopt;
        const file_key k = key_of(sb);
        if (const auto it = md5_cache_.find(k); it != md5_cache_.end()) return it->second;
        auto md = md5_fd(g.fd);
        struct stat after {};
        if (!md || ::fstat(g.fd, &after) != 0 || !(key_of(after) == k)) return std::nullopt;
        ++stats_.md5_computed;
        if (md5_cache_.size() >= 4096) md5_cache_.clear();
        md5_cache_.emplace(k, *md);
        return md;
    };
    if (pid != 0)
        if (auto m = try_open(proc_root_ + "/" + std::to_string(pid) + "/exe")) return m;
    if (!exe.empty() && exe.front() == '/') return try_open(exe);
    return std::nullopt;
}

std::string package_index::exe_package(pid_type pid, const std::string& exe, std::uint64_t dev, std::uint64_t ino) {
    refresh();
    const auto [lo, hi] = paths_.equal_range(path_hash(exe));
    if (lo == hi) return {};
    const auto md = md5_of(pid, exe, dev, ino);
    if (!md) return {};
    for (auto it = lo; it != hi; ++it) {
        if (it->second.md5 == *md) {
            ++stats_.verified;
            return packages_[it->second.package];
        }
    }
    ++stats_.mismatched;
    return {};
}

std::optional<bool> exe_host_file(pid_type pid, const std::string& exe, std::uint64_t dev, std::uint64_t ino,
                                  const std::string& proc_root) {
    if (exe.empty() || exe.front() != '/' || (dev == 0 && ino == 0)) return std::nullopt;
    const auto same = [&](const struct stat& sb) {
        return static_cast<std::uint64_t>(sb.st_dev) == dev && static_cast<std::uint64_t>(sb.st_ino) == ino;
    };
    struct stat sb {};
    // 1. The path in the host's mount namespace, through init's root.
    if (::stat((proc_root + "/1/root" + exe).c_str(), &sb) == 0) return same(sb);
    if (errno == ENOENT || errno == ENOTDIR) return false;
    // 2. init's root is closed to us (a sandboxed pid 1): the sensor's own
    // mount namespace stands for the host's (the sensor runs in it:
    // docs/deployment.md). A file another namespace put at that path (a
    // bind mount, an overlay) has another (dev, ino) than the one found here.
    (void)pid;
    if (::stat(exe.c_str(), &sb) != 0) return errno == ENOENT ? std::optional<bool>(false) : std::nullopt;
    return same(sb);
}

} // namespace barbwire::sensor
