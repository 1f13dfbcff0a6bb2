//! One module per podman command.

pub mod info;
pub mod version;
