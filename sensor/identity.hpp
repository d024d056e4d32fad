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

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <barbwire/event.hpp>

namespace barbwire::sensor {

// SHA-256 of everything `fd` yields from its current offset, as 64 lowercase
// hex digits. nullopt on a read error, or when more than `max_bytes` bytes
// come out (the digest of a prefix would be a lie). `buf` is the read buffer.
[[nodiscard]] std::optional<std::string> sha256_fd(int fd, std::uint64_t max_bytes, std::vector<unsigned char>& buf);

// SHA-256 of a byte string, lowercase hex (for tests and small inputs).
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

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
};

struct hash_cache_options {
    std::size_t capacity = 4096;                      // cached digests (LRU)
    std::uint64_t max_bytes = std::uint64_t{256} << 20; // larger executables stay unknown
    std::size_t buffer_bytes = std::size_t{1} << 16;  // read buffer
    std::string proc_root = "/proc";                   // "/proc" except in tests
};

// What the sensor learns about the executable of an exec event: its
// SHA-256 and, from the same fstat, its owner and permission bits
// (st_mode & 07777). Each is unknown (empty / nullopt) when the file could
// not be examined; owner and mode are known even for a file too large to hash.
struct exe_identity {
    std::string sha256;
    std::optional<std::uint32_t> uid;
    std::optional<std::uint32_t> mode;
};

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

    // The script an interpreter of `pid` opened (script_event): owner, mode
    // and SHA-256 of the file at the kernel-resolved `path` as `pid` sees it
    // (/proc/<pid>/root<path>, else `path`), opened without following a
    // final symlink, and only when it is still inode (dev, ino) of the event.
    // A file swapped in since (rename, a new symlink) is another inode:
    // unknown (empty, nullopt), never the new file's identity.
    [[nodiscard]] exe_identity script_identify(pid_type pid, std::string_view path, std::uint64_t dev,
                                               std::uint64_t ino);

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
    };

    // Opens `path` read-only for hashing; -1 on failure.
    static int open_for_hash(const char* path);
    // hash_fd with the fstat already done.
    std::string hash_opened(int fd, const file_key& key, bool regular);

    hash_cache_options opts_;
    std::list<entry> lru_; // most recently used first
    std::unordered_map<file_key, std::list<entry>::iterator, key_hash> index_;
    std::vector<unsigned char> buf_;
    hash_cache_stats stats_;
};

} // namespace barbwire::sensor
