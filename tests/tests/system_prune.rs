//! `system prune`, `system reset`, and containers only storage knows
//! (made with storage-helper, as buildah makes them for Podman).

use std::io::Write;
use std::process::Stdio;

use e2e::binaries::bin;
use e2e::podman::{with_busybox, TestStore};

/// A container layer made behind podman's back; returns its ID.
fn external_container(s: &TestStore, image: &str) -> String {
    let id = "e".repeat(64);
    let o = std::process::Command::new(bin("storage-helper"))
        .arg("--root")
        .arg(s.root())
        .arg("--runroot")
        .arg(s.runroot())
        .args(["create-container", "--image", image, &id])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    id
}

fn image_id(s: &TestStore, r: &str) -> String {
    s.ok(&["images", "-q", "--no-trunc", r])
        .trim()
        .trim_start_matches("sha256:")
        .to_string()
}

#[test]
fn rm_and_exists_external_see_a_container_only_storage_knows() {
    let (s, _reg, r) = with_busybox();
    s.ok(&["create", "--name", "c", &r, "true"]);
    let ext = external_container(&s, &image_id(&s, &r));
    assert_eq!(s.run(&["container", "exists", &ext]).status.code(), Some(1));
    s.ok(&["container", "exists", "--external", &ext]);
    let listed = s.ok(&["ps", "-a", "--external", "-q", "--no-trunc"]);
    assert!(listed.contains(&ext), "{listed}");
    // The storage container pins the image until it goes.
    assert!(!s.run(&["rmi", &r]).status.success());
    s.ok(&["rm", "c", &ext]);
    assert_eq!(s.ok(&["ps", "-a", "--external", "-q"]), "");
    s.ok(&["rmi", &r]);
}

#[test]
fn system_prune_removes_stopped_containers_unused_networks_and_asks_first() {
    let (s, _reg, r) = with_busybox();
    let stopped = s
        .ok(&["create", "--name", "stopped", &r, "true"])
        .trim()
        .to_string();
    s.ok(&["run", "-d", "--name", "running", &r, "sleep", "600"]);
    s.ok(&["network", "create", "--subnet", "10.98.3.0/24", "unused"]);

    // Without --force it asks; anything but y keeps everything.
    let mut child = s
        .cmd()
        .args(["system", "prune"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text,
        "WARNING! This command removes:\n\t- all stopped containers\n\t- all networks not used by at least one container\n\t- all dangling images\n\t- all dangling build cache\n\nAre you sure you want to continue? [y/N] "
    );
    assert!(s.ok(&["ps", "-aq", "--no-trunc"]).contains(&stopped));

    let out = s.ok(&["system", "prune", "-f"]);
    assert!(
        out.starts_with(&format!(
            "Deleted Containers\n{stopped}\nDeleted Networks\nunused\nTotal reclaimed space: "
        )),
        "{out}"
    );
    assert_eq!(s.ok(&["ps", "-a", "--format", "{{.Names}}"]), "running\n");
    // The running container's image is in use: even --all keeps it.
    let out = s.ok(&["system", "prune", "-a", "-f"]);
    assert_eq!(out, "Total reclaimed space: 0B\n");
    s.ok(&["rm", "-f", "-t", "0", "running"]);
    let out = s.ok(&["system", "prune", "-a", "-f"]);
    let id = image_id_gone(&out);
    assert!(s.ok(&["images", "-q"]).is_empty(), "{out}");
    assert_eq!(id.len(), 64, "{out}");
    assert!(
        s.run(&["system", "prune", "--external", "-a"])
            .status
            .code()
            == Some(125)
    );
}

/// The one image ID under "Deleted Images".
fn image_id_gone(out: &str) -> String {
    let mut lines = out.lines().skip_while(|l| *l != "Deleted Images");
    lines.next();
    lines.next().unwrap_or("").to_string()
}

#[test]
fn system_prune_external_removes_storage_only_containers() {
    let (s, _reg, r) = with_busybox();
    let keep = s.ok(&["create", &r, "true"]).trim().to_string();
    let ext = external_container(&s, &image_id(&s, &r));
    assert_eq!(s.ok(&["system", "prune", "--external"]), "");
    let left = s.ok(&["ps", "-a", "--external", "-q", "--no-trunc"]);
    assert_eq!(left.trim(), keep, "{ext} should be gone");
}

#[test]
fn system_reset_removes_containers_images_networks_and_both_roots() {
    let (s, _reg, r) = with_busybox();
    s.ok(&["network", "create", "--subnet", "10.98.4.0/24", "resetnet"]);
    s.ok(&["run", "-d", "--network", "resetnet", &r, "sleep", "600"]);
    s.ok(&["run", "--rm", &r, "true"]);
    let table = s.nft_table();
    let listed = || {
        std::process::Command::new("nft")
            .args(["list", "table", "inet", &table])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(listed(), "the default network's chains are in {table}");
    external_container(&s, &image_id(&s, &r));
    s.ok(&["system", "reset", "-f"]);
    assert!(!listed(), "{table} is left after the reset");
    assert!(!s.root().exists() && !s.runroot().exists());
    let top = s.dir.path().display().to_string();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&top), "mounts left under {top}");
    assert_eq!(s.ok(&["ps", "-a", "--external", "-q"]), "");
    assert_eq!(s.ok(&["images", "-q"]), "");
    assert_eq!(
        s.ok(&["network", "ls", "--format", "{{.Name}}"]),
        "podman\n"
    );
}

