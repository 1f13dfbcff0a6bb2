//! The process document of an exec session (`podman exec`, a healthcheck
//! run) as the runtime's `exec --process` takes it: the container's spec
//! generated for `pcfg`, of which only the process is kept.

use std::path::Path;

/// `pcfg` is the container's config already changed for the session
/// (command, user, terminal, environment...).
pub fn process(
    pcfg: &crate::container::model::ContainerConfig,
    rootfs: &Path,
    default_capabilities: Option<&[String]>,
) -> anyhow::Result<serde_json::Value> {
    let ctx = super::SpecContext {
        rootfs,
        netns: super::NetNs::Host,
        cgroups_path: String::new(),
        managed_files: vec![],
        secret_files: vec![],
        default_capabilities,
        init_path: None,
        localtime: None,
        containerenv: None,
        joined_namespaces: vec![],
    };
    let spec = super::generate(pcfg, &ctx)?;
    serde_json::to_value(spec.process()).map_err(|e| anyhow::anyhow!("exec process: {e}"))
}
