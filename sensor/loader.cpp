// The kernel side of the sensor: the BPF skeleton, its ring buffer and its
// drop counters, behind sensor/loader.hpp. The lifecycle is linear: set the
// libbpf print hook, check BTF, open, set rodata and the ring size, load,
// attach each program, create the ring-buffer reader. Every failure becomes
// one line: what failed, why, what to do.

#include "loader.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>
#include <sys/mman.h>
#include <unistd.h>
#include <set>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <barbwire/abi/events.h>

#include "barbwire.skel.h"

namespace barbwire::sensor {
namespace {

// error.hpp has no code for the sensor's environment yet; a failure to load
// is a problem with the host's set-up, which is the closest existing code.
constexpr errc loader_errc = errc::system;

constexpr const char* btf_path = "/sys/kernel/btf/vmlinux";

std::atomic<bool> libbpf_verbose{false};

int print_libbpf(enum libbpf_print_level level, const char* format, va_list args) {
    if (!libbpf_verbose.load(std::memory_order_relaxed)) return 0;
    if (level == LIBBPF_DEBUG) return 0; // per-relocation noise; the verifier log comes at WARN
    return std::vfprintf(stderr, format, args);
}

std::string describe(int err) { return std::strerror(err < 0 ? -err : err); }

bool path_exists(const char* path) { return ::access(path, F_OK) == 0; }

struct skeleton_deleter {
    void operator()(barbwire_bpf* s) const noexcept { barbwire_bpf__destroy(s); }
};
struct ring_buffer_deleter {
    void operator()(ring_buffer* rb) const noexcept { ring_buffer__free(rb); }
};

bool power_of_two(std::size_t n) { return n != 0 && (n & (n - 1)) == 0; }

std::string privilege_hint() {
    return "run as root or grant CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN";
}

// Why loading failed, and what to do about it.
std::string load_failure(int err) {
    if (!path_exists(btf_path))
        return std::string("the kernel has no BTF (") + btf_path +
               " missing); use a kernel built with CONFIG_DEBUG_INFO_BTF=y";
    if (err == -EPERM || err == -EACCES) {
        if (::geteuid() != 0) return "loading BPF programs failed: " + describe(err) + "; " + privilege_hint();
    }
    if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) <= 0)
        return "this kernel has no BPF ring buffer (needs Linux 5.8+)";
    if (err == -EPERM)
        return "loading BPF programs failed: " + describe(err) + "; " + privilege_hint() +
               " (lockdown or kernel.unprivileged_bpf_disabled may also refuse it)";
    return "loading BPF programs failed: " + describe(err) +
           "; the kernel rejected a program, rerun with verbose output to see the verifier log";
}

std::string attach_failure(const bpf_program* prog, int err) {
    const std::string name = bpf_program__name(prog);
    const std::string_view section = bpf_program__section_name(prog);
    std::string line = "attaching BPF program " + name + " (" + std::string(section) + ") failed: " + describe(err);
    if (err == -EPERM || err == -EACCES) return line + "; " + privilege_hint();
    return line + "; this kernel may lack the hook (needs BTF-enabled raw tracepoints, Linux 5.5+; "
                  "sock_send_length needs Linux 6.3+)";
}

struct btf_deleter {
    void operator()(btf* b) const noexcept { btf__free(b); }
};

// The struct a tracepoint's argument `index` (0: the first after the
// context) points to, by the kernel's BTF of its btf_trace_<name> typedef;
// "" when the tracepoint or the argument is absent or not a struct pointer.
std::string tracepoint_arg_struct(const btf* b, const char* tracepoint, unsigned index) {
    const std::string name = std::string("btf_trace_") + tracepoint;
    const __s32 id = btf__find_by_name_kind(b, name.c_str(), BTF_KIND_TYPEDEF);
    if (id < 0) return {};
    const btf_type* t = btf__type_by_id(b, static_cast<__u32>(id));
    t = t != nullptr ? btf__type_by_id(b, t->type) : nullptr; // the pointer to the prototype
    if (t == nullptr || !btf_is_ptr(t)) return {};
    t = btf__type_by_id(b, t->type);
    if (t == nullptr || !btf_is_func_proto(t) || btf_vlen(t) < index + 2) return {};
    const btf_param* params = btf_params(t);
    const btf_type* arg = btf__type_by_id(b, params[index + 1].type);
    while (arg != nullptr && (btf_is_const(arg) || btf_is_volatile(arg) || btf_is_typedef(arg)))
        arg = btf__type_by_id(b, arg->type);
    if (arg == nullptr || !btf_is_ptr(arg)) return {};
    arg = btf__type_by_id(b, arg->type);
    while (arg != nullptr && (btf_is_const(arg) || btf_is_volatile(arg)))
        arg = btf__type_by_id(b, arg->type);
    if (arg == nullptr || !btf_is_struct(arg)) return {};
    const char* n = btf__name_by_offset(b, arg->name_off);
    return n != nullptr ? n : "";
}

} // namespace

