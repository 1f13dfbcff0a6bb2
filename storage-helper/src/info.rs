//! What storage-helper reports about the store and the host.

use serde::Serialize;

use crate::layout::Store;

#[derive(Debug, Serialize)]
pub struct StoreInfo {
    pub graph_root: String,
    pub run_root: String,
    pub driver: String,
    pub backing_filesystem: String,
    pub overlay_supported: bool,
    pub overlay_usable: Option<bool>,
    pub overlay_error: String,
    pub graph_root_total_bytes: u64,
    pub graph_root_used_bytes: u64,
    pub image_count: u32,
    pub layer_count: u32,
}

pub fn gather(store: &Store, probe: bool) -> StoreInfo {
    let (total, used) = crate::backing_fs::usage(&store.graph_root);
    let overlay_supported = crate::overlay_probe::kernel_supports_overlay();
    let (overlay_usable, overlay_error) = if probe {
        match crate::overlay_probe::try_mount(&store.tmp_dir()) {
            Ok(()) => (Some(true), String::new()),
            Err(e) => (Some(false), e),
        }
    } else {
        (None, String::new())
    };
    // Counts come from the index; a store never used has none.
    let (image_count, layer_count) = if store.db_path().exists() {
        crate::db::open(store)
            .and_then(|c| crate::db::counts(&c))
            .unwrap_or((0, 0))
    } else {
        (0, 0)
    };
    StoreInfo {
        graph_root: store.graph_root.display().to_string(),
        run_root: store.run_root.display().to_string(),
        driver: store.driver.name().to_string(),
        backing_filesystem: crate::backing_fs::name(&store.graph_root),
        overlay_supported,
        overlay_usable,
        overlay_error,
        graph_root_total_bytes: total,
        graph_root_used_bytes: used,
        image_count,
        layer_count,
    }
}

pub fn human(i: &StoreInfo) -> String {
    let usable = match i.overlay_usable {
        Some(true) => "yes".to_string(),
        Some(false) => format!("no ({})", i.overlay_error),
        None => "not probed (use --probe)".to_string(),
    };
    format!(
        "Graph root:   {} ({}, {} of {} bytes used)\nRun root:     {}\nDriver:       {}\nOverlay:      kernel {}, usable: {}\nImages:       {}\nLayers:       {}\n",
        i.graph_root,
        i.backing_filesystem,
        i.graph_root_used_bytes,
        i.graph_root_total_bytes,
        i.run_root,
        i.driver,
        if i.overlay_supported { "supports it" } else { "lacks it" },
        usable,
        i.image_count,
        i.layer_count
    )
}
