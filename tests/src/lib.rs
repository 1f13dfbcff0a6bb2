//! End-to-end test fixtures for the container engine.
//!
//! These fixtures use real things, never mocks:
//!
//! * [`layer`]: deterministic tar+gzip layers built from a list of entries
//!   (files, directories, symlinks, hardlinks, whiteouts).
//! * [`busybox`]: the busybox root filesystem from Debian's static
//!   `/usr/bin/busybox`, the base of most test images.
//! * [`oci_image`]: image configs and OCI / Docker schema 2 manifests; it
//!   re-exports everything image-related, so `e2e::oci_image::*` suffices.
//! * [`image_index`]: OCI image indexes and Docker manifest lists.
//! * [`oci_layout`]: OCI image layouts on disk (`oci:DIR:TAG`).
//! * [`registry`]: a real `docker-registry` process on a free 127.0.0.1 port,
//!   optionally behind htpasswd basic auth, with push and fetch helpers.
//! * [`registry_client`]: the registry v2 HTTP client behind those helpers.
//! * [`raw_tar`]: tar archives written header by header (device nodes, PAX
//!   xattrs, hostile paths) for what `LayerBuilder` refuses to express.
//! * [`storage_env`]: a private store driven through the real
//!   `storage-helper` (subcommands or gRPC), and file-tree snapshots.
//! * [`storage_fixtures`]: the storage tests' images and expected trees.
//! * [`image_env`]: podman image commands against a test registry (pull,
//!   run, inspect, an auth file of the test's own).
//! * [`poll`]: waiting for a condition with a deadline (tests never sleep
//!   for a guessed time).
//!
//! Library code returns [`anyhow::Result`] for anything that depends on the
//! machine (missing binaries, I/O, HTTP), so test failures say what is wrong.
//!
//! Host requirements (Debian packages): `busybox-static`, `docker-registry`,
//! `zstd`.

#![deny(unsafe_code)]

pub mod api_service;
pub mod binaries;
pub mod build_files;
pub mod busybox;
pub mod image_env;
pub mod image_index;
pub mod layer;
#[allow(unsafe_code)]
pub mod monitor_env;
pub mod mountinfo;
pub mod oci_image;
pub mod oci_layout;
pub mod podman;
pub mod poll;
pub mod raw_tar;
pub mod registry;
pub mod registry_client;
#[allow(unsafe_code)]
pub mod storage_env;
pub mod storage_fixtures;
