//! `podman image tree`: an image's layers, bottom first, each with its
//! size and the tagged images whose top layer it is; `--whatrequires`
//! the layers (and images) stacked on the image's top layer instead.
//! Layer sizes are the sizes of the layer blobs as stored.

use std::collections::BTreeMap;

use clap::Args;
use proto::storage::v1::{Image, ListImagesRequest};

use crate::engine_config::EngineConfig;
use crate::format::human::size_compact;
use crate::helper_procs;
use crate::image::lookup::find;

#[derive(Debug, Clone, Args)]
pub struct ImageTreeArgs {
    pub image: String,
    /// Show the layers and images that depend on the image instead
    #[arg(long)]
    pub whatrequires: bool,
}

const MIDDLE: &str = "├── ";
const LAST: &str = "└── ";
const CONTINUE: &str = "│   ";
const SPACE: &str = "    ";

/// Each layer (chain ID) with its blob size and the names of the images
/// whose top layer it is.
struct Layers {
    sizes: BTreeMap<String, u64>,
    tops: BTreeMap<String, Vec<String>>,
}

impl Layers {
    fn of(images: &[Image]) -> Layers {
        let mut sizes = BTreeMap::new();
        let mut tops: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for img in images {
            let manifest: serde_json::Value =
                serde_json::from_slice(&img.manifest).unwrap_or_default();
            let blobs = manifest["layers"].as_array().cloned().unwrap_or_default();
            for (layer, blob) in img.layers.iter().zip(blobs.iter()) {
                sizes
                    .entry(layer.clone())
                    .or_insert_with(|| blob["size"].as_u64().unwrap_or(0));
            }
            if !img.top_layer.is_empty() {
                tops.entry(img.top_layer.clone())
                    .or_default()
                    .extend(img.names.iter().cloned());
            }
        }
        Layers { sizes, tops }
    }

    fn line(&self, layer: &str) -> String {
        let size = size_compact(self.sizes.get(layer).copied().unwrap_or(0));
        let id = layer.get(..12).unwrap_or(layer);
        match self.tops.get(layer).filter(|n| !n.is_empty()) {
            Some(names) => format!(
                "ID: {id} Size: {size:>7} Top Layer of: [{}]",
                names.join(" ")
            ),
            None => format!("ID: {id} Size: {size:>7}"),
        }
    }
}

/// The layers stacked on `prefix` in other images, as a tree.
#[derive(Default)]
struct Node(BTreeMap<String, Node>);

impl Node {
    fn print(&self, layers: &Layers, indent: &str, out: &mut String) {
        let n = self.0.len();
        for (i, (layer, child)) in self.0.iter().enumerate() {
            let last = i + 1 == n;
            out.push_str(indent);
            out.push_str(if last { LAST } else { MIDDLE });
            out.push_str(&layers.line(layer));
            out.push('\n');
            let next = format!("{indent}{}", if last { SPACE } else { CONTINUE });
            child.print(layers, &next, out);
        }
    }
}

pub async fn run(cfg: &EngineConfig, args: &ImageTreeArgs) -> anyhow::Result<()> {
    let mut s = helper_procs::storage(cfg).await?;
    let img = find(&mut s, &args.image).await;
    let all = s
        .call("ListImages", |mut c| async move {
            c.list_images(ListImagesRequest { all: true }).await
        })
        .await;
    s.close().await?;
    let img = img?;
    let all = all?.images;
    let layers = Layers::of(&all);
    let mut out = String::new();
    out.push_str(&format!(
        "Image ID: {}\n",
        img.id.get(..12).unwrap_or(&img.id)
    ));
    out.push_str(&format!("Tags:     [{}]\n", img.names.join(" ")));
    out.push_str(&format!("Size:     {}\n", size_compact(img.size)));
    if img.layers.is_empty() {
        out.push_str("No Image Layers\n");
        print!("{out}");
        return Ok(());
    }
    out.push_str("Image Layers\n");
    if args.whatrequires {
        // The image's top layer, and what other images stack on it.
        let mut root = Node::default();
        let top = root.0.entry(img.top_layer.clone()).or_default();
        for other in &all {
            if other.layers.len() > img.layers.len() && other.layers.starts_with(&img.layers) {
                let mut node = &mut *top;
                for l in &other.layers[img.layers.len()..] {
                    node = node.0.entry(l.clone()).or_default();
                }
            }
        }
        root.print(&layers, "", &mut out);
    } else {
        let n = img.layers.len();
        for (i, l) in img.layers.iter().enumerate() {
            out.push_str(if i + 1 == n { LAST } else { MIDDLE });
            out.push_str(&layers.line(l));
            out.push('\n');
        }
    }
    print!("{out}");
    Ok(())
}
