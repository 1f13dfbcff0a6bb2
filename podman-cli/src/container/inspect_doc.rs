//! A container's `podman inspect` document (Podman's JSON shape), shared by
//! `podman inspect` and container creation (which records it).

use serde_json::{json, Value};

use crate::container::model::{ContainerConfig, ContainerState, Status};

fn rfc3339(ns: i64) -> String {
    if ns == 0 {
        return "0001-01-01T00:00:00Z".into();
    }
    common::time::rfc3339_nanos(ns)
}

/// Podman's `GraphDriver` block for a container, from its storage record
/// (`None`: the record could not be read; the paths are left empty).
fn graph_driver(driver: &str, layer: Option<&proto::storage::v1::Container>) -> Value {
    if driver == "vfs" {
        // containers-storage's vfs driver has no metadata (a nil map).
        return json!({"Name": driver, "Data": null});
    }
    let (upper, work, merged) = layer
        .map(|c| {
            (
                c.upper_dir.as_str(),
                c.work_dir.as_str(),
                c.mountpoint.as_str(),
            )
        })
        .unwrap_or_default();
    json!({
        "Name": driver,
        "Data": {"UpperDir": upper, "WorkDir": work, "MergedDir": merged},
    })
}

/// Podman's GetSecurityOptions: no-new-privileges, the label, seccomp and
/// apparmor options as given, and `unmask=all` when nothing is masked.
fn security_opts(cfg: &ContainerConfig) -> Vec<String> {
    let mut out = Vec::new();
    if cfg.no_new_privileges {
        out.push("no-new-privileges".to_string());
    }
    for (key, name) in [
        ("io.podman.annotations.label", "label"),
        ("io.podman.annotations.seccomp", "seccomp"),
        ("io.podman.annotations.apparmor", "apparmor"),
    ] {
        if let Some(v) = cfg.annotations.get(key) {
            out.push(format!("{name}={v}"));
        }
    }
    let sec = &cfg.extra.security;
    let unmask_all = sec.unmask.iter().any(|u| u.eq_ignore_ascii_case("all"));
    if (cfg.privileged || unmask_all) && sec.mask.is_empty() {
        out.push("unmask=all".to_string());
    }
    out
}

/// Podman's EffectiveCaps: the bounding set for root; for another user only
/// the capabilities added explicitly.
fn effective_caps(cfg: &ContainerConfig) -> Vec<String> {
    let bounding = &cfg.extra.security.capabilities;
    let user = cfg.user.split(':').next().unwrap_or("");
    if matches!(user, "" | "root" | "0") {
        return bounding.clone();
    }
    cfg.cap_add
        .iter()
        .map(|c| {
            let c = c.trim().to_ascii_uppercase();
            if c.starts_with("CAP_") {
                c
            } else {
                format!("CAP_{c}")
            }
        })
        .filter(|c| bounding.contains(c))
        .collect()
}

