#pragma once
// shared_const<T>: an optional T held out of line and shared, read-only
// once set, that compares by value like the std::optional<T> it stands for.
// The process table keeps a process_info for every process (up to
// limits.max_processes); what few processes have (a script) or many share
// (a container) is held this way, so an entry grows by one pointer pair.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace barbwire::detail {

template <class T>
class shared_const {
public:
    shared_const() = default;
    shared_const(std::shared_ptr<const T> p) noexcept : p_(std::move(p)) {} // NOLINT: implicit, shares
    shared_const(const std::optional<T>& v) { *this = v; }                   // NOLINT: implicit, like optional
    shared_const& operator=(const std::optional<T>& v) {
        p_ = v ? std::make_shared<const T>(*v) : nullptr;
        return *this;
    }
    shared_const& operator=(T v) {
        p_ = std::make_shared<const T>(std::move(v));
        return *this;
    }
    void reset() noexcept { p_.reset(); }
    [[nodiscard]] bool has_value() const noexcept { return p_ != nullptr; }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    const T& operator*() const noexcept { return *p_; }
    const T* operator->() const noexcept { return p_.get(); }
    [[nodiscard]] const std::shared_ptr<const T>& shared() const noexcept { return p_; }
    // A copy, for what outlives the table entry (an alert).
    [[nodiscard]] std::optional<T> copy() const { return p_ ? std::optional<T>(*p_) : std::nullopt; }
    friend bool operator==(const shared_const& a, const shared_const& b) noexcept {
        return a.p_ == b.p_ || (a.p_ && b.p_ && *a.p_ == *b.p_);
    }

private:
    std::shared_ptr<const T> p_;
};

// shared_strings: a read-only list of strings held out of line in one
// allocation and shared, that reads and compares like the
// std::vector<std::string> it stands for (its elements read as
// std::string_view). A process's argv is this: a fork's child shares its
// parent's (a fork storm of children of one program costs one pointer each,
// not a copy of up to BW_ARGV_MAX bytes in several allocations), and an exec
// replaces it whole with one block: a header (reference count, element
// count, byte count), then each string as a 4-byte length and its bytes (any
// byte, NUL too). The object is one pointer (a std::vector is three); empty
// holds nothing (no allocation). The count is atomic, as std::shared_ptr's
// is: copies may be dropped on different threads.
class shared_strings {
    struct header {
        std::atomic<std::uint32_t> refs;
        std::uint32_t count;
        std::uint32_t bytes;
    };

public:
    class const_iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = std::string_view;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = std::string_view;
        const_iterator() = default;
        explicit const_iterator(const char* at) noexcept : at_(at) {}
        std::string_view operator*() const noexcept { return {at_ + sizeof(std::uint32_t), length()}; }
        const_iterator& operator++() noexcept {
            at_ += sizeof(std::uint32_t) + length();
            return *this;
        }
        const_iterator operator++(int) noexcept {
            const_iterator old = *this;
            ++*this;
            return old;
        }
        friend bool operator==(const const_iterator&, const const_iterator&) = default;

