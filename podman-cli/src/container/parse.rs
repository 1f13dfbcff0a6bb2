//! Parsing container flags into the model: `-v`, `--mount`, `--tmpfs`,
//! `-p`, `--ulimit`, `--restart`, `--stop-signal`, `--env-file`, labels.
//! Every error names the flag, the bad value and the expected form.

use std::path::Path;

use super::model::{MountSpec, PortMapping, RestartPolicy, Rlimit};

#[derive(Debug, thiserror::Error)]
#[error("invalid {flag} {value:?}: {hint}")]
pub struct FlagError {
    pub flag: &'static str,
    pub value: String,
    pub hint: String,
}

fn bad(flag: &'static str, value: &str, hint: impl Into<String>) -> FlagError {
    FlagError {
        flag,
        value: value.to_string(),
        hint: hint.into(),
    }
}

const BIND_OPTIONS: &[&str] = &[
    "ro",
    "rw",
    "z",
    "Z",
    "U",
    "rshared",
    "shared",
    "rslave",
    "slave",
    "rprivate",
    "private",
    "runbindable",
    "unbindable",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "rbind",
    "bind",
];

/// Mount options of `-v` and `--mount`, checked as Podman checks them:
/// one of ro/rw, one propagation, `nocopy`/`copy` for volumes only;
/// `idmap` refused (runc here cannot make ID-mapped mounts).
fn mount_options(
    flag: &'static str,
    spec: &str,
    list: &[&str],
    volume: bool,
) -> Result<Vec<String>, FlagError> {
    let mut out: Vec<String> = Vec::new();
    let (mut rw_seen, mut prop_seen) = (false, false);
    for o in list.iter().filter(|o| !o.is_empty()) {
        let o = *o;
        if o == "idmap" || o.starts_with("idmap=") {
            return Err(bad(
                flag,
                spec,
                "idmap mounts are not supported: the OCI runtime here cannot make ID-mapped mounts; drop idmap (or use U to chown the source)",
            ));
        }
        if o == "O" {
            return Err(bad(
                flag,
                spec,
                "the O (overlay) option is not supported yet: use a plain bind mount (ro or rw)",
            ));
        }
        if volume && matches!(o, "nocopy" | "copy") {
            out.push(o.to_string());
            continue;
        }
        if !BIND_OPTIONS.contains(&o) {
            return Err(bad(
                flag,
                spec,
                format!("unknown option {o:?}: use ro, rw, z, Z, U, a propagation mode (shared, slave, private...){}", if volume { ", nocopy" } else { "" }),
            ));
        }
        if matches!(o, "ro" | "rw") {
            if rw_seen {
                return Err(bad(flag, spec, "give only one of ro and rw"));
            }
            rw_seen = true;
        }
        if matches!(
            o,
            "rshared"
                | "shared"
                | "rslave"
                | "slave"
                | "rprivate"
                | "private"
                | "runbindable"
                | "unbindable"
        ) {
            if prop_seen {
                return Err(bad(flag, spec, "give only one propagation mode"));
            }
            prop_seen = true;
        }
        out.push(o.to_string());
    }
    Ok(out)
}

/// `-v HOST-DIR:CTR-DIR[:OPTS]` (a bind mount), `-v NAME:CTR-DIR[:OPTS]`
/// (a named volume, made on first use) or `-v CTR-DIR` (an anonymous
/// volume: its source is left empty for create to name).
pub fn volume(spec: &str) -> Result<MountSpec, FlagError> {
    let parts: Vec<&str> = spec.split(':').collect();
    let hint = "expected HOST-DIR:CONTAINER-DIR[:OPTIONS], VOLUME-NAME:CONTAINER-DIR[:OPTIONS] or CONTAINER-DIR";
    let (src, dst, opts) = match parts.as_slice() {
        [d] => ("", *d, ""),
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        _ => return Err(bad("-v", spec, hint)),
    };
    if dst.is_empty() || (parts.len() > 1 && src.is_empty()) {
        return Err(bad("-v", spec, hint));
    }
    if !dst.starts_with('/') {
        return Err(bad("-v", spec, "the container path must be absolute"));
    }
    let is_bind = src.starts_with('/') || src.starts_with('.');
    let options = mount_options("-v", spec, &opts.split(',').collect::<Vec<_>>(), !is_bind)?;
    if !is_bind {
        if !src.is_empty() && !common::names::is_valid_name(src) {
            return Err(bad(
                "-v",
                spec,
                format!(
                    "volume name {src:?} is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
                ),
            ));
        }
        return Ok(MountSpec {
            kind: "volume".into(),
            source: src.into(),
            destination: dst.into(),
            options,
        });
    }
    let src = if src.starts_with('.') {
        std::path::absolute(src)
            .map_err(|e| bad("-v", spec, e.to_string()))?
            .display()
            .to_string()
    } else {
        src.to_string()
    };
    if !Path::new(&src).exists() {
        return Err(bad(
            "-v",
            spec,
            format!("host path {src} does not exist: create it first"),
        ));
    }
    Ok(MountSpec {
        kind: "bind".into(),
        source: src,
        destination: dst.into(),
        options,
    })
}

