#pragma once
// Loading the rules file: the sensor-side I/O around barbwire::parse_config_text.

#include <optional>
#include <string>

#include <barbwire/config.hpp>

namespace barbwire::sensor {

// Reads and validates a YAML or JSON rules file. With no path, the built-in
// default rules. Error messages name the file and say what to fix.
[[nodiscard]] result<config> load_config(const std::optional<std::string>& path);

} // namespace barbwire::sensor