    private:
        [[nodiscard]] std::size_t length() const noexcept {
            std::uint32_t n = 0;
            std::memcpy(&n, at_, sizeof n);
            return n;
        }
        const char* at_ = nullptr;
    };
    using iterator = const_iterator;
    using value_type = std::string_view;
    using size_type = std::size_t;

    shared_strings() = default;
    shared_strings(const std::vector<std::string>& v) { assign(v.begin(), v.end(), v.size()); } // NOLINT: implicit
    shared_strings(std::initializer_list<std::string_view> l) { assign(l.begin(), l.end(), l.size()); }
    shared_strings(const shared_strings& o) noexcept : h_(o.h_) {
        if (h_ != nullptr) h_->refs.fetch_add(1, std::memory_order_relaxed);
    }
    shared_strings(shared_strings&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    shared_strings& operator=(const shared_strings& o) noexcept {
        shared_strings(o).swap(*this);
        return *this;
    }
    shared_strings& operator=(shared_strings&& o) noexcept {
        shared_strings(std::move(o)).swap(*this);
        return *this;
    }
    shared_strings& operator=(const std::vector<std::string>& v) {
        assign(v.begin(), v.end(), v.size());
        return *this;
    }
    shared_strings& operator=(std::initializer_list<std::string_view> l) {
        assign(l.begin(), l.end(), l.size());
        return *this;
    }
    ~shared_strings() { release(); }
    void swap(shared_strings& o) noexcept { std::swap(h_, o.h_); }

    void clear() noexcept {
        release();
        h_ = nullptr;
    }
    [[nodiscard]] bool empty() const noexcept { return h_ == nullptr; }
    [[nodiscard]] size_type size() const noexcept { return h_ != nullptr ? h_->count : 0; }
    [[nodiscard]] const_iterator begin() const noexcept { return const_iterator(data()); }
    [[nodiscard]] const_iterator end() const noexcept {
        return const_iterator(h_ != nullptr ? data() + h_->bytes : nullptr);
    }
    std::string_view operator[](size_type i) const noexcept {
        const_iterator it = begin();
        while (i-- > 0) ++it;
        return *it;
    }
    [[nodiscard]] std::string_view front() const noexcept { return *begin(); }
    [[nodiscard]] std::string_view back() const noexcept { return (*this)[size() - 1]; }
    // A copy, for what outlives the table entry (an alert, a trace line).
    [[nodiscard]] std::vector<std::string> to_vector() const {
        std::vector<std::string> out;
        out.reserve(size());
        for (const std::string_view a : *this) out.emplace_back(a);
        return out;
    }
    // Whether two hold the very same block (a fork's child and its parent).
    [[nodiscard]] bool shares_with(const shared_strings& o) const noexcept { return h_ != nullptr && h_ == o.h_; }

    friend bool operator==(const shared_strings& a, const shared_strings& b) noexcept {
        return a.h_ == b.h_ || (a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), b.end()));
    }
    friend bool operator==(const shared_strings& a, const std::vector<std::string>& b) noexcept {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    [[nodiscard]] const char* data() const noexcept {
        return h_ != nullptr ? reinterpret_cast<const char*>(h_) + sizeof(header) : nullptr;
    }
    void release() noexcept {
        if (h_ != nullptr && h_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            h_->~header();
            ::operator delete(static_cast<void*>(h_));
        }
    }
    template <class It> void assign(It first, It last, std::size_t count) {
        if (count == 0) {
            clear();
            return;
        }
        std::size_t bytes = 0;
        for (It it = first; it != last; ++it) bytes += sizeof(std::uint32_t) + std::string_view(*it).size();
        // An argv is a record's field (BW_ARGV_MAX bytes) or a /proc cmdline
        // cut by the seeder: far below 4 GiB, and so is each element.
        void* raw = ::operator new(sizeof(header) + bytes);
        auto* h = ::new (raw) header{{1}, static_cast<std::uint32_t>(count), static_cast<std::uint32_t>(bytes)};
        char* out = static_cast<char*>(raw) + sizeof(header);
        for (It it = first; it != last; ++it) {
            const std::string_view a(*it);
            const auto n = static_cast<std::uint32_t>(a.size());
            std::memcpy(out, &n, sizeof n);
            if (n != 0) std::memcpy(out + sizeof n, a.data(), n);
            out += sizeof n + n;
        }
        release(); // only now: a failed allocation leaves the old list as it was
        h_ = h;
    }

    header* h_ = nullptr;
};

// An optional time in 8 bytes (std::optional<nanoseconds> takes 16), with
// std::optional's interface: the least representable time stands for
// "none" (a trace line may carry it: such an exit reads as none).
class optional_time {
public:
    using value_type = std::chrono::nanoseconds;
    optional_time() = default;
    optional_time(std::nullopt_t) noexcept {}                       // NOLINT: implicit, like optional
    optional_time(value_type t) noexcept : ns_(t.count()) {}         // NOLINT: implicit, like optional
    optional_time& operator=(value_type t) noexcept {
        ns_ = t.count();
        return *this;
    }
    void reset() noexcept { ns_ = none; }
    [[nodiscard]] bool has_value() const noexcept { return ns_ != none; }
    explicit operator bool() const noexcept { return has_value(); }
    value_type operator*() const noexcept { return value_type{ns_}; }
    [[nodiscard]] value_type value_or(value_type d) const noexcept { return has_value() ? value_type{ns_} : d; }
    friend bool operator==(const optional_time&, const optional_time&) = default;

private:
    static constexpr std::int64_t none = std::numeric_limits<std::int64_t>::min();
    std::int64_t ns_ = none;
};

} // namespace barbwire::detail
