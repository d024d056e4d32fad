#pragma once
// Binary identity: the SHA-256 of the executable a process runs, computed by
// the sensor (enrichment) before an exec event or a /proc-seeded process
// enters the library. The digest is OpenSSL libcrypto's (EVP), streamed
// through a bounded buffer.
//
// Results are cached by (dev, ino, size, mtime ns) of the opened file, so an
// unchanged binary is read once and a rebuilt one (new size or mtime, or a
// new inode) is read again. The cache is an LRU with a fixed capacity.
//
// Files larger than max_bytes are not hashed at all (unknown): hashing runs on
// the event loop, and a bound on the bytes read is a bound on the stall.
//
// Unit-tested in test/unit/test_sensor_identity.cpp.

#include "fd_guard.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <sys/stat.h>

#include <barbwire/event.hpp>

namespace barbwire::sensor {

class mount_table; // mounts.hpp

// SHA-256 of everything `fd` yields from its current offset, as 64 lowercase
// hex digits. nullopt on a read error, or when more than `max_bytes` bytes
// come out (the digest of a prefix would be a lie). `buf` is the read buffer.
[[nodiscard]] std::optional<std::string> sha256_fd(int fd, std::uint64_t max_bytes, std::vector<unsigned char>& buf);

// SHA-256 of a byte string, lowercase hex (for tests and small inputs).
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

using md5_digest = std::array<unsigned char, 16>;

// Both digests of a file, computed in one read: SHA-256 (hex) for trust and
// baselines, MD5 (raw) to compare with what dpkg recorded for the path.
struct file_digests {
    std::string sha256;
    md5_digest md5{};
};
// As sha256_fd, both digests in the same pass.
[[nodiscard]] std::optional<file_digests> digests_fd(int fd, std::uint64_t max_bytes, std::vector<unsigned char>& buf);

// MD5 of a byte string, lowercase hex (for tests).
[[nodiscard]] std::string md5_hex(std::string_view bytes);
// 32 hex digits -> 16 bytes; nullopt when malformed.
[[nodiscard]] std::optional<md5_digest> parse_md5(std::string_view hex);

// Package provenance (docs/design.md, "Issue 13: identity"): what dpkg
// recorded of the files it installed, from /var/lib/dpkg/info/*.md5sums
// (lines "<md5 hex>  <path without its leading slash>"; the package is the
// file name up to ".md5sums" and any ":arch"). A file is from a package
// when a package lists its path with the MD5 of its content.
//
// Memory: one 32-byte record per listed file (the path is kept as the first
// 8 bytes of its SHA-256, a key no one can aim a path at, not as text), and
// each package name once; the number of records is bounded by max_entries.
class package_db {
public:
    struct load_stats {
        std::size_t files = 0;         // md5sums files read
        std::size_t entries = 0;       // records kept
        std::size_t bad_lines = 0;     // lines not of the md5sums shape
        std::size_t dropped = 0;       // records past max_entries
        bool unreadable_dir = false;   // the directory could not be listed
    };

    package_db() = default;

    // Reads every *.md5sums of `info_dir`. `usr_merged`: /bin, /sbin and
    // /lib* are symlinks into /usr, so dpkg may list /bin/x for /usr/bin/x
    // and the other way round (both are looked up).
    [[nodiscard]] static package_db load(const std::string& info_dir, bool usr_merged,
                                         std::size_t max_entries = std::size_t{1} << 21);

    // Adds one md5sums file's text (for tests; load() streams each file
    // through add_line). `package` is the package name.
    void add(std::string_view package, std::string_view md5sums_text);
    // Sorts the records: call once after the last add().
    void seal();

    // The package that lists `path` (absolute, or its /usr-merge alias)
    // with this MD5; empty when none.
    [[nodiscard]] std::string_view package_of(std::string_view path, const md5_digest& md5) const;

    [[nodiscard]] std::size_t size() const noexcept { return records_.size(); }
    [[nodiscard]] std::size_t packages() const noexcept { return names_.size(); }
    // Bytes held (records and names, not allocator overhead).
    [[nodiscard]] std::size_t memory_bytes() const noexcept;
    [[nodiscard]] const load_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] bool usr_merged() const noexcept { return usr_merged_; }

private:
    struct record {
        std::uint64_t path_key = 0;
        md5_digest md5{};
        std::uint32_t package = 0;
    };
    [[nodiscard]] static std::uint64_t key_of(std::string_view path);
    [[nodiscard]] std::string_view lookup(std::string_view path, const md5_digest& md5) const;
    // One md5sums line, "<32 hex>  <path>", of package number `pkg`;
    // `path` is scratch. Returns whether a record was kept.
    bool add_line(std::uint32_t pkg, std::string_view line, std::string& path);
    void add_name(std::string_view package) { names_.emplace_back(package); }

