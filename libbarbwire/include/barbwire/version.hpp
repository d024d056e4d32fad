#pragma once
// Library version. Bumped with the meson project version.

#define BW_VERSION_MAJOR 0
#define BW_VERSION_MINOR 1
#define BW_VERSION_PATCH 0
#define BW_VERSION_STRING "0.1.0"

namespace barbwire {
inline constexpr int version_major = BW_VERSION_MAJOR;
inline constexpr int version_minor = BW_VERSION_MINOR;
inline constexpr int version_patch = BW_VERSION_PATCH;
inline constexpr const char* version_string = BW_VERSION_STRING;
} // namespace barbwire
