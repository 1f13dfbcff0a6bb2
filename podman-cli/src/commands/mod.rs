//! One module per podman command verb (or family of small ones).

pub mod attach;
pub mod build;
pub mod commit;
pub mod container_cleanup;
pub mod container_exists;
pub mod container_prune;
pub mod cp;
pub mod create;
pub mod create_cgroups;
pub mod create_health;
pub mod create_resources;
pub mod diff;
pub mod events;
pub mod exec;
pub mod export;
pub mod healthcheck;
pub mod history;
pub mod image_exists;
pub mod image_inspect;
pub mod image_mount;
pub mod image_prune;
pub mod images;
pub mod import;
pub mod info;
pub mod init;
pub mod inspect;
pub mod kill;
pub mod load;
pub mod login;
pub mod logs;
pub mod mount;
pub mod network;
pub mod network_reload;
pub mod pause;
pub mod pod;
pub mod pod_ps;
pub mod pod_stats;
pub mod port;
pub mod prompt;
pub mod ps;
pub mod pull;
pub mod push;
pub mod rename;
pub mod restart;
pub mod rm;
pub mod rmi;
pub mod run;
pub mod save;
pub mod service;
pub mod start;
pub mod stats;
pub mod stop;
pub mod system;
pub mod tag;
pub mod targets;
#[allow(unsafe_code)]
pub mod top;
pub mod untag;
pub mod update;
pub mod version;
pub mod volume;
#[allow(unsafe_code)]
pub mod wait;

/// For `top`, which reaches the state through `super::`.
pub use crate::state::open_state;
