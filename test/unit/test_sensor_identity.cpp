// sensor/identity: SHA-256 of executables (OpenSSL EVP), the (dev, ino, size,
// mtime) keyed LRU cache, and the choice between /proc/<pid>/exe and the path.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "identity.hpp"
#include "mounts.hpp"
#include "sensor_test_files.hpp"

using namespace barbwire;
using namespace barbwire::sensor;

namespace fs = std::filesystem;

namespace {

struct temp_dir : bw_test::temp_dir {
    temp_dir() : bw_test::temp_dir("bw-identity") {}
};
using bw_test::write;

void set_mtime(const fs::path& p, long sec, long nsec) {
    timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    REQUIRE(::utimensat(AT_FDCWD, p.c_str(), ts, 0) == 0);
}

// The digest by another implementation: coreutils sha256sum.
std::string sha256sum(const fs::path& p) {
    const std::string cmd = "sha256sum '" + p.string() + "'";
    FILE* f = ::popen(cmd.c_str(), "r");
    REQUIRE(f != nullptr);
    char buf[128] = {};
    const bool got = std::fgets(buf, sizeof(buf), f) != nullptr;
    const int rc = ::pclose(f);
    REQUIRE(got);
    REQUIRE(rc == 0);
    std::string line(buf);
    REQUIRE(line.size() > 64);
    return line.substr(0, 64);
}

hash_cache_options small(std::size_t capacity) {
    hash_cache_options o;
    o.capacity = capacity;
    o.buffer_bytes = 4096;
    return o;
}

} // namespace

