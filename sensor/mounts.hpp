#pragma once
// Mount tables: which filesystem a device number is, and which mount points
// a path lookup would cross (issue 15, docs/design.md "Reads that may never
// return").
//
// A FUSE or network filesystem answers a lookup, stat, open or read only
// when its daemon or server does, which may be never: the sensor must not
// touch a file there from its event loop. The kernel's events name a file
// by (dev, ino); /proc/self/mountinfo (and the host's, /proc/1/mountinfo)
// say which filesystem type each device is, and where it is mounted.
//
// The parsers and the classification are pure (unit-tested in
// test/unit/test_sensor_mounts.cpp); mount_table reads mountinfo files under
// a proc root that tests replace.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <barbwire/event.hpp>

namespace barbwire::sensor {

struct mount_entry {
    std::uint64_t dev = 0; // makedev(major, minor), as st_dev
    std::string fstype;
    std::string mount_point; // with mountinfo's octal escapes (\040) decoded
    std::string root;        // the mount's root within its file system (decoded likewise)
    std::uint64_t mount_id = 0; // mountinfo's first field (unique while the mount exists)
    friend bool operator==(const mount_entry&, const mount_entry&) = default;
};

// The mounts of /proc/self/mountinfo text; malformed lines are skipped.
[[nodiscard]] std::vector<mount_entry> parse_mountinfo(std::string_view text);

// Whether a call on a file of this filesystem type (mountinfo's name) may
// wait on something other than the local kernel and disks: network and
// cluster filesystems (a server) and FUSE (a daemon: fuse, fuseblk, fuse.*).
[[nodiscard]] bool filesystem_may_block(std::string_view fstype) noexcept;

// Whether looking `path` up (absolute) crosses one of `mount_points`: one
// of them is `path` itself or a directory above it ("/" crosses all).
[[nodiscard]] bool path_crosses(const std::vector<std::string>& mount_points, std::string_view path) noexcept;

// What the sensor may do with a file on a device.
enum class fs_verdict : std::uint8_t {
    local,     // a local filesystem: examine it
    may_block, // FUSE or network (filesystem_may_block): do not touch it
    unknown,   // an anonymous device (major 0: FUSE, NFS, tmpfs, overlay...) no table lists: do not touch it
};

struct mount_table_options {
    std::string proc_root = "/proc";
    // Also the host's mount namespace (<proc_root>/1/mountinfo), for lookups
    // under /proc/1/root (identity.hpp's host_root).
    bool host = true;
    // The tables are read again on the first lookup after this long (a
    // device number is reused once its filesystem is unmounted)...
    std::chrono::nanoseconds max_age = std::chrono::seconds(5);
    // ... and, for a device they do not list, at most this often.
    std::chrono::nanoseconds min_interval = std::chrono::seconds(1);
    std::size_t max_devices = 16384;       // devices remembered (those read from processes' tables included)
    std::size_t max_bytes = std::size_t{4} << 20; // of one mountinfo file
    // Monotonic time; tests replace it.
    std::function<std::chrono::nanoseconds()> clock;
};

struct mount_table_stats {
    std::uint64_t reads = 0;         // mountinfo files read (self, host, processes')
    std::uint64_t read_failures = 0; // ... that could not be read
    std::uint64_t unknown = 0;       // lookups of a device no table listed
};

class mount_table {
public:
    explicit mount_table(mount_table_options opts = {});

    // What to do with a file on `dev`. `pid` (0: none) is a process whose
    // mount namespace holds that device's mount (the process that exec'd
    // the file): its mountinfo is read when the device is not known yet.
    // A block device (major != 0) no table lists is local: FUSE on a block
    // device (fuseblk) needs the right to mount one.
    [[nodiscard]] fs_verdict classify(std::uint64_t dev, pid_type pid = 0);
    // As classify, for the executable of a live process `pid` whose event
    // named (dev, ino): a device no table lists (an anonymous one: a btrfs
    // subvolume's, a mount of a namespace since gone) is told by the mount
    // that /proc/<pid>/exe is on. Its O_PATH descriptor (which asks that
    // filesystem nothing) names the mount by id in /proc/self/fdinfo, and
    // pins it while the process's table is read: no race with a reused id.
    [[nodiscard]] fs_verdict classify_exe(std::uint64_t dev, std::uint64_t ino, pid_type pid);
    // The filesystem type of `dev` as the last lookup found it; "" when unknown.
    [[nodiscard]] std::string fstype(std::uint64_t dev) const;

    // Whether looking `path` up from the root of the host's mount namespace
    // (host) or the sensor's own could cross a FUSE or network mount.
    [[nodiscard]] bool path_may_block(std::string_view path, bool host);
    // The same in `pid`'s mount namespace (from its root, /proc/PID/root);
    // true when its table cannot be read.
    [[nodiscard]] bool pid_path_may_block(pid_type pid, std::string_view path);

    [[nodiscard]] const mount_table_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t devices() const noexcept { return devs_.size(); }

private:
    std::chrono::nanoseconds now() const;
    void reload();           // self (and host): the device table and the blocking mount points
    void refresh_if_aged();
    bool read_table(const std::string& path, std::vector<mount_entry>& out);
    void add_devices(const std::vector<mount_entry>& m);

    mount_table_options opts_;
    std::unordered_map<std::uint64_t, std::string> devs_; // dev -> fstype
    std::unordered_set<std::uint64_t> missing_;            // looked up in a process's table, not there
    std::vector<std::string> self_blocking_;               // FUSE/network mount points, sensor's namespace
    std::vector<std::string> host_blocking_;               // ... the host's
    std::chrono::nanoseconds loaded_{0};
    bool ever_loaded_ = false;
    mount_table_stats stats_;
};

} // namespace barbwire::sensor
