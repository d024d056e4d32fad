#include "config_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <barbwire/yaml.hpp>

namespace barbwire::sensor {

namespace {
constexpr std::size_t max_config_bytes = 4u << 20; // a rules file is small; refuse to slurp a disk image
}

result<config> load_config(const std::optional<std::string>& path) {
    if (!path) return default_config();

    std::ifstream in(*path, std::ios::binary);
    if (!in) {
        return make_error(errc::invalid_config,
                          "cannot read config " + *path + ": " + std::strerror(errno) +
                              "; check the path given to --config");
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::string body = std::move(text).str();
    if (body.size() > max_config_bytes) {
        return make_error(errc::invalid_config, "config " + *path + " is " + std::to_string(body.size()) +
                                                    " bytes, more than a rules file can be (4 MiB); is it the right file?");
    }
    auto cfg = parse_config_text(body);
    if (!cfg) return make_error(cfg.error().code, "config " + *path + ": " + cfg.error().message);
    return cfg;
}

} // namespace barbwire::sensor
