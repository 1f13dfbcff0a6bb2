//! `--change` instructions (podman import / commit): Dockerfile-style
//! `INSTRUCTION VALUE` or `INSTRUCTION=VALUE`, one per flag, turned into the
//! storage contract's ConfigChanges. CMD and ENTRYPOINT take a JSON array or
//! a shell string (run with `/bin/sh -c`), as Podman does.

use proto::storage::v1::{ConfigChanges, StringList};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChangeError {
    #[error("invalid change {change:?}: {why}")]
    Invalid { change: String, why: String },
}

const SUPPORTED: &str = "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR";

/// Split at the first space or '=' (whichever comes first).
fn split_instruction(change: &str) -> Option<(String, String)> {
    let i = change.trim_start().find([' ', '=', '\t'])?;
    let s = change.trim_start();
    Some((
        s[..i].trim().to_ascii_uppercase(),
        s[i + 1..].trim().to_string(),
    ))
}

/// `KEY=VALUE` or `KEY VALUE`.
fn key_value(v: &str) -> Option<(String, String)> {
    let i = v.find(['=', ' '])?;
    let (k, rest) = (v[..i].trim(), v[i + 1..].trim());
    if k.is_empty() {
        return None;
    }
    Some((k.to_string(), unquote(rest).to_string()))
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// A JSON array of strings, or a shell string; empty gives [].
fn command(v: &str) -> Vec<String> {
    if v.is_empty() {
        return Vec::new();
    }
    match serde_json::from_str::<Vec<String>>(v) {
        Ok(list) => list,
        Err(_) => vec!["/bin/sh".into(), "-c".into(), v.to_string()],
    }
}

pub fn parse_changes(changes: &[String]) -> Result<ConfigChanges, ChangeError> {
    let mut out = ConfigChanges::default();
    for change in changes {
        let invalid = |why: &str| ChangeError::Invalid {
            change: change.clone(),
            why: why.to_string(),
        };
        let (instr, value) = split_instruction(change).ok_or_else(|| {
            invalid("expected INSTRUCTION VALUE, e.g. CMD [\"/bin/sh\"] or ENV=KEY=VALUE")
        })?;
        match instr.as_str() {
            "CMD" => {
                out.cmd = Some(StringList {
                    values: command(&value),
                })
            }
            "ENTRYPOINT" => {
                out.entrypoint = Some(StringList {
                    values: command(&value),
                })
            }
            "ENV" => {
                let (k, v) = key_value(&value).ok_or_else(|| invalid("ENV needs KEY=VALUE"))?;
                out.env.retain(|e| !e.starts_with(&format!("{k}=")));
                out.env.push(format!("{k}={v}"));
            }
            "LABEL" => {
                let (k, v) = key_value(&value).ok_or_else(|| invalid("LABEL needs KEY=VALUE"))?;
                out.labels.insert(unquote(&k).to_string(), v);
            }
            "USER" if !value.is_empty() => out.user = Some(value),
            "WORKDIR" if !value.is_empty() => {
                out.working_dir = Some(if value.starts_with('/') {
                    value
                } else {
                    format!("/{value}")
                })
            }
            "STOPSIGNAL" if !value.is_empty() => out.stop_signal = Some(value),
            "EXPOSE" => {
                for p in value.split_whitespace() {
                    let (port, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                    if port.parse::<u16>().is_err() || !["tcp", "udp", "sctp"].contains(&proto) {
                        return Err(invalid("EXPOSE takes PORT[/tcp|udp|sctp]"));
                    }
                    out.exposed_ports.push(format!("{port}/{proto}"));
                }
            }
            "VOLUME" => {
                let list = serde_json::from_str::<Vec<String>>(&value)
                    .unwrap_or_else(|_| vec![value.clone()]);
                if list.is_empty() || list.iter().any(|v| !v.starts_with('/')) {
                    return Err(invalid("VOLUME takes absolute paths"));
                }
                out.volumes.extend(list);
            }
            "USER" | "WORKDIR" | "STOPSIGNAL" => return Err(invalid("the value is empty")),
            other => {
                return Err(invalid(&format!(
                    "unknown instruction {other}; supported: {SUPPORTED}"
                )))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(list: &[&str]) -> Result<ConfigChanges, ChangeError> {
        parse_changes(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn instructions_parse_like_podman() {
        let c = p(&[
            r#"CMD ["/bin/echo", "hi"]"#,
            "ENTRYPOINT=/entry.sh --flag",
            "ENV=A=1",
            "ENV B two words",
            "ENV A=3",
            "LABEL version=\"1.0\"",
            "WORKDIR /srv",
            "USER=1000:1000",
            "EXPOSE 8080 53/udp",
            "VOLUME [\"/data\"]",
            "STOPSIGNAL SIGINT",
        ])
        .unwrap();
        assert_eq!(c.cmd.unwrap().values, ["/bin/echo", "hi"]);
        assert_eq!(
            c.entrypoint.unwrap().values,
            ["/bin/sh", "-c", "/entry.sh --flag"]
        );
        assert_eq!(c.env, ["B=two words", "A=3"]);
        assert_eq!(c.labels.get("version").map(String::as_str), Some("1.0"));
        assert_eq!(c.working_dir.as_deref(), Some("/srv"));
        assert_eq!(c.user.as_deref(), Some("1000:1000"));
        assert_eq!(c.exposed_ports, ["8080/tcp", "53/udp"]);
        assert_eq!(c.volumes, ["/data"]);
        assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
        assert_eq!(
            p(&["CMD sh -c \"trap 'exit 33' 2; sleep 1\""])
                .unwrap()
                .cmd
                .unwrap()
                .values[2],
            "sh -c \"trap 'exit 33' 2; sleep 1\""
        );
    }

    #[test]
    fn bad_changes_name_the_change() {
        for bad in [
            "CMD",
            "FROM busybox",
            "ENV",
            "EXPOSE 99999",
            "VOLUME data",
            "ONBUILD RUN x",
            "USER=",
        ] {
            let e = p(&[bad]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("invalid change {bad:?}")), "{e}");
        }
    }
}
