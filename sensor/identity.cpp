#include "identity.hpp"

#include <cerrno>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

namespace barbwire::sensor {

namespace {

struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

std::string to_hex(const unsigned char* p, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(n * 2, '0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0x0f];
    }
    return out;
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

file_key key_of(const struct stat& sb) {
    file_key k;
    k.dev = static_cast<std::uint64_t>(sb.st_dev);
    k.ino = static_cast<std::uint64_t>(sb.st_ino);
    k.size = static_cast<std::uint64_t>(sb.st_size);
    k.mtime_ns = static_cast<std::int64_t>(sb.st_mtim.tv_sec) * 1'000'000'000 + sb.st_mtim.tv_nsec;
    return k;
}

} // namespace

std::optional<std::string> sha256_fd(int fd, std::uint64_t max_bytes, std::vector<unsigned char>& buf) {
    if (buf.empty()) buf.resize(std::size_t{1} << 16);
    md_ctx_ptr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return std::nullopt;
    std::uint64_t total = 0;
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;
        }
        if (n == 0) break;
        total += static_cast<std::uint64_t>(n);
        if (total > max_bytes) return std::nullopt;
        if (EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n)) != 1) return std::nullopt;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) return std::nullopt;
    return to_hex(md, len);
}

std::string sha256_hex(std::string_view bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
    return to_hex(md, len);
}

std::size_t hash_cache::key_hash::operator()(const file_key& k) const noexcept {
    // 64-bit mix of the four fields (splitmix64 finaliser per step).
    std::uint64_t h = 0x9e3779b97f4a7c15ull;
    for (const std::uint64_t v : {k.dev, k.ino, k.size, static_cast<std::uint64_t>(k.mtime_ns)}) {
        h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 27;
    }
    return static_cast<std::size_t>(h);
}

hash_cache::hash_cache(hash_cache_options opts) : opts_(std::move(opts)) {
    if (opts_.capacity == 0) opts_.capacity = 1;
    if (opts_.buffer_bytes == 0) opts_.buffer_bytes = 4096;
    buf_.resize(opts_.buffer_bytes);
    index_.reserve(opts_.capacity);
}

int hash_cache::open_for_hash(const char* path) {
    // O_NONBLOCK: a FIFO put where an executable was must not hang the loop
    // (and is then refused as not a regular file). O_NOATIME when allowed.
    constexpr int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int fd = ::open(path, flags | O_NOATIME);
    if (fd < 0 && errno == EPERM) fd = ::open(path, flags);
    return fd;
}

std::string hash_cache::hash_fd(int fd) {
    struct stat sb {};
    if (::fstat(fd, &sb) != 0) {
        ++stats_.failures;
        return {};
    }
    return hash_opened(fd, key_of(sb), S_ISREG(sb.st_mode));
}

std::string hash_cache::hash_path(const std::string& path) {
    const fd_guard g{open_for_hash(path.c_str())};
    if (g.fd < 0) {
        ++stats_.failures;
        return {};
    }
    return hash_fd(g.fd);
}

std::string hash_cache::hash_opened(int fd, const file_key& key, bool regular) {
    if (!regular) {
        ++stats_.failures;
        return {};
    }
    if (key.size > opts_.max_bytes) {
        ++stats_.too_large;
        return {};
    }
    if (const auto it = index_.find(key); it != index_.end()) {
        ++stats_.hits;
        lru_.splice(lru_.begin(), lru_, it->second);
        return it->second->sha256;
    }
    ++stats_.misses;
    if (::lseek(fd, 0, SEEK_SET) != 0) {
        ++stats_.failures;
        return {};
    }
    auto digest = sha256_fd(fd, opts_.max_bytes, buf_);
    struct stat after {};
    if (!digest || ::fstat(fd, &after) != 0 || !(key_of(after) == key)) {
        // Unreadable, grew past the bound, or written to while we read it:
        // nothing trustworthy to report or cache.
        ++stats_.failures;
        return {};
    }
    lru_.push_front(entry{key, *digest});
    index_.emplace(key, lru_.begin());
    while (index_.size() > opts_.capacity) {
        index_.erase(lru_.back().key);
        lru_.pop_back();
        ++stats_.evictions;
    }
    return std::move(*digest);
}