/// `--mount type=bind|volume|tmpfs|devpts,source=..,destination=..[,OPTS]`.
pub fn mount(spec: &str) -> Result<MountSpec, FlagError> {
    let mut kind = String::new();
    let (mut src, mut dst) = (String::new(), String::new());
    let mut options: Vec<String> = Vec::new();
    let mut plain: Vec<String> = Vec::new();
    for kv in spec.split(',') {
        let (k, v) = kv
            .split_once('=')
            .map(|(k, v)| (k, Some(v)))
            .unwrap_or((kv, None));
        match (k, v) {
            ("type", Some(v)) => kind = v.to_string(),
            ("source" | "src", Some(v)) => src = v.to_string(),
            ("destination" | "dst" | "target", Some(v)) => dst = v.to_string(),
            ("ro" | "readonly", None | Some("true")) => plain.push("ro".to_string()),
            ("ro" | "readonly", Some("false")) => {}
            ("rw", None | Some("true")) => plain.push("rw".to_string()),
            ("tmpfs-size", Some(v)) => options.push(format!("size={v}")),
            ("tmpfs-mode", Some(v)) => options.push(format!("mode={v}")),
            ("bind-propagation", Some(v)) => plain.push(v.to_string()),
            ("volume-nocopy", None | Some("true")) | ("nocopy", None) => {
                plain.push("nocopy".into())
            }
            ("relabel", Some("shared")) => plain.push("z".into()),
            ("relabel", Some("private")) => plain.push("Z".into()),
            ("U" | "chown", None | Some("true")) => plain.push("U".into()),
            ("idmap", _) => plain.push("idmap".into()),
            ("gid" | "mode" | "ptmxmode" | "uid", Some(v)) if kind == "devpts" => {
                options.push(format!("{k}={v}"))
            }
            (
                "z" | "Z" | "nosuid" | "suid" | "nodev" | "dev" | "noexec" | "exec" | "shared"
                | "rshared" | "slave" | "rslave" | "private" | "rprivate" | "bind" | "rbind",
                None,
            ) => plain.push(k.to_string()),
            _ => return Err(bad("--mount", spec, format!("unknown option {kv:?}"))),
        }
    }
    if dst.is_empty() || !dst.starts_with('/') {
        return Err(bad(
            "--mount",
            spec,
            "destination=/absolute/path is required",
        ));
    }
    let plain_refs: Vec<&str> = plain.iter().map(String::as_str).collect();
    match kind.as_str() {
        "bind" => {
            options.extend(mount_options("--mount", spec, &plain_refs, false)?);
            if !src.starts_with('/') || !Path::new(&src).exists() {
                return Err(bad(
                    "--mount",
                    spec,
                    "source= must be an existing absolute host path",
                ));
            }
            Ok(MountSpec {
                kind,
                source: src,
                destination: dst,
                options,
            })
        }
        "volume" => {
            options.extend(mount_options("--mount", spec, &plain_refs, true)?);
            if !src.is_empty() && !common::names::is_valid_name(&src) {
                return Err(bad(
                    "--mount",
                    spec,
                    format!("volume name {src:?} is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
                ));
            }
            Ok(MountSpec {
                kind,
                source: src,
                destination: dst,
                options,
            })
        }
        "tmpfs" => {
            let mut o = vec!["rw".to_string(), "nosuid".to_string(), "nodev".to_string()];
            o.extend(options);
            o.extend(plain.into_iter().filter(|p| p != "rw"));
            Ok(MountSpec {
                kind,
                source: "tmpfs".into(),
                destination: dst,
                options: o,
            })
        }
        "devpts" => {
            let mut o = vec!["nosuid".to_string(), "noexec".to_string(), "newinstance".to_string()];
            o.extend(options);
            o.extend(plain.into_iter().filter(|p| p != "rw"));
            Ok(MountSpec {
                kind,
                source: "devpts".into(),
                destination: dst,
                options: o,
            })
        }
        "" => Err(bad("--mount", spec, "type= is required (bind, volume, tmpfs or devpts)")),
        "image" => Err(bad(
            "--mount",
            spec,
            "type=image is not supported yet: mount the image's content with a volume or a bind mount",
        )),
        other => Err(bad(
            "--mount",
            spec,
            format!("type {other:?} is not supported: use bind, volume, tmpfs or devpts"),
        )),
    }
}

/// `--tmpfs /path[:options]`.
pub fn tmpfs(spec: &str) -> Result<MountSpec, FlagError> {
    let (dst, opts) = spec.split_once(':').unwrap_or((spec, ""));
    if !dst.starts_with('/') {
        return Err(bad("--tmpfs", spec, "expected /container/path[:options]"));
    }
    let mut options = vec![
        "rw".to_string(),
        "noexec".to_string(),
        "nosuid".to_string(),
        "nodev".to_string(),
    ];
    options.extend(opts.split(',').filter(|o| !o.is_empty()).map(String::from));
    Ok(MountSpec {
        kind: "tmpfs".into(),
        source: "tmpfs".into(),
        destination: dst.into(),
        options,
    })
}

fn port_range(flag: &'static str, spec: &str, s: &str) -> Result<(u16, u16), FlagError> {
    let num = |x: &str| {
        x.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad(flag, spec, "ports are numbers from 1 to 65535"))
    };
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if b < a {
                return Err(bad(
                    flag,
                    spec,
                    "a port range must go upwards, e.g. 8000-8010",
                ));
            }
            Ok((a, b - a + 1))
        }
        None => Ok((num(s)?, 1)),
    }
}

