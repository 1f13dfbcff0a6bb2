//! `--secret`: parsed and resolved at create (the secret must exist; a
//! file secret's bytes are copied into the container's data directory, as
//! Podman copies them into its static dir), mounted read-only at each
//! start from a copy in the bundle with the asked owner and mode, or set
//! as an environment variable read from the store at each start and exec.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::container::model::{ContainerConfig, EnvSecret, SecretMount};
use crate::engine_config::EngineConfig;
use crate::secret::SecretStore;

/// libpod's `parseSecrets`: mount secrets and env secrets, by the name
/// given (resolved by [`resolve`]).
pub fn parse(list: &[String]) -> anyhow::Result<(Vec<SecretMount>, Vec<EnvSecret>)> {
    let bad = |why: String| anyhow::anyhow!("{why}: parsing secret");
    let mut mounts = Vec::new();
    let mut envs: Vec<EnvSecret> = Vec::new();
    for val in list {
        let mut parts: Vec<&str> = val.split(',').collect();
        let mut source = String::new();
        if !parts[0].contains('=') {
            source = parts.remove(0).to_string();
        }
        let (mut kind, mut target) = (String::new(), String::new());
        let (mut uid, mut gid, mut mode, mut mount_only) = (0u32, 0u32, 0o444u32, false);
        for p in parts {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| bad(format!("option {p} must be in form option=value")))?;
            match k {
                "source" => source = v.to_string(),
                "type" => {
                    if !kind.is_empty() {
                        return Err(bad("cannot set more than one secret type".into()));
                    }
                    if v != "mount" && v != "env" {
                        return Err(bad(format!("type {v} is invalid")));
                    }
                    kind = v.to_string();
                }
                "target" => target = v.to_string(),
                "mode" => {
                    mount_only = true;
                    mode =
                        u32::from_str_radix(v, 8).map_err(|_| bad(format!("mode {v} invalid")))?;
                }
                "uid" | "UID" => {
                    mount_only = true;
                    uid = v.parse().map_err(|_| bad(format!("UID {v} invalid")))?;
                }
                "gid" | "GID" => {
                    mount_only = true;
                    gid = v.parse().map_err(|_| bad(format!("GID {v} invalid")))?;
                }
                _ => return Err(bad(format!("option {p} invalid"))),
            }
        }
        if source.is_empty() {
            return Err(bad(format!("no source found {val}")));
        }
        if kind == "env" {
            if mount_only {
                return Err(bad(
                    "UID, GID, Mode options cannot be set with secret type env".into(),
                ));
            }
            let variable = if target.is_empty() {
                source.clone()
            } else {
                target
            };
            envs.retain(|e| e.variable != variable);
            envs.push(EnvSecret {
                variable,
                name: source,
                id: String::new(),
            });
        } else {
            mounts.push(SecretMount {
                name: source,
                id: String::new(),
                target,
                uid,
                gid,
                mode,
            });
        }
    }
    Ok((mounts, envs))
}

/// The bytes of each file secret, in order, after naming each secret by
/// its record (a name or an ID prefix may have been given).
pub fn resolve(
    engine: &EngineConfig,
    mounts: &mut [SecretMount],
    envs: &mut [EnvSecret],
) -> anyhow::Result<Vec<Vec<u8>>> {
    if mounts.is_empty() && envs.is_empty() {
        return Ok(vec![]);
    }
    let store = SecretStore::new(&engine.graph_root);
    let mut data = Vec::new();
    for m in mounts.iter_mut() {
        let (s, d) = store.lookup_data(&m.name)?;
        m.name = s.name;
        m.id = s.id;
        data.push(d);
    }
    for e in envs.iter_mut() {
        let s = store.lookup(&e.name)?;
        e.name = s.name;
        e.id = s.id;
    }
    Ok(data)
}

fn stored_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets")
}