    // A deque, not a vector: filled by push_back without the doubling
    // copies (and the shrink copy) a vector needs, so loading never holds
    // the records twice (docs/performance.md, "Memory at start-up").
    std::deque<record> records_;
    std::vector<std::string> names_;
    std::size_t max_entries_ = std::size_t{1} << 21;
    bool usr_merged_ = false;
    load_stats stats_;
};

// What the sensor can say about one file named by a path, for trust: the
// host's file at that path, from which package, its content's SHA-256,
// owner and mode. For an executable (exe_identify) and for any other file
// (hash_cache::verify_file, e.g. a script an interpreter runs).
struct verified_file {
    std::optional<bool> host_file; // (dev, ino) is the file at `path` in the host's mount namespace
    std::string package;           // a package lists `path` with this content's MD5; empty: none/unknown
    std::string sha256;            // empty when unknown
    std::optional<std::uint32_t> uid;
    std::optional<std::uint32_t> mode; // st_mode & 07777
    // Not examined at all because of its filesystem (hash_cache::set_mounts):
    // the filesystem type (FUSE, network), or "unknown" for an anonymous
    // device no mount table lists. Empty otherwise.
    std::string unexamined_fs;
};

// What identifies one version of a file's content.
struct file_key {
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    friend bool operator==(const file_key&, const file_key&) = default;
};

struct hash_cache_stats {
    std::uint64_t hits = 0;      // answered from the cache
    std::uint64_t misses = 0;    // not in the cache: the file was read and hashed
    std::uint64_t evictions = 0; // least recently used entries dropped for room
    std::uint64_t failures = 0;  // no hash: could not open/read, not a regular file, changed while read,
                                 // or the file found is not the one the event names
    std::uint64_t too_large = 0; // no hash: larger than max_bytes
    std::uint64_t remote = 0;    // not examined: on a FUSE or network filesystem (a call could hang)
    std::uint64_t unknown_fs = 0; // not examined: no device known, or an anonymous one no mount table
                                  // lists, and no path to it through local mount points only
};

struct hash_cache_options {
    std::size_t capacity = 4096;                      // cached digests (LRU)
    std::uint64_t max_bytes = std::uint64_t{256} << 20; // larger executables stay unknown
    std::size_t buffer_bytes = std::size_t{1} << 16;  // read buffer
    std::string proc_root = "/proc";                   // "/proc" except in tests
    // Where the host's mount namespace is seen from: "/proc/1/root" (the
    // sensor runs on the host, and init's root is the host's), "" for the
    // sensor's own root, a directory in tests.
    std::string host_root = "/proc/1/root";
};

// What the sensor learns about the executable of an exec event: its
// SHA-256 and, from the same fstat, its owner and permission bits
// (st_mode & 07777). Each is unknown (empty / nullopt) when the file could
// not be examined; owner and mode are known even for a file too large to hash.
// The host file and package facts are filled as verify_file says.
using exe_identity = verified_file;

class hash_cache {
public:
    explicit hash_cache(hash_cache_options opts = {});

    // The SHA-256 of the executable of an exec event (or a seeded process):
    // `pid`'s /proc/<pid>/exe when it still is the file the event names
    // (exe_dev/exe_ino, when non-zero), else `exe_path` when that is the
    // same file. Empty when unknown: the process is gone and the path now
    // names another file, the file is unreadable or too large.
    [[nodiscard]] std::string exe_sha256(pid_type pid, std::string_view exe_path, std::uint64_t exe_dev,
                                         std::uint64_t exe_ino);

    // As exe_sha256, with the owner and mode of the same file (the fstat of
    // the descriptor that was hashed, not a second lookup by name).
    [[nodiscard]] exe_identity exe_identify(pid_type pid, std::string_view exe_path, std::uint64_t exe_dev,
                                            std::uint64_t exe_ino);

