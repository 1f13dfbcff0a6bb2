"""The REST API's hot paths, podman-rs against Podman's own
`podman system service` measured in the same run.

argv: OUR_PODMAN THEIR_PODMAN WORK RUNS
  * GET /containers/json (all) with 100 containers: requests per second
    over one keep-alive connection;
  * POST /containers/create + start + wait of `true`: median latency,
    and our CLI doing the same (create, start, wait).
"""
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import time

OURS, THEIRS, WORK, RUNS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
IMAGE = "localhost/apibench:latest"
# Podman 4.3.1 asks for more open files and processes than this machine's
# limits let runc set (no CAP_SYS_RESOURCE); both engines get the same
# modest limits.
_LIMITS = {"nofile": 1024, "nproc": 4096}
NOFILE = [{"Name": k, "Soft": v, "Hard": v} for k, v in _LIMITS.items()]
ULIMIT_FLAGS = [f for k, v in _LIMITS.items() for f in ("--ulimit", f"{k}={v}:{v}")]


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        self.sock = s


def call(conn, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    out = r.read()
    if r.status >= 400:
        raise SystemExit(f"{method} {path}: {r.status} {out[:300]!r}")
    return out


def engine(binary, name):
    root = os.path.join(WORK, name)
    return [binary, "--root", root + "/root", "--runroot", root + "/run"]


def prepare(cmd, name):
    """The busybox image and 100 created containers; the service started."""
    rootfs = os.path.join(WORK, "rootfs.tar")
    if not os.path.exists(rootfs):
        with tarfile.open(rootfs, "w") as t:
            t.add("/bin/busybox", arcname="bin/busybox")
            for a in ("sh", "true"):
                info = tarfile.TarInfo("bin/" + a)
                info.type = tarfile.SYMTYPE
                info.linkname = "busybox"
                t.addfile(info)
    subprocess.run(cmd + ["import", "-q", rootfs, IMAGE], check=True, stdout=subprocess.DEVNULL)
    for i in range(100):
        subprocess.run(cmd + ["create", "--name", f"c{i}", "--network", "none", IMAGE, "true"],
                       check=True, stdout=subprocess.DEVNULL)
    sock = os.path.join(WORK, name + ".sock")
    svc = subprocess.Popen(cmd + ["system", "service", "--time", "0", "unix://" + sock],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while True:
        try:
            c = UnixConn(sock)
            call(c, "GET", "/_ping")
            c.close()
            break
        except (OSError, http.client.HTTPException):
            if time.time() > deadline:
                raise SystemExit(f"{name}: the service did not start")
            time.sleep(0.05)
    return svc, sock


def throughput(sock, seconds=3.0):
    c = UnixConn(sock)
    body = call(c, "GET", "/v1.41/containers/json?all=1")
    assert len(json.loads(body)) >= 100, "100 containers listed"
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        call(c, "GET", "/v1.41/containers/json?all=1")
        n += 1
    rps = n / (time.perf_counter() - t0)
    c.close()
    return rps


def api_cycle(sock):
    c = UnixConn(sock)
    t0 = time.perf_counter()
    cid = json.loads(call(c, "POST", "/v1.41/containers/create",
                          {"Image": IMAGE, "Cmd": ["true"],
                           "HostConfig": {"NetworkMode": "none", "Ulimits": NOFILE}}))["Id"]
    call(c, "POST", f"/v1.41/containers/{cid}/start")
    code = json.loads(call(c, "POST", f"/v1.41/containers/{cid}/wait"))["StatusCode"]
    dt = time.perf_counter() - t0
    assert code == 0, code
    call(c, "DELETE", f"/v1.41/containers/{cid}?force=1")
    c.close()
    return dt


def cli_cycle(cmd):
    t0 = time.perf_counter()
    cid = subprocess.run(cmd + ["create", "--network", "none"] + ULIMIT_FLAGS + [IMAGE, "true"], check=True,
                         capture_output=True, text=True).stdout.strip()
    subprocess.run(cmd + ["start", cid], check=True, stdout=subprocess.DEVNULL)
    code = subprocess.run(cmd + ["wait", cid], check=True, capture_output=True, text=True).stdout.strip()
    dt = time.perf_counter() - t0
    assert code == "0", code
    subprocess.run(cmd + ["rm", "-f", cid], check=True, stdout=subprocess.DEVNULL)
    return dt


def median(f, *a):
    f(*a)  # warm-up
    return statistics.median(f(*a) for _ in range(RUNS))


results = {}
services = []
try:
    for name, binary in (("podman-rs", OURS), ("podman", THEIRS)):
        cmd = engine(binary, name)
        svc, sock = prepare(cmd, name)
        services.append((svc, cmd))
        rps = throughput(sock)
        lat = median(api_cycle, sock)
        results[name] = (rps, lat, cmd)
        print(f"  {name:10} GET /containers/json (100 containers): {rps:8.1f} req/s   "
              f"create+start+wait of true: {lat * 1000:7.1f} ms (median of {RUNS})")
    cli = median(cli_cycle, results["podman-rs"][2])
    print(f"  podman-rs CLI create+start+wait of true: {cli * 1000:7.1f} ms (median of {RUNS})")
    ours, theirs = results["podman-rs"], results["podman"]
    print(f"ratio throughput podman-rs / podman: {ours[0] / theirs[0]:.2f} (aim: >= 5)")
    print(f"ratio latency podman-rs / podman: {ours[1] / theirs[1]:.2f}")
    print(f"ratio latency podman-rs API / podman-rs CLI: {ours[1] / cli:.2f} (aim: <= 1.2)")
finally:
    for svc, cmd in services:
        svc.terminate()
        svc.wait()
        subprocess.run(cmd + ["rm", "-af", "-t", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