pub fn container_json(
    cfg: &ContainerConfig,
    st: &ContainerState,
    driver: &str,
    layer: Option<&proto::storage::v1::Container>,
    default_network: &str,
) -> Value {
    let args = cfg.command_line();
    let ports: serde_json::Map<String, Value> = cfg
        .ports
        .iter()
        .map(|p| {
            (
                format!("{}/{}", p.container_port, p.protocol),
                json!([{"HostIp": p.host_ip, "HostPort": p.host_port.to_string()}]),
            )
        })
        .collect();
    let mut doc = json!({
        "Id": cfg.id,
        "Created": rfc3339(cfg.created_ns),
        "Path": args.first().cloned().unwrap_or_default(),
        "Args": args.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "OciVersion": "1.0.2",
            "Status": st.status.as_str(),
            "Running": st.status == Status::Running,
            "Paused": st.status == Status::Paused,
            "Restarting": false,
            "OOMKilled": st.oom_killed,
            "Dead": false,
            "Pid": st.pid,
            "ConmonPid": st.monitor_pid,
            "ExitCode": st.exit_code,
            "Error": st.error,
            "StartedAt": rfc3339(st.started_ns),
            "FinishedAt": rfc3339(st.finished_ns),
            "StoppedByUser": st.stopped_by_user,
        },
        "Image": cfg.image_id,
        "ImageName": cfg.image_name,
        "Rootfs": cfg.extra.rootfs,
        "ResolvConfPath": format!("{}/resolv.conf", st.bundle_path),
        "HostnamePath": format!("{}/hostname", st.bundle_path),
        "HostsPath": format!("{}/hosts", st.bundle_path),
        "Name": cfg.name,
        "RestartCount": st.restart_count,
        "Driver": driver,
        "GraphDriver": graph_driver(driver, layer),
        "OCIRuntime": cfg.runtime,
        "LogPath": cfg.log_path,
        "Mounts": cfg.mounts.iter().map(|m| json!({
            "Type": m.kind, "Source": m.source, "Destination": m.destination,
            "Options": m.options, "RW": !m.options.iter().any(|o| o == "ro"),
        })).collect::<Vec<_>>(),
        "NetworkSettings": super::inspect_net::network_settings(cfg, st, ports, default_network),
        "Config": {
            "Hostname": cfg.hostname,
            "User": cfg.user,
            // Podman hides the values of env secrets.
            "Env": cfg.environment(&[]).into_iter().chain(cfg.extra.env_secrets.iter().map(|e| format!("{}=*******", e.variable))).collect::<Vec<_>>(),
            "Cmd": cfg.cmd,
            "Entrypoint": cfg.entrypoint,
            "WorkingDir": cfg.working_dir,
            "Labels": cfg.labels,
            "Annotations": cfg.annotations,
            "StopSignal": crate::container::parse::signal_name(cfg.stop_signal),
            "StopTimeout": cfg.stop_timeout,
            "SystemdMode": cfg.extra.systemd,
            "Umask": if cfg.extra.umask.is_empty() { "0022" } else { cfg.extra.umask.as_str() },
            "Tty": cfg.terminal,
            "OpenStdin": cfg.stdin,
            "Image": cfg.image_name,
        },
        "HostConfig": {
            "Binds": cfg.mounts.iter().filter(|m| m.kind == "bind").map(|m| format!("{}:{}", m.source, m.destination)).collect::<Vec<_>>(),
            "NetworkMode": cfg.network_mode.name(),
            // libpod shows an unset policy as "no".
            "RestartPolicy": {"Name": if cfg.restart.name.is_empty() { "no" } else { cfg.restart.name.as_str() }, "MaximumRetryCount": cfg.restart.max_retries},
            "AutoRemove": cfg.auto_remove,
            "AutoRemoveImage": cfg.extra.remove_image,
            "CapAdd": cfg.cap_add,
            "CapDrop": cfg.cap_drop,
            "Privileged": cfg.privileged,
            "ReadonlyRootfs": cfg.read_only,
            // Go's int64 of the spec's uint64: unlimited reads -1.
            "Ulimits": cfg.rlimits.iter().map(|r| json!({"Name": r.kind, "Soft": r.soft as i64, "Hard": r.hard as i64})).collect::<Vec<_>>(),
            "LogConfig": crate::container::log_config::inspect(cfg),
            "Init": cfg.init,
            "PortBindings": port_bindings(cfg),
        },
    });
    doc["Dependencies"] = json!(cfg.dependencies);
    doc["Config"]["Passwd"] = json!(!cfg.extra.no_passwd);
    if !cfg.extra.chrootdirs.is_empty() {
        doc["Config"]["ChrootDirs"] = json!(cfg.extra.chrootdirs);
    }
    if !cfg.extra.secrets.is_empty() {
        doc["Config"]["Secrets"] = cfg
            .extra
            .secrets
            .iter()
            .map(
                |s| json!({"Name": s.name, "ID": s.id, "UID": s.uid, "GID": s.gid, "Mode": s.mode}),
            )
            .collect();
    }
    let sec = &cfg.extra.security;
    doc["EffectiveCaps"] = json!(effective_caps(cfg));
    doc["BoundingCaps"] = json!(sec.capabilities);
    doc["AppArmorProfile"] = json!(sec.apparmor_profile);
    doc["HostConfig"]["SecurityOpt"] = json!(security_opts(cfg));
    doc["HostConfig"]["PidsLimit"] = json!(sec.pids_limit);
    crate::spec::resources::inspect_fields(&cfg.extra.resources, &mut doc["HostConfig"]);
    // Podman reads these off the spec: "private" for a new namespace.
    let x = &cfg.extra;
    // Podman's IpcMode: the joined container, the host's, a path, or the
    // new namespace's kind.
    doc["HostConfig"]["IpcMode"] = json!(match (x.ipc.as_str(), x.ipc_kind.as_str()) {
        ("", "") => "shareable".to_string(),
        ("", k) => k.to_string(),
        (m, _) => m.to_string(),
    });
    doc["HostConfig"]["PidMode"] = json!(namespace_mode(&x.pid));
    doc["HostConfig"]["UTSMode"] = json!(namespace_mode(&x.uts));
    doc["HostConfig"]["CgroupMode"] = json!(match x.cgroupns.as_str() {
        "" => "host",
        m => m,
    });
    doc["HostConfig"]["UsernsMode"] = json!(match x.userns.as_str() {
        "" => String::new(),
        m if m.starts_with("ns:") || m.starts_with("container:") => m.to_string(),
        _ => "private".to_string(),
    });
    if let Some(m) = &x.idmap {
        let text = |v: &[super::idmap::IdMap]| v.iter().map(|r| r.text()).collect::<Vec<_>>();
        doc["HostConfig"]["IDMappings"] =
            json!({"UidMap": text(&m.uid_map), "GidMap": text(&m.gid_map)});
    }
    doc
}

/// libpod's mode of a namespace read off the spec: "private" for a new
/// one, else "host", "ns:PATH" or "container:ID" as configured.
fn namespace_mode(mode: &str) -> &str {
    match mode {
        "" => "private",
        m => m,
    }
}

/// `HostConfig.PortBindings`: every host binding of a container port
/// (one per host address with containers.conf `default_host_ips`).
fn port_bindings(cfg: &ContainerConfig) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for p in &cfg.ports {
        let key = format!("{}/{}", p.container_port, p.protocol);
        let b = json!({"HostIp": p.host_ip, "HostPort": p.host_port.to_string()});
        match out.get_mut(&key).and_then(|v| v.as_array_mut()) {
            Some(list) => list.push(b),
            None => {
                out.insert(key, json!([b]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_rfc3339() {
        assert_eq!(
            super::rfc3339(1_795_811_062_000_000_005),
            "2026-11-27T20:24:22.000000005Z"
        );
    }
}