/// Keep the file secrets' bytes with the container (0700 directory,
/// 0600 files).
pub fn store(data_dir: &Path, mounts: &[SecretMount], data: &[Vec<u8>]) -> anyhow::Result<()> {
    if mounts.is_empty() {
        return Ok(());
    }
    let dir = stored_dir(data_dir);
    common::private_dir::create(&dir)?;
    for (m, d) in mounts.iter().zip(data) {
        common::atomic_file::write_atomic_mode(
            &dir.join(&m.name),
            d,
            common::private_dir::FILE_MODE,
            common::atomic_file::Durability::Fsync,
        )?;
    }
    Ok(())
}

/// Copy the file secrets into the bundle with the owner and mode asked
/// (IDs mapped into the container's user namespace); the (destination,
/// host file) pairs to mount read-only.
pub fn prepare(
    cfg: &ContainerConfig,
    data_dir: &Path,
    bundle: &Path,
) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mounts = &cfg.extra.secrets;
    if mounts.is_empty() {
        return Ok(vec![]);
    }
    let host = |map: Option<&[crate::container::idmap::IdMap]>, id: u32| {
        map.and_then(|m| crate::container::idmap::to_host(m, id))
            .unwrap_or(id)
    };
    let idmap = cfg.extra.idmap.as_ref();
    let uid_map = idmap.map(|m| m.uid_map.as_slice());
    let gid_map = idmap.map(|m| m.gid_map.as_slice());
    let dir = bundle.join("secrets");
    common::private_dir::create(&dir)?;
    // A container with a user namespace of its own resolves the source
    // as its root: the directory is that user's.
    std::os::unix::fs::chown(&dir, Some(host(uid_map, 0)), Some(host(gid_map, 0)))?;
    let mut out = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        let src = stored_dir(data_dir).join(&m.name);
        let bytes = std::fs::read(&src).map_err(|e| {
            anyhow::anyhow!(
                "reading secret {} of container {}: {e}: recreate the container",
                m.name,
                cfg.name
            )
        })?;
        // One file per mount: the same secret may be given twice with
        // other owners or modes.
        let dst = dir.join(format!("{i}-{}", m.name));
        common::atomic_file::write_atomic_mode(
            &dst,
            &bytes,
            common::private_dir::FILE_MODE,
            common::atomic_file::Durability::NoSync,
        )?;
        std::os::unix::fs::chown(&dst, Some(host(uid_map, m.uid)), Some(host(gid_map, m.gid)))?;
        std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(m.mode & 0o7777))?;
        out.push((m.destination(), dst));
    }
    Ok(out)
}

/// `VAR=value` of each env secret, read from the store now.
pub fn environment(engine: &EngineConfig, cfg: &ContainerConfig) -> anyhow::Result<Vec<String>> {
    if cfg.extra.env_secrets.is_empty() {
        return Ok(vec![]);
    }
    let store = SecretStore::new(&engine.graph_root);
    let mut out = Vec::new();
    for e in &cfg.extra.env_secrets {
        let (_, data) = store.lookup_data(&e.name)?;
        out.push(format!("{}={}", e.variable, String::from_utf8_lossy(&data)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_as_libpod_does() {
        let (m, e) = parse(&[
            "a".into(),
            "b,type=mount,target=/etc/b,uid=1,gid=2,mode=400".into(),
            "source=c,type=env,target=VAR".into(),
            "d,type=env".into(),
        ])
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].destination(), "/run/secrets/a");
        assert_eq!(m[0].mode, 0o444);
        assert_eq!(
            (m[1].destination().as_str(), m[1].uid, m[1].gid, m[1].mode),
            ("/etc/b", 1, 2, 0o400)
        );
        assert_eq!((e[0].variable.as_str(), e[0].name.as_str()), ("VAR", "c"));
        assert_eq!(e[1].variable, "d");
        for bad in [
            "a,type=env,mode=400",
            "a,type=file",
            "a,type=env,type=mount",
            "a,bogus",
            "a,x=y",
            "type=env",
        ] {
            assert!(
                parse(&[bad.into()])
                    .unwrap_err()
                    .to_string()
                    .ends_with("parsing secret"),
                "{bad}"
            );
        }
    }
}