/// `-p [[HOSTIP:]HOSTPORT:]CTRPORT[/tcp|udp]`, ranges allowed.
pub fn publish(spec: &str) -> Result<PortMapping, FlagError> {
    let (addr, proto) = match spec.rsplit_once('/') {
        Some((a, p)) => (a, p),
        None => (spec, "tcp"),
    };
    if proto != "tcp" && proto != "udp" {
        return Err(bad("-p", spec, "the protocol must be tcp or udp"));
    }
    // An IPv6 host address is written in brackets: [::1]:8080:80.
    let (host_ip, rest) = if let Some(r) = addr.strip_prefix('[') {
        let (ip, rest) = r
            .split_once("]:")
            .ok_or_else(|| bad("-p", spec, "expected [IPv6]:HOSTPORT:CTRPORT"))?;
        (ip.to_string(), rest.to_string())
    } else {
        let parts: Vec<&str> = addr.split(':').collect();
        match parts.len() {
            1 | 2 => (String::new(), addr.to_string()),
            3 => (parts[0].to_string(), format!("{}:{}", parts[1], parts[2])),
            _ => {
                return Err(bad(
                    "-p",
                    spec,
                    "expected [[HOSTIP:]HOSTPORT:]CONTAINERPORT[/PROTOCOL]",
                ))
            }
        }
    };
    if !host_ip.is_empty() && host_ip.parse::<std::net::IpAddr>().is_err() {
        return Err(bad("-p", spec, format!("{host_ip} is not an IP address")));
    }
    let (host, ctr) = match rest.split_once(':') {
        Some((h, c)) => (h.to_string(), c.to_string()),
        None => (String::new(), rest.clone()),
    };
    let (ctr_port, ctr_range) = port_range("-p", spec, &ctr)?;
    let (host_port, host_range) = if host.is_empty() {
        (0, ctr_range)
    } else {
        port_range("-p", spec, &host)?
    };
    if host_range != ctr_range {
        return Err(bad(
            "-p",
            spec,
            "host and container port ranges must have the same length",
        ));
    }
    Ok(PortMapping {
        host_ip,
        host_port,
        container_port: ctr_port,
        protocol: proto.into(),
        range: ctr_range,
    })
}

