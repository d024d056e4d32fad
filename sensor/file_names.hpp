#pragma once
// The files the rules name, by identity: which inode (device, inode number)
// each named file is right now, so that an open of that inode under another
// name (a hard link, a bind mount) matches the rules as an open of the named
// path does (issue 4). The library takes the result as file_event records.
//
// What is examined, per refresh:
//   - every pattern of suspicious_files that starts with '/', as an absolute
//     path (/etc/shadow);
//   - every pattern under every local home directory, joined with exactly one
//     '/' (/root/.ssh/id_rsa, /home/ann/.aws/credentials). The homes are /root
//     and the home field of each entry of /etc/passwd, read from the file
//     itself: never through NSS (getpwent), which may ask LDAP or sssd and
//     block the event loop on a network round trip;
//   - patterns ending in '/' name directories ("/tmp/") and are skipped.
// A candidate becomes an identity when stat(2) (following symlinks) says it
// is a regular file.
//
// Homes are opened with O_PATH, which does not trigger an automount, and a
// home that is an unmounted autofs point or lies on a network filesystem
// (NFS, SMB, Ceph, AFS, 9p, FUSE) is skipped: the event loop must never wait
// on a file server. Keys there are matched by path only.
//
// Bounds: at most max_homes homes (/root included), at most about
// max_probes filesystem calls per refresh. When a refresh runs out of probes
// it stops after a home and the next refresh continues with the following
// homes, so every home is examined within a few refreshes.
//
// Problems (unreadable passwd, malformed passwd lines, a bound hit, a home or
// file that cannot be examined for a reason other than "missing") never stop
// anything: they are counted, and each distinct problem is reported once as a
// notice line.
//
// Unit-tested in test/unit/test_sensor_file_names.cpp over a fake tree.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <barbwire/config.hpp>
#include <barbwire/event.hpp>

namespace barbwire::sensor {

// --- /etc/passwd ---------------------------------------------------------------

struct passwd_homes {
    std::vector<std::string> homes; // normalized (normalize_home), deduplicated, in file order
    std::size_t entries = 0;        // well-formed entries (including duplicates and dropped homes)
    std::size_t skipped = 0;        // malformed lines: wrong field count, bad uid/gid, relative home, NUL
    std::size_t first_skipped_line = 0; // 1-based line number of the first malformed line; 0 if none
    std::size_t over_limit = 0;     // distinct homes dropped because max_homes were already listed
};

// The home directories of the entries of a passwd file (name:pw:uid:gid:gecos:dir:shell).
// Empty lines, '#' comments and NIS compat lines ('+...', '-...') are ignored
// without counting; every other line that is not a well-formed entry with an
// absolute home is counted in `skipped`. At most `max_homes` distinct homes.
[[nodiscard]] passwd_homes parse_passwd(std::string_view text, std::size_t max_homes);

// A home directory as it is joined to patterns: absolute, repeated '/'
// collapsed, no trailing '/' except for "/" itself. nullopt when not absolute
// or holding a NUL.
[[nodiscard]] std::optional<std::string> normalize_home(std::string_view home);

// `home` and `pattern` joined with exactly one '/': ("/root", ".ssh/id_rsa")
// and ("/root/", "/.ssh/id_rsa") both give "/root/.ssh/id_rsa"; ("/", "x") gives "/x".
[[nodiscard]] std::string join_home(std::string_view home, std::string_view pattern);

// The name of a filesystem (statfs f_type, whose magic numbers are 32-bit)
// that a home directory is not examined on: an unmounted autofs point, or a
// network or userspace filesystem whose stat may wait on a server. nullptr
// for every other filesystem.
[[nodiscard]] const char* skipped_home_filesystem(std::uint32_t f_type) noexcept;

// --- the named files -----------------------------------------------------------

struct file_names_options {
    std::string root;                        // prefix of every path examined; "" is the real root (tests)
    std::string passwd_path = "/etc/passwd"; // absolute, read under root
    std::size_t max_homes = 4096;            // homes examined, /root included
    std::size_t max_probes = 32768;          // filesystem calls per refresh (about)
    std::size_t max_passwd_bytes = std::size_t{16} << 20; // a longer passwd is read up to here
    bool examine_network_homes = false;      // stat homes on NFS, SMB, FUSE...: may block
};

// What one refresh looked at.
struct file_names_refresh_stats {
    std::size_t homes = 0;           // distinct homes listed (/root included)
    std::size_t homes_examined = 0;  // homes probed in this refresh
    std::size_t homes_missing = 0;   // listed but absent or not a directory (e.g. /nonexistent)
    std::size_t homes_skipped = 0;   // autofs not mounted, network filesystem, or not searchable
    std::size_t probes = 0;          // filesystem calls made
    std::size_t files = 0;           // regular files found among the candidates examined
    std::size_t changed = 0;         // of which new or with a new identity (returned)
    std::size_t errors = 0;          // candidates or homes that failed other than by being missing
    std::size_t passwd_skipped = 0;  // malformed passwd lines
    bool passwd_read = false;        // the passwd file was read
    bool complete = true;            // every home was examined (no probe bound hit)
};

struct file_names_update {
    std::vector<file_event> changed; // new or changed identities, in examination order
    std::vector<std::string> notices; // problems not reported before, one line each (no prefix)
};

class file_names {
public:
    explicit file_names(file_names_options opts = {});

    // Examines the files `cfg` names and returns those whose identity is new
    // or changed since the previous refresh (a file that disappears is
    // forgotten, so its return is new again).
    [[nodiscard]] file_names_update refresh(const config& cfg);

    // Forgets every identity: the next refresh returns all of them.
    void forget() noexcept { known_.clear(); }

    // Named files currently known (regular files found, not since missing).
    [[nodiscard]] std::size_t size() const noexcept { return known_.size(); }
    [[nodiscard]] const file_names_refresh_stats& last() const noexcept { return last_; }
    [[nodiscard]] const file_names_options& options() const noexcept { return opts_; }

private:
    struct identity {
        std::uint64_t dev = 0;
        std::uint64_t ino = 0;
        std::string origin;  // the home it was found under; empty for an absolute pattern
        std::string pattern; // the pattern as joined (relative to the home, or absolute)
    };

    // stat()s one candidate and records the outcome.
    void examine(const std::string& path, int dirfd, const std::string& rel, const std::string& origin,
                 const std::string& pattern, file_names_update& out);
    void problem(const std::string& key, const std::string& line, file_names_update& out);

    file_names_options opts_;
    std::unordered_map<std::string, identity> known_; // by the path the rules know it by
    std::unordered_set<std::string> reported_;        // problem keys already reported
    std::size_t next_home_ = 0;                       // where an incomplete refresh stopped
    file_names_refresh_stats last_;
};

} // namespace barbwire::sensor
