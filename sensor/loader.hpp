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
#include <vector>

#include <barbwire/clock.hpp>
#include <barbwire/decode.hpp>
#include <barbwire/error.hpp>
#include <barbwire/kernel_filter.hpp>

namespace barbwire::sensor {

struct loader_options {
    std::size_t ring_bytes = 16u << 20; // ring buffer size; a power of two >= page size
    std::uint32_t self_tgid = 0;        // the sensor's own pid: its events are dropped in the kernel
    bool verbose = false;               // let libbpf print its diagnostics
    bool kernel_filter = true;          // the in-kernel filter (docs/kernel.md, "In-kernel filtering")
    std::uint32_t verdict_cache_entries = 65536; // size of the kernel's verdict cache (files)
    nanoseconds window{0};              // the rules' window, in place before the programs attach
};

// The verdict cache size bounds, for option parsing.
inline constexpr std::uint32_t min_verdict_cache_entries = 1024;
inline constexpr std::uint32_t max_verdict_cache_entries = 1u << 24;

// Counters kept by the kernel side, summed over the CPUs.
struct kernel_counters {
    std::uint64_t drops = 0;                 // failed bpf_ringbuf_reserve, all kinds, all CPUs
    std::uint64_t drops_by_kind[BW_EVENT_KIND_MAX + 1] = {}; // indexed by BW_EVENT_* kind (0 unused)
    // The in-kernel filter (enum bw_counter).
    std::uint64_t opens_boring = 0;          // dropped in the kernel as boring: the sum of the four below
    std::uint64_t opens_boring_dir = 0;      //   by the directory's verdict
    std::uint64_t opens_boring_recent = 0;   //   by the per-CPU recent-file slot
    std::uint64_t opens_boring_front = 0;    //   by the boring front
    std::uint64_t opens_boring_cache = 0;    //   by the verdict cache's boring verdict
    std::uint64_t opens_miss = 0;            // shipped in full for a verdict
    std::uint64_t opens_repeat = 0;          // shipped as repeat records (verdict pending)
    std::uint64_t opens_sensitive_inode = 0; // shipped in full: a sensitive inode
    std::uint64_t opens_sensitive = 0;       // shipped in full: cached sensitive verdict
    std::uint64_t opens_unfiltered = 0;      // shipped in full with the filter off
    std::uint64_t nets_cold = 0;             // connects / sends dropped: cold family
    std::uint64_t nets_shipped = 0;          // connects / sends shipped
    std::uint64_t generation_bumps = 0;      // by the kernel (rename, mount, ...)
    std::uint64_t shed_open = 0;             // full opens shed past the ring's high-water mark
    std::uint64_t shed_repeat = 0;           // repeat records shed
    std::uint64_t shed_net = 0;              // connects / sends shed
    std::uint64_t pending_failed = 0;        // pending verdicts the kernel could not insert
    std::uint64_t sends_folded = 0;          // sends of hot families folded (same socket, destination, marks)
    std::uint64_t sends_nodest = 0;          // sends of hot families whose destination was not found
    std::uint64_t writes_shipped = 0;        // writes of hot families shipped (taint)
    std::uint64_t writes_folded = 0;         // writes of hot families folded (same file within the window)
    std::uint64_t opens_compat = 0;          // opens seen through the ia32 compat entry
    std::uint64_t opens_io_uring = 0;        // opens seen through io_uring
    std::uint64_t shed_write = 0;            // write records shed
    std::uint64_t script_lookups = 0;        // opens that looked for a pending script (their slot waits)

    [[nodiscard]] std::uint64_t shed() const noexcept { return shed_open + shed_repeat + shed_net + shed_write; }
    // Every successful open of a regular file the kernel looked at.
    [[nodiscard]] std::uint64_t opens_seen() const noexcept {
        return opens_boring + opens_miss + opens_repeat + opens_sensitive_inode + opens_sensitive +
               opens_unfiltered + shed_open + shed_repeat + drops_by_kind[BW_EVENT_OPEN] +
               drops_by_kind[BW_EVENT_OPEN_REPEAT];
    }
    // Every TCP connect and every send on an AF_INET/AF_INET6 socket the
    // kernel looked at (writes of hot families are counted as cold too when
    // their family was not hot).
    [[nodiscard]] std::uint64_t nets_seen() const noexcept {
        return nets_cold + nets_shipped + sends_folded + sends_nodest + shed_net + drops_by_kind[BW_EVENT_NET];
    }
};

class bpf_loader {
public:
    // Opens, loads and attaches every program. On failure returns ONE line
    // saying what failed and what to do (not root, no BTF, no ring buffer
    // support, a hook missing, ...). libbpf's own output appears only with
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

