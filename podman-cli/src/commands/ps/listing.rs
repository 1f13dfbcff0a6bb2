//! Gathering the containers `ps` prints: the state database, storage's
//! view (`--external`, `--size`), namespaces (`--ns`) and pod names.

use std::collections::HashMap;

use super::entry::{Entry, Namespaces, Size};
use super::{sort_entries, PsArgs};
use crate::container::filter::{self, ContainerFilter, DbLookup, Scope, Subject};
use crate::container::model::{ContainerConfig, ContainerState, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;

/// `/proc/PID/ns/NAME` -> the inode number in brackets.
fn namespace(pid: i32, name: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{name}"))
        .ok()
        .and_then(|l| {
            let s = l.to_string_lossy().into_owned();
            let start = s.find('[')?;
            let end = s.rfind(']')?;
            Some(s[start + 1..end].to_string())
        })
        .unwrap_or_default()
}

fn fill_namespaces(e: &mut Entry) {
    if e.pid <= 0 {
        return;
    }
    let pid = e.pid;
    e.namespaces = Namespaces {
        cgroup: namespace(pid, "cgroup"),
        ipc: namespace(pid, "ipc"),
        mnt: namespace(pid, "mnt"),
        net: namespace(pid, "net"),
        pidns: namespace(pid, "pid"),
        user: namespace(pid, "user"),
        uts: namespace(pid, "uts"),
    };
}

async fn network_list(engine: &EngineConfig) -> anyhow::Result<Vec<(String, String)>> {
    let mut net = crate::helper_procs::net(engine).await?;
    let r = net
        .call("ListNetworks", |mut c| async move {
            c.list_networks(proto::netsetup::v1::ListNetworksRequest { filters: vec![] })
                .await
        })
        .await;
    net.close().await?;
    Ok(r?.networks.into_iter().map(|n| (n.id, n.name)).collect())
}

/// Storage's view, for `--external` and `--size`.
struct StorageView {
    containers: Vec<proto::storage::v1::Container>,
    /// Containers another containers/storage user (buildah) made here.
    external: Vec<proto::storage::v1::ExternalContainer>,
    /// Image ID -> (first name, size).
    images: HashMap<String, (String, u64)>,
}

async fn storage_view(engine: &EngineConfig) -> anyhow::Result<StorageView> {
    let mut storage = crate::helper_procs::storage(engine).await?;
    let containers = crate::helper_procs::storage_containers(&mut storage).await;
    let images = if containers.is_ok() {
        storage
            .call("ListImages", |mut c| async move {
                c.list_images(proto::storage::v1::ListImagesRequest { all: true })
                    .await
            })
            .await
            .map(Some)
    } else {
        Ok(None)
    };
    let external = storage
        .call("ListExternal", |mut c| async move {
            c.list_external(proto::storage::v1::ListExternalRequest {})
                .await
        })
        .await;
    storage.close().await?;
    let containers = containers?;
    let external = external?.containers;
    let images = images?
        .map(|r| r.images)
        .unwrap_or_default()
        .into_iter()
        .map(|i| (i.id, (i.names.first().cloned().unwrap_or_default(), i.size)))
        .collect();
    Ok(StorageView {
        containers,
        external,
        images,
    })
}

/// The containers to print, in Podman's order (`GetContainerLists`).
pub async fn list(engine: &EngineConfig, a: &PsArgs) -> anyhow::Result<Vec<Entry>> {
    let started = std::time::Instant::now();
    let filters = filter::parse(&a.filter)?;
    crate::lifecycle::reconcile::pending(engine).await;
    let mut records = Vec::new();
    let db = crate::state::open_state(engine)?;
    let all_records = store::list(&db)?;
    drop(db);
    for rec in all_records {
        let rec = crate::lifecycle::cleanup::refresh(engine, rec).await?;
        if rec.1.status != Status::Removing {
            records.push(rec);
        }
    }
    tracing::debug!(
        containers = records.len(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "listed containers"
    );
    let networks = if filter::needs_networks(&filters) {
        network_list(engine).await?
    } else {
        Vec::new()
    };
    let view = if a.external || a.size {
        Some(storage_view(engine).await?)
    } else {
        None
    };
    let db = crate::state::open_state(engine)?;
    let lookup = DbLookup { db: &db, networks };
    let ext_filter = if a.external {
        Some(ContainerFilter::new(&filters, &lookup, Scope::External)?)
    } else {
        None
    };
    let pod_filter = ContainerFilter::new(&filters, &lookup, Scope::Podman)?;
    drop(db);

    let last = if a.latest { Some(1) } else { a.last };
    let limit = last.filter(|n| *n > 0).map(|n| n as usize);
    // Docker's rule: a status filter lists every container it matches.
    let all = a.all || limit.is_some() || filters.iter().any(|(k, _)| k == "status");
    let mut kept: Vec<&(ContainerConfig, ContainerState)> = records
        .iter()
        .filter(|(c, s)| {
            (all || filter::podman_state(s) == "running")
                && pod_filter.matches(
                    &Subject::new(c, s).with_health(crate::lifecycle::health::status(engine, c)),
                )
        })
        .collect();
    if let Some(n) = limit {
        kept.sort_by_key(|(c, _)| std::cmp::Reverse(c.created_ns));
        kept.truncate(n);
    }
    let mut entries: Vec<Entry> = kept
        .into_iter()
        .map(|(c, s)| {
            let mut e = Entry::from_record(c, s);
            // A container in another's network namespace (a pod's member
            // in its infra's) shows that one's published ports, as libpod's
            // PortMappings does.
            if let crate::container::model::NetworkMode::Container(other) = &c.network_mode {
                if let Some((o, _)) = records
                    .iter()
                    .find(|(o, _)| o.id == *other || o.name == *other)
                {
                    let shared = Entry::from_record(o, s);
                    e.ports = shared.ports;
                    e.port_specs = shared.port_specs;
                }
            }
            if s.status == Status::Running {
                e.health = crate::lifecycle::health::status(engine, c);
            }
            e
        })
        .collect();
    if let (Some(view), Some(ext)) = (&view, &ext_filter) {
        let known: std::collections::HashSet<&str> =
            records.iter().map(|(c, _)| c.id.as_str()).collect();
        let external = view.external.iter().map(|x| {
            (
                proto::storage::v1::Container {
                    id: x.id.clone(),
                    image_id: x.image_id.clone(),
                    created_unix: x.created_unix,
                    ..Default::default()
                },
                x.names.clone(),
            )
        });
        let ours = view.containers.iter().map(|c| (c.clone(), Vec::new()));
        for (sc, names) in ours.chain(external) {
            let sc = &sc;
            if known.contains(sc.id.as_str()) {
                continue;
            }
            let name = view
                .images
                .get(&sc.image_id)
                .map(|(n, _)| n.clone())
                .unwrap_or_default();
            let mut e = Entry::from_storage(sc, name);
            if !names.is_empty() {
                e.names = names;
            }
            let cfg = ContainerConfig {
                id: e.id.clone(),
                name: e.names[0].clone(),
                image_name: e.image.clone(),
                image_id: e.image_id.clone(),
                cmd: vec!["storage".into()],
                created_ns: e.created_ns,
                ..Default::default()
            };
            let st = ContainerState::default();
            if ext.matches(&Subject {
                cfg: &cfg,
                st: &st,
                external: true,
                health: String::new(),
            }) {
                entries.push(e);
            }
        }
    }
    entries.sort_by_key(|e| e.created_ns);
    if let Some(n) = limit {
        entries.truncate(n);
    }
    if let Some(view) = &view {
        if a.size {
            let uppers: HashMap<&str, (&str, &str)> = view
                .containers
                .iter()
                .map(|c| (c.id.as_str(), (c.upper_dir.as_str(), c.image_id.as_str())))
                .collect();
            for e in &mut entries {
                let (upper, image) = uppers.get(e.id.as_str()).copied().unwrap_or(("", ""));
                let rw = if upper.is_empty() {
                    0
                } else {
                    crate::container::disk_usage::tree_bytes(std::path::Path::new(upper)) as i64
                };
                let image_size = view.images.get(image).map(|(_, s)| *s as i64).unwrap_or(0);
                e.size = Some(Size {
                    root_fs: image_size + rw,
                    rw,
                });
            }
        }
    }
    if a.ns {
        entries.iter_mut().for_each(fill_namespaces);
    }
    if entries.iter().any(|e| !e.pod.is_empty()) {
        // `{{.PodName}}`: the pods' names, one lookup each.
        let db = crate::state::open_state(engine)?;
        let mut names: HashMap<String, String> = HashMap::new();
        for e in entries.iter_mut().filter(|e| !e.pod.is_empty()) {
            if !names.contains_key(&e.pod) {
                let n = crate::pod::store::resolve(&db, &e.pod)
                    .map(|p| p.name)
                    .unwrap_or_default();
                names.insert(e.pod.clone(), n);
            }
            e.pod_name = names[&e.pod].clone();
        }
    }
    if let Some(by) = &a.sort {
        sort_entries(by, &mut entries);
    }
    Ok(entries)
}
