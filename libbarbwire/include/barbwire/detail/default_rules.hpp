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
     "patterns": ["/.aws/credentials", "/.aws/sso/cache/", "/.aws/cli/cache/",
                  "/.config/gcloud/credentials.db", "/.config/gcloud/application_default_credentials.json",
                  "/.config/gcloud/legacy_credentials/", "/.config/gcloud/access_tokens.db", "/.azure/",
                  "/.oci/", "/.config/doctl/config.yaml", "/.config/hcloud/cli.toml", "/.config/linode-cli",
                  "/.config/scw/config.yaml", "/.config/openstack/clouds.yaml", "/etc/openstack/clouds.yaml",
                  "/.bluemix/config.json", "/.aliyun/config.json", "/.s3cfg", "/.passwd-s3fs", "/etc/passwd-s3fs",
                  "/.boto"]},
    {"category": "kubernetes credentials", "base_score": 5,
     "patterns": ["/.kube/config", "/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf",
                  "/etc/rancher/k3s/k3s.yaml", "/etc/rancher/rke2/rke2.yaml"]},
    {"category": "browser credential stores", "base_score": 5,
     "patterns": ["/logins.json", "/key4.db", "/key3.db", "/cookies.sqlite", "/Login Data",
                  "/google-chrome/Default/Cookies", "/chromium/Default/Cookies",
                  "/google-chrome/Default/Network/Cookies", "/chromium/Default/Network/Cookies",
                  "/Brave-Browser/Default/Cookies", "/Brave-Browser/Default/Network/Cookies",
                  "/microsoft-edge/Default/Cookies", "/microsoft-edge/Default/Network/Cookies"]},
    {"category": "password manager stores", "base_score": 5,
     "patterns": ["/.password-store/", "/.local/share/keyrings/", "/.local/share/kwalletd/",
                  "/.kde/share/apps/kwallet/", "/.kde4/share/apps/kwallet/",
                  "/.gnupg/private-keys-v1.d/", "/.gnupg/secring.gpg", ".kdbx",
                  "/.config/Bitwarden/data.json", "/Bitwarden CLI/data.json", "/.vault-token"]},
    {"category": "cryptocurrency wallets", "base_score": 5,
     "patterns": ["/wallet.dat", "/.electrum/wallets/", "/.electrum-ltc/wallets/", "/.ethereum/keystore/",
                  "/keystore/UTC--", "/.config/solana/id.json", "/.config/Exodus/exodus.wallet/",
                  "/.config/atomic/Local Storage/", "/.walletwasabi/client/Wallets/",
                  "/Local Extension Settings/nkbihfbeogaeaoehlefnkodbefgpgknn/",
                  "/Local Extension Settings/bfnaelmomeimhlpmgjnjophhpkkoljpa/",
                  "/Local Extension Settings/hnfanknocfeofbddgcijnmhnfnkdnaad/",
                  "/Local Extension Settings/egjidjbpglichdcondbcbdnbeeppgdph/",
                  "/Local Extension Settings/aholpfdialjgjfhomihkjbmgjidlcdno/",
                  "/Local Extension Settings/fhbohimaelbohpjbbldcngcnapndodjp/",
                  "/Local Extension Settings/acmacodkjbdgmoleebolmdjonilkdbch/",
                  "/Local Extension Settings/bhhhlbepdkbapadjdnnojkbgioiodbic/",
                  "/Local Extension Settings/ibnejdfjmmkpcnlpebklmnkoeoihofec/",
                  "/Local Extension Settings/mcohilncbfahbmgdjkbpemcciiolgcge/",
                  "/Local Extension Settings/dmkamcknogkgcdfhhbddcghachkejeap/"]},
    {"category": "netrc", "base_score": 4,
     "patterns": ["/.netrc"]},
    {"category": "git credentials", "base_score": 4,
     "patterns": ["/.git-credentials", "/.config/git/credentials"]},
    {"category": "database passwords", "base_score": 4,
     "patterns": ["/.pgpass", "/.my.cnf"]},
    {"category": "container registry credentials", "base_score": 4,
     "patterns": ["/.docker/config.json", "/containers/auth.json"]},
    {"category": "package registry tokens", "base_score": 4,
     "patterns": ["/.npmrc", "/.yarnrc.yml", "/.pypirc", "/.cargo/credentials", "/.gem/credentials",
                  "/.local/share/gem/credentials", "/composer/auth.json"]},
    {"category": "developer service tokens", "base_score": 4,
     "patterns": ["/.config/gh/hosts.yml", "/.config/glab-cli/config.yml", "/.terraform.d/credentials.tfrc.json",
                  "/.circleci/cli.yml"]},
    {"category": "AI tool credentials", "base_score": 4,
     "patterns": ["/.claude/.credentials.json", "/.codex/auth.json", "/.gemini/oauth_creds.json",
                  "/.config/github-copilot/apps.json", "/.config/github-copilot/hosts.json",
                  "/amazon-q/data.sqlite3", "/Claude/claude_desktop_config.json", "/.cursor/mcp.json",
                  "/.kiro/settings/mcp.json", "/.codeium/windsurf/mcp_config.json"]},
    {"category": "messaging app tokens", "base_score": 4,
     "patterns": ["/discord/Local Storage/leveldb/", "/discordcanary/Local Storage/leveldb/",
                  "/discordptb/Local Storage/leveldb/", "/Slack/Cookies", "/Slack/Network/Cookies",
                  "/Slack/Local Storage/leveldb/", "/tdata/key_data", "/tdata/D877F783D5D3EF8C"]},
    {"category": "remote access credentials", "base_score": 4,
     "patterns": ["/filezilla/sitemanager.xml", "/filezilla/recentservers.xml", "/.local/share/remmina/",
                  "/.remmina/", "/.config/remmina/remmina.pref", "/rclone/rclone.conf"]},
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
    {"exe": "/usr/local/bin/k3s", "categories": ["kubernetes credentials"]},
    {"exe": "/usr/local/bin/doctl", "categories": ["cloud credentials"]},
    {"exe": "/usr/bin/hcloud", "categories": ["cloud credentials"]},
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
    {"exe": "/usr/lib/chromium/chromium", "categories": ["browser credential stores", "cryptocurrency wallets"]},
    {"exe": "/opt/google/chrome/chrome", "categories": ["browser credential stores", "cryptocurrency wallets"]},
    {"exe": "/opt/brave.com/brave/brave", "categories": ["browser credential stores", "cryptocurrency wallets"]},
    {"exe": "/opt/microsoft/msedge/msedge", "categories": ["browser credential stores", "cryptocurrency wallets"]},
    {"exe": "/opt/vivaldi/vivaldi-bin", "categories": ["browser credential stores", "cryptocurrency wallets"]},
    {"exe": "/usr/lib/x86_64-linux-gnu/opera/opera",
     "categories": ["browser credential stores", "cryptocurrency wallets"]},

    {"exe": "/usr/bin/gnome-keyring-daemon", "categories": ["password manager stores"]},
    {"exe": "/usr/bin/kwalletd5", "categories": ["password manager stores"]},
    {"exe": "/usr/bin/kwalletd6", "categories": ["password manager stores"]},
    {"exe": "/usr/bin/gpg-agent", "categories": ["password manager stores"]},
    {"exe": "/usr/bin/keepassxc", "categories": ["password manager stores"]},
    {"exe": "/usr/bin/vault", "categories": ["password manager stores"]},
    {"exe": "/opt/Bitwarden/bitwarden", "categories": ["password manager stores"]},

    {"exe": "/usr/bin/bitcoind", "categories": ["cryptocurrency wallets"]},
    {"exe": "/usr/bin/bitcoin-qt", "categories": ["cryptocurrency wallets"]},
    {"exe": "/usr/local/bin/bitcoind", "categories": ["cryptocurrency wallets"]},
    {"exe": "/usr/local/bin/bitcoin-qt", "categories": ["cryptocurrency wallets"]},
    {"exe": "/usr/bin/geth", "categories": ["cryptocurrency wallets"]},
    {"exe": "/usr/local/bin/geth", "categories": ["cryptocurrency wallets"]},

    {"exe": "/usr/bin/cargo", "categories": ["package registry tokens"]},

    {"exe": "/usr/bin/gh", "categories": ["developer service tokens"]},
    {"exe": "/usr/bin/glab", "categories": ["developer service tokens"]},
    {"exe": "/usr/bin/terraform", "categories": ["developer service tokens"]},
    {"exe": "/usr/local/bin/terraform", "categories": ["developer service tokens"]},

    {"exe": "/usr/share/discord/Discord", "categories": ["messaging app tokens"]},
    {"exe": "/usr/lib/slack/slack", "categories": ["messaging app tokens"]},
    {"exe": "/usr/bin/telegram-desktop", "categories": ["messaging app tokens"]},

    {"exe": "/usr/bin/filezilla", "categories": ["remote access credentials"]},
    {"exe": "/usr/bin/remmina", "categories": ["remote access credentials"]},
    {"exe": "/usr/bin/rclone", "categories": ["remote access credentials"]},

    {"exe": "/usr/bin/bash", "categories": ["shell history"]},
    {"exe": "/usr/bin/zsh", "categories": ["shell history"]},
    {"exe": "/usr/bin/fish", "categories": ["shell history"]},
    {"exe": "/usr/bin/python3.11", "categories": ["shell history"]},
    {"exe": "/usr/bin/sqlite3", "categories": ["shell history"]},
    {"exe": "/usr/bin/node", "categories": ["shell history"]}
  ]
})json";

} // namespace barbwire::detail
