#pragma once
// The files the rules name, by identity: which inode (device, inode number)
// each named file is right now, so that an open of that inode under another
// name (a hard link, a bind mount) matches the rules as an open of the named
// path does (issue 4). The library takes the result as file_event records.
//
// What is examined, per refresh (the stat phase):
//   - every pattern of suspicious_files that starts with '/', as an absolute
//     path (/etc/shadow);
//   - every pattern under every local home directory, joined with exactly one
//     '/' (/root/.ssh/id_rsa, /home/ann/.aws/credentials). The homes are /root
//     and the home field of each entry of /etc/passwd, read from the file
//     itself: never through NSS (getpwent), which may ask LDAP or sssd and
//     block the event loop on a network round trip.
// A candidate becomes an identity when stat(2) (following symlinks) says it
// is a regular file.
//
// And, on a slower cadence, the walks (issue 12): patterns ending in '/' name
// directories ("/.password-store/"), and some name a file that can sit
// anywhere ("/logins.json", ".kdbx", "/wallet.dat"). Neither is found by
// joining it to a home, so the sensor walks, bounded:
//   - every directory pattern of a category that counts (not context) under
//     every home, and at the root when it starts with '/': every regular file
//     inside becomes an identity;
//   - the places below every home where such stores live (browser profile
//     trees, wallet and messaging application directories, their snap and
//     flatpak variants: default_search_roots()), and the home itself two
//     levels deep when the account owns it: every regular file whose path
//     holds a pattern of a category that counts becomes an identity.
// A walk pass starts at the first refresh and then every `walk_every`
// refreshes; it reads at most `max_walk_entries` directory entries per
// refresh and continues where it stopped at the next one. It does not follow
// symbolic links below a walked root, does not enter caches and other huge
// trees (walk_skips_directory), and does not cross into a network, FUSE,
// automount or kernel filesystem (walk_skips_filesystem, by /proc/self/mountinfo).
// When a pass completes, a walked file it did not see again is forgotten.
//
// Homes are opened with O_PATH, which does not trigger an automount, and a
// home that is an unmounted autofs point or lies on a network filesystem
// (NFS, SMB, Ceph, AFS, 9p, FUSE) is skipped: the event loop must never wait
// on a file server. Keys there are matched by path only.
//
// Bounds: at most max_homes homes (/root included), at most about
// max_probes filesystem calls per refresh for the stat phase. When a refresh
// runs out of probes it stops after a home and the next refresh continues
// with the following homes, so every home is examined within a few
// refreshes. The walks have their own bounds (file_names_options).
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

#include "mounts.hpp"

#include <barbwire/config.hpp>
#include <barbwire/event.hpp>
#include <barbwire/rules.hpp>

