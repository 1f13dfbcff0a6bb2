//! Which SpecGenerator fields `POST /libpod/containers/create` builds
//! containers from. A field outside this list is refused when it asks for
//! something (a value other than null, false, 0, "", [] or {}), so a client
//! never gets a container that silently lacks what it asked for; a zero
//! value asks for nothing and is accepted, as clients send whole structs.

use serde_json::{Map, Value};

use super::errors::ApiError;

/// The shape of one accepted field.
pub enum Shape {
    /// Read whole by `SpecGenerator`'s typed fields.
    Leaf,
    /// An object whose own fields are listed.
    Obj(&'static [(&'static str, Shape)]),
    /// An array of, or a map from names to, objects of this shape.
    Each(&'static [(&'static str, Shape)]),
}

use Shape::{Each, Leaf, Obj};

const NS: &[(&str, Shape)] = &[("nsmode", Leaf), ("value", Leaf)];
const PORT: &[(&str, Shape)] = &[
    ("container_port", Leaf),
    ("host_port", Leaf),
    ("host_ip", Leaf),
    ("protocol", Leaf),
    ("range", Leaf),
];
const PER_NETWORK: &[(&str, Shape)] = &[
    ("aliases", Leaf),
    ("static_ips", Leaf),
    ("static_mac", Leaf),
];
const NAMED_VOLUME: &[(&str, Shape)] = &[("Name", Leaf), ("Dest", Leaf), ("Options", Leaf)];
const MOUNT: &[(&str, Shape)] = &[
    ("destination", Leaf),
    ("type", Leaf),
    ("source", Leaf),
    ("options", Leaf),
];
const LOG: &[(&str, Shape)] = &[("driver", Leaf), ("options", Leaf)];
const RLIMIT: &[(&str, Shape)] = &[("type", Leaf), ("soft", Leaf), ("hard", Leaf)];
const HEALTH: &[(&str, Shape)] = &[
    ("Test", Leaf),
    ("Interval", Leaf),
    ("Timeout", Leaf),
    ("StartPeriod", Leaf),
    ("Retries", Leaf),
];
/// The host's IDs, as Go clients send by default; any mapping (UIDMap,
/// AutoUserNs) is refused by value.
const IDMAPPINGS: &[(&str, Shape)] = &[("HostUIDMapping", Leaf), ("HostGIDMapping", Leaf)];
const MEMORY: &[(&str, Shape)] = &[
    ("limit", Leaf),
    ("reservation", Leaf),
    ("swap", Leaf),
    ("swappiness", Leaf),
    ("disableOOMKiller", Leaf),
];
const CPU: &[(&str, Shape)] = &[
    ("shares", Leaf),
    ("quota", Leaf),
    ("period", Leaf),
    ("cpus", Leaf),
    ("mems", Leaf),
];
const LIMITS: &[(&str, Shape)] = &[
    ("memory", Obj(MEMORY)),
    ("cpu", Obj(CPU)),
    ("pids", Obj(&[("limit", Leaf)])),
    ("blockIO", Obj(&[("weight", Leaf)])),
];

