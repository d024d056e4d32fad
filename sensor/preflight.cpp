#include "preflight.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>

#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace barbwire::sensor {

namespace {

bool has_cap(std::uint64_t effective, unsigned cap) { return ((effective >> cap) & 1u) != 0; }

bool exists(const std::string& path) {
    struct stat sb {};
    return ::stat(path.c_str(), &sb) == 0;
}

} // namespace

std::string missing_capabilities(std::uint64_t effective) {
    if (has_cap(effective, cap_sys_admin)) return {};
    std::string missing;
    const auto add = [&](const char* name) {
        if (!missing.empty()) missing += ", ";
        missing += name;
    };
    if (!has_cap(effective, cap_bpf)) add("CAP_BPF");
    if (!has_cap(effective, cap_perfmon)) add("CAP_PERFMON");
    return missing;
}

std::string privilege_message(std::string_view missing, unsigned euid) {
    const std::string caps(missing);
    if (euid != 0) {
        return "the live sensor needs root: uid " + std::to_string(euid) + " lacks " + caps +
               " (or CAP_SYS_ADMIN); run it as root, e.g. `sudo barbwire run`";
    }
    return "running as root but without the capabilities the sensor needs: missing " + caps +
           " (or CAP_SYS_ADMIN); in a container add CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), or run it on the host";
}

std::optional<kernel_version> parse_kernel_release(std::string_view release) {
    kernel_version v;
    const char* p = release.data();
    const char* end = release.data() + release.size();
    auto r = std::from_chars(p, end, v.major);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return std::nullopt;
    r = std::from_chars(r.ptr + 1, end, v.minor);
    if (r.ec != std::errc() || v.major < 0 || v.minor < 0) return std::nullopt;
    return v;
}

bool has_ring_buffer(kernel_version v) noexcept {
    return v.major > min_kernel_major || (v.major == min_kernel_major && v.minor >= min_kernel_minor);
}

check_result<std::size_t> parse_ring_size(std::string_view text) {
    const std::string shown(text);
    const auto bad = [&](const std::string& why) -> check_result<std::size_t> {
        return tl::unexpected("--ring-size " + shown + ": " + why +
                             "; give a power of two between 4096 and 1G bytes, e.g. 16M or 16777216");
    };
    std::uint64_t n = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
    if (r.ec == std::errc::result_out_of_range) return bad("too large");
    if (r.ec != std::errc() || r.ptr == text.data()) return bad("not a number");
    std::string_view unit(r.ptr, static_cast<std::size_t>(text.data() + text.size() - r.ptr));
    unsigned shift = 0;
    if (unit == "k" || unit == "K" || unit == "KiB") shift = 10;
    else if (unit == "m" || unit == "M" || unit == "MiB") shift = 20;
    else if (unit == "g" || unit == "G" || unit == "GiB") shift = 30;
    else if (!unit.empty()) return bad("unknown unit '" + std::string(unit) + "' (use K, M or G)");
    constexpr std::uint64_t max_bytes = std::uint64_t{1} << 30;
    if (n > (max_bytes >> shift)) return bad("more than 1G");
    n <<= shift;
    if (n < 4096) return bad("smaller than a page");
    if ((n & (n - 1)) != 0) return bad("not a power of two");
    return static_cast<std::size_t>(n);
}

check_result<void> check_privileges() {
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &header, data) != 0) {
        return tl::unexpected(std::string("cannot read this process's capabilities (capget: ") + std::strerror(errno) +
                              "); run the sensor as root");
    }
    const std::uint64_t effective =
        static_cast<std::uint64_t>(data[0].effective) | (static_cast<std::uint64_t>(data[1].effective) << 32);
    const std::string missing = missing_capabilities(effective);
    if (missing.empty()) return {};
    return tl::unexpected(privilege_message(missing, static_cast<unsigned>(::geteuid())));
}

check_result<void> check_kernel() {
    utsname u{};
    if (::uname(&u) != 0) return {}; // cannot tell; the loader's own probe decides
    const auto v = parse_kernel_release(u.release);
    if (!v) return {};
    if (has_ring_buffer(*v)) return {};
    return tl::unexpected(std::string("kernel ") + u.release +
                          " is too old: the sensor needs BPF ring buffers (Linux 5.8 or newer); run it on a newer "
                          "kernel (barbwire replay works anywhere)");
}

check_result<void> check_btf(const std::string& btf_path) {
    if (exists(btf_path)) return {};
    return tl::unexpected("no kernel BTF at " + btf_path + " (" + std::strerror(errno) +
                          "): the sensor's CO-RE programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y; use such a "
                          "kernel (most distribution kernels since 2020)");
}

} // namespace barbwire::sensor