namespace barbwire::sensor {

// --- /etc/passwd ---------------------------------------------------------------

struct passwd_homes {
    std::vector<std::string> homes; // normalized (normalize_home), deduplicated, in file order
    std::vector<std::uint32_t> uids; // uids[i]: the uid of the first entry whose home is homes[i]
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

// --- walks ---------------------------------------------------------------------

// A place below every home that is walked for the files the rules name.
struct search_root {
    std::string rel;           // below the home, no leading '/'; "" is the home itself
    std::size_t max_depth = 8; // directory levels entered below it (0: only its own entries)
    friend bool operator==(const search_root&, const search_root&) = default;
};

// Where the stores named by a name that can sit anywhere live on Linux:
// browser profile trees (Firefox, Thunderbird, Chrome, Chromium, Brave, Edge,
// Vivaldi, Opera, and the snap and flatpak variants of the common ones),
// wallet applications' directories, messaging applications' directories, and
// the home itself two levels deep (a KeePass database in ~/Documents). Each
// with a depth that reaches the stores and little more.
[[nodiscard]] std::vector<search_root> default_search_roots();

// One walk of a pass: `rel` below `home` ("/" for a pattern's absolute directory).
struct walk_root {
    std::string home;
    std::string rel;                 // "" is the home itself
    std::size_t max_depth = 8;       // directory levels entered below the root
    bool home_itself = false;        // the home's own top levels: entered only when the account owns the
                                     // home, and directories whose name starts with '.' are not entered
    [[nodiscard]] std::string path() const; // home and rel joined
    friend bool operator==(const walk_root&, const walk_root&) = default;
};

// The walks of a pass over `homes` (in that order, then the absolute
// directories), each place once: for every home, every directory pattern of a
// category that counts (context categories are never walked), then every
// search root; then every directory pattern that starts with '/' at the root.
// No walk at all when no category that counts has a pattern. Depths are
// capped at `max_depth`.
[[nodiscard]] std::vector<walk_root> plan_walks(const config& cfg, const std::vector<std::string>& homes,
                                                const std::vector<search_root>& search, std::size_t max_depth);

// Directory names a walk never enters: caches, version-control and package
// trees, crash dumps. None of them holds a credential store; some hold
// hundreds of thousands of files.
[[nodiscard]] bool walk_skips_directory(std::string_view name) noexcept;

// Whether a walk stays out of a filesystem of this type (mountinfo's name):
// network and cluster filesystems and FUSE (a read may wait on a server or a
// daemon), autofs (entering it mounts), and kernel filesystems (/proc, /sys:
// no stores, endless trees).
[[nodiscard]] bool walk_skips_filesystem(std::string_view fstype) noexcept;

// mount_entry and parse_mountinfo: mounts.hpp.

// --- the named files -----------------------------------------------------------

struct file_names_options {
    std::string root;                        // prefix of every path examined; "" is the real root (tests)
    std::string passwd_path = "/etc/passwd"; // absolute, read under root
    std::size_t max_homes = 4096;            // homes examined, /root included
    std::size_t max_probes = 32768;          // filesystem calls per refresh (about)
    std::size_t max_passwd_bytes = std::size_t{16} << 20; // a longer passwd is read up to here
    bool examine_network_homes = false;      // stat homes on NFS, SMB, FUSE...: may block

    // The walks (directory patterns, names that can sit anywhere).
    bool walk = true;
    std::vector<search_root> search_roots = default_search_roots();
    std::size_t walk_every = 6;          // a pass starts every N refreshes (the sensor refreshes every 10 s)
    std::size_t max_walk_entries = 8192; // directory entries read per refresh, about (one directory may pass it)
    std::size_t max_walk_depth = 8;      // directory levels below a walked root
    std::size_t max_dir_entries = 4096;  // entries read from one directory
    std::size_t max_root_entries = 65536; // entries read below one walked root, per pass
    std::size_t max_root_files = 1024;   // identities found below one walked root
    std::size_t max_walk_files = 4096;   // identities found by walks in all, per pass
    std::string mountinfo_path = "/proc/self/mountinfo"; // read as it is (not under root)
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

    // The walks, in this refresh.
    bool walk_started = false;       // a pass started
    bool walk_finished = false;      // a pass ended (complete or stopped at max_walk_files)
    bool walk_complete = false;      // a pass ended having walked every root of its plan
    std::size_t walk_roots = 0;      // roots in the current pass's plan
    std::size_t walk_dirs = 0;       // directories read
    std::size_t walk_entries = 0;    // directory entries read
    std::size_t walk_files = 0;      // regular files found that the rules name
    std::size_t walk_changed = 0;    // of which new or with a new identity (returned)
    std::size_t walk_skipped = 0;    // directories not entered: another filesystem of a skipped type
    std::size_t walk_aliases = 0;    // files not reported: their inode is named by another path already
    std::size_t walk_errors = 0;     // directories that could not be read other than by being missing
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
    void forget() noexcept {
        known_.clear();
        walk_.active = false;
        walk_.due = true;
    }

    // Named files currently known (regular files found, not since missing).
    [[nodiscard]] std::size_t size() const noexcept { return known_.size(); }
    // Of which found by walks.
    [[nodiscard]] std::size_t walked() const noexcept;
    // Walk passes completed so far (every root of the plan walked).
    [[nodiscard]] std::uint64_t walk_passes() const noexcept { return walk_.completed; }
    // A walk pass is under way (it continues at the next refresh).
    [[nodiscard]] bool walking() const noexcept { return walk_.active; }
    [[nodiscard]] const file_names_refresh_stats& last() const noexcept { return last_; }
    [[nodiscard]] const file_names_options& options() const noexcept { return opts_; }

private:
    struct identity {
        std::uint64_t dev = 0;
        std::uint64_t ino = 0;
        std::string origin;  // the home it was found under; empty for an absolute pattern
        std::string pattern; // the pattern as joined (relative to the home, or absolute); a walk: its root's path
        bool walked = false; // found by a walk (the stat phase owns a path it also names)
        std::uint64_t pass = 0; // walked: the pass that last saw it
    };

