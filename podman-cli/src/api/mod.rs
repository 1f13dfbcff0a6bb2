//! The REST API of `podman system service`: the Docker Engine API and
//! libpod's, over HTTP/1.1 on a unix socket (or TCP when asked).
//!
//! One process, no daemon: the service stops after `--time` idle seconds.
//! Each request that touches containers, images, networks or volumes runs
//! the same lifecycle code as the CLI on a worker thread of its own
//! ([`worker`]): that code takes per-container file locks and keeps helper
//! sessions per command, so requests never share a runtime or a helper.
//! Streams (logs, events, pull progress) and hijacked connections (attach,
//! exec) are pumped on the server's runtime.

pub mod archive;
pub mod container_views;
pub mod containers;
pub mod create_body;
pub mod errors;
pub mod exec;
#[allow(unsafe_code)]
pub mod hijack;
pub mod http;
pub mod image_transfer;
pub mod images;
pub mod libpod;
#[allow(unsafe_code)]
pub mod listen;
pub mod logs;
pub mod networks;
pub mod router;
pub mod server;
pub mod spec_fields;
pub mod spec_generator;
pub mod stats;
pub mod system;
pub mod tls;
pub mod version;
pub mod volumes;
pub mod worker;

pub use server::{serve, ServiceOptions};
