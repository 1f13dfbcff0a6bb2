//! `podman info`: host, store, runtimes, network backend and helpers, in
//! Podman's JSON shape (with a `helpers` section of our own).

use proto::common::v1::InfoRequest;
use serde_json::json;

use crate::engine_config::EngineConfig;
use crate::helper_procs::{self, InfoAnswer};
use crate::host_info as host;
use crate::state::State;

pub async fn run(cfg: &EngineConfig, format: Option<&str>) -> anyhow::Result<()> {
    print(&document(cfg).await?, format)
}

/// Print an info document (ours, or a service's for `--remote`).
pub fn print(doc: &serde_json::Value, format: Option<&str>) -> anyhow::Result<()> {
    let doc = doc.clone();
    let out = match format {
        Some(f) => crate::format::render(f, &doc)?,
        None => crate::format::yaml_like(&doc),
    };
    // A template's output ends its line, as Podman's report writer does.
    if out.ends_with('\n') {
        print!("{out}");
    } else {
        println!("{out}");
    }
    Ok(())
}

/// Podman's info document (also the API's `/libpod/info`).
pub async fn document(cfg: &EngineConfig) -> anyhow::Result<serde_json::Value> {
    // Reported below; a bad file must fail before the helpers create a store.
    cfg.registries()?;
    cfg.policy()?;
    let req = InfoRequest {
        probe: true,
        runtime_paths: crate::runtime_choice::requested_paths(cfg),
    };
    let (answers, counts) = tokio::join!(helper_procs::info_all(cfg, req), async {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || {
            State::open(&cfg.db_path(), &cfg.run_root, &cfg.storage_driver)
                .and_then(|s| s.container_counts())
        })
        .await
    });
    let answers = answers?;
    let counts = counts??;
    build(cfg, &answers, counts)
}

