// The sensor's own files (issue 15): sensor/safe_file.hpp.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_file.hpp"
#include "sensor_test_files.hpp"

using namespace barbwire::sensor;
namespace fs = std::filesystem;

namespace {

using bw_test::read;
using bw_test::temp_dir;
using bw_test::write;

struct umask_guard {
    mode_t old;
    explicit umask_guard(mode_t m) : old(::umask(m)) {}
    ~umask_guard() { ::umask(old); }
};

void write_fd(int fd, const std::string& s) { REQUIRE(::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size())); }

} // namespace

TEST_CASE("safe_file: a new file is 0600 whatever the umask; append keeps, truncate empties", "[sensor][safe_file]") {
    temp_dir t;
    const umask_guard u(0);
    const std::string p = (t / "alerts.jsonl").string();
    auto fd = open_private_file(p, open_mode::append, "--output");
    REQUIRE(fd);
    write_fd(*fd, "one\n");
    ::close(*fd);
    struct stat sb {};
    REQUIRE(::stat(p.c_str(), &sb) == 0);
    CHECK((sb.st_mode & 07777) == 0600);
    fd = open_private_file(p, open_mode::append, "--output");
    REQUIRE(fd);
    write_fd(*fd, "two\n");
    ::close(*fd);
    CHECK(read(p) == "one\ntwo\n");
    fd = open_private_file(p, open_mode::truncate, "record");
    REQUIRE(fd);
    write_fd(*fd, "new\n");
    ::close(*fd);
    CHECK(read(p) == "new\n");
}

TEST_CASE("safe_file: a symlink at the path is refused and its target untouched", "[sensor][safe_file]") {
    temp_dir t;
    write(t / "precious", "do not touch\n");
    fs::create_symlink(t / "precious", t / "out");
    for (const open_mode m : {open_mode::append, open_mode::truncate}) {
        auto fd = open_private_file((t / "out").string(), m, "record");
        REQUIRE_FALSE(fd);
        CHECK(fd.error().find("symbolic link") != std::string::npos);
        CHECK(fd.error().find("record") == 0);
    }
    CHECK(read(t / "precious") == "do not touch\n");
    // A dangling one is not followed to create its target either.
    fs::create_symlink(t / "would-be-created", t / "dangling");
    CHECK_FALSE(open_private_file((t / "dangling").string(), open_mode::append, "--output"));
    CHECK_FALSE(fs::exists(t / "would-be-created"));
}

TEST_CASE("safe_file: a FIFO or a directory at the path is refused without blocking", "[sensor][safe_file]") {
    temp_dir t;
    REQUIRE(::mkfifo((t / "fifo").c_str(), 0600) == 0);
    auto fd = open_private_file((t / "fifo").string(), open_mode::append, "--output"); // no reader: must not hang
    REQUIRE_FALSE(fd);
    CHECK(fd.error().find("FIFO") != std::string::npos);
    fs::create_directory(t / "d");
    CHECK_FALSE(open_private_file((t / "d").string(), open_mode::append, "--output"));
}

TEST_CASE("safe_file: a hard link to another file is refused", "[sensor][safe_file]") {
    temp_dir t;
    write(t / "elsewhere", "secret\n");
    REQUIRE(::link((t / "elsewhere").c_str(), (t / "out").c_str()) == 0);
    auto fd = open_private_file((t / "out").string(), open_mode::truncate, "record");
    REQUIRE_FALSE(fd);
    CHECK(fd.error().find("hard link") != std::string::npos);
    CHECK(read(t / "elsewhere") == "secret\n"); // not truncated
}

TEST_CASE("safe_file: directories others can write are refused unless sticky", "[sensor][safe_file]") {
    temp_dir t;
    fs::create_directory(t / "open");
    REQUIRE(::chmod((t / "open").c_str(), 0777) == 0);
    auto fd = open_private_file((t / "open" / "alerts").string(), open_mode::append, "--output");
    REQUIRE_FALSE(fd);
    CHECK(fd.error().find("writable by other users") != std::string::npos);
    CHECK_FALSE(fs::exists(t / "open" / "alerts")); // refused before creating anything
    REQUIRE(::chmod((t / "open").c_str(), 01777) == 0); // like /tmp
    fd = open_private_file((t / "open" / "alerts").string(), open_mode::append, "--output");
    REQUIRE(fd);
    ::close(*fd);
    CHECK(check_private_dir((t / "open").string(), "--baseline"));
    CHECK_FALSE(check_private_dir((t / "missing").string(), "--baseline"));
    CHECK(dir_of("alerts") == ".");
    CHECK(dir_of("/alerts") == "/");
    CHECK(dir_of("/var/log/alerts") == "/var/log");
}

TEST_CASE("safe_file: a file or directory of another user is refused (as root)", "[sensor][safe_file]") {
    if (::geteuid() != 0) {
        WARN("not root: cannot give files to another user; skipped");
        return;
    }
    temp_dir t;
    const uid_t nobody = 65534;
    write(t / "theirs", "their file\n");
    REQUIRE(::chown((t / "theirs").c_str(), nobody, nobody) == 0);
    auto fd = open_private_file((t / "theirs").string(), open_mode::truncate, "record");
    REQUIRE_FALSE(fd);
    CHECK(fd.error().find("belongs to uid 65534") != std::string::npos);
    CHECK(read(t / "theirs") == "their file\n"); // refused before truncating
    fs::create_directory(t / "their-dir");
    REQUIRE(::chown((t / "their-dir").c_str(), nobody, nobody) == 0);
    fd = open_private_file((t / "their-dir" / "alerts").string(), open_mode::append, "--output");
    REQUIRE_FALSE(fd);
    CHECK(fd.error().find("belongs to uid 65534") != std::string::npos);
}
