#pragma once
// shared_const<T>: an optional T held out of line and shared, read-only
// once set, that compares by value like the std::optional<T> it stands for.
// The process table keeps a process_info for every process (up to
// limits.max_processes); what few processes have (a script) or many share
// (a container) is held this way, so an entry grows by one pointer pair.

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

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
