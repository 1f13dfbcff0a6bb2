//! Volumes and containers: at create, the volumes a container names are
//! made (named ones on first use, anonymous ones for `-v /path` and the
//! image's VOLUMEs) and `--volumes-from` copies another container's
//! mounts; at start they are mounted, filled (copy-up) and owned as Podman
//! does and become bind mounts of `_data`; at cleanup their use is given
//! back; `rm -v` and `--rm` remove the anonymous ones.

use std::path::Path;

use super::subpath::SubpathMounts;
use super::{copy, mount, mountpoint, store, CreateRequest, VolumeError};
use crate::container::model::{ContainerConfig, ContainerState, MountSpec};
use crate::engine_config::EngineConfig;
use crate::state::State;

/// Options that say how podman prepares a mount, not how it is mounted.
const PODMAN_ONLY: &[&str] = &["z", "Z", "U", "nocopy", "copy", "rw"];

/// `--image-volume`: what an image's VOLUME becomes.
pub fn check_image_volume_mode(mode: &str) -> anyhow::Result<()> {
    match mode {
        "anonymous" | "bind" | "tmpfs" | "ignore" => Ok(()),
        _ => anyhow::bail!(
            "invalid --image-volume {mode:?}: use anonymous (or bind), tmpfs or ignore"
        ),
    }
}

fn clean(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/".into()
    } else {
        t.to_string()
    }
}

/// Two mounts on one destination: the same one twice is kept once, two
/// different ones are refused, as Podman refuses them.
pub fn dedupe(mounts: &mut Vec<MountSpec>) -> anyhow::Result<()> {
    let mut out: Vec<MountSpec> = Vec::new();
    for m in mounts.drain(..) {
        match out
            .iter()
            .find(|o| clean(&o.destination) == clean(&m.destination))
        {
            Some(o) if *o == m && !m.source.is_empty() => {}
            Some(_) => anyhow::bail!("{}: duplicate mount destination", m.destination),
            None => out.push(m),
        }
    }
    *mounts = out;
    Ok(())
}

/// `--volumes-from CTR[:ro|rw|z]`: the other container's volumes and bind
/// mounts, at the same places, unless this container mounts something
/// there itself.
pub fn volumes_from(
    db: &State,
    specs: &[String],
    mounts: &mut Vec<MountSpec>,
) -> anyhow::Result<()> {
    for spec in specs {
        let (ctr, opts) = spec.split_once(':').unwrap_or((spec.as_str(), ""));
        let mut ro = None;
        for o in opts.split(',').filter(|o| !o.is_empty()) {
            match o {
                "ro" => ro = Some(true),
                "rw" => ro = Some(false),
                "z" => {}
                _ => anyhow::bail!(
                    "invalid options {opts:?} in --volumes-from {spec}, can only specify 'ro', 'rw', and 'z': invalid argument"
                ),
            }
        }
        let (other, _) = crate::container::store::resolve(db, ctr)?;
        for m in other
            .mounts
            .iter()
            .filter(|m| m.kind == "volume" || m.kind == "bind")
        {
            if mounts
                .iter()
                .any(|x| clean(&x.destination) == clean(&m.destination))
            {
                continue;
            }
            let mut m = m.clone();
            if let Some(ro) = ro {
                m.options.retain(|o| o != "ro" && o != "rw");
                if ro {
                    m.options.push("ro".into());
                }
            }
            mounts.push(m);
        }
    }
    Ok(())
}

/// The image's VOLUMEs that no mount covers, as `mode` makes them.
pub fn image_volumes(dests: &[String], mode: &str, mounts: &mut Vec<MountSpec>) {
    for d in dests {
        if mounts.iter().any(|m| clean(&m.destination) == clean(d)) {
            continue;
        }
        match mode {
            "tmpfs" => mounts.push(MountSpec {
                kind: "tmpfs".into(),
                source: "tmpfs".into(),
                destination: d.clone(),
                options: vec!["rw".into(), "nodev".into(), "exec".into()],
            }),
            "ignore" => {}
            _ => mounts.push(MountSpec {
                kind: "volume".into(),
                source: String::new(),
                destination: d.clone(),
                options: vec![],
            }),
        }
    }
}