struct bpf_loader::impl {
    std::unique_ptr<barbwire_bpf, skeleton_deleter> skel;
    std::unique_ptr<ring_buffer, ring_buffer_deleter> ring; // freed before the skeleton
    std::size_t attached = 0;
    bool filter = false;
    std::size_t holders = 0; // hot_user tgid entries this sensor wrote and has not removed
    std::vector<std::string> notices; // hooks this kernel lacks, and what is not seen for it
    std::vector<bpf_loader::program_figure> programs; // loaded programs and their verifier figures
    // The boring front (struct bw_boring_slot), mapped; this sensor is its only writer.
    bw_boring_slot* front = nullptr;
    std::size_t front_bytes = 0;
    std::uint32_t front_mask = 0;        // buckets - 1
    std::vector<std::uint8_t> front_next; // per bucket: the way to replace next
    // The keys of sensitive_inodes, to rewrite the kernel's bloom filter of
    // them after a removal.
    std::set<std::pair<std::uint64_t, std::uint64_t>> inodes;
    // The ring buffer's consumer position (its first page, mapped read-only
    // a second time): what the reader has consumed, for cool_down.
    const __u64* consumer = nullptr;
    std::size_t consumer_bytes = 0;

    // Valid only during poll().
    const std::function<void(std::span<const std::byte>)>* on_record = nullptr;
    int consumed = 0;
    std::exception_ptr failure;

    ~impl() {
        ring.reset(); // the reader maps the ring buffer: release it first
        if (front != nullptr) ::munmap(front, front_bytes);
        if (consumer != nullptr) ::munmap(const_cast<__u64*>(consumer), consumer_bytes);
        skel.reset();
    }

    static int on_sample(void* ctx, void* data, std::size_t size) noexcept {
        auto* self = static_cast<impl*>(ctx);
        ++self->consumed;
        if (self->on_record == nullptr || self->failure) return 0;
        try {
            (*self->on_record)(std::span<const std::byte>(static_cast<const std::byte*>(data), size));
        } catch (...) {
            self->failure = std::current_exception(); // rethrown once libbpf has returned
        }
        return 0; // a negative value would stop ring_buffer__poll
    }
};