/// `--ulimit name=soft[:hard]`, clamped to this host's hard limits.
pub fn ulimit(spec: &str) -> Result<Rlimit, FlagError> {
    let u =
        common::rlimits::Ulimit::parse(spec).map_err(|e| bad("--ulimit", spec, e.to_string()))?;
    let u = u.clamped();
    Ok(Rlimit {
        kind: u.oci_name(),
        soft: u.soft,
        hard: u.hard,
    })
}

/// `--restart no|always|on-failure[:N]|unless-stopped`.
pub fn restart(spec: &str) -> Result<RestartPolicy, FlagError> {
    let (name, n) = spec.split_once(':').unwrap_or((spec, ""));
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
            "use no, always, on-failure[:N] or unless-stopped",
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

/// `KEY=VALUE` lines from an env file; `KEY` alone takes the value from
/// podman's environment; blank lines and `#` comments are skipped.
pub fn env_file(path: &Path) -> Result<Vec<String>, FlagError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad("--env-file", &path.display().to_string(), e.to_string()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(env_var)
        .collect())
}

/// `-e KEY=VALUE` as is; `-e KEY` takes podman's own value (skipped if unset).
pub fn env_var(spec: &str) -> Option<String> {
    if spec.contains('=') {
        Some(spec.to_string())
    } else {
        std::env::var(spec).ok().map(|v| format!("{spec}={v}"))
    }
}

/// `KEY=VALUE` (or `KEY` for an empty value) into a pair.
pub fn label(spec: &str) -> (String, String) {
    match spec.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (spec.to_string(), String::new()),
    }
}

#[cfg(test)]
mod tests {
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

    use super::*;

    #[test]
    fn volumes_and_mounts() {
        let v = volume("/tmp:/data:ro,z").unwrap();
        assert_eq!(
            (v.source.as_str(), v.destination.as_str(), v.options.clone()),
            ("/tmp", "/data", vec!["ro".to_string(), "z".to_string()])
        );
        let anon = volume("/tmp").unwrap();
        assert_eq!((anon.kind.as_str(), anon.source.as_str()), ("volume", ""));
        let named = volume("myvol:/d:nocopy").unwrap();
        assert_eq!(
            (named.kind.as_str(), named.source.as_str()),
            ("volume", "myvol")
        );
        assert!(volume("bad name:/d").is_err());
        assert!(volume("/tmp:/d:idmap")
            .unwrap_err()
            .to_string()
            .contains("idmap mounts are not supported"));
        assert!(volume("/tmp:/d:ro,rw").is_err());
        assert!(volume("/tmp:/d:O")
            .unwrap_err()
            .to_string()
            .contains("overlay"));
        assert!(volume("/no/such/dir:/x")
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert!(volume("/tmp:/x:bogus").is_err());
        assert!(volume("/tmp:rel").is_err());
        let m = mount("type=bind,source=/tmp,destination=/d,ro").unwrap();
        assert_eq!(m.options, vec!["ro"]);
        let t = mount("type=tmpfs,destination=/t,tmpfs-size=1m").unwrap();
        assert!(t.options.contains(&"size=1m".to_string()));
        assert_eq!(mount("type=volume,destination=/x").unwrap().source, "");
        assert!(mount("type=image,source=x,destination=/x").is_err());
        assert_eq!(
            mount("type=devpts,destination=/dev/pts2").unwrap().kind,
            "devpts"
        );
        assert_eq!(
            tmpfs("/run:size=1m").unwrap().options.last().unwrap(),
            "size=1m"
        );
    }

    #[test]
    fn ports() {
        let p = publish("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(
            (
                p.host_ip.as_str(),
                p.host_port,
                p.container_port,
                p.protocol.as_str(),
                p.range
            ),
            ("127.0.0.1", 8080, 80, "udp", 1)
        );
        let p = publish("8000-8002:9000-9002").unwrap();
        assert_eq!((p.host_port, p.container_port, p.range), (8000, 9000, 3));
        assert_eq!(publish("80").unwrap().host_port, 0);
        assert_eq!(publish("[::1]:8080:80").unwrap().host_ip, "::1");
        for bad in [
            "0:80",
            "x:80",
            "8000-8001:80",
            "1.2.3:80:80",
            "80/sctp",
            "99999:80",
        ] {
            assert!(publish(bad).is_err(), "{bad}");
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
