#pragma once
// The embedded default rule set, in the seed's schema (docs/config.md).
//
// For now these are the seed's rules (/work/shared/compat/barbwire-config.yml:
// same scores, parents, allowlist and thresholds, a 5 s window) with three
// changes (docs/config.md, "Built-in rules"):
//   - "/.aws/credentials" joins "credential access" (the seed's write-up lists it);
//   - "/etc/passwd" leaves it, and the "dns recon" category (/etc/resolv.conf,
//     /etc/hosts, /etc/nsswitch.conf) is gone: libc's name lookups read these
//     public files in every program that resolves a user or a host, so they
//     alerted on every curl and, with families on, out-ranked the real secret a
//     sibling had read;
//   - a `family` section: families are correlated.
// `limits` is absent, so the struct defaults apply.

#include <string_view>

namespace barbwire::detail {

inline constexpr std::string_view default_rules_json = R"json({
  "window_duration": 5,
  "suspicious_files": [
    {"category": "credential access", "base_score": 3,
     "patterns": ["/etc/shadow", "/.aws/credentials"]},
    {"category": "ssh key exfiltration", "base_score": 3,
     "patterns": [".ssh/id_rsa", ".ssh/id_ed25519", ".ssh/id_ecdsa"]},
    {"category": "ssh recon", "base_score": 1,
     "patterns": [".ssh/known_hosts", ".ssh/authorized_keys"]},
    {"category": "process memory access", "base_score": 2,
     "patterns": ["/proc/"]},
    {"category": "staging area", "base_score": 2,
     "patterns": ["/tmp/", "/dev/shm/"]}
  ],
  "suspicious_parents": [
    {"program": "bash", "modifier": 2},
    {"program": "sh", "modifier": 2},
    {"program": "zsh", "modifier": 2},
    {"program": "fish", "modifier": 2},
    {"program": "sshd", "modifier": 3},
    {"program": "cron", "modifier": 2},
    {"program": "python", "modifier": 1},
    {"program": "python3", "modifier": 1}
  ],
  "legit_parents": [
    {"program": "systemd", "modifier": -2},
    {"program": "containerd", "modifier": -2},
    {"program": "dockerd", "modifier": -2}
  ],
  "whitelist": {
    "ips": ["8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1"],
    "ports": [53]
  },
  "severity_thresholds": {"medium": 3, "high": 5},
  "alert_threshold": 3,
  "family": {"self": 0, "ancestor": 0, "descendant": 0, "sibling": 0, "session": -1}
})json";

} // namespace barbwire::detail