bpf_loader::bpf_loader(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
bpf_loader::~bpf_loader() = default;

result<std::unique_ptr<bpf_loader>> bpf_loader::open_and_attach(const loader_options& options) {
    libbpf_verbose.store(options.verbose, std::memory_order_relaxed);
    libbpf_set_print(print_libbpf);

    const long page = ::sysconf(_SC_PAGESIZE);
    if (!power_of_two(options.ring_bytes) || options.ring_bytes < static_cast<std::size_t>(page > 0 ? page : 4096) ||
        options.ring_bytes > (std::size_t{1} << 31))
        return make_error(loader_errc, "ring buffer size " + std::to_string(options.ring_bytes) +
                                           " is not a power of two between the page size and 2 GiB; choose e.g. " +
                                           std::to_string(16u << 20));
    if (!path_exists(btf_path))
        return make_error(loader_errc, std::string("the kernel has no BTF (") + btf_path +
                                           " missing); use a kernel built with CONFIG_DEBUG_INFO_BTF=y");

    auto p = std::make_unique<impl>();
    p->skel.reset(barbwire_bpf__open());
    if (!p->skel) {
        const int err = errno;
        return make_error(loader_errc, "opening the BPF object failed: " + describe(err) +
                                           "; the embedded object is damaged, rebuild barbwire");
    }

    p->skel->rodata->self_tgid = options.self_tgid;
    // Wake the reader only once a quarter of the ring is queued; poll() drains
    // the rest on its timer. Waking for every record costs more than the BPF work.
    p->skel->rodata->wakeup_bytes = options.ring_bytes / 4;
    // Under a flood, shed opens (and repeats) past 3/4 of the ring and network
    // records past 7/8, so fork, exec and exit keep the rest: lineage survives.
    p->skel->rodata->shed_open_bytes = options.ring_bytes / 4 * 3;
    p->skel->rodata->shed_net_bytes = options.ring_bytes / 8 * 7;
    p->skel->rodata->filter_enabled = options.kernel_filter ? 1 : 0;
#if defined(__x86_64__)
    // The sys_exit dispatcher's tables, from the one statement of which
    // system calls count (events.h).
    for (long nr = 0; nr < BW_SYS_TABLE; ++nr) {
        p->skel->rodata->sys_actions[nr] = static_cast<__u8>(bw_sys_action_x86_64(nr) |
                                                             (bw_sys_action_ia32(nr) << BW_SYS_ACTION_BITS));
    }
#endif
    p->skel->bss->filter_state.window_ns = static_cast<__u64>(std::max<nanoseconds::rep>(options.window.count(), 0));
    p->filter = options.kernel_filter;
    if (int err = bpf_map__set_max_entries(p->skel->maps.events, static_cast<__u32>(options.ring_bytes)); err)
        return make_error(loader_errc, "setting the ring buffer size failed: " + describe(err));
    if (options.verdict_cache_entries < min_verdict_cache_entries ||
        options.verdict_cache_entries > max_verdict_cache_entries)
        return make_error(loader_errc, "verdict cache size " + std::to_string(options.verdict_cache_entries) +
                                           " is outside " + std::to_string(min_verdict_cache_entries) + ".." +
                                           std::to_string(max_verdict_cache_entries));
    if (int err = bpf_map__set_max_entries(p->skel->maps.verdicts, options.verdict_cache_entries); err)
        return make_error(loader_errc, "setting the verdict cache size failed: " + describe(err));
    // The boring front: as many slots as the verdict cache has entries
    // (64 bytes each), in two-way buckets. Its reads rely on x86's memory
    // order (events.h); elsewhere it stays off.
#if defined(__x86_64__) || defined(__i386__)
    const bool front = options.kernel_filter;
#else
    const bool front = false;
#endif
    const std::uint32_t front_slots = front ? options.verdict_cache_entries : 2;
    if (int err = bpf_map__set_max_entries(p->skel->maps.boring, front_slots); err)
        return make_error(loader_errc, "setting the boring front's size failed: " + describe(err));
    p->skel->rodata->boring_mask = front ? front_slots / 2 - 1 : 0;
    // The front of directory verdicts: its slots for every possible CPU
    // (the program indexes it by the CPU it runs on).
    const int possible_cpus = libbpf_num_possible_cpus();
    if (possible_cpus <= 0)
        return make_error(loader_errc, "counting the possible CPUs failed: " + describe(possible_cpus));
    const __u32 dir_slots = bpf_map__max_entries(p->skel->maps.recent_dirs) * static_cast<__u32>(possible_cpus);
    if (int err = bpf_map__set_max_entries(p->skel->maps.recent_dirs, dir_slots); err)
        return make_error(loader_errc, "setting the directory front's size failed: " + describe(err));

    // Hooks of newer kernels: without them the sensor runs, and says what it
    // cannot see. sock_send_length is Linux 6.3+; io_uring_complete passes
    // the CQE since 6.4 (before, other arguments the program cannot read).
    if (std::unique_ptr<btf, btf_deleter> vmlinux{btf__load_vmlinux_btf()}; vmlinux) {
        if (tracepoint_arg_struct(vmlinux.get(), "sock_send_length", 0) != "sock") {
            bpf_program__set_autoload(p->skel->progs.handle_sock_send_length, false);
            bpf_program__set_autoload(p->skel->progs.handle_net_dev_queue, false);
            p->notices.push_back("this kernel has no sock:sock_send_length tracepoint (Linux 6.3+): data sent on "
                                 "sockets is not seen, only TCP connects; use a newer kernel to see every send");
        }
        if (tracepoint_arg_struct(vmlinux.get(), "io_uring_complete", 2) != "io_uring_cqe") {
            bpf_program__set_autoload(p->skel->progs.handle_io_uring_complete, false);
            p->notices.push_back("this kernel's io_uring:io_uring_complete tracepoint has an older form (before "
                                 "Linux 6.4): opens and writes made through io_uring are not seen");
        }
    }

    if (int err = barbwire_bpf__load(p->skel.get()); err) return make_error(loader_errc, load_failure(err));

    // Attach one by one, so a failure names its program. The links live in the
    // skeleton, which destroys them.
    const bpf_object_skeleton* s = p->skel->skeleton;
    for (int i = 0; i < s->prog_cnt; ++i) {
        bpf_program* prog = *s->progs[i].prog;
        if (!bpf_program__autoload(prog)) continue;
        bpf_link* link = bpf_program__attach(prog);
        if (link == nullptr) {
            const int err = -errno;
            return make_error(loader_errc, attach_failure(prog, err));
        }
        *s->progs[i].link = link;
        ++p->attached;
        bpf_prog_info info{};
        __u32 len = sizeof(info);
        program_figure f{bpf_program__name(prog), 0};
        if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0) f.verified_insns = info.verified_insns;
        if (f.verified_insns > verifier_insn_limit / 2)
            p->notices.push_back("BPF program " + f.name + " took " + std::to_string(f.verified_insns) +
                                 " of the verifier's " + std::to_string(verifier_insn_limit) +
                                 " instructions to load: a kernel whose verifier explores more may refuse it; "
                                 "please report it with this kernel's version");
        p->programs.push_back(std::move(f));
    }

    if (front) {
        const long page = ::sysconf(_SC_PAGESIZE);
        const std::size_t want = std::size_t{front_slots} * sizeof(bw_boring_slot);
        p->front_bytes = (want + static_cast<std::size_t>(page) - 1) / static_cast<std::size_t>(page) *
                         static_cast<std::size_t>(page);
        void* m = ::mmap(nullptr, p->front_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                         bpf_map__fd(p->skel->maps.boring), 0);
        if (m == MAP_FAILED) {
            const int err = errno;
            return make_error(loader_errc, "mapping the boring-verdict front failed: " + describe(err) +
                                               "; raise RLIMIT_MEMLOCK (ulimit -l) or lower --verdict-cache");
        }
        p->front = static_cast<bw_boring_slot*>(m);
        p->front_mask = front_slots / 2 - 1;
        p->front_next.assign(front_slots / 2, 0);
    }

    if (options.kernel_filter) {
        const long page = ::sysconf(_SC_PAGESIZE);
        void* m = ::mmap(nullptr, static_cast<std::size_t>(page), PROT_READ, MAP_SHARED,
                         bpf_map__fd(p->skel->maps.events), 0);
        if (m != MAP_FAILED) { // without it the summary flags are never cleared: correct, just slower
            p->consumer = static_cast<const __u64*>(m);
            p->consumer_bytes = static_cast<std::size_t>(page);
        }
    }

    p->ring.reset(ring_buffer__new(bpf_map__fd(p->skel->maps.events), &impl::on_sample, p.get(), nullptr));
    if (!p->ring) {
        const int err = errno;
        return make_error(loader_errc, "creating the ring buffer reader failed: " + describe(err) +
                                           (err == ENOMEM || err == EPERM ? "; raise RLIMIT_MEMLOCK (ulimit -l)" : ""));
    }
    return std::unique_ptr<bpf_loader>(new bpf_loader(std::move(p)));
}