    struct pending_dir {
        std::string rel;       // below the root's home ("" is the home)
        std::size_t depth = 0; // levels below the root
        std::uint64_t dev = 0; // the filesystem it is on
    };

    struct inode_id {
        std::uint64_t dev = 0;
        std::uint64_t ino = 0;
        friend bool operator==(const inode_id&, const inode_id&) = default;
    };
    struct inode_id_hash {
        [[nodiscard]] std::size_t operator()(const inode_id& k) const noexcept {
            return std::hash<std::uint64_t>{}(k.ino * 0x9e3779b97f4a7c15ull ^ k.dev);
        }
    };

    struct home_state {
        bool usable = false; // a directory on a filesystem the walks enter
        bool owned = false;  // owned by the uid of its passwd entry (/root: uid 0)
        std::uint64_t dev = 0;
    };

    struct walk_state {
        bool active = false;   // a pass is under way
        bool due = true;       // a pass starts at the next refresh
        std::size_t since = 0; // refreshes since the last pass started
        std::uint64_t pass = 0;      // the current (or last) pass
        std::uint64_t completed = 0; // passes that walked every root
        std::vector<walk_root> plan;
        std::size_t next = 0;        // the root being walked, or the next one
        bool in_root = false;        // plan[next]'s directories are in `stack`
        std::vector<pending_dir> stack;
        std::size_t root_entries = 0, root_files = 0; // below plan[next]
        std::size_t files = 0;       // identities found in this pass
        std::size_t signature = 0;   // of the rules the plan was made for
        std::vector<std::string> patterns; // of the categories that count, for `matcher`
        detail::substring_automaton matcher;
        std::unordered_map<std::uint64_t, std::string> mounts; // dev -> fstype, read at pass start
        bool mounts_known = false;
        std::unordered_map<std::string, std::uint32_t> owners; // home -> uid, at pass start
        std::unordered_map<std::string, home_state> homes;     // checked in this pass
        // Which path names each inode, rebuilt every refresh: an inode is reported under one path
        // (the stat phase's, else the first walk's), because the correlator keeps one path per inode,
        // and a hard link to /etc/shadow dropped into a walked directory must not rename it.
        std::unordered_map<inode_id, std::string, inode_id_hash> inode_paths;
    };

    // stat()s one candidate and records the outcome.
    void examine(const std::string& path, int dirfd, const std::string& rel, const std::string& origin,
                 const std::string& pattern, file_names_update& out);
    void problem(const std::string& key, const std::string& line, file_names_update& out);

    // The walks: start a pass when one is due, then walk within the bound.
    void walk(const config& cfg, const std::vector<std::string>& homes,
              const std::unordered_map<std::string, std::uint32_t>& owners, file_names_update& out);
    void start_pass(const config& cfg, const std::vector<std::string>& homes,
                    const std::unordered_map<std::string, std::uint32_t>& owners, file_names_update& out);
    void end_pass(bool complete);
    // Opens plan[next]'s root; false when it is not walked.
    bool open_root(int homefd, file_names_update& out);
    const home_state& check_home(const std::string& home, file_names_update& out);
    // Whether a directory on `dev`, entered from `from_dev`, may be walked.
    bool enters(std::uint64_t dev, std::uint64_t from_dev, const std::string& path, file_names_update& out,
                bool report = true);
    void read_dir(int homefd, const pending_dir& dir, std::size_t& budget, file_names_update& out);
    void record_walked(const std::string& path, std::uint64_t dev, std::uint64_t ino, file_names_update& out);

    file_names_options opts_;
    std::unordered_map<std::string, identity> known_; // by the path the rules know it by
    std::unordered_set<std::string> reported_;        // problem keys already reported
    std::size_t next_home_ = 0;                       // where an incomplete refresh stopped
    file_names_refresh_stats last_;
    walk_state walk_;
};

} // namespace barbwire::sensor
