//! The `--mount` kinds beyond bind/volume/tmpfs (upstream 060): `glob`
//! (one bind mount per host path a pattern matches), `ramfs`, tmpfs
//! `noswap`, `subpath=` of a volume, and containers.conf's `mounts`
//! (every container gets them unless it mounts the same place itself).

use e2e::podman::{refused, run_sh, stderr, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

#[test]
fn glob_mounts_bind_every_match() {
    let (s, _reg, r) = fixture();
    let dir = s.dir.path().join("globsrc");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["v1a", "v1b", "v2"] {
        std::fs::write(dir.join(f), f).unwrap();
    }
    let d = dir.display().to_string();

    // Without a destination each match is mounted at its own path.
    let out = run_sh(
        &s,
        &r,
        &["--mount", &format!("type=glob,src={d}/v1*,ro")],
        &format!("cat {d}/v1a {d}/v1b; test -e {d}/v2 || echo no-v2"),
    );
    assert_eq!(out, "v1av1bno-v2\n");
    // Read-only as asked, writable with ro=false.
    let o = s.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--mount",
        &format!("src={d}/v2*,type=glob,ro"),
        &r,
        "touch",
        &format!("{d}/v2"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Read-only file system"),
        "{}",
        stderr(&o)
    );
    run_sh(
        &s,
        &r,
        &["--mount", &format!("type=glob,src={d}/v2*,ro=false")],
        &format!("echo new > {d}/v2"),
    );
    assert_eq!(std::fs::read_to_string(dir.join("v2")).unwrap(), "new\n");
    // With one, every match lands under it by its base name.
    let out = run_sh(
        &s,
        &r,
        &[
            "--mount",
            &format!("type=glob,src={d}/v1?,dst=/non/existing,ro"),
        ],
        "ls /non/existing",
    );
    assert_eq!(out, "v1a\nv1b\n");
    // Recorded as the bind mounts it became.
    let cid = s.ok(&[
        "create",
        "--mount",
        &format!("type=glob,src={d}/v1*,ro"),
        &r,
        "true",
    ]);
    let mounts = s.ok(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Source}} {{end}}",
        cid.trim(),
    ]);
    assert_eq!(mounts.trim(), format!("{d}/v1a {d}/v1b"));

    // Bad input, in Podman's words.
    refused(
        &s,
        &[
            "run",
            "--rm",
            "--mount",
            &format!("type=glob,src={d}/v3*"),
            &r,
            "true",
        ],
        &format!("Error: no file paths matching glob \"{d}/v3*\""),
    );
    // Two matches with one base name under one destination collide.
    for sub in ["foo1", "foo2"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        std::fs::write(dir.join(sub).join("bar"), "").unwrap();
    }
    refused(
        &s,
        &[
            "run",
            "--rm",
            "--mount",
            &format!("type=glob,src={d}/foo?/bar,dst=/tmp"),
            &r,
            "true",
        ],
        "Error: /tmp/bar: duplicate mount destination",
    );
    // A bind mount takes its source literally.
    refused(
        &s,
        &[
            "run",
            "--rm",
            "--mount",
            &format!("type=bind,src={d}/v2*,dst=/x"),
            &r,
            "true",
        ],
        &format!("Error: statfs {d}/v2*: no such file or directory"),
    );
    refused(
        &s,
        &[
            "run",
            "--rm",
            "--mount",
            &format!("type=bind,src={d}/v2"),
            &r,
            "true",
        ],
        "Error: must set volume destination",
    );
}

#[test]
fn ramfs_and_tmpfs_noswap() {
    let (s, _reg, r) = fixture();
    let out = run_sh(
        &s,
        &r,
        &["--mount", "type=ramfs,destination=/rf"],
        "stat -f -c %T /rf",
    );
    assert_eq!(out, "ramfs\n");
    let out = run_sh(
        &s,
        &r,
        &["--mount", "type=tmpfs,destination=/ns,noswap"],
        "grep ' /ns ' /proc/mounts",
    );
    assert!(out.contains("noswap"), "{out}");
    refused(
        &s,
        &["run", "--rm", "--mount", "type=bogusfs,dst=/x", &r, "true"],
        "Error: invalid filesystem type \"bogusfs\"",
    );
}

