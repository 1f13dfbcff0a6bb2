//! The OCI spec of a container in its own user namespace: the namespace
//! (new, or joined by path), its mappings, and the default mounts a user
//! namespace cannot make as they are.

use serde_json::{json, Value};

use super::{NetNs, SpecContext};
use crate::container::idmap::{self, IdMap, IdMappings};

pub struct Userns<'a> {
    /// Joined by path (`ns:PATH`, `container:ID`), or new.
    path: Option<String>,
    mappings: &'a IdMappings,
}

fn oci(map: &[IdMap]) -> Value {
    json!(map
        .iter()
        .map(|m| json!({"containerID": m.container_id, "hostID": m.host_id, "size": m.size}))
        .collect::<Vec<_>>())
}

impl<'a> Userns<'a> {
    pub fn new(mode: &str, mappings: &'a IdMappings, ctx: &SpecContext) -> Userns<'a> {
        let path = if let Some(p) = mode.strip_prefix("ns:") {
            Some(p.to_string())
        } else {
            // `container:NAME`'s, or the one owning a netns made inside
            // the container's own user namespace.
            ctx.joined_namespaces
                .iter()
                .find(|(k, _)| k == "user")
                .map(|(_, p)| p.clone())
        };
        Userns { path, mappings }
    }

    pub fn namespace(&self) -> Value {
        match &self.path {
            Some(p) => json!({"type": "user", "path": p}),
            None => json!({"type": "user"}),
        }
    }

    pub fn uid_mappings(&self) -> Value {
        oci(&self.mappings.uid_map)
    }

    pub fn gid_mappings(&self) -> Value {
        oci(&self.mappings.gid_map)
    }

    /// sysfs belongs to the network namespace's owner: one made outside
    /// this user namespace (bridge networks, the host's) gets the host's
    /// /sys bound instead, as Podman does. devpts' `gid=5` needs group 5
    /// mapped.
    pub fn adjust_mounts(&self, mounts: &mut [Value], netns: &NetNs) {
        let own_netns = matches!(netns, NetNs::New);
        let tty_mapped = idmap::to_host(&self.mappings.gid_map, 5).is_some();
        for m in mounts.iter_mut() {
            match m["destination"].as_str() {
                Some("/sys") if !own_netns && m["type"] == "sysfs" => {
                    let ro = m["options"]
                        .as_array()
                        .is_some_and(|o| o.contains(&json!("ro")));
                    let mut opts = vec!["rprivate", "nosuid", "noexec", "nodev", "rbind"];
                    if ro {
                        opts.push("ro");
                    }
                    *m = json!({"destination": "/sys", "type": "bind", "source": "/sys", "options": opts});
                }
                Some("/dev/pts") if !tty_mapped => {
                    if let Some(o) = m["options"].as_array_mut() {
                        o.retain(|x| x != "gid=5");
                    }
                }
                _ => {}
            }
        }
    }
}
