//! Human output of the subcommands, and `--json`.

use anyhow::Result;
use common::time::rfc3339_secs;
use serde::Serialize;

use crate::images::ImageRecord;

pub(super) fn print_json<T: Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub(super) fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.3} {}", UNITS[u])
    }
}

pub(super) fn image_line(i: &ImageRecord) -> String {
    let names = if i.names.is_empty() {
        "<none>".to_string()
    } else {
        i.names.join(",")
    };
    format!(
        "{:<14}{:<50} {:>12}  {}",
        i.short_id(),
        names,
        human_size(i.size),
        if i.created.is_empty() {
            "-"
        } else {
            &i.created
        }
    )
}

pub(super) fn image_detail(i: &ImageRecord) -> String {
    format!(
        "ID:        {}\nNames:     {}\nDigest:    {}\nDigests:   {}\nManifest:  {}\nCreated:   {}\nAdded:     {}\nSize:      {} ({} bytes)\nLayers:    {}\n",
        i.id,
        i.names.join(", "),
        i.digest,
        i.digests.join(", "),
        i.manifest_media_type,
        i.created,
        rfc3339_secs(i.added_unix),
        human_size(i.size),
        i.size,
        i.layers.join("\n           ")
    )
}
