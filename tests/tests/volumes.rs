//! `podman volume`: records, inspect, ls filters and templates, export and
//! import, prune, events, filesystem volumes (`-o type=tmpfs|bind`) mounted
//! on use, and Podman's errors and exit codes for bad input.

mod volume_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use e2e::podman::{stderr, TestStore};
use volume_support::{fixture, inspect, mountpoint, names};

/// Whether something is mounted at `p` (this process's mount table).
fn is_mounted(p: &Path) -> bool {
    let want = p.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split_whitespace().nth(4) == Some(want.as_str()))
}

#[test]
fn volume_verbs_records_and_errors() {
    let s = TestStore::new();
    assert_eq!(s.ok(&["volume", "ls", "--noheading"]), "");
    assert_eq!(
        s.ok(&["volume", "create", "--label", "l=one", "vol1"]),
        "vol1\n"
    );
    // The same name again: Podman's error and exit code; --ignore is quiet.
    let o = s.run(&["volume", "create", "vol1"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        "Error: volume with name vol1 already exists: volume already exists"
    );
    assert_eq!(s.ok(&["volume", "create", "--ignore", "vol1"]), "vol1\n");
    // Bad names and options.
    for bad in ["bad name", "-x", "a/b"] {
        let o = s.run(&["volume", "create", "--", bad]);
        assert_eq!(o.status.code(), Some(125), "{bad}");
        assert!(
            stderr(&o).contains("names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
            "{bad}: {}",
            stderr(&o)
        );
    }
    let o = s.run(&["volume", "create", "-o", "bogus=1", "v9"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("unrecognized volume option \"bogus\""));
    let o = s.run(&[
        "volume",
        "create",
        "-o",
        "type=bind",
        "-o",
        "device=/bogus",
        "v9",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        "Error: invalid volume option device for driver 'local': faccessat /bogus: no such file or directory"
    );
    assert_eq!(names(&s), ["vol1"], "nothing half-made by the failures");

    // Inspect: Podman's shape, the data under the graph root, 0700 above it.
    let v = inspect(&s, "vol1");
    assert_eq!(v["Name"], "vol1");
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["Labels"]["l"], "one");
    assert_eq!(v["NeedsCopyUp"], true);
    assert_eq!(v["NeedsChown"], true);
    assert_eq!(v["MountCount"], 0);
    assert!(v["LockNumber"].as_u64().is_some());
    assert!(v["CreatedAt"].as_str().unwrap().contains('T'));
    let mp = mountpoint(&s, "vol1");
    assert_eq!(mp, s.root().join("volumes/vol1/_data"));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&s.root().join("volumes/vol1")), 0o700);
    assert_eq!(mode(&mp), 0o755);

    // ls: table, filters, templates.
    s.ok(&["volume", "create", "vol2"]);
    let table = s.ok(&["volume", "ls"]);
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["DRIVER", "VOLUME", "NAME"]
    );
    assert_eq!(lines.count(), 2);
    assert_eq!(
        s.ok(&[
            "volume",
            "ls",
            "--filter",
            "label=l=one",
            "--format",
            "{{.Name}}"
        ]),
        "vol1\n"
    );
    assert_eq!(
        s.ok(&["volume", "ls", "--filter", "name=l2$", "-q"]),
        "vol2\n"
    );
    assert_eq!(
        s.ok(&[
            "volume",
            "ls",
            "--filter",
            "name=vol1",
            "--format",
            "{{.Labels}}"
        ]),
        "l=one\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["volume", "ls", "--format", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    let o = s.run(&["volume", "ls", "--filter", "color=red"]);
    assert_eq!(o.status.code(), Some(125));

    // Unknown volumes: exists 1, inspect 125, rm 1, rm -f nothing.
    s.ok(&["volume", "exists", "vol1"]);
    assert_eq!(s.run(&["volume", "exists", "nope"]).status.code(), Some(1));
    let o = s.run(&["volume", "inspect", "bogus"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(stderr(&o).trim(), "Error: no such volume bogus");
    let o = s.run(&["volume", "rm", "bogus"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim(),
        "Error: no volume with name \"bogus\" found: no such volume"
    );
    assert_eq!(
        s.ok(&["volume", "rm", "--force", "bogus", "vol2"]),
        "vol2\n"
    );

    // Export and import.
    std::fs::write(mp.join("hello"), "hello\n").unwrap();
    s.ok(&["volume", "create", "vol3"]);
    let tar = s.dir.path().join("v.tar");
    s.ok(&[
        "volume",
        "export",
        "vol1",
        "--output",
        tar.to_str().unwrap(),
    ]);
    let o = s
        .cmd()
        .args(["volume", "import", "vol3", "-"])
        .stdin(std::fs::File::open(&tar).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(mountpoint(&s, "vol3").join("hello")).unwrap(),
        "hello\n"
    );

    // Prune: only anonymous volumes without -a; all unused with -a.
    let anon = s.ok(&["volume", "create"]).trim().to_string();
    assert_eq!(anon.len(), 64);
    assert_eq!(inspect(&s, &anon)["Anonymous"], true);
    assert_eq!(s.ok(&["volume", "prune", "-f"]).trim(), anon);
    assert_eq!(names(&s), ["vol1", "vol3"]);
    assert_eq!(
        s.ok(&["volume", "prune", "-f", "--filter", "label=l=one", "-a"])
            .trim(),
        "vol1"
    );
    // `inspect --type volume`, and plain inspect finds volumes too.
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["inspect", "--type", "volume", "vol3"])).unwrap();
    assert_eq!(v[0]["Name"], "vol3");
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.Scope}}", "vol3"]),
        "local\n"
    );
    let o = s.run(&["inspect", "--type", "volume", "nope"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(s.ok(&["volume", "rm", "-a"]).trim(), "vol3");
    // system prune --volumes takes unused volumes with the rest.
    s.ok(&["volume", "create", "vol4"]);
    let out = s.ok(&["system", "prune", "-f", "--volumes"]);
    assert!(out.contains("Deleted Volumes\nvol4\n"), "{out}");
    assert!(names(&s).is_empty());

    // Events for each.
    let ev = s.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "type=volume",
        "--format",
        "{{.Status}} {{.Name}}",
    ]);
    for want in ["create vol1", "remove vol2", "prune ", "remove vol3"] {
        assert!(ev.contains(want), "{want} in {ev}");
    }
}

