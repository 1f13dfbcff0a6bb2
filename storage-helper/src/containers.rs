//! Container layers: with overlay a writable upper dir and a work dir on
//! top of an image's layers, with vfs a full copy of the image's top
//! layer. The record pins those layers (container_layers), so they outlive
//! even a forced removal of the image.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::file_lock::FileLock;
use common::time::now_unix;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use tracing::debug;

use crate::db;
use crate::driver::Driver;
use crate::error::{Result, StoreError};
use crate::layers;
use crate::layout::{unique_suffix, Store};
use crate::mount_table;
use crate::resolve;

#[derive(Debug, Clone, Serialize)]
pub struct ContainerRecord {
    pub id: String,
    pub image_id: Option<String>,
    pub layers: Vec<String>,
    pub upper_dir: String,
    pub work_dir: String,
    pub mountpoint: String,
    pub mount_count: u32,
    pub mount_label: String,
    pub created_unix: i64,
    /// See [`VOLATILE_MARK`].
    pub volatile: bool,
    /// Its user namespace's mappings (see [`crate::idmap`]).
    pub idmap: Option<crate::idmap::Mapping>,
    /// A `--rootfs` container's directory (see [`crate::rootfs`]).
    pub rootfs: Option<crate::rootfs::Rootfs>,
}

/// A file in a container's directory that marks it volatile (created for a
/// `run --rm`): no fsync of its record, overlay mounted with `volatile`.
pub const VOLATILE_MARK: &str = "volatile";