    // Sums the per-CPU counters.
    [[nodiscard]] kernel_counters counters() const;

    // --- foreign code and scripts (docs/kernel.md) -------------------------------
    // The interpreters whose exec with a script argument is a script exec
    // (config::interpreters; at most BW_INTERP_MAX, the rest ignored).
    void set_interpreters(const std::vector<std::string>& names) noexcept;
    // Whether /etc/ld.so.preload is not empty: every dynamically linked exec
    // from now on carries BW_FOREIGN_PRELOAD_FILE.
    void set_preload_file(bool nonempty) noexcept;

    // --- the in-kernel filter (no-ops returning 0 when it is off) ---------------
    [[nodiscard]] bool filter_enabled() const noexcept;
    // The rules' window: a network event is shipped when its family opened a
    // possibly sensitive file at most this long before.
    void set_window(nanoseconds window) noexcept;
    // Makes every cached verdict stale; returns the new generation.
    std::uint64_t bump_generation() noexcept;
    [[nodiscard]] std::uint64_t generation() const noexcept;
    // The verdict on `key`, decided for generation `gen`. 0 or -errno.
    int set_verdict(const barbwire::file_key& key, std::uint64_t gen, file_verdict v) noexcept;
    // Drops the cached verdict of `key` (its next open is shipped in full). 0 or -errno.
    int forget_verdict(const barbwire::file_key& key) noexcept;
    // Adds (dev, ino) to the sensitive-inode map, or removes it, keeping the
    // kernel's bloom filter of the map's keys (bits set before an entry is
    // added; the filter rewritten from what is left after a removal). 0 or -errno.
    int set_sensitive_inode(std::uint64_t dev, std::uint64_t ino, bool sensitive) noexcept;
    // The verdict on the directory keyed `dir` (kernel_filter.hpp,
    // dir_verdict_of). 0 or -errno.
    int set_dir_verdict(const barbwire::file_key& dir, const bw_dir_verdict& v) noexcept;
    // Session `sid` (as the correlator knows it; <= 1: none) had a sensitive
    // open at `ts` (kernel time): its members' network events within the
    // window are shipped. Call before the next record is consumed. 0 or -errno.
    int mark_session(std::uint32_t sid, nanoseconds ts) noexcept;
    // Process `tgid` holds a secret it read, the newest at `ts`: its network
    // events are shipped whatever their age, until clear_holder. Keeps
    // hot_summary.held counting the holders. 0 or -errno.
    int set_holder(std::uint32_t tgid, nanoseconds ts) noexcept;
    int clear_holder(std::uint32_t tgid) noexcept;
    // Holders set and not cleared (the sensor's share of hot_summary.held).
    [[nodiscard]] std::size_t holders() const noexcept;
    // Clears the summary's "a time mark may be in the window" bit when
    // every time mark is older than the window at `now` (kernel time) and
    // none was raised meanwhile, so that cold checks stop reading the
    // clock. Call every poll. True when it cleared the bit.
    bool cool_down(nanoseconds now) noexcept;

    // What this kernel lacks (hooks left out at load), one line each: the
    // sensor prints them as NOTICEs before its ready line.
    [[nodiscard]] const std::vector<std::string>& notices() const noexcept;

    // Each loaded program's name and the instructions the kernel's verifier
    // processed to accept it (bpf_prog_info.verified_insns; 0 where the
    // kernel does not say, before Linux 5.16). The verifier refuses a
    // program past 1,000,000, and how far it explores differs between
    // kernels, so a program near the limit on one host may not load on
    // another: open_and_attach adds a notice past half the limit.
    struct program_figure {
        std::string name;
        std::uint32_t verified_insns = 0;
    };
    [[nodiscard]] const std::vector<program_figure>& programs() const noexcept;
    static constexpr std::uint32_t verifier_insn_limit = 1'000'000;
    // The session the correlator knows process `tgid` by (from /proc at
    // start), unless the kernel already knows a newer one. 0 or -errno.
    int seed_session(std::uint32_t tgid, std::uint32_t sid) noexcept;

    // Names of attached programs, for --verbose and stats.
    [[nodiscard]] std::size_t attached_programs() const;

private:
    struct impl; // skeleton + ring buffer, RAII (loader.cpp)
    explicit bpf_loader(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

} // namespace barbwire::sensor