#[test]
fn filesystem_volumes_mount_on_use() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=2M",
        "tv",
    ]);
    let mp = mountpoint(&s, "tv");
    assert!(!is_mounted(&mp));
    // In a container: a tmpfs of that size, unmounted after.
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "tv:/vol",
        &r,
        "sh",
        "-c",
        "stat -f -c %T /vol; grep ' /vol ' /proc/mounts",
    ]);
    assert!(out.starts_with("tmpfs\n"), "{out}");
    assert!(out.contains("size=2048k"), "{out}");
    assert!(!is_mounted(&mp), "unmounted when its last user went");
    assert_eq!(inspect(&s, "tv")["MountCount"], 0);
    // volume mount / unmount count uses.
    assert_eq!(
        s.ok(&["volume", "mount", "tv"]).trim(),
        mp.display().to_string()
    );
    assert!(is_mounted(&mp));
    assert_eq!(inspect(&s, "tv")["MountCount"], 1);
    std::fs::write(mp.join("f"), "in tmpfs").unwrap();
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            "tv:/vol",
            &r,
            "cat",
            "/vol/f"
        ]),
        "in tmpfs"
    );
    assert!(is_mounted(&mp), "still mounted for volume mount's use");
    assert_eq!(s.ok(&["volume", "unmount", "tv"]), "tv\n");
    assert!(!is_mounted(&mp));

    // A start killed with the volume mounted: the next command's
    // reconcile gives the use back and unmounts it.
    let o = s
        .cmd()
        .env("PODMAN_RS_TEST_KILL_AT", "start-after-volumes")
        .args([
            "run",
            "-d",
            "--name",
            "killed",
            "--network",
            "none",
            "-v",
            "tv:/vol",
            &r,
            "sleep",
            "100",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), None, "killed by its kill point");
    assert!(is_mounted(&mp));
    assert_eq!(inspect(&s, "tv")["MountCount"], 1);
    s.ok(&["ps", "-a"]);
    assert!(!is_mounted(&mp), "reconcile unmounted it");
    assert_eq!(inspect(&s, "tv")["MountCount"], 0);
    s.ok(&["rm", "killed"]);

    // A bind volume shows its device's content.
    let dir = s.dir.path().join("bindsrc");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("myfile"), "x").unwrap();
    s.ok(&[
        "volume",
        "create",
        "-o",
        "type=bind",
        "-o",
        &format!("device={}", dir.display()),
        "bv",
    ]);
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            "bv:/vol:z",
            &r,
            "stat",
            "-c",
            "%u:%s",
            "/vol/myfile"
        ]),
        "0:1\n"
    );
    assert!(!is_mounted(&mountpoint(&s, "bv")));
    // system reset unmounts what `volume mount` left mounted.
    s.ok(&["volume", "mount", "tv"]);
    assert!(is_mounted(&mp));
    s.ok(&["system", "reset", "-f"]);
    assert!(!is_mounted(&mp));
    assert!(!s.root().join("volumes").exists());
}