/// Container ids name directories and mount points: Podman's name rule,
/// at most 128 long.
pub fn validate_id(id: &str) -> Result<()> {
    if common::names::is_valid_id(id, 128) {
        Ok(())
    } else {
        Err(StoreError::InvalidArgument(format!(
            "invalid container id {id:?}: use up to 128 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )))
    }
}

/// The record of `id` (mount count included), NotFound when absent.
pub fn load(store: &Store, conn: &Connection, id: &str) -> Result<ContainerRecord> {
    let row = conn
        .query_row(
            "SELECT id, image_id, mount_label, created_unix FROM containers WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()
        .map_err(StoreError::db(format!("reading container {id}")))?;
    let Some((id, image_id, mount_label, created_unix)) = row else {
        return Err(StoreError::NotFound(format!(
            "container {id}: no such container layer in this store"
        )));
    };
    let layers = {
        let mut st = conn
            .prepare_cached(
                "SELECT chain_id FROM container_layers WHERE container_id = ?1 ORDER BY position",
            )
            .map_err(StoreError::db("reading container layers"))?;
        let rows = st
            .query_map([&id], |r| r.get(0))
            .map_err(StoreError::db("reading container layers"))?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
            .map_err(StoreError::db("reading container layers"))?
    };
    let dir = store.container_dir(&id);
    let rootfs = crate::rootfs::Rootfs::load(&dir)?;
    let (upper_dir, work_dir) = match (&rootfs, store.driver) {
        (Some(r), _) if !r.overlay => (r.path.display().to_string(), String::new()),
        (Some(_), _) | (None, Driver::Overlay) => (
            dir.join("diff").display().to_string(),
            dir.join("work").display().to_string(),
        ),
        (None, Driver::Vfs) => (
            store.container_root(&id).display().to_string(),
            String::new(),
        ),
    };
    Ok(ContainerRecord {
        idmap: crate::idmap::Mapping::load(&dir)?,
        volatile: dir.join(VOLATILE_MARK).exists(),
        upper_dir,
        work_dir,
        mountpoint: mount_table::target_of(store, &id, rootfs.as_ref())
            .0
            .display()
            .to_string(),
        rootfs,
        mount_count: mount_table::current_count(store, &id),
        id,
        image_id,
        layers,
        mount_label,
        created_unix,
    })
}

pub fn list(store: &Store) -> Result<Vec<ContainerRecord>> {
    if !store.db_path().exists() {
        return Ok(Vec::new());
    }
    let conn = db::open(store)?;
    let ids: Vec<String> = {
        let mut st = conn
            .prepare("SELECT id FROM containers ORDER BY created_unix, id")
            .map_err(StoreError::db("listing containers"))?;
        let rows = st
            .query_map([], |r| r.get(0))
            .map_err(StoreError::db("listing containers"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(StoreError::db("listing containers"))?
    };
    ids.iter().map(|id| load(store, &conn, id)).collect()
}

/// Lock container `id` for mount changes and removal.
pub fn lock(store: &Store, id: &str) -> Result<FileLock> {
    validate_id(id)?;
    let dir = store.container_dir(id);
    if !dir.is_dir() {
        return Err(StoreError::NotFound(format!(
            "container {id}: no such container layer in this store"
        )));
    }
    FileLock::exclusive(&dir.join("lock")).map_err(|e| {
        if dir.is_dir() {
            e.into()
        } else {
            StoreError::NotFound(format!("container {id}: it was removed meanwhile"))
        }
    })
}

/// CreateContainer.
pub fn create(
    store: &Store,
    id: &str,
    image: &str,
    mount_label: &str,
    volatile: bool,
    idmap: Option<crate::idmap::Mapping>,
    rootfs: Option<crate::rootfs::Rootfs>,
) -> Result<ContainerRecord> {
    validate_id(id)?;
    if rootfs.is_some() && (!image.is_empty() || idmap.is_some()) {
        return Err(StoreError::InvalidArgument(
            "a rootfs container has no image and no user namespace mappings: drop the image or the rootfs".into(),
        ));
    }
    if mount_label.chars().any(|c| c == '"' || c.is_control()) {
        return Err(StoreError::InvalidArgument(format!(
            "invalid mount label {mount_label:?}: quotes and control characters are not allowed"
        )));
    }
    let _barrier = store.barrier()?;
    store.ensure_dirs()?;
    let conn = db::open(store)?;
    let exists = |conn: &Connection| -> Result<bool> {
        Ok(conn
            .query_row("SELECT 1 FROM containers WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .map_err(StoreError::db("checking container id"))?
            .is_some())
    };
    if exists(&conn)? {
        return Err(StoreError::AlreadyExists(format!(
            "container {id} already has a container layer: remove it first or pick another id"
        )));
    }
    let image = if image.is_empty() {
        None
    } else {
        Some(resolve::resolve(&conn, image)?.image)
    };
    let chain: Vec<String> = image.as_ref().map(|i| i.layers.clone()).unwrap_or_default();

    let dir = store.container_dir(id);
    let tmp = store
        .containers_dir()
        .join(format!(".tmp-{id}-{}", unique_suffix()));
    let root = store.container_root(id);
    let made = (|| -> Result<()> {
        match (&rootfs, store.driver) {
            (Some(r), _) => {
                common::private_dir::create(&tmp)?;
                if r.overlay {
                    rootfs_layer(&tmp, &r.path)?;
                }
                r.save(&tmp)?;
            }
            (None, Driver::Overlay) => {
                // The container's directory and its work dir 0700; `diff`
                // (its root) takes the image root's mode below.
                common::private_dir::create(&tmp.join("work"))?;
                let upper = tmp.join("diff");
                std::fs::create_dir(&upper).map_err(|e| StoreError::path("creating", &upper, e))?;
                // The merged root takes the upper dir's owner and mode: copy
                // them from the image's root.
                let root_meta = chain
                    .last()
                    .and_then(|top| std::fs::metadata(store.layer_root(top)).ok());
                let (mode, uid, gid) = root_meta
                    .map(|m| (m.mode() & 0o7777, m.uid(), m.gid()))
                    .unwrap_or((0o755, 0, 0));
                // In a user namespace the root is the mapped owner's.
                let (uid, gid) = match &idmap {
                    Some(m) => m.to_host(uid, gid),
                    None => (uid, gid),
                };
                if let Some(m) = &idmap {
                    m.save(&tmp)?;
                }
                std::os::unix::fs::chown(&upper, Some(uid), Some(gid))
                    .map_err(|e| StoreError::path("chown", &upper, e))?;
                std::fs::set_permissions(
                    &upper,
                    std::os::unix::fs::PermissionsExt::from_mode(mode),
                )
                .map_err(|e| StoreError::path("chmod", &upper, e))?;
            }
            (None, Driver::Vfs) => {
                if idmap.is_some() {
                    return Err(StoreError::InvalidArgument(
                        "user namespace mappings are not supported with the vfs driver yet: use the overlay driver".into(),
                    ));
                }
                common::private_dir::create(&tmp)?;
                make_vfs_root(store, id, chain.last(), &root)?;
            }
        }
        std::fs::write(tmp.join("lock"), b"")
            .map_err(|e| StoreError::path("creating lock in", &tmp, e))?;
        if volatile {
            std::fs::write(tmp.join(VOLATILE_MARK), b"")
                .map_err(|e| StoreError::path("marking volatile", &tmp, e))?;
        }
        std::fs::rename(&tmp, &dir).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOTEMPTY) | Some(libc::EEXIST) => StoreError::AlreadyExists(format!(
                "container {id} is being created by another process"
            )),
            _ => StoreError::path("renaming into place", &dir, e),
        })
    })();
    if let Err(e) = made {
        let _ = crate::fsutil::remove_tree(&tmp);
        if store.driver == Driver::Vfs && rootfs.is_none() && !dir.exists() {
            let _ = layers::trash(store, &root);
        }
        return Err(e);
    }
    if volatile {
        conn.skip_fsync()?;
    }
    let recorded = (|| -> Result<()> {
        let tx = db::immediate(&conn)?;
        if exists(&tx)? {
            return Err(StoreError::AlreadyExists(format!(
                "container {id} was created by another process meanwhile"
            )));
        }
        if let Some(img) = &image {
            let still: bool = tx
                .query_row("SELECT 1 FROM images WHERE id = ?1", [&img.id], |_| Ok(()))
                .optional()
                .map_err(StoreError::db("checking image"))?
                .is_some();
            if !still {
                return Err(StoreError::NotFound(format!(
                    "image {} was removed while creating container {id}",
                    img.label()
                )));
            }
        }
        tx.execute(
            "INSERT INTO containers (id, image_id, mount_label, created_unix) VALUES (?1, ?2, ?3, ?4)",
            params![id, image.as_ref().map(|i| i.id.clone()), mount_label, now_unix()],
        )
        .map_err(StoreError::db(format!("recording container {id}")))?;
        for (i, c) in chain.iter().enumerate() {
            tx.execute("INSERT INTO container_layers (container_id, position, chain_id) VALUES (?1, ?2, ?3)", params![id, i as i64, c])
                .map_err(StoreError::db(format!("recording container {id}")))?;
        }
        tx.commit()
            .map_err(StoreError::db(format!("recording container {id}")))
    })();
    if let Err(e) = recorded {
        let _ = layers::trash(store, &dir);
        if store.driver == Driver::Vfs && rootfs.is_none() {
            let _ = layers::trash(store, &root);
        }
        return Err(e);
    }
    debug!(container = id, image = ?image.as_ref().map(|i| i.short_id().to_string()), layers = chain.len(), "created container layer");
    load(store, &conn, id)
}

/// RemoveContainer: unmount (all counts), delete the record, then the dirs.
/// Returns whether it was mounted.
pub fn remove(store: &Store, id: &str) -> Result<bool> {
    let conn = db::open(store)?;
    let dir = store.container_dir(id);
    if !dir.is_dir() {
        // A record whose directory is gone (manual deletion): drop it.
        validate_id(id)?;
        let tx = db::immediate(&conn)?;
        let n = tx
            .execute("DELETE FROM containers WHERE id = ?1", [id])
            .map_err(StoreError::db(format!("deleting container {id}")))?;
        tx.commit()
            .map_err(StoreError::db(format!("deleting container {id}")))?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "container {id}: no such container layer in this store"
            )));
        }
        return Ok(false);
    }
    let _lock = lock(store, id)?;
    let rec = load(store, &conn, id)?;
    let was_mounted = mount_table::unmount_all(store, id)?;
    if rec.volatile {
        conn.skip_fsync()?;
    }
    let tx = db::immediate(&conn)?;
    tx.execute("DELETE FROM containers WHERE id = ?1", [id])
        .map_err(StoreError::db(format!("deleting container {id}")))?;
    tx.commit()
        .map_err(StoreError::db(format!("deleting container {id}")))?;
    layers::trash(store, &dir)?;
    // A rootfs container's root is the user's directory: never removed.
    if store.driver == Driver::Vfs && rec.rootfs.is_none() {
        layers::trash(store, &store.container_root(id))?;
    }
    let _ = crate::fsutil::remove_tree(&store.container_run_dir(id));
    layers::empty_trash(store);
    // Its layers may have been kept only by this container (image removed
    // with force).
    let image_gone = match &rec.image_id {
        Some(img) => crate::images::load(&conn, img)?.is_none(),
        None => true,
    };
    if image_gone && !rec.layers.is_empty() {
        crate::gc::collect(store)?;
    }
    debug!(container = id, was_mounted, "removed container layer");
    Ok(was_mounted)
}

