//! Log drivers as libpod has them: which ones write the log file, which
//! exist on this host, and inspect's `HostConfig.LogConfig`.
//!
//! `json-file` is libpod's alias: conmon has no json writer, so libpod
//! writes k8s-file's format to the same `ctr.log` and reads it back the
//! same way; only the name (inspect's `Type`) stays `json-file`.
//! `journald` needs a journal: containers-common makes it the default only
//! where systemd is PID 1 and a journal directory exists; where none runs
//! it is refused.

use serde_json::{json, Value};

use crate::container::model::ContainerConfig;

/// The drivers `--log-driver` takes.
pub const DRIVERS: &[&str] = &[
    "k8s-file",
    "json-file",
    "journald",
    "none",
    "passthrough",
    "passthrough-tty",
];

/// Whether `driver` writes the container's output to its log file.
pub fn writes_file(driver: &str) -> bool {
    matches!(driver, "k8s-file" | "json-file" | "")
}

/// containers-common's useJournald: systemd is PID 1 and a journal
/// directory (`/run/log/journal/*` or `/var/log/journal/*`) can be read.
pub fn journal_runs() -> bool {
    let systemd = std::fs::read_to_string("/proc/1/comm").is_ok_and(|c| c.trim_end() == "systemd");
    systemd
        && ["/run/log/journal", "/var/log/journal"].iter().any(|root| {
            std::fs::read_dir(root).is_ok_and(|rd| {
                rd.filter_map(|e| e.ok())
                    .any(|e| e.path().is_dir() && std::fs::read_dir(e.path()).is_ok())
            })
        })
}

/// A driver create accepts here, or the one line saying why not.
pub fn validate(driver: &str) -> anyhow::Result<()> {
    if !DRIVERS.contains(&driver) {
        anyhow::bail!(
            "invalid log driver {driver:?}: use one of {}: invalid argument",
            DRIVERS.join(", ")
        );
    }
    if driver == "journald" {
        if !journal_runs() {
            anyhow::bail!(
                "the journald log driver needs a running journal, and this host has none (systemd is not PID 1 or no journal directory): use --log-driver k8s-file"
            );
        }
        anyhow::bail!(
            "the journald log driver is not implemented yet in podman-rs: use --log-driver k8s-file"
        );
    }
    Ok(())
}

/// libpod's check at create: tags go only to the journal.
pub fn check_tag(driver: &str, tag: &str) -> anyhow::Result<()> {
    if !tag.is_empty() && driver != "journald" {
        anyhow::bail!(
            "log tags can only be used with the journald log driver but driver is {driver:?}: invalid argument"
        );
    }
    Ok(())
}

/// `HostConfig.LogConfig` as Podman 5 shows it: the path only for drivers
/// that write one, the size limit in `units.HumanSize` ("-1B" without one).
pub fn inspect(cfg: &ContainerConfig) -> Value {
    let path = if writes_file(&cfg.log_driver) {
        cfg.log_path.display().to_string()
    } else {
        String::new()
    };
    let size = match cfg.extra.log_size_max {
        0 => "-1B".to_string(),
        n => crate::format::human::size_compact(n),
    };
    json!({
        "Type": cfg.log_driver,
        "Config": null,
        "Path": path,
        "Tag": cfg.extra.log_tag,
        "Size": size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_and_tags_are_checked_as_libpod() {
        for d in ["k8s-file", "json-file", "none", "passthrough"] {
            validate(d).unwrap();
        }
        assert!(validate("syslog").is_err());
        if !journal_runs() {
            let e = validate("journald").unwrap_err().to_string();
            assert!(e.contains("journal"), "{e}");
        }
        assert!(check_tag("k8s-file", "t").is_err());
        check_tag("k8s-file", "").unwrap();
        assert!(writes_file("json-file") && !writes_file("none"));
    }

    #[test]
    fn inspect_sizes_read_as_podman() {
        let mut c = ContainerConfig {
            log_driver: "k8s-file".into(),
            log_path: "/x/ctr.log".into(),
            ..Default::default()
        };
        assert_eq!(inspect(&c)["Size"], "-1B");
        c.extra.log_size_max = 8000;
        assert_eq!(inspect(&c)["Size"], "8kB");
        c.extra.log_size_max = 3_051_000;
        assert_eq!(inspect(&c)["Size"], "3.051MB");
        c.log_driver = "none".into();
        assert_eq!(inspect(&c)["Path"], "");
        assert_eq!(inspect(&c)["Config"], Value::Null);
    }
}
