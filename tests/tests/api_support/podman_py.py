"""podman-py (PyPI `podman`) against podman's API service (libpod's tree).

argv: BASE_URL (unix:///path) IMAGE_REFERENCE. Exits non-zero with a message
on the first thing that is not as podman-py expects.
"""
import io
import sys
import tarfile
import time

from podman import PodmanClient
from podman.errors import NotFound

url, image = sys.argv[1], sys.argv[2]
with PodmanClient(base_url=url, timeout=60) as client:
    assert client.ping() is True
    v = client.version()
    assert v["Version"] == "5.4.0", v
    info = client.info()
    assert info["store"]["graphDriverName"] == "overlay", info["store"]

    # pull (a loopback registry: plain HTTP) and images
    img = client.images.pull(image, tls_verify=False)
    assert image in img.tags, img.tags
    assert client.images.exists(image)
    assert any(image in i.tags for i in client.images.list())

    # output and the exit code through wait (podman-py's run() hands back
    # logs only for the json-file and journald drivers, not Podman's k8s-file)
    c = client.containers.create(image, ["sh", "-c", "echo from-podman-py"])
    c.start()
    assert c.wait() == 0
    assert b"".join(c.logs()) == b"from-podman-py\n"
    c.remove()
    c = client.containers.create(image, ["sh", "-c", "exit 3"], name="ppy-exit")
    c.start()
    assert c.wait() == 3
    c.remove()

    # detached: logs, exec, list, stop, remove
    c = client.containers.run(
        image, ["sh", "-c", "echo hello; sleep 1000"], detach=True, name="ppy", labels={"k": "v"}
    )
    deadline = time.time() + 20
    while b"hello" not in b"".join(c.logs()):
        assert time.time() < deadline, "no log line"
        time.sleep(0.1)
    c.reload()
    assert c.status == "running", c.status
    assert c.labels["k"] == "v"
    # exec_run starts the exec without Connection: Upgrade and reads the
    # framed streams from the answer's body.
    code, (out, err) = c.exec_run(["sh", "-c", "echo ppy-out; echo ppy-err >&2; exit 3"], demux=True)
    assert (code, out, err) == (3, b"ppy-out\n", b"ppy-err\n"), (code, out, err)
    # Without demux podman-py hands back the body as it came: Podman frames
    # a non-tty exec's output (stream 1, length 9) even on a plain answer.
    code, out = c.exec_run("echo combined")
    assert (code, out) == (0, b"\x01\x00\x00\x00\x00\x00\x00\x09combined\n"), (code, out)
    assert [x.name for x in client.containers.list(filters={"label": "k=v"})] == ["ppy"]

    # archive: put then get
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b"ppy-archive\n"
        ti = tarfile.TarInfo("ppy.txt")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    assert c.put_archive("/tmp", buf.getvalue())
    stream, stat = c.get_archive("/tmp/ppy.txt")
    assert stat["name"] == "ppy.txt", stat
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as t:
        assert t.extractfile("ppy.txt").read() == b"ppy-archive\n"

    c.stop(timeout=1)
    c.reload()
    assert c.status == "exited", c.status
    c.remove()
    try:
        client.containers.get("ppy")
        raise SystemExit("a removed container is still found")
    except NotFound:
        pass

    # pods
    pod = client.pods.create("ppod")
    assert client.pods.exists("ppod")
    pc = client.containers.create(image, ["sleep", "1000"], pod=pod.id, name="ppod-c")
    pod.start()
    pod.reload()
    assert pod.attrs["State"] == "Running", pod.attrs["State"]
    assert any(ct["Name"] == "ppod-c" for ct in pod.attrs["Containers"]), pod.attrs
    pod.stop(timeout=1)
    pod.remove(force=True)
    assert not client.pods.exists("ppod")
    assert not client.containers.exists(pc.id)

    # networks and volumes
    n = client.networks.create("ppynet")
    assert client.networks.get("ppynet").name == "ppynet"
    n.remove()
    assert not client.networks.exists("ppynet")
    vol = client.volumes.create("ppyvol")
    assert client.volumes.get("ppyvol").name == "ppyvol"
    vol.remove()
print("podman-py: ok")
