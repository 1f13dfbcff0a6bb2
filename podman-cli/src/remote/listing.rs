//! Listings printed by the local commands' own report code from what the
//! service answers: `images`, `port`, `top`.

use serde_json::{json, Value};

use super::client;
use super::containers::enc;
use super::Target;
use crate::commands::images::{ImagesArgs, Users};
use crate::commands::port::PortArgs;
use crate::commands::ps::Entry;
use crate::commands::top::TopArgs;
use proto::storage::v1::Image;

fn strip_sha(s: &str) -> &str {
    s.strip_prefix("sha256:").unwrap_or(s)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The service's image summary as the store's record the report reads:
/// names, digests, size, creation time and labels (the config carries
/// only those two).
fn image_of(s: &Value) -> Image {
    let created = s["Created"].as_i64().unwrap_or(0);
    let created_text = common::time::rfc3339_secs(created);
    let digest = s["Digest"].as_str().unwrap_or_default().to_string();
    let mut digests: Vec<String> = Vec::new();
    for rd in strings(&s["RepoDigests"]) {
        if let Some((_, d)) = rd.split_once('@') {
            if !digests.iter().any(|x| x == d) {
                digests.push(d.to_string());
            }
        }
    }
    let labels = match &s["Labels"] {
        Value::Object(m) if !m.is_empty() => Value::Object(m.clone()),
        _ => Value::Null,
    };
    let config = json!({"created": created_text, "config": {"Labels": labels}});
    Image {
        id: strip_sha(s["Id"].as_str().unwrap_or_default()).to_string(),
        names: strings(&s["Names"]),
        digest,
        digests,
        config: serde_json::to_vec(&config).unwrap_or_default(),
        size: s["Size"].as_u64().unwrap_or(0),
        created: created_text,
        ..Default::default()
    }
}

async fn entries(t: &Target) -> anyhow::Result<Vec<Entry>> {
    let v = client::get_json(t, "/containers/json?all=true").await?;
    Ok(serde_json::from_value::<Vec<Entry>>(v)
        .map_err(|e| anyhow::anyhow!("the service's container list is not understood: {e}"))?
        .into_iter()
        .map(Entry::with_port_specs)
        .collect())
}

/// `images`: the service's images and their containers, filtered, sorted
/// and printed here by the local report.
pub async fn images(t: &Target, a: &ImagesArgs) -> anyhow::Result<()> {
    let list = client::get_json(t, &format!("/images/json?all={}", a.all)).await?;
    let all: Vec<Image> = list
        .as_array()
        .map(|l| l.iter().map(image_of).collect())
        .unwrap_or_default();
    let mut users = Users::new();
    for e in entries(t).await? {
        users
            .entry(strip_sha(&e.image_id).to_string())
            .or_default()
            .push((e.id.clone(), e.names.first().cloned().unwrap_or_default()));
    }
    crate::commands::images::report(a, all, &users)
}

/// `port`: the published ports of one container (the service resolves
/// the name) or of all.
pub async fn port(t: &Target, a: &PortArgs) -> anyhow::Result<()> {
    if a.latest {
        anyhow::bail!(
            "--latest is not available with the remote client of podman-rs: name the container"
        );
    }
    let mut list = entries(t).await?;
    if !a.all {
        let c = a.container.as_deref().ok_or_else(|| {
            anyhow::anyhow!("give a container name or ID, or use --all or --latest")
        })?;
        let doc = client::get_json(t, &format!("/containers/{}/json", enc(c))).await?;
        let id = doc["Id"].as_str().unwrap_or_default();
        list.retain(|e| e.id == id);
    }
    let rows: Vec<_> = list
        .into_iter()
        .map(|e| (e.id, e.state == "running", e.port_specs))
        .collect();
    crate::commands::port::print(a, &rows)
}

/// `top`: the service reads the processes (descriptors as `ps_args`); the
/// table is aligned here as the local one.
pub async fn top(t: &Target, a: &TopArgs) -> anyhow::Result<()> {
    if a.latest {
        anyhow::bail!(
            "--latest is not available with the remote client of podman-rs: name the container"
        );
    }
    let (name, descriptors) = a
        .args
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("top needs a container name or ID, or --latest"))?;
    // As given: the service splits them at spaces, then at commas.
    let mut path = format!("/containers/{}/top", enc(name));
    if !descriptors.is_empty() {
        path.push_str(&format!("?ps_args={}", enc(&descriptors.join(" "))));
    }
    let v = client::get_json(t, &path).await?;
    let row = |r: &Value| strings(r).join("\t");
    let mut lines = vec![row(&v["Titles"])];
    lines.extend(v["Processes"].as_array().into_iter().flatten().map(row));
    print!("{}", crate::format::table::align(&lines));
    Ok(())
}
