#!/usr/bin/env python3
"""Container hot paths, each as a ratio to a floor measured in the same run.

Run it through bench/containers.sh (builds release binaries, starts a
loopback registry with the busybox test image). Reports:
  * podman run --rm --network none IMG true  vs  overlay mount + bare runc run
  * create, start, stop, rm separately
  * exec CTR true  vs  runc exec
  * logs of a container that printed 100,000 lines  vs  reading the log file
  * ps -a with 0, 100 and 500 containers
  * 20 run -d, four at a time
  * ctr-monitor memory per idle container (Pss, RSS, Private_Dirty,
    Anonymous): one
    container, and the mean of ten; conmon's beside it if installed
  * run --rm on the default bridge  vs  --network none
  * time from run -d -p to the first answered HTTP request
"""
import json, os, shutil, socket, statistics, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor

BIN = sys.argv[1]
REF = sys.argv[2]
N = int(os.environ.get("BENCH_N", "15"))
TMP = tempfile.mkdtemp(prefix="pb", dir="/tmp")
ROOT, RUNROOT = f"{TMP}/root", f"{TMP}/run"
PODMAN = [f"{BIN}/podman", "--root", ROOT, "--runroot", RUNROOT]


def sh(args, **kw):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def podman(*args):
    return sh(PODMAN + list(args))


def timed(fn, n=N):
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        xs.append(time.perf_counter() - t)
    return statistics.median(xs) * 1000


def report(name, ms, floor_ms=None, aim=None):
    line = f"{name:<58} {ms:9.2f} ms"
    if floor_ms:
        line += f"   {ms / floor_ms:5.2f}x floor ({floor_ms:.2f} ms)"
    if aim:
        line += f"   aim {aim}"
    print(line, flush=True)


IDLE = 10


def rollup_kb(pid):
    lines = open(f"/proc/{pid}/smaps_rollup").read().splitlines()[1:]
    return {l.split(":")[0]: int(l.split()[1]) for l in lines if l.split()[-1] == "kB"}


def same_binary(pid):
    """Processes other than `pid` running the same executable file (they
    share its pages, so they lower its Pss)."""
    exe = os.stat(f"/proc/{pid}/exe")
    n = 0
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            st = os.stat(f"/proc/{p}/exe")
        except OSError:
            continue
        n += int(p) != pid and (st.st_dev, st.st_ino) == (exe.st_dev, exe.st_ino)
    return n


def report_memory(name, pids, aim=None):
    """Mean Pss, RSS and Private_Dirty of the processes `pids`, in MB."""
    # A binary built moments ago sits dirty in the page cache, which
    # smaps counts as Private_Dirty: write it back first.
    os.sync()
    kb = [rollup_kb(p) for p in pids]
    mean = lambda k: statistics.mean(r[k] for r in kb) / 1024
    line = f"{name:<58} {mean('Pss'):9.2f} MB Pss   RSS {mean('Rss'):.2f} MB, Private_Dirty {mean('Private_Dirty'):.2f} MB, Anonymous {mean('Anonymous'):.2f} MB"
    others = same_binary(pids[0]) - (len(pids) - 1)
    if others:
        line += f" ({others} more running)"
    if aim:
        line += f"   aim {aim}"
    print(line, flush=True)


