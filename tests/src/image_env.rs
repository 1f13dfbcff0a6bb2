//! What the podman image tests share: pulling from a test registry (no
//! TLS there), running a command in an image without a network, reading
//! `image inspect` and the stored image IDs, a multi-layer test image, and
//! podman with an auth file of the test's own.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::Result;
use serde_json::Value;

use crate::oci_image::{Image, ImageBuilder, LayerBuilder};
use crate::podman::TestStore;
use crate::registry::Registry;

/// The hex part of a `sha256:HEX` digest.
pub fn hex(d: &str) -> &str {
    d.trim_start_matches("sha256:")
}

/// busybox + a layer of files + a layer that whites one out, makes a
/// directory opaque and changes a file; `Cmd ["cat", "/data/b"]`, label
/// `e2e=layered`.
pub fn layered_image() -> Result<Image> {
    let files = LayerBuilder::new()
        .dir("data", 0o755)
        .file("data/a", "A\n", 0o644)
        .file("data/b", "old\n", 0o644)
        .dir("data/sub", 0o755)
        .file("data/sub/x", "X\n", 0o644)
        .dir("etc", 0o755)
        .file("etc/motd", "welcome\n", 0o644)
        .build()?;
    let changes = LayerBuilder::new()
        .dir("data", 0o755)
        .whiteout("data/a")
        .file("data/b", "new\n", 0o644)
        .dir("data/sub", 0o755)
        .opaque("data/sub")
        .file("data/sub/y", "Y\n", 0o644)
        .build()?;
    ImageBuilder::busybox()?
        .layer(files)
        .layer_with_history(changes, "whiteout and opaque")
        .cmd(&["cat", "/data/b"])
        .label("e2e", "layered")
        .build()
}

/// A fresh registry holding `image` as `repo:tag`, and that reference.
pub fn registry_with(repo: &str, tag: &str, image: &Image) -> (Registry, String) {
    let reg = Registry::start().expect("starting docker-registry");
    reg.push(repo, tag, image)
        .unwrap_or_else(|e| panic!("pushing {repo}:{tag}: {e:#}"));
    let reference = reg.reference(repo, tag);
    (reg, reference)
}

/// Assert podman exited with `code` and said `needle` on stderr.
#[track_caller]
pub fn assert_fails(o: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert!(err.contains(needle), "want {needle:?} in: {err}");
}

/// `pull -q --tls-verify=false EXTRA... REFERENCE` as podman arguments.
fn pull_args<'a>(extra: &[&'a str], reference: &'a str) -> Vec<&'a str> {
    let mut args = vec!["pull", "-q", "--tls-verify=false"];
    args.extend_from_slice(extra);
    args.push(reference);
    args
}

/// `podman pull -q --tls-verify=false EXTRA... REFERENCE`'s output,
/// success or not.
pub fn try_pull(s: &TestStore, extra: &[&str], reference: &str) -> Output {
    s.run(&pull_args(extra, reference))
}

/// A pull with `extra` flags that must succeed: the image ID it prints.
pub fn pull_with(s: &TestStore, extra: &[&str], reference: &str) -> String {
    s.ok(&pull_args(extra, reference)).trim().to_string()
}

/// A plain pull that must succeed: the image ID it prints.
pub fn pull(s: &TestStore, reference: &str) -> String {
    pull_with(s, &[], reference)
}

/// `podman run --rm --network none IMAGE`'s stdout (the image's command).
pub fn run_image(s: &TestStore, image: &str) -> String {
    s.ok(&["run", "--rm", "--network", "none", image])
}

/// `podman run --rm --network none IMAGE sh -c SCRIPT`'s stdout.
pub fn sh(s: &TestStore, image: &str, script: &str) -> String {
    s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        image,
        "sh",
        "-c",
        script,
    ])
}

/// `podman image inspect IMAGE`'s one document.
pub fn inspect(s: &TestStore, image: &str) -> Value {
    let out = s.ok(&["image", "inspect", image]);
    let v: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("image inspect {image} printed no JSON ({e}): {out}"));
    v[0].clone()
}

/// Full IDs of the stored images, sorted.
pub fn image_ids(s: &TestStore) -> Vec<String> {
    let mut v: Vec<String> = s
        .ok(&["images", "-q", "--no-trunc"])
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

/// podman with `REGISTRY_AUTH_FILE` set to a file of the test's own (and
/// no `XDG_RUNTIME_DIR`), so the host's auth files play no part.
pub struct WithAuth<'a> {
    store: &'a TestStore,
    file: PathBuf,
}

impl<'a> WithAuth<'a> {
    pub fn new(store: &'a TestStore, file: impl Into<PathBuf>) -> WithAuth<'a> {
        WithAuth {
            store,
            file: file.into(),
        }
    }

    /// The auth file (it need not exist).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The podman command; add arguments.
    pub fn cmd(&self) -> Command {
        let mut c = self.store.cmd();
        c.env("REGISTRY_AUTH_FILE", &self.file)
            .env_remove("XDG_RUNTIME_DIR");
        c
    }

    /// Run podman with `args`; its output, success or not.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run podman")
    }

    /// `pull -q --tls-verify=false EXTRA... REFERENCE`, success or not.
    pub fn pull(&self, extra: &[&str], reference: &str) -> Output {
        self.run(&pull_args(extra, reference))
    }

    /// `login --tls-verify=false -u USER -p PASSWORD REGISTRY`.
    pub fn login_password(&self, user: &str, registry: &str, password: &str) -> Output {
        self.run(&[
            "login",
            "--tls-verify=false",
            "-u",
            user,
            "-p",
            password,
            registry,
        ])
    }

    /// `login --tls-verify=false -u USER --password-stdin REGISTRY` with
    /// `password` written to its stdin.
    pub fn login_stdin(&self, user: &str, registry: &str, password: &str) -> Output {
        let mut c = self
            .cmd()
            .args([
                "login",
                "--tls-verify=false",
                "-u",
                user,
                "--password-stdin",
            ])
            .arg(registry)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn podman login");
        if let Some(mut stdin) = c.stdin.take() {
            stdin
                .write_all(format!("{password}\n").as_bytes())
                .expect("write the password to podman login");
        }
        c.wait_with_output().expect("wait for podman login")
    }
}
