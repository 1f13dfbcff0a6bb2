//! `podman system df`: disk usage of images, containers and volumes, as
//! Podman computes it (cmd/podman/system/df.go over libimage's
//! DiskUsage): a layer used by more than one image is shared, the rest
//! and the image's own metadata (manifest, config) unique; a container's
//! size is its writable layer; a volume's the bytes under its data.

use std::collections::{HashMap, HashSet};

use clap::Args;
use proto::storage::v1::{Image, ListContainersRequest, ListImagesRequest};
use serde_json::{json, Value};

use crate::engine_config::EngineConfig;
use crate::format::human::{since, size_compact};

#[derive(Debug, Clone, Args)]
pub struct DfArgs {
    /// Show detailed information on disk usage
    #[arg(short, long)]
    pub verbose: bool,
    /// Pretty-print the summary using a Go template (or json)
    #[arg(long)]
    pub format: Option<String>,
}

/// One image name's line (libimage's ImageDiskUsage).
struct ImageUsage {
    repository: String,
    tag: String,
    id: String,
    created_unix: i64,
    shared: u64,
    unique: u64,
    containers: usize,
}

struct ContainerUsage {
    id: String,
    image: String,
    command: String,
    volumes: usize,
    rw: u64,
    created_unix: i64,
    status: &'static str,
    name: String,
}

struct VolumeUsage {
    name: String,
    links: usize,
    size: u64,
}

/// One row of the summary (Podman's dfSummary).
struct Summary {
    kind: &'static str,
    total: usize,
    active: usize,
    raw_size: u64,
    raw_reclaimable: u64,
}

impl Summary {
    fn reclaimable(&self) -> String {
        let percent = if self.raw_size > 0 {
            (self.raw_reclaimable as f64 / self.raw_size as f64 * 100.0).round() as i64
        } else {
            0
        };
        format!("{} ({percent}%)", size_compact(self.raw_reclaimable))
    }

    /// The template fields, and the JSON Podman prints (its struct's
    /// fields, then the Docker-compatible TotalCount, Size, Reclaimable).
    fn doc(&self) -> Value {
        json!({
            "Type": self.kind,
            "Total": self.total,
            "Active": self.active,
            "RawSize": self.raw_size,
            "RawReclaimable": self.raw_reclaimable,
            "TotalCount": self.total,
            "Size": size_compact(self.raw_size),
            "Reclaimable": self.reclaimable(),
        })
    }
}

/// `repo:tag` of a stored name (the tag `<none>` for a digest reference).
fn repo_tag(name: &str) -> (String, String) {
    let base = name.split('@').next().unwrap_or(name);
    match base.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
        _ => (base.to_string(), "<none>".to_string()),
    }
}

/// libimage's DiskUsage: each image's shared and unique bytes (one line
/// per name), and the total: every layer once plus each image's metadata.
fn image_usage(images: &[Image], users: &HashMap<String, usize>) -> (Vec<ImageUsage>, u64) {
    let mut layer_count: HashMap<&str, usize> = HashMap::new();
    let mut layer_size: HashMap<&str, u64> = HashMap::new();
    for img in images {
        let mut seen = HashSet::new();
        for (i, l) in img.layers.iter().enumerate() {
            if seen.insert(l.as_str()) {
                *layer_count.entry(l).or_default() += 1;
                layer_size.insert(l, img.layer_sizes.get(i).copied().unwrap_or(0));
            }
        }
    }
    let mut total: u64 = layer_size.values().sum();
    let mut out = Vec::new();
    for img in images {
        let metadata = (img.manifest.len() + img.config.len()) as u64;
        total += metadata;
        let (mut shared, mut unique) = (0, metadata);
        let mut seen = HashSet::new();
        for (i, l) in img.layers.iter().enumerate() {
            if !seen.insert(l.as_str()) {
                continue;
            }
            let n = img.layer_sizes.get(i).copied().unwrap_or(0);
            if layer_count.get(l.as_str()).copied().unwrap_or(0) > 1 {
                shared += n;
            } else {
                unique += n;
            }
        }
        let base = ImageUsage {
            repository: "<none>".into(),
            tag: "<none>".into(),
            id: img.id.clone(),
            created_unix: common::time::parse_rfc3339_secs(&img.created).unwrap_or(0),
            shared,
            unique,
            containers: users.get(&img.id).copied().unwrap_or(0),
        };
        if img.names.is_empty() {
            out.push(base);
            continue;
        }
        for n in &img.names {
            let (repository, tag) = repo_tag(n);
            out.push(ImageUsage {
                repository,
                tag,
                id: base.id.clone(),
                ..base
            });
        }
    }
    (out, total)
}

