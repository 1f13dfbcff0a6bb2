//! Volumes: storage that outlives containers. The record (configuration and
//! state) lives in the state database's `volumes` table; the data under the
//! volume path (`<graphroot>/volumes/<name>/_data`, as Podman). A volume of
//! the `local` driver with `type`/`device`/`o` options is a filesystem
//! mounted on `_data` while something uses it (`mount`).

pub mod attach;
pub mod copy;
pub mod filter;
pub mod mount;
pub mod options;
pub mod store;
pub mod subpath;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;

pub use store::VolumeError;

/// Fixed at create.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeConfig {
    pub name: String,
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    /// Driver options as given (`type`, `device`, `o`, `copy`/`nocopy`).
    pub options: BTreeMap<String, String>,
    /// Made for one container (`-v /path`, an image's VOLUME, or `volume
    /// create` without a name): `rm -v`, `--rm` and `volume prune` remove it.
    pub anonymous: bool,
    /// Owner of `_data` (`--uid`/`--gid`, or `o=uid=`/`o=gid=`).
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub created_ns: i64,
    /// Podman reports the lock it allocated; ours is the row's order.
    pub lock_number: u32,
}

/// Changes over the volume's life.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeState {
    /// The image's content at the first container path it is mounted on
    /// is still to be copied in (cleared once something was copied).
    pub needs_copy_up: bool,
    /// `_data` still takes the owner of the path it is mounted on.
    pub needs_chown: bool,
    /// Users of a volume that is a mounted filesystem (containers and
    /// `volume mount`); it is unmounted when this drops to zero.
    pub mount_count: u32,
}

#[derive(Debug, Clone)]
pub struct Volume {
    pub config: VolumeConfig,
    pub state: VolumeState,
}

/// The directory of volume `name` (holds `_data`).
pub fn dir(volume_path: &Path, name: &str) -> PathBuf {
    volume_path.join(name)
}

/// Where the volume's content is, on the host.
pub fn mountpoint(volume_path: &Path, name: &str) -> PathBuf {
    dir(volume_path, name).join("_data")
}

impl Volume {
    /// A filesystem is mounted on `_data` while the volume is used.
    pub fn needs_mount(&self) -> bool {
        self.config.driver == "local"
            && ["type", "device"]
                .iter()
                .any(|k| self.config.options.contains_key(*k))
    }

    /// Podman's `volume inspect` document.
    pub fn inspect_json(&self, volume_path: &Path) -> serde_json::Value {
        let c = &self.config;
        let mut v = json!({
            "Name": c.name,
            "Driver": c.driver,
            "Mountpoint": mountpoint(volume_path, &c.name),
            "CreatedAt": common::time::rfc3339_local(c.created_ns),
            "Labels": c.labels,
            "Scope": "local",
            "Options": c.options,
            "MountCount": self.state.mount_count,
            "NeedsCopyUp": self.state.needs_copy_up,
            "NeedsChown": self.state.needs_chown,
            "LockNumber": c.lock_number,
        });
        if let Some(u) = c.uid {
            v["UID"] = json!(u);
        }
        if let Some(g) = c.gid {
            v["GID"] = json!(g);
        }
        if c.anonymous {
            v["Anonymous"] = json!(true);
        }
        v
    }
}

/// What `volume create` (and a first use by a container) asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// Empty: a random 64-hex name, and the volume is anonymous.
    pub name: String,
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    pub options: Vec<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub anonymous: bool,
}

/// Make a volume: validate, record it, make its directories. Nothing stays
/// when a step fails.
pub fn create(
    db: &crate::state::State,
    volume_path: &Path,
    req: &CreateRequest,
) -> Result<Volume, VolumeError> {
    let driver = if req.driver.is_empty() {
        "local".to_string()
    } else {
        req.driver.clone()
    };
    if driver != "local" {
        return Err(VolumeError::Driver(driver));
    }
    let (name, anonymous) = if req.name.is_empty() {
        (common::random::hex_id().map_err(VolumeError::Random)?, true)
    } else {
        if !common::names::is_valid_name(&req.name) {
            return Err(VolumeError::InvalidName(req.name.clone()));
        }
        (req.name.clone(), req.anonymous)
    };
    let parsed = options::parse(&req.options)?;
    let config = VolumeConfig {
        name: name.clone(),
        driver,
        labels: req.labels.clone(),
        options: parsed.options,
        anonymous,
        uid: req.uid.or(parsed.uid),
        gid: req.gid.or(parsed.gid),
        created_ns: common::time::now_nanos(),
        lock_number: 0,
    };
    let state = VolumeState {
        needs_copy_up: !parsed.nocopy,
        needs_chown: true,
        mount_count: 0,
    };
    let config = store::insert(db, config, &state)?;
    let vol = Volume { config, state };
    if let Err(e) = make_dirs(volume_path, &vol) {
        let _ = store::delete(db, &name);
        let _ = std::fs::remove_dir_all(dir(volume_path, &name));
        return Err(e);
    }
    crate::events::volume("create", &name);
    Ok(vol)
}

/// `<name>` 0700 (only root reaches into volumes), `_data` 0755 owned by
/// the volume's UID/GID, as Podman makes them.
fn make_dirs(volume_path: &Path, vol: &Volume) -> Result<(), VolumeError> {
    use std::os::unix::fs::DirBuilderExt;
    common::private_dir::ensure(volume_path).map_err(VolumeError::Fs)?;
    let d = dir(volume_path, &vol.config.name);
    let data = d.join("_data");
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| VolumeError::Io(p, e)
    };
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&d)
        .map_err(io(&d))?;
    std::fs::DirBuilder::new()
        .mode(0o755)
        .create(&data)
        .map_err(io(&data))?;
    if vol.config.uid.is_some() || vol.config.gid.is_some() {
        std::os::unix::fs::lchown(&data, vol.config.uid, vol.config.gid).map_err(io(&data))?;
    }
    Ok(())
}

/// Remove a volume nothing uses: unmount what is left mounted, delete the
/// record and the data.
pub fn remove(
    db: &crate::state::State,
    volume_path: &Path,
    run_root: &Path,
    name: &str,
) -> Result<(), VolumeError> {
    let _lock = mount::lock(run_root, name)?;
    let vol = store::get(db, name)?;
    if vol.needs_mount() {
        mount::force_unmount(volume_path, name);
    }
    store::delete(db, name)?;
    let d = dir(volume_path, name);
    if let Err(e) = std::fs::remove_dir_all(&d) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(VolumeError::Io(d, e));
        }
    }
    let _ = std::fs::remove_file(mount::lock_path(run_root, name));
    crate::events::volume("remove", name);
    Ok(())
}

/// Containers (id, name) whose mounts name volume `name`.
pub fn users(
    db: &crate::state::State,
    name: &str,
) -> Result<Vec<(String, String)>, crate::container::store::ContainerStoreError> {
    Ok(crate::container::store::list(db)?
        .into_iter()
        .filter(|(c, _)| {
            c.mounts
                .iter()
                .any(|m| m.kind == "volume" && m.source == name)
        })
        .map(|(c, _)| (c.id, c.name))
        .collect())
}
