//! What podman and its helpers share besides the protocol: Podman's
//! configuration files (containers.conf, registries.conf, policy.json,
//! storage.conf), default paths, rlimit clamping, and logging setup.

pub mod containers_conf;
pub mod error;
pub mod helper_cli;
pub mod logging;
pub mod paths;
pub mod policy;
pub mod registries_conf;
pub mod rlimits;
pub mod storage_conf;
pub mod time;
mod toml_files;

pub use error::ConfigError;
