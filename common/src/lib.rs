//! What podman and its helpers share besides the protocol: Podman's
//! configuration files (containers.conf, registries.conf, policy.json,
//! storage.conf), default paths, rlimit clamping, logging setup, and the
//! system primitives every process needs the same way: atomic file writes,
//! flock locks, time, random IDs, path resolution inside a root, and the
//! rule for names and ids that reach paths, rule text or argv.

#![deny(unsafe_code)]

pub mod atomic_file;
pub mod containers_conf;
pub mod error;
#[allow(unsafe_code)]
pub mod file_lock;
pub mod fs_error;
pub mod helper_cli;
#[allow(unsafe_code)]
pub mod in_root;
pub mod logging;
pub mod names;
pub mod paths;
pub mod policy;
pub mod private_dir;
#[allow(unsafe_code)]
pub mod random;
pub mod registries_conf;
pub mod rlimits;
pub mod storage_conf;
#[allow(unsafe_code)]
pub mod time;
mod toml_files;
pub mod units;

pub use error::ConfigError;
pub use fs_error::FsError;
