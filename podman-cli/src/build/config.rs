//! The image run configuration (the config's "config" object: Env, Cmd,
//! Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes,
//! StopSignal, Healthcheck, Shell, OnBuild) as config-only instructions
//! change it. No I/O.

use serde_json::{json, Map, Value};

use super::parse::Instruction;
use super::words::{self, WordError};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Word(#[from] WordError),
    #[error("{0}")]
    Invalid(String),
}

pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The shell of RUN, CMD and ENTRYPOINT in shell form.
pub fn shell(cfg: &Map<String, Value>) -> Vec<String> {
    strings(cfg.get("Shell")).unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
}

pub fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v?.as_array().map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect()
    })
}

/// The value of `key` in the config's Env.
pub fn env_value(cfg: &Map<String, Value>, key: &str) -> Option<String> {
    strings(cfg.get("Env"))?
        .into_iter()
        .rev()
        .find_map(|e| e.strip_prefix(&format!("{key}=")).map(String::from))
}

pub fn set_env(cfg: &mut Map<String, Value>, key: &str, value: &str) {
    let mut env = strings(cfg.get("Env")).unwrap_or_default();
    env.retain(|e| e.split('=').next() != Some(key));
    env.push(format!("{key}={value}"));
    cfg.insert("Env".into(), json!(env));
}

/// An exec-form array, or the shell form wrapped in the shell.
fn command(i: &Instruction, cfg: &Map<String, Value>) -> Vec<String> {
    match i.exec_form() {
        Some(list) => list,
        None => {
            let mut v = shell(cfg);
            v.push(i.args.clone());
            v
        }
    }
}

