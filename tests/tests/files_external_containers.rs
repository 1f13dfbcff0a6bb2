//! Containers buildah made in the same graph root (upstream 060 "mount
//! external container", 140 "diff with buildah container"): read from
//! containers/storage's own files, never written: listed by `ps
//! --external`, mounted read-only at a path of ours (`mount`, `mount`'s
//! list, `umount`), and `diff` reads what buildah's RUN changed.

use std::process::Command;

use e2e::podman::TestStore;

fn buildah_ok(s: &TestStore, args: &[&str]) -> String {
    s.buildah_ok(args)
}

#[test]
fn buildah_containers_are_listed_mounted_and_diffed() {
    if Command::new("buildah").arg("--version").output().is_err() {
        eprintln!("buildah is not installed: nothing to read containers/storage's files from");
        return;
    }
    let (s, _reg, r) = e2e::podman::with_busybox();
    buildah_ok(
        &s,
        &[
            "from",
            "--tls-verify=false",
            "--name",
            "h11-bctr",
            &format!("docker://{r}"),
        ],
    );
    buildah_ok(
        &s,
        &[
            "run",
            "h11-bctr",
            "sh",
            "-c",
            "echo hi > /h11-added; rm /bin/true",
        ],
    );

    // Listed only with --external, by buildah's name.
    let ps = s.ok(&[
        "ps",
        "-a",
        "--external",
        "--notruncate",
        "--format",
        "{{.ID}} {{.Names}}",
    ]);
    let line = ps
        .lines()
        .find(|l| l.ends_with(" h11-bctr"))
        .unwrap_or_else(|| panic!("{ps}"));
    let cid = line.split(' ').next().unwrap().to_string();
    assert_eq!(cid.len(), 64, "{line}");
    assert!(!s.ok(&["ps", "-a"]).contains("h11-bctr"));
    assert_eq!(
        s.run(&["container", "exists", "h11-bctr"]).status.code(),
        Some(1)
    );
    s.ok(&["container", "exists", "--external", "h11-bctr"]);
    s.ok(&["container", "exists", "--external", &cid[..12]]);

    // Its name is taken in the storage both tools share: a create with
    // it is refused in Podman's words, and nothing is made.
    let o = s.run(&["create", "--name", "h11-bctr", &r]);
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with(&format!(
            "Error: creating container storage: the container name \"h11-bctr\" is already in use by {cid}. You have to remove that container to be able to reuse that name: that name is already in use by an external entity, or use --replace to instruct Podman to do so."
        )),
        "{err}"
    );
    assert_eq!(s.ok(&["ps", "-a", "--format", "{{.Names}}"]), "");

    // diff: buildah's changes against its image.
    let j: serde_json::Value =
        serde_json::from_str(&s.ok(&["diff", "--format", "json", "h11-bctr"])).unwrap();
    assert_eq!(j["added"], serde_json::json!(["/h11-added"]), "{j}");
    assert_eq!(j["deleted"], serde_json::json!(["/bin/true"]), "{j}");

    // mount: its file system, read-only, listed, counted, taken down.
    let mp = s.ok(&["mount", "h11-bctr"]).trim().to_string();
    assert_eq!(
        std::fs::read_to_string(format!("{mp}/h11-added")).unwrap(),
        "hi\n"
    );
    assert!(!std::path::Path::new(&mp).join("bin/true").exists());
    let e = std::fs::write(format!("{mp}/x"), "x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(nix::libc::EROFS), "{e}");
    let listed = s.ok(&["mount", "--notruncate"]);
    assert!(listed.contains(&format!("{cid}  {mp}")), "{listed}");
    assert_eq!(
        s.ok(&["mount", &cid[..12]]).trim(),
        mp,
        "by ID prefix, counted"
    );
    assert_eq!(s.ok(&["umount", "h11-bctr"]).trim(), cid);
    assert!(
        std::path::Path::new(&mp).join("h11-added").exists(),
        "one mount left"
    );
    assert_eq!(s.ok(&["umount", "h11-bctr"]).trim(), cid);
    assert!(!std::path::Path::new(&mp).join("h11-added").exists());
    assert_eq!(s.ok(&["mount"]), "");

    // buildah still owns it: its files were never written.
    buildah_ok(&s, &["rm", "h11-bctr"]);
    let ps = s.ok(&["ps", "-a", "--external", "--format", "{{.Names}}"]);
    assert!(!ps.contains("h11-bctr"), "{ps}");
    let o = s.run(&["mount", "h11-bctr"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no container with name or ID"));
}
