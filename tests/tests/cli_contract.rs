//! Podman's command-line contract, as Podman's own system tests check it
//! (test/system/001-basic, 005-info, 015-help, 300-cli-parsing): help in
//! cobra's layout for every command, usage errors with Podman's texts and
//! exit 125, the root's global flags, `version`/`info` shapes, completion.

use std::process::{Command, Output};

use e2e::binaries::bin;
use e2e::podman::{stderr, stdout, TestStore};

fn bare() -> Command {
    let mut c = Command::new(bin("podman"));
    c.env_remove("CONTAINER_HOST")
        .env_remove("CONTAINER_CONNECTION")
        .stdin(std::process::Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    bare().args(args).output().expect("run podman")
}

fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// The commands `podman help [GROUP]` lists (as 015-help's awk does).
fn commands(group: &[&str]) -> Vec<String> {
    let mut args = vec!["help"];
    args.extend_from_slice(group);
    let o = run(&args);
    assert!(o.status.success(), "{}", both(&o));
    let out = stdout(&o);
    let mut ok = false;
    let mut v = Vec::new();
    for l in out.lines() {
        if l.starts_with("Available Commands:") {
            ok = true;
            continue;
        }
        if l.starts_with("Options:") {
            ok = false;
        }
        if ok {
            if let Some(w) = l.split_whitespace().next() {
                v.push(w.to_string());
            }
        }
    }
    assert!(!v.is_empty(), "no commands in {out}");
    v
}

/// 015-help's check_help, for every command and group we have.
fn check_help(group: &[&str], counts: &mut [usize; 3]) {
    for cmd in commands(group) {
        let mut path: Vec<&str> = group.to_vec();
        path.push(&cmd);
        let cs = format!("podman {}", path.join(" "));
        let mut a = path.clone();
        a.push("--help");
        let o = run(&a);
        assert!(o.status.success(), "{cs} --help: {}", both(&o));
        let full = stdout(&o);
        let mut lines = full.lines();
        lines
            .find(|l| *l == "Usage:")
            .unwrap_or_else(|| panic!("{cs}: no Usage: {full}"));
        let usage_line = lines.next().unwrap();
        let rest = usage_line
            .strip_prefix(&format!("  {cs}"))
            .unwrap_or_else(|| panic!("{cs}: usage {usage_line:?}"))
            .trim_start();
        if rest.starts_with("[command]") {
            if cmd != "help" {
                check_help(&path, counts);
            }
            continue;
        }
        assert!(!rest.contains("[OPTION"), "{cs}: {rest}");
        let has_options = rest.starts_with("[options]");
        let args = rest.trim_start_matches("[options]").trim();
        assert!(
            !args.chars().any(|c| c.is_ascii_lowercase()),
            "{cs}: {args}"
        );
        assert_eq!(has_options, full.contains("Options:"), "{cs}");
        if args.is_empty() && cmd != "help" {
            let mut a = path.clone();
            a.push("invalid-arg");
            let o = run(&a);
            assert_eq!(o.status.code(), Some(125), "{cs} invalid-arg");
            let e = stderr(&o);
            assert!(
                e.starts_with("Error: ") && e.contains("takes no arguments"),
                "{cs}: {e}"
            );
            counts[0] += 1;
        }
        if full.contains("-l, --latest")
            && !["exec", "port", "ps", "top", "list", "ls"].contains(&cmd.as_str())
        {
            let mut a = path.clone();
            a.extend(["-l", "nonexistent-container"]);
            let o = run(&a);
            assert_eq!(o.status.code(), Some(125), "{cs} -l x");
            assert!(
                stderr(&o).contains("--latest and containers cannot be used together"),
                "{cs}: {}",
                stderr(&o)
            );
            let mut a = path.clone();
            a.extend(["--all", "--latest"]);
            let o = run(&a);
            assert_eq!(o.status.code(), Some(125), "{cs} --all --latest");
            let e = stderr(&o);
            assert!(
                e.contains("--all and --latest cannot be used together")
                    || e.contains("unknown flag"),
                "{cs}: {e}"
            );
        }
        // `pod stats` without pods shows every pod's, as Podman's does.
        if args.starts_with(|c: char| c.is_ascii_uppercase()) && cs != "podman pod stats" {
            let o = run(&path);
            assert_eq!(
                o.status.code(),
                Some(125),
                "{cs} without args: {}",
                both(&o)
            );
            let e = stderr(&o);
            assert!(
                e.starts_with("Error:")
                    && ["require", "specif", "must", "provide", "need", "choose", "accepts"]
                        .iter()
                        .any(|w| e.contains(w)),
                "{cs}: {e}"
            );
            counts[1] += 1;
        }
        if !args.contains("...") {
            let n = args.split_whitespace().count();
            let mut a = path.clone();
            let extra: Vec<String> = (0..=n).map(|i| format!("x{i}")).collect();
            a.extend(extra.iter().map(String::as_str));
            let o = run(&a);
            assert_eq!(
                o.status.code(),
                Some(125),
                "{cs} with {} args: {}",
                n + 1,
                both(&o)
            );
            let e = stderr(&o);
            assert!(
                e.contains("takes no arguments")
                    || e.contains(&format!("accepts {n} arg(s), received"))
                    || e.contains("accepts at most")
                    || e.contains("accepts between"),
                "{cs}: {e}"
            );
            counts[2] += 1;
        }
    }
    // A group without its command: usage, then Podman's error.
    let o = run(group);
    assert_eq!(o.status.code(), Some(125));
    assert!(stdout(&o).contains("Usage:"));
    let want = format!(
        "Error: missing command '{} COMMAND'\n",
        std::iter::once("podman")
            .chain(group.iter().copied())
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert_eq!(stderr(&o), want);
    let mut a = group.to_vec();
    a.push("NoSuchCommand");
    let o = run(&a);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).starts_with("Error: unrecognized command `podman"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("NoSuchCommand`\nTry '"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_command_has_cobra_help_and_usage_errors() {
    let mut counts = [0; 3];
    check_help(&[], &mut counts);
    assert!(counts.iter().all(|c| *c > 0), "{counts:?}");
    for h in [&["help"][..], &["--help"], &["-h"]] {
        let o = run(h);
        assert!(o.status.success());
        assert_eq!(
            stdout(&o).lines().next(),
            Some("Manage pods, containers and images")
        );
        assert!(stdout(&o).contains(" --remote "));
    }
    let o = bare()
        .env("CONTAINER_HOST", "foobar")
        .arg("--help")
        .output()
        .unwrap();
    assert!(!stdout(&o).contains(" --remote "));
    let o = run(&["--url", "foobar", "--help"]);
    assert!(!stdout(&o).contains(" --remote "));
}

#[test]
fn flag_errors_read_as_podmans() {
    let o = run(&["run", "-h"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o),
        "Error: flag needs an argument: 'h' in -h\nSee 'podman run --help'\n"
    );
    let o = run(&["bad", "--invalid"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o),
        "Error: unknown flag: --invalid\nSee 'podman --help'\n"
    );
    let o = run(&["version", "--remote"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o),
        "Error: unknown flag: --remote\nSee 'podman version --help'\n"
    );
    let o = run(&["foo"]);
    assert_eq!(
        stderr(&o),
        "Error: unrecognized command `podman foo`\nTry 'podman --help' for more information\n"
    );
    // --remote alone still prints usage; with a command and no service
    // there, Podman's one line.
    let o = run(&["--remote"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stdout(&o).contains("Usage:"));
    let o = run(&["--remote", "--help"]);
    assert!(o.status.success() && stdout(&o).contains("Usage:"));
    let o = bare()
        .env("CONTAINER_HOST", "unix:///nonexistent/podman.sock")
        .args(["--remote", "ps"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o)
            .starts_with("Error: unable to connect to Podman socket: Cannot connect to Podman.")
            && stderr(&o)
                .contains("dial unix /nonexistent/podman.sock: connect: no such file or directory"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1);
    for refused in [
        &["--imagestore", "/x", "ps"][..],
        &["--conmon", "/usr/bin/conmon", "ps"],
        &["--hooks-dir", "/x", "ps"],
        &["--network-cmd-path", "/x", "ps"],
        &["--transient-store", "ps"],
        &["--syslog", "ps"],
        &["--db-backend", "boltdb", "ps"],
    ] {
        let o = run(refused);
        assert_eq!(o.status.code(), Some(125), "{refused:?}");
        assert!(
            stderr(&o).starts_with(&format!("Error: {}", refused[0])),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn log_levels_noout_and_out() {
    let s = TestStore::new();
    let o = s.run(&["--log-level=telepathic", "version"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("Log Level \"telepathic\" is not supported"));
    let o = s.run(&["--debug", "--log-level=panic", "version"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "Setting --log-level and --debug is not allowed\n"
    );
    let o = s.run(&["--log-level=trace", "version"]);
    let e = stderr(&o);
    for l in [" level=trace ", " level=debug ", " level=info "] {
        assert!(e.contains(l), "{l}: {e}");
    }
    let o = s.run(&["--log-level=info", "version"]);
    let e = stderr(&o);
    assert!(
        e.contains(" level=info ") && !e.contains(" level=debug "),
        "{e}"
    );
    for quiet in ["warn", "warning", "error"] {
        let o = s.run(&[&format!("--log-level={quiet}"), "version"]);
        assert!(!stderr(&o).contains(" level="), "{quiet}: {}", stderr(&o));
    }
    for d in ["--debug", "-D"] {
        let o = s.run(&[d, "version"]);
        assert!(stderr(&o).contains(" level=debug "));
        assert!(stderr(&o).contains("Shutting down engines"));
    }
    let o = s.run(&["--noout", "version"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "");
    let out = s.dir.path().join("ver.json");
    let o = s.run(&["--out", out.to_str().unwrap(), "version", "-f", "json"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["Client"]["Version"], "5.4.0");
}

#[test]
fn version_and_info_have_podmans_fields() {
    let s = TestStore::new();
    let out = s.ok(&["version"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Client:       Podman Engine");
    assert_eq!(lines[1], "Version:      5.4.0");
    for f in [
        "API Version:  ",
        "Go Version:   ",
        "Built:        ",
        "Build Origin: podman-rs ",
        "OS/Arch:      ",
    ] {
        assert!(out.contains(f), "{f}: {out}");
    }
    assert_eq!(
        s.ok(&["version", "--format", "{{.Client.Version}}"]),
        "5.4.0\n"
    );
    let o = run(&["-v"]);
    assert_eq!(stdout(&o), "podman version 5.4.0\n");
    let v: serde_json::Value = serde_json::from_str(&s.ok(&["info", "--format", "json"])).unwrap();
    for p in [
        "/host/arch",
        "/host/cgroupManager",
        "/host/cgroupVersion",
        "/host/ociRuntime/path",
        "/store/graphDriverName",
        "/store/graphRoot",
        "/store/imageStore/number",
        "/store/runRoot",
        "/registries",
        "/plugins/volume",
        "/version/Version",
    ] {
        assert!(v.pointer(p).is_some(), "{p}");
    }
    // The helpers' packages as the package manager knows them: ours are
    // built from source, runc and pasta come from Debian's packages.
    assert_eq!(v["host"]["conmon"]["package"], "Unknown", "{v}");
    let dns = &v["host"]["networkBackendInfo"]["dns"];
    assert_eq!(dns["path"], v["host"]["networkBackendInfo"]["path"], "{v}");
    assert!(dns["version"]
        .as_str()
        .unwrap()
        .starts_with("net-setup version"));
    assert_eq!(v["host"]["rootlessNetworkCmd"], "pasta");
    if let Some(pasta) = common_which("pasta") {
        assert_eq!(v["host"]["pasta"]["executable"], pasta, "{v}");
        assert!(
            v["host"]["pasta"]["package"]
                .as_str()
                .unwrap()
                .starts_with("passt_"),
            "{v}"
        );
    }
    if v["host"]["ociRuntime"]["path"] == "/usr/sbin/runc" {
        assert!(v["host"]["ociRuntime"]["package"]
            .as_str()
            .unwrap()
            .starts_with("runc_"));
    }
    let y = s.ok(&["--storage-opt=", "info"]);
    assert!(y.contains("graphOptions: {}"), "{y}");
    // A driver option storage-helper would not honour is refused, not
    // reported as in effect.
    let o = s.run(&[
        "--storage-opt",
        "overlay.imagestore=/tmp/h-cli-store",
        "info",
    ]);
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("overlay.imagestore") && err.contains("no storage driver options"),
        "{err}"
    );
    let vol = s.dir.path().join("vols");
    let o = s.ok(&[
        "--volumepath",
        vol.to_str().unwrap(),
        "info",
        "--format",
        "{{ .Store.VolumePath }}",
    ]);
    assert_eq!(o.trim(), vol.to_str().unwrap());
}

#[test]
fn completion_scripts_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    for sh in ["bash", "zsh", "fish", "powershell"] {
        let o = run(&["completion", sh]);
        assert!(o.status.success(), "{sh}: {}", stderr(&o));
        assert!(stdout(&o).len() > 1000, "{sh}");
    }
    let f = dir.path().join("podman.bash");
    let o = run(&["completion", "-f", f.to_str().unwrap(), "bash"]);
    assert!(o.status.success() && stdout(&o).is_empty());
    let o = Command::new("bash").arg("-n").arg(&f).output().unwrap();
    assert!(o.status.success(), "bash -n: {}", stderr(&o));
    let with = stdout(&run(&["completion", "fish"]));
    let without = stdout(&run(&["completion", "--no-desc", "fish"]));
    assert!(with.contains("List containers") && !without.contains("List containers"));
    let o = run(&["completion", "tcsh"]);
    assert_eq!(o.status.code(), Some(125));
}

#[test]
fn a_flag_given_twice_takes_its_last_value() {
    // pflag's rule, which scripts rely on (upstream 010-images passes
    // `--format` twice): the last value wins, list flags collect.
    let o = run(&[
        "version",
        "--format",
        "{{.Nope}}",
        "--format",
        "{{.Client.Version}}",
    ]);
    assert!(o.status.success(), "{}", both(&o));
    assert_eq!(stdout(&o), "5.4.0\n");
    let s = TestStore::new();
    let o = s.run(&["ps", "-a", "--format", "{{.Nope}}", "--format", "{{.ID}}"]);
    assert!(o.status.success(), "{}", both(&o));
    // A list flag given twice keeps both values: the bad filter is found.
    let o = s.run(&["ps", "-a", "--filter", "name=x", "--filter", "bogus=1"]);
    assert_eq!(o.status.code(), Some(125), "{}", both(&o));
    assert!(stderr(&o).contains("bogus"), "{}", both(&o));
}

#[test]
fn switches_take_pflag_bool_forms() {
    // Scripts write Podman's switches every way pflag allows: `--rm=false`,
    // `-t=false`, clustered `-it`, `--read-only=true`.
    let (s, _registry, image) = e2e::podman::with_busybox();
    let o = s.run(&[
        "run",
        "--rm=true",
        "-t=false",
        "-i=false",
        "--read-only=true",
        &image,
        "sh",
        "-c",
        "test -t 1 && echo tty; touch /x 2>/dev/null || echo ro",
    ]);
    assert!(o.status.success(), "{}", both(&o));
    assert_eq!(stdout(&o), "ro\n");
    // `--rm=false` keeps the container.
    let o = s.run(&["run", "--rm=false", "--name", "kept", &image, "true"]);
    assert!(o.status.success(), "{}", both(&o));
    assert_eq!(
        s.ok(&["ps", "-a", "--no-trunc=false", "--format", "{{.Names}}"]),
        "kept\n"
    );
    let o = s.run(&["run", "--rm=maybe", &image, "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", both(&o));
    assert!(
        stderr(&o).contains(r#"invalid argument "maybe" for "--rm" flag: strconv.ParseBool"#),
        "{}",
        both(&o)
    );
}

#[test]
fn a_flag_value_may_start_with_a_dash() {
    // pflag takes the next word as the value (upstream 030 formats
    // `--{{.Image}}-{{.Names}}--`).
    let s = TestStore::new();
    let o = s.run(&["ps", "-a", "--format", "--{{.Names}}--"]);
    assert!(o.status.success(), "{}", both(&o));
    let o = s.run(&["ps", "--format"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("flag needs an argument: --format"),
        "{}",
        both(&o)
    );
}

/// The executable `name` on `$PATH`, as info looks for it.
fn common_which(name: &str) -> Option<String> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}
