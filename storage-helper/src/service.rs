//! The storage.v1 gRPC service: each call runs the same core function as
//! the matching subcommand, on a blocking thread.

use std::path::PathBuf;
use std::time::Instant;

use proto::common::v1::InfoRequest;
use proto::storage::v1 as pb;
use proto::storage::v1::storage_server::Storage;
use tonic::{Request, Response, Status};
use tracing::debug;

use crate::containers::ContainerRecord;
use crate::diff::ChangeKind;
use crate::error::Result;
use crate::images::ImageRecord;
use crate::layout::Store;
use crate::new_image::ConfigChanges;

pub struct StorageService {
    pub store: Store,
    /// `serve --data-fd`: for one Copy (see crate::copy).
    pub data: crate::copy::DataFd,
    /// Stopped containers' file systems open for cp (OpenCopyView).
    pub views: std::sync::Arc<crate::copy_view::Views>,
}

fn copy_root(r: Option<pb::CopyRoot>) -> crate::copy::Root {
    let r = r.unwrap_or_default();
    crate::copy::Root {
        root: PathBuf::from(if r.root.is_empty() { "/" } else { &r.root }),
        mounts: r
            .mounts
            .into_iter()
            .map(|m| (m.destination, PathBuf::from(m.source)))
            .collect(),
    }
}

fn copy_end(e: Option<pb::CopyEnd>) -> crate::copy::End {
    let e = e.unwrap_or_default();
    if e.data_fd {
        crate::copy::End::DataFd
    } else {
        crate::copy::End::Path {
            root: copy_root(e.root),
            path: e.path,
        }
    }
}

/// Run `f` on a blocking thread; errors become their gRPC status.
async fn blocking<T: Send + 'static>(
    method: &'static str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<Response<T>, Status> {
    let started = Instant::now();
    let r = tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("{method}: worker failed: {e}")))?;
    debug!(
        method,
        ok = r.is_ok(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "rpc"
    );
    r.map(Response::new).map_err(Status::from)
}

pub fn image_pb(r: ImageRecord) -> pb::Image {
    pb::Image {
        top_layer: r.layers.last().cloned().unwrap_or_default(),
        id: r.id,
        names: r.names,
        names_history: r.names_history,
        digest: r.digest,
        digests: r.digests,
        manifest: r.manifest,
        manifest_media_type: r.manifest_media_type,
        config: r.config,
        size: r.size,
        layer_sizes: r.layer_sizes,
        created: r.created,
        layers: r.layers,
        added_unix: r.added_unix,
    }
}

pub fn container_pb(c: ContainerRecord) -> pb::Container {
    pb::Container {
        id: c.id,
        image_id: c.image_id.unwrap_or_default(),
        layers: c.layers,
        upper_dir: c.upper_dir,
        work_dir: c.work_dir,
        mountpoint: c.mountpoint,
        mount_count: c.mount_count,
        mount_label: c.mount_label,
        created_unix: c.created_unix,
        volatile: c.volatile,
        rootfs: c
            .rootfs
            .map(|r| r.path.display().to_string())
            .unwrap_or_default(),
    }
}

/// A diff's changes as the Diff calls answer them.
fn diff_response(changes: Vec<crate::diff::Change>) -> pb::ContainerDiffResponse {
    pb::ContainerDiffResponse {
        changes: changes
            .into_iter()
            .map(|c| pb::Change {
                path: c.path,
                kind: match c.kind {
                    ChangeKind::Modified => pb::ChangeKind::Modified,
                    ChangeKind::Added => pb::ChangeKind::Added,
                    ChangeKind::Deleted => pb::ChangeKind::Deleted,
                } as i32,
            })
            .collect(),
    }
}

pub fn changes_from_pb(c: Option<pb::ConfigChanges>) -> ConfigChanges {
    let Some(c) = c else {
        return ConfigChanges::default();
    };
    ConfigChanges {
        cmd: c.cmd.map(|l| l.values),
        entrypoint: c.entrypoint.map(|l| l.values),
        env: c.env,
        working_dir: c.working_dir,
        user: c.user,
        labels: c.labels.into_iter().collect(),
        exposed_ports: c.exposed_ports,
        volumes: c.volumes,
        stop_signal: c.stop_signal,
    }
}