fn object(cfg: &mut Map<String, Value>, field: &str) -> Map<String, Value> {
    cfg.get(field)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Apply one config-only instruction. `cmd_set` tracks whether this stage
/// set CMD (an ENTRYPOINT resets a CMD inherited from the base, as Docker).
pub fn apply(
    i: &Instruction,
    cfg: &mut Map<String, Value>,
    escape: char,
    lookup: Lookup<'_>,
    cmd_set: &mut bool,
) -> Result<(), ConfigError> {
    match i.keyword.as_str() {
        "ENV" => {
            for (k, v) in words::key_values(&i.args, escape, lookup, true)? {
                if k.is_empty() {
                    return Err(ConfigError::Invalid("ENV names can not be blank".into()));
                }
                set_env(cfg, &k, &v.unwrap_or_default());
            }
        }
        "LABEL" => {
            let mut labels = object(cfg, "Labels");
            for (k, v) in words::key_values(&i.args, escape, lookup, true)? {
                labels.insert(k, json!(v.unwrap_or_default()));
            }
            cfg.insert("Labels".into(), Value::Object(labels));
        }
        "MAINTAINER" => {}
        "CMD" => {
            cfg.insert("Cmd".into(), json!(command(i, cfg)));
            *cmd_set = true;
        }
        "ENTRYPOINT" => {
            cfg.insert("Entrypoint".into(), json!(command(i, cfg)));
            if !*cmd_set {
                cfg.remove("Cmd");
            }
        }
        "WORKDIR" => {
            let w = words::expand(&i.args, escape, lookup)?;
            let base = cfg
                .get("WorkingDir")
                .and_then(Value::as_str)
                .unwrap_or("/")
                .to_string();
            let path = if w.starts_with('/') {
                w
            } else {
                format!("{}/{w}", base.trim_end_matches('/'))
            };
            cfg.insert("WorkingDir".into(), json!(path));
        }
        "USER" => {
            let u = words::expand(&i.args, escape, lookup)?;
            cfg.insert("User".into(), json!(u));
        }
        "STOPSIGNAL" => {
            let s = words::expand(&i.args, escape, lookup)?;
            cfg.insert("StopSignal".into(), json!(s));
        }
        "EXPOSE" => {
            let mut ports = object(cfg, "ExposedPorts");
            for p in words::split_words(&i.args, escape, lookup)? {
                let (port, proto) = p.split_once('/').unwrap_or((&p, "tcp"));
                let proto = proto.to_ascii_lowercase();
                let ok_port = port
                    .split_once('-')
                    .map_or(port.parse::<u16>().is_ok(), |(a, b)| {
                        a.parse::<u16>().is_ok() && b.parse::<u16>().is_ok()
                    });
                if !ok_port || !["tcp", "udp", "sctp"].contains(&proto.as_str()) {
                    return Err(ConfigError::Invalid(format!(
                        "invalid EXPOSE {p:?}: use PORT[/tcp|udp|sctp]"
                    )));
                }
                ports.insert(format!("{port}/{proto}"), json!({}));
            }
            cfg.insert("ExposedPorts".into(), Value::Object(ports));
        }
        "VOLUME" => {
            let list = match i.exec_form() {
                Some(l) => l,
                None => words::split_words(&i.args, escape, lookup)?,
            };
            let mut vols = object(cfg, "Volumes");
            for v in list {
                if v.is_empty() {
                    return Err(ConfigError::Invalid(
                        "VOLUME specified can not be an empty string".into(),
                    ));
                }
                vols.insert(v, json!({}));
            }
            cfg.insert("Volumes".into(), Value::Object(vols));
        }
        "SHELL" => {
            let list = i.exec_form().ok_or_else(|| {
                ConfigError::Invalid("SHELL requires the arguments to be in JSON form".into())
            })?;
            cfg.insert("Shell".into(), json!(list));
        }
        "ONBUILD" => {
            let mut list = strings(cfg.get("OnBuild")).unwrap_or_default();
            let first = i
                .args
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            if matches!(first.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
                return Err(ConfigError::Invalid(format!(
                    "{first} isn't allowed as an ONBUILD trigger"
                )));
            }
            list.push(i.args.clone());
            cfg.insert("OnBuild".into(), json!(list));
        }
        "HEALTHCHECK" => healthcheck(i, cfg)?,
        other => {
            return Err(ConfigError::Invalid(format!(
                "{other} is not a configuration instruction"
            )))
        }
    }
    Ok(())
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [--interval=..] CMD ...`.
fn healthcheck(i: &Instruction, cfg: &mut Map<String, Value>) -> Result<(), ConfigError> {
    let args = i.args.trim();
    if args.eq_ignore_ascii_case("NONE") {
        cfg.insert("Healthcheck".into(), json!({"Test": ["NONE"]}));
        return Ok(());
    }
    let Some(rest) = args
        .strip_prefix("CMD")
        .or_else(|| args.strip_prefix("cmd"))
    else {
        return Err(ConfigError::Invalid(
            "HEALTHCHECK takes NONE or CMD followed by a command".into(),
        ));
    };
    let rest = rest.trim();
    let test: Vec<String> = match serde_json::from_str::<Vec<String>>(rest) {
        Ok(list) if rest.starts_with('[') => {
            let mut t = vec!["CMD".to_string()];
            t.extend(list);
            t
        }
        _ => vec!["CMD-SHELL".into(), rest.to_string()],
    };
    let mut h = json!({"Test": test});
    for (name, field) in [
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("start-period", "StartPeriod"),
        ("start-interval", "StartInterval"),
    ] {
        if let Some(v) = i.flag(name) {
            let d = parse_duration(v).ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "HEALTHCHECK --{name}={v}: not a duration such as 30s"
                ))
            })?;
            h[field] = json!(d);
        }
    }
    if let Some(v) = i.flag("retries") {
        let n: u32 = v.parse().map_err(|_| {
            ConfigError::Invalid(format!("HEALTHCHECK --retries={v}: not a number"))
        })?;
        h["Retries"] = json!(n);
    }
    for (k, _) in &i.flags {
        if ![
            "interval",
            "timeout",
            "start-period",
            "start-interval",
            "retries",
        ]
        .contains(&k.as_str())
        {
            return Err(ConfigError::Invalid(format!(
                "HEALTHCHECK: unknown flag --{k}"
            )));
        }
    }
    cfg.insert("Healthcheck".into(), h);
    Ok(())
}

/// Go durations as nanoseconds: "1h2m3s", "500ms", "1.5s".
fn parse_duration(s: &str) -> Option<u64> {
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += num * mult;
        rest = &rest[u..];
    }
    Some(total as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::parse::parse;

    fn run(lines: &str) -> Map<String, Value> {
        let f = parse("Containerfile", &format!("FROM x\n{lines}")).unwrap();
        let mut cfg = Map::new();
        cfg.insert("Cmd".into(), json!(["base"]));
        let mut cmd_set = false;
        let lookup = |k: &str| (k == "V").then(|| "v".to_string());
        for i in &f.stages[0][1..] {
            apply(i, &mut cfg, '\\', &lookup, &mut cmd_set).unwrap();
        }
        cfg
    }

    #[test]
    fn instructions_change_the_config() {
        let c = run("ENV A=1 B=\"two $V\"\nENV C three\nLABEL l=$V\nWORKDIR /a\nWORKDIR b\nUSER 1000\nEXPOSE 80 53/udp\nVOLUME /data [\"x\"]\nSTOPSIGNAL SIGINT\nSHELL [\"/bin/bash\", \"-c\"]\nENTRYPOINT echo\n");
        assert_eq!(c["Env"], json!(["A=1", "B=two v", "C=three"]));
        assert_eq!(c["Labels"], json!({"l": "v"}));
        assert_eq!(c["WorkingDir"], "/a/b");
        assert_eq!(c["User"], "1000");
        assert_eq!(c["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(c["StopSignal"], "SIGINT");
        assert_eq!(c["Entrypoint"], json!(["/bin/bash", "-c", "echo"]));
        assert!(c.get("Cmd").is_none(), "ENTRYPOINT resets an inherited CMD");
        let c = run("CMD [\"a\"]\nENTRYPOINT [\"e\"]\nHEALTHCHECK --interval=5s --retries=2 CMD true\nONBUILD RUN echo\n");
        assert_eq!(c["Cmd"], json!(["a"]));
        assert_eq!(
            c["Healthcheck"],
            json!({"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000u64, "Retries": 2})
        );
        assert_eq!(c["OnBuild"], json!(["RUN echo"]));
    }

    #[test]
    fn bad_config_instructions() {
        let f = parse("C", "FROM x\nEXPOSE http\nSHELL sh\nONBUILD FROM y\n").unwrap();
        for i in &f.stages[0][1..] {
            let mut cfg = Map::new();
            assert!(
                apply(i, &mut cfg, '\\', &|_| None, &mut false).is_err(),
                "{}",
                i.original
            );
        }
        assert_eq!(parse_duration("1m30s"), Some(90_000_000_000));
    }
}
