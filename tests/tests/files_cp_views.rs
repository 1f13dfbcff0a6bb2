//! `podman cp` with a container that is not running, which storage-helper
//! opens as a view of its own (no mount anyone sees, nothing synced at the
//! end): what the container deleted or changed is what is copied out,
//! what is copied in is there when it starts, no mount is left, and a copy
//! killed half-way leaves nothing that keeps the container from starting.

use e2e::podman::{stderr, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

/// A created container whose layer deletes, changes and adds files over
/// its image's, made by a first run.
fn changed_container(s: &TestStore, image: &str, name: &str) {
    s.ok(&[
        "create",
        "--name",
        name,
        "--network",
        "none",
        image,
        "sh",
        "-c",
        "if [ ! -e /done ]; then rm /etc/group; echo changed >> /etc/passwd; mkdir -p /srv/new; echo n > /srv/new/file; touch /done; fi; cat /srv/new/file /dst/tree/a 2>&1; true",
    ]);
    s.ok(&["start", "--attach", name]);
}

#[test]
fn cp_out_of_a_stopped_container_shows_its_own_changes() {
    let (s, _reg, image) = fixture();
    let name = "cpviewout-ctr";
    changed_container(&s, &image, name);
    let host = tempfile::tempdir().unwrap();
    let out = host.path().join("etc");
    s.ok(&["cp", &format!("{name}:/etc"), out.to_str().unwrap()]);
    assert!(!out.join("group").exists(), "a deleted file was copied out");
    let passwd = std::fs::read_to_string(out.join("passwd")).unwrap();
    assert!(
        passwd.starts_with("root:") && passwd.ends_with("changed\n"),
        "{passwd}"
    );
    let new = host.path().join("new");
    s.ok(&["cp", &format!("{name}:/srv/new"), new.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(new.join("file")).unwrap(), "n\n");
    // Copying out mounted nothing and left nothing mounted.
    assert_eq!(s.ok(&["mount"]).trim(), "");
}

#[test]
fn cp_into_a_stopped_container_is_there_when_it_starts() {
    let (s, _reg, image) = fixture();
    let name = "cpviewin-ctr";
    changed_container(&s, &image, name);
    let host = tempfile::tempdir().unwrap();
    let tree = host.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("a"), "copied in\n").unwrap();
    s.ok(&["cp", host.path().to_str().unwrap(), &format!("{name}:/dst")]);
    assert_eq!(s.ok(&["mount"]).trim(), "", "the copy left a mount");
    let out = s.ok(&["start", "--attach", name]);
    assert!(out.contains("copied in"), "{out}");
    // The container's own changes survived the copy.
    assert!(out.starts_with("n\n"), "{out}");

    // Mounted by the user meanwhile: the copy writes through that mount,
    // which stays.
    let mp = s.ok(&["mount", name]).trim().to_string();
    std::fs::write(tree.join("a"), "second\n").unwrap();
    s.ok(&[
        "cp",
        tree.join("a").to_str().unwrap(),
        &format!("{name}:/dst/tree/a"),
    ]);
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(&mp).join("dst/tree/a")).unwrap(),
        "second\n"
    );
    assert!(s.ok(&["mount"]).contains(&mp));
    s.ok(&["umount", name]);
}

#[test]
fn a_killed_copy_into_a_stopped_container_does_not_keep_it_from_starting() {
    let (s, _reg, image) = fixture();
    let name = "cpviewkill-ctr";
    changed_container(&s, &image, name);
    let host = tempfile::tempdir().unwrap();
    let tree = host.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("a"), "before the kill\n").unwrap();
    let o = s
        .cmd()
        .args(["cp", host.path().to_str().unwrap(), &format!("{name}:/dst")])
        .env("PODMAN_RS_TEST_KILL_AT", "cp-after-copy")
        .output()
        .unwrap();
    assert!(!o.status.success(), "the kill point was not reached");
    // The helper dies with podman; its overlay goes with it, overlay's
    // marker of a volatile mount stays until the next mount takes it away.
    let out = s.run(&["start", "--attach", name]);
    assert!(o.status.code() != Some(0));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("before the kill"), "{text}");
    // And a copy after it works as ever.
    std::fs::write(tree.join("a"), "after\n").unwrap();
    s.ok(&[
        "cp",
        tree.join("a").to_str().unwrap(),
        &format!("{name}:/dst/tree/a"),
    ]);
    let text = s.ok(&["start", "--attach", name]);
    assert!(text.contains("after"), "{text}");
}
