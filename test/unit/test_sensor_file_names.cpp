// sensor/file_names: /etc/passwd parsing, path joining, and refresh() over a
// fake tree (hard links, symlinks, directories, missing files, rename-over,
// odd passwd files, the bounds); the walks (issue 12): the plan, the skip
// lists, mountinfo, and walks over a fake tree (directory patterns, names that
// can sit anywhere, owned homes, continuation, the bounds, forgetting).
// The stat-phase cases turn the walks off (`.walk = false`), so that they
// count exactly what the stat phase does.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "file_names.hpp"

using namespace barbwire;
using namespace barbwire::sensor;
using namespace std::string_literals;
using namespace std::string_view_literals;

namespace fs = std::filesystem;

namespace {

// A fresh directory under the temp dir, removed at the end of the test.
struct temp_tree {
    fs::path dir;
    temp_tree() {
        std::string tmpl = (fs::temp_directory_path() / "bw-file-names-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    temp_tree(const temp_tree&) = delete;
    temp_tree& operator=(const temp_tree&) = delete;
    ~temp_tree() {
        std::error_code ec;
        fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(dir, ec);
    }
    [[nodiscard]] fs::path at(const std::string& abs) const { return dir / abs.substr(1); }
    void write(const std::string& abs, const std::string& text) const {
        fs::create_directories(at(abs).parent_path());
        std::ofstream(at(abs), std::ios::binary) << text;
    }
    void mkdir(const std::string& abs) const { fs::create_directories(at(abs)); }
    [[nodiscard]] std::pair<std::uint64_t, std::uint64_t> id(const std::string& abs) const {
        struct stat sb {};
        REQUIRE(::stat(at(abs).c_str(), &sb) == 0);
        return {static_cast<std::uint64_t>(sb.st_dev), static_cast<std::uint64_t>(sb.st_ino)};
    }
};

config rules(std::vector<std::string> patterns) {
    config c;
    c.suspicious_files.push_back(file_category{"named", 3, std::move(patterns)});
    return c;
}

std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> by_path(const std::vector<file_event>& v) {
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> m;
    for (const file_event& f : v) {
        CHECK(m.count(f.path) == 0); // each path at most once per refresh
        m[f.path] = {f.dev, f.ino};
    }
    return m;
}

std::set<std::string> paths(const std::vector<file_event>& v) {
    std::set<std::string> s;
    for (const file_event& f : v) s.insert(f.path);
    return s;
}

bool any_contains(const std::vector<std::string>& lines, const std::string& what) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(what) != std::string::npos; });
}

const std::vector<std::string> default_like = {"/etc/passwd", "/etc/shadow", "/.aws/credentials", ".ssh/id_rsa",
                                               ".ssh/id_ed25519", ".ssh/authorized_keys", "/tmp/", "/proc/"};

} // namespace

// --- pure parts ------------------------------------------------------------------

TEST_CASE("normalize_home collapses slashes and drops the trailing one", "[sensor][file_names]") {
    CHECK(normalize_home("/home/ann") == "/home/ann");
    CHECK(normalize_home("/home/ann/") == "/home/ann");
    CHECK(normalize_home("//home///ann//") == "/home/ann");
    CHECK(normalize_home("/") == "/");
    CHECK(normalize_home("///") == "/");
    CHECK_FALSE(normalize_home(""));
    CHECK_FALSE(normalize_home("home/ann"));
    CHECK_FALSE(normalize_home("~ann"));
    CHECK_FALSE(normalize_home("/home/a\0nn"sv));
}

TEST_CASE("join_home joins with exactly one slash", "[sensor][file_names]") {
    CHECK(join_home("/root", ".ssh/id_rsa") == "/root/.ssh/id_rsa");
    CHECK(join_home("/root/", ".ssh/id_rsa") == "/root/.ssh/id_rsa");
    CHECK(join_home("/root", "/.aws/credentials") == "/root/.aws/credentials");
    CHECK(join_home("/root//", "//.aws/credentials") == "/root/.aws/credentials");
    CHECK(join_home("/", "etc/shadow") == "/etc/shadow");
    CHECK(join_home("/", "/etc/shadow") == "/etc/shadow");
}

TEST_CASE("parse_passwd lists the homes of well-formed entries, once each, in file order", "[sensor][file_names]") {
    const std::string text = "root:x:0:0:root:/root:/bin/bash\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                             "ann:x:1000:1000:Ann,,,:/home/ann:/bin/bash\n"
                             "bin:x:2:2:bin:/usr/sbin/:/usr/sbin/nologin\n" // same home, trailing '/'
                             "bob:x:1001:1001::/home/bob:";                   // empty shell, no final newline
    const passwd_homes ph = parse_passwd(text, 100);
    CHECK(ph.homes == std::vector<std::string>{"/root", "/usr/sbin", "/home/ann", "/home/bob"});
    CHECK(ph.uids == std::vector<std::uint32_t>{0, 1, 1000, 1001}); // /usr/sbin: daemon's, the first entry
    CHECK(ph.entries == 5);
    CHECK(ph.skipped == 0);
    CHECK(ph.first_skipped_line == 0);
    CHECK(ph.over_limit == 0);
}

TEST_CASE("parse_passwd skips odd lines and counts the malformed ones", "[sensor][file_names]") {
    const std::string text = "# a comment\n"                          // 1: ignored
                             "\n"                                       // 2: ignored
                             "+@netgroup::::::\n"                       // 3: NIS compat, ignored
                             "-baduser\n"                               // 4: NIS compat, ignored
                             "garbage\n"                                // 5: malformed
                             "short:x:1:1:/home/short\n"                // 6: five fields
                             "long:x:1:1::/home/long:/bin/sh:extra\n"   // 7: eight fields
                             "uid:x:abc:1::/home/uid:/bin/sh\n"         // 8: uid not a number
                             "gid:x:1:-1::/home/gid:/bin/sh\n"          // 9: gid not a number
                             "big:x:99999999999:1::/home/big:/bin/sh\n" // 10: uid beyond 32 bits
                             "rel:x:1:1::home/rel:/bin/sh\n"            // 11: relative home
                             "empty:x:1:1:::/bin/sh\n"                  // 12: empty home
                             ":x:1:1::/home/noname:/bin/sh\n"           // 13: no name
                             "nul:x:1:1::/home/n\0ul:/bin/sh\n"s         // 14: NUL in the home
                             "crlf:x:2:2::/home/crlf:/bin/sh\r\n"       // 15: fine (CRLF)
                             "\xff\xfe\x01:::\n"                        // 16: garbage bytes
                             "ok:x:3:3::/home/ok:/bin/sh\n";            // 17: fine
    const passwd_homes ph = parse_passwd(text, 100);
    CHECK(ph.homes == std::vector<std::string>{"/home/crlf", "/home/ok"});
    CHECK(ph.entries == 2);
    CHECK(ph.skipped == 11);
    CHECK(ph.first_skipped_line == 5);
}

