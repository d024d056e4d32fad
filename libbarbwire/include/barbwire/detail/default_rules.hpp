#pragma once
// The embedded default rule set, in the seed's schema with the extensions
// (docs/config.md). docs/rules.md explains every category, every trusted
// binary and every choice made here; keep the two in step.
//
// Tuned for real hosts (issue 5, "quiet by default"):
//   - evidence: secrets a legitimate program rarely reads and then sends
//     (password hashes, private keys, cloud / Kubernetes / registry / VCS /
//     database credentials, browser and password-manager stores) score 4-5,
//     so one read plus a network call alerts on its own, at every family
//     relation (session -1 included);
//   - shell histories are recon: 1 point, never an alert alone;
//   - context (`context: true`): libc's public name-service files and ssh's
//     public files; every program reads them, so they are never evidence;
//   - the seed's "/proc/" and "/tmp/" categories are gone (locations, not
//     secrets: every program reads /proc, every build writes /tmp), and so
//     are its suspicious parents (a shell is the parent of nearly every
//     command; +2 for bash made every curl typed in a terminal score higher);
//   - trusted binaries: the programs whose job is to read a category (ssh its
//     keys, sudo the password hashes, git its credential store), by path, and
//     so only when the file is root-owned and not group/other-writable.
// No blanket allowlists (issue 12): there is no `whitelist` and no
// `allowlist`, so no port or address (not even DNS's) hides a family that
// holds a secret. `dns` scores name-service traffic as evidence of its own:
// a lookup-sized send -2 (only the strongest secrets alert on it), a larger
// one at full score; a family that read no secret sends nothing that can
// alert, so everyday name resolution stays quiet. `held` and `taint` are
// written out with their defaults so a reader sees them.
// `limits` is absent, so the struct defaults apply.

#include <string_view>