fn build(
    cfg: &EngineConfig,
    answers: &[(InfoAnswer, std::path::PathBuf)],
    counts: crate::state::ContainerCounts,
) -> anyhow::Result<serde_json::Value> {
    let (mut fetcher, mut storage, mut net, mut monitor) = (None, None, None, None);
    let mut helper_list = Vec::new();
    for (a, path) in answers {
        let id = a.identity().cloned().unwrap_or_default();
        helper_list.push(json!({"name": id.name, "version": id.version, "apiVersion": id.api_version, "path": path.display().to_string()}));
        match a {
            InfoAnswer::Fetcher(r) => fetcher = Some((r, path)),
            InfoAnswer::Storage(r) => storage = Some((r, path)),
            InfoAnswer::Net(r) => net = Some((r, path)),
            InfoAnswer::Monitor(r) => monitor = Some((r, path)),
        }
    }
    let (
        Some((fetcher, _)),
        Some((storage, _)),
        Some((net, net_path)),
        Some((monitor, monitor_path)),
    ) = (fetcher, storage, net, monitor)
    else {
        anyhow::bail!("a helper did not answer Info");
    };
    let runtime = crate::runtime_choice::choose(cfg, &monitor.runtimes)?;
    let (mem_total, mem_free, swap_total, swap_free) = host::memory();
    let monitor_version = monitor
        .identity
        .as_ref()
        .map(|i| i.version.clone())
        .unwrap_or_default();
    let net_version = net
        .identity
        .as_ref()
        .map(|i| i.version.clone())
        .unwrap_or_default();
    let tool = |t: &Option<proto::netsetup::v1::Tool>| {
        t.as_ref().map(|t| json!({"available": t.available, "path": t.path, "version": t.version, "usable": t.usable, "error": t.error}))
    };
    let tls = fetcher.tls_roots.clone().unwrap_or_default();
    // Each lookup asks the package manager: run them side by side.
    let (monitor_exe, net_exe) = (
        monitor_path.display().to_string(),
        net_path.display().to_string(),
    );
    let (monitor_pkg, net_pkg, runtime_pkg, pasta) = std::thread::scope(|s| {
        let m = s.spawn(|| host::package(&monitor_exe));
        let n = s.spawn(|| host::package(&net_exe));
        let r = s.spawn(|| host::package(&runtime.path));
        let p = s.spawn(|| host::pasta(&cfg.containers.engine.helper_binaries_dir));
        let unknown = || "Unknown".to_string();
        (
            m.join().unwrap_or_else(|_| unknown()),
            n.join().unwrap_or_else(|_| unknown()),
            r.join().unwrap_or_else(|_| unknown()),
            p.join().unwrap_or_default(),
        )
    });
    Ok(json!({
        "host": {
            "arch": host::go_arch(),
            "cgroupManager": cfg.cgroup_manager,
            "cgroupVersion": host::cgroup_version(),
            "cgroupControllers": host::cgroup_controllers(),
            "conmon": {"package": monitor_pkg, "path": monitor_exe, "version": format!("ctr-monitor version {monitor_version}")},
            "cpus": host::cpus(),
            "databaseBackend": "sqlite",
            "buildahVersion": crate::compat::BUILDAH_VERSION,
            "distribution": host::distribution(),
            "eventLogger": crate::events::config().map_or("file", |c| c.backend.as_str()),
            "hostname": host::hostname(),
            "kernel": host::kernel(),
            "logDriver": cfg.containers.containers.log_driver.clone().unwrap_or_else(|| "k8s-file".into()),
            "memFree": mem_free,
            "memTotal": mem_total,
            // net-setup is a netavark backend: netavark's network files
            // and behaviour (one DNS server per network that forwards),
            // which scripts and Podman's tests check for by this name.
            "networkBackend": "netavark",
            "networkBackendInfo": {
                "backend": "netavark",
                "version": format!("net-setup version {net_version}"),
                "package": net_pkg,
                "path": net_exe,
                "firewallBackend": net.firewall_backend,
                "nftables": tool(&net.nftables),
                "iptables": tool(&net.iptables),
                "ipv4Forwarding": net.ipv4_forwarding,
                "ipv6Forwarding": net.ipv6_forwarding,
                "configDir": net.config_dir,
                // The networks' DNS server is net-setup's `dns-serve`.
                "dns": {
                    "version": format!("net-setup version {net_version}"),
                    "package": net_pkg,
                    "path": net_exe,
                },
            },
            "ociRuntime": {"name": runtime.name, "package": runtime_pkg, "path": runtime.path, "version": runtime.version},
            "ociRuntimes": monitor.runtimes.iter().map(|r| json!({
                "name": r.name, "path": r.path, "version": r.version, "works": r.works, "error": r.error,
            })).collect::<Vec<_>>(),
            "os": std::env::consts::OS,
            "pasta": pasta,
            "rootlessNetworkCmd": cfg.containers.network.default_rootless_network_cmd.clone().unwrap_or_else(|| "pasta".into()),
            "security": host::security(
                cfg.containers.containers.default_capabilities.as_deref(),
                (
                    crate::spec::seccomp::kernel_supports(),
                    crate::spec::seccomp::default_profile_path(cfg.containers.containers.seccomp_profile.as_deref()),
                ),
            ),
            "remoteSocket": {
                "path": format!("unix://{}", crate::api::listen::default_socket().display()),
                "exists": crate::api::listen::default_socket().exists(),
            },
            "serviceIsRemote": false,
            "swapFree": swap_free,
            "swapTotal": swap_total,
            "tlsRoots": {"sources": tls.sources, "certificateCount": tls.certificate_count, "certDirs": fetcher.cert_dirs},
            "uptime": host::uptime(),
            "linkmode": "dynamic",
        },
        "store": {
            "configFile": cfg.config_file(),
            "storageConfigFiles": cfg.storage.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "containerStore": counts,
            "graphDriverName": storage.driver,
            "graphOptions": cfg.storage_opts.iter().filter_map(|o| o.split_once('=')).map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "graphRoot": storage.graph_root,
            "graphRootAllocated": storage.graph_root_total_bytes,
            "graphRootUsed": storage.graph_root_used_bytes,
            // containers-storage's vfs driver reports no status.
            "graphStatus": if storage.driver == "vfs" { json!({}) } else { json!({
                "Backing Filesystem": storage.backing_filesystem,
                "Overlay Supported": storage.overlay_supported.to_string(),
                "Overlay Usable": storage.overlay_usable.to_string(),
                "Overlay Error": storage.overlay_error,
            }) },
            "imageCopyTmpDir": cfg.tmp_dir.display().to_string(),
            "imageStore": {"number": storage.image_count},
            "runRoot": storage.run_root,
            "volumePath": cfg.volume_path.display().to_string(),
            "databasePath": cfg.db_path().display().to_string(),
        },
        "plugins": {
            "volume": ["local"],
            "network": ["bridge"],
            "log": ["k8s-file", "none", "passthrough"],
            "authorization": null,
        },
        "registries": {"search": cfg.registries()?.unqualified_search_registries},
        "policy": {"file": cfg.policy()?.file.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "built-in default (insecureAcceptAnything)".into())},
        "helpers": helper_list,
        "version": crate::commands::version::client_block(),
    }))
}
