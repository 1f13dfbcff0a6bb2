//! Stored images as Podman shows them: `inspect` JSON and `images` rows.

use proto::storage::v1::Image;
use serde_json::{json, Value};

use crate::format::human;
use crate::image::reference::Reference;

pub fn config_json(img: &Image) -> Value {
    serde_json::from_slice(&img.config).unwrap_or(Value::Null)
}

fn manifest_json(img: &Image) -> Value {
    serde_json::from_slice(&img.manifest).unwrap_or(Value::Null)
}

pub fn created_unix(img: &Image) -> i64 {
    common::time::parse_rfc3339_secs(&img.created).unwrap_or(img.added_unix)
}

/// The image's names that are tags (not `repo@digest`): Podman's RepoTags.
pub fn tagged_names(img: &Image) -> Vec<String> {
    img.names
        .iter()
        .filter(|n| !n.contains('@'))
        .cloned()
        .collect()
}

/// Every name the image had, most recent first (a store that keeps no
/// history: its names now).
pub fn names_history(img: &Image) -> Vec<String> {
    if img.names_history.is_empty() {
        tagged_names(img)
    } else {
        img.names_history.clone()
    }
}

/// (repository, tag) pairs of the image's tagged names; one `<none>`
/// pair for none, as Podman's `images` rows.
pub fn repo_tags(img: &Image) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = tagged_names(img)
        .iter()
        .map(|n| match Reference::parse(n) {
            Ok(r) => (
                r.repository(),
                r.tag.clone().unwrap_or_else(|| "<none>".into()),
            ),
            Err(_) => (n.clone(), "<none>".into()),
        })
        .collect();
    if out.is_empty() {
        out.push(("<none>".into(), "<none>".into()));
    }
    out
}

pub fn repo_digests(img: &Image) -> Vec<String> {
    let mut out = Vec::new();
    for n in &img.names {
        if let Ok(r) = Reference::parse(n) {
            for d in img.digests.iter().chain(std::iter::once(&img.digest)) {
                let s = format!("{}@{d}", r.repository());
                if !d.is_empty() && !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    out
}

/// `image inspect` as Podman 5's ImageData: zero values as Podman has
/// them (Labels null without labels, Annotations only when there are
/// some), GraphDriver paths of the image's layers in our graph root.
pub fn inspect(img: &Image, driver: &str, graph_root: &std::path::Path) -> Value {
    let config = config_json(img);
    let manifest = manifest_json(img);
    let labels = match &config["config"]["Labels"] {
        Value::Object(m) if !m.is_empty() => Value::Object(m.clone()),
        _ => Value::Null,
    };
    let layers_dir = graph_root.join(format!("{driver}-layers"));
    let diff = |chain: &String| layers_dir.join(chain).join("diff").display().to_string();
    let mut data = serde_json::Map::new();
    // containers-storage's vfs driver has no layer metadata.
    let layers = if driver == "vfs" {
        &[][..]
    } else {
        &img.layers[..]
    };
    if let Some((top, lower)) = layers.split_last() {
        if !lower.is_empty() {
            let l: Vec<String> = lower.iter().rev().map(diff).collect();
            data.insert("LowerDir".into(), json!(l.join(":")));
        }
        data.insert("UpperDir".into(), json!(diff(top)));
        data.insert(
            "WorkDir".into(),
            json!(layers_dir.join(top).join("work").display().to_string()),
        );
    }
    let mut doc = json!({
        "Id": img.id,
        "Digest": img.digest,
        "RepoTags": tagged_names(img),
        "RepoDigests": repo_digests(img),
        "Parent": "",
        "Comment": config["comment"].as_str().unwrap_or(""),
        "Created": config["created"],
        "Config": if config["config"].is_object() { config["config"].clone() } else { json!({}) },
        "Version": config["docker_version"].as_str().unwrap_or(""),
        "Author": config["author"].as_str().unwrap_or(""),
        "Architecture": config["architecture"].as_str().unwrap_or(""),
        "Os": config["os"].as_str().unwrap_or(""),
        "Size": img.size,
        "VirtualSize": img.size,
        "GraphDriver": {"Name": driver, "Data": if driver == "vfs" { Value::Null } else { Value::Object(data) }},
        "RootFS": {"Type": "layers", "Layers": config["rootfs"]["diff_ids"].as_array().cloned().unwrap_or_default()},
        "Labels": labels,
        "ManifestType": img.manifest_media_type,
        "User": config["config"]["User"].as_str().unwrap_or(""),
        "History": config["history"].as_array().cloned().unwrap_or_default(),
        "NamesHistory": names_history(img),
    });
    if let Some(a) = manifest["annotations"]
        .as_object()
        .filter(|a| !a.is_empty())
    {
        doc["Annotations"] = Value::Object(a.clone());
    }
    doc
}

/// One row per name (or one `<none>` row) for `podman images`.
pub fn rows(img: &Image, containers: usize) -> Vec<Value> {
    let created = created_unix(img);
    let config = config_json(img);
    let dangling = img.names.is_empty();
    let labels = match &config["config"]["Labels"] {
        Value::Object(m) => Value::Object(m.clone()),
        _ => json!({}),
    };
    repo_tags(img)
        .into_iter()
        .map(|(repo, tag)| {
            json!({
                "ID": &img.id[..img.id.len().min(12)],
                "Id": img.id,
                "ParentId": "",
                "Repository": repo,
                "Tag": tag,
                "Digest": img.digest,
                "Digests": img.digests,
                "RepoTags": tagged_names(img),
                "RepoDigests": repo_digests(img),
                "Created": human::since(created),
                "CreatedUnix": created,
                "CreatedAt": go_time_string(created),
                "CreatedSince": human::since(created),
                "Size": human::size(img.size),
                "VirtualSize": img.size,
                "SharedSize": 0,
                "Names": img.names,
                "Labels": labels,
                "Dangling": dangling,
                "Containers": containers,
                "ReadOnly": false,
                "History": names_history(img).join(", "),
            })
        })
        .collect()
}

/// Go's `time.Time.String()` of a Unix time, in UTC:
/// `2024-01-02 15:04:05 +0000 UTC`.
pub fn go_time_string(secs: i64) -> String {
    let (y, m, d, h, mi, s) = common::time::utc(secs);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02} +0000 UTC")
}
