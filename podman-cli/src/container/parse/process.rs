//! How the container's process is limited, restarted and stopped:
//! `--ulimit`, `--restart`, `--stop-signal` (and `kill -s`).

use super::bad;
use super::FlagError;
use crate::container::model::{RestartPolicy, Rlimit};

/// A `--ulimit` that does not parse, in Podman's words.
#[derive(Debug, thiserror::Error)]
#[error("ulimit option {spec:?} requires name=SOFT:HARD, failed to be parsed: {reason}")]
pub struct UlimitError {
    pub spec: String,
    pub reason: String,
}

/// `--ulimit name=soft[:hard]`, clamped to this host's hard limits.
pub fn ulimit(spec: &str) -> Result<Rlimit, UlimitError> {
    let u = common::rlimits::Ulimit::parse(spec).map_err(|e| UlimitError {
        spec: spec.to_string(),
        reason: match e {
            common::ConfigError::Value { hint, .. } => hint,
            other => other.to_string(),
        },
    })?;
    let u = u.clamped();
    Ok(Rlimit {
        kind: u.oci_name(),
        soft: u.soft,
        hard: u.hard,
    })
}

/// `--restart no|never|always|on-failure[:N]|unless-stopped` ("never" is
/// Podman's other name for "no").
pub fn restart(spec: &str) -> Result<RestartPolicy, FlagError> {
    let (name, n) = spec.split_once(':').unwrap_or((spec, ""));
    let name = if n.is_empty() && name.eq_ignore_ascii_case("never") {
        "no"
    } else {
        name
    };
    match name {
        "" | "no" | "always" | "unless-stopped" if n.is_empty() => Ok(RestartPolicy {
            name: name.into(),
            max_retries: 0,
        }),
        "on-failure" => {
            let max_retries = if n.is_empty() {
                0
            } else {
                n.parse().map_err(|_| {
                    bad(
                        "--restart",
                        spec,
                        "on-failure takes a retry count, e.g. on-failure:3",
                    )
                })?
            };
            Ok(RestartPolicy {
                name: name.into(),
                max_retries,
            })
        }
        _ => Err(bad(
            "--restart",
            spec,
            "use no, never, always, on-failure[:N] or unless-stopped",
        )),
    }
}

/// A signal `kill -s` or `--stop-signal` cannot name, in Podman's words.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    #[error("invalid signal: {0}")]
    Invalid(String),
    #[error("valid signals are 1 through 64")]
    OutOfRange,
}

/// `kill -s`, `--stop-signal` and an image's StopSignal: Podman's
/// `signal.ParseSignalNameOrNumber`: a leading `-` is dropped, then
/// a number (not 0) or a name with or without `SIG`, any case.
pub fn signal(raw: &str) -> Result<i32, SignalError> {
    let base = raw.strip_prefix('-').unwrap_or(raw);
    let bad = || SignalError::Invalid(base.to_string());
    if let Ok(n) = base.parse::<i64>() {
        return match n {
            0 => Err(bad()),
            1..=64 => Ok(n as i32),
            _ => Err(SignalError::OutOfRange),
        };
    }
    let up = base.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-')
    {
        return Err(bad());
    }
    // Go's map has RTMIN, RTMIN+N, RTMAX-N and RTMAX.
    let rt = |s: &str| -> Option<i32> {
        let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
        match s {
            "RTMIN" => Some(min),
            "RTMAX" => Some(max),
            _ => {
                if let Some(n) = s.strip_prefix("RTMIN+") {
                    n.parse::<i32>().ok().map(|n| min + n).filter(|v| *v <= max)
                } else if let Some(n) = s.strip_prefix("RTMAX-") {
                    n.parse::<i32>().ok().map(|n| max - n).filter(|v| *v >= min)
                } else {
                    None
                }
            }
        }
    };
    if let Some(n) = rt(name) {
        return Ok(n);
    }
    format!("SIG{name}")
        .parse::<nix::sys::signal::Signal>()
        .map(|s| s as i32)
        .map_err(|_| bad())
}

/// A signal's name as Podman 5 prints it (`signal.ToDockerFormat`):
/// `SIGTERM`, `SIGRTMIN+3`, `SIGRTMAX-1`; a number without a name as
/// the number.
pub fn signal_name(n: i32) -> String {
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    // Go's map names RTMIN+1..RTMIN+15 and RTMAX-14..RTMAX-1.
    match n {
        _ if n == min => "SIGRTMIN".into(),
        _ if n == max => "SIGRTMAX".into(),
        _ if n > min && n - min <= 15 => format!("SIGRTMIN+{}", n - min),
        _ if n < max && n > min && max - n <= 14 => format!("SIGRTMAX-{}", max - n),
        _ => nix::sys::signal::Signal::try_from(n)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| n.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_is_podmans_other_name_for_no() {
        assert_eq!(restart("never").unwrap().name, "no");
        assert_eq!(restart("Never").unwrap().name, "no");
        assert!(restart("never:3").is_err());
        assert_eq!(restart("on-failure:3").unwrap().max_retries, 3);
    }

    #[test]
    fn signal_names_are_podmans() {
        assert_eq!(signal_name(libc::SIGTERM), "SIGTERM");
        assert_eq!(signal_name(libc::SIGRTMIN() + 3), "SIGRTMIN+3");
        assert_eq!(signal_name(libc::SIGRTMAX() - 1), "SIGRTMAX-1");
        assert_eq!(signal_name(libc::SIGRTMAX()), "SIGRTMAX");
        for n in 1..=64 {
            assert_eq!(signal(&signal_name(n)).unwrap(), n, "{n}");
        }
    }

    #[test]
    fn signals_parse_as_podman_does() {
        assert_eq!(signal("1").unwrap(), 1);
        assert_eq!(signal("-1").unwrap(), 1);
        assert_eq!(signal("-INT").unwrap(), 2);
        assert_eq!(signal("fpe").unwrap(), 8);
        assert_eq!(signal("-SIGUSR1").unwrap(), 10);
        assert_eq!(signal("SIGUSR2").unwrap(), 12);
        assert_eq!(signal("64").unwrap(), 64);
        assert_eq!(signal("RTMIN+1").unwrap(), libc::SIGRTMIN() + 1);
        for n in ["65", "-65", "96", "999", "99999999"] {
            assert_eq!(
                signal(n).unwrap_err().to_string(),
                "valid signals are 1 through 64"
            );
        }
        assert_eq!(signal("-0").unwrap_err().to_string(), "invalid signal: 0");
        assert_eq!(signal("-").unwrap_err().to_string(), "invalid signal: ");
        for bad in [
            "0",
            "SIGBADSIG",
            "SIG",
            "BADSIG",
            "%%",
            "!",
            "''",
            "\"\"",
            " ",
            "",
        ] {
            assert_eq!(
                signal(bad).unwrap_err().to_string(),
                format!("invalid signal: {bad}")
            );
        }
    }

    #[test]
    fn ulimits_restart_signals() {
        let u = ulimit("nofile=1024:2048").unwrap();
        assert_eq!(u.kind, "RLIMIT_NOFILE");
        assert!(ulimit("nofile").is_err());
        assert_eq!(restart("on-failure:3").unwrap().max_retries, 3);
        assert!(restart("sometimes").is_err());
        assert_eq!(signal("TERM").unwrap(), 15);
        assert_eq!(signal("SIGKILL").unwrap(), 9);
        assert_eq!(signal("2").unwrap(), 2);
        assert!(signal("SIGFOO").is_err());
    }
}