TEST_CASE("parse_passwd stops listing at max_homes and counts the rest", "[sensor][file_names]") {
    std::string text;
    for (int i = 0; i < 10; ++i) text += "u" + std::to_string(i) + ":x:" + std::to_string(i) + ":0::/home/u" +
                                         std::to_string(i) + ":/bin/sh\n";
    text += "again:x:50:0::/home/u1:/bin/sh\n"; // a duplicate is not "over"
    const passwd_homes ph = parse_passwd(text, 4);
    CHECK(ph.homes.size() == 4);
    CHECK(ph.homes.back() == "/home/u3");
    CHECK(ph.over_limit == 6);
    CHECK(ph.entries == 11);
}

TEST_CASE("parse_passwd never crashes on random bytes and lists only absolute homes", "[sensor][file_names]") {
    std::mt19937 rng(4242);
    const std::string alphabet = "abc:/0123456789\n\r#+-\0 \xff"s;
    for (int round = 0; round < 2000; ++round) {
        std::string text(rng() % 300, '\0');
        for (char& c : text) c = alphabet[rng() % alphabet.size()];
        const passwd_homes ph = parse_passwd(text, 8);
        CHECK(ph.homes.size() <= 8);
        CHECK(ph.uids.size() == ph.homes.size());
        for (const std::string& h : ph.homes) {
            CHECK(h.front() == '/');
            CHECK(h.find('\0') == std::string::npos);
            CHECK(h.find("//") == std::string::npos);
        }
    }
}

TEST_CASE("skipped_home_filesystem names network and automount filesystems only", "[sensor][file_names]") {
    CHECK(std::string(skipped_home_filesystem(NFS_SUPER_MAGIC)) == "nfs");
    CHECK(std::string(skipped_home_filesystem(AUTOFS_SUPER_MAGIC)) == "autofs (not mounted)");
    CHECK(std::string(skipped_home_filesystem(0xFF534D42u)) == "cifs");
    CHECK(std::string(skipped_home_filesystem(FUSE_SUPER_MAGIC)) == "fuse");
    CHECK(skipped_home_filesystem(EXT4_SUPER_MAGIC) == nullptr);
    CHECK(skipped_home_filesystem(TMPFS_MAGIC) == nullptr);
    CHECK(skipped_home_filesystem(XFS_SUPER_MAGIC) == nullptr);
    CHECK(skipped_home_filesystem(BTRFS_SUPER_MAGIC) == nullptr);
}

// --- refresh over a fake tree ------------------------------------------------------