result<int> bpf_loader::poll(std::chrono::milliseconds timeout,
                             const std::function<void(std::span<const std::byte>)>& on_record) {
    impl& p = *impl_;
    p.on_record = &on_record;
    p.consumed = 0;
    p.failure = nullptr;
    const auto ms = timeout.count() < 0 ? -1 : static_cast<int>(std::min<long long>(timeout.count(), 1 << 30));

    // Records are submitted without waking us until the ring fills to its mark,
    // so epoll may sleep the whole timeout although records are queued: drain
    // whatever is there afterwards either way.
    int err = ring_buffer__poll(p.ring.get(), ms);
    if (err >= 0) {
        const int more = ring_buffer__consume(p.ring.get());
        err = more < 0 ? more : 0;
    }
    p.on_record = nullptr;
    if (p.failure) std::rethrow_exception(p.failure);
    if (err == -EINTR) return 0; // a signal: the caller checks its flags and polls again
    if (err < 0) return make_error(loader_errc, "reading the BPF ring buffer failed: " + describe(err));
    return p.consumed;
}

kernel_counters bpf_loader::counters() const {
    kernel_counters c;
    const int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return c;
    std::vector<__u64> values(static_cast<std::size_t>(ncpu));
    const int fd = bpf_map__fd(impl_->skel->maps.drops);
    for (__u32 kind = 0; kind < std::size(c.drops_by_kind); ++kind) {
        if (bpf_map_lookup_elem(fd, &kind, values.data()) != 0) continue;
        std::uint64_t sum = 0;
        for (__u64 v : values) sum += v;
        c.drops_by_kind[kind] = sum;
        c.drops += sum;
    }
    std::vector<bw_counters> per_cpu(static_cast<std::size_t>(ncpu));
    const __u32 zero = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.counters), &zero, per_cpu.data()) == 0) {
        std::uint64_t sum[BW_CTR_COUNT] = {};
        for (const bw_counters& pc : per_cpu)
            for (std::size_t i = 0; i < BW_CTR_COUNT; ++i) sum[i] += pc.v[i];
        c.opens_boring_cache = sum[BW_CTR_OPEN_BORING];
        c.opens_boring_dir = sum[BW_CTR_OPEN_BORING_DIR];
        c.opens_boring_recent = sum[BW_CTR_OPEN_BORING_RECENT];
        c.opens_boring_front = sum[BW_CTR_OPEN_BORING_FRONT];
        c.opens_boring = c.opens_boring_cache + c.opens_boring_dir + c.opens_boring_recent + c.opens_boring_front;
        c.opens_miss = sum[BW_CTR_OPEN_MISS];
        c.opens_repeat = sum[BW_CTR_OPEN_REPEAT];
        c.opens_sensitive_inode = sum[BW_CTR_OPEN_SENSITIVE_INODE];
        c.opens_sensitive = sum[BW_CTR_OPEN_SENSITIVE];
        c.opens_unfiltered = sum[BW_CTR_OPEN_UNFILTERED];
        c.nets_cold = sum[BW_CTR_NET_COLD];
        c.nets_shipped = sum[BW_CTR_NET_SHIPPED];
        c.generation_bumps = sum[BW_CTR_GEN_BUMPS];
        c.shed_open = sum[BW_CTR_SHED_OPEN];
        c.shed_repeat = sum[BW_CTR_SHED_REPEAT];
        c.shed_net = sum[BW_CTR_SHED_NET];
        c.pending_failed = sum[BW_CTR_PENDING_FAILED];
        c.sends_folded = sum[BW_CTR_SEND_FOLDED];
        c.sends_nodest = sum[BW_CTR_SEND_NODEST];
        c.writes_shipped = sum[BW_CTR_WRITE_SHIPPED];
        c.writes_folded = sum[BW_CTR_WRITE_FOLDED];
        c.opens_compat = sum[BW_CTR_OPEN_COMPAT];
        c.opens_io_uring = sum[BW_CTR_OPEN_IO_URING];
        c.shed_write = sum[BW_CTR_SHED_WRITE];
        c.script_lookups = sum[BW_CTR_SCRIPT_LOOKUPS];
    }
    return c;
}

