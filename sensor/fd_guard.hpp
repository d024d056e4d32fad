#pragma once
// Closes a file descriptor when it goes out of scope (sensor only).

#include <unistd.h>

namespace barbwire::sensor {

struct fd_guard {
    int fd;
    explicit fd_guard(int f) noexcept : fd(f) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

} // namespace barbwire::sensor
