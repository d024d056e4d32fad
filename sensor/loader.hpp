#pragma once
// The kernel side of the sensor: opens, loads and attaches the BPF skeleton,
// owns the ring buffer, and reads the drop counters. Everything libbpf lives
// behind this interface; the rest of the sensor sees byte records.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include <barbwire/error.hpp>

namespace barbwire::sensor {

struct loader_options {
    std::size_t ring_bytes = 16u << 20; // ring buffer size; a power of two >= page size
    std::uint32_t self_tgid = 0;        // the sensor's own pid: its events are dropped in the kernel
    bool verbose = false;               // let libbpf print its diagnostics
};

// Per-kind counters kept by the kernel side.
struct kernel_counters {
    std::uint64_t drops = 0;                 // failed bpf_ringbuf_reserve, all kinds, all CPUs
    std::uint64_t drops_by_kind[8] = {};     // indexed by BW_EVENT_* kind
};

class bpf_loader {
public:
    // Opens, loads and attaches every program. On failure returns ONE line
    // saying what failed and what to do (not root, no BTF, no ring buffer
    // support, tracefs missing, ...). libbpf's own output appears only with
    // options.verbose.
    [[nodiscard]] static result<std::unique_ptr<bpf_loader>> open_and_attach(const loader_options& options);

    ~bpf_loader();
    bpf_loader(const bpf_loader&) = delete;
    bpf_loader& operator=(const bpf_loader&) = delete;

    // Waits up to `timeout` for records and hands each one, as raw bytes, to
    // `on_record`. Returns the number of records consumed, or an error
    // (an interrupted wait, EINTR, is not an error: it returns 0).
    [[nodiscard]] result<int> poll(std::chrono::milliseconds timeout,
                                   const std::function<void(std::span<const std::byte>)>& on_record);

    // Sums the per-CPU drop counters.
    [[nodiscard]] kernel_counters counters() const;

    // Names of attached programs, for --verbose and stats.
    [[nodiscard]] std::size_t attached_programs() const;

private:
    struct impl; // skeleton + ring buffer, RAII (loader.cpp)
    explicit bpf_loader(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

} // namespace barbwire::sensor