/// Make the volumes the container's mounts name and do not exist yet;
/// anonymous ones get their random name here. Returns the volumes made
/// (for [`undo`]).
pub fn create_volumes(
    engine: &EngineConfig,
    db: &State,
    mounts: &mut [MountSpec],
) -> anyhow::Result<Vec<String>> {
    let mut made: Vec<String> = Vec::new();
    let r = (|| {
        for m in mounts.iter_mut().filter(|m| m.kind == "volume") {
            if m.source.is_empty() {
                let v = super::create(
                    db,
                    &engine.volume_path,
                    &CreateRequest {
                        anonymous: true,
                        ..Default::default()
                    },
                )?;
                m.source = v.config.name.clone();
                made.push(v.config.name);
                continue;
            }
            match store::get(db, &m.source) {
                Ok(_) => {}
                Err(VolumeError::NotFound(_)) => {
                    let req = CreateRequest {
                        name: m.source.clone(),
                        ..Default::default()
                    };
                    match super::create(db, &engine.volume_path, &req) {
                        Ok(v) => made.push(v.config.name),
                        // Made by another podman meanwhile: use it.
                        Err(VolumeError::NameInUse(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })();
    if let Err(e) = r {
        undo(engine, db, &made);
        return Err(e.into());
    }
    Ok(made)
}

/// Remove the volumes a failed create made.
pub fn undo(engine: &EngineConfig, db: &State, made: &[String]) {
    for name in made {
        if let Err(e) = super::remove(db, &engine.volume_path, &engine.run_root, name) {
            tracing::warn!(volume = %name, error = %e, "removing a volume of a failed create");
        }
    }
}

/// The container's user, when podman must chown for it (`U`, a volume's
/// first use).
pub type UserIds = Option<(u32, u32)>;

/// Before the runtime sees the container: mount filesystem volumes, copy
/// the image's content into empty ones, give them their owner, chown `U`
/// binds; returns the configuration with every volume a bind mount of its
/// `_data` and podman's own options dropped. Counts taken are recorded in
/// `st.volumes_mounted` (the caller gives them back on failure). A mount
/// with `O` becomes an overlay whose lower layer is its source and whose
/// upper layer is made afresh under `overlay_dir` at each start. A
/// volume's `subpath=` is mounted by handle (see [`super::subpath`]): keep
/// the returned mounts until the runtime has created the container.
pub fn mount_for_start(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    rootfs: &Path,
    overlay_dir: &Path,
    user: impl Fn() -> anyhow::Result<UserIds>,
) -> anyhow::Result<(ContainerConfig, SubpathMounts)> {
    let db = crate::state::open_state(engine)?;
    let mut out = cfg.clone();
    let mut subpaths = SubpathMounts::default();
    if overlay_dir.exists() {
        std::fs::remove_dir_all(overlay_dir).map_err(|e| {
            anyhow::anyhow!(
                "removing the last start's overlay layers {}: {e}",
                overlay_dir.display()
            )
        })?;
    }
    for (i, m) in out.mounts.iter_mut().enumerate() {
        let wants_chown = m.options.iter().any(|o| o == "U");
        if m.kind == "volume" {
            let name = m.source.clone();
            if mount::acquire(&db, &engine.volume_path, &engine.run_root, &name)? {
                st.volumes_mounted.push(name.clone());
                // Recorded at once: a start that dies here is undone by
                // `reconcile`, which gives the uses back.
                record_uses(&db, &cfg.id, &st.volumes_mounted)?;
            }
            let nocopy = m.options.iter().any(|o| o == "nocopy");
            prepare(engine, &db, &name, &m.destination, rootfs, nocopy, &user)?;
            m.kind = "bind".into();
            let data = mountpoint(&engine.volume_path, &name);
            m.source = match m.options.iter().find_map(|o| o.strip_prefix("subpath=")) {
                Some(sub) => subpaths
                    .add(&engine.run_root, &cfg.id, i, &data, sub)
                    .map_err(|e| anyhow::anyhow!("volume {name} subpath {sub}: {e}"))?
                    .display()
                    .to_string(),
                None => data.display().to_string(),
            };
            m.options.retain(|o| !o.starts_with("subpath="));
        }
        if wants_chown && m.kind == "bind" {
            let (uid, gid) = user()?.unwrap_or((0, 0));
            chown_tree(Path::new(&m.source), uid, gid)
                .map_err(|e| anyhow::anyhow!("chowning {} for the U option: {e}", m.source))?;
        }
        m.options.retain(|o| !PODMAN_ONLY.contains(&o.as_str()));
        if m.options.iter().any(|o| o == "O") {
            overlay_mount(m, &overlay_dir.join(i.to_string()))?;
        }
    }
    crate::kill_point::reached("start-after-volumes");
    Ok((out, subpaths))
}

/// `O`: the bind (or volume) mount becomes an overlay over its source with
/// an empty upper layer in `dir` (made 0700: it holds the container's writes).
fn overlay_mount(m: &mut MountSpec, dir: &Path) -> anyhow::Result<()> {
    if m.source.contains([':', ',']) {
        anyhow::bail!(
            "{}: an overlay (O) mount's source cannot contain ':' or ',': rename the directory or drop O",
            m.source
        );
    }
    if !Path::new(&m.source).is_dir() {
        anyhow::bail!(
            "{}: an overlay (O) mount's source must be a directory: drop O to bind-mount a file",
            m.source
        );
    }
    let (upper, work) = (dir.join("upper"), dir.join("work"));
    for d in [dir, &upper, &work] {
        common::private_dir::create(d)
            .map_err(|e| anyhow::anyhow!("making overlay layer {}: {e}", d.display()))?;
    }
    let mut opts = vec![
        format!("lowerdir={}", m.source),
        format!("upperdir={}", upper.display()),
        format!("workdir={}", work.display()),
    ];
    opts.extend(
        m.options
            .iter()
            .filter(|o| {
                matches!(
                    o.as_str(),
                    "ro" | "nosuid" | "nodev" | "noexec" | "suid" | "dev" | "exec"
                )
            })
            .cloned(),
    );
    m.kind = "overlay".into();
    m.source = "overlay".into();
    m.options = opts;
    Ok(())
}

/// Copy-up and ownership of a volume at its first uses, under its lock.
fn prepare(
    engine: &EngineConfig,
    db: &State,
    name: &str,
    dest: &str,
    rootfs: &Path,
    nocopy: bool,
    user: &impl Fn() -> anyhow::Result<UserIds>,
) -> anyhow::Result<()> {
    let _lock = mount::lock(&engine.run_root, name)?;
    let mut vol = store::get(db, name)?;
    if !vol.state.needs_copy_up && !vol.state.needs_chown {
        return Ok(());
    }
    let target = mountpoint(&engine.volume_path, name);
    let before = vol.state.clone();
    let mut copied = false;
    if vol.state.needs_copy_up && !nocopy && !vol.config.options.contains_key("nocopy") {
        copied = copy::copy_up(rootfs, dest, &target)
            .map_err(|e| anyhow::anyhow!("copying {dest} of the image into volume {name}: {e}"))?;
        if copied {
            vol.state.needs_copy_up = false;
        }
    }
    // The volume's own owner (--uid/--gid, o=uid=) is never changed.
    if vol.state.needs_chown && vol.config.uid.is_none() && vol.config.gid.is_none() {
        let src = copy::dir_in_root(rootfs, dest)
            .map_err(|e| anyhow::anyhow!("reading {dest} in the image: {e}"))?;
        let io = |e: std::io::Error| anyhow::anyhow!("{}: {e}", target.display());
        match src {
            Some(md) => {
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                std::os::unix::fs::lchown(&target, Some(md.uid()), Some(md.gid())).map_err(io)?;
                std::fs::set_permissions(
                    &target,
                    std::fs::Permissions::from_mode(md.mode() & 0o7777),
                )
                .map_err(io)?;
            }
            None => {
                if let Some((uid, gid)) = user()? {
                    std::os::unix::fs::lchown(&target, Some(uid), Some(gid)).map_err(io)?;
                }
            }
        }
        if copied {
            vol.state.needs_chown = false;
        }
    }
    if before.needs_copy_up != vol.state.needs_copy_up
        || before.needs_chown != vol.state.needs_chown
    {
        store::update_state(db, name, &vol.state)?;
    }
    Ok(())
}

/// `U`: the bind source, and everything under it, owned by the container's
/// user (symlinks themselves, never their targets).
fn chown_tree(p: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid))?;
    let md = std::fs::symlink_metadata(p)?;
    if md.is_dir() {
        for e in std::fs::read_dir(p)? {
            chown_tree(&e?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// The container's recorded volume uses, changed alone (the caller holds
/// the container's lock; the rest of its state is the caller's to save).
fn record_uses(db: &State, id: &str, names: &[String]) -> anyhow::Result<()> {
    let (_, mut cur) = crate::container::store::resolve(db, id)?;
    if cur.volumes_mounted != names {
        cur.volumes_mounted = names.to_vec();
        crate::container::store::update_state(db, id, &cur)?;
    }
    Ok(())
}

/// Give back the uses a start took (cleanup, a failed start, or the undo of
/// a start that died); the caller holds the container's lock.
pub fn release(engine: &EngineConfig, id: &str, st: &mut ContainerState) -> anyhow::Result<()> {
    if st.volumes_mounted.is_empty() {
        return Ok(());
    }
    let db = crate::state::open_state(engine)?;
    let mut errors = Vec::new();
    for name in std::mem::take(&mut st.volumes_mounted) {
        if let Err(e) = mount::release(&db, &engine.volume_path, &engine.run_root, &name) {
            errors.push(format!("volume {name}: {e}"));
        }
    }
    if let Err(e) = record_uses(&db, id, &[]) {
        errors.push(format!("{e:#}"));
    }
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("; "));
    }
    Ok(())
}

/// `rm -v`, `--rm`: the container's anonymous volumes go with it, unless
/// another container uses them too.
pub fn remove_anonymous(engine: &EngineConfig, cfg: &ContainerConfig) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    for m in cfg.mounts.iter().filter(|m| m.kind == "volume") {
        let vol = match store::get(&db, &m.source) {
            Ok(v) => v,
            Err(VolumeError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        if !vol.config.anonymous {
            continue;
        }
        if super::users(&db, &m.source)?
            .iter()
            .any(|(id, _)| *id != cfg.id)
        {
            continue;
        }
        match super::remove(&db, &engine.volume_path, &engine.run_root, &m.source) {
            Ok(()) | Err(VolumeError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Inspect's `Mounts`, as Podman shows them.
pub fn inspect_mounts(engine: &EngineConfig, cfg: &ContainerConfig) -> serde_json::Value {
    // tmpfs, ramfs and devpts mounts are in HostConfig, not here (as Podman).
    let list: Vec<serde_json::Value> = cfg
        .mounts
        .iter()
        .filter(|m| !matches!(m.kind.as_str(), "tmpfs" | "ramfs" | "devpts"))
        .map(|m| {
            let rw = !m.options.iter().any(|o| o == "ro");
            let propagation = m
                .options
                .iter()
                .find(|o| {
                    matches!(
                        o.as_str(),
                        "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate"
                    )
                })
                .cloned()
                .unwrap_or_else(|| "rprivate".into());
            let mode = m
                .options
                .iter()
                .filter(|o| matches!(o.as_str(), "z" | "Z"))
                .cloned()
                .collect::<Vec<_>>()
                .join(",");
            let mut opts: Vec<String> = m
                .options
                .iter()
                .filter(|o| !PODMAN_ONLY.contains(&o.as_str()) && o.as_str() != "ro")
                .filter(|o| **o != propagation && !o.starts_with("subpath="))
                .cloned()
                .collect();
            if m.kind == "volume" {
                opts.insert(0, "nosuid".into());
                opts.insert(1, "nodev".into());
                opts.push("rbind".into());
                let mut j = serde_json::json!({
                    "Type": "volume",
                    "Name": m.source,
                    "Source": mountpoint(&engine.volume_path, &m.source),
                    "Destination": m.destination,
                    "Driver": "local",
                    "Mode": mode,
                    "Options": opts,
                    "RW": rw,
                    "Propagation": propagation,
                });
                if let Some(p) = m.options.iter().find_map(|o| o.strip_prefix("subpath=")) {
                    j["SubPath"] = p.into();
                }
                j
            } else if m.kind == "bind" {
                opts.push("rbind".into());
                serde_json::json!({
                    "Type": "bind",
                    "Source": m.source,
                    "Destination": m.destination,
                    "Driver": "",
                    "Mode": mode,
                    "Options": opts,
                    "RW": rw,
                    "Propagation": propagation,
                })
            } else if m.kind == "image" {
                let mut j = serde_json::json!({
                    "Type": "image",
                    "Source": m.source,
                    "Destination": m.destination,
                    "Driver": "",
                    "Mode": "",
                    "Options": [],
                    "RW": m.options.iter().any(|o| o == "rw"),
                    "Propagation": "",
                });
                if let Some(p) = m.options.iter().find_map(|o| o.strip_prefix("subpath=")) {
                    j["SubPath"] = p.into();
                }
                j
            } else {
                serde_json::json!({
                    "Type": m.kind,
                    "Source": m.source,
                    "Destination": m.destination,
                    "Driver": "",
                    "Mode": "",
                    "Options": m.options,
                    "RW": rw,
                    "Propagation": "",
                })
            }
        })
        .collect();
    serde_json::Value::Array(list)
}
