#include "safe_file.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace barbwire::sensor {

namespace {

std::string why(int err) { return std::strerror(err); }

bool ours(uid_t owner) { return owner == 0 || owner == ::geteuid(); }

} // namespace

std::string dir_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? std::string("/") : path.substr(0, slash);
}

check_result<void> check_private_dir(const std::string& dir, std::string_view what) {
    struct stat sb {};
    if (::stat(dir.c_str(), &sb) != 0) {
        return tl::unexpected(std::string(what) + ": directory " + dir + ": " + why(errno) +
                              "; give a path in an existing directory");
    }
    if (!S_ISDIR(sb.st_mode)) return tl::unexpected(std::string(what) + ": " + dir + " is not a directory");
    if (!ours(sb.st_uid)) {
        return tl::unexpected(std::string(what) + ": directory " + dir + " belongs to uid " +
                              std::to_string(sb.st_uid) +
                              ", who could swap the sensor's file; use a directory of root's (or the sensor's user)");
    }
    const bool others_write = (sb.st_mode & S_IWOTH) != 0 ||
                              ((sb.st_mode & S_IWGRP) != 0 && sb.st_gid != 0 && sb.st_gid != ::getegid());
    if (others_write && (sb.st_mode & S_ISVTX) == 0) {
        return tl::unexpected(std::string(what) + ": directory " + dir +
                              " is writable by other users and not sticky, so they could swap the sensor's file; "
                              "use a directory only root (or the sensor's user) can write");
    }
    return {};
}

check_result<int> open_private_file(const std::string& path, open_mode mode, std::string_view what) {
    if (path.empty()) return tl::unexpected(std::string(what) + ": an empty path; give a file name");
    if (auto d = check_private_dir(dir_of(path), what); !d) return tl::unexpected(d.error());
    // No O_TRUNC here: a file that is not ours must be refused before any
    // change. O_NONBLOCK: a FIFO at the path must not hang the open.
    const int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                      (mode == open_mode::append ? O_APPEND : 0);
    int fd;
    do {
        fd = ::open(path.c_str(), flags, 0600);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        const int e = errno;
        if (e == ELOOP) {
            return tl::unexpected(std::string(what) + ": " + path +
                                  " is a symbolic link; refused (root would write where it points); "
                                  "give the real file's path");
        }
        if (e == ENXIO) return tl::unexpected(std::string(what) + ": " + path + " is a FIFO; give a regular file");
        return tl::unexpected(std::string(what) + ": cannot open " + path + " for writing: " + why(e));
    }
    const auto refuse = [&](const std::string& msg) -> check_result<int> {
        ::close(fd);
        return tl::unexpected(std::string(what) + ": " + path + msg);
    };
    struct stat sb {};
    if (::fstat(fd, &sb) != 0) return refuse(": fstat failed: " + why(errno));
    if (!S_ISREG(sb.st_mode)) return refuse(" is not a regular file; give a regular file's path");
    if (!ours(sb.st_uid)) {
        return refuse(" belongs to uid " + std::to_string(sb.st_uid) +
                      ", not to the sensor; remove it or give another path");
    }
    // umask may have narrowed 0600; nothing widens it. A new file is 0600.
    if (sb.st_nlink > 1) return refuse(" has other hard links; refused (they could be read elsewhere)");
    if (mode == open_mode::truncate && ::ftruncate(fd, 0) != 0) return refuse(": truncate failed: " + why(errno));
    const int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) return refuse(": fcntl failed: " + why(errno));
    return fd;
}

} // namespace barbwire::sensor
