//! `podman build`: a Containerfile parser with no I/O (`parse`, `words`,
//! `config`, `plan`, `ignore`) and an executor that drives the same
//! helpers as `run` and `commit` (`executor`, `steps`, `sources`,
//! `cache`).

pub mod add_url;
pub mod cache;
mod commit;
pub mod config;
pub mod executor;
pub mod ignore;
pub mod options;
pub mod output;
pub mod parse;
pub mod plan;
pub mod platform;
pub mod run_mounts;
pub mod sources;
mod steps;
pub mod words;

pub use executor::{build, image_context as executor_image_context};