    // The verdict on a file named `path` whose identity is (dev, ino) (both
    // 0: unknown, then whatever the path names): host_file is whether the
    // host's file at `path` is that inode (false when it is another file or
    // there is none; nullopt when the host's path cannot be examined), and
    // the content (sha256, package, owner, mode) is that of the host's file
    // when it is the one, else of `pid`'s view of `path` (/proc/<pid>/root)
    // when that is (dev, ino). Cached like the hashes.
    [[nodiscard]] verified_file verify_file(std::string_view path, std::uint64_t dev, std::uint64_t ino,
                                           pid_type pid = 0);

    // Whether the host's file at `path` is (dev, ino); nullopt when unknown.
    [[nodiscard]] std::optional<bool> host_file(std::string_view path, std::uint64_t dev, std::uint64_t ino) const;

    // The package database used for `package` (none: packages stay empty).
    void set_packages(const package_db* db) noexcept { packages_ = db; }
    void set_host_root(std::string root) { opts_.host_root = std::move(root); }
    // The mount tables (none: every file is examined). With them, a file on
    // a FUSE or network filesystem (or an unlisted anonymous device) is
    // never looked up, stat'ed, opened or read, and no path is looked up
    // through a FUSE or network mount point: its identity stays unknown
    // (docs/threat-model.md). A call there could block the event loop for ever.
    void set_mounts(mount_table* m) noexcept { mounts_ = m; }
    [[nodiscard]] const std::string& host_root() const noexcept { return opts_.host_root; }

    // The SHA-256 of an open regular file (keyed by its fstat). Empty when unknown.
    [[nodiscard]] std::string hash_fd(int fd);

    // The SHA-256 of the file at `path`. Empty when unknown.
    [[nodiscard]] std::string hash_path(const std::string& path);

    [[nodiscard]] const hash_cache_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return opts_.capacity; }

private:
    struct key_hash {
        std::size_t operator()(const file_key& k) const noexcept;
    };
    struct entry {
        file_key key;
        std::string sha256;
        md5_digest md5{};
    };

    // An O_PATH descriptor of the regular file `path` names below the
    // directory `root` ("" or "/": the sensor's own root; a magic link such
    // as /proc/PID/root is followed to its mount namespace), resolved with
    // no symlink and no "..": escaping `root`, and only when its fstat (`sb`)
    // shows a regular file that `accept(stat)` takes. Nothing is opened for
    // reading. -1 otherwise.
    template <class Accept>
    int find_regular_below(std::string_view root, std::string_view path, struct stat& sb,
                           const Accept& accept) const;
    // The same through a magic link that names the inode (/proc/PID/exe).
    template <class Accept>
    static int find_regular_link(const std::string& link, struct stat& sb, const Accept& accept);
    // The directory `root` to resolve below (as find_regular_below): the
    // sensor's own root is kept open; any other is opened into `tmp`. -1 on failure.
    int root_dir(std::string_view root, fd_guard& tmp) const;
    // The cache entry of the regular file behind the O_PATH descriptor
    // `pfd` (`sb`: its fstat): from the cache when that content was hashed
    // before, else the file is reopened for reading (its own inode, no name
    // looked up) and hashed. nullptr when unknown.
    const entry* hash_found(int pfd, const struct stat& sb);
    // The entry of `key`, now the most recently used; nullptr when not cached.
    const entry* cached(const file_key& key);
    // hash_fd with the fstat already done; the cache entry, or nullptr.
    const entry* hash_opened(int fd, const file_key& key, bool regular);
    // Owner, mode, digests and package of the regular file behind the
    // O_PATH descriptor `pfd` named `path`.
    verified_file examine(int pfd, const struct stat& sb, std::string_view path);

    hash_cache_options opts_;
    std::list<entry> lru_; // most recently used first
    std::unordered_map<file_key, std::list<entry>::iterator, key_hash> index_;
    std::vector<unsigned char> buf_;
    hash_cache_stats stats_;
    const package_db* packages_ = nullptr;
    mount_table* mounts_ = nullptr;
    mutable fd_guard own_root_{-1}; // O_PATH "/", once root_dir opened it

    // A file on `dev` is on a FUSE or network filesystem: its type, counted.
    std::string remote_reason(std::uint64_t dev);
    // Whether looking `path` up under `root` ("" or "/": the sensor's own
    // root; the host root; /proc/PID/root) may cross a FUSE or network mount.
    bool lookup_may_block(std::string_view root, std::string_view path, pid_type pid) const;
};

} // namespace barbwire::sensor