bool bpf_loader::filter_enabled() const noexcept { return impl_->filter; }

void bpf_loader::set_interpreters(const std::vector<std::string>& names) noexcept {
    auto* bss = impl_->skel->bss;
    const std::size_t n = std::min<std::size_t>(names.size(), BW_INTERP_MAX);
    // Turn the table off while it changes: an exec in between sees none.
    __atomic_store_n(&bss->interp_count, 0u, __ATOMIC_SEQ_CST);
    for (std::size_t i = 0; i < n; ++i) {
        std::string_view name = names[i];
        const bool prefix = !name.empty() && name.back() == '*';
        if (prefix) name.remove_suffix(1);
        unsigned char bytes[16] = {}, mask[16] = {};
        const std::size_t len = std::min<std::size_t>(name.size(), 15);
        for (std::size_t k = 0; k < len; ++k) {
            bytes[k] = static_cast<unsigned char>(name[k]);
            mask[k] = 0xff;
        }
        if (!prefix) mask[len] = 0xff; // the terminating NUL too: an exact name
        bw_interp_name e{};
        std::memcpy(e.name, bytes, sizeof(bytes));
        std::memcpy(e.mask, mask, sizeof(mask));
        bss->interp_names[i] = e;
    }
    __atomic_store_n(&bss->interp_count, static_cast<__u32>(n), __ATOMIC_SEQ_CST);
}