TEST_CASE("refresh finds the named regular files by absolute path and under every home", "[sensor][file_names]") {
    temp_tree t;
    t.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
                           "# comment\n"
                           "ann:x:1000:1000::/home/ann:/bin/bash\n"
                           "bob:x:1001:1001::/home/bob:/bin/bash\n"          // home missing
                           "carol:x:1002:1002::/home/carol/:/bin/bash\n"     // trailing '/'
                           "dup:x:1003:1003::/home//ann:/bin/sh\n"           // ann's home again
                           "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n"
                           "file:x:1004:1004::/etc/shadow:/bin/sh\n"         // home is a file
                           "broken line without fields\n");
    t.write("/etc/shadow", "root:*:1::::::\n");
    t.write("/root/.ssh/id_rsa", "root key");
    t.write("/home/ann/.ssh/id_rsa", "ann key");
    t.write("/secret/ann-creds", "aws");
    t.mkdir("/home/ann/.aws");
    fs::create_symlink("../../../secret/ann-creds", t.at("/home/ann/.aws/credentials"));   // followed
    fs::create_symlink("/nowhere/at/all", t.at("/home/ann/.ssh/id_ed25519"));             // dangling
    t.mkdir("/home/carol/.ssh/id_rsa");                                                  // a directory
    t.write("/home/carol/.ssh/authorized_keys", "carol keys");
    t.write("/tmp/whatever", "x");                                                       // "/tmp/" is skipped
    t.write("/root/tmp/x", "x");
    // A hard link to the shadow file under a name no rule names.
    fs::create_hard_link(t.at("/etc/shadow"), t.at("/home/ann/notes.txt"));

    file_names names(file_names_options{.root = t.dir.string(), .walk = false});
    const file_names_update u = names.refresh(rules(default_like));
    const auto got = by_path(u.changed);
    CHECK(paths(u.changed) == std::set<std::string>{"/etc/passwd", "/etc/shadow", "/root/.ssh/id_rsa",
                                                    "/home/ann/.ssh/id_rsa", "/home/ann/.aws/credentials",
                                                    "/home/carol/.ssh/authorized_keys"});
    for (const auto& [path, id] : got) {
        INFO(path);
        CHECK(id == t.id(path));
    }
    // The symlink's target's identity, and the hard link shares the shadow file's.
    CHECK(got.at("/home/ann/.aws/credentials") == t.id("/secret/ann-creds"));
    CHECK(got.at("/etc/shadow") == t.id("/home/ann/notes.txt"));
    CHECK(names.size() == 6);

    const file_names_refresh_stats& st = names.last();
    CHECK(st.passwd_read);
    CHECK(st.passwd_skipped == 1);
    CHECK(st.homes == 6); // /root, ann, bob, carol, /nonexistent, /etc/shadow
    CHECK(st.homes_examined == 6);
    CHECK(st.homes_missing == 3); // bob, /nonexistent, the file
    CHECK(st.files == 6);
    CHECK(st.changed == 6);
    CHECK(st.errors == 0);
    CHECK(st.complete);
    REQUIRE(u.notices.size() == 1);
    CHECK(u.notices[0] == "/etc/passwd: 1 malformed line skipped (the first is line 9)");

    SECTION("an unchanged tree gives nothing new, and problems are reported once") {
        const file_names_update again = names.refresh(rules(default_like));
        CHECK(again.changed.empty());
        CHECK(again.notices.empty());
        CHECK(names.last().files == 6);
        CHECK(names.last().passwd_skipped == 1);
    }
    SECTION("a rename-over gives the path its new inode") {
        const auto before = t.id("/etc/shadow");
        t.write("/etc/shadow.new", "root:$6$new::::::\n");
        fs::rename(t.at("/etc/shadow.new"), t.at("/etc/shadow"));
        REQUIRE(t.id("/etc/shadow") != before);
        const file_names_update again = names.refresh(rules(default_like));
        REQUIRE(again.changed.size() == 1);
        CHECK(again.changed[0] == file_event{"/etc/shadow", t.id("/etc/shadow").first, t.id("/etc/shadow").second});
    }
    SECTION("a removed file is forgotten, and reported again when it comes back") {
        fs::remove(t.at("/root/.ssh/id_rsa"));
        CHECK(names.refresh(rules(default_like)).changed.empty());
        CHECK(names.size() == 5);
        t.write("/root/.ssh/id_rsa", "new root key");
        const file_names_update back = names.refresh(rules(default_like));
        CHECK(paths(back.changed) == std::set<std::string>{"/root/.ssh/id_rsa"});
        CHECK(names.size() == 6);
    }
    SECTION("a symlink retargeted to another file is a change") {
        t.write("/secret/other", "other");
        fs::remove(t.at("/home/ann/.aws/credentials"));
        fs::create_symlink(t.at("/secret/other"), t.at("/home/ann/.aws/credentials")); // absolute target
        const file_names_update again = names.refresh(rules(default_like));
        REQUIRE(again.changed.size() == 1);
        CHECK(again.changed[0].path == "/home/ann/.aws/credentials");
        CHECK(std::pair{again.changed[0].dev, again.changed[0].ino} == t.id("/secret/other"));
    }
    SECTION("a file replaced by a directory is forgotten") {
        fs::remove(t.at("/home/carol/.ssh/authorized_keys"));
        t.mkdir("/home/carol/.ssh/authorized_keys");
        CHECK(names.refresh(rules(default_like)).changed.empty());
        CHECK(names.size() == 5);
    }
    SECTION("a new home in passwd is examined at the next refresh") {
        t.write("/home/dan/.ssh/id_ed25519", "dan key");
        std::ofstream(t.at("/etc/passwd"), std::ios::app) << "dan:x:1005:1005::/home/dan:/bin/sh\n";
        const file_names_update again = names.refresh(rules(default_like));
        const std::set<std::string> p = paths(again.changed);
        CHECK(p.count("/home/dan/.ssh/id_ed25519") == 1);
        CHECK(p.count("/etc/passwd") == 0); // appended to in place: the same inode, nothing new
    }
    SECTION("forget() makes the next refresh report everything") {
        names.forget();
        CHECK(names.size() == 0);
        CHECK(names.refresh(rules(default_like)).changed.size() == 6);
    }
    SECTION("new rules (a reload) report only what they add, and forget what they drop") {
        t.write("/home/ann/.ssh/id_ecdsa", "ann ecdsa");
        auto more = default_like;
        more.push_back(".ssh/id_ecdsa");
        const file_names_update added = names.refresh(rules(more));
        CHECK(paths(added.changed) == std::set<std::string>{"/home/ann/.ssh/id_ecdsa"});
        CHECK(names.size() == 7);

        const file_names_update fewer = names.refresh(rules({"/etc/shadow"}));
        CHECK(fewer.changed.empty());
        CHECK(names.size() == 1);
        // Back to the old rules: the dropped files are new again.
        CHECK(names.refresh(rules(more)).changed.size() == 6);
    }
}

TEST_CASE("refresh: '/' as a home does not examine a path twice", "[sensor][file_names]") {
    temp_tree t;
    t.write("/etc/passwd", "root:x:0:0::/:/bin/sh\n");
    t.write("/etc/shadow", "s");
    file_names names(file_names_options{.root = t.dir.string(), .walk = false});
    const file_names_update u = names.refresh(rules({"/etc/shadow", "shadow"}));
    CHECK(paths(u.changed) == std::set<std::string>{"/etc/shadow"}); // "/" + "etc/shadow" is the same path
    CHECK(names.last().homes == 2);
}

TEST_CASE("refresh: an unreadable passwd leaves /root, reported once", "[sensor][file_names]") {
    temp_tree t;
    t.write("/root/.ssh/id_rsa", "k");
    t.write("/home/ann/.ssh/id_rsa", "k");
    file_names names(
        file_names_options{.root = t.dir.string(), .passwd_path = "/etc/missing-passwd", .walk = false});
    const file_names_update u = names.refresh(rules({".ssh/id_rsa"}));
    CHECK(paths(u.changed) == std::set<std::string>{"/root/.ssh/id_rsa"});
    CHECK_FALSE(names.last().passwd_read);
    REQUIRE(u.notices.size() == 1);
    CHECK(u.notices[0] ==
          "cannot read /etc/missing-passwd (No such file or directory); of the home directories only /root is "
          "examined for the files the rules name");
    CHECK(names.refresh(rules({".ssh/id_rsa"})).notices.empty());

    SECTION("a directory where passwd should be is not read either") {
        t.mkdir("/etc/dir-passwd");
        file_names other(
            file_names_options{.root = t.dir.string(), .passwd_path = "/etc/dir-passwd", .walk = false});
        const file_names_update o = other.refresh(rules({".ssh/id_rsa"}));
        CHECK(paths(o.changed) == std::set<std::string>{"/root/.ssh/id_rsa"});
        CHECK(any_contains(o.notices, "cannot read /etc/dir-passwd"));
    }
}

