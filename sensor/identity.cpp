#include "identity.hpp"
#include "fd_guard.hpp"
#include "mounts.hpp"

#include <algorithm>
#include <cerrno>
#include <memory>

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

file_key key_of(const struct stat& sb) {
    file_key k;
    k.dev = static_cast<std::uint64_t>(sb.st_dev);
    k.ino = static_cast<std::uint64_t>(sb.st_ino);
    k.size = static_cast<std::uint64_t>(sb.st_size);
    k.mtime_ns = static_cast<std::int64_t>(sb.st_mtim.tv_sec) * 1'000'000'000 + sb.st_mtim.tv_nsec;
    return k;
}

} // namespace

std::optional<file_digests> digests_fd(int fd, std::uint64_t max_bytes, std::vector<unsigned char>& buf) {
    if (buf.empty()) buf.resize(std::size_t{1} << 16);
    md_ctx_ptr sha(EVP_MD_CTX_new());
    md_ctx_ptr md5(EVP_MD_CTX_new());
    if (!sha || !md5 || EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr) != 1 ||
        EVP_DigestInit_ex(md5.get(), EVP_md5(), nullptr) != 1)
        return std::nullopt;
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
        if (EVP_DigestUpdate(sha.get(), buf.data(), static_cast<std::size_t>(n)) != 1 ||
            EVP_DigestUpdate(md5.get(), buf.data(), static_cast<std::size_t>(n)) != 1)
            return std::nullopt;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(sha.get(), md, &len) != 1) return std::nullopt;
    file_digests d;
    d.sha256 = to_hex(md, len);
    if (EVP_DigestFinal_ex(md5.get(), md, &len) != 1 || len != d.md5.size()) return std::nullopt;
    std::copy_n(md, d.md5.size(), d.md5.begin());
    return d;
}

std::optional<std::string> sha256_fd(int fd, std::uint64_t max_bytes, std::vector<unsigned char>& buf) {
    auto d = digests_fd(fd, max_bytes, buf);
    if (!d) return std::nullopt;
    return std::move(d->sha256);
}

std::string md5_hex(std::string_view bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_md5(), nullptr) != 1) return {};
    return to_hex(md, len);
}

std::optional<md5_digest> parse_md5(std::string_view hex) {
    if (hex.size() != 32) return std::nullopt;
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    md5_digest out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[i] = static_cast<unsigned char>(hi << 4 | lo);
    }
    return out;
}

// ---- package_db

std::uint64_t package_db::key_of(std::string_view path) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(path.data(), path.size(), md, &len, EVP_sha256(), nullptr) != 1) return 0;
    std::uint64_t k = 0;
    for (int i = 0; i < 8; ++i) k = k << 8 | md[i];
    return k;
}

bool package_db::add_line(std::uint32_t pkg, std::string_view line, std::string& path) {
    if (line.empty()) return false;
    // "<32 hex>  <path>" (two spaces; dpkg writes relative paths).
    const auto md5 = line.size() > 34 ? parse_md5(line.substr(0, 32)) : std::nullopt;
    if (!md5 || line[32] != ' ' || line[33] != ' ') {
        ++stats_.bad_lines;
        return false;
    }
    std::string_view rel = line.substr(34);
    while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
    if (rel.empty()) {
        ++stats_.bad_lines;
        return false;
    }
    if (records_.size() >= max_entries_) {
        ++stats_.dropped;
        return false;
    }
    path.assign(1, '/');
    path += rel;
    records_.push_back(record{key_of(path), *md5, pkg});
    return true;
}

void package_db::add(std::string_view package, std::string_view text) {
    const auto pkg = static_cast<std::uint32_t>(names_.size());
    bool used = false;
    std::string path;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        used |= add_line(pkg, text.substr(0, nl), path);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    }
    if (used) add_name(package);
}

void package_db::seal() {
    std::sort(records_.begin(), records_.end(),
              [](const record& a, const record& b) { return a.path_key < b.path_key; });
    names_.shrink_to_fit();
    stats_.entries = records_.size();
}