void bpf_loader::set_preload_file(bool nonempty) noexcept {
    __atomic_store_n(&impl_->skel->bss->preload_file_set, nonempty ? 1u : 0u, __ATOMIC_SEQ_CST);
}

void bpf_loader::set_window(nanoseconds window) noexcept {
    if (!impl_->filter) return;
    const auto ns = static_cast<std::uint64_t>(std::max<nanoseconds::rep>(window.count(), 0));
    __atomic_store_n(&impl_->skel->bss->filter_state.window_ns, ns, __ATOMIC_SEQ_CST);
}

std::uint64_t bpf_loader::bump_generation() noexcept {
    if (!impl_->filter) return 0;
    // The kernel bumps the same word with an atomic add: so do we.
    return __atomic_add_fetch(&impl_->skel->bss->filter_state.gen, 1, __ATOMIC_SEQ_CST);
}

std::uint64_t bpf_loader::generation() const noexcept {
    return __atomic_load_n(&impl_->skel->bss->filter_state.gen, __ATOMIC_SEQ_CST);
}

namespace {
// One slot of the boring front, written as a seqcount (events.h): odd
// while the fields change. The kernel only reads; this sensor is the only
// writer, so plain stores in this order, with compiler fences, are enough
// on x86.
void write_front_slot(bw_boring_slot& s, const bw_file_key& k, std::uint64_t gen) noexcept {
    const std::uint32_t seq = __atomic_load_n(&s.seq, __ATOMIC_RELAXED);
    __atomic_store_n(&s.seq, seq | 1u, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    s.key = k;
    s.gen = gen;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&s.seq, (seq | 1u) + 1u, __ATOMIC_RELAXED);
}
bool same_key(const bw_file_key& a, const bw_file_key& b) noexcept {
    return a.dentry == b.dentry && a.mnt == b.mnt && a.parent == b.parent && a.ino == b.ino && a.name == b.name &&
           a.generation == b.generation;
}
} // namespace

int bpf_loader::set_verdict(const barbwire::file_key& key, std::uint64_t gen, file_verdict v) noexcept {
    if (!impl_->filter) return 0;
    const bw_file_key k = detail::abi_key(key);
    if (v == file_verdict::boring && impl_->front != nullptr) {
        // The front first: a way holding this key, else one holding a stale
        // generation, else the one not replaced last time.
        const std::uint32_t b = bw_boring_bucket(&k, impl_->front_mask);
        bw_boring_slot* ways = impl_->front + std::size_t{b} * 2;
        int w = -1;
        for (int i = 0; i < 2 && w < 0; ++i)
            if (same_key(ways[i].key, k)) w = i;
        const std::uint64_t now_gen = generation();
        for (int i = 0; i < 2 && w < 0; ++i)
            if (ways[i].gen != now_gen) w = i;
        if (w < 0) w = impl_->front_next[b];
        impl_->front_next[b] = static_cast<std::uint8_t>(w ^ 1);
        write_front_slot(ways[w], k, gen);
    }
    bw_verdict value{};
    value.gen = gen;
    value.state = static_cast<__u32>(v);
    return bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.verdicts), &k, &value, BPF_ANY) == 0 ? 0 : -errno;
}