TEST_CASE("refresh: a passwd larger than the bound is read up to its last whole line", "[sensor][file_names]") {
    temp_tree t;
    std::string text = "ann:x:1000:1000::/home/ann:/bin/sh\n";
    const std::size_t keep = text.size();
    text += "bob:x:1001:1001::/home/bob:/bin/sh\n";
    t.write("/etc/passwd", text);
    t.write("/home/ann/k", "a");
    t.write("/home/bob/k", "b");
    file_names names(file_names_options{.root = t.dir.string(), .max_passwd_bytes = keep + 10, .walk = false});
    const file_names_update u = names.refresh(rules({"k"}));
    CHECK(paths(u.changed) == std::set<std::string>{"/home/ann/k"});
    CHECK(names.last().passwd_skipped == 0); // the cut line is not counted as malformed
    CHECK(any_contains(u.notices, "/etc/passwd is larger than"));
}

TEST_CASE("refresh: at most max_homes homes, /root first", "[sensor][file_names]") {
    temp_tree t;
    std::string pw;
    for (int i = 0; i < 6; ++i) {
        const std::string home = "/home/u" + std::to_string(i);
        pw += "u" + std::to_string(i) + ":x:" + std::to_string(1000 + i) + ":100::" + home + ":/bin/sh\n";
        t.write(home + "/.ssh/id_rsa", "k");
    }
    t.write("/etc/passwd", pw);
    t.write("/root/.ssh/id_rsa", "k");
    file_names names(file_names_options{.root = t.dir.string(), .max_homes = 3, .walk = false});
    const file_names_update u = names.refresh(rules({".ssh/id_rsa"}));
    CHECK(paths(u.changed) == std::set<std::string>{"/root/.ssh/id_rsa", "/home/u0/.ssh/id_rsa", "/home/u1/.ssh/id_rsa"});
    CHECK(names.last().homes == 3);
    REQUIRE(u.notices.size() == 1);
    CHECK(u.notices[0] == "more than 3 home directories in /etc/passwd; 4 are not examined, and the files the rules "
                          "name there are matched by path only");
    CHECK(names.refresh(rules({".ssh/id_rsa"})).notices.empty());
}

TEST_CASE("refresh: the probe bound spreads the homes over several refreshes", "[sensor][file_names]") {
    temp_tree t;
    std::string pw;
    std::set<std::string> all{"/etc/shadow", "/root/.ssh/id_rsa"};
    for (int i = 0; i < 20; ++i) {
        const std::string home = "/home/u" + std::to_string(i);
        pw += "u" + std::to_string(i) + ":x:" + std::to_string(1000 + i) + ":100::" + home + ":/bin/sh\n";
        t.write(home + "/.ssh/id_rsa", "k" + std::to_string(i));
        all.insert(home + "/.ssh/id_rsa");
    }
    t.write("/etc/passwd", pw);
    t.write("/etc/shadow", "s");
    t.write("/root/.ssh/id_rsa", "k");
    const std::vector<std::string> pats{"/etc/shadow", ".ssh/id_rsa", ".ssh/id_ed25519"};
    // Per home: open, fstat, fstatfs and 3 patterns ("etc/shadow" too) = 6; the absolute pattern costs 1.
    file_names names(file_names_options{.root = t.dir.string(), .max_probes = 1 + 6 * 5, .walk = false});

    std::set<std::string> seen;
    std::vector<std::string> notices;
    int refreshes = 0;
    for (; refreshes < 10 && seen != all; ++refreshes) {
        const file_names_update u = names.refresh(rules(pats));
        for (const file_event& f : u.changed) CHECK(seen.insert(f.path).second); // each reported once
        notices.insert(notices.end(), u.notices.begin(), u.notices.end());
        CHECK(names.last().probes <= 1 + 6 * 5);
        CHECK(names.last().homes_examined == 5);
        CHECK_FALSE(names.last().complete);
    }
    CHECK(seen == all);
    CHECK(refreshes == 5); // 21 homes, 5 per refresh
    REQUIRE(notices.size() == 1);
    CHECK(notices[0] == "the files the rules name need more than 31 filesystem calls (21 home directories, 3 "
                        "patterns); each refresh examines part of the homes and the next one continues");
    // The homes not examined in a refresh keep their identities.
    CHECK(names.size() == all.size());
    CHECK(names.refresh(rules(pats)).changed.empty());
    CHECK(names.size() == all.size());
}

TEST_CASE("refresh: a home that cannot be searched is reported once and skipped", "[sensor][file_names]") {
    if (::geteuid() == 0) {
        SUCCEED("root searches every directory (CAP_DAC_OVERRIDE): nothing to test");
        return;
    }
    temp_tree t;
    t.write("/etc/passwd", "ann:x:1000:1000::/home/ann/inner:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n");
    t.write("/home/ann/inner/.ssh/id_rsa", "k");
    t.write("/home/bob/.ssh/id_rsa", "k");
    fs::permissions(t.at("/home/ann"), fs::perms::none);
    file_names names(file_names_options{.root = t.dir.string(), .walk = false});
    const file_names_update u = names.refresh(rules({".ssh/id_rsa"}));
    fs::permissions(t.at("/home/ann"), fs::perms::owner_all);
    CHECK(paths(u.changed) == std::set<std::string>{"/home/bob/.ssh/id_rsa"});
    CHECK(names.last().homes_skipped == 1);
    CHECK(names.last().errors == 1);
    CHECK(any_contains(u.notices, "cannot examine home directory /home/ann/inner (Permission denied)"));
}