TEST_CASE("sha256_hex matches the FIPS 180-2 test vectors", "[sensor][identity]") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("a file's digest equals sha256sum's, read in many buffer-sized pieces", "[sensor][identity]") {
    temp_dir t;
    std::string big;
    big.reserve((1u << 20) + 7);
    for (std::size_t i = 0; i < (1u << 20) + 7; ++i) big.push_back(static_cast<char>((i * 131u + 7u) & 0xff));
    write(t / "big", big);
    write(t / "empty", "");
    write(t / "abc", "abc");

    hash_cache c(small(16));
    CHECK(c.hash_path((t / "big").string()) == sha256sum(t / "big"));
    CHECK(c.hash_path((t / "empty").string()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(c.hash_path((t / "abc").string()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(c.stats().misses == 3);
    CHECK(c.stats().hits == 0);
    CHECK(c.stats().failures == 0);
    CHECK(c.size() == 3);
}

TEST_CASE("an unchanged file is hashed once; a rewritten one again", "[sensor][identity]") {
    temp_dir t;
    const fs::path p = t / "bin";
    write(p, "version one");
    set_mtime(p, 1'600'000'000, 1);
    hash_cache c(small(16));

    const std::string h1 = c.hash_path(p.string());
    CHECK(h1 == sha256_hex("version one"));
    CHECK(c.hash_path(p.string()) == h1);
    CHECK(c.stats().misses == 1);
    CHECK(c.stats().hits == 1);

    // New size.
    write(p, "version two, longer");
    set_mtime(p, 1'600'000'000, 1);
    CHECK(c.hash_path(p.string()) == sha256_hex("version two, longer"));
    CHECK(c.stats().misses == 2);

    // Same size, same inode, only the mtime differs: still re-read.
    write(p, "version 3, longer!!");
    REQUIRE(fs::file_size(p) == std::string("version two, longer").size());
    set_mtime(p, 1'600'000'000, 2);
    CHECK(c.hash_path(p.string()) == sha256_hex("version 3, longer!!"));
    CHECK(c.stats().misses == 3);
    CHECK(c.stats().hits == 1);

    // hash_fd on an already open descriptor shares the cache, whatever its offset.
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    char skip[4];
    REQUIRE(::read(fd, skip, sizeof(skip)) == 4);
    CHECK(c.hash_fd(fd) == sha256_hex("version 3, longer!!"));
    ::close(fd);
    CHECK(c.stats().hits == 2);
}

TEST_CASE("the cache is a bounded LRU and counts evictions", "[sensor][identity]") {
    temp_dir t;
    for (const char* n : {"a", "b", "c"}) write(t / n, std::string("content of ") + n);
    const auto path = [&](const char* n) { return (t / n).string(); };
    hash_cache c(small(2));
    CHECK(c.capacity() == 2);

    CHECK(c.hash_path(path("a")) == sha256_hex("content of a"));
    CHECK(c.hash_path(path("b")) == sha256_hex("content of b"));
    CHECK(c.hash_path(path("c")) == sha256_hex("content of c")); // evicts a
    CHECK(c.size() == 2);
    CHECK(c.stats().evictions == 1);

    CHECK(c.hash_path(path("a")) == sha256_hex("content of a")); // miss again; evicts b
    CHECK(c.stats().misses == 4);
    CHECK(c.stats().evictions == 2);
    CHECK(c.hash_path(path("c")) == sha256_hex("content of c")); // hit; c is now newest
    CHECK(c.stats().hits == 1);
    CHECK(c.hash_path(path("b")) == sha256_hex("content of b")); // miss; evicts a, not c
    CHECK(c.hash_path(path("c")) == sha256_hex("content of c"));
    CHECK(c.stats().hits == 2);
    CHECK(c.stats().misses == 5);
    CHECK(c.stats().evictions == 3);
    CHECK(c.size() == 2);
}

TEST_CASE("files that cannot be hashed are unknown and counted", "[sensor][identity]") {
    temp_dir t;
    hash_cache_options o = small(16);
    o.max_bytes = 10;
    hash_cache c(o);

    CHECK(c.hash_path((t / "missing").string()).empty());
    CHECK(c.stats().failures == 1);

    CHECK(c.hash_path(t.dir.string()).empty()); // a directory
    CHECK(c.stats().failures == 2);

    const fs::path fifo = t / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(c.hash_path(fifo.string()).empty()); // returns at once: not a regular file
    CHECK(c.stats().failures == 3);

    write(t / "eleven", "01234567890");
    CHECK(c.hash_path((t / "eleven").string()).empty());
    CHECK(c.stats().too_large == 1);
    write(t / "ten", "0123456789");
    CHECK(c.hash_path((t / "ten").string()) == sha256_hex("0123456789"));

    if (::geteuid() != 0) { // root reads mode-000 files anyway
        write(t / "secret", "x");
        fs::permissions(t / "secret", fs::perms::none);
        CHECK(c.hash_path((t / "secret").string()).empty());
        CHECK(c.stats().failures == 4);
    }
    CHECK(c.stats().hits == 0);
    CHECK(c.size() == 1); // failures are not cached
}

TEST_CASE("sha256_fd refuses more than max_bytes instead of hashing a prefix", "[sensor][identity]") {
    temp_dir t;
    write(t / "f", "abcdef");
    std::vector<unsigned char> buf(2);
    const int fd = ::open((t / "f").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK_FALSE(sha256_fd(fd, 5, buf));
    REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
    CHECK(sha256_fd(fd, 6, buf) == sha256_hex("abcdef"));
    ::close(fd);
}

TEST_CASE("exe_sha256 prefers /proc/<pid>/exe and checks dev/ino", "[sensor][identity]") {
    temp_dir t;
    // A fake /proc: <root>/4242/exe -> the binary that "ran".
    const fs::path ran = t / "ran";
    write(ran, "the binary that ran");
    fs::create_directories(t / "proc" / "4242");
    fs::create_symlink(ran, t / "proc" / "4242" / "exe");
    struct stat sb {};
    REQUIRE(::stat(ran.c_str(), &sb) == 0);
    const auto dev = static_cast<std::uint64_t>(sb.st_dev);
    const auto ino = static_cast<std::uint64_t>(sb.st_ino);

    // The path in the event now names another file (replaced after the exec).
    const fs::path replaced = t / "path";
    write(replaced, "an impostor");

    hash_cache_options o = small(16);
    o.proc_root = (t / "proc").string();
    hash_cache c(o);

    SECTION("the process is alive: its exe is hashed, not the path") {
        CHECK(c.exe_sha256(4242, replaced.string(), dev, ino) == sha256_hex("the binary that ran"));
        CHECK(c.exe_sha256(4242, replaced.string(), 0, 0) == sha256_hex("the binary that ran"));
        CHECK(c.stats().hits == 1);
    }
    SECTION("the process is gone: the path only when it is still the same file") {
        CHECK(c.exe_sha256(777, ran.string(), dev, ino) == sha256_hex("the binary that ran"));
        CHECK(c.exe_sha256(777, replaced.string(), dev, ino).empty());
        CHECK(c.stats().failures == 1);
        // Without an identity in the event the path is all there is.
        CHECK(c.exe_sha256(777, replaced.string(), 0, 0) == sha256_hex("an impostor"));
    }
    SECTION("/proc/<pid>/exe is another file (re-exec, pid reuse): fall back to the path") {
        struct stat rb {};
        REQUIRE(::stat(replaced.c_str(), &rb) == 0);
        const auto rdev = static_cast<std::uint64_t>(rb.st_dev);
        const auto rino = static_cast<std::uint64_t>(rb.st_ino);
        CHECK(c.exe_sha256(4242, replaced.string(), rdev, rino) == sha256_hex("an impostor"));
        CHECK(c.exe_sha256(4242, "", rdev, rino).empty());
        CHECK(c.exe_sha256(4242, "relative/path", rdev, rino).empty());
        CHECK(c.stats().failures == 2);
    }
    SECTION("kernel threads and unknown pids without a path are unknown") {
        CHECK(c.exe_sha256(0, "", 0, 0).empty());
        CHECK(c.exe_sha256(999999, "", 0, 0).empty());
        CHECK(c.stats().failures == 2);
    }
}

TEST_CASE("issue 15: a file on a FUSE or network filesystem is not touched; nor is a path through one",
          "[sensor][identity][mounts]") {
    temp_dir t;
    const fs::path exe = t / "exe";
    write(exe, "a program on a FUSE mount");
    fs::create_directories(t / "proc" / "4242");
    fs::create_directories(t / "proc" / "self");
    fs::create_symlink(exe, t / "proc" / "4242" / "exe");
    struct stat sb {};
    REQUIRE(::stat(exe.c_str(), &sb) == 0);
    const auto dev = static_cast<std::uint64_t>(sb.st_dev);
    const auto ino = static_cast<std::uint64_t>(sb.st_ino);
    const std::string mm = std::to_string(major(sb.st_dev)) + ":" + std::to_string(minor(sb.st_dev));
    const auto mountinfo = [&](const std::string& text) { write(t / "proc" / "self" / "mountinfo", text); };

    hash_cache_options o = small(16);
    o.proc_root = (t / "proc").string();
    o.host_root = ""; // the sensor's own root: the self table is the host's
    hash_cache c(o);
    mount_table_options mo;
    mo.proc_root = (t / "proc").string();
    mo.host = false;
    mount_table mounts(mo);
    c.set_mounts(&mounts);

    SECTION("the event's device is FUSE: no lookup, stat, open or read; the reason is the filesystem") {
        mountinfo("22 1 " + mm + " / / rw - fuse.hang_fs hang rw\n");
        const exe_identity id = c.exe_identify(4242, exe.string(), dev, ino);
        CHECK(id.sha256.empty());
        CHECK(id.unexamined_fs == "fuse.hang_fs");
        CHECK_FALSE(id.uid.has_value());
        CHECK_FALSE(id.host_file.has_value());
        const verified_file v = c.verify_file(exe.string(), dev, ino, 4242);
        CHECK(v.sha256.empty());
        CHECK(v.unexamined_fs == "fuse.hang_fs");
        CHECK(c.stats().remote == 2);
        CHECK(c.stats().misses == 0);
        CHECK(c.stats().hits == 0);
        CHECK(c.stats().failures == 0);
    }
    SECTION("a network filesystem likewise") {
        mountinfo("22 1 " + mm + " / / rw - nfs4 h:/x rw\n");
        CHECK(c.exe_identify(0, exe.string(), dev, ino).unexamined_fs == "nfs4");
        CHECK(c.stats().remote == 1);
    }
    SECTION("a local filesystem is examined as before") {
        mountinfo("22 1 " + mm + " / / rw - ext4 /dev/vda1 rw\n");
        const exe_identity id = c.exe_identify(4242, exe.string(), dev, ino);
        CHECK(id.sha256 == sha256_hex("a program on a FUSE mount"));
        CHECK(id.unexamined_fs.empty());
        CHECK(c.stats().remote == 0);
    }
    SECTION("the file is local, but its path crosses a FUSE mount point: the path is not looked up") {
        mountinfo("22 1 " + mm + " / / rw - ext4 /dev/vda1 rw\n30 22 0:250 / " + t.dir.string() +
                  " rw - fuse.sshfs u@h rw\n");
        // The process is gone (pid 777): only the path could be looked at.
        const exe_identity id = c.exe_identify(777, exe.string(), dev, ino);
        CHECK(id.sha256.empty());
        CHECK_FALSE(id.host_file.has_value());
        CHECK(c.stats().misses == 0);
        CHECK_FALSE(c.host_file(exe.string(), dev, ino).has_value());
    }
    SECTION("no device known: not through the link, only by the path through local mount points") {
        mountinfo("22 1 " + mm + " / / rw - ext4 /dev/vda1 rw\n");
        const exe_identity id = c.exe_identify(4242, exe.string(), 0, 0);
        CHECK(id.sha256 == sha256_hex("a program on a FUSE mount")); // the path, resolved locally
        mountinfo("22 1 " + mm + " / / rw - ext4 /dev/vda1 rw\n30 22 0:250 / " + t.dir.string() +
                  " rw - fuse.sshfs u@h rw\n");
        mount_table fresh(mo);
        c.set_mounts(&fresh);
        const exe_identity none = c.exe_identify(4242, exe.string(), 0, 0);
        CHECK(none.sha256.empty());
        CHECK(none.unexamined_fs == "unknown");
        CHECK(c.stats().unknown_fs == 1);
    }
}

TEST_CASE("issue 15: a path swapped for a symlink opens nothing: no FIFO, no device, not even its target",
          "[sensor][identity]") {
    temp_dir t;
    hash_cache_options o = small(16);
    o.proc_root = (t / "proc").string(); // no such pid: the path is all there is
    o.host_root = t.dir.string();
    hash_cache c(o);
    const auto id_of = [](const fs::path& p) {
        struct stat sb {};
        REQUIRE(::stat(p.c_str(), &sb) == 0);
        return std::pair{static_cast<std::uint64_t>(sb.st_dev), static_cast<std::uint64_t>(sb.st_ino)};
    };

    SECTION("a symlink to a FIFO: the FIFO is never opened (a blocked writer stays blocked)") {
        const fs::path fifo = t / "fifo";
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        fs::create_symlink(fifo, t / "swapped");
        const auto [dev, ino] = id_of(fifo);
        std::atomic<bool> writer_in{false};
        std::thread writer([&] {
            const int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC); // returns once a reader opens
            writer_in = true;
            if (fd >= 0) ::close(fd);
        });
        CHECK(c.exe_sha256(777, (t / "swapped").string(), dev, ino).empty());
        CHECK(c.exe_sha256(777, fifo.string(), dev, ino).empty());
        CHECK(c.verify_file("/swapped", dev, ino).sha256.empty());
        CHECK(c.hash_path((t / "swapped").string()).empty());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        CHECK_FALSE(writer_in.load()); // the old code opened it for reading: the writer got in
        const int r = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC); // let the writer go
        writer.join();
        if (r >= 0) ::close(r);
    }
    SECTION("a symlink to a device node: refused before any open") {
        fs::create_symlink("/dev/zero", t / "dev");
        const auto [dev, ino] = id_of("/dev/zero");
        CHECK(c.exe_sha256(777, (t / "dev").string(), dev, ino).empty());
        CHECK(c.exe_sha256(777, "/dev/zero", dev, ino).empty());
        CHECK(c.stats().too_large == 0);
    }
    SECTION("a symlink to the very file the event names: not followed either") {
        write(t / "ran", "the binary that ran");
        fs::create_symlink(t / "ran", t / "link");
        const auto [dev, ino] = id_of(t / "ran");
        CHECK(c.exe_sha256(777, (t / "link").string(), dev, ino).empty());
        CHECK(c.exe_sha256(777, (t / "ran").string(), dev, ino) == sha256_hex("the binary that ran"));
    }
    SECTION("a symlinked directory on the way, and .. out of the host root") {
        fs::create_directories(t / "real");
        write(t / "real" / "tool", "tool");
        fs::create_directory_symlink(t / "real", t / "dirlink");
        const auto [dev, ino] = id_of(t / "real" / "tool");
        CHECK(c.exe_sha256(777, (t / "dirlink" / "tool").string(), dev, ino).empty());
        CHECK(c.exe_sha256(777, (t / "real" / "tool").string(), dev, ino) == sha256_hex("tool"));
        // verify_file resolves inside host_root: "/real/tool" is found, and
        // ".." at the root stays at the root.
        CHECK(c.verify_file("/real/tool", dev, ino).sha256 == sha256_hex("tool"));
        CHECK(c.verify_file("/../../real/tool", dev, ino).sha256 == sha256_hex("tool"));
        CHECK(c.verify_file("/dirlink/tool", dev, ino).sha256.empty());
    }
}

TEST_CASE("exe_sha256 of this very process through the real /proc", "[sensor][identity]") {
    hash_cache c;
    const std::string mine = c.exe_sha256(static_cast<pid_type>(::getpid()), "", 0, 0);
    CHECK(mine == sha256sum(fs::read_symlink("/proc/self/exe")));
    struct stat sb {};
    REQUIRE(::stat("/proc/self/exe", &sb) == 0);
    CHECK(c.exe_sha256(static_cast<pid_type>(::getpid()), "", static_cast<std::uint64_t>(sb.st_dev),
                       static_cast<std::uint64_t>(sb.st_ino)) == mine);
    CHECK(c.stats().hits == 1);
}

// ---- Issue 13: package provenance and the host's file.

TEST_CASE("md5_hex matches the RFC 1321 test vectors", "[sensor][identity][package]") {
    CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890") ==
          "57edf4a22be3c955ac49da2e2107b67a");
    CHECK_FALSE(parse_md5("xyz"));
    CHECK_FALSE(parse_md5(std::string(31, 'a') + "g"));
    const auto d = parse_md5("900150983CD24FB0D6963F7D28E17F72");
    REQUIRE(d);
    CHECK((*d)[0] == 0x90);
}

TEST_CASE("digests_fd: SHA-256 and MD5 in one read", "[sensor][identity][package]") {
    temp_dir t;
    std::string content;
    for (int i = 0; i < 20000; ++i) content += static_cast<char>(i * 7);
    write(t / "f", content);
    const int fd = ::open((t / "f").c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    std::vector<unsigned char> buf(1000);
    const auto d = digests_fd(fd, 1 << 20, buf);
    ::close(fd);
    REQUIRE(d);
    CHECK(d->sha256 == sha256_hex(content));
    CHECK(*parse_md5(md5_hex(content)) == d->md5);
}

TEST_CASE("package_db: a path with the recorded MD5 is from its package", "[sensor][identity][package]") {
    const std::string ssh_md5 = md5_hex("genuine ssh");
    package_db db;
    db.add("openssh-client", ssh_md5 + "  usr/bin/ssh\n" + md5_hex("scp") + "  usr/bin/scp\nnot a line\n\n");
    db.add("bash", md5_hex("bash") + "  bin/bash\n");
    db.add("nothing", "garbage\n");
    db.seal();
    CHECK(db.size() == 3);
    CHECK(db.packages() == 2); // a file that lists nothing adds no name
    CHECK(db.stats().bad_lines == 2);
    CHECK(db.package_of("/usr/bin/ssh", *parse_md5(ssh_md5)) == "openssh-client");
    CHECK(db.package_of("/usr/bin/ssh", *parse_md5(md5_hex("modified ssh"))).empty()); // content differs
    CHECK(db.package_of("/usr/bin/sshx", *parse_md5(ssh_md5)).empty());                // path differs
    CHECK(db.package_of("usr/bin/ssh", *parse_md5(ssh_md5)).empty());                  // not absolute
    // /usr-merge aliases only where the system is merged
    CHECK(db.package_of("/usr/bin/bash", *parse_md5(md5_hex("bash"))).empty());
    CHECK(db.package_of("/bin/bash", *parse_md5(md5_hex("bash"))) == "bash");
    CHECK(db.memory_bytes() >= 3 * 32);
}

TEST_CASE("package_db::load reads *.md5sums, strips :arch, bounds entries, merges /usr", "[sensor][identity][package]") {
    temp_dir t;
    write(t / "bash.md5sums", md5_hex("bash") + "  bin/bash\n");
    write(t / "coreutils:amd64.md5sums", md5_hex("cat") + "  usr/bin/cat\n" + md5_hex("ls") + "  usr/bin/ls\n");
    write(t / "bash.list", "/bin/bash\n"); // not an md5sums file
    const package_db db = package_db::load(t.dir.string(), true);
    CHECK(db.stats().files == 2);
    CHECK(db.size() == 3);
    CHECK(db.package_of("/usr/bin/bash", *parse_md5(md5_hex("bash"))) == "bash"); // dpkg lists /bin/bash
    CHECK(db.package_of("/bin/cat", *parse_md5(md5_hex("cat"))) == "coreutils");  // and the other way round
    CHECK(db.package_of("/usr/local/bin/cat", *parse_md5(md5_hex("cat"))).empty());
    const package_db small_db = package_db::load(t.dir.string(), true, 2);
    CHECK(small_db.size() == 2);
    CHECK(small_db.stats().dropped == 1);
    CHECK(package_db::load((t / "missing").string(), true).stats().unreadable_dir);
}

TEST_CASE("package_db::load streams a large file: lines across reads, an overlong line, no final newline",
          "[sensor][identity][package]") {
    temp_dir t;
    // Well over the 64 KiB read size, so lines straddle reads; then a line
    // longer than any path (skipped as one bad line, whatever reads it
    // spans), then a last line without its newline.
    std::string text;
    const auto path_of = [](int i) {
        return "usr/share/pkg/file-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 50), 'x');
    };
    int n = 0;
    for (; text.size() < 200'000; ++n) text += md5_hex(path_of(n)) + "  " + path_of(n) + "\n";
    text += md5_hex("long") + "  usr/" + std::string(100'000, 'L') + "\n";
    text += md5_hex("after") + "  usr/bin/after\n";
    text += md5_hex("last") + "  usr/bin/last";
    write(t / "big.md5sums", text);
    const package_db db = package_db::load(t.dir.string(), false);
    CHECK(db.stats().files == 1);
    CHECK(db.stats().bad_lines == 1);
    CHECK(db.size() == static_cast<std::size_t>(n) + 2);
    for (int i = 0; i < n; ++i) {
        const std::string p = path_of(i);
        if (db.package_of("/" + p, *parse_md5(md5_hex(p))) != "big") {
            FAIL_CHECK("line " << i << " was not read whole: " << p);
            break;
        }
    }
    CHECK(db.package_of("/usr/bin/after", *parse_md5(md5_hex("after"))) == "big");
    CHECK(db.package_of("/usr/bin/last", *parse_md5(md5_hex("last"))) == "big");
}

TEST_CASE("package_db::load: a line longer than any path is bad also when one read holds it whole",
          "[sensor][identity][package]") {
    temp_dir t;
    // 5,000 bytes: past the bound (hash, two spaces, PATH_MAX), inside one 64 KiB read.
    const std::string long_path = "usr/" + std::string(4'962, 'L');
    write(t / "small.md5sums", md5_hex("a") + "  usr/bin/a\n" + md5_hex("long") + "  " + long_path + "\n" +
                                   md5_hex("b") + "  usr/bin/b\n");
    const package_db db = package_db::load(t.dir.string(), false);
    CHECK(db.stats().bad_lines == 1);
    CHECK(db.size() == 2);
    CHECK(db.package_of("/" + long_path, *parse_md5(md5_hex("long"))).empty());
    CHECK(db.package_of("/usr/bin/a", *parse_md5(md5_hex("a"))) == "small");
    CHECK(db.package_of("/usr/bin/b", *parse_md5(md5_hex("b"))) == "small");
}

TEST_CASE("host_file and verify_file: the host's file at the path, not a copy", "[sensor][identity][package]") {
    temp_dir t;
    // a host root with /usr/bin/tool, and a copy of it elsewhere
    fs::create_directories(t / "host" / "usr" / "bin");
    write(t / "host" / "usr" / "bin" / "tool", "genuine tool");
    ::chmod((t / "host" / "usr" / "bin" / "tool").c_str(), 0755);
    write(t / "copy", "genuine tool");
    struct stat hb {}, cb {};
    REQUIRE(::stat((t / "host" / "usr" / "bin" / "tool").c_str(), &hb) == 0);
    REQUIRE(::stat((t / "copy").c_str(), &cb) == 0);
    package_db db;
    db.add("tools", md5_hex("genuine tool") + "  usr/bin/tool\n");
    db.seal();
    hash_cache_options o = small(16);
    o.host_root = (t / "host").string();
    hash_cache c(o);
    c.set_packages(&db);
    const auto u64 = [](auto v) { return static_cast<std::uint64_t>(v); };

    CHECK(c.host_file("/usr/bin/tool", u64(hb.st_dev), u64(hb.st_ino)) == std::optional<bool>(true));
    CHECK(c.host_file("/usr/bin/tool", u64(cb.st_dev), u64(cb.st_ino)) == std::optional<bool>(false));
    CHECK(c.host_file("/usr/bin/none", u64(hb.st_dev), u64(hb.st_ino)) == std::optional<bool>(false));
    CHECK_FALSE(c.host_file("relative", 1, 1));
    // Never through a symlink, last component or on the way: a link planted
    // at the path could lead the lookup onto a FUSE mount no check saw.
    fs::create_directories(t / "host" / "opt");
    fs::create_symlink(t / "host" / "usr" / "bin" / "tool", t / "host" / "opt" / "tool");
    fs::create_directory_symlink(t / "host" / "usr" / "bin", t / "host" / "opt" / "bin");
    CHECK(c.host_file("/opt/tool", u64(hb.st_dev), u64(hb.st_ino)) == std::optional<bool>(false)); // the link itself
    CHECK_FALSE(c.host_file("/opt/bin/tool", u64(hb.st_dev), u64(hb.st_ino)).has_value());         // ELOOP: unknown

    const verified_file v = c.verify_file("/usr/bin/tool", u64(hb.st_dev), u64(hb.st_ino));
    CHECK(v.host_file == std::optional<bool>(true));
    CHECK(v.package == "tools");
    CHECK(v.sha256 == sha256_hex("genuine tool"));
    CHECK(v.uid == std::optional<std::uint32_t>(static_cast<std::uint32_t>(::getuid())));
    CHECK(v.mode == std::optional<std::uint32_t>(0755u));

    // the same content under the same name, but another inode: not the host's
    const verified_file w = c.verify_file("/usr/bin/tool", u64(cb.st_dev), u64(cb.st_ino));
    CHECK(w.host_file == std::optional<bool>(false));
    CHECK(w.sha256.empty()); // no process view given to read it through

    // an executable: the process's file, the host's check by path
    SECTION("exe_identify: the process runs a copy at the trusted path") {
        fs::create_directories(t / "proc" / "4242");
        fs::create_symlink(t / "copy", t / "proc" / "4242" / "exe");
        hash_cache_options po = o;
        po.proc_root = (t / "proc").string();
        hash_cache pc(po);
        pc.set_packages(&db);
        const exe_identity id = pc.exe_identify(4242, "/usr/bin/tool", u64(cb.st_dev), u64(cb.st_ino));
        CHECK(id.host_file == std::optional<bool>(false));
        CHECK(id.package == "tools"); // the content is genuine: only the host check refuses it
        CHECK(id.sha256 == sha256_hex("genuine tool"));
    }
}

TEST_CASE("exe_identify of this very process: the host's file (own root)", "[sensor][identity][package]") {
    hash_cache_options o;
    o.host_root = "";
    hash_cache c(o);
    const std::string exe = fs::read_symlink("/proc/self/exe").string();
    struct stat sb {};
    REQUIRE(::stat("/proc/self/exe", &sb) == 0);
    const exe_identity id = c.exe_identify(static_cast<pid_type>(::getpid()), exe, static_cast<std::uint64_t>(sb.st_dev),
                                           static_cast<std::uint64_t>(sb.st_ino));
    CHECK(id.host_file == std::optional<bool>(true));
    CHECK(id.package.empty()); // no package database given
}

TEST_CASE("package_db on this host's dpkg database, when there is one", "[sensor][identity][package]") {
    if (!fs::exists("/var/lib/dpkg/info") || !fs::exists("/usr/bin/dpkg")) return;
    const package_db db = package_db::load("/var/lib/dpkg/info", fs::is_symlink("/bin"));
    CHECK(db.size() > 0);
    hash_cache_options o;
    o.host_root = "";
    hash_cache c(o);
    c.set_packages(&db);
    struct stat sb {};
    REQUIRE(::stat("/usr/bin/dpkg", &sb) == 0);
    const verified_file v = c.verify_file("/usr/bin/dpkg", static_cast<std::uint64_t>(sb.st_dev),
                                          static_cast<std::uint64_t>(sb.st_ino));
    CHECK(v.host_file == std::optional<bool>(true));
    CHECK(v.package == "dpkg");
}

TEST_CASE("exe_identify of a process already gone, own root: the path it ran is the host's file",
          "[sensor][identity][package]") {
    // The commonest exec of all (a short-lived process, gone by the time its
    // exec is handled): the path is resolved once, and that lookup below the
    // sensor's own root is the host file check too.
    temp_dir t;
    const fs::path ran = t / "ran";
    write(ran, "the binary that ran");
    struct stat sb {};
    REQUIRE(::stat(ran.c_str(), &sb) == 0);
    const auto dev = static_cast<std::uint64_t>(sb.st_dev);
    const auto ino = static_cast<std::uint64_t>(sb.st_ino);
    fs::create_directories(t / "proc"); // no pid in it: every process is gone
    hash_cache_options o = small(16);
    o.proc_root = (t / "proc").string();
    o.host_root = "";
    hash_cache c(o);

    const exe_identity first = c.exe_identify(4242, ran.string(), dev, ino);
    CHECK(first.sha256 == sha256_hex("the binary that ran"));
    CHECK(first.host_file == std::optional<bool>(true));
    CHECK(first.uid == std::optional<std::uint32_t>(static_cast<std::uint32_t>(sb.st_uid)));
    // The same content again: from the cache, with the same verdict.
    const exe_identity again = c.exe_identify(4243, ran.string(), dev, ino);
    CHECK(again.sha256 == first.sha256);
    CHECK(again.host_file == std::optional<bool>(true));
    CHECK(c.stats().misses == 1);
    CHECK(c.stats().hits == 1);

    // The path now names another file: not the one that ran, not the host's.
    // (The one that ran is kept under another name: its inode is not reused.)
    fs::create_hard_link(ran, t / "kept");
    fs::remove(ran);
    write(ran, "an impostor");
    const exe_identity swapped = c.exe_identify(4244, ran.string(), dev, ino);
    CHECK(swapped.sha256.empty());
    CHECK(swapped.host_file == std::optional<bool>(false));
    // And gone altogether.
    fs::remove(ran);
    const exe_identity gone = c.exe_identify(4245, ran.string(), dev, ino);
    CHECK(gone.sha256.empty());
    CHECK(gone.host_file == std::optional<bool>(false));
    CHECK(c.stats().failures == 2);
}
