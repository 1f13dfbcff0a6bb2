//! Containers as podman records them.

pub mod disk_usage;
pub mod filter;
pub mod idmap;
pub mod inspect_doc;
pub mod inspect_net;
pub mod inspect_order;
pub mod k8s_log;
pub mod log_config;
pub mod model;
pub mod names;
pub mod parse;
pub mod store;
