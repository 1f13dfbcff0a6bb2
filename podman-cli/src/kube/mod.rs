//! `kube play` and `kube down`: Kubernetes YAML as pods, containers and
//! volumes made through the same lifecycle code as the CLI's.

pub mod model;
pub mod plan;
pub mod play;
