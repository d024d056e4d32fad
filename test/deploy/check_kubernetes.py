#!/usr/bin/env python3
"""Checks deploy/kubernetes/barbwire-daemonset.yaml offline (no API server):

  check_kubernetes.py SOURCE_ROOT

1. kubectl decodes every object into its typed API struct
   (`kubectl set image --local -f FILE -o json`): a wrong type (a string
   port, a list where a map goes) or an unknown apiVersion/kind fails.
   Namespace and ServiceAccount are decoded too, and refused by `set image`
   only because they have no pod template: that refusal is expected, any
   other error fails.
2. Nothing is dropped: every field of the DaemonSet as written (read with
   `kubectl label --local`, which keeps unknown fields) is in the typed
   output with the same value; a misspelt field (`hostPid`) would vanish in
   decoding and fails here. This stands in for the API server's strict
   field validation, which kubectl cannot do without a server's schemas.
3. What the sensor needs: hostPID, the capabilities exactly those of the
   systemd unit's CapabilityBoundingSet, every volumeMount backed by a
   volume, every host path mounted read-only, probes on /healthz at the
   port --metrics serves, the prometheus annotations on that port, a
   toleration of every taint, a rolling update.

Exit 0 when all hold, 1 with the reasons otherwise, 77 when kubectl is not
installed (1 under CI=true).
"""
import json
import os
import shutil
import subprocess
import sys


