//! The `--health-*` and `--health-startup-*` flags as Podman parses them:
//! durations, retries, the check command's forms and the on-failure
//! actions. What the flags become for a container is in
//! [`super::health_config`]; running the checks is [`super::health`].

use crate::container::model::{Healthcheck, StartupHealthcheck};

/// Podman's defaults (libpod/define).
pub const DEFAULT_INTERVAL_NS: i64 = 30_000_000_000;
pub const DEFAULT_TIMEOUT_NS: i64 = 30_000_000_000;
pub const DEFAULT_RETRIES: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum HealthFlagError {
    #[error("invalid healthcheck-{flag} {value:?}: {reason}")]
    Duration {
        flag: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("healthcheck-retries must be greater than 0")]
    Retries,
    #[error("invalid argument {0:?} for \"--health-retries\" flag: strconv.ParseUint: parsing {0:?}: invalid syntax")]
    RetriesSyntax(String),
    #[error("invalid on-failure action {0:?}: use none, kill, restart or stop")]
    OnFailure(String),
    #[error("cannot specify both --no-healthcheck and other HealthCheck flags")]
    Conflict,
    #[error("cannot specify both --no-healthcheck and --health-startup-cmd")]
    StartupConflict,
    #[error("invalid argument {value:?} for \"--{flag}\" flag: strconv.ParseUint: parsing {value:?}: invalid syntax")]
    Count { flag: &'static str, value: String },
}

/// The `--health-*` flags as given.
#[derive(Debug, Clone, Default)]
pub struct HealthFlags {
    pub cmd: Option<String>,
    pub interval: Option<String>,
    pub retries: Option<String>,
    pub start_period: Option<String>,
    pub timeout: Option<String>,
    pub on_failure: Option<String>,
    pub none: bool,
    pub max_log_count: Option<String>,
    pub max_log_size: Option<String>,
    pub log_destination: Option<String>,
    pub startup: StartupFlags,
}

/// The `--health-startup-*` flags as given.
#[derive(Debug, Clone, Default)]
pub struct StartupFlags {
    pub cmd: Option<String>,
    pub interval: Option<String>,
    pub retries: Option<String>,
    pub success: Option<String>,
    pub timeout: Option<String>,
}

impl StartupFlags {
    /// A flag other than the command was given.
    pub fn tuning(&self) -> bool {
        self.interval.is_some()
            || self.retries.is_some()
            || self.success.is_some()
            || self.timeout.is_some()
    }
}

fn duration(flag: &'static str, v: &str, min_ns: i64) -> Result<i64, HealthFlagError> {
    let ns = common::time::parse_go_duration(v).ok_or_else(|| HealthFlagError::Duration {
        flag,
        value: v.into(),
        reason: "give a duration such as 30s",
    })?;
    if ns < min_ns {
        return Err(HealthFlagError::Duration {
            flag,
            value: v.into(),
            reason: if min_ns > 0 {
                "must be at least 1 second"
            } else {
                "must be 0 seconds or greater"
            },
        });
    }
    Ok(ns)
}

/// Podman's makeHealthCheckFromCli: a command in JSON array form is CMD,
/// anything else CMD-SHELL; `--health-interval disable` leaves only manual
/// runs.
pub fn parse(f: &HealthFlags) -> Result<Option<Healthcheck>, HealthFlagError> {
    let others = f.cmd.is_some()
        || f.interval.is_some()
        || f.retries.is_some()
        || f.start_period.is_some()
        || f.timeout.is_some()
        || f.on_failure.is_some();
    if f.none {
        if others {
            return Err(HealthFlagError::Conflict);
        }
        return Ok(None);
    }
    let Some(cmd) = f.cmd.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let test = test_of(cmd);
    let interval_ns = match f.interval.as_deref() {
        None => DEFAULT_INTERVAL_NS,
        Some("disable") => 0,
        Some(v) => duration("interval", v, 1_000_000_000)?,
    };
    let timeout_ns = match f.timeout.as_deref() {
        None => DEFAULT_TIMEOUT_NS,
        Some(v) => duration("timeout", v, 1_000_000_000)?,
    };
    let start_period_ns = match f.start_period.as_deref() {
        None => 0,
        Some(v) => duration("start-period", v, 0)?,
    };
    let retries = match f.retries.as_deref() {
        Some(v) => match v.parse::<u32>() {
            Ok(0) => return Err(HealthFlagError::Retries),
            Ok(n) => n,
            Err(_) => return Err(HealthFlagError::RetriesSyntax(v.into())),
        },
        None => DEFAULT_RETRIES,
    };
    let on_failure = on_failure_action(f.on_failure.as_deref())?;
    Ok(Some(Healthcheck {
        test,
        interval_ns,
        timeout_ns,
        start_period_ns,
        retries,
        on_failure: on_failure.into(),
        ..Default::default()
    }))
}

/// A command as the check's Test: a JSON array is CMD, anything else
/// CMD-SHELL.
fn test_of(cmd: &str) -> Vec<String> {
    match serde_json::from_str::<Vec<String>>(cmd) {
        Ok(v) if !v.is_empty() => match v[0].as_str() {
            "CMD" | "CMD-SHELL" | "NONE" => v,
            _ => std::iter::once("CMD".to_string()).chain(v).collect(),
        },
        _ => vec!["CMD-SHELL".to_string(), cmd.to_string()],
    }
}

fn count(flag: &'static str, v: Option<&str>) -> Result<u32, HealthFlagError> {
    v.map_or(Ok(0), |v| {
        v.parse::<u32>().map_err(|_| HealthFlagError::Count {
            flag,
            value: v.into(),
        })
    })
}

/// The startup check of `--health-startup-cmd` (libpod: interval and
/// timeout 30s, retries 0 = never restart, successes 0 = the first);
/// None without a command.
pub fn parse_startup(f: &StartupFlags) -> Result<Option<StartupHealthcheck>, HealthFlagError> {
    let Some(cmd) = f.cmd.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    Ok(Some(StartupHealthcheck {
        test: test_of(cmd),
        interval_ns: match f.interval.as_deref() {
            None => DEFAULT_INTERVAL_NS,
            Some("disable") => 0,
            Some(v) => duration("startup-interval", v, 1_000_000_000)?,
        },
        timeout_ns: match f.timeout.as_deref() {
            None => DEFAULT_TIMEOUT_NS,
            Some(v) => duration("startup-timeout", v, 1_000_000_000)?,
        },
        retries: count("health-startup-retries", f.retries.as_deref())?,
        successes: count("health-startup-success", f.success.as_deref())?,
    }))
}

/// `--health-on-failure` as libpod names the actions.
pub fn on_failure_action(v: Option<&str>) -> Result<&'static str, HealthFlagError> {
    Ok(match v {
        None | Some("none") => "none",
        Some("kill") => "kill",
        Some("restart") => "restart",
        Some("stop") => "stop",
        Some(other) => return Err(HealthFlagError::OnFailure(other.into())),
    })
}
