//! Podman's systemd mode (`--systemd`): what an init system needs to run as
//! a container's PID 1 without systemd on the host. libpod's setupSystemd:
//! tmpfs on /run, /run/lock, /tmp and /var/log/journal where the user mounts
//! nothing, and /sys/fs/cgroup writable (the container's own cgroup tree
//! with a cgroup namespace, else the host's hierarchy bound).

use serde_json::{json, Value};

/// Whether a container runs in systemd mode: `always`, or `true` (the
/// default) when its command is an init (Podman's list, or any `systemd`),
/// looking past a leading `/bin/sh -c`.
pub fn wanted(mode: Option<&str>, command: &[String]) -> bool {
    match mode {
        Some("always") => true,
        Some("false") => false,
        _ => {
            let cmd = match command {
                [sh, c, rest @ ..] if sh == "/bin/sh" && c == "-c" && !rest.is_empty() => rest,
                _ => command,
            };
            cmd.first().is_some_and(|c| {
                matches!(
                    c.as_str(),
                    "/sbin/init" | "/usr/sbin/init" | "/usr/local/sbin/init"
                ) || std::path::Path::new(c)
                    .file_name()
                    .is_some_and(|n| n == "systemd")
            })
        }
    }
}

/// systemd's stop signal, SIGRTMIN+3, unless the user or image names one.
pub fn stop_signal() -> i32 {
    libc::SIGRTMIN() + 3
}

/// The mounts of systemd mode added to `mounts` (the spec's, user mounts
/// included, which win at their destinations).
pub fn add_mounts(mounts: &mut Vec<Value>, cgroupns_private: bool) {
    let taken = |mounts: &[Value], d: &str| mounts.iter().any(|m| m["destination"] == json!(d));
    for d in ["/run", "/run/lock", "/tmp", "/var/log/journal"] {
        if !taken(mounts, d) {
            mounts.push(json!({"destination": d, "type": "tmpfs", "source": "tmpfs", "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]}));
        }
    }
    mounts.retain(|m| m["destination"] != json!("/sys/fs/cgroup"));
    mounts.push(if cgroupns_private {
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["private", "rw"]})
    } else {
        json!({"destination": "/sys/fs/cgroup", "type": "bind", "source": "/sys/fs/cgroup", "options": ["bind", "private", "rw"]})
    });
}

/// `/dev/ttyN`: a virtual console of the host.
pub fn is_virtual_console(path: &str) -> bool {
    path.strip_prefix("/dev/tty")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::wanted;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn init_commands_select_systemd_mode() {
        assert!(wanted(None, &v(&["/sbin/init"])));
        assert!(wanted(
            Some("true"),
            &v(&["/usr/lib/systemd/systemd", "--log-level=debug"])
        ));
        assert!(wanted(None, &v(&["/bin/sh", "-c", "/usr/sbin/init"])));
        assert!(!wanted(None, &v(&["/bin/init"])));
        assert!(!wanted(Some("false"), &v(&["/sbin/init"])));
        assert!(wanted(Some("always"), &v(&["sh"])));
        assert!(!wanted(None, &[]));
        assert!(super::is_virtual_console("/dev/tty7"));
        assert!(!super::is_virtual_console("/dev/ttyS0"));
        assert!(!super::is_virtual_console("/dev/tty"));
    }
}
