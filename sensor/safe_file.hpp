#pragma once
// Files the sensor writes as root (--output, `record`'s trace, a learned
// baseline), made so that a local user cannot turn them against the host
// (docs/threat-model.md, "The sensor's own files"):
//
//   - the last component is never followed when it is a symbolic link
//     (O_NOFOLLOW): a link planted at the path cannot make root append to,
//     or truncate, the file it points at;
//   - only a regular file is written (a FIFO or a device is refused, and
//     opening one never blocks);
//   - a file that exists already must be the sensor's (its owner is root or
//     the sensor's user), and a truncating open truncates only after that
//     check;
//   - a new file is created 0600, whatever the umask: it holds every user's
//     command lines;
//   - the directory must not be writable by others unless it has the sticky
//     bit (where others could rename the file away and put their own in its
//     place), and it must belong to root or the sensor's user.

#include <string>
#include <string_view>

#include "preflight.hpp" // check_result

namespace barbwire::sensor {

// Whether the sensor may keep its files in directory `dir`: a directory,
// owned by root or the effective user, not writable by other users unless
// sticky. The error says which, and names `what` (the option or command).
[[nodiscard]] check_result<void> check_private_dir(const std::string& dir, std::string_view what);

// The directory part of `path` ("." for a bare name, "/" for a file at the root).
[[nodiscard]] std::string dir_of(const std::string& path);

enum class open_mode { append, truncate };

// Opens `path` for writing as described above; the descriptor (O_CLOEXEC,
// blocking). The error is one line naming `what`.
[[nodiscard]] check_result<int> open_private_file(const std::string& path, open_mode mode, std::string_view what);

} // namespace barbwire::sensor
