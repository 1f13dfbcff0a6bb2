//! Podman's rmi, storage part: untag or delete an image record, then
//! collect the layers and blobs nothing refers to any more.

use serde::Serialize;
use tracing::debug;

use crate::db;
use crate::error::{Result, StoreError};
use crate::gc::{self, GcReport};
use crate::images;
use crate::layout::Store;
use crate::resolve;

#[derive(Debug, Clone, Default, Serialize)]
pub struct RemoveReport {
    pub untagged: Vec<String>,
    pub deleted: Option<String>,
    pub containers: Vec<String>,
    pub gc: GcReport,
}

/// Remove `spec`: by one of several names only untags it (like Podman);
/// by ID with several names needs `force`; an image used by containers is
/// refused unless `force`, which keeps their layers pinned.
pub fn remove_image(store: &Store, spec: &str, force: bool) -> Result<RemoveReport> {
    crate::cstorage_images::refresh(store);
    let conn = db::open(store)?;
    let r = resolve::resolve(&conn, spec)?;
    let img = r.image;
    let mut report = RemoveReport::default();
    if let Some(name) = &r.by_name {
        if img.names.len() > 1 {
            report.untagged = images::untag(&conn, &img.id, name)?;
            debug!(image = %img.short_id(), name, "untagged (the image keeps other names)");
            return Ok(report);
        }
    } else if img.names.len() > 1 && !force {
        return Err(StoreError::FailedPrecondition(format!(
            "image {} has several names ({}): remove them one by one, or by ID with force",
            img.short_id(),
            img.names.join(", ")
        )));
    }
    let tx = db::immediate(&conn)?;
    let users = images::containers_using(&tx, &img.id)?;
    if !users.is_empty() && !force {
        return Err(StoreError::FailedPrecondition(format!(
            "image {} is in use by container{} {}: remove {} first, or force",
            img.label(),
            if users.len() > 1 { "s" } else { "" },
            users.join(", "),
            if users.len() > 1 { "them" } else { "it" }
        )));
    }
    tx.execute(
        "UPDATE containers SET image_id = NULL WHERE image_id = ?1",
        [&img.id],
    )
    .map_err(StoreError::db("detaching containers"))?;
    let n = tx
        .execute("DELETE FROM images WHERE id = ?1", [&img.id])
        .map_err(StoreError::db(format!("deleting image {}", img.id)))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!(
            "{spec}: image not known (removed by another process meanwhile)"
        )));
    }
    tx.commit()
        .map_err(StoreError::db(format!("deleting image {}", img.id)))?;
    crate::image_mounts::unmount_all(store, &img.id)?;
    report.untagged = img.names.clone();
    report.deleted = Some(img.id.clone());
    report.containers = users;
    debug!(image = %img.short_id(), "deleted image record");
    report.gc = gc::collect(store)?;
    Ok(report)
}
