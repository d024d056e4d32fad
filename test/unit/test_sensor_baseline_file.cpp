// sensor/baseline_file.*: reading, atomic writing, the session, --duration.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline_file.hpp"

using namespace barbwire;
using namespace barbwire::sensor;
using namespace std::chrono_literals;

namespace {

struct temp_dir {
    std::string path;
    temp_dir() {
        char tmpl[] = "/tmp/bw-baseline-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~temp_dir() {
        if (DIR* d = ::opendir(path.c_str())) {
            while (dirent* e = ::readdir(d)) {
                const std::string n = e->d_name;
                if (n != "." && n != "..") ::unlink((path + "/" + n).c_str());
            }
            ::closedir(d);
        }
        ::rmdir(path.c_str());
    }
    [[nodiscard]] std::string file(const std::string& name) const { return path + "/" + name; }
    [[nodiscard]] std::size_t entries() const {
        std::size_t n = 0;
        if (DIR* d = ::opendir(path.c_str())) {
            while (dirent* e = ::readdir(d)) {
                const std::string name = e->d_name;
                if (name != "." && name != "..") ++n;
            }
            ::closedir(d);
        }
        return n;
    }
};

std::string slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void spit(const std::string& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
}

alert sample(std::uint16_t port, const std::string& sha = std::string(64, 'a')) {
    alert a;
    a.process = {200, "curl", "/usr/bin/curl", sha};
    a.reader = a.process;
    a.file.category = "credential access";
    a.destination = {net_op::connect, ip_proto::tcp, *ip_address::parse("127.0.0.1"), port};
    a.score = 5;
    a.breakdown = {{"credential access", 3}, {"suspicious parent: bash", 2}};
    return a;
}

} // namespace

TEST_CASE("parse_duration: whole numbers with s, m or h", "[sensor][baseline]") {
    CHECK(*parse_duration("30s") == 30s);
    CHECK(*parse_duration("10m") == 600s);
    CHECK(*parse_duration("2h") == 7200s);
    CHECK(*parse_duration("720h") == 720h);
    for (const char* bad : {"", "s", "10", "10x", "0s", "0m", "-1s", "1.5h", "721h", "43201m", " 5s", "5S",
                            "99999999999s"}) {
        INFO(bad);
        auto d = parse_duration(bad);
        REQUIRE_FALSE(d.has_value());
        CHECK(d.error().find("30s, 10m or 2h") != std::string::npos);
    }
}

TEST_CASE("write, then read: the same baseline; the temporary file is gone", "[sensor][baseline]") {
    temp_dir d;
    baseline b;
    REQUIRE(b.learn(sample(8080)) == learn_outcome::added);
    const std::string f = d.file("base.json");
    REQUIRE(write_baseline_file(f, b).has_value());
    CHECK(d.entries() == 1);
    struct stat st {};
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto back = read_baseline_file(f);
    REQUIRE(back.has_value());
    CHECK(back->entries() == b.entries());

    // overwrite: the new content replaces the old one in one step
    REQUIRE(b.learn(sample(9090)) == learn_outcome::added);
    REQUIRE(write_baseline_file(f, b).has_value());
    CHECK(read_baseline_file(f)->size() == 2);
    CHECK(d.entries() == 1);
}

TEST_CASE("a failed write leaves the old file as it was", "[sensor][baseline]") {
    temp_dir d;
    const std::string f = d.file("base.json");
    spit(f, "old content");
    baseline b;
    REQUIRE(b.learn(sample(1)) == learn_outcome::added);
    // the target is a directory: rename fails, and the temporary file is removed
    const std::string dir_target = d.file("sub");
    REQUIRE(::mkdir(dir_target.c_str(), 0700) == 0);
    REQUIRE(::mkdir((dir_target + "/x").c_str(), 0700) == 0); // non-empty: rename(file, dir) fails
    auto w = write_baseline_file(dir_target, b);
    REQUIRE_FALSE(w.has_value());
    CHECK(w.error().find("unchanged") != std::string::npos);
    ::rmdir((dir_target + "/x").c_str());
    ::rmdir(dir_target.c_str());
    CHECK(d.entries() == 1);
    CHECK(slurp(f) == "old content");
    // a directory that does not exist
    auto w2 = write_baseline_file(d.file("no/such/dir/base.json"), b);
    REQUIRE_FALSE(w2.has_value());
    CHECK(w2.error().find("cannot create a temporary file") != std::string::npos);
}