package_db package_db::load(const std::string& info_dir, bool usr_merged, std::size_t max_entries) {
    package_db db;
    db.max_entries_ = max_entries;
    db.usr_merged_ = usr_merged;
    DIR* d = ::opendir(info_dir.c_str());
    if (d == nullptr) {
        db.stats_.unreadable_dir = true;
        return db;
    }
    constexpr std::string_view suffix = ".md5sums";
    // Each file is parsed as it is read, a chunk at a time: the largest
    // md5sums files run to megabytes (google-cloud-cli's is 5 MB), and
    // holding one whole made the sensor's start-up peak.
    constexpr std::size_t max_line = 34 + 4096; // the hash, two spaces and a PATH_MAX path
    std::vector<char> chunk(std::size_t{1} << 16);
    std::string carry; // a line split across two reads
    std::string path;
    while (const dirent* de = ::readdir(d)) {
        const std::string_view name = de->d_name;
        if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) continue;
        std::string_view package = name.substr(0, name.size() - suffix.size());
        if (const auto colon = package.find(':'); colon != std::string_view::npos) package = package.substr(0, colon);
        const std::string file = info_dir + "/" + std::string(name);
        const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) continue;
        fd_guard guard{fd};
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        const auto pkg = static_cast<std::uint32_t>(db.names_.size());
        bool used = false;
        bool overlong = false; // skipping the rest of a line longer than max_line
        carry.clear();
        for (;;) {
            const ssize_t n = ::read(fd, chunk.data(), chunk.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break; // a read error keeps what was read before it
            std::string_view rest(chunk.data(), static_cast<std::size_t>(n));
            for (std::size_t nl; (nl = rest.find('\n')) != std::string_view::npos; rest.remove_prefix(nl + 1)) {
                const std::string_view piece = rest.substr(0, nl);
                if (overlong) {
                    overlong = false;
                } else if (carry.size() + piece.size() > max_line) {
                    ++db.stats_.bad_lines; // the same bound, whether or not the line straddles two reads
                } else if (carry.empty()) {
                    used |= db.add_line(pkg, piece, path);
                } else {
                    carry.append(piece);
                    used |= db.add_line(pkg, carry, path);
                }
                carry.clear();
            }
            if (overlong) continue;
            if (carry.size() + rest.size() > max_line) {
                ++db.stats_.bad_lines;
                overlong = true;
                carry.clear();
            } else {
                carry.append(rest);
            }
        }
        if (!overlong && !carry.empty()) used |= db.add_line(pkg, carry, path); // no final newline
        ++db.stats_.files;
        if (used) db.add_name(package);
    }
    ::closedir(d);
    db.seal();
    return db;
}

std::string_view package_db::lookup(std::string_view path, const md5_digest& md5) const {
    const std::uint64_t k = key_of(path);
    auto it = std::lower_bound(records_.begin(), records_.end(), k,
                               [](const record& r, std::uint64_t v) { return r.path_key < v; });
    for (; it != records_.end() && it->path_key == k; ++it)
        if (it->md5 == md5) return names_[it->package];
    return {};
}

std::string_view package_db::package_of(std::string_view path, const md5_digest& md5) const {
    if (path.empty() || path.front() != '/' || records_.empty()) return {};
    if (const auto p = lookup(path, md5); !p.empty()) return p;
    if (!usr_merged_) return {};
    // /usr-merge: /bin, /sbin, /lib* are /usr/bin, ... and dpkg lists
    // either name.
    static constexpr std::string_view merged[] = {"/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/"};
    constexpr std::string_view usr = "/usr";
    if (path.substr(0, usr.size() + 1) == "/usr/") {
        const std::string_view rest = path.substr(usr.size());
        for (const auto m : merged)
            if (rest.substr(0, m.size()) == m) return lookup(rest, md5);
        return {};
    }
    for (const auto m : merged)
        if (path.substr(0, m.size()) == m) return lookup(std::string(usr) + std::string(path), md5);
    return {};
}