int bpf_loader::forget_verdict(const barbwire::file_key& key) noexcept {
    if (!impl_->filter) return 0;
    const bw_file_key k = detail::abi_key(key);
    if (bpf_map_delete_elem(bpf_map__fd(impl_->skel->maps.verdicts), &k) == 0 || errno == ENOENT) return 0;
    return -errno;
}

int bpf_loader::set_sensitive_inode(std::uint64_t dev, std::uint64_t ino, bool sensitive) noexcept {
    if (!impl_->filter) return 0;
    bw_inode_key k{};
    k.dev = dev;
    k.ino = ino;
    const int fd = bpf_map__fd(impl_->skel->maps.sensitive_inodes);
    __u64* bloom = impl_->skel->bss->inode_bloom;
    auto& known = impl_->inodes;
    const auto it = known.find(std::make_pair(dev, ino));
    if (sensitive) {
        // The bloom first: whoever finds the entry finds its bits set.
        __u32 word = 0;
        __u64 mask = 0;
        bw_inode_bloom_slot(dev, ino, &word, &mask);
        __atomic_or_fetch(&bloom[word], mask, __ATOMIC_SEQ_CST);
        const __u8 one = 1;
        if (bpf_map_update_elem(fd, &k, &one, BPF_ANY) != 0) return -errno;
        known.emplace(dev, ino);
        return 0;
    }
    if (bpf_map_delete_elem(fd, &k) != 0 && errno != ENOENT) return -errno;
    if (it == known.end()) return 0;
    known.erase(it);
    // Rewrite the bloom from what is left, word by word: every word only
    // loses bits no remaining inode needs.
    std::vector<std::uint64_t> fresh(BW_INODE_BLOOM_WORDS, 0);
    for (const auto& [d, i] : known) {
        __u32 word = 0;
        __u64 mask = 0;
        bw_inode_bloom_slot(d, i, &word, &mask);
        fresh[word] |= mask;
    }
    for (std::size_t w = 0; w < BW_INODE_BLOOM_WORDS; ++w) __atomic_store_n(&bloom[w], fresh[w], __ATOMIC_SEQ_CST);
    return 0;
}

int bpf_loader::set_dir_verdict(const barbwire::file_key& dir, const bw_dir_verdict& v) noexcept {
    if (!impl_->filter) return 0;
    const bw_file_key k = detail::abi_key(dir);
    return bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.dirs), &k, &v, BPF_ANY) == 0 ? 0 : -errno;
}

