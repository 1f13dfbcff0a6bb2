//! The subcommands people use to look at or drive one stage by hand. Each
//! runs the same core function as the matching RPC; human output by
//! default, `--json` on request.
//!
//! [`changes`] holds the image config flags of `import-tar` and `commit`;
//! [`human`] the human output.

mod changes;
mod human;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::layout::Store;
use changes::ChangeArgs;
use human::{human_size, image_detail, image_line, print_json};

#[derive(Subcommand)]
pub enum Cmd {
    /// List images.
    Images {
        #[arg(long)]
        json: bool,
        /// Only print image IDs.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Show one image (name, ID, ID prefix, digest).
    Inspect {
        image: String,
        #[arg(long)]
        json: bool,
    },
    /// Store an image from an OCI layout directory (what image-fetcher pulls into).
    ImportOci {
        dir: PathBuf,
        /// The org.opencontainers.image.ref.name to import.
        #[arg(long = "ref")]
        ref_name: Option<String>,
        /// Or the manifest digest to import.
        #[arg(long)]
        digest: Option<String>,
        /// Names to give the image (default: the ref name).
        #[arg(long = "name")]
        names: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove images (a name of an image with several names only untags it).
    Rmi {
        #[arg(required = true)]
        images: Vec<String>,
        #[arg(short, long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Add names to an image.
    Tag {
        image: String,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove names from an image (all of them when none are given).
    Untag { image: String, names: Vec<String> },
    /// Write images into an OCI layout with their original blobs.
    ExportOci {
        #[arg(required = true)]
        images: Vec<String>,
        #[arg(long)]
        dest: PathBuf,
        /// Hardlink blobs (only for scratch directories deleted unmodified).
        #[arg(long)]
        link: bool,
        #[arg(long)]
        json: bool,
    },
    /// Make a one-layer image from a root file system tarball (podman import).
    ImportTar {
        tar: PathBuf,
        #[arg(long = "name")]
        names: Vec<String>,
        #[arg(long, default_value = "")]
        message: String,
        #[command(flatten)]
        changes: ChangeArgs,
        #[arg(long)]
        json: bool,
    },
    /// Create a container layer on top of an image.
    CreateContainer {
        id: String,
        #[arg(long, default_value = "")]
        image: String,
        #[arg(long, default_value = "")]
        mount_label: String,
        /// Short-lived (as for `run --rm`): no fsync of its record, overlay
        /// mounted with `volatile`
        #[arg(long = "volatile")]
        volatile: bool,
        #[arg(long)]
        json: bool,
    },
    /// List container layers.
    Containers {
        #[arg(long)]
        json: bool,
    },
    /// Overlay-mount a container and print the mount point.
    Mount { id: String },
    /// Undo one mount (all with --force).
    #[command(alias = "umount")]
    Unmount {
        id: String,
        #[arg(short, long)]
        force: bool,
    },
    /// Remove a container layer (unmounting it first).
    RmContainer { id: String },
    /// Changes in a container layer: A added, C changed, D deleted.
    Diff {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Write a container's whole file system as a tar.
    Export {
        id: String,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// What a path is inside a root (as `podman cp` sees it).
    CopyStat {
        /// The directory that stands for `/` (a mounted container, /proc/PID/root).
        #[arg(long, default_value = "/")]
        root: PathBuf,
        path: String,
    },
    /// Copy a file or directory from one root to another as a tar stream;
    /// `-` for FROM reads a tar from stdin, for TO writes one to stdout.
    Copy {
        #[arg(long, default_value = "/")]
        from_root: PathBuf,
        from: String,
        #[arg(long, default_value = "/")]
        to_root: PathBuf,
        /// An existing directory (or `-`).
        to: String,
        /// Name of the copied top entry.
        #[arg(long, default_value = "")]
        rename: String,
        /// UID:GID of everything written (default: the archive's).
        #[arg(long, value_name = "UID:GID")]
        owner: Option<String>,
        /// Replace directories by non-directories and the reverse.
        #[arg(long)]
        overwrite: bool,
    },
    /// Make an image from a container's changes.
    Commit {
        id: String,
        #[arg(long = "name")]
        names: Vec<String>,
        #[arg(long, default_value = "")]
        author: String,
        #[arg(long, default_value = "")]
        message: String,
        #[command(flatten)]
        changes: ChangeArgs,
        /// Docker schema 2 media types instead of OCI ones.
        #[arg(long)]
        docker: bool,
        /// One layer for the whole file system.
        #[arg(long)]
        squash: bool,
        #[arg(long)]
        json: bool,
    },
    /// List unpacked layers.
    Layers {
        #[arg(long)]
        json: bool,
    },
    /// Delete layers and blobs nothing refers to.
    Gc {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(store: &Store, cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Images { json, quiet } => {
            let list = crate::ops::list_images(store)?;
            if json {
                print_json(&list)?;
            } else if quiet {
                list.iter().for_each(|i| println!("{}", i.short_id()));
            } else {
                println!("{:<14}{:<50} {:>12}  CREATED", "IMAGE ID", "NAMES", "SIZE");
                list.iter().for_each(|i| println!("{}", image_line(i)));
            }
        }
        Cmd::Inspect { image, json } => {
            let i = crate::ops::get_image(store, &image)?;
            if json {
                let mut v = serde_json::to_value(&i)?;
                v["manifest"] = serde_json::from_slice(&i.manifest).unwrap_or_default();
                v["config"] = serde_json::from_slice(&i.config).unwrap_or_default();
                print_json(&v)?;
            } else {
                print!("{}", image_detail(&i));
            }
        }
        Cmd::ImportOci {
            dir,
            ref_name,
            digest,
            names,
            json,
        } => {
            let i = crate::import::import_oci(
                store,
                &dir,
                ref_name.as_deref().unwrap_or(""),
                digest.as_deref().unwrap_or(""),
                &names,
            )?;
            if json {
                print_json(&i)?;
            } else {
                println!("{}", i.id);
            }
        }
        Cmd::Rmi {
            images,
            force,
            json,
        } => {
            let mut reports = Vec::new();
            for img in &images {
                let r = crate::remove::remove_image(store, img, force)?;
                if !json {
                    r.untagged.iter().for_each(|n| println!("Untagged: {n}"));
                    if let Some(d) = &r.deleted {
                        println!("Deleted: {d}");
                    }
                    if !r.containers.is_empty() {
                        println!("Still used by containers: {}", r.containers.join(", "));
                    }
                }
                reports.push(r);
            }
            if json {
                print_json(&reports)?;
            }
        }
        Cmd::Tag { image, names } => {
            for n in &names {
                crate::ops::tag_image(store, &image, n)?;
            }
        }
        Cmd::Untag { image, names } => {
            if names.is_empty() {
                crate::ops::untag_image(store, &image, "")?;
            }
            for n in &names {
                crate::ops::untag_image(store, &image, n)?;
            }
        }
        Cmd::ExportOci {
            images,
            dest,
            link,
            json,
        } => {
            let out = crate::export::export_oci(store, &images, &dest, link)?;
            if json {
                print_json(&out)?;
            } else {
                out.iter().for_each(|e| {
                    println!("{} {} {}", &e.image_id[..12], e.manifest_digest, e.ref_name)
                });
            }
        }
        Cmd::ImportTar {
            tar,
            names,
            message,
            changes,
            json,
        } => {
            let i = crate::new_image::import_rootfs_tar(
                store,
                &tar,
                &names,
                &changes.parse()?,
                &message,
                "",
                "",
                "",
            )?;
            if json {
                print_json(&i)?;
            } else {
                println!("{}", i.id);
            }
        }
        Cmd::CreateContainer {
            id,
            image,
            mount_label,
            volatile,
            json,
        } => {
            let c =
                crate::containers::create(store, &id, &image, &mount_label, volatile, None, None)?;
            if json {
                print_json(&c)?;
            } else {
                println!("{}", c.id);
            }
        }
        Cmd::Containers { json } => {
            let list = crate::containers::list(store)?;
            if json {
                print_json(&list)?;
            } else {
                println!("{:<20}{:<14}{:<8}MOUNTPOINT", "ID", "IMAGE", "MOUNTS");
                for c in &list {
                    let img = c
                        .image_id
                        .as_deref()
                        .map(|i| &i[..12.min(i.len())])
                        .unwrap_or("-");
                    println!(
                        "{:<20}{:<14}{:<8}{}",
                        c.id,
                        img,
                        c.mount_count,
                        if c.mount_count > 0 {
                            c.mountpoint.as_str()
                        } else {
                            "-"
                        }
                    );
                }
            }
        }
        Cmd::Mount { id } => {
            let (mp, _) = crate::mounts::mount(store, &id)?;
            println!("{}", mp.display());
        }
        Cmd::Unmount { id, force } => {
            crate::mounts::unmount(store, &id, force)?;
        }
        Cmd::RmContainer { id } => {
            crate::containers::remove(store, &id)?;
        }
        Cmd::Diff { id, json } => {
            let changes = crate::diff::container_diff(store, &id)?;
            if json {
                print_json(&changes)?;
            } else {
                changes
                    .iter()
                    .for_each(|c| println!("{} {}", c.kind.letter(), c.path));
            }
        }
        Cmd::CopyStat { root, path } => {
            let root = crate::copy::Root {
                root,
                mounts: Vec::new(),
            };
            let st = crate::copy::stat(&root, &path)?;
            println!(
                "{} {} {:o} {}",
                st.link_target,
                if st.dangling {
                    "dangling"
                } else if st.is_dir {
                    "directory"
                } else if st.is_regular {
                    "file"
                } else {
                    "other"
                },
                st.mode & 0o7777,
                st.size
            );
        }
        Cmd::Copy {
            from_root,
            from,
            to_root,
            to,
            rename,
            owner,
            overwrite,
        } => {
            let end = |root: PathBuf, path: String| {
                if path == "-" {
                    crate::copy::End::DataFd
                } else {
                    crate::copy::End::Path {
                        root: crate::copy::Root {
                            root,
                            mounts: Vec::new(),
                        },
                        path,
                    }
                }
            };
            let owner = owner
                .map(|o| {
                    let (u, g) = o.split_once(':').unwrap_or((&o, &o));
                    Ok::<_, anyhow::Error>((u.parse::<u32>()?, g.parse::<u32>()?))
                })
                .transpose()
                .context("--owner takes numbers: UID:GID")?;
            use std::os::fd::AsFd;
            let data = if from == "-" {
                Some(std::io::stdin().as_fd().try_clone_to_owned()?)
            } else if to == "-" {
                Some(std::io::stdout().as_fd().try_clone_to_owned()?)
            } else {
                None
            };
            let opts = crate::copy::CopyOptions {
                rename,
                owner,
                overwrite,
                ignore_devices: false,
            };
            crate::copy::copy(
                &end(from_root, from),
                &end(to_root, to),
                &opts,
                &std::sync::Arc::new(std::sync::Mutex::new(data)),
            )?;
        }
        Cmd::Export { id, output } => {
            crate::export::export_container(store, &id, &output)?;
        }
        Cmd::Commit {
            id,
            names,
            author,
            message,
            changes,
            docker,
            squash,
            json,
        } => {
            let format = crate::new_image::CommitFormat {
                docker,
                squash,
                ..Default::default()
            };
            let i = crate::new_image::commit(
                store,
                &id,
                &names,
                &changes.parse()?,
                &author,
                &message,
                format,
            )?;
            if json {
                print_json(&i)?;
            } else {
                println!("{}", i.id);
            }
        }
        Cmd::Layers { json } => {
            let list = if store.db_path().exists() {
                crate::layers::list(&*crate::db::open(store)?)?
            } else {
                Vec::new()
            };
            if json {
                print_json(&list)?;
            } else {
                println!("{:<66}{:<28}{:>12}", "CHAIN ID", "LINK", "SIZE");
                list.iter().for_each(|l| {
                    println!(
                        "{:<66}{:<28}{:>12}",
                        l.chain_id,
                        l.link,
                        human_size(l.uncompressed_size)
                    )
                });
            }
        }
        Cmd::Gc { json } => {
            let g = crate::gc::collect(store)?;
            if json {
                print_json(&g)?;
            } else if g.deferred {
                println!(
                    "Another process is adding to the store; nothing collected. Try again later."
                );
            } else {
                println!(
                    "Removed {} layers, {} blobs, {} leftover container dirs",
                    g.layers_removed.len(),
                    g.blobs_removed,
                    g.containers_cleaned
                );
            }
        }
    }
    Ok(())
}
