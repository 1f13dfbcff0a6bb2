"""docker-py (PyPI `docker`) against podman's API service.

argv: DOCKER_HOST IMAGE_REFERENCE. Exits non-zero with a message on the
first thing that is not as Docker's client expects.
"""
import sys
import tempfile
import io
import tarfile

import docker

host, image = sys.argv[1], sys.argv[2]
client = docker.DockerClient(base_url=host, version="auto", timeout=60)

assert client.ping() is True
v = client.version()
assert v["ApiVersion"] == "1.41", v
assert client.info()["ServerVersion"] == "5.4.0"

# pull and images
img = client.images.pull(image)
assert any(t == image for t in img.tags), img.tags
assert any(image in i.tags for i in client.images.list())

# run --rm with output and the exit code
out = client.containers.run(image, ["sh", "-c", "echo from-py"], remove=True)
assert out == b"from-py\n", out
try:
    client.containers.run(image, ["sh", "-c", "echo bad >&2; exit 3"], remove=True)
    raise SystemExit("a failing container did not raise ContainerError")
except docker.errors.ContainerError as e:
    assert e.exit_status == 3, e.exit_status

# run -d, logs, exec, ps, stop, rm
c = client.containers.run(image, ["sh", "-c", "echo hello; sleep 1000"], detach=True, name="pyc", labels={"k": "v"})
import time
deadline = time.time() + 20
while b"hello" not in c.logs():
    assert time.time() < deadline, "no log line"
    time.sleep(0.1)
c.reload()
assert c.status == "running", c.status
assert c.labels["k"] == "v"
code, output = c.exec_run(["sh", "-c", "echo in-exec; exit 6"])
assert code == 6 and output == b"in-exec\n", (code, output)
assert [x.name for x in client.containers.list(filters={"label": "k=v"})] == ["pyc"]

# archive: put then get
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    data = b"py-archive\n"
    info = tarfile.TarInfo("py.txt")
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))
assert c.put_archive("/tmp", buf.getvalue())
stream, stat = c.get_archive("/tmp/py.txt")
assert stat["name"] == "py.txt", stat
raw = b"".join(stream)
with tarfile.open(fileobj=io.BytesIO(raw)) as t:
    assert t.extractfile("py.txt").read() == b"py-archive\n"

c.stop(timeout=1)
c.reload()
assert c.status == "exited", c.status
assert c.wait()["StatusCode"] == 137, "killed after the timeout"
c.remove()

# networks and volumes
n = client.networks.create("pynet")
assert client.networks.get("pynet").id == n.id
n.remove()
vol = client.volumes.create("pyvol")
assert client.volumes.get("pyvol").name == "pyvol"
vol.remove()
print("docker-py: ok")
