//! The only contract between podman and its helpers.
//!
//! * Generated gRPC code for each helper's service (`fetcher::v1`,
//!   `storage::v1`, `netsetup::v1`, `monitor::v1`), plus shared messages in
//!   `common::v1`.
//! * The transport: [`transport::spawn_helper`] for a caller, and
//!   [`transport::serve`] for a helper (one connection on an inherited
//!   socketpair, or many on a unix socket).
//! * [`fdpass`]: file descriptors travelling beside gRPC (SCM_RIGHTS), since
//!   gRPC itself cannot carry them.
//! * [`unix_path`]: unix socket paths longer than `sockaddr_un` holds.
//! * [`error`]: the one error vocabulary ([`ErrorCode`]) every helper
//!   classifies into, and its only conversion to and from gRPC statuses.

#![deny(unsafe_code)]

pub mod error;
#[allow(unsafe_code)]
pub mod fdpass;
#[allow(unsafe_code)]
pub mod spawn;
#[allow(unsafe_code)]
pub mod transport;
#[allow(unsafe_code)]
pub mod unix_path;

/// Protocol revision spoken by this build. A helper reports it in
/// `Identity.api_version`; a caller refuses a helper that speaks another one.
pub const API_VERSION: u32 = 1;

pub use error::{ErrorCode, HelperError};

pub mod common {
    pub mod v1 {
        tonic::include_proto!("common.v1");
    }
}

pub mod fetcher {
    pub mod v1 {
        tonic::include_proto!("fetcher.v1");
    }
}

pub mod storage {
    pub mod v1 {
        tonic::include_proto!("storage.v1");
    }
}

pub mod netsetup {
    pub mod v1 {
        tonic::include_proto!("netsetup.v1");
    }
}

pub mod monitor {
    pub mod v1 {
        tonic::include_proto!("monitor.v1");
    }
}

/// The identity a helper reports about itself.
pub fn identity(name: &str, version: &str) -> common::v1::Identity {
    common::v1::Identity {
        name: name.to_string(),
        version: version.to_string(),
        api_version: API_VERSION,
        pid: std::process::id(),
    }
}