/// `podman CMD...` with `answer` on stdin: its stdout.
fn answered(s: &TestStore, args: &[&str], answer: &str) -> String {
    let mut child = s
        .cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{args:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn container_prune_asks_and_takes_podmans_filters() {
    let (s, _reg, r) = with_busybox();
    let keep = s
        .ok(&["create", "--label", "keep=yes", &r, "true"])
        .trim()
        .to_string();
    let go = s
        .ok(&["create", "--label", "keep=no", &r, "true"])
        .trim()
        .to_string();
    let running = s.ok(&["run", "-d", &r, "sleep", "600"]).trim().to_string();
    const PROMPT: &str = "WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] ";
    // Anything but y keeps everything.
    assert_eq!(answered(&s, &["container", "prune"], "n\n"), PROMPT);
    assert_eq!(s.ok(&["ps", "-aq"]).lines().count(), 3);
    // Filters pick among the stopped ones.
    let out = answered(
        &s,
        &["container", "prune", "--filter", "label=keep=no"],
        "y\n",
    );
    assert_eq!(out, format!("{PROMPT}{go}\n"));
    assert_eq!(
        s.ok(&["container", "prune", "-f", "--filter", "label!=keep=yes"]),
        ""
    );
    // `until` in the past keeps what was made since.
    assert_eq!(
        s.ok(&[
            "container",
            "prune",
            "-f",
            "--filter",
            "until=2000-01-01T00:00:00Z"
        ]),
        ""
    );
    let o = s.run(&["container", "prune", "-f", "--filter", "status=exited"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(e2e::podman::stderr(&o).contains("status is an invalid filter"));
    assert_eq!(s.ok(&["container", "prune", "-f"]), format!("{keep}\n"));
    assert_eq!(s.ok(&["ps", "-aq", "--no-trunc"]), format!("{running}\n"));
    s.ok(&["rm", "-f", "-t0", &running]);
}

#[test]
fn image_and_network_prune_ask_first_and_take_filters() {
    let (s, _reg, r) = with_busybox();
    // A dangling image: the tag moved away from it.
    s.ok(&["tag", &r, "localhost/extra:1"]);
    s.ok(&["rmi", &r]);
    s.ok(&["untag", "localhost/extra:1"]);
    assert_eq!(
        s.ok(&["images", "-q", "--filter", "dangling=true"])
            .lines()
            .count(),
        1
    );
    let q = "WARNING! This command removes all dangling images.\nAre you sure you want to continue? [y/N] ";
    assert_eq!(answered(&s, &["image", "prune"], "n\n"), q);
    assert_eq!(s.ok(&["images", "-q", "-a"]).lines().count(), 1);
    // A filter that selects nothing removes nothing; then all go.
    assert_eq!(
        s.ok(&["image", "prune", "-f", "--filter", "label=nope=1"]),
        ""
    );
    assert_eq!(s.ok(&["image", "prune", "-f"]).lines().count(), 1);
    assert_eq!(s.ok(&["images", "-q", "-a"]), "");

    s.ok(&[
        "network",
        "create",
        "--subnet",
        "10.98.7.0/24",
        "--label",
        "team=a",
        "pa",
    ]);
    s.ok(&["network", "create", "--subnet", "10.98.8.0/24", "pb"]);
    let q = "WARNING! This will remove all networks not used by at least one container.\nAre you sure you want to continue? [y/N] ";
    assert_eq!(answered(&s, &["network", "prune"], "no\n"), q);
    assert_eq!(
        answered(&s, &["network", "prune", "--filter", "label=team=a"], "y\n"),
        format!("{q}pa\n")
    );
    let o = s.run(&["network", "prune", "-f", "--filter", "driver=bridge"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(s.ok(&["network", "prune", "-f"]), "pb\n");
}

#[test]
fn system_prune_filters_by_label_and_until() {
    let (s, _reg, r) = with_busybox();
    let a = s
        .ok(&["create", "--label", "team=a", &r, "true"])
        .trim()
        .to_string();
    let b = s
        .ok(&["create", "--label", "team=b", &r, "true"])
        .trim()
        .to_string();
    s.ok(&[
        "network",
        "create",
        "--subnet",
        "10.98.9.0/24",
        "--label",
        "team=a",
        "na",
    ]);
    s.ok(&[
        "network",
        "create",
        "--subnet",
        "10.98.10.0/24",
        "--label",
        "team=b",
        "nb",
    ]);
    let out = s.ok(&["system", "prune", "-f", "--filter", "label=team=a"]);
    assert!(out.contains(&a) && !out.contains(&b), "{out}");
    assert!(out.contains("na") && !out.contains("nb"), "{out}");
    // until: only what was made before the bound goes.
    let out = s.ok(&[
        "system",
        "prune",
        "-f",
        "--filter",
        "until=2000-01-01T00:00:00Z",
    ]);
    assert!(!out.contains(&b) && !out.contains("nb"), "{out}");
    assert_eq!(
        s.ok(&[
            "network",
            "prune",
            "-f",
            "--filter",
            "until=2100-01-01T00:00:00Z"
        ]),
        "nb\n"
    );
    let o = s.run(&["system", "prune", "-f", "--filter", "name=x"]);
    assert_eq!(o.status.code(), Some(125));
    s.ok(&["rm", &b]);
}