/// The top level, as `spec_generator::SpecGenerator` reads it.
pub const SPEC: &[(&str, Shape)] = &[
    ("name", Leaf),
    ("image", Leaf),
    // The name as the user typed it, kept by libpod for display; the
    // container is built from `image`.
    ("raw_image_name", Leaf),
    // The client's command line, kept by libpod for display only.
    ("containerCreateCommand", Leaf),
    ("command", Leaf),
    ("entrypoint", Leaf),
    ("env", Leaf),
    ("labels", Leaf),
    ("annotations", Leaf),
    ("terminal", Leaf),
    ("stdin", Leaf),
    ("remove", Leaf),
    ("work_dir", Leaf),
    ("user", Leaf),
    ("hostname", Leaf),
    ("privileged", Leaf),
    ("read_only_filesystem", Leaf),
    ("read_write_tmpfs", Leaf),
    ("httpproxy", Leaf),
    ("cap_add", Leaf),
    ("cap_drop", Leaf),
    ("groups", Leaf),
    ("portmappings", Each(PORT)),
    ("publish_image_ports", Leaf),
    ("expose", Leaf),
    ("netns", Obj(NS)),
    ("networks", Each(PER_NETWORK)),
    ("dns_server", Leaf),
    ("dns_search", Leaf),
    ("dns_option", Leaf),
    ("hostadd", Leaf),
    ("use_image_hosts", Leaf),
    ("base_hosts_file", Leaf),
    ("volumes", Each(NAMED_VOLUME)),
    ("mounts", Each(MOUNT)),
    ("volumes_from", Leaf),
    ("image_volume_mode", Leaf),
    // libpod's storage hint for `--rm` containers (no fsync of their
    // layer); `remove` itself is applied.
    ("volatile", Leaf),
    ("idmappings", Obj(IDMAPPINGS)),
    ("systemd", Leaf),
    ("sdnotifyMode", Leaf),
    ("manage_password", Leaf),
    ("seccomp_policy", Leaf),
    ("pod", Leaf),
    ("stop_signal", Leaf),
    ("stop_timeout", Leaf),
    ("timeout", Leaf),
    ("restart_policy", Leaf),
    ("restart_tries", Leaf),
    ("init", Leaf),
    ("init_path", Leaf),
    ("timezone", Leaf),
    ("umask", Leaf),
    ("unsetenv", Leaf),
    ("unsetenvall", Leaf),
    ("sysctl", Leaf),
    ("log_configuration", Obj(LOG)),
    ("pidfile", Leaf),
    ("conmon_pid_file", Leaf),
    ("ipcns", Obj(NS)),
    ("pidns", Obj(NS)),
    ("utsns", Obj(NS)),
    ("userns", Obj(NS)),
    ("cgroupns", Obj(NS)),
    ("cgroups_mode", Leaf),
    ("cgroup_parent", Leaf),
    ("resource_limits", Obj(LIMITS)),
    ("r_limits", Each(RLIMIT)),
    ("oom_score_adj", Leaf),
    ("shm_size", Leaf),
    ("seccomp_profile_path", Leaf),
    ("no_new_privileges", Leaf),
    ("apparmor_profile", Leaf),
    ("selinux_opts", Leaf),
    ("mask", Leaf),
    ("unmask", Leaf),
    ("healthconfig", Obj(HEALTH)),
    ("health_check_on_failure_action", Leaf),
];

/// A value that asks for nothing.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_zero),
    }
}

fn walk(obj: &Map<String, Value>, shape: &[(&str, Shape)], path: &str, bad: &mut Vec<String>) {
    for (k, v) in obj {
        let here = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match shape.iter().find(|(name, _)| name == k).map(|(_, s)| s) {
            None if is_zero(v) => {}
            None => bad.push(here),
            Some(Leaf) => {}
            Some(Obj(inner)) => {
                if let Value::Object(o) = v {
                    walk(o, inner, &here, bad);
                }
            }
            Some(Each(inner)) => match v {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Value::Object(o) = item {
                            walk(o, inner, &format!("{here}[{i}]"), bad);
                        }
                    }
                }
                Value::Object(map) => {
                    for (name, item) in map {
                        if let Value::Object(o) = item {
                            walk(o, inner, &format!("{here}.{name}"), bad);
                        }
                    }
                }
                _ => {}
            },
        }
    }
}

/// Refuses a body that asks for something this service does not build.
pub fn check(body: &Value) -> Result<(), ApiError> {
    let Value::Object(obj) = body else {
        return Err(ApiError::bad_request(
            "the SpecGenerator must be a JSON object",
        ));
    };
    let mut bad = Vec::new();
    walk(obj, SPEC, "", &mut bad);
    if bad.is_empty() {
        return Ok(());
    }
    // Sorted: the same message whatever order a client's JSON has.
    bad.sort();
    let (what, verb, them) = if bad.len() == 1 {
        ("field", "is", "it")
    } else {
        ("fields", "are", "them")
    };
    Err(ApiError::bad_request(format!(
        "SpecGenerator {what} {} {verb} not supported by podman-rs: leave {them} unset",
        bad.join(", "),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zero_values_pass_and_requests_are_named() {
        let ok = json!({"image": "x", "devices": [], "systemd": "", "resource_limits":
            {"memory": {"kernel": 0, "limit": 5}}, "secrets": null, "privileged": false});
        assert!(check(&ok).is_ok());
        let e = check(&json!({"image": "x", "devices": [{"path": "/dev/fuse"}],
            "resource_limits": {"cpu": {"realtimePeriod": 10}},
            "networks": {"n": {"aliases": ["a"], "mystery": 1}}}))
        .unwrap_err();
        assert_eq!(e.status, http::StatusCode::BAD_REQUEST);
        assert_eq!(
            e.message,
            "SpecGenerator fields devices, networks.n.mystery, resource_limits.cpu.realtimePeriod \
             are not supported by podman-rs: leave them unset"
        );
    }
}