#[test]
fn volume_subpath_mounts_part_of_a_volume() {
    let (s, _reg, r) = fixture();
    s.ok(&["volume", "create", "h11subvol"]);
    run_sh(
        &s,
        &r,
        &["-v", "h11subvol:/v"],
        "mkdir -p /v/a/b && echo inner > /v/a/b/f && echo top > /v/top && ln -s /etc /v/link",
    );
    let out = run_sh(
        &s,
        &r,
        &["--mount", "type=volume,src=h11subvol,dst=/sub,subpath=a/b"],
        "ls /sub; cat /sub/f",
    );
    assert_eq!(out, "f\ninner\n");
    // The same with -v, and a file as the subpath; the handle mounts made
    // for the start are gone once the container runs.
    let out = run_sh(
        &s,
        &r,
        &[
            "-v",
            "h11subvol:/sub:subpath=a/b,ro",
            "-v",
            "h11subvol:/t:subpath=top",
        ],
        "cat /sub/f /t; touch /sub/g 2>/dev/null || echo read-only",
    );
    assert_eq!(out, "inner\ntop\nread-only\n");
    let left = std::fs::read_dir(s.runroot().join("subpath"))
        .map(|d| {
            d.flatten()
                .flat_map(|c| std::fs::read_dir(c.path()).into_iter().flatten().flatten())
                .count()
        })
        .unwrap_or(0);
    assert_eq!(left, 0, "subpath mount points were left behind");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let runroot = s.runroot().join("subpath");
    assert!(!mounts.contains(runroot.to_str().unwrap()), "{mounts}");
    // A symlink on the way is resolved inside the volume: /etc of the
    // volume (missing), never the host's.
    let o = s.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "h11subvol:/s:subpath=link/passwd",
        &r,
        "true",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("No such file"), "{}", stderr(&o));
    refused(
        &s,
        &["create", "-v", "/tmp:/x:subpath=a", &r],
        "volumes only",
    );
    let cid = s.ok(&[
        "create",
        "--mount",
        "type=volume,src=h11subvol,dst=/sub,subpath=a",
        &r,
        "true",
    ]);
    let sp = s.ok(&[
        "inspect",
        "--format",
        "{{(index .Mounts 0).SubPath}}",
        cid.trim(),
    ]);
    assert_eq!(sp.trim(), "a");
    // A symlink as the subpath is refused: it could lead out of the volume.
    let o = s.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--mount",
        "type=volume,src=h11subvol,dst=/sub,subpath=link",
        &r,
        "true",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("is a symlink"), "{}", stderr(&o));
    refused(
        &s,
        &[
            "run",
            "--rm",
            "--mount",
            "type=volume,src=h11subvol,dst=/s,subpath=../x",
            &r,
            "true",
        ],
        "subpath",
    );
    refused(
        &s,
        &[
            "run",
            "--rm",
            "--mount",
            "type=bind,src=/tmp,dst=/s,subpath=x",
            &r,
            "true",
        ],
        "subpath",
    );
}

#[test]
fn containers_conf_mounts_apply_unless_overridden() {
    let (s, _reg, r) = fixture();
    let d = s.dir.path();
    std::fs::write(d.join("one"), "from-conf\n").unwrap();
    std::fs::write(d.join("two"), "from-flag\n").unwrap();
    let conf = d.join("containers.conf");
    std::fs::write(
        &conf,
        format!(
            "[containers]\nmounts=[ \"type=bind,src={},destination=/confmount,ro\", ]\n",
            d.join("one").display()
        ),
    )
    .unwrap();
    let bad = d.join("bad.conf");
    std::fs::write(
        &bad,
        "[containers]\nmounts=[ \"type=nosuchfs,src=/tmp,destination=/x,ro\", ]\n",
    )
    .unwrap();
    let run = |conf: &std::path::Path, extra: &[&str]| {
        let mut c = s.cmd();
        c.env("CONTAINERS_CONF_OVERRIDE", conf)
            .args(["run", "--rm", "--network", "none"])
            .args(extra)
            .args([r.as_str(), "cat", "/confmount"]);
        c.output().unwrap()
    };
    let o = run(&conf, &[]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "from-conf\n",
        "{}",
        stderr(&o)
    );
    // The user's own mount at that place wins.
    let two = format!(
        "type=bind,src={},destination=/confmount,ro",
        d.join("two").display()
    );
    let o = run(&conf, &["--mount", &two]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "from-flag\n",
        "{}",
        stderr(&o)
    );
    let o = run(&bad, &[]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        "Error: parsing containers.conf mounts: invalid filesystem type \"nosuchfs\""
    );
    // Without the file, nothing is mounted there.
    let o = s.run(&["run", "--rm", "--network", "none", &r, "cat", "/confmount"]);
    assert_eq!(o.status.code(), Some(1));
}