namespace {
// *slot = max(*slot, v) on the object's mmapped .bss, as the kernel raises it.
void raise_shared(__u64* slot, __u64 v) noexcept {
    __u64 cur = __atomic_load_n(slot, __ATOMIC_SEQ_CST);
    while (cur < v && !__atomic_compare_exchange_n(slot, &cur, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
}

// The summary's BW_HOT_TIME bit with one more count step, after a time
// mark was raised (events.h), as the kernel does it.
void set_time_hot(__u64* w) noexcept {
    __u64 cur = __atomic_load_n(w, __ATOMIC_SEQ_CST);
    while (!__atomic_compare_exchange_n(w, &cur, (cur | BW_HOT_TIME) + BW_HOT_STEP, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
    }
}
} // namespace

int bpf_loader::mark_session(std::uint32_t sid, nanoseconds ts) noexcept {
    if (!impl_->filter || sid <= 1) return 0;
    // hot_user: written by the sensor alone, so read-modify-write is safe.
    const int fd = bpf_map__fd(impl_->skel->maps.hot_user);
    const __u64 at = static_cast<__u64>(ts.count());
    // The summary first: a reader that finds the summary cold reads no map.
    raise_shared(&impl_->skel->bss->hot_summary.user_ns, at);
    set_time_hot(&impl_->skel->bss->hot_summary.flags);
    bw_hot_key k{};
    k.kind = BW_HOT_SID;
    k.id = sid;
    __u64 cur = 0;
    if (bpf_map_lookup_elem(fd, &k, &cur) == 0 && cur >= at) return 0;
    return bpf_map_update_elem(fd, &k, &at, BPF_ANY) == 0 ? 0 : -errno;
}

int bpf_loader::set_holder(std::uint32_t tgid, nanoseconds ts) noexcept {
    if (!impl_->filter || tgid == 0) return 0;
    const int fd = bpf_map__fd(impl_->skel->maps.hot_user);
    const __u64 at = static_cast<__u64>(std::max<nanoseconds::rep>(ts.count(), 1));
    bw_hot_key k{};
    k.kind = BW_HOT_TGID;
    k.id = tgid;
    __u64 cur = 0;
    const bool known = bpf_map_lookup_elem(fd, &k, &cur) == 0;
    if (known && cur >= at) return 0;
    // The counts first: the summary is never below the entries it covers.
    raise_shared(&impl_->skel->bss->hot_summary.user_ns, at);
    set_time_hot(&impl_->skel->bss->hot_summary.flags);
    if (!known) __atomic_add_fetch(&impl_->skel->bss->hot_summary.held, 1, __ATOMIC_SEQ_CST);
    if (bpf_map_update_elem(fd, &k, &at, BPF_ANY) != 0) {
        const int err = -errno;
        if (!known) __atomic_sub_fetch(&impl_->skel->bss->hot_summary.held, 1, __ATOMIC_SEQ_CST);
        return err;
    }
    if (!known) ++impl_->holders;
    return 0;
}

int bpf_loader::clear_holder(std::uint32_t tgid) noexcept {
    if (!impl_->filter || tgid == 0) return 0;
    const int fd = bpf_map__fd(impl_->skel->maps.hot_user);
    bw_hot_key k{};
    k.kind = BW_HOT_TGID;
    k.id = tgid;
    if (bpf_map_delete_elem(fd, &k) != 0) return errno == ENOENT ? 0 : -errno;
    __atomic_sub_fetch(&impl_->skel->bss->hot_summary.held, 1, __ATOMIC_SEQ_CST);
    if (impl_->holders > 0) --impl_->holders;
    return 0;
}

std::size_t bpf_loader::holders() const noexcept { return impl_->holders; }

bool bpf_loader::cool_down(nanoseconds now) noexcept {
    if (!impl_->filter || impl_->consumer == nullptr) return false;
    auto& sum = impl_->skel->bss->hot_summary;
    __u64 seen = __atomic_load_n(&sum.flags, __ATOMIC_SEQ_CST);
    if ((seen & (BW_HOT_TIME | BW_HOT_PENDING)) == 0) return false;
    // Read after `seen`: a mark raised before `seen` is visible here; one
    // raised after it changes the count, and the exchange below fails.
    __u64 clear = 0;
    if (seen & BW_HOT_TIME) {
        const __u64 newest = std::max(__atomic_load_n(&sum.sure_ns, __ATOMIC_SEQ_CST),
                                      __atomic_load_n(&sum.user_ns, __ATOMIC_SEQ_CST));
        const __u64 window = __atomic_load_n(&impl_->skel->bss->filter_state.window_ns, __ATOMIC_SEQ_CST);
        const auto t = static_cast<__u64>(std::max<nanoseconds::rep>(now.count(), 0));
        // a mark within the window of `now` may be within the window of an event to come
        if (newest + window < t) clear |= BW_HOT_TIME;
    }
    if (seen & BW_HOT_PENDING) {
        const __u64 pending = __atomic_load_n(&sum.maybe_pos, __ATOMIC_SEQ_CST);
        const __u64 consumed = __atomic_load_n(impl_->consumer, __ATOMIC_SEQ_CST);
        if (consumed >= pending) clear |= BW_HOT_PENDING; // every maybe-sensitive open was read and answered
    }
    if (clear == 0) return false;
    return __atomic_compare_exchange_n(&sum.flags, &seen, seen & ~clear, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

const std::vector<std::string>& bpf_loader::notices() const noexcept { return impl_->notices; }

const std::vector<bpf_loader::program_figure>& bpf_loader::programs() const noexcept { return impl_->programs; }

int bpf_loader::seed_session(std::uint32_t tgid, std::uint32_t sid) noexcept {
    if (!impl_->filter) return 0;
    // BPF_NOEXIST: an exec or fork since the scan already wrote a newer one.
    if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.proc_sid), &tgid, &sid, BPF_NOEXIST) == 0 ||
        errno == EEXIST)
        return 0;
    return -errno;
}

std::size_t bpf_loader::attached_programs() const { return impl_->attached; }

} // namespace barbwire::sensor