TEST_CASE("read errors are one line naming the file", "[sensor][baseline]") {
    temp_dir d;
    const std::string missing = d.file("missing.json");
    auto m = read_baseline_file(missing);
    REQUIRE_FALSE(m.has_value());
    CHECK(m.error().message.find(missing) != std::string::npos);
    CHECK(m.error().message.find("barbwire learn") != std::string::npos);
    CHECK(read_baseline_file_or_empty(missing)->empty());

    const std::string bad = d.file("bad.json");
    spit(bad, R"({"version": 1, "entries": [{"exe": "/x"}]})");
    auto e = read_baseline_file(bad);
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().message.rfind("baseline " + bad + ": entries[0].sha256: missing", 0) == 0);
    CHECK(e.error().message.find('\n') == std::string::npos);
    CHECK_FALSE(read_baseline_file_or_empty(bad).has_value()); // corrupt is never "empty"

    auto dir = read_baseline_file(d.path);
    REQUIRE_FALSE(dir.has_value());
    CHECK(dir.error().message.find("not a regular file") != std::string::npos);
}

TEST_CASE("session: learn merges into the file; apply quiets what was learned", "[sensor][baseline]") {
    temp_dir d;
    const std::string f = d.file("base.json");
    const config cfg = default_config();
    {
        auto s = baseline_session::open({std::nullopt, baseline_mode::suppress, f});
        REQUIRE(s.has_value());
        config c = cfg;
        s->adjust(c);
        CHECK(c.alert_threshold == 0);
        CHECK(c.rate_limit_period == nanoseconds{0});
        alert a = sample(8080);
        CHECK_FALSE(s->admit(a)); // learning emits nothing
        auto done = s->finish(correlator_stats{});
        REQUIRE(done.has_value());
        REQUIRE(done->has_value());
        CHECK(done->value().find("learned 1 correlation") == 0);
        CHECK(done->value().find("now holds 1 entry (had 0)") != std::string::npos);
    }
    {
        // a second learning run merges, and a changed curl voids the old entry
        auto s = baseline_session::open({std::nullopt, baseline_mode::suppress, f});
        REQUIRE(s.has_value());
        alert a = sample(9090, std::string(64, 'b'));
        CHECK_FALSE(s->admit(a));
        auto done = s->finish(correlator_stats{});
        REQUIRE(done.has_value());
        CHECK(done->value().find("now holds 1 entry (had 1, 1 voided by changed binaries)") != std::string::npos);
    }
    {
        auto s = baseline_session::open({f, baseline_mode::suppress, std::nullopt});
        REQUIRE(s.has_value());
        config c = cfg;
        s->adjust(c);
        CHECK(c.alert_threshold == cfg.alert_threshold);
        CHECK(c.rate_limit_period == cfg.rate_limit_period);
        // the baseline goes into the correlator, which applies it (correlator.hpp step 3b)
        correlator corr(cfg);
        CHECK(corr.applied_baseline() == nullptr);
        s->attach(corr);
        REQUIRE(corr.applied_baseline() != nullptr);
        CHECK(corr.applied_baseline()->size() == 1);
        alert any = sample(9090);
        CHECK(s->admit(any)); // nothing left for the session to quiet
        CHECK(s->describe().find("1 entry, suppress") != std::string::npos);
        correlator_stats st;
        st.baseline_seen = 1;
        st.suppressed_baseline = 1;
        st.baseline_new = 1;
        st.baseline_changed = 1;
        CHECK(s->finish(st)->value() == "baseline " + f + ": 1 seen (1 suppressed), 1 new, 1 changed binary");
    }
    {
        // no baseline at all: everything passes, nothing to say
        auto s = baseline_session::open({});
        REQUIRE(s.has_value());
        alert a = sample(1);
        CHECK(s->admit(a));
        correlator corr(cfg);
        s->attach(corr);
        CHECK(corr.applied_baseline() == nullptr);
        CHECK_FALSE(s->finish(corr.stats())->has_value());
    }
    // a corrupt file refuses both learning and applying
    spit(f, "{");
    CHECK_FALSE(baseline_session::open({f, baseline_mode::suppress, std::nullopt}).has_value());
    CHECK_FALSE(baseline_session::open({std::nullopt, baseline_mode::suppress, f}).has_value());
}