async fn collect(
    engine: &EngineConfig,
) -> anyhow::Result<(Vec<ImageUsage>, u64, Vec<ContainerUsage>, Vec<VolumeUsage>)> {
    let mut storage = crate::helper_procs::storage(engine).await?;
    let listed = storage
        .call("ListImages", |mut c| async move {
            c.list_images(ListImagesRequest { all: true }).await
        })
        .await;
    let uppers = storage
        .call("ListContainers", |mut c| async move {
            c.list_containers(ListContainersRequest {}).await
        })
        .await;
    storage.close().await?;
    let images = listed?.images;
    let uppers: HashMap<String, String> = uppers?
        .containers
        .into_iter()
        .map(|c| (c.id, c.upper_dir))
        .collect();

    let db = crate::state::open_state(engine)?;
    let records = crate::container::store::list(&db)?;
    let mut users: HashMap<String, usize> = HashMap::new();
    let mut volume_links: HashMap<String, usize> = HashMap::new();
    let mut containers = Vec::new();
    for (cfg, st) in &records {
        if !cfg.image_id.is_empty() {
            *users.entry(cfg.image_id.clone()).or_default() += 1;
        }
        let volumes: HashSet<&str> = cfg
            .mounts
            .iter()
            .filter(|m| m.kind == "volume")
            .map(|m| m.source.as_str())
            .collect();
        for v in &volumes {
            *volume_links.entry(v.to_string()).or_default() += 1;
        }
        let rw = uppers
            .get(&cfg.id)
            .filter(|u| !u.is_empty())
            .map(|u| crate::container::disk_usage::tree_bytes(std::path::Path::new(u)))
            .unwrap_or(0);
        containers.push(ContainerUsage {
            id: cfg.id.clone(),
            image: cfg.image_id.clone(),
            command: cfg
                .entrypoint
                .iter()
                .chain(&cfg.cmd)
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
            volumes: volumes.len(),
            rw,
            created_unix: cfg.created_ns.div_euclid(1_000_000_000),
            status: st.status.as_str(),
            name: cfg.name.clone(),
        });
    }
    let volumes = crate::volume::store::list(&db)?
        .into_iter()
        .map(|v| {
            let name = v.config.name.clone();
            VolumeUsage {
                size: crate::container::disk_usage::tree_bytes(&crate::volume::mountpoint(
                    &engine.volume_path,
                    &name,
                )),
                links: volume_links.get(&name).copied().unwrap_or(0),
                name,
            }
        })
        .collect();
    let (image_lines, images_size) = image_usage(&images, &users);
    Ok((image_lines, images_size, containers, volumes))
}

pub async fn run(engine: &EngineConfig, a: &DfArgs) -> anyhow::Result<()> {
    if a.format.is_some() && a.verbose {
        anyhow::bail!("cannot combine --format and --verbose flags");
    }
    let (images, images_size, containers, volumes) = collect(engine).await?;
    if a.verbose {
        return print_verbose(&images, &containers, &volumes);
    }
    // An image counts once however many names it has.
    let mut seen = HashSet::new();
    let (mut active, mut used) = (0, 0);
    for i in &images {
        if seen.insert(i.id.as_str()) && i.containers > 0 {
            active += 1;
            used += i.unique;
        }
    }
    let running = |c: &&ContainerUsage| c.status == "running";
    let rows = [
        Summary {
            kind: "Images",
            total: images.len(),
            active,
            raw_size: images_size,
            raw_reclaimable: images_size.saturating_sub(used),
        },
        Summary {
            kind: "Containers",
            total: containers.len(),
            active: containers.iter().filter(running).count(),
            raw_size: containers.iter().map(|c| c.rw).sum(),
            raw_reclaimable: containers
                .iter()
                .filter(|c| !running(c))
                .map(|c| c.rw)
                .sum(),
        },
        Summary {
            kind: "Local Volumes",
            total: volumes.len(),
            active: volumes.iter().map(|v| v.links).sum(),
            raw_size: volumes.iter().map(|v| v.size).sum(),
            raw_reclaimable: volumes
                .iter()
                .filter(|v| v.links == 0)
                .map(|v| v.size)
                .sum(),
        },
    ];
    let docs: Vec<Value> = rows.iter().map(Summary::doc).collect();
    if a.format
        .as_deref()
        .is_some_and(crate::format::report::is_json)
    {
        println!("{}", crate::format::json_indent(&docs, "    ")?);
        return Ok(());
    }
    let headers: HashMap<&str, &str> = [("Size", "SIZE"), ("Reclaimable", "RECLAIMABLE")]
        .into_iter()
        .collect();
    let format = a.format.clone().unwrap_or_else(|| {
        "table {{.Type}}\t{{.Total}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}".into()
    });
    print!(
        "{}",
        crate::format::table::render_rows(&format, &docs, &headers, false)?
    );
    Ok(())
}

