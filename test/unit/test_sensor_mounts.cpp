// sensor/mounts (issue 15): which device is which filesystem, from fake
// mountinfo files under a proc root the test writes; FUSE and network
// filesystems (and unlisted anonymous devices) are not to be touched.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mounts.hpp"
#include "sensor_test_files.hpp"

using namespace barbwire::sensor;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string self_text =
    "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
    "23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n"
    "30 22 0:45 / /mnt/fuse\\040dir rw,nosuid,nodev,relatime shared:40 - fuse.hang_fs hang_fs rw,user_id=0\n"
    "31 22 0:46 / /home/u/sshfs rw - fuse.sshfs u@h:/ rw\n"
    "32 22 0:47 / /srv/nfs rw - nfs4 h:/export rw,vers=4.2\n"
    "33 22 0:48 / /tmp rw - tmpfs tmpfs rw\n"
    "34 22 8:17 / /media/win rw - fuseblk /dev/sdb1 rw\n"
    "35 22 0:49 / /opt/local rw - overlay overlay rw\n";
const std::string host_text = self_text + "40 22 0:60 / /host/only rw - 9p h rw\n";

struct fake_proc {
    bw_test::temp_dir root{"bw-mounts"};
    std::chrono::nanoseconds now{1s};
    fake_proc() {
        fs::create_directories(root / "self");
        fs::create_directories(root / "1");
        bw_test::write(root / "self" / "mountinfo", self_text);
        bw_test::write(root / "1" / "mountinfo", host_text);
    }
    mount_table table(bool host = true) {
        mount_table_options o;
        o.proc_root = root.dir.string();
        o.host = host;
        o.clock = [this] { return now; };
        return mount_table(std::move(o));
    }
};

std::uint64_t dev(unsigned maj, unsigned min) { return static_cast<std::uint64_t>(makedev(maj, min)); }

} // namespace

TEST_CASE("filesystem_may_block: FUSE and network filesystems, not local or kernel ones", "[sensor][mounts]") {
    for (const char* t : {"fuse", "fuseblk", "fuse.sshfs", "fuse.hang_fs", "nfs", "nfs4", "cifs", "smb3", "ceph",
                          "9p", "afs", "glusterfs", "lustre"})
        CHECK(filesystem_may_block(t));
    for (const char* t : {"ext4", "xfs", "btrfs", "tmpfs", "overlay", "proc", "squashfs", "fusectl", "", "fusefoo"})
        CHECK_FALSE(filesystem_may_block(t));
}

TEST_CASE("path_crosses: a mount point at or above the path", "[sensor][mounts]") {
    const std::vector<std::string> m{"/mnt/fuse", "/srv/nfs"};
    CHECK(path_crosses(m, "/mnt/fuse"));
    CHECK(path_crosses(m, "/mnt/fuse/bin/x"));
    CHECK(path_crosses(m, "/srv/nfs/a"));
    CHECK_FALSE(path_crosses(m, "/mnt/fuser/x")); // a sibling name, not below
    CHECK_FALSE(path_crosses(m, "/mnt"));
    CHECK_FALSE(path_crosses(m, "/usr/bin/true"));
    CHECK(path_crosses({"/"}, "/usr/bin/true"));
    CHECK_FALSE(path_crosses({}, "/usr/bin/true"));
}

TEST_CASE("mount_table: devices classified from mountinfo", "[sensor][mounts]") {
    fake_proc p;
    mount_table t = p.table();
    CHECK(t.classify(dev(254, 1)) == fs_verdict::local);
    CHECK(t.classify(dev(0, 48)) == fs_verdict::local); // tmpfs
    CHECK(t.classify(dev(0, 49)) == fs_verdict::local); // overlay
    CHECK(t.classify(dev(0, 45)) == fs_verdict::may_block);
    CHECK(t.fstype(dev(0, 45)) == "fuse.hang_fs");
    CHECK(t.classify(dev(0, 46)) == fs_verdict::may_block);
    CHECK(t.classify(dev(0, 47)) == fs_verdict::may_block);
    CHECK(t.classify(dev(8, 17)) == fs_verdict::may_block); // fuseblk
    CHECK(t.classify(dev(0, 60)) == fs_verdict::may_block); // in the host's table only
    // Listed nowhere: an anonymous device is unknown (not touched), a block device local.
    CHECK(t.classify(dev(0, 99)) == fs_verdict::unknown);
    CHECK(t.classify(dev(8, 99)) == fs_verdict::local);
    CHECK(t.stats().unknown == 2);
    // Without the host's table, what only the host lists is unknown.
    mount_table own = p.table(false);
    CHECK(own.classify(dev(0, 60)) == fs_verdict::unknown);
}