#[tonic::async_trait]
impl Storage for StorageService {
    async fn info(&self, req: Request<InfoRequest>) -> Result<Response<pb::InfoResponse>, Status> {
        let probe = req.into_inner().probe;
        let store = self.store.clone();
        let i = tokio::task::spawn_blocking(move || crate::info::gather(&store, probe))
            .await
            .map_err(|e| Status::internal(format!("info task failed: {e}")))?;
        Ok(Response::new(pb::InfoResponse {
            identity: Some(proto::identity("storage-helper", env!("CARGO_PKG_VERSION"))),
            graph_root: i.graph_root,
            run_root: i.run_root,
            driver: i.driver,
            backing_filesystem: i.backing_filesystem,
            overlay_supported: i.overlay_supported,
            overlay_usable: i.overlay_usable.unwrap_or(false),
            overlay_error: i.overlay_error,
            graph_root_total_bytes: i.graph_root_total_bytes,
            graph_root_used_bytes: i.graph_root_used_bytes,
            image_count: i.image_count,
            layer_count: i.layer_count,
        }))
    }

    async fn import_oci(
        &self,
        req: Request<pb::ImportOciRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("ImportOci", move || {
            crate::import::import_oci(
                &s,
                &PathBuf::from(&r.layout_dir),
                &r.ref_name,
                &r.manifest_digest,
                &r.names,
            )
            .map(image_pb)
        })
        .await
    }

    async fn list_images(
        &self,
        _req: Request<pb::ListImagesRequest>,
    ) -> Result<Response<pb::ListImagesResponse>, Status> {
        let s = self.store.clone();
        blocking("ListImages", move || {
            Ok(pb::ListImagesResponse {
                images: crate::ops::list_images(&s)?
                    .into_iter()
                    .map(image_pb)
                    .collect(),
            })
        })
        .await
    }

    async fn get_image(
        &self,
        req: Request<pb::GetImageRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("GetImage", move || {
            crate::ops::get_image(&s, &r.image).map(image_pb)
        })
        .await
    }

    async fn tag_image(
        &self,
        req: Request<pb::TagImageRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("TagImage", move || {
            crate::ops::tag_image(&s, &r.image, &r.new_name).map(image_pb)
        })
        .await
    }

    async fn untag_image(
        &self,
        req: Request<pb::UntagImageRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("UntagImage", move || {
            crate::ops::untag_image(&s, &r.image, &r.name).map(image_pb)
        })
        .await
    }

