// sensor/owner_files.cpp: which files name their servers, the parsers, the
// safe read, and the resolver thread.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include <barbwire/correlator.hpp>

#include "owner_files.hpp"

using namespace barbwire;
using namespace barbwire::sensor;

namespace {
std::vector<named_server> servers(credential_format f, std::string_view text) { return parse_servers(f, text); }
named_server ns(std::string h, std::uint16_t p) { return named_server{std::move(h), p}; }
} // namespace

TEST_CASE("credential_format_of: by the file's shape", "[owner_files]") {
    CHECK(credential_format_of("/root/.netrc") == credential_format::netrc);
    CHECK(credential_format_of("/home/a/_netrc") == credential_format::netrc);
    CHECK(credential_format_of("/home/a/.kube/config") == credential_format::kubeconfig);
    CHECK(credential_format_of("/etc/kubernetes/admin.conf") == credential_format::kubeconfig);
    CHECK(credential_format_of("/home/a/.git-credentials") == credential_format::git_credentials);
    CHECK(credential_format_of("/home/a/.config/git/credentials") == credential_format::git_credentials);
    CHECK(credential_format_of("/home/a/.docker/config.json") == credential_format::registry_auth);
    CHECK(credential_format_of("/root/.config/containers/auth.json") == credential_format::registry_auth);
    CHECK(credential_format_of("/home/a/.s3cfg") == credential_format::s3cfg);
    CHECK_FALSE(credential_format_of("/home/a/.ssh/id_rsa"));
    CHECK_FALSE(credential_format_of("/home/a/.netrc.bak"));
    CHECK_FALSE(credential_format_of("/home/a/.kube/config.bak"));
}

TEST_CASE("netrc: machines, any port; default and macdef bind nothing", "[owner_files]") {
    CHECK(servers(credential_format::netrc, "machine 127.0.0.1 login u password p\n") ==
          std::vector<named_server>{ns("127.0.0.1", 0)});
    CHECK(servers(credential_format::netrc,
                  "machine Example.ORG\n  login u\n  password \"a b\"\nmacdef init\nmachine evil.example\n\n"
                  "default login anonymous password x\nmachine b.example login v\n") ==
          std::vector<named_server>{ns("example.org", 0), ns("b.example", 0)});
    CHECK(servers(credential_format::netrc, "default login a password b").empty());
    CHECK(servers(credential_format::netrc, "machine").empty());
    CHECK(servers(credential_format::netrc, "machine * login x").empty());
}

TEST_CASE("kubeconfig: cluster servers, port by scheme", "[owner_files]") {
    const char* kc = R"(apiVersion: v1
kind: Config
clusters:
- name: a
  cluster:
    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: true
- name: b
  cluster:
    server: http://api.example.com
- name: c
  cluster:
    server: https://[::1]
users:
- name: u
  user:
    token: secret
)";
    CHECK(servers(credential_format::kubeconfig, kc) ==
          std::vector<named_server>{ns("127.0.0.1", 6443), ns("api.example.com", 80), ns("::1", 443)});
    CHECK(servers(credential_format::kubeconfig, "{{{ not yaml").empty());
    CHECK(servers(credential_format::kubeconfig, "clusters: 5").empty());
}

TEST_CASE("git-credentials: one URL per line", "[owner_files]") {
    CHECK(servers(credential_format::git_credentials,
                  "https://user:tok@github.com\nhttp://u:p@127.0.0.1:8080/repo.git\n# c\n\nnot a url\n"
                  "gopher://x@y\nhttp://owner:p%40ss@127.0.0.1%3a9090\n") ==
          std::vector<named_server>{ns("github.com", 443), ns("127.0.0.1", 8080), ns("127.0.0.1", 9090)});
}

