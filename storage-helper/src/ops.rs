//! Small operations shared by the gRPC service and the subcommands.

use crate::containers::{self, ContainerRecord};
use crate::db;
use crate::error::{Result, StoreError};
use crate::images::{self, ImageRecord};
use crate::layout::Store;
use crate::resolve;

pub fn list_images(store: &Store) -> Result<Vec<ImageRecord>> {
    crate::cstorage_images::refresh(store);
    if !store.db_path().exists() {
        return Ok(Vec::new());
    }
    images::list(&*db::open(store)?)
}

pub fn get_image(store: &Store, spec: &str) -> Result<ImageRecord> {
    crate::cstorage_images::refresh(store);
    if !store.db_path().exists() {
        return Err(StoreError::NotFound(format!("{spec}: image not known")));
    }
    Ok(resolve::resolve(&*db::open(store)?, spec)?.image)
}

pub fn tag_image(store: &Store, spec: &str, new_name: &str) -> Result<ImageRecord> {
    crate::cstorage_images::refresh(store);
    let conn = db::open(store)?;
    let img = resolve::resolve(&conn, spec)?.image;
    images::tag(&conn, &img.id, new_name)?;
    reload(&conn, &img.id)
}

pub fn untag_image(store: &Store, spec: &str, name: &str) -> Result<ImageRecord> {
    crate::cstorage_images::refresh(store);
    let conn = db::open(store)?;
    let img = resolve::resolve(&conn, spec)?.image;
    images::untag(&conn, &img.id, name)?;
    reload(&conn, &img.id)
}

fn reload(conn: &rusqlite::Connection, id: &str) -> Result<ImageRecord> {
    images::load(conn, id)?
        .ok_or_else(|| StoreError::NotFound(format!("image {id} was removed meanwhile")))
}

pub fn get_container(store: &Store, id: &str) -> Result<ContainerRecord> {
    containers::validate_id(id)?;
    if !store.db_path().exists() {
        return Err(StoreError::NotFound(format!(
            "container {id}: no such container layer in this store"
        )));
    }
    containers::load(store, &*db::open(store)?, id)
}