    async fn remove_image(
        &self,
        req: Request<pb::RemoveImageRequest>,
    ) -> Result<Response<pb::RemoveImageResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("RemoveImage", move || {
            let rep = crate::remove::remove_image(&s, &r.image, r.force)?;
            Ok(pb::RemoveImageResponse {
                untagged: rep.untagged,
                deleted: rep.deleted.unwrap_or_default(),
                containers: rep.containers,
                layers_removed: rep.gc.layers_removed,
                blobs_removed: rep.gc.blobs_removed,
                gc_deferred: rep.gc.deferred,
            })
        })
        .await
    }

    async fn export_oci(
        &self,
        req: Request<pb::ExportOciRequest>,
    ) -> Result<Response<pb::ExportOciResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("ExportOci", move || {
            let out = crate::export::export_oci(
                &s,
                &r.images,
                &PathBuf::from(&r.dest_dir),
                r.link_blobs,
            )?;
            Ok(pb::ExportOciResponse {
                images: out
                    .into_iter()
                    .map(|e| pb::ExportedImage {
                        image_id: e.image_id,
                        manifest_digest: e.manifest_digest,
                        ref_name: e.ref_name,
                    })
                    .collect(),
            })
        })
        .await
    }

    async fn import_rootfs_tar(
        &self,
        req: Request<pb::ImportRootfsTarRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("ImportRootfsTar", move || {
            let changes = changes_from_pb(r.changes);
            crate::new_image::import_rootfs_tar(
                &s,
                &PathBuf::from(&r.tar_path),
                &r.names,
                &changes,
                &r.message,
                &r.architecture,
                &r.os,
                &r.variant,
            )
            .map(image_pb)
        })
        .await
    }

    async fn create_container(
        &self,
        req: Request<pb::CreateContainerRequest>,
    ) -> Result<Response<pb::Container>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("CreateContainer", move || {
            let idmap = crate::idmap::Mapping::from_proto(r.id_mappings.as_ref())?;
            let rootfs = crate::rootfs::Rootfs::checked(&r.rootfs, r.rootfs_overlay)?;
            crate::containers::create(
                &s,
                &r.id,
                &r.image,
                &r.mount_label,
                r.volatile,
                idmap,
                rootfs,
            )
            .map(container_pb)
        })
        .await
    }

    async fn get_container(
        &self,
        req: Request<pb::GetContainerRequest>,
    ) -> Result<Response<pb::Container>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("GetContainer", move || {
            crate::ops::get_container(&s, &r.id).map(container_pb)
        })
        .await
    }

    async fn list_containers(
        &self,
        _req: Request<pb::ListContainersRequest>,
    ) -> Result<Response<pb::ListContainersResponse>, Status> {
        let s = self.store.clone();
        blocking("ListContainers", move || {
            Ok(pb::ListContainersResponse {
                containers: crate::containers::list(&s)?
                    .into_iter()
                    .map(container_pb)
                    .collect(),
            })
        })
        .await
    }

    async fn mount(
        &self,
        req: Request<pb::MountRequest>,
    ) -> Result<Response<pb::MountResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("Mount", move || {
            let (mp, n) = crate::mounts::mount(&s, &r.id)?;
            Ok(pb::MountResponse {
                mountpoint: mp.display().to_string(),
                mount_count: n,
            })
        })
        .await
    }

    async fn unmount(
        &self,
        req: Request<pb::UnmountRequest>,
    ) -> Result<Response<pb::UnmountResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("Unmount", move || {
            let (unmounted, n) = crate::mounts::unmount(&s, &r.id, r.force)?;
            Ok(pb::UnmountResponse {
                unmounted,
                mount_count: n,
            })
        })
        .await
    }

    async fn mount_image(
        &self,
        req: Request<pb::MountImageRequest>,
    ) -> Result<Response<pb::MountImageResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("MountImage", move || {
            let (id, mp, n) = crate::image_mounts::mount(&s, &r.image)?;
            Ok(pb::MountImageResponse {
                id,
                mountpoint: mp.display().to_string(),
                mount_count: n,
            })
        })
        .await
    }

    async fn unmount_image(
        &self,
        req: Request<pb::UnmountImageRequest>,
    ) -> Result<Response<pb::UnmountImageResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("UnmountImage", move || {
            let (id, was_mounted, n) = crate::image_mounts::unmount(&s, &r.image, r.force)?;
            Ok(pb::UnmountImageResponse {
                id,
                was_mounted,
                mount_count: n,
            })
        })
        .await
    }

    async fn list_image_mounts(
        &self,
        _req: Request<pb::ListImageMountsRequest>,
    ) -> Result<Response<pb::ListImageMountsResponse>, Status> {
        let s = self.store.clone();
        blocking("ListImageMounts", move || {
            Ok(pb::ListImageMountsResponse {
                mounts: crate::image_mounts::list(&s)?
                    .into_iter()
                    .map(|(id, mp)| pb::ImageMount {
                        id,
                        mountpoint: mp.display().to_string(),
                    })
                    .collect(),
            })
        })
        .await
    }

    async fn remove_container(
        &self,
        req: Request<pb::RemoveContainerRequest>,
    ) -> Result<Response<pb::RemoveContainerResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("RemoveContainer", move || {
            Ok(pb::RemoveContainerResponse {
                was_mounted: crate::containers::remove(&s, &r.id)?,
            })
        })
        .await
    }

    async fn container_diff(
        &self,
        req: Request<pb::ContainerDiffRequest>,
    ) -> Result<Response<pb::ContainerDiffResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("ContainerDiff", move || {
            let changes = crate::diff::container_diff(&s, &r.id)?;
            Ok(diff_response(changes))
        })
        .await
    }

    async fn image_diff(
        &self,
        req: Request<pb::ImageDiffRequest>,
    ) -> Result<Response<pb::ContainerDiffResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("ImageDiff", move || {
            let changes = crate::diff::image_diff(&s, &r.image)?;
            Ok(diff_response(changes))
        })
        .await
    }

    async fn list_external(
        &self,
        _req: Request<pb::ListExternalRequest>,
    ) -> Result<Response<pb::ListExternalResponse>, Status> {
        let s = self.store.clone();
        blocking("ListExternal", move || {
            let containers = crate::external::list(&s)?
                .into_iter()
                .map(|c| {
                    let (mp, n) = crate::external::mounted(&s, &c.id);
                    pb::ExternalContainer {
                        created_unix: crate::external::created_unix(&c),
                        id: c.id,
                        names: c.names,
                        image_id: c.image,
                        mountpoint: mp.display().to_string(),
                        mount_count: n,
                    }
                })
                .collect();
            Ok(pb::ListExternalResponse { containers })
        })
        .await
    }

    async fn mount_external(
        &self,
        req: Request<pb::ExternalRequest>,
    ) -> Result<Response<pb::MountImageResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("MountExternal", move || {
            let (id, mp, n) = crate::external::mount(&s, &r.name)?;
            Ok(pb::MountImageResponse {
                id,
                mountpoint: mp.display().to_string(),
                mount_count: n,
            })
        })
        .await
    }

    async fn unmount_external(
        &self,
        req: Request<pb::ExternalRequest>,
    ) -> Result<Response<pb::UnmountImageResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("UnmountExternal", move || {
            let (id, was_mounted, n) = crate::external::unmount(&s, &r.name, r.force)?;
            Ok(pb::UnmountImageResponse {
                id,
                was_mounted,
                mount_count: n,
            })
        })
        .await
    }

    async fn external_diff(
        &self,
        req: Request<pb::ExternalRequest>,
    ) -> Result<Response<pb::ContainerDiffResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("ExternalDiff", move || {
            let changes = crate::external::diff(&s, &r.name)?;
            Ok(diff_response(changes))
        })
        .await
    }

    async fn remove_external(
        &self,
        req: Request<pb::ExternalRequest>,
    ) -> Result<Response<pb::ExternalContainer>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("RemoveExternal", move || {
            let id = crate::external_remove::remove(&s, &r.name, r.force)?;
            Ok(pb::ExternalContainer {
                id,
                ..Default::default()
            })
        })
        .await
    }

    async fn tree_diff(
        &self,
        req: Request<pb::TreeDiffRequest>,
    ) -> Result<Response<pb::ContainerDiffResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("TreeDiff", move || {
            let side = |t: Option<pb::TreeRef>| match t.and_then(|t| t.what) {
                Some(pb::tree_ref::What::Container(c)) => Ok(crate::diff::Tree::Container(c)),
                Some(pb::tree_ref::What::Image(i)) => Ok(crate::diff::Tree::Image(i)),
                None => Err(crate::error::StoreError::InvalidArgument(
                    "TreeDiff needs a container or an image on both sides".into(),
                )),
            };
            let changes = crate::diff::tree_diff(&s, &side(r.from)?, &side(r.to)?)?;
            Ok(diff_response(changes))
        })
        .await
    }

    async fn export_container(
        &self,
        req: Request<pb::ExportContainerRequest>,
    ) -> Result<Response<pb::ExportContainerResponse>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("ExportContainer", move || {
            Ok(pb::ExportContainerResponse {
                size: crate::export::export_container(&s, &r.id, &PathBuf::from(&r.dest_path))?,
            })
        })
        .await
    }

    async fn commit_container(
        &self,
        req: Request<pb::CommitContainerRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        let (s, r) = (self.store.clone(), req.into_inner());
        blocking("CommitContainer", move || {
            let changes = changes_from_pb(r.changes);
            let format = crate::new_image::CommitFormat {
                docker: r.docker_format,
                squash: r.squash,
                squash_base: r.squash_base,
                history: r.history_json,
                config: r.config_json,
                no_layer: r.no_layer,
                base_image: r.base_image,
                annotations: r.annotations.into_iter().collect(),
                platform: crate::new_image::ScratchPlatform {
                    os: r.os,
                    architecture: r.architecture,
                    variant: r.variant,
                },
                created: r.created_unix,
                mtime: match r.layer_mtime_unix {
                    None => crate::tar_writer::Mtime::Keep,
                    Some(t) if r.layer_mtime_clamp => {
                        crate::tar_writer::Mtime::Clamp(t.max(0) as u64)
                    }
                    Some(t) => crate::tar_writer::Mtime::Set(t.max(0) as u64),
                },
                exclude: r
                    .exclude_paths
                    .iter()
                    .map(|p| std::path::PathBuf::from(p.trim_start_matches('/')))
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect(),
            };
            crate::new_image::commit(&s, &r.id, &r.names, &changes, &r.author, &r.message, format)
                .map(image_pb)
        })
        .await
    }

    async fn copy_stat(
        &self,
        req: Request<pb::CopyStatRequest>,
    ) -> Result<Response<pb::CopyStatResponse>, Status> {
        let r = req.into_inner();
        blocking("CopyStat", move || {
            let st = crate::copy::stat(&copy_root(r.root), &r.path)?;
            Ok(pb::CopyStatResponse {
                link_target: st.link_target,
                is_dir: st.is_dir,
                is_regular: st.is_regular,
                mode: st.mode,
                size: st.size,
                mtime_unix: st.mtime,
                dangling: st.dangling,
            })
        })
        .await
    }

    async fn copy(
        &self,
        req: Request<pb::CopyRequest>,
    ) -> Result<Response<pb::CopyResponse>, Status> {
        let (data, r) = (self.data.clone(), req.into_inner());
        blocking("Copy", move || {
            let opts = crate::copy::CopyOptions {
                rename: r.rename,
                owner: r.uid.zip(r.gid),
                overwrite: r.overwrite,
                ignore_devices: r.ignore_devices,
            };
            let entries =
                crate::copy::copy(&copy_end(r.source), &copy_end(r.destination), &opts, &data)?;
            Ok(pb::CopyResponse { entries })
        })
        .await
    }

    async fn open_copy_view(
        &self,
        req: Request<pb::OpenCopyViewRequest>,
    ) -> Result<Response<pb::OpenCopyViewResponse>, Status> {
        let (s, r, views) = (self.store.clone(), req.into_inner(), self.views.clone());
        blocking("OpenCopyView", move || {
            let o = views.open(&s, &r.id, r.writable)?;
            Ok(pb::OpenCopyViewResponse {
                handle: o.handle,
                root: o.root.display().to_string(),
            })
        })
        .await
    }

    async fn close_copy_view(
        &self,
        req: Request<pb::CloseCopyViewRequest>,
    ) -> Result<Response<pb::CloseCopyViewResponse>, Status> {
        let (s, r, views) = (self.store.clone(), req.into_inner(), self.views.clone());
        blocking("CloseCopyView", move || {
            views.close(&s, r.handle)?;
            Ok(pb::CloseCopyViewResponse {})
        })
        .await
    }

    async fn garbage_collect(
        &self,
        _req: Request<pb::GarbageCollectRequest>,
    ) -> Result<Response<pb::GarbageCollectResponse>, Status> {
        let s = self.store.clone();
        blocking("GarbageCollect", move || {
            let g = crate::gc::collect(&s)?;
            Ok(pb::GarbageCollectResponse {
                layers_removed: g.layers_removed,
                blobs_removed: g.blobs_removed,
                containers_cleaned: g.containers_cleaned,
                deferred: g.deferred,
            })
        })
        .await
    }
}
