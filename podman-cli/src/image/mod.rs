//! Images from podman's side: references and short names, pulling through
//! the helpers, progress display.

pub mod archive;
pub mod auth_store;
pub mod config_change;
pub mod docker_archive;
pub mod layout;
pub mod lookup;
pub mod naming;
pub mod progress;
pub mod pull;
pub mod pull_options;
pub mod push;
pub mod reference;
pub mod staging;
pub mod transfer;
pub mod uncompressed;
pub mod view;
