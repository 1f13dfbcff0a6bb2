//! podman pull end to end, the faults a pull must survive without leaving
//! anything half-stored: an unknown tag, a registry wanting credentials, a
//! corrupt blob, and a SIGKILL in the middle of a big layer.

#[path = "fetcher_support/mod.rs"]
#[allow(dead_code)]
mod fetcher_support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::image_env::{assert_fails, hex, image_ids, pull, sh, try_pull, WithAuth};
use e2e::oci_image::{busybox_image, busybox_with_file, ImageBuilder};
use e2e::podman::{stderr, TestStore};
use e2e::registry::Registry;

#[test]
fn failed_pulls_store_nothing() {
    let reg = Registry::start().unwrap();
    let s = TestStore::new();
    pull(&s, &{
        reg.push("ok/bb", "latest", &busybox_image().unwrap())
            .unwrap();
        reg.reference("ok/bb", "latest")
    });
    let before = image_ids(&s);

    let o = try_pull(&s, &[], &reg.reference("ok/bb", "nope"));
    assert_fails(&o, 125, "manifest unknown");

    let locked = Registry::start_with_htpasswd("u", "p").unwrap();
    locked
        .push("x/y", "latest", &busybox_image().unwrap())
        .unwrap();
    let no_auth = WithAuth::new(&s, s.dir.path().join("none.json"));
    let o = no_auth.pull(&[], &locked.reference("x/y", "latest"));
    assert_fails(&o, 125, "authentication required");

    let bad = busybox_with_file("f", vec![1u8; 100_000]).unwrap();
    reg.push("bad/img", "latest", &bad).unwrap();
    let h = hex(&bad.layers[1].digest);
    let data = reg.storage_dir().join(format!(
        "docker/registry/v2/blobs/sha256/{}/{h}/data",
        &h[..2]
    ));
    let mut bytes = std::fs::read(&data).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&data, &bytes).unwrap();
    let o = try_pull(&s, &[], &reg.reference("bad/img", "latest"));
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains(&format!("blob {} from", bad.layers[1].digest))
            && stderr(&o).contains("digest mismatch"),
        "{}",
        stderr(&o)
    );

    assert_eq!(image_ids(&s), before);
    assert_eq!(
        s.ok(&["images", "--format", "{{.Repository}}"]).trim(),
        format!("{}/ok/bb", reg.addr)
    );
}

#[test]
fn sigkill_mid_pull_leaves_the_store_as_it_was_and_a_second_pull_completes() {
    let reg = Registry::start().unwrap();
    let big = fetcher_support::random_layer(30 << 20).unwrap();
    let image = ImageBuilder::busybox().unwrap().layer(big).build().unwrap();
    reg.push("big/img", "latest", &image).unwrap();
    reg.push("small/bb", "latest", &busybox_image().unwrap())
        .unwrap();
    let port = fetcher_support::throttling_proxy(reg.addr.clone()).unwrap();
    let slow = format!("127.0.0.1:{port}/big/img:latest");
    let s = TestStore::new();
    pull(&s, &reg.reference("small/bb", "latest"));
    let before = s.ok(&["images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"]);

    let mut child = s
        .cmd()
        .args(["pull", "--tls-verify=false", &slow])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the big blob is partly downloaded into the staging layout.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let partial = walk_sizes(&s.root().join("staging"))
            .into_iter()
            .any(|n| n > 2 << 20);
        if partial {
            break;
        }
        assert!(Instant::now() < deadline, "the pull never got going");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the pull ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    // The helpers notice the hang-up and exit on their own.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_mentioning(&s.root()).is_empty() {
        assert!(
            Instant::now() < deadline,
            "helpers left running: {:?}",
            processes_mentioning(&s.root())
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    assert_eq!(
        s.ok(&["images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"]),
        before
    );
    assert_eq!(s.run(&["image", "exists", &slow]).status.code(), Some(1));
    assert_eq!(
        pull(&s, &reg.reference("big/img", "latest")),
        hex(&image.config_digest)
    );
    assert_eq!(
        sh(
            &s,
            &reg.reference("big/img", "latest"),
            "wc -c < /random.bin"
        )
        .trim(),
        (30u64 << 20).to_string()
    );
}

/// Command lines of running processes that name `path`.
fn processes_mentioning(path: &Path) -> Vec<String> {
    let needle = path.display().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(&needle) {
                out.push(cmd);
            }
        }
    }
    out
}

/// Sizes of every regular file under `dir`.
fn walk_sizes(dir: &Path) -> Vec<u64> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(m) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if m.is_dir() {
            out.extend(walk_sizes(&e.path()));
        } else if m.is_file() {
            out.push(m.len());
        }
    }
    out
}
