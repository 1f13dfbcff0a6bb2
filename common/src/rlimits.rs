//! `--ulimit` / `default_ulimits` specs, clamped to what this process may
//! actually set: without CAP_SYS_RESOURCE no limit can rise above the
//! current hard limit, so defaults are lowered to fit instead of failing.

use nix::sys::resource::{getrlimit, Resource};

use crate::ConfigError;

/// One rlimit as the OCI spec wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ulimit {
    pub name: &'static str,
    pub resource: Resource,
    pub soft: u64,
    pub hard: u64,
}

const NAMES: &[(&str, Resource)] = &[
    ("as", Resource::RLIMIT_AS),
    ("core", Resource::RLIMIT_CORE),
    ("cpu", Resource::RLIMIT_CPU),
    ("data", Resource::RLIMIT_DATA),
    ("fsize", Resource::RLIMIT_FSIZE),
    ("locks", Resource::RLIMIT_LOCKS),
    ("memlock", Resource::RLIMIT_MEMLOCK),
    ("msgqueue", Resource::RLIMIT_MSGQUEUE),
    ("nice", Resource::RLIMIT_NICE),
    ("nofile", Resource::RLIMIT_NOFILE),
    ("nproc", Resource::RLIMIT_NPROC),
    ("rss", Resource::RLIMIT_RSS),
    ("rtprio", Resource::RLIMIT_RTPRIO),
    ("rttime", Resource::RLIMIT_RTTIME),
    ("sigpending", Resource::RLIMIT_SIGPENDING),
    ("stack", Resource::RLIMIT_STACK),
];

/// Podman's defaults for root containers.
pub const DEFAULT_NOFILE: u64 = 1_048_576;
pub const DEFAULT_NPROC: u64 = 4_194_304;

impl Ulimit {
    /// Parse `name=soft[:hard]`; `-1` means unlimited.
    pub fn parse(spec: &str) -> Result<Self, ConfigError> {
        let bad = |hint: &str| ConfigError::Value {
            what: "ulimit",
            value: spec.to_string(),
            hint: hint.to_string(),
        };
        let (name, vals) = spec.split_once('=').ok_or_else(|| {
            bad("invalid ulimit argument: expected name=soft[:hard], e.g. nofile=1024:2048")
        })?;
        let name = name
            .trim()
            .strip_prefix("RLIMIT_")
            .map(str::to_ascii_lowercase)
            .unwrap_or_else(|| name.trim().to_string());
        let &(static_name, resource) = NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| bad("unknown limit name; use one of nofile, nproc, core, memlock, stack, cpu, fsize, ..."))?;
        let num = |s: &str| -> Result<u64, ConfigError> {
            match s.trim() {
                "-1" | "unlimited" => Ok(u64::MAX),
                t => t
                    .parse::<u64>()
                    .map_err(|_| bad("limits must be non-negative integers or -1")),
            }
        };
        let (soft, hard) = match vals.split_once(':') {
            Some((s, h)) => (num(s)?, num(h)?),
            None => {
                let v = num(vals)?;
                (v, v)
            }
        };
        if soft > hard {
            let show = |v: u64| {
                if v == u64::MAX {
                    "-1 (unlimited)".to_string()
                } else {
                    v.to_string()
                }
            };
            return Err(bad(&format!(
                "ulimit soft limit must be less than or equal to hard limit: soft: {}, hard: {}",
                show(soft),
                show(hard)
            )));
        }
        Ok(Ulimit {
            name: static_name,
            resource,
            soft,
            hard,
        })
    }

    /// Lower both values to the current hard limit of this process.
    pub fn clamped(self) -> Self {
        match getrlimit(self.resource) {
            Ok((_, cur_hard)) => Ulimit {
                soft: self.soft.min(cur_hard),
                hard: self.hard.min(cur_hard),
                ..self
            },
            Err(_) => self,
        }
    }

    /// The OCI spec's name, e.g. `RLIMIT_NOFILE`.
    pub fn oci_name(&self) -> String {
        format!("RLIMIT_{}", self.name.to_ascii_uppercase())
    }
}

/// The limits every container gets unless told otherwise: Podman's nofile and
/// nproc defaults plus containers.conf's `default_ulimits`, all clamped.
pub fn defaults(extra: &[String]) -> Result<Vec<Ulimit>, ConfigError> {
    let mut out = vec![
        Ulimit {
            name: "nofile",
            resource: Resource::RLIMIT_NOFILE,
            soft: DEFAULT_NOFILE,
            hard: DEFAULT_NOFILE,
        },
        Ulimit {
            name: "nproc",
            resource: Resource::RLIMIT_NPROC,
            soft: DEFAULT_NPROC,
            hard: DEFAULT_NPROC,
        },
    ];
    for spec in extra {
        let u = Ulimit::parse(spec)?;
        out.retain(|o| o.name != u.name);
        out.push(u);
    }
    Ok(out.into_iter().map(Ulimit::clamped).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let u = Ulimit::parse("nofile=1024:2048").unwrap();
        assert_eq!((u.name, u.soft, u.hard), ("nofile", 1024, 2048));
        assert_eq!(Ulimit::parse("core=-1").unwrap().soft, u64::MAX);
        assert_eq!(Ulimit::parse("RLIMIT_NPROC=5").unwrap().name, "nproc");
        for bad in ["nofile", "bogus=1", "nofile=a", "nofile=10:5"] {
            assert!(Ulimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_never_exceed_the_current_hard_limit() {
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        for u in defaults(&["nofile=99999999999".into()]).unwrap() {
            let (_, h) = getrlimit(u.resource).unwrap();
            assert!(u.soft <= h && u.hard <= h, "{u:?}");
        }
        let nofile = defaults(&[])
            .unwrap()
            .into_iter()
            .find(|u| u.name == "nofile")
            .unwrap();
        assert_eq!(nofile.hard, DEFAULT_NOFILE.min(hard));
    }
}