TEST_CASE("refresh: the stat phase skips patterns naming directories or nothing", "[sensor][file_names]") {
    temp_tree t;
    t.write("/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    t.write("/tmp/x", "x");
    t.write("/root/tmp/x", "x");
    t.write("/root/.ssh/id_rsa", "k");
    file_names names(file_names_options{.root = t.dir.string(), .walk = false});
    const file_names_update u = names.refresh(rules({"/tmp/", "/proc/", "/", "//", ".ssh/", ".ssh"}));
    CHECK(u.changed.empty()); // ".ssh" is a directory
    CHECK(names.last().probes == 3 + 1); // /root: open, fstat, fstatfs; then ".ssh"
    CHECK(names.size() == 0);
}

TEST_CASE("refresh on the real system does not crash and finds only regular files", "[sensor][file_names]") {
    file_names names;
    const file_names_update u = names.refresh(rules(default_like));
    for (const file_event& f : u.changed) {
        INFO(f.path);
        CHECK(f.path.front() == '/');
        struct stat sb {};
        if (::stat(f.path.c_str(), &sb) != 0) { // a walked file in /tmp may be gone already
            CHECK(errno == ENOENT);
            continue;
        }
        CHECK(S_ISREG(sb.st_mode));
        CHECK(static_cast<std::uint64_t>(sb.st_ino) == f.ino);
    }
    CHECK(paths(u.changed).count("/etc/passwd") == 1);
    CHECK(names.last().passwd_read);
}

// --- the walks: pure parts -----------------------------------------------------------

namespace {

config categories(std::vector<file_category> cats) {
    config c;
    c.suspicious_files = std::move(cats);
    return c;
}

std::vector<std::string> plan_paths(const std::vector<walk_root>& plan) {
    std::vector<std::string> v;
    for (const walk_root& r : plan) v.push_back(r.path());
    return v;
}

} // namespace

TEST_CASE("plan_walks: directory patterns under every home, then search roots, then absolute directories",
          "[sensor][file_names][walk]") {
    const config c = categories({
        file_category{"stores", 5, {"/.password-store/", "/logins.json", ".kdbx", "/etc/ssl/private/"}},
        file_category{"more", 4, {"/.password-store/", "/.local/share/keyrings/", "x/"}},
        file_category{"context", 0, {"/etc/passwd", "/.context-dir/"}, true},
    });
    const std::vector<search_root> search{{"", 2}, {".mozilla/firefox", 3}, {"/deep/", 20}};
    const std::vector<walk_root> plan = plan_walks(c, {"/root", "/home/ann", "/"}, search, 8);
    CHECK(plan_paths(plan) == std::vector<std::string>{
                                  "/root/.password-store", "/root/etc/ssl/private", "/root/.local/share/keyrings",
                                  "/root/x", "/root", "/root/.mozilla/firefox", "/root/deep",
                                  "/home/ann/.password-store", "/home/ann/etc/ssl/private",
                                  "/home/ann/.local/share/keyrings", "/home/ann/x", "/home/ann",
                                  "/home/ann/.mozilla/firefox", "/home/ann/deep",
                                  "/.password-store", "/etc/ssl/private", "/.local/share/keyrings", "/x", "/",
                                  "/.mozilla/firefox", "/deep"});
    // the home itself is marked; depths are capped; the context category's directory is never walked
    CHECK(plan[4] == walk_root{"/root", "", 2, true});
    CHECK(plan[5] == walk_root{"/root", ".mozilla/firefox", 3, false});
    CHECK(plan[6].max_depth == 8);
    CHECK(plan[0] == walk_root{"/root", ".password-store", 8, false});
    for (const walk_root& r : plan) CHECK(r.path().find("context-dir") == std::string::npos);

    SECTION("no category that counts has a pattern: no walk at all") {
        CHECK(plan_walks(categories({file_category{"context", 0, {"/etc/passwd", "/.d/"}, true}}), {"/root"}, search,
                         8)
                  .empty());
        CHECK(plan_walks(config{}, {"/root"}, search, 8).empty());
    }
    SECTION("'/' and '//' name no directory") {
        const auto p = plan_walks(categories({file_category{"c", 3, {"/", "//", "a"}}}), {"/root"}, {}, 8);
        CHECK(p.empty());
    }
}

TEST_CASE("default_search_roots reach the browser, wallet and messaging stores", "[sensor][file_names][walk]") {
    const std::vector<search_root> roots = default_search_roots();
    const auto has = [&](const std::string& rel) {
        return std::any_of(roots.begin(), roots.end(), [&](const search_root& r) { return r.rel == rel; });
    };
    for (const char* rel : {"", ".mozilla/firefox", ".config/google-chrome", ".config/chromium",
                            ".config/BraveSoftware", "snap/firefox/common/.mozilla/firefox",
                            ".var/app/org.mozilla.firefox/.mozilla/firefox", ".bitcoin", ".config/Exodus",
                            ".local/share/TelegramDesktop", ".config/discord"})
        CHECK(has(rel));
    std::set<std::string> seen;
    for (const search_root& r : roots) {
        INFO(r.rel);
        CHECK(seen.insert(r.rel).second);
        CHECK(r.max_depth <= 5);
        CHECK((r.rel.empty() || (r.rel.front() != '/' && r.rel.back() != '/')));
    }
}

TEST_CASE("walk_skips_directory: caches and package trees, not stores", "[sensor][file_names][walk]") {
    for (const char* n : {"node_modules", ".git", "Cache", "Code Cache", "GPUCache", "Service Worker", "cache2",
                          "Extensions", "user_data", "Crashpad", "__pycache__", ".cache"})
        CHECK(walk_skips_directory(n));
    for (const char* n : {"Default", "Local Extension Settings", "keystore", "tdata", "Profile 1", "wallets",
                          "Network", "Local Storage", "leveldb", "D877F783D5D3EF8C", "abcd.default-release",
                          "Documents", "caches", ""})
        CHECK_FALSE(walk_skips_directory(n));
}

TEST_CASE("walk_skips_filesystem: network, FUSE, automount and kernel filesystems", "[sensor][file_names][walk]") {
    for (const char* t : {"nfs", "nfs4", "cifs", "smb3", "ceph", "9p", "fuse", "fuse.sshfs", "fuse.rclone",
                          "fuseblk", "autofs", "proc", "sysfs", "cgroup2", "devtmpfs", "tracefs"})
        CHECK(walk_skips_filesystem(t));
    for (const char* t : {"ext4", "xfs", "btrfs", "tmpfs", "overlay", "zfs", "vfat", "ntfs3", "ramfs", "fusefoo"})
        CHECK_FALSE(walk_skips_filesystem(t));
}

TEST_CASE("parse_mountinfo reads device, type, mount point and root; skips malformed lines", "[sensor][file_names][walk]") {
    const std::string text =
        "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
        "23 22 0:21 / /proc rw,nosuid - proc proc rw\n"
        "24 22 0:45 / /mnt/with\\040space rw shared:7 master:3 - nfs4 srv:/x rw\n"
        "25 22 0:46 / /home/ann/remote rw - fuse.sshfs ann@host: rw\n"
        "garbage\n"
        "26 22 x:y / /bad rw - ext4 /dev/x rw\n"        // bad device
        "27 22 0:47 / /nodash rw shared:1 ext4 /dev/x\n" // no separator
        "\n"
        "28 22 8:1 / /boot rw - vfat /dev/sda1 rw"; // no final newline
    CHECK(parse_mountinfo("30 22 254:1 /srv/data /data rw - ext4 /dev/vda1 rw\n").at(0).root == "/srv/data");
    const std::vector<mount_entry> m = parse_mountinfo(text);
    REQUIRE(m.size() == 5);
    CHECK(m[0] == mount_entry{makedev(259, 2), "ext4", "/", "/", 22});
    CHECK(m[1] == mount_entry{makedev(0, 21), "proc", "/proc", "/", 23});
    CHECK(m[2] == mount_entry{makedev(0, 45), "nfs4", "/mnt/with space", "/", 24});
    CHECK(m[3].fstype == "fuse.sshfs");
    CHECK(m[4] == mount_entry{makedev(8, 1), "vfat", "/boot", "/", 28});
    CHECK(parse_mountinfo("").empty());

    SECTION("the real mount table lists the root and /proc") {
        std::ifstream f("/proc/self/mountinfo");
        const std::string real((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        const std::vector<mount_entry> r = parse_mountinfo(real);
        CHECK(std::any_of(r.begin(), r.end(), [](const mount_entry& e) { return e.mount_point == "/"; }));
        CHECK(std::any_of(r.begin(), r.end(), [](const mount_entry& e) { return e.fstype == "proc"; }));
    }
}

TEST_CASE("parse_mountinfo never crashes on random bytes", "[sensor][file_names][walk]") {
    std::mt19937 rng(77);
    const std::string alphabet = "0123456789: -\\/\nabcext4"s;
    for (int round = 0; round < 2000; ++round) {
        std::string text(rng() % 200, ' ');
        for (char& ch : text) ch = alphabet[rng() % alphabet.size()];
        for (const mount_entry& e : parse_mountinfo(text)) CHECK_FALSE(e.fstype.empty());
    }
}

// --- the walks over a fake tree -----------------------------------------------------------

namespace {

// Walks on, the stat phase as usual; search roots and bounds small and explicit.
file_names_options walking(const temp_tree& t, std::vector<search_root> roots = {}) {
    file_names_options o;
    o.root = t.dir.string();
    o.search_roots = std::move(roots);
    o.walk_every = 3;
    return o;
}

std::string passwd_line(const std::string& name, std::uint32_t uid, const std::string& home) {
    return name + ":x:" + std::to_string(uid) + ":" + std::to_string(uid) + "::" + home + ":/bin/sh\n";
}

} // namespace

TEST_CASE("walks: a directory pattern names every regular file inside it, hard links included",
          "[sensor][file_names][walk]") {
    temp_tree t;
    t.write("/etc/passwd", passwd_line("ann", 1000, "/home/ann"));
    t.write("/home/ann/.password-store/bank.gpg", "b");
    t.write("/home/ann/.password-store/work/vpn.gpg", "v");
    t.write("/home/ann/.password-store/work/deep/er/x.gpg", "x");
    t.write("/home/ann/.password-store/.git/objects/ab/cdef", "git object"); // .git is not entered
    t.write("/home/ann/.password-store/node_modules/m.js", "m");              // nor node_modules
    t.write("/elsewhere/outside.gpg", "o");
    fs::create_symlink(t.at("/elsewhere"), t.at("/home/ann/.password-store/linked")); // not followed
    fs::create_symlink(t.at("/elsewhere/outside.gpg"), t.at("/home/ann/.password-store/link.gpg"));
    ::mkfifo(t.at("/home/ann/.password-store/fifo").c_str(), 0600);                // not a regular file
    t.write("/root/.password-store/root.gpg", "r");
    // Hard links to stored secrets under innocent names.
    fs::create_hard_link(t.at("/home/ann/.password-store/work/vpn.gpg"), t.at("/home/ann/notes.txt"));

    file_names names(walking(t));
    const file_names_update u = names.refresh(rules({"/.password-store/", "/etc/shadow"}));
    const auto got = by_path(u.changed);
    CHECK(paths(u.changed) == std::set<std::string>{"/home/ann/.password-store/bank.gpg",
                                                    "/home/ann/.password-store/work/vpn.gpg",
                                                    "/home/ann/.password-store/work/deep/er/x.gpg",
                                                    "/root/.password-store/root.gpg"});
    for (const auto& [path, id] : got) {
        INFO(path);
        CHECK(id == t.id(path));
    }
    CHECK(got.at("/home/ann/.password-store/work/vpn.gpg") == t.id("/home/ann/notes.txt"));
    CHECK(names.size() == 4);
    CHECK(names.walked() == 4);
    const file_names_refresh_stats& st = names.last();
    CHECK(st.walk_started);
    CHECK(st.walk_finished);
    CHECK(st.walk_complete);
    CHECK(st.walk_files == 4);
    CHECK(st.walk_changed == 4);
    CHECK(st.walk_errors == 0);
    CHECK(names.walk_passes() == 1);
    CHECK_FALSE(names.walking());
    CHECK(u.notices.empty());

    SECTION("the next passes come every walk_every refreshes, and report only changes") {
        for (int i = 0; i < 2; ++i) {
            CHECK(names.refresh(rules({"/.password-store/", "/etc/shadow"})).changed.empty());
            CHECK_FALSE(names.last().walk_started);
        }
        t.write("/home/ann/.password-store/new.gpg", "n");
        const file_names_update again = names.refresh(rules({"/.password-store/", "/etc/shadow"}));
        CHECK(names.last().walk_started);
        CHECK(paths(again.changed) == std::set<std::string>{"/home/ann/.password-store/new.gpg"});
        CHECK(names.walk_passes() == 2);
    }
    SECTION("a file gone is forgotten when a pass completes, and reported again when it comes back") {
        fs::remove(t.at("/home/ann/.password-store/bank.gpg"));
        names.forget(); // forget() also starts a pass at the next refresh
        CHECK(names.refresh(rules({"/.password-store/", "/etc/shadow"})).changed.size() == 3);
        CHECK(names.size() == 3);
        t.write("/home/ann/.password-store/bank.gpg", "b2");
        for (int i = 0; i < 2; ++i) CHECK(names.refresh(rules({"/.password-store/", "/etc/shadow"})).changed.empty());
        const file_names_update back = names.refresh(rules({"/.password-store/", "/etc/shadow"}));
        CHECK(paths(back.changed) == std::set<std::string>{"/home/ann/.password-store/bank.gpg"});
        CHECK(names.size() == 4);
    }
    SECTION("new rules start a pass at once; a dropped directory's files are forgotten") {
        t.write("/home/ann/.local/share/keyrings/login.keyring", "k");
        const file_names_update more =
            names.refresh(rules({"/.password-store/", "/etc/shadow", "/.local/share/keyrings/"}));
        CHECK(names.last().walk_started);
        CHECK(paths(more.changed) == std::set<std::string>{"/home/ann/.local/share/keyrings/login.keyring"});
        CHECK(names.size() == 5);
        const file_names_update fewer = names.refresh(rules({"/.local/share/keyrings/"}));
        CHECK(fewer.changed.empty());
        CHECK(names.size() == 1);
    }
    SECTION("a context category's directory is not walked") {
        file_names other(walking(t));
        config c = rules({"/etc/shadow"});
        c.suspicious_files.push_back(file_category{"ctx", 0, {"/.password-store/"}, true});
        CHECK(other.refresh(c).changed.empty());
        CHECK(other.last().walk_roots == 0);
    }
}

TEST_CASE("walks: an inode is named by one path; a hard link into a walked place does not rename it",
          "[sensor][file_names][walk]") {
    temp_tree t;
    t.write("/etc/passwd", "");
    t.write("/etc/shadow", "s");
    t.write("/root/.password-store/a.gpg", "a");
    fs::create_hard_link(t.at("/etc/shadow"), t.at("/root/.password-store/shadow-copy.gpg"));
    fs::create_hard_link(t.at("/root/.password-store/a.gpg"), t.at("/root/.password-store/a-again.gpg"));
    file_names names(walking(t));
    const file_names_update u = names.refresh(rules({"/etc/shadow", "/.password-store/"}));
    const auto got = by_path(u.changed);
    // /etc/shadow keeps its name (the stat phase's); of a.gpg's two names, the first found is kept
    CHECK(got.count("/etc/shadow") == 1);
    CHECK(got.count("/root/.password-store/shadow-copy.gpg") == 0);
    CHECK(got.count("/root/.password-store/a.gpg") + got.count("/root/.password-store/a-again.gpg") == 1);
    CHECK(u.changed.size() == 2);
    CHECK(names.last().walk_aliases == 2);
    std::set<std::pair<std::uint64_t, std::uint64_t>> inodes;
    for (const file_event& f : u.changed) CHECK(inodes.insert({f.dev, f.ino}).second);
}

TEST_CASE("walks: names that can sit anywhere, found in the search roots", "[sensor][file_names][walk]") {
    temp_tree t;
    const std::uint32_t me = ::geteuid();
    t.write("/etc/passwd", passwd_line("ann", me, "/home/ann") + passwd_line("sys", me + 1, "/srv/sys"));
    // Firefox and Chrome profiles.
    t.write("/home/ann/.mozilla/firefox/ab12.default-release/logins.json", "l");
    t.write("/home/ann/.mozilla/firefox/ab12.default-release/key4.db", "k");
    t.write("/home/ann/.mozilla/firefox/ab12.default-release/prefs.js", "p"); // named by no pattern
    t.write("/home/ann/.mozilla/firefox/ab12.default-release/cache2/entries/logins.json", "cached"); // skipped
    t.write("/home/ann/.config/google-chrome/Default/Login Data", "ld");
    t.write("/home/ann/.config/google-chrome/Profile 1/Local Extension Settings/nkbih/000003.log", "mm");
    t.write("/home/ann/.config/google-chrome/Default/Cache/Cache_Data/Login Data", "cached");       // skipped
    t.write("/home/ann/.config/google-chrome/Default/a/b/c/d/Login Data", "too deep");               // depth 4 > 3
    // The home itself, two levels: a KeePass database in Documents, not in a dot-directory.
    t.write("/home/ann/Documents/vault.kdbx", "v");
    t.write("/home/ann/Documents/old/older/ancient.kdbx", "too deep");
    t.write("/home/ann/.hidden/x.kdbx", "dot-directories have roots of their own");
    // A home the account does not own (a system account's home): the home itself is not walked.
    t.write("/srv/sys/vault.kdbx", "v");
    t.write("/srv/sys/.mozilla/firefox/p/logins.json", "search roots still are");

    const std::vector<search_root> roots{{"", 2}, {".mozilla/firefox", 3}, {".config/google-chrome", 3}};
    file_names names(walking(t, roots));
    const config c = rules({"/logins.json", "/key4.db", "/Login Data", "/Local Extension Settings/nkbih/", ".kdbx"});
    const file_names_update u = names.refresh(c);
    CHECK(paths(u.changed) == std::set<std::string>{
                                  "/home/ann/.mozilla/firefox/ab12.default-release/logins.json",
                                  "/home/ann/.mozilla/firefox/ab12.default-release/key4.db",
                                  "/home/ann/.config/google-chrome/Default/Login Data",
                                  "/home/ann/.config/google-chrome/Profile 1/Local Extension Settings/nkbih/000003.log",
                                  "/home/ann/Documents/vault.kdbx",
                                  "/srv/sys/.mozilla/firefox/p/logins.json",
                              });
    for (const file_event& f : u.changed) {
        INFO(f.path);
        CHECK(std::pair{f.dev, f.ino} == t.id(f.path));
    }
    CHECK(names.last().walk_complete);

    SECTION("a hard link to a profile file shares its identity") {
        fs::create_hard_link(t.at("/home/ann/.mozilla/firefox/ab12.default-release/logins.json"),
                             t.at("/home/ann/innocent.txt"));
        CHECK(by_path(u.changed).at("/home/ann/.mozilla/firefox/ab12.default-release/logins.json") ==
              t.id("/home/ann/innocent.txt"));
    }
    SECTION("the stat phase keeps a path it names, even when a walk finds it") {
        file_names both(walking(t, roots));
        const file_names_update b = both.refresh(rules({"/.mozilla/firefox/ab12.default-release/logins.json"}));
        CHECK(paths(b.changed) ==
              std::set<std::string>{"/home/ann/.mozilla/firefox/ab12.default-release/logins.json"});
        CHECK(both.walked() == 0);
        CHECK(both.size() == 1);
    }
}

TEST_CASE("walks: a pass longer than the entry bound continues at the next refreshes", "[sensor][file_names][walk]") {
    temp_tree t;
    t.write("/etc/passwd", "");
    std::set<std::string> all;
    for (int d = 0; d < 10; ++d)
        for (int f = 0; f < 10; ++f) {
            const std::string p = "/root/.password-store/d" + std::to_string(d) + "/f" + std::to_string(f) + ".gpg";
            t.write(p, p);
            all.insert(p);
        }
    file_names_options o = walking(t);
    o.max_walk_entries = 25;
    o.walk_every = 1000; // no new pass while this one runs
    file_names names(o);
    std::set<std::string> seen;
    std::vector<std::string> notices;
    int refreshes = 0;
    for (; refreshes < 20 && names.walk_passes() == 0; ++refreshes) {
        const file_names_update u = names.refresh(rules({"/.password-store/"}));
        for (const file_event& f : u.changed) CHECK(seen.insert(f.path).second); // each reported once
        notices.insert(notices.end(), u.notices.begin(), u.notices.end());
        CHECK(names.last().walk_entries <= 25 + o.max_dir_entries);
    }
    CHECK(seen == all);
    CHECK(refreshes >= 4); // 110 entries, 25 a refresh
    CHECK(refreshes <= 6);
    REQUIRE(notices.size() == 1);
    CHECK(notices[0] == "the places walked for the files the rules name hold more than 25 directory entries; each "
                        "refresh walks part of them and the next one continues");
    CHECK(names.size() == all.size());
}

TEST_CASE("walks: the bounds on one place, on one directory and on a pass", "[sensor][file_names][walk]") {
    temp_tree t;
    t.write("/etc/passwd", passwd_line("ann", 1000, "/home/ann"));
    for (int i = 0; i < 30; ++i) t.write("/root/.password-store/f" + std::to_string(i) + ".gpg", "x");
    for (int i = 0; i < 30; ++i) t.write("/home/ann/.password-store/f" + std::to_string(i) + ".gpg", "x");

    SECTION("max_root_files") {
        file_names_options o = walking(t);
        o.max_root_files = 10;
        file_names names(o);
        const file_names_update u = names.refresh(rules({"/.password-store/"}));
        CHECK(u.changed.size() == 20); // 10 from each home
        CHECK(any_contains(u.notices, "/root/.password-store holds more than 10 files the rules name"));
        CHECK(any_contains(u.notices, "/home/ann/.password-store holds more than 10 files the rules name"));
        CHECK(names.last().walk_complete);
        CHECK(names.refresh(rules({"/.password-store/"})).notices.empty());
    }
    SECTION("max_walk_files stops the pass without forgetting") {
        file_names_options o = walking(t);
        o.max_walk_files = 12;
        file_names names(o);
        const file_names_update u = names.refresh(rules({"/.password-store/"}));
        CHECK(u.changed.size() == 12);
        CHECK(names.last().walk_finished);
        CHECK_FALSE(names.last().walk_complete);
        CHECK(any_contains(u.notices, "the walks found 12 files the rules name, the most a pass keeps (12)"));
        CHECK(names.size() == 12);
    }
    SECTION("max_dir_entries") {
        file_names_options o = walking(t);
        o.max_dir_entries = 5;
        file_names names(o);
        const file_names_update u = names.refresh(rules({"/.password-store/"}));
        CHECK(u.changed.size() == 10); // 5 from each directory
        CHECK(any_contains(u.notices, "has more than 5 entries"));
    }
    SECTION("max_root_entries") {
        file_names_options o = walking(t);
        o.max_root_entries = 7;
        file_names names(o);
        const file_names_update u = names.refresh(rules({"/.password-store/"}));
        CHECK(u.changed.size() == 14);
        CHECK(any_contains(u.notices, "holds more than 7 directory entries"));
    }
    SECTION("max_walk_depth caps every root") {
        t.write("/root/.password-store/a/b/c/deep.gpg", "d");
        file_names_options o = walking(t);
        o.max_walk_depth = 2;
        file_names names(o);
        const file_names_update u = names.refresh(rules({"/.password-store/"}));
        CHECK(paths(u.changed).count("/root/.password-store/a/b/c/deep.gpg") == 0);
        o.max_walk_depth = 3;
        file_names deeper(o);
        CHECK(paths(deeper.refresh(rules({"/.password-store/"})).changed).count(
                  "/root/.password-store/a/b/c/deep.gpg") == 1);
    }
}

TEST_CASE("walks: a root that is a link into a kernel filesystem is not entered", "[sensor][file_names][walk]") {
    temp_tree t;
    t.write("/etc/passwd", "");
    t.mkdir("/root");
    fs::create_symlink("/proc/self", t.at("/root/.password-store"));
    file_names names(walking(t));
    const file_names_update u = names.refresh(rules({"/.password-store/"}));
    CHECK(u.changed.empty());
    CHECK(names.last().walk_skipped >= 1);
    CHECK(any_contains(u.notices, "/root/.password-store is on proc, which the walks do not enter"));
    CHECK(names.last().walk_complete);
}

TEST_CASE("walks: without a mount table the walks stay on their home's filesystem", "[sensor][file_names][walk]") {
    temp_tree t;
    t.write("/etc/passwd", "");
    t.write("/root/.password-store/a.gpg", "a");
    file_names_options o = walking(t);
    o.mountinfo_path = t.at("/no/mountinfo").string();
    file_names names(o);
    const file_names_update u = names.refresh(rules({"/.password-store/"}));
    CHECK(paths(u.changed) == std::set<std::string>{"/root/.password-store/a.gpg"});
    REQUIRE(u.notices.size() == 1);
    CHECK(u.notices[0].rfind("cannot read " + o.mountinfo_path + " (No such file or directory)", 0) == 0);
}

TEST_CASE("walks: turned off, nothing is walked", "[sensor][file_names][walk]") {
    temp_tree t;
    t.write("/etc/passwd", "");
    t.write("/root/.password-store/a.gpg", "a");
    file_names_options o = walking(t);
    o.walk = false;
    file_names names(o);
    CHECK(names.refresh(rules({"/.password-store/"})).changed.empty());
    CHECK_FALSE(names.last().walk_started);
}