std::string hash_cache::exe_sha256(pid_type pid, std::string_view exe_path, std::uint64_t exe_dev,
                                   std::uint64_t exe_ino) {
    return exe_identify(pid, exe_path, exe_dev, exe_ino).sha256;
}

exe_identity hash_cache::exe_identify(pid_type pid, std::string_view exe_path, std::uint64_t exe_dev,
                                      std::uint64_t exe_ino) {
    const bool have_id = exe_dev != 0 || exe_ino != 0;
    const auto names_event_file = [&](const struct stat& sb) {
        return !have_id ||
               (static_cast<std::uint64_t>(sb.st_dev) == exe_dev && static_cast<std::uint64_t>(sb.st_ino) == exe_ino);
    };
    const auto identify = [&](int fd, const struct stat& sb) {
        exe_identity id;
        id.uid = static_cast<std::uint32_t>(sb.st_uid);
        id.mode = static_cast<std::uint32_t>(sb.st_mode) & 07777u;
        id.sha256 = hash_opened(fd, key_of(sb), S_ISREG(sb.st_mode));
        return id;
    };
    // 1. /proc/<pid>/exe: the very file the process runs, even when its path
    // was since replaced or deleted -- unless the process exec'd again or
    // exited and its pid was reused (then it is not the event's file).
    if (pid != 0) {
        const std::string proc_exe = opts_.proc_root + "/" + std::to_string(pid) + "/exe";
        const fd_guard g{open_for_hash(proc_exe.c_str())};
        struct stat sb {};
        if (g.fd >= 0 && ::fstat(g.fd, &sb) == 0 && names_event_file(sb)) return identify(g.fd, sb);
    }
    // 2. The path, when the process is gone (short-lived processes often are
    // by the time their exec is handled) -- only if it still names the same
    // file; a replaced file is not the one that ran.
    if (!exe_path.empty() && exe_path.front() == '/') {
        const std::string path(exe_path);
        const fd_guard g{open_for_hash(path.c_str())};
        struct stat sb {};
        if (g.fd >= 0 && ::fstat(g.fd, &sb) == 0 && names_event_file(sb)) return identify(g.fd, sb);
    }
    ++stats_.failures;
    return {};
}

exe_identity hash_cache::script_identify(pid_type pid, std::string_view path, std::uint64_t dev, std::uint64_t ino) {
    if (path.empty() || path.front() != '/' || (dev == 0 && ino == 0)) {
        ++stats_.failures;
        return {};
    }
    const auto try_open = [&](const std::string& name) -> exe_identity {
        constexpr int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW;
        int fd = ::open(name.c_str(), flags | O_NOATIME);
        if (fd < 0 && errno == EPERM) fd = ::open(name.c_str(), flags);
        const fd_guard g{fd};
        struct stat sb {};
        if (g.fd < 0 || ::fstat(g.fd, &sb) != 0) return {};
        if (static_cast<std::uint64_t>(sb.st_dev) != dev || static_cast<std::uint64_t>(sb.st_ino) != ino) return {};
        exe_identity id;
        id.uid = static_cast<std::uint32_t>(sb.st_uid);
        id.mode = static_cast<std::uint32_t>(sb.st_mode) & 07777u;
        id.sha256 = hash_opened(g.fd, key_of(sb), S_ISREG(sb.st_mode));
        return id;
    };
    if (pid != 0) {
        exe_identity id = try_open(opts_.proc_root + "/" + std::to_string(pid) + "/root" + std::string(path));
        if (id.uid) return id;
    }
    exe_identity id = try_open(std::string(path));
    if (!id.uid) ++stats_.failures;
    return id;
}

} // namespace barbwire::sensor