/// The writable layer of a rootfs container with an overlay: `work` 0700,
/// `diff` with the mode and owner of the user's directory (the merged
/// root shows the upper dir's).
fn rootfs_layer(tmp: &Path, lower: &Path) -> Result<()> {
    common::private_dir::create(&tmp.join("work"))?;
    let upper = tmp.join("diff");
    std::fs::create_dir(&upper).map_err(|e| StoreError::path("creating", &upper, e))?;
    let m = std::fs::metadata(lower).map_err(|e| StoreError::path("reading", lower, e))?;
    std::os::unix::fs::chown(&upper, Some(m.uid()), Some(m.gid()))
        .map_err(|e| StoreError::path("chown", &upper, e))?;
    std::fs::set_permissions(
        &upper,
        std::os::unix::fs::PermissionsExt::from_mode(m.mode() & 0o7777),
    )
    .map_err(|e| StoreError::path("chmod", &upper, e))
}

/// A vfs container's root: a copy of its image's top layer (or an empty
/// directory), made beside it and renamed into place.
fn make_vfs_root(store: &Store, id: &str, top: Option<&String>, root: &Path) -> Result<()> {
    let tmp = store
        .layers_dir()
        .join(format!(".tmp-{id}-{}", unique_suffix()));
    let made = match top {
        Some(top) => {
            let from = store.layer_root(top);
            crate::vfs::copy_tree(&from, &tmp).map_err(|e| {
                StoreError::path(
                    &format!("container {id}: copying its image's layer"),
                    &from,
                    e,
                )
            })
        }
        None => std::fs::create_dir(&tmp).map_err(|e| StoreError::path("creating", &tmp, e)),
    };
    let made = made.and_then(|()| {
        std::fs::rename(&tmp, root).map_err(|e| StoreError::path("renaming into place", root, e))
    });
    if made.is_err() {
        let _ = crate::fsutil::remove_tree(&tmp);
    }
    made
}

/// Lower layer directories of an overlay container, top first.
pub fn lower_dirs(store: &Store, rec: &ContainerRecord) -> Vec<std::path::PathBuf> {
    rec.layers
        .iter()
        .rev()
        .map(|c| store.layer_root(c))
        .collect()
}

pub fn upper(rec: &ContainerRecord) -> &Path {
    Path::new(&rec.upper_dir)
}
