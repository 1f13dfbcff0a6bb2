//! The part of Kubernetes' object model `kube play` reads: Pods,
//! Deployments (their pod template), PersistentVolumeClaims and
//! ConfigMaps. Fields outside it are not read; the ones a user would
//! expect to act and that cannot are refused by `plan`, not dropped.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One YAML document: its kind decides which of the rest is read.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Object {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: Metadata,
    /// Pod: a PodSpec; Deployment: a DeploymentSpec; PVC: its spec.
    #[serde(default)]
    pub spec: serde_yaml_ng::Value,
    /// ConfigMap's data.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSpec {
    pub replicas: Option<u32>,
    #[serde(default)]
    pub template: PodTemplate,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: PodSpec,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default)]
    pub init_containers: Vec<Container>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
    pub hostname: Option<String>,
    #[serde(default)]
    pub host_network: bool,
    #[serde(default)]
    pub host_pid: bool,
    #[serde(default)]
    pub host_ipc: bool,
    pub restart_policy: Option<String>,
    #[serde(default)]
    pub host_aliases: Vec<HostAlias>,
    pub dns_config: Option<DnsConfig>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct HostAlias {
    pub ip: String,
    #[serde(default)]
    pub hostnames: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DnsConfig {
    #[serde(default)]
    pub nameservers: Vec<String>,
    #[serde(default)]
    pub searches: Vec<String>,
    #[serde(default)]
    pub options: Vec<DnsOption>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct DnsOption {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    #[serde(default)]
    pub image: String,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    pub working_dir: Option<String>,
    #[serde(default)]
    pub env: Vec<EnvVar>,
    #[serde(default)]
    pub env_from: Vec<EnvFrom>,
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub volume_mounts: Vec<VolumeMount>,
    pub security_context: Option<SecurityContext>,
    pub resources: Option<Resources>,
    pub image_pull_policy: Option<String>,
    #[serde(default)]
    pub stdin: bool,
    #[serde(default)]
    pub tty: bool,
    pub liveness_probe: Option<Probe>,
    pub startup_probe: Option<serde_yaml_ng::Value>,
    pub lifecycle: Option<serde_yaml_ng::Value>,
}

/// A probe; Podman runs a liveness probe as the container's healthcheck
/// (readiness probes are not read, as in Podman).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    pub exec: Option<ExecAction>,
    pub http_get: Option<NetAction>,
    pub tcp_socket: Option<NetAction>,
    #[serde(default)]
    pub period_seconds: i64,
    #[serde(default)]
    pub failure_threshold: i64,
    #[serde(default)]
    pub timeout_seconds: i64,
    #[serde(default)]
    pub initial_delay_seconds: i64,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct ExecAction {
    #[serde(default)]
    pub command: Vec<String>,
}

/// httpGet or tcpSocket: the port is a number or a named container port.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct NetAction {
    pub host: Option<String>,
    pub path: Option<String>,
    pub scheme: Option<String>,
    pub port: serde_yaml_ng::Value,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
    pub value_from: Option<EnvSource>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EnvSource {
    pub config_map_key_ref: Option<KeyRef>,
    pub secret_key_ref: Option<KeyRef>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct KeyRef {
    pub name: String,
    pub key: String,
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EnvFrom {
    pub config_map_ref: Option<NameRef>,
    pub secret_ref: Option<NameRef>,
    pub prefix: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct NameRef {
    pub name: String,
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    pub name: Option<String>,
    /// Absent with a hostPort: the same port inside (as Podman reads it).
    #[serde(default)]
    pub container_port: u16,
    pub host_port: Option<u16>,
    #[serde(rename = "hostIP")]
    pub host_ip: Option<String>,
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub name: String,
    pub mount_path: String,
    #[serde(default)]
    pub read_only: bool,
    pub sub_path: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    pub host_path: Option<HostPath>,
    pub empty_dir: Option<EmptyDir>,
    pub persistent_volume_claim: Option<ClaimRef>,
    pub config_map: Option<ConfigMapVolume>,
    pub secret: Option<serde_yaml_ng::Value>,
    pub image: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct HostPath {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDir {
    pub medium: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRef {
    pub claim_name: String,
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapVolume {
    pub name: String,
    #[serde(default)]
    pub items: Vec<KeyToPath>,
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct KeyToPath {
    pub key: String,
    pub path: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    pub privileged: Option<bool>,
    pub read_only_root_filesystem: Option<bool>,
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub allow_privilege_escalation: Option<bool>,
    pub capabilities: Option<Capabilities>,
    pub se_linux_options: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Capabilities {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub drop: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Resources {
    #[serde(default)]
    pub limits: BTreeMap<String, serde_yaml_ng::Value>,
    #[serde(default)]
    pub requests: BTreeMap<String, serde_yaml_ng::Value>,
}

/// Every document of a (multi-document) YAML stream; empty documents are
/// skipped, as kubectl does.
pub fn parse_all(text: &str) -> Result<Vec<Object>, serde_yaml_ng::Error> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let v = serde_yaml_ng::Value::deserialize(doc)?;
        if v.is_null() {
            continue;
        }
        out.push(serde_yaml_ng::from_value(v)?);
    }
    Ok(out)
}
