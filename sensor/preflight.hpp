#pragma once
// Checks made before the sensor touches the kernel, each failing with ONE
// line that says what is wrong and what to do: privileges, kernel version,
// BTF (every program is tp_btf: no tracefs is needed). The decisions are pure functions (unit-tested in
// test/unit/test_sensor_preflight.cpp); the check_* functions read the system.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace barbwire::sensor {

// A check's outcome: the value, or ONE line saying what is wrong and what to do.
template <class T> using check_result = tl::expected<T, std::string>;

// Capability numbers (linux/capability.h; CAP_PERFMON and CAP_BPF since 5.8).
inline constexpr unsigned cap_sys_admin = 21;
inline constexpr unsigned cap_perfmon = 38;
inline constexpr unsigned cap_bpf = 39;

// The oldest kernel with BPF ring buffers (and CAP_BPF / CAP_PERFMON).
inline constexpr int min_kernel_major = 5;
inline constexpr int min_kernel_minor = 8;

// Given the effective capability set (bit n = capability n), the names of
// the missing capabilities the sensor needs, comma-separated, or an empty
// string when it may run. CAP_SYS_ADMIN alone covers everything (the kernel
// accepts it in place of CAP_BPF and CAP_PERFMON); otherwise CAP_BPF and
// CAP_PERFMON are needed.
[[nodiscard]] std::string missing_capabilities(std::uint64_t effective);

// The privilege error line for `missing` (from missing_capabilities) and the
// effective uid.
[[nodiscard]] std::string privilege_message(std::string_view missing, unsigned euid);

// "6.1.0-18-amd64" -> {6, 1}. nullopt when the release does not start with
// MAJOR.MINOR.
struct kernel_version {
    int major = 0;
    int minor = 0;
};
[[nodiscard]] std::optional<kernel_version> parse_kernel_release(std::string_view release);
[[nodiscard]] bool has_ring_buffer(kernel_version v) noexcept;

// "16777216", "16M", "64k", "1G" (binary units) -> bytes, which must be a
// power of two of at least 4096 and at most 1 GiB.
[[nodiscard]] check_result<std::size_t> parse_ring_size(std::string_view text);

// --- checks against the running system -------------------------------------

// capget(2) on ourselves; the error says which capabilities are missing.
[[nodiscard]] check_result<void> check_privileges();
// uname(2): a kernel with BPF ring buffers (>= 5.8).
[[nodiscard]] check_result<void> check_kernel();
// The kernel's BTF at `btf_path` (/sys/kernel/btf/vmlinux), which CO-RE needs.
[[nodiscard]] check_result<void> check_btf(const std::string& btf_path = "/sys/kernel/btf/vmlinux");

} // namespace barbwire::sensor