def split_json_stream(text):
    """kubectl -o json prints one JSON document per object, back to back."""
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def leaves(x, path=()):
    """(path, value) of every scalar in x; list items by index."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from leaves(v, path + (k,))
    elif isinstance(x, list):
        for n, v in enumerate(x):
            yield from leaves(v, path + (n,))
    else:
        yield path, x


def at(x, path):
    for p in path:
        if isinstance(x, dict) and p in x:
            x = x[p]
        elif isinstance(x, list) and isinstance(p, int) and p < len(x):
            x = x[p]
        else:
            return KeyError
    return x


def unit_capabilities(unit_path):
    caps = None
    for line in open(unit_path, encoding="utf-8"):
        line = line.strip()
        if line.startswith("CapabilityBoundingSet="):
            caps = line.split("=", 1)[1].split()
    if not caps:
        raise SystemExit(f"FAIL: {unit_path} has no CapabilityBoundingSet")
    return sorted(c[len("CAP_"):] for c in caps)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    manifest = os.path.join(root, "deploy", "kubernetes", "barbwire-daemonset.yaml")
    unit = os.path.join(root, "packaging", "systemd", "barbwire.service")
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI") == "true":
            print("FAIL (CI=true): kubectl is not installed")
            return 1
        print("SKIP: kubectl is not installed (Debian: the vendor's `kubectl` package)")
        return 77
    env = dict(os.environ, KUBECONFIG=os.devnull)  # never any cluster
    failures = []

    def fail(msg):
        failures.append(msg)

    # 1. typed decoding
    r = subprocess.run([kubectl, "set", "image", "--local", "-f", manifest, "barbwire=localhost/barbwire:check",
                        "-o", "json"], capture_output=True, text=True, env=env, timeout=60)
    errors = [l for l in r.stderr.splitlines() if l.strip()]
    expected_refusals = [l for l in errors if "is not a pod or does not have a pod template" in l
                         and ("*v1.Namespace" in l or "*v1.ServiceAccount" in l)]
    other = [l for l in errors if l not in expected_refusals]
    if other:
        fail("kubectl could not decode the manifest:\n  " + "\n  ".join(other))
    if len(expected_refusals) != 2:
        fail(f"expected kubectl to decode one Namespace and one ServiceAccount, it said: {errors}")
    typed = split_json_stream(r.stdout) if r.stdout.strip() else []
    ds_typed = [o for o in typed if o.get("kind") == "DaemonSet"]
    if len(ds_typed) != 1:
        fail(f"expected one DaemonSet decoded, got {[o.get('kind') for o in typed]}")
        ds_typed = [{}]
    ds_typed = ds_typed[0]

    # 2. nothing dropped in decoding
    r = subprocess.run([kubectl, "label", "--local", "-f", manifest, "barbwire-check=1", "-o", "json"],
                       capture_output=True, text=True, env=env, timeout=60)
    if r.returncode != 0:
        fail(f"kubectl label --local failed: {r.stderr.strip()}")
    raw = split_json_stream(r.stdout) if r.returncode == 0 else []
    kinds = sorted(o.get("kind", "?") for o in raw)
    if kinds != ["DaemonSet", "Namespace", "ServiceAccount"]:
        fail(f"the manifest should hold a Namespace, a ServiceAccount and a DaemonSet, not {kinds}")
    ds = next((o for o in raw if o.get("kind") == "DaemonSet"), {})
    image_path = ("spec", "template", "spec", "containers", 0, "image")
    for path, value in leaves(ds):
        if path[:2] == ("metadata", "labels") and path[-1] == "barbwire-check" or path == image_path:
            continue
        got = at(ds_typed, path)
        if got is KeyError and value in (False, 0, "", None):
            continue  # a zero value is left out of the encoding (omitempty), not dropped
        if got is KeyError:
            fail(f"field {'.'.join(map(str, path))} was dropped when decoded: not a DaemonSet field (misspelt?)")
        elif got != value and not (isinstance(value, str) and str(got) == value):
            fail(f"field {'.'.join(map(str, path))}: {value!r} decoded as {got!r}")

    # 3. what the sensor needs
    pod = ds.get("spec", {}).get("template", {}).get("spec", {})
    if pod.get("hostPID") is not True:
        fail("hostPID must be true: the sensor seeds and hashes the host's processes from /proc")
    cons = pod.get("containers", [])
    if len(cons) != 1:
        fail(f"expected one container, got {len(cons)}")
        return report(failures)
    c = cons[0]
    sc = c.get("securityContext", {})
    added = sorted(sc.get("capabilities", {}).get("add", []))
    want = unit_capabilities(unit)
    if added != want:
        fail(f"capabilities {added} differ from the systemd unit's {want} (packaging/systemd/barbwire.service)")
    if sc.get("capabilities", {}).get("drop") != ["ALL"]:
        fail("capabilities.drop must be [ALL]: only the added ones are kept")
    if sc.get("privileged"):
        fail("privileged: true grants every capability; the container needs only the unit's set")
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        v = vols.get(m["name"])
        if v is None:
            fail(f"volumeMount {m['name']} has no volume")
        elif "hostPath" in v and m.get("readOnly") is not True:
            fail(f"host path {v['hostPath']['path']} is mounted writable at {m['mountPath']}; the sensor only reads")
    mounted = {m["mountPath"] for m in c.get("volumeMounts", [])}
    for need in ("/sys/kernel/btf", "/sys/fs/cgroup", "/etc", "/root", "/home", "/run/containerd",
                 "/var/lib/containers"):
        if need not in mounted:
            fail(f"{need} is not mounted from the host")
    args = c.get("args", [])
    metrics = args[args.index("--metrics") + 1] if "--metrics" in args[:-1] else None
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    if metrics is None:
        fail("no --metrics ADDR:PORT in args: the probes and Prometheus need it")
    else:
        addr, _, port = metrics.rpartition(":")
        if addr != "0.0.0.0":
            fail(f"--metrics {metrics}: without hostNetwork the probes reach the pod IP, so bind 0.0.0.0")
        if str(ports.get("metrics")) != port:
            fail(f"the port named metrics ({ports.get('metrics')}) is not --metrics's {port}")
        ann = ds.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {})
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != port:
            fail(f"prometheus annotations {ann} do not point at port {port}")
    for probe in ("livenessProbe", "readinessProbe"):
        g = c.get(probe, {}).get("httpGet", {})
        if g.get("path") != "/healthz" or g.get("port") not in ("metrics", ports.get("metrics")):
            fail(f"{probe} must GET /healthz on the metrics port, not {g}")
    if {"operator": "Exists"} not in pod.get("tolerations", []):
        fail("no toleration {operator: Exists}: the sensor must run on tainted nodes too")
    if ds.get("spec", {}).get("updateStrategy", {}).get("type") != "RollingUpdate":
        fail("updateStrategy must be RollingUpdate")
    return report(failures)


def report(failures):
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("ok: the DaemonSet decodes into its API types with no field dropped, and has what the sensor needs")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