std::size_t package_db::memory_bytes() const noexcept {
    std::size_t n = records_.size() * sizeof(record) + names_.capacity() * sizeof(std::string);
    for (const auto& s : names_) n += s.capacity() > 15 ? s.capacity() + 1 : 0;
    return n;
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

namespace {

// An O_PATH descriptor of `path` resolved below the directory `rootfd` as
// its root: no symbolic link in any component (magic links included), and
// ".." cannot climb out. An O_PATH open reads nothing and opens no device:
// it only names the inode. Relative paths with AT_FDCWD resolve from the
// working directory, still without symlinks. -1 on failure.
int open_path_below(int rootfd, std::string_view path) {
    std::string rel(path);
    const bool absolute = !rel.empty() && rel.front() == '/';
    while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
    if (rel.empty()) return -1;
    struct open_how how {};
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | (absolute ? RESOLVE_IN_ROOT : 0);
    long fd;
    do {
        fd = ::syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof how);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno == ENOSYS) {
        // Before Linux 5.6: the last component is not followed; a symlinked
        // directory on the way is (docs/threat-model.md).
        fd = ::openat(rootfd, rel.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    return static_cast<int>(fd);
}

// The O_PATH descriptor `pfd` when it names a regular file that `accept`s
// (`sb`: its fstat); otherwise it is closed and -1 returned. Nothing is
// opened: a device node, FIFO or socket never is, and neither is another
// file than the one wanted.
template <class Accept>
int regular_or_close(int pfd, struct stat& sb, const Accept& accept) {
    if (pfd < 0) return -1;
    if (::fstat(pfd, &sb) == 0 && S_ISREG(sb.st_mode) && accept(sb)) return pfd;
    ::close(pfd);
    return -1;
}

// The regular file behind the O_PATH descriptor `pfd` (regular_or_close
// said so; `sb`: that fstat), opened for reading. `sb` becomes the fstat of the
// descriptor returned, which must be the same inode. -1 otherwise.
int reopen_for_read(int pfd, struct stat& sb) {
    // Reopening the descriptor's own inode: no name is looked up again.
    const std::string self = "/proc/self/fd/" + std::to_string(pfd);
    constexpr int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int fd = ::open(self.c_str(), flags | O_NOATIME); // O_NOATIME when allowed
    if (fd < 0 && errno == EPERM) fd = ::open(self.c_str(), flags);
    if (fd < 0) return -1;
    struct stat rb {};
    if (::fstat(fd, &rb) != 0 || rb.st_dev != sb.st_dev || rb.st_ino != sb.st_ino) {
        ::close(fd);
        return -1;
    }
    sb = rb;
    return fd;
}

constexpr auto any_file = [](const struct stat&) { return true; };

bool is_own_root(std::string_view root) { return root.empty() || root == "/"; }

} // namespace

int hash_cache::root_dir(std::string_view root, fd_guard& tmp) const {
    if (!is_own_root(root)) {
        // A magic link (/proc/1/root, /proc/PID/root) is followed on purpose,
        // to the mount namespace it stands for; opened for each lookup, as
        // the process behind it may go away.
        tmp.fd = ::open(std::string(root).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        return tmp.fd;
    }
    // The sensor's own root never changes while it runs: opened once.
    if (own_root_.fd < 0) own_root_.fd = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    return own_root_.fd;
}

template <class Accept>
int hash_cache::find_regular_below(std::string_view root, std::string_view path, struct stat& sb,
                                   const Accept& accept) const {
    if (path.empty() || path.front() != '/') return -1;
    fd_guard tmp{-1};
    const int rootfd = root_dir(root, tmp);
    if (rootfd < 0) return -1;
    return regular_or_close(open_path_below(rootfd, path), sb, accept);
}

template <class Accept>
int hash_cache::find_regular_link(const std::string& link, struct stat& sb, const Accept& accept) {
    // A magic link (/proc/PID/exe) names the very inode; O_PATH follows it
    // without opening anything.
    return regular_or_close(::open(link.c_str(), O_PATH | O_CLOEXEC), sb, accept);
}

const hash_cache::entry* hash_cache::hash_found(int pfd, const struct stat& sb) {
    const file_key key = key_of(sb);
    if (key.size > opts_.max_bytes) {
        ++stats_.too_large;
        return nullptr;
    }
    // Cached: this content was read before, and nothing is opened for it.
    if (const entry* e = cached(key)) return e;
    struct stat rb = sb;
    const fd_guard g{reopen_for_read(pfd, rb)};
    if (g.fd < 0) {
        ++stats_.failures;
        return nullptr;
    }
    return hash_opened(g.fd, key_of(rb), true);
}

const hash_cache::entry* hash_cache::cached(const file_key& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    ++stats_.hits;
    lru_.splice(lru_.begin(), lru_, it->second);
    return &*it->second;
}

std::string hash_cache::hash_fd(int fd) {
    struct stat sb {};
    if (::fstat(fd, &sb) != 0) {
        ++stats_.failures;
        return {};
    }
    const entry* e = hash_opened(fd, key_of(sb), S_ISREG(sb.st_mode));
    return e ? e->sha256 : std::string();
}

std::string hash_cache::hash_path(const std::string& path) {
    struct stat sb {};
    const fd_guard g{find_regular_below("/", path, sb, any_file)};
    if (g.fd < 0) {
        ++stats_.failures;
        return {};
    }
    const entry* e = hash_found(g.fd, sb);
    return e ? e->sha256 : std::string();
}

const hash_cache::entry* hash_cache::hash_opened(int fd, const file_key& key, bool regular) {
    if (!regular) {
        ++stats_.failures;
        return nullptr;
    }
    if (key.size > opts_.max_bytes) {
        ++stats_.too_large;
        return nullptr;
    }
    if (const entry* e = cached(key)) return e;
    ++stats_.misses;
    if (::lseek(fd, 0, SEEK_SET) != 0) {
        ++stats_.failures;
        return nullptr;
    }
    auto digest = digests_fd(fd, opts_.max_bytes, buf_);
    struct stat after {};
    if (!digest || ::fstat(fd, &after) != 0 || !(key_of(after) == key)) {
        // Unreadable, grew past the bound, or written to while we read it:
        // nothing trustworthy to report or cache.
        ++stats_.failures;
        return nullptr;
    }
    lru_.push_front(entry{key, std::move(digest->sha256), digest->md5});
    index_.emplace(key, lru_.begin());
    while (index_.size() > opts_.capacity) {
        index_.erase(lru_.back().key);
        lru_.pop_back();
        ++stats_.evictions;
    }
    return &lru_.front();
}

verified_file hash_cache::examine(int pfd, const struct stat& sb, std::string_view path) {
    verified_file v;
    v.uid = static_cast<std::uint32_t>(sb.st_uid);
    v.mode = static_cast<std::uint32_t>(sb.st_mode) & 07777u;
    if (const entry* e = hash_found(pfd, sb)) {
        v.sha256 = e->sha256;
        if (packages_ != nullptr) v.package = std::string(packages_->package_of(path, e->md5));
    }
    return v;
}

std::string hash_cache::remote_reason(std::uint64_t dev) {
    ++stats_.remote;
    std::string t = mounts_ != nullptr ? mounts_->fstype(dev) : std::string();
    return t.empty() ? std::string("remote") : t;
}

bool hash_cache::lookup_may_block(std::string_view root, std::string_view path, pid_type pid) const {
    if (mounts_ == nullptr) return false;
    if (is_own_root(root)) return mounts_->path_may_block(path, false);
    if (root == opts_.host_root) return mounts_->path_may_block(path, opts_.host_root == "/proc/1/root");
    return mounts_->pid_path_may_block(pid, path);
}

std::optional<bool> hash_cache::host_file(std::string_view path, std::uint64_t dev, std::uint64_t ino) const {
    if (path.empty() || path.front() != '/') return std::nullopt;
    // Not through a FUSE or network mount point of the host (unknown then).
    if (lookup_may_block(opts_.host_root, path, 0)) return std::nullopt;
    // Resolved below the host's root with no symlink (O_PATH: nothing is
    // opened): a symlink planted at the path, or in a directory on the way,
    // could lead the lookup to a FUSE or network mount that the check above
    // never saw, and there a lookup may wait for ever.
    fd_guard tmp{-1};
    const int rootfd = root_dir(opts_.host_root, tmp);
    if (rootfd < 0) return std::nullopt;
    const fd_guard pfd{open_path_below(rootfd, path)};
    struct stat sb {};
    if (pfd.fd < 0 || ::fstat(pfd.fd, &sb) != 0) {
        // No such file on the host (deleted, or only in another mount
        // namespace): not the host's file. Anything else, a symlink on the
        // way (ELOOP) included: unknown.
        if (pfd.fd < 0 && (errno == ENOENT || errno == ENOTDIR)) return false;
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(sb.st_dev) == dev && static_cast<std::uint64_t>(sb.st_ino) == ino;
}

verified_file hash_cache::verify_file(std::string_view path, std::uint64_t dev, std::uint64_t ino, pid_type pid) {
    if (path.empty() || path.front() != '/') return {};
    const bool have_id = dev != 0 || ino != 0;
    const auto is_it = [&](const struct stat& sb) {
        return !have_id ||
               (static_cast<std::uint64_t>(sb.st_dev) == dev && static_cast<std::uint64_t>(sb.st_ino) == ino);
    };
    // On a FUSE or network filesystem: not touched at all (set_mounts). On
    // an anonymous device no table lists (a btrfs subvolume's), only by
    // paths that cross no FUSE or network mount point, as below.
    if (have_id && mounts_ != nullptr && mounts_->classify(dev, pid) == fs_verdict::may_block) {
        verified_file none;
        none.unexamined_fs = remote_reason(dev);
        return none;
    }
    // The host's file at the path (not through a FUSE or network mount point).
    if (!lookup_may_block(opts_.host_root, path, pid)) {
        struct stat sb {};
        const fd_guard g{find_regular_below(opts_.host_root, path, sb, is_it)};
        if (g.fd >= 0) {
            verified_file v = examine(g.fd, sb, path);
            v.host_file = true;
            return v;
        }
    }
    verified_file v;
    v.host_file = have_id ? host_file(path, dev, ino) : std::nullopt;
    // Not the host's: the content the process sees under that name.
    if (pid != 0 && have_id) {
        const std::string root = opts_.proc_root + "/" + std::to_string(pid) + "/root";
        if (lookup_may_block(root, path, pid)) return v;
        struct stat sb {};
        const fd_guard g{find_regular_below(root, path, sb, is_it)};
        if (g.fd >= 0) {
            const std::optional<bool> host = v.host_file;
            v = examine(g.fd, sb, path);
            v.host_file = host;
        }
    }
    return v;
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
    // The host file check compares the host's file at the path with the
    // event's inode (or, without one, the inode that was examined); when
    // the file was just found at the path below the host's root, it is the
    // host's file.
    const auto identify = [&](int fd, const struct stat& sb, bool found_below_host_root) {
        exe_identity id = examine(fd, sb, exe_path);
        id.host_file = found_below_host_root
                           ? std::optional<bool>(true)
                           : host_file(exe_path, static_cast<std::uint64_t>(sb.st_dev),
                                       static_cast<std::uint64_t>(sb.st_ino));
        return id;
    };
    // 0. On a FUSE or network filesystem the file is not touched at all
    // (set_mounts): any lookup, stat, open or read there may wait for ever
    // on a daemon or a server. On an unknown filesystem (no device, or an
    // anonymous device that neither the tables nor the mount of
    // /proc/<pid>/exe tell), the magic link is not followed to it; the path
    // (2) may be, through local mount points only.
    bool by_link = true;
    if (mounts_ != nullptr) {
        const fs_verdict v = have_id ? mounts_->classify_exe(exe_dev, exe_ino, pid) : fs_verdict::unknown;
        if (v == fs_verdict::may_block) {
            exe_identity none;
            none.unexamined_fs = remote_reason(exe_dev);
            return none;
        }
        by_link = v == fs_verdict::local;
    }
    // 1. /proc/<pid>/exe: the very file the process runs, even when its path
    // was since replaced or deleted -- unless the process exec'd again or
    // exited and its pid was reused (then it is not the event's file).
    if (pid != 0 && by_link) {
        const std::string proc_exe = opts_.proc_root + "/" + std::to_string(pid) + "/exe";
        struct stat sb {};
        const fd_guard g{find_regular_link(proc_exe, sb, names_event_file)};
        if (g.fd >= 0) return identify(g.fd, sb, false);
    }
    // 2. The path, when the process is gone (short-lived processes often are
    // by the time their exec is handled) -- only if it still names the same
    // file; a replaced file is not the one that ran.
    // Resolved without symlinks, and opened only when it is a regular file
    // with the event's device and inode: a path swapped for a symlink to a
    // device node or a FIFO opens nothing.
    if (!exe_path.empty() && exe_path.front() == '/' && !lookup_may_block("/", exe_path, pid)) {
        struct stat sb {};
        const fd_guard g{find_regular_below("/", exe_path, sb, names_event_file)};
        // When the host's root is the sensor's own, this lookup is the
        // host file check: the same path, resolved the same way.
        if (g.fd >= 0) return identify(g.fd, sb, is_own_root(opts_.host_root));
    }
    exe_identity none;
    if (!by_link) {
        // Not examined rather than failed: its filesystem was not known.
        ++stats_.unknown_fs;
        none.unexamined_fs = "unknown";
    } else {
        ++stats_.failures;
    }
    if (have_id) none.host_file = host_file(exe_path, exe_dev, exe_ino);
    return none;
}

} // namespace barbwire::sensor