namespace barbwire::detail {

inline constexpr std::string_view default_rules_json = R"json({
  "window_duration": 5,
  "suspicious_files": [
    {"category": "password hashes", "base_score": 5,
     "patterns": ["/etc/shadow", "/etc/gshadow", "/etc/security/opasswd"]},
    {"category": "ssh private keys", "base_score": 5,
     "patterns": [".ssh/id_rsa", ".ssh/id_ed25519", ".ssh/id_ecdsa", ".ssh/id_dsa"]},
    {"category": "cloud credentials", "base_score": 5,
     "patterns": ["/.aws/credentials", "/.config/gcloud/credentials.db",
                  "/.config/gcloud/application_default_credentials.json",
                  "/.config/gcloud/legacy_credentials/", "/.config/gcloud/access_tokens.db", "/.azure/"]},
    {"category": "kubernetes credentials", "base_score": 5,
     "patterns": ["/.kube/config", "/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"]},
    {"category": "browser credential stores", "base_score": 5,
     "patterns": ["/logins.json", "/key4.db", "/key3.db", "/cookies.sqlite", "/Login Data",
                  "/google-chrome/Default/Cookies", "/chromium/Default/Cookies",
                  "/google-chrome/Default/Network/Cookies", "/chromium/Default/Network/Cookies"]},
    {"category": "password manager stores", "base_score": 5,
     "patterns": ["/.password-store/", "/.local/share/keyrings/", "/.local/share/kwalletd/",
                  "/.gnupg/private-keys-v1.d/", "/.gnupg/secring.gpg", ".kdbx"]},
    {"category": "netrc", "base_score": 4,
     "patterns": ["/.netrc"]},
    {"category": "git credentials", "base_score": 4,
     "patterns": ["/.git-credentials", "/.config/git/credentials"]},
    {"category": "database passwords", "base_score": 4,
     "patterns": ["/.pgpass", "/.my.cnf"]},
    {"category": "container registry credentials", "base_score": 4,
     "patterns": ["/.docker/config.json", "/containers/auth.json"]},
    {"category": "shell history", "base_score": 1,
     "patterns": ["/.bash_history", "/.zsh_history", "/.histfile", "/.local/share/fish/fish_history",
                  "/.python_history", "/.mysql_history", "/.psql_history", "/.sqlite_history",
                  "/.node_repl_history"]},
    {"category": "name service files", "base_score": 0, "context": true,
     "patterns": ["/etc/passwd", "/etc/group", "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
                  "/etc/host.conf", "/etc/gai.conf"]},
    {"category": "ssh public files", "base_score": 0, "context": true,
     "patterns": [".ssh/known_hosts", ".ssh/authorized_keys", "/etc/ssh/ssh_known_hosts"]}
  ],
  "suspicious_parents": [],
  "legit_parents": [
    {"program": "systemd", "modifier": -2},
    {"program": "containerd", "modifier": -2},
    {"program": "dockerd", "modifier": -2}
  ],
  "dns": {"ports": [53], "category": "dns", "modifier": -2, "max_query_bytes": 512, "oversize_modifier": 0},
  "held": {"enabled": true, "modifier": -1, "stale_after": 600, "stale_modifier": -2, "inherit": true},
  "taint": {"enabled": true, "modifier": 0},
  "severity_thresholds": {"medium": 3, "high": 5},
  "alert_threshold": 3,
  "family": {"self": 0, "ancestor": 0, "descendant": 0, "sibling": 0, "session": -1},
  "trusted_binaries": [
    {"exe": "/usr/bin/ssh", "categories": ["ssh private keys"]},
    {"exe": "/usr/bin/ssh-add", "categories": ["ssh private keys"]},
    {"exe": "/usr/bin/ssh-agent", "categories": ["ssh private keys"]},
    {"exe": "/usr/bin/ssh-keygen", "categories": ["ssh private keys"]},
    {"exe": "/usr/lib/openssh/ssh-keysign", "categories": ["ssh private keys"]},
    {"exe": "/usr/lib/openssh/ssh-pkcs11-helper", "categories": ["ssh private keys"]},
    {"exe": "/usr/lib/openssh/ssh-sk-helper", "categories": ["ssh private keys"]},

    {"exe": "/usr/sbin/sshd", "categories": ["password hashes"]},
    {"exe": "/usr/lib/openssh/sshd-session", "categories": ["password hashes"]},
    {"exe": "/usr/lib/openssh/sshd-auth", "categories": ["password hashes"]},
    {"exe": "/usr/sbin/unix_chkpwd", "categories": ["password hashes"]},
    {"exe": "/usr/bin/sudo", "categories": ["password hashes"]},
    {"exe": "/usr/bin/su", "categories": ["password hashes"]},
    {"exe": "/usr/bin/login", "categories": ["password hashes"]},
    {"exe": "/usr/bin/passwd", "categories": ["password hashes"]},
    {"exe": "/usr/bin/chage", "categories": ["password hashes"]},
    {"exe": "/usr/bin/chsh", "categories": ["password hashes"]},
    {"exe": "/usr/bin/chfn", "categories": ["password hashes"]},
    {"exe": "/usr/bin/gpasswd", "categories": ["password hashes"]},
    {"exe": "/usr/bin/newgrp", "categories": ["password hashes"]},
    {"exe": "/usr/sbin/chpasswd", "categories": ["password hashes"]},
    {"exe": "/usr/sbin/useradd", "categories": ["password hashes"]},
    {"exe": "/usr/sbin/usermod", "categories": ["password hashes"]},
    {"exe": "/usr/sbin/userdel", "categories": ["password hashes"]},
    {"exe": "/usr/sbin/groupadd", "categories": ["password hashes"]},
    {"exe": "/usr/sbin/groupmod", "categories": ["password hashes"]},
    {"exe": "/usr/sbin/groupdel", "categories": ["password hashes"]},
    {"exe": "/usr/sbin/pwck", "categories": ["password hashes"]},
    {"exe": "/usr/sbin/grpck", "categories": ["password hashes"]},
    {"exe": "/usr/sbin/cron", "categories": ["password hashes"]},
    {"exe": "/usr/lib/polkit-1/polkit-agent-helper-1", "categories": ["password hashes"]},

    {"exe": "/usr/bin/git", "categories": ["git credentials"]},
    {"exe": "/usr/lib/git-core/git", "categories": ["git credentials"]},
    {"exe": "/usr/lib/git-core/git-credential-store", "categories": ["git credentials"]},
    {"exe": "/usr/lib/git-core/git-remote-http", "categories": ["netrc"]},
    {"exe": "/usr/lib/git-core/git-remote-https", "categories": ["netrc"]},
    {"exe": "/usr/bin/wget", "categories": ["netrc"]},

    {"exe": "/usr/bin/kubectl", "categories": ["kubernetes credentials"]},
    {"exe": "/usr/local/bin/kubectl", "categories": ["kubernetes credentials"]},
    {"exe": "/usr/bin/docker", "categories": ["container registry credentials"]},
    {"exe": "/usr/bin/podman", "categories": ["container registry credentials"]},
    {"exe": "/usr/bin/skopeo", "categories": ["container registry credentials"]},
    {"exe": "/usr/bin/buildah", "categories": ["container registry credentials"]},

    {"exe": "/usr/bin/mariadb", "categories": ["database passwords"]},
    {"exe": "/usr/bin/mysql", "categories": ["database passwords"]},
    {"exe": "/usr/bin/mariadb-dump", "categories": ["database passwords"]},
    {"exe": "/usr/bin/mysqldump", "categories": ["database passwords"]},
    {"exe": "/usr/lib/postgresql/15/bin/psql", "categories": ["database passwords"]},
    {"exe": "/usr/lib/postgresql/15/bin/pg_dump", "categories": ["database passwords"]},
    {"exe": "/usr/lib/postgresql/15/bin/pg_dumpall", "categories": ["database passwords"]},
    {"exe": "/usr/lib/postgresql/15/bin/pg_restore", "categories": ["database passwords"]},
    {"exe": "/usr/lib/postgresql/15/bin/pg_basebackup", "categories": ["database passwords"]},

    {"exe": "/usr/lib/firefox-esr/firefox-esr", "categories": ["browser credential stores"]},
    {"exe": "/usr/lib/firefox/firefox", "categories": ["browser credential stores"]},
    {"exe": "/usr/lib/thunderbird/thunderbird", "categories": ["browser credential stores"]},
    {"exe": "/usr/lib/chromium/chromium", "categories": ["browser credential stores"]},
    {"exe": "/opt/google/chrome/chrome", "categories": ["browser credential stores"]},

    {"exe": "/usr/bin/gnome-keyring-daemon", "categories": ["password manager stores"]},
    {"exe": "/usr/bin/kwalletd5", "categories": ["password manager stores"]},
    {"exe": "/usr/bin/kwalletd6", "categories": ["password manager stores"]},
    {"exe": "/usr/bin/gpg-agent", "categories": ["password manager stores"]},
    {"exe": "/usr/bin/keepassxc", "categories": ["password manager stores"]},

    {"exe": "/usr/bin/bash", "categories": ["shell history"]},
    {"exe": "/usr/bin/zsh", "categories": ["shell history"]},
    {"exe": "/usr/bin/fish", "categories": ["shell history"]},
    {"exe": "/usr/bin/python3.11", "categories": ["shell history"]},
    {"exe": "/usr/bin/sqlite3", "categories": ["shell history"]},
    {"exe": "/usr/bin/node", "categories": ["shell history"]}
  ]
})json";

} // namespace barbwire::detail