TEST_CASE("mount_table: an unknown device is looked up in the process's own table, and after a mount",
          "[sensor][mounts]") {
    fake_proc p;
    mount_table t = p.table();
    CHECK(t.classify(dev(0, 70), 4242) == fs_verdict::unknown); // no /proc/4242 yet
    // A process whose namespace has a FUSE mount of its own (a user namespace).
    fs::create_directories(p.root / "4242");
    bw_test::write(p.root / "4242" / "mountinfo", "50 49 0:70 / /home/u/m rw - fuse.evil evil rw\n");
    p.now += 2s; // past min_interval: the device is looked for again
    CHECK(t.classify(dev(0, 71), 4242) == fs_verdict::unknown);
    CHECK(t.classify(dev(0, 70), 4242) == fs_verdict::may_block);
    CHECK(t.fstype(dev(0, 70)) == "fuse.evil");

    // Mounted after the first read: found once min_interval has passed.
    bw_test::write(p.root / "self" / "mountinfo", self_text + "60 22 0:80 / /mnt/new rw - cifs //h/s rw\n");
    p.now += 2s;
    CHECK(t.classify(dev(0, 80)) == fs_verdict::may_block);
    // A device number reused by another filesystem after max_age: the new one.
    bw_test::write(p.root / "self" / "mountinfo", "60 22 0:80 / /mnt/new rw - tmpfs tmpfs rw\n");
    bw_test::write(p.root / "1" / "mountinfo", "60 22 0:80 / /mnt/new rw - tmpfs tmpfs rw\n");
    CHECK(t.classify(dev(0, 80)) == fs_verdict::may_block); // within max_age: the table as read
    p.now += 6s;
    CHECK(t.classify(dev(0, 80)) == fs_verdict::local);
}

TEST_CASE("mount_table: paths through FUSE or network mount points", "[sensor][mounts]") {
    fake_proc p;
    mount_table t = p.table();
    CHECK(t.path_may_block("/mnt/fuse dir/exe", false)); // \040 decoded
    CHECK(t.path_may_block("/home/u/sshfs/bin/tool", true));
    CHECK(t.path_may_block("/host/only/x", true));
    CHECK_FALSE(t.path_may_block("/host/only/x", false));
    CHECK_FALSE(t.path_may_block("/usr/bin/true", true));
    CHECK_FALSE(t.path_may_block("/tmp/x", false));
    fs::create_directories(p.root / "77");
    bw_test::write(p.root / "77" / "mountinfo", "1 0 0:90 / / rw - overlay o rw\n2 1 0:91 / /data rw - nfs h:/ rw\n");
    CHECK(t.pid_path_may_block(77, "/data/x"));
    CHECK_FALSE(t.pid_path_may_block(77, "/usr/bin/x"));
    CHECK(t.pid_path_may_block(78, "/usr/bin/x")); // no table: may block
}

TEST_CASE("mount_table::classify_exe: an unlisted anonymous device is told by the mount of /proc/PID/exe",
          "[sensor][mounts]") {
    fake_proc p;
    const fs::path file = p.root / "exe-file";
    bw_test::write(file, "x");
    fs::create_directories(p.root / "4242");
    fs::create_symlink(file, p.root / "4242" / "exe");
    struct stat sb {};
    REQUIRE(::stat(file.c_str(), &sb) == 0);
    const auto ino = static_cast<std::uint64_t>(sb.st_ino);
    // The mount the file is on, by id, as the kernel numbers it (our own fdinfo).
    std::string mnt_id;
    {
        const int fd = ::open(file.c_str(), O_PATH | O_CLOEXEC);
        REQUIRE(fd >= 0);
        const std::string info = bw_test::read("/proc/self/fdinfo/" + std::to_string(fd));
        ::close(fd);
        const auto at = info.find("mnt_id:");
        REQUIRE(at != std::string::npos);
        std::size_t i = at + 7;
        while (i < info.size() && (info[i] == '\t' || info[i] == ' ')) ++i;
        while (i < info.size() && info[i] >= '0' && info[i] <= '9') mnt_id += info[i++];
        REQUIRE_FALSE(mnt_id.empty());
    }
    // As for a btrfs subvolume: the files' device is not the mount's.
    const std::uint64_t subvol = dev(0, 4094);
    bw_test::write(p.root / "4242" / "mountinfo", mnt_id + " 1 0:4093 / / rw - btrfs /dev/vdb rw\n");
    {
        mount_table t = p.table();
        CHECK(t.classify(subvol) == fs_verdict::unknown);
        CHECK(t.classify_exe(subvol, ino, 4242) == fs_verdict::local);
        CHECK(t.fstype(subvol) == "btrfs");
        CHECK(t.classify(subvol) == fs_verdict::local); // remembered until the next reload
    }
    {
        mount_table t = p.table();
        CHECK(t.classify_exe(subvol, ino + 1, 4242) == fs_verdict::unknown); // another file: exec'd again
        CHECK(t.classify_exe(subvol, ino, 0) == fs_verdict::unknown);        // no process
        CHECK(t.classify_exe(subvol, ino, 4343) == fs_verdict::unknown);     // gone
    }
    bw_test::write(p.root / "4242" / "mountinfo", mnt_id + " 1 0:4093 / / rw - fuse.evil evil rw\n");
    {
        mount_table t = p.table();
        CHECK(t.classify_exe(subvol, ino, 4242) == fs_verdict::may_block);
    }
}