fn print_verbose(
    images: &[ImageUsage],
    containers: &[ContainerUsage],
    volumes: &[VolumeUsage],
) -> anyhow::Result<()> {
    let short = |s: &str| s.get(..12).unwrap_or("").to_string();
    let table = |format: &str, rows: Vec<Value>, headers: &[(&str, &str)]| {
        let headers: HashMap<&str, &str> = headers.iter().copied().collect();
        crate::format::table::render_rows(format, &rows, &headers, false)
    };
    print!("Images space usage:\n\n");
    print!(
        "{}",
        table(
            "table {{.Repository}}\t{{.Tag}}\t{{.ImageID}}\t{{.Created}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
            images
                .iter()
                .map(|i| json!({
                    "Repository": i.repository, "Tag": i.tag, "ImageID": short(&i.id),
                    "Created": since(i.created_unix).trim_end_matches(" ago"),
                    "Size": size_compact(i.shared + i.unique),
                    "SharedSize": size_compact(i.shared), "UniqueSize": size_compact(i.unique),
                    "Containers": i.containers,
                }))
                .collect(),
            &[("ImageID", "IMAGE ID"), ("SharedSize", "SHARED SIZE"), ("UniqueSize", "UNIQUE SIZE")],
        )?
    );
    print!("\nContainers space usage:\n\n");
    print!(
        "{}",
        table(
            "table {{.ContainerID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.RWSize}}\t{{.Created}}\t{{.Status}}\t{{.Names}}",
            containers
                .iter()
                .map(|c| json!({
                    "ContainerID": short(&c.id), "Image": short(&c.image), "Command": c.command,
                    "LocalVolumes": c.volumes, "RWSize": size_compact(c.rw),
                    "Created": since(c.created_unix).trim_end_matches(" ago"),
                    "Status": c.status, "Names": c.name,
                }))
                .collect(),
            &[("ContainerID", "CONTAINER ID"), ("LocalVolumes", "LOCAL VOLUMES"), ("RWSize", "SIZE")],
        )?
    );
    print!("\nLocal Volumes space usage:\n\n");
    print!(
        "{}",
        table(
            "table {{.VolumeName}}\t{{.Links}}\t{{.Size}}",
            volumes
                .iter()
                .map(|v| json!({"VolumeName": v.name, "Links": v.links, "Size": size_compact(v.size)}))
                .collect(),
            &[("VolumeName", "VOLUME NAME")],
        )?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, layers: &[(&str, u64)], names: &[&str]) -> Image {
        Image {
            id: id.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
            layers: layers.iter().map(|(l, _)| l.to_string()).collect(),
            layer_sizes: layers.iter().map(|(_, n)| *n).collect(),
            config: vec![0; 10],
            ..Default::default()
        }
    }

    #[test]
    fn shared_layers_count_once_and_metadata_is_unique() {
        let base = image("aa", &[("l1", 1000)], &["localhost/base:latest"]);
        let child = image(
            "bb",
            &[("l1", 1000), ("l2", 50)],
            &["localhost/a:1", "localhost/b@sha256:00"],
        );
        let users = HashMap::from([("aa".to_string(), 2)]);
        let (lines, total) = image_usage(&[base, child], &users);
        assert_eq!(total, 1000 + 50 + 10 + 10);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            (lines[0].shared, lines[0].unique, lines[0].containers),
            (1000, 10, 2)
        );
        assert_eq!(
            (lines[1].repository.as_str(), lines[1].tag.as_str()),
            ("localhost/a", "1")
        );
        assert_eq!((lines[1].shared, lines[1].unique), (1000, 60));
        assert_eq!(lines[2].tag, "<none>");
    }

    #[test]
    fn reclaimable_is_a_size_and_a_rounded_percentage() {
        let s = Summary {
            kind: "Images",
            total: 1,
            active: 0,
            raw_size: 3000,
            raw_reclaimable: 1000,
        };
        assert_eq!(s.reclaimable(), "1kB (33%)");
        let empty = Summary {
            raw_size: 0,
            raw_reclaimable: 0,
            ..s
        };
        assert_eq!(empty.reclaimable(), "0B (0%)");
    }
}
