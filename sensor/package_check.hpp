#pragma once
// MINIMAL package provenance for owner use (issue 13), to be unified with
// the "trust" helper's implementation at merge, which owns exe_package and
// exe_host_file (event.hpp). What it does:
//
//  * package_index: every "<md5>  <path>" line of dpkg's
//    /var/lib/dpkg/info/*.md5sums, indexed by a 64-bit hash of the path
//    (with and without a usr-merge "/usr" prefix); built at start and again
//    when the directory's mtime changes (a package was installed or
//    removed). exe_package(pid, exe, dev, ino) is the package whose listed
//    md5 equals the MD5 of the very file the process runs (/proc/PID/exe,
//    else the path when it is the same (dev, ino)), computed with libcrypto
//    and cached by (dev, ino, size, mtime); empty when none.
//  * exe_host_file(exe, dev, ino): whether the path, looked up in the
//    host's mount namespace (/proc/1/root), is that (dev, ino).

#include <array>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <barbwire/event.hpp>

#include "identity.hpp"

namespace barbwire::sensor {

struct package_index_stats {
    std::uint64_t builds = 0;     // index (re)builds
    std::uint64_t entries = 0;    // paths indexed
    std::uint64_t md5_computed = 0;
    std::uint64_t verified = 0;   // exe_package answers that named a package
    std::uint64_t mismatched = 0; // listed, but the file's MD5 differs (modified)
};

class package_index {
public:
    explicit package_index(std::string info_dir = "/var/lib/dpkg/info", std::string proc_root = "/proc");

    [[nodiscard]] std::string exe_package(pid_type pid, const std::string& exe, std::uint64_t dev, std::uint64_t ino);

    [[nodiscard]] const package_index_stats& stats() const noexcept { return stats_; }

private:
    struct listed {
        std::uint32_t package = 0;
        std::array<unsigned char, 16> md5{};
    };
    struct key_hash {
        std::size_t operator()(const file_key& k) const noexcept;
    };
    void refresh();
    std::optional<std::array<unsigned char, 16>> md5_of(pid_type pid, const std::string& exe, std::uint64_t dev,
                                                        std::uint64_t ino);

    std::string info_dir_;
    std::string proc_root_;
    std::int64_t dir_mtime_ns_ = -1;
    std::vector<std::string> packages_;
    std::unordered_multimap<std::uint64_t, listed> paths_;
    std::unordered_map<file_key, std::array<unsigned char, 16>, key_hash> md5_cache_;
    package_index_stats stats_;
};

// Whether `exe`, resolved in the host's mount namespace (`proc_root`/1/root),
// is the file (dev, ino). When init's root cannot be opened (a sandbox
// whose pid 1 is not ours to inspect), the sensor's own mount namespace
// stands for the host's. nullopt when it cannot be told. (`pid` is kept
// for the trust helper's version, which may look at the process itself.)
[[nodiscard]] std::optional<bool> exe_host_file(pid_type pid, const std::string& exe, std::uint64_t dev,
                                                std::uint64_t ino, const std::string& proc_root = "/proc");

} // namespace barbwire::sensor
