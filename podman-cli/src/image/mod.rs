//! Images from podman's side: references and short names, pulling through
//! the helpers, progress display.

pub mod lookup;
pub mod progress;
pub mod pull;
pub mod view;
pub mod reference;
pub mod archive;
pub mod auth_store;
pub mod config_change;
pub mod docker_archive;
pub mod layout;
pub mod naming;
pub mod staging;
pub mod transfer;
