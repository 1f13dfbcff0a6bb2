//! `podman image mount` (an image's file system on the host, read-only:
//! its mount point printed; no names lists what is mounted; `--all` mounts
//! every image) and `podman image umount` / `unmount` (undo one mount;
//! `--force` all of them). Storage-helper counts the mounts, so an image
//! mounted by hand and by a container's `--mount type=image` stays mounted
//! until both let go.

use clap::Args;
use proto::storage::v1::{
    Image, ListImageMountsRequest, ListImagesRequest, MountImageRequest, UnmountImageRequest,
};

use crate::engine_config::EngineConfig;
use crate::helper_procs::{self, Session, StorageClient};
use crate::image::lookup::find;

#[derive(Debug, Clone, Args)]
pub struct ImageMountArgs {
    pub images: Vec<String>,
    /// Mount all images
    #[arg(short, long)]
    pub all: bool,
    /// Print the mounted images in specified format (json)
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ImageUnmountArgs {
    pub images: Vec<String>,
    /// Unmount all of the currently mounted images
    #[arg(short, long)]
    pub all: bool,
    /// Force the complete unmount of the specified mounted images
    #[arg(short, long)]
    pub force: bool,
}

/// One mounted image, as Podman reports it.
struct Mounted {
    image: Image,
    path: String,
}

impl Mounted {
    /// The first repository tag, else the ID (Podman's table column).
    fn label(&self) -> &str {
        self.image
            .names
            .iter()
            .find(|n| !n.contains('@'))
            .map(String::as_str)
            .unwrap_or(&self.image.id)
    }
}

#[derive(serde::Serialize)]
struct MountedJson<'a> {
    id: &'a str,
    #[serde(rename = "Names")]
    names: Vec<&'a str>,
    #[serde(rename = "Repositories")]
    repositories: Vec<&'a str>,
    mountpoint: &'a str,
}

fn check_format(f: Option<&str>) -> anyhow::Result<()> {
    match f {
        None | Some("") | Some("json") => Ok(()),
        Some(f) => anyhow::bail!("unknown --format argument: {f:?} (use json)"),
    }
}

pub async fn mount(engine: &EngineConfig, a: &ImageMountArgs) -> anyhow::Result<()> {
    if a.all && !a.images.is_empty() {
        anyhow::bail!("when using the --all switch, you may not pass any image names or IDs");
    }
    check_format(a.format.as_deref())?;
    let mut storage = helper_procs::storage(engine).await?;
    let r = mount_in(&mut storage, a).await;
    storage.close().await?;
    let mounted = r?;
    if a.images.len() == 1 && a.format.is_none() && !a.all {
        if let Some(m) = mounted.first() {
            println!("{}", m.path);
        }
        return Ok(());
    }
    print(&mounted, a.format.as_deref())
}

async fn mount_in(
    storage: &mut Session<StorageClient>,
    a: &ImageMountArgs,
) -> anyhow::Result<Vec<Mounted>> {
    if a.images.is_empty() && !a.all {
        return list(storage).await;
    }
    let images: Vec<Image> = if a.all {
        storage
            .call("ListImages", |mut c| async move {
                c.list_images(ListImagesRequest { all: false }).await
            })
            .await?
            .images
    } else {
        let mut v = Vec::new();
        for n in &a.images {
            v.push(find(storage, n).await?);
        }
        v
    };
    let mut out = Vec::new();
    for image in images {
        let req = MountImageRequest {
            image: image.id.clone(),
        };
        let m = storage
            .call(
                "MountImage",
                |mut c| async move { c.mount_image(req).await },
            )
            .await?;
        crate::events::image(
            "mount",
            &image.id,
            image.names.first().map_or("", |n| n.as_str()),
        );
        out.push(Mounted {
            image,
            path: m.mountpoint,
        });
    }
    Ok(out)
}

/// Every image storage has mounted now.
async fn list(storage: &mut Session<StorageClient>) -> anyhow::Result<Vec<Mounted>> {
    let mounts = storage
        .call("ListImageMounts", |mut c| async move {
            c.list_image_mounts(ListImageMountsRequest {}).await
        })
        .await?
        .mounts;
    let mut out = Vec::new();
    for m in mounts {
        match find(storage, &m.id).await {
            Ok(image) => out.push(Mounted {
                image,
                path: m.mountpoint,
            }),
            // Removed since it was listed.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

fn print(mounted: &[Mounted], format: Option<&str>) -> anyhow::Result<()> {
    if format == Some("json") {
        let j: Vec<MountedJson> = mounted
            .iter()
            .map(|m| MountedJson {
                id: &m.image.id,
                names: vec![m.image.digest.as_str()],
                repositories: m
                    .image
                    .names
                    .iter()
                    .filter(|n| !n.contains('@'))
                    .map(String::as_str)
                    .collect(),
                mountpoint: &m.path,
            })
            .collect();
        // Podman indents this one with a single space.
        println!("{}", crate::format::json_indent(&j, " ")?);
        return Ok(());
    }
    // Podman's report tabwriter: minimum width 12, padding 2.
    let width = mounted
        .iter()
        .map(|m| m.label().len() + 2)
        .max()
        .unwrap_or(0)
        .max(12);
    for m in mounted {
        println!("{:<width$}{}", m.label(), m.path);
    }
    Ok(())
}

pub async fn unmount(engine: &EngineConfig, a: &ImageUnmountArgs) -> anyhow::Result<()> {
    if a.all && !a.images.is_empty() {
        anyhow::bail!("when using the --all switch, you may not pass any image names or IDs");
    }
    if !a.all && a.images.is_empty() {
        anyhow::bail!("you must provide at least one image name or ID, or use --all");
    }
    let mut storage = helper_procs::storage(engine).await?;
    let r = unmount_in(&mut storage, a).await;
    storage.close().await?;
    r
}

async fn unmount_in(
    storage: &mut Session<StorageClient>,
    a: &ImageUnmountArgs,
) -> anyhow::Result<()> {
    let images: Vec<Image> = if a.all {
        list(storage).await?.into_iter().map(|m| m.image).collect()
    } else {
        let mut v = Vec::new();
        for n in &a.images {
            v.push(find(storage, n).await?);
        }
        v
    };
    for image in images {
        let req = UnmountImageRequest {
            image: image.id.clone(),
            force: a.force,
        };
        let r = storage
            .call(
                "UnmountImage",
                |mut c| async move { c.unmount_image(req).await },
            )
            .await?;
        if r.was_mounted {
            crate::events::image(
                "unmount",
                &image.id,
                image.names.first().map_or("", |n| n.as_str()),
            );
            println!("{}", image.id);
        }
    }
    Ok(())
}