def conmon_containers(n, lower, spec):
    """n idle `sleep` containers under conmon and runc, as Podman runs them
    (conmon creates, runc starts); the conmon pids."""
    root, pids = f"{TMP}/runc-conmon", []
    for sub in ("conmon-exits", "conmon-sockets"):
        os.makedirs(f"{TMP}/{sub}", exist_ok=True)
    for i in range(n):
        d, cid = f"{TMP}/conmon{i}", f"conmon{i}"
        for sub in ("upper", "work", "merged"):
            os.makedirs(f"{d}/{sub}", exist_ok=True)
        sh(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={d}/upper,workdir={d}/work", f"{d}/merged"])
        s = dict(spec, root={"path": f"{d}/merged", "readonly": False})
        s["process"] = dict(spec["process"], args=["sleep", "1000"])
        s["linux"] = dict(spec["linux"], cgroupsPath=f"/podman-rs-bench/{cid}")
        json.dump(s, open(f"{d}/config.json", "w"))
        # conmon runs `runc create` after it detached and reports the result
        # on the sync pipe, as it does to Podman.
        r, w = os.pipe()
        sh(["conmon", "--api-version", "1", "-c", cid, "-u", cid, "-n", cid, "-r", shutil.which("runc"),
            "-b", d, "-p", f"{d}/pid", "--conmon-pidfile", f"{d}/conmon.pid", "--exit-dir", f"{TMP}/conmon-exits",
            "--socket-dir-path", f"{TMP}/conmon-sockets", "-l", f"k8s-file:{d}/ctr.log", "--log-level", "warning",
            "--runtime-arg", "--root", "--runtime-arg", root],
           stdin=subprocess.DEVNULL, env=dict(os.environ, _OCI_SYNCPIPE=str(w)), pass_fds=(w,))
        os.close(w)
        with os.fdopen(r, "rb") as sync:
            created = json.loads(sync.readline() or b"{}")
        if created.get("data", -1) <= 0:
            raise SystemExit(f"conmon could not create {cid}: {created}")
        sh(["runc", "--root", root, "start", cid])
        pids.append(int(open(f"{d}/conmon.pid").read()))
    time.sleep(1)
    return pids


def remove_conmon_containers():
    for i in range(IDLE):
        subprocess.run(["runc", "--root", f"{TMP}/runc-conmon", "delete", "-f", f"conmon{i}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def floor_runc_bundle():
    """An equivalent bundle for bare runc: the image's rootfs under a fresh overlay."""
    lower = f"{TMP}/lower"
    mnt = podman("create", "--network", "none", REF, "true").strip()
    mp = podman("init", mnt).strip()
    spec = json.load(open(f"{RUNROOT}/containers/{mnt}/config.json"))
    root = spec["root"]["path"]
    shutil.copytree(root, lower, symlinks=True)
    podman("rm", "-f", mnt)
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["true"]
    spec["mounts"] = [m for m in spec["mounts"] if m["type"] != "bind"]
    return lower, spec


def bare_runc_run(lower, spec, i):
    d = f"{TMP}/f{i}"
    for s in ("upper", "work", "merged"):
        os.makedirs(f"{d}/{s}", exist_ok=True)
    sh(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={d}/upper,workdir={d}/work", f"{d}/merged"])
    spec = dict(spec, root={"path": f"{d}/merged", "readonly": False})
    spec["linux"] = dict(spec["linux"], cgroupsPath=f"/podman-rs-bench/f{i}")
    json.dump(spec, open(f"{d}/config.json", "w"))
    sh(["runc", "--root", f"{TMP}/runc", "run", "--bundle", d, f"floor{i}"], stdin=subprocess.DEVNULL)
    sh(["umount", f"{d}/merged"])
    shutil.rmtree(d)


def main():
    podman("pull", "-q", "--tls-verify=false", REF)
    podman("run", "--rm", "--network", "none", REF, "true")  # warm caches
    lower, spec = floor_runc_bundle()
    counter = iter(range(10**6))
    floor = timed(lambda: bare_runc_run(lower, spec, next(counter)))
    run = timed(lambda: podman("run", "--rm", "--network", "none", REF, "true"))
    report("run --rm --network none IMG true", run, floor, "< 1.3x (Podman 4.3.1: 3.8x)")

    ids = []
    create = timed(lambda: ids.append(podman("create", "--network", "none", REF, "sleep", "1000").strip()))
    it = iter(ids)
    start = timed(lambda: podman("start", next(it)))
    it = iter(ids)
    stop = timed(lambda: podman("stop", "-t", "0", next(it)))
    it = iter(ids)
    rm = timed(lambda: podman("rm", next(it)))
    report("create", create)
    report("start", start)
    report("stop -t 0", stop)
    report("rm", rm)

    ctr = podman("run", "-d", "--network", "none", REF, "sleep", "1000").strip()
    ex = timed(lambda: podman("exec", ctr, "true"))
    proc = f"{TMP}/proc.json"
    json.dump(dict(spec["process"], args=["true"]), open(proc, "w"))
    rex = timed(lambda: sh(["runc", "--root", f"{RUNROOT}/runtime", "exec", "--process", proc, ctr], stdin=subprocess.DEVNULL))
    report("exec CTR true", ex, rex, "< 1.5x (vs runc exec)")

    podman("rm", "-f", "-t", "0", ctr)

    # Monitor memory of idle containers, from /proc/PID/smaps_rollup: one
    # container, then ten side by side, where the pages of the binary the
    # monitors share are divided among them (what Pss is for). Conmon beside
    # it when installed, run the same way on the same image.
    idle = [podman("run", "-d", "--network", "none", REF, "sleep", "1000").strip()]
    mons = lambda: [int(podman("inspect", "--format", "{{.State.ConmonPid}}", c).strip()) for c in idle]
    time.sleep(1)  # a monitor gives memory back once quiet for 250 ms
    # Anonymous is what only this monitor holds (heap, stack, written pages
    # of the binary and libraries); Private_Dirty would also count the
    # binary's page-cache pages before they are written back. A PIE build
    # or an extra thread pushes it past the aim.
    report_memory("ctr-monitor per idle container, one container", mons(), "Anonymous < 0.4 MB")
    idle += [podman("run", "-d", "--network", "none", REF, "sleep", "1000").strip() for _ in range(IDLE - 1)]
    time.sleep(1)
    report_memory(f"ctr-monitor per idle container, mean of {IDLE}", mons(), "Pss < 0.3 MB (conmon 0.4 MB)")
    podman("rm", "-f", "-t", "0", *idle)
    if shutil.which("conmon"):
        report_memory(f"conmon per idle container, mean of {IDLE}", conmon_containers(IDLE, lower, spec))
        remove_conmon_containers()
    else:
        print("conmon is not installed here: no side-by-side figure (apt-get install conmon)", flush=True)

    logc = podman("run", "-d", "--network", "none", REF, "sh", "-c", "seq 1 100000").strip()
    podman("wait", logc)
    logfile = json.loads(podman("inspect", logc))[0]["LogPath"]
    lg = timed(lambda: subprocess.run(PODMAN + ["logs", logc], stdout=subprocess.DEVNULL, check=True), 5)
    cat = timed(lambda: subprocess.run(["cat", logfile], stdout=subprocess.DEVNULL, check=True), 5)
    report("logs of 100,000 lines", lg, cat, "< 3x (vs reading the file)")
    podman("rm", logc)

    for count in (0, 100, 500):
        have = len(podman("ps", "-aq").split())
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: podman("create", "--network", "none", REF, "true"), range(count - have)))
        report(f"ps -a with {count} containers", timed(lambda: podman("ps", "-a"), 10), None, "500 in < 30 ms" if count == 500 else None)
    podman("rm", "-af")

    t = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda i: podman("run", "-d", "--network", "none", REF, "sleep", "1000").strip(), range(20)))
    report("20 run -d, four at a time (total)", (time.perf_counter() - t) * 1000)
    podman("rm", "-af", "-t", "0")

    bridge = timed(lambda: podman("run", "--rm", REF, "true"))
    report("run --rm on the default bridge", bridge, run, "< 1.4x of --network none (Podman+netavark: 2.2x)")

    # Setup and teardown on a bridge: the first container creates the bridge
    # (and its DNS server), the last one's teardown removes them.
    podman("network", "create", "benchnet")
    t = time.perf_counter(); first = podman("run", "-d", "--network", "benchnet", REF, "sleep", "1000").strip(); t_first = (time.perf_counter() - t) * 1000
    for _ in range(8):
        podman("run", "-d", "--network", "benchnet", REF, "sleep", "1000")
    t = time.perf_counter(); last = podman("run", "-d", "--network", "benchnet", REF, "sleep", "1000").strip(); t_last = (time.perf_counter() - t) * 1000
    report("setup: run -d, first container on a bridge", t_first)
    report("setup: run -d, tenth container on the same bridge", t_last)
    others = [c for c in podman("ps", "-q", "--no-trunc").split() if c not in (first, last)]
    podman("rm", "-f", "-t", "0", *others)
    t = time.perf_counter(); podman("rm", "-f", "-t", "0", last); t_mid = (time.perf_counter() - t) * 1000
    t = time.perf_counter(); podman("rm", "-f", "-t", "0", first); t_end = (time.perf_counter() - t) * 1000
    report("teardown: rm -f of a container, bridge stays", t_mid)
    report("teardown: rm -f of the last container, bridge goes", t_end)
    podman("network", "rm", "benchnet")

    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    p = port.getsockname()[1]
    port.close()
    t = time.perf_counter()
    ctr = podman("run", "-d", "-p", f"127.0.0.1:{p}:80", REF, "sh", "-c", "echo ok > /tmp/i; httpd -f -p 80 -h /tmp").strip()
    while True:
        try:
            c = socket.create_connection(("127.0.0.1", p), timeout=1)
            c.sendall(b"GET /i HTTP/1.0\r\n\r\n")
            if b"ok" in c.recv(1024):
                break
        except OSError:
            time.sleep(0.005)
    report("run -d -p to the first answered HTTP request", (time.perf_counter() - t) * 1000)
    podman("rm", "-f", "-t", "0", ctr)


try:
    main()
finally:
    subprocess.run(PODMAN + ["rm", "-af", "-t", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    remove_conmon_containers()
    subprocess.run(["sh", "-c", f"grep -o ' {TMP}[^ ]*' /proc/self/mountinfo | xargs -r -n1 umount -l"], stderr=subprocess.DEVNULL)
    shutil.rmtree(TMP, ignore_errors=True)
