//! Which healthcheck a new container gets: the `--health-*` flags, else
//! the image's HEALTHCHECK (libpod's applyHealthCheckOverrides, zero
//! durations taking Podman's defaults), none with `--no-healthcheck` or
//! `--health-cmd none`; and where its results are kept
//! (`--health-log-destination`, `--health-max-log-count`,
//! `--health-max-log-size`).

use std::path::Path;

use super::health::{
    on_failure_action, parse_startup, HealthFlagError, HealthFlags, StartupFlags,
    DEFAULT_INTERVAL_NS, DEFAULT_RETRIES, DEFAULT_TIMEOUT_NS,
};
use crate::container::model::{Healthcheck, StartupHealthcheck};

/// Podman's defaults for the results kept (containers.conf
/// `healthcheck_max_log_count`, `healthcheck_max_log_size`).
pub const DEFAULT_MAX_LOG_COUNT: u32 = 5;
pub const DEFAULT_MAX_LOG_SIZE: u32 = 500;
pub const LOCAL: &str = "local";
pub const EVENTS_LOGGER: &str = "events_logger";

#[derive(Debug, thiserror::Error)]
pub enum HealthConfigError {
    #[error(transparent)]
    Flag(#[from] HealthFlagError),
    #[error("cannot set on-failure action to {0} without a health check")]
    OnFailureWithoutCheck(String),
    #[error("invalid argument {value:?} for \"--{flag}\" flag: strconv.ParseUint: parsing {value:?}: invalid syntax")]
    Count { flag: &'static str, value: String },
    #[error("healthcheck command is not set: give --health-cmd")]
    NoCommand,
    #[error("HealthCheck Log '{0}' destination error: give \"local\", \"events_logger\" or an existing absolute directory")]
    Destination(String),
    #[error("cannot set a startup healthcheck when there is no regular healthcheck: give --health-cmd too")]
    StartupWithoutCheck,
    #[error("startup healthcheck command is not set: give --health-startup-cmd")]
    NoStartupCommand,
}

/// The image config's `Healthcheck` (Docker's schema2 HealthConfig).
fn from_image(image: &serde_json::Value) -> Option<Healthcheck> {
    let h = image.get("Healthcheck")?;
    let test: Vec<String> = h
        .get("Test")?
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    if test.is_empty() || test[0].eq_ignore_ascii_case("NONE") {
        return None;
    }
    let ns = |k: &str| h.get(k).and_then(serde_json::Value::as_i64).unwrap_or(0);
    let or = |v: i64, d: i64| if v == 0 { d } else { v.max(0) };
    Some(Healthcheck {
        test,
        interval_ns: or(ns("Interval"), DEFAULT_INTERVAL_NS),
        timeout_ns: or(ns("Timeout"), DEFAULT_TIMEOUT_NS),
        start_period_ns: ns("StartPeriod").max(0),
        retries: match h.get("Retries").and_then(serde_json::Value::as_u64) {
            Some(n) if n > 0 => u32::try_from(n).unwrap_or(u32::MAX),
            _ => DEFAULT_RETRIES,
        },
        on_failure: "none".into(),
        ..Default::default()
    })
}

fn count(flag: &'static str, v: Option<&str>) -> Result<Option<u32>, HealthConfigError> {
    v.map(|v| {
        v.parse::<u32>().map_err(|_| HealthConfigError::Count {
            flag,
            value: v.into(),
        })
    })
    .transpose()
}

/// The destination as libpod validates it: "local", "events_logger" or
/// an absolute path to an existing directory.
fn destination(v: Option<&str>) -> Result<String, HealthConfigError> {
    match v {
        None | Some(LOCAL) => Ok(String::new()),
        Some(EVENTS_LOGGER) => Ok(EVENTS_LOGGER.into()),
        Some(dir) if Path::new(dir).is_absolute() && Path::new(dir).is_dir() => Ok(dir.into()),
        Some(other) => Err(HealthConfigError::Destination(other.into())),
    }
}

/// The container's healthcheck: `from_flags` (health::parse of `f`), else
/// the image's, with the on-failure action and log settings of `f`.
pub fn settle(
    f: &HealthFlags,
    from_flags: Option<Healthcheck>,
    image_config: &serde_json::Value,
) -> Result<Option<Healthcheck>, HealthConfigError> {
    let max_log_count = count("health-max-log-count", f.max_log_count.as_deref())?;
    let max_log_size = count("health-max-log-size", f.max_log_size.as_deref())?;
    let log_destination = destination(f.log_destination.as_deref())?;
    if f.none {
        if f.startup.cmd.is_some() {
            return Err(HealthFlagError::StartupConflict.into());
        }
        return Ok(None);
    }
    let startup = parse_startup(&f.startup)?;
    let action = on_failure_action(f.on_failure.as_deref())?;
    let Some(mut hc) = from_flags.or_else(|| from_image(image_config)) else {
        if action != "none" {
            return Err(HealthConfigError::OnFailureWithoutCheck(action.into()));
        }
        if startup.is_some() {
            return Err(HealthConfigError::StartupWithoutCheck);
        }
        return Ok(None);
    };
    hc.startup = startup;
    hc.on_failure = action.into();
    hc.max_log_count = max_log_count;
    hc.max_log_size = max_log_size;
    hc.log_destination = log_destination;
    Ok(Some(hc))
}

/// `podman update --health-*` (libpod's GetNewHealthCheckConfig): the
/// flags given over the recorded check. None: no health flag was given;
/// `--no-healthcheck` records Podman's `["NONE"]` test.
pub fn updated(
    old: Option<&Healthcheck>,
    f: &HealthFlags,
) -> Result<Option<Healthcheck>, HealthConfigError> {
    let old = old.filter(|o| o.is_active());
    let changed = f.cmd.is_some()
        || f.interval.is_some()
        || f.retries.is_some()
        || f.start_period.is_some()
        || f.timeout.is_some()
        || f.on_failure.is_some()
        || f.max_log_count.is_some()
        || f.max_log_size.is_some()
        || f.log_destination.is_some();
    let startup_changed = f.startup.cmd.is_some() || f.startup.tuning();
    if f.none {
        if changed || startup_changed {
            return Err(HealthFlagError::Conflict.into());
        }
        // Podman records the removal as the NONE test.
        return Ok(Some(Healthcheck {
            test: vec!["NONE".into()],
            ..Default::default()
        }));
    }
    if !changed && !startup_changed {
        return Ok(None);
    }
    let ns = |v: i64| format!("{v}ns");
    let interval = |v: i64| if v == 0 { "disable".into() } else { ns(v) };
    let check_tuning = f.interval.is_some()
        || f.retries.is_some()
        || f.start_period.is_some()
        || f.timeout.is_some();
    if old.is_none() && f.cmd.is_none() && check_tuning {
        return Err(HealthConfigError::NoCommand);
    }
    let old_startup = old.and_then(|o| o.startup.as_ref());
    if old_startup.is_none() && f.startup.cmd.is_none() && f.startup.tuning() {
        return Err(HealthConfigError::NoStartupCommand);
    }
    let merged = HealthFlags {
        cmd: match (&f.cmd, old) {
            (Some(c), _) => Some(c.clone()),
            (None, Some(o)) => Some(serde_json::to_string(&o.test).unwrap_or_default()),
            (None, None) => return Err(HealthConfigError::NoCommand),
        },
        interval: f
            .interval
            .clone()
            .or_else(|| old.map(|o| interval(o.interval_ns))),
        retries: f
            .retries
            .clone()
            .or_else(|| old.map(|o| o.retries.to_string())),
        start_period: f
            .start_period
            .clone()
            .or_else(|| old.map(|o| ns(o.start_period_ns))),
        timeout: f.timeout.clone().or_else(|| old.map(|o| ns(o.timeout_ns))),
        on_failure: f
            .on_failure
            .clone()
            .or_else(|| old.map(|o| o.on_failure.clone())),
        ..Default::default()
    };
    let mut hc = super::health::parse(&merged)?.ok_or(HealthConfigError::NoCommand)?;
    hc.max_log_count = match f.max_log_count.as_deref() {
        Some(v) => count("health-max-log-count", Some(v))?,
        None => old.and_then(|o| o.max_log_count),
    };
    hc.max_log_size = match f.max_log_size.as_deref() {
        Some(v) => count("health-max-log-size", Some(v))?,
        None => old.and_then(|o| o.max_log_size),
    };
    hc.log_destination = match f.log_destination.as_deref() {
        Some(v) => destination(Some(v))?,
        None => old.map(|o| o.log_destination.clone()).unwrap_or_default(),
    };
    hc.startup = if startup_changed {
        let s = &f.startup;
        let o: Option<&StartupHealthcheck> = old_startup;
        parse_startup(&StartupFlags {
            cmd: s
                .cmd
                .clone()
                .or_else(|| o.map(|o| serde_json::to_string(&o.test).unwrap_or_default())),
            interval: s
                .interval
                .clone()
                .or_else(|| o.map(|o| interval(o.interval_ns))),
            retries: s
                .retries
                .clone()
                .or_else(|| o.map(|o| o.retries.to_string())),
            success: s
                .success
                .clone()
                .or_else(|| o.map(|o| o.successes.to_string())),
            timeout: s.timeout.clone().or_else(|| o.map(|o| ns(o.timeout_ns))),
        })?
    } else {
        old_startup.cloned()
    };
    Ok(Some(hc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(v: serde_json::Value) -> serde_json::Value {
        serde_json::json!({ "Healthcheck": v })
    }

    #[test]
    fn the_image_healthcheck_applies_unless_flags_say_otherwise() {
        let img = image(serde_json::json!({
            "Test": ["CMD-SHELL", "test -e /ok"], "Interval": 2_000_000_000i64, "Retries": 0
        }));
        let hc = settle(&HealthFlags::default(), None, &img)
            .unwrap()
            .unwrap();
        assert_eq!(hc.test, ["CMD-SHELL", "test -e /ok"]);
        assert_eq!(hc.interval_ns, 2_000_000_000);
        assert_eq!(hc.timeout_ns, DEFAULT_TIMEOUT_NS);
        assert_eq!(hc.retries, DEFAULT_RETRIES);
        let none = HealthFlags {
            none: true,
            ..Default::default()
        };
        assert_eq!(settle(&none, None, &img).unwrap(), None);
        let disabled = image(serde_json::json!({ "Test": ["NONE"] }));
        assert_eq!(
            settle(&HealthFlags::default(), None, &disabled).unwrap(),
            None
        );
    }

    #[test]
    fn updates_merge_over_the_recorded_check() {
        let old = parse_flags("true", Some("5s"));
        let f = HealthFlags {
            retries: Some("7".into()),
            max_log_count: Some("9".into()),
            ..Default::default()
        };
        let hc = updated(Some(&old), &f).unwrap().unwrap();
        assert_eq!(
            (hc.test.clone(), hc.interval_ns, hc.retries),
            (old.test.clone(), 5_000_000_000, 7)
        );
        assert_eq!(hc.max_log_count, Some(9));
        assert_eq!(updated(Some(&old), &HealthFlags::default()).unwrap(), None);
        let none = HealthFlags {
            none: true,
            ..Default::default()
        };
        let removed = updated(Some(&old), &none).unwrap().unwrap();
        assert_eq!(removed.test, ["NONE"]);
        assert!(!removed.is_active());
        assert!(matches!(
            updated(None, &f),
            Err(HealthConfigError::NoCommand)
        ));
        let disabled = parse_flags("true", Some("disable"));
        let hc = updated(Some(&disabled), &f).unwrap().unwrap();
        assert_eq!(hc.interval_ns, 0);
    }

    fn parse_flags(cmd: &str, interval: Option<&str>) -> Healthcheck {
        super::super::health::parse(&HealthFlags {
            cmd: Some(cmd.into()),
            interval: interval.map(String::from),
            ..Default::default()
        })
        .unwrap()
        .unwrap()
    }

    #[test]
    fn on_failure_needs_a_check_and_counts_must_be_numbers() {
        let kill = HealthFlags {
            on_failure: Some("kill".into()),
            ..Default::default()
        };
        assert_eq!(
            settle(&kill, None, &serde_json::Value::Null)
                .unwrap_err()
                .to_string(),
            "cannot set on-failure action to kill without a health check"
        );
        let bad = HealthFlags {
            max_log_count: Some("x".into()),
            ..Default::default()
        };
        assert!(matches!(
            settle(&bad, None, &serde_json::Value::Null),
            Err(HealthConfigError::Count { .. })
        ));
        let dest = HealthFlags {
            log_destination: Some("relative/dir".into()),
            ..Default::default()
        };
        assert!(matches!(
            settle(&dest, None, &serde_json::Value::Null),
            Err(HealthConfigError::Destination(_))
        ));
    }
}
