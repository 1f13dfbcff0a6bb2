//! Log drivers as libpod has them: json-file (k8s-file's writer under its
//! own name), none, journald where no journal runs, `--log-opt` parsing,
//! containers.conf's log_driver and log_size_max, inspect's
//! `HostConfig.LogConfig`, and max-size starting the log over (run as root).

use e2e::podman::{refused, stderr, with_busybox, TestStore};

fn log_config(s: &TestStore, name: &str) -> serde_json::Value {
    let out = s.ok(&[
        "inspect",
        name,
        "--format",
        "{{json .HostConfig.LogConfig}}",
    ]);
    serde_json::from_str(&out).unwrap()
}

fn journal_runs() -> bool {
    std::fs::read_to_string("/proc/1/comm").is_ok_and(|c| c.trim_end() == "systemd")
        && ["/run/log/journal", "/var/log/journal"]
            .iter()
            .any(|d| std::fs::read_dir(d).is_ok_and(|mut rd| rd.next().is_some()))
}

#[test]
fn json_file_none_and_journald_as_libpod() {
    let (s, _reg, r) = with_busybox();
    // json-file: written and read as k8s-file, shown under its own name.
    s.ok(&[
        "run",
        "--name",
        "j",
        "--network",
        "none",
        "--log-driver",
        "json-file",
        &r,
        "echo",
        "hello",
    ]);
    assert_eq!(s.ok(&["logs", "j"]), "hello\n");
    let lc = log_config(&s, "j");
    assert_eq!(lc["Type"], "json-file");
    assert_eq!(lc["Config"], serde_json::Value::Null);
    assert_eq!(lc["Tag"], "");
    assert_eq!(lc["Size"], "-1B");
    let path = lc["Path"].as_str().unwrap().to_string();
    assert!(path.ends_with("ctr.log"), "{path}");
    let raw = std::fs::read_to_string(&path).unwrap();
    assert!(raw.contains(" stdout F hello"), "k8s-file's format: {raw}");

    // none: nothing written, nothing to read, no path.
    s.ok(&[
        "run",
        "--name",
        "n",
        "--network",
        "none",
        "--log-driver",
        "none",
        &r,
        "echo",
        "gone",
    ]);
    refused(
        &s,
        &["logs", "n"],
        "this container is using the 'none' log driver, cannot read logs: this container is not logging output",
    );
    assert_eq!(log_config(&s, "n")["Path"], "");
    // --log-opt driver= wins over --log-driver, as in libpod.
    s.ok(&[
        "create",
        "--name",
        "od",
        "--log-driver",
        "k8s-file",
        "--log-opt",
        "driver=none",
        &r,
        "true",
    ]);
    assert_eq!(log_config(&s, "od")["Type"], "none");

    if !journal_runs() {
        refused(
            &s,
            &["create", "--log-driver", "journald", &r, "true"],
            "needs a running journal",
        );
    }
    refused(
        &s,
        &["create", "--log-driver", "syslog", &r, "true"],
        "invalid log driver \"syslog\"",
    );
    assert_eq!(
        s.ok(&["ps", "-a", "--format", "{{.Names}}"])
            .lines()
            .count(),
        3
    );
}

#[test]
fn log_options_and_containers_conf_as_libpod() {
    let (s, _reg, r) = with_busybox();
    s.ok(&[
        "create",
        "--name",
        "m",
        "--log-opt",
        "max-size=8000",
        &r,
        "true",
    ]);
    assert_eq!(log_config(&s, "m")["Size"], "8kB");
    s.ok(&[
        "create",
        "--name",
        "m2",
        "--log-opt",
        "max-size=3.051m",
        &r,
        "true",
    ]);
    assert_eq!(log_config(&s, "m2")["Size"], "3.051MB");
    refused(
        &s,
        &["create", "--log-opt", "nosuch", &r, "true"],
        "invalid log option \"nosuch\"",
    );
    refused(
        &s,
        &["create", "--log-opt", "tag=web", &r, "true"],
        "log tags can only be used with the journald log driver but driver is \"k8s-file\": invalid argument",
    );
    refused(
        &s,
        &["create", "--log-opt", "label=A=b", &r, "true"],
        "log labels can only be used with journald log driver",
    );

    // containers.conf: the default driver and size limit.
    let conf = s.dir.path().join("containers.conf");
    std::fs::write(
        &conf,
        "[containers]\nlog_driver = \"json-file\"\nlog_size_max = 400000000\n",
    )
    .unwrap();
    let with_conf = |args: &[&str]| {
        let o = s
            .cmd()
            .env("CONTAINERS_CONF", &conf)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    };
    with_conf(&["create", "--name", "c1", &r, "true"]);
    with_conf(&[
        "create",
        "--name",
        "c2",
        "--log-opt",
        "max-size=8000",
        &r,
        "true",
    ]);
    let c1 = log_config(&s, "c1");
    assert_eq!(
        (c1["Type"].as_str(), c1["Size"].as_str()),
        (Some("json-file"), Some("400MB"))
    );
    assert_eq!(log_config(&s, "c2")["Size"], "8kB");
}

#[test]
fn max_size_starts_the_log_over() {
    let (s, _reg, r) = with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("big.log");
    let lp = format!("path={}", log.display());
    s.ok(&[
        "run",
        "--name",
        "big",
        "--network",
        "none",
        "--log-opt",
        &lp,
        "--log-opt",
        "max-size=2k",
        &r,
        "sh",
        "-c",
        "i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done",
    ]);
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size <= 2000, "the log passed its limit: {size} bytes");
    let logs = s.ok(&["logs", "big"]);
    assert!(
        logs.ends_with("line-199-xxxxxxxxxxxxxxxxxxxxxxxx\n"),
        "{logs}"
    );
    assert!(!logs.contains("line-0-"), "the start was dropped: {logs}");
    let lc = log_config(&s, "big");
    assert_eq!(lc["Path"], log.display().to_string());
    assert_eq!(lc["Size"], "2kB");
}