TEST_CASE("registry auths: keys, https by default, Docker Hub's hosts", "[owner_files]") {
    CHECK(servers(credential_format::registry_auth,
                  R"({"auths":{"127.0.0.1:5000":{"auth":"x"},"https://index.docker.io/v1/":{},"quay.io":{}}})") ==
          std::vector<named_server>{ns("127.0.0.1", 5000), ns("index.docker.io", 443),
                                    ns("registry-1.docker.io", 443), ns("auth.docker.io", 443),
                                    ns("quay.io", 443)});
    CHECK(servers(credential_format::registry_auth, "not json").empty());
    CHECK(servers(credential_format::registry_auth, R"({"auths":[]})").empty());
}

TEST_CASE("s3cfg: host_base and host_bucket, use_https", "[owner_files]") {
    CHECK(servers(credential_format::s3cfg,
                  "[default]\naccess_key = A\nhost_base = 127.0.0.1:9000\nhost_bucket = %(bucket)s.127.0.0.1:9000\n"
                  "use_https = False\n") == std::vector<named_server>{ns("127.0.0.1", 9000)});
    CHECK(servers(credential_format::s3cfg, "[default]\nhost_base = s3.example.com\n") ==
          std::vector<named_server>{ns("s3.example.com", 443)});
    CHECK(servers(credential_format::s3cfg, "[default]\naccess_key = A\n") ==
          std::vector<named_server>{ns("s3.amazonaws.com", 443)});
}

TEST_CASE("server_of_url", "[owner_files]") {
    CHECK(server_of_url("https://h") == ns("h", 443));
    CHECK(server_of_url("ssh://git@h:2222/x") == ns("h", 2222));
    CHECK(server_of_url("http://u:p@h:99999/") == std::nullopt);
    CHECK(server_of_url("file:///x") == std::nullopt);
    CHECK(server_of_url("h:5000", "https") == ns("h", 5000));
}

TEST_CASE("read_credential_file: only the event's regular file, bounded", "[owner_files]") {
    char dir[] = "/tmp/bw_owner_XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string p = std::string(dir) + "/.netrc";
    { std::ofstream(p) << "machine a\n"; }
    struct stat sb {};
    REQUIRE(::stat(p.c_str(), &sb) == 0);
    const auto dev = static_cast<std::uint64_t>(sb.st_dev), ino = static_cast<std::uint64_t>(sb.st_ino);
    auto t = read_credential_file(p, dev, ino);
    REQUIRE(t);
    CHECK(t->text == "machine a\n");
    auto same = read_credential_file(p, dev, ino, max_credential_file_bytes, std::make_pair(t->size, t->mtime_ns));
    REQUIRE(same);
    CHECK(same->unchanged);
    CHECK(same->text.empty());
    CHECK_FALSE(read_credential_file(p, dev, ino + 1));   // another file now at the path
    CHECK_FALSE(read_credential_file(p, dev, ino, 4));    // too large
    const std::string link = std::string(dir) + "/link";
    REQUIRE(::symlink(p.c_str(), link.c_str()) == 0);
    CHECK_FALSE(read_credential_file(link, dev, ino));    // never through a symlink
    const std::string fifo = std::string(dir) + "/fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    REQUIRE(::stat(fifo.c_str(), &sb) == 0);
    CHECK_FALSE(read_credential_file(fifo, static_cast<std::uint64_t>(sb.st_dev),
                                     static_cast<std::uint64_t>(sb.st_ino))); // no block, not regular
    ::unlink(fifo.c_str());
    ::unlink(link.c_str());
    ::unlink(p.c_str());
    ::rmdir(dir);
}

// A store rewritten through a lock file (git credential-store on every
// successful login) is a new inode at the same path; a sensor that lags
// reads the path after the rename. Found by a CI run under load: the
// opened inode was unbound and git's own use of its store alerted.
TEST_CASE("owner_binder: an opened file replaced at its path is bound as its successor, if its opener owns it",
          "[owner_files]") {
    char dir[] = "/tmp/bw_owner_XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string p = std::string(dir) + "/.git-credentials";
    { std::ofstream(p) << "http://u:pw@127.0.0.1:8080\n"; }
    struct stat sb {};
    REQUIRE(::stat(p.c_str(), &sb) == 0);
    const auto dev = static_cast<std::uint64_t>(sb.st_dev), old_ino = static_cast<std::uint64_t>(sb.st_ino);
    // the rewrite: a new file renamed over the old one (the old inode kept
    // alive by a link, so that its number is not reused at once)
    const std::string keep = std::string(dir) + "/old";
    REQUIRE(::link(p.c_str(), keep.c_str()) == 0);
    const std::string lock = p + ".lock";
    { std::ofstream(lock) << "http://u:pw@127.0.0.1:8080\nhttp://v:pw@127.0.0.2:9090\n"; }
    REQUIRE(::rename(lock.c_str(), p.c_str()) == 0);

    auto succ = read_credential_successor(p, ::geteuid());
    REQUIRE(succ);
    CHECK(succ->ino != old_ino);
    CHECK(succ->file.text.find("127.0.0.2") != std::string::npos);
    CHECK_FALSE(read_credential_successor(p, ::geteuid() + 1)); // not the opener's own file

    const auto open_of = [&](std::uint32_t uid) {
        open_event o;
        o.path = p;
        o.dev = dev;
        o.ino = old_ino;
        o.uid = uid;
        return event{std::chrono::seconds{1}, 10, 10, false, o};
    };
    correlator corr(default_config());
    owner_binder binder;
    auto b = binder.on_sensitive_open(open_of(::geteuid()), corr);
    REQUIRE(b);
    const auto* be = b->as<binding_event>();
    REQUIRE(be);
    CHECK(be->dev == dev);
    CHECK(be->ino == old_ino); // the opened inode, bound as its successor reads
    REQUIRE(be->destinations.size() == 2);
    CHECK(be->destinations[0].port == 8080);
    CHECK(be->destinations[1].port == 9090);
    CHECK(binder.stats().read_failures == 1);
    CHECK(binder.stats().successor_bindings == 1);

    // another user's open of the path: no successor is taken for it
    owner_binder other;
    CHECK_FALSE(other.on_sensitive_open(open_of(::geteuid() + 1), corr));
    CHECK(other.stats().successor_bindings == 0);

    // a symlink now at the path is no successor
    REQUIRE(::unlink(p.c_str()) == 0);
    REQUIRE(::symlink(keep.c_str(), p.c_str()) == 0);
    CHECK_FALSE(read_credential_successor(p, ::geteuid()));
    ::unlink(p.c_str());
    ::unlink(keep.c_str());
    ::rmdir(dir);
}

TEST_CASE("name_resolver: literals at once, names off the caller's thread", "[owner_files]") {
    name_resolver r;
    auto lit = r.lookup("127.0.0.1");
    REQUIRE(lit);
    CHECK(lit->at(0) == *ip_address::parse("127.0.0.1"));
    // "localhost" comes from /etc/hosts: the first lookup queues, a later one answers from the cache.
    CHECK_FALSE(r.lookup("localhost"));
    std::optional<std::vector<ip_address>> got;
    for (int i = 0; i < 200 && !got; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (r.completed()) got = r.lookup("localhost");
    }
    REQUIRE(got);
    CHECK_FALSE(got->empty());
    CHECK(r.stats().lookups == 1);
    CHECK(r.stats().cache_hits == 1);

}
