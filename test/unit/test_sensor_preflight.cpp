// sensor/preflight: capability, kernel-version and ring-size decisions, and
// the file checks against paths we control.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "preflight.hpp"

using namespace barbwire::sensor;
namespace fs = std::filesystem;

namespace {
constexpr std::uint64_t bit(unsigned n) { return std::uint64_t{1} << n; }
} // namespace

TEST_CASE("missing_capabilities: CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON", "[sensor][preflight]") {
    CHECK(missing_capabilities(0) == "CAP_BPF, CAP_PERFMON");
    CHECK(missing_capabilities(bit(cap_sys_admin)).empty());
    CHECK(missing_capabilities(bit(cap_bpf) | bit(cap_perfmon)).empty());
    CHECK(missing_capabilities(bit(cap_bpf)) == "CAP_PERFMON");
    CHECK(missing_capabilities(bit(cap_perfmon)) == "CAP_BPF");
    // Root in a container without those capabilities: everything else set.
    const std::uint64_t all = (bit(41) - 1) & ~(bit(cap_sys_admin) | bit(cap_bpf) | bit(cap_perfmon));
    CHECK(missing_capabilities(all) == "CAP_BPF, CAP_PERFMON");
    CHECK(missing_capabilities(bit(41) - 1).empty());
}

TEST_CASE("privilege_message is one line naming root and the capabilities", "[sensor][preflight]") {
    const std::string user = privilege_message("CAP_BPF, CAP_PERFMON", 65534);
    CHECK(user.find("root") != std::string::npos);
    CHECK(user.find("CAP_BPF") != std::string::npos);
    CHECK(user.find("65534") != std::string::npos);
    CHECK(user.find('\n') == std::string::npos);
    const std::string root = privilege_message("CAP_BPF", 0);
    CHECK(root.find("root") != std::string::npos);
    CHECK(root.find("CAP_BPF") != std::string::npos);
    CHECK(root.find('\n') == std::string::npos);
}

TEST_CASE("parse_kernel_release and the ring-buffer threshold", "[sensor][preflight]") {
    auto v = parse_kernel_release("6.1.0-18-amd64");
    REQUIRE(v);
    CHECK(v->major == 6);
    CHECK(v->minor == 1);
    v = parse_kernel_release("5.8");
    REQUIRE(v);
    CHECK(has_ring_buffer(*v));
    CHECK_FALSE(has_ring_buffer(*parse_kernel_release("5.7.19")));
    CHECK_FALSE(has_ring_buffer(*parse_kernel_release("4.19.0-26-amd64")));
    CHECK(has_ring_buffer(*parse_kernel_release("5.10.0")));
    CHECK(has_ring_buffer(*parse_kernel_release("6.18.44-fc-v657")));
    CHECK_FALSE(parse_kernel_release(""));
    CHECK_FALSE(parse_kernel_release("six.one"));
    CHECK_FALSE(parse_kernel_release("6"));
    CHECK_FALSE(parse_kernel_release("6."));
}

TEST_CASE("parse_ring_size accepts powers of two with binary units", "[sensor][preflight]") {
    CHECK(parse_ring_size("4096") == 4096u);
    CHECK(parse_ring_size("16777216") == 16777216u);
    CHECK(parse_ring_size("16M") == 16777216u);
    CHECK(parse_ring_size("64k") == 65536u);
    CHECK(parse_ring_size("256KiB") == 262144u);
    CHECK(parse_ring_size("1G") == (std::size_t{1} << 30));
    for (const char* bad : {"", "abc", "0", "1000", "2048", "3M", "2G", "-4096", "16X", "16 M", "99999999999999999999999"}) {
        INFO(bad);
        auto r = parse_ring_size(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().find("--ring-size") != std::string::npos);
        CHECK(r.error().find("power of two") != std::string::npos);
    }
}

TEST_CASE("check_btf names the missing file", "[sensor][preflight]") {
    auto r = check_btf("/nonexistent/btf/vmlinux");
    REQUIRE_FALSE(r);
    CHECK(r.error().find("/nonexistent/btf/vmlinux") != std::string::npos);
    CHECK(r.error().find("CONFIG_DEBUG_INFO_BTF") != std::string::npos);
    CHECK(check_btf("/proc/self/stat"));
}

