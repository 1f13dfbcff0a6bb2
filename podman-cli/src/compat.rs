//! Which Podman this build behaves as.

/// The version of Podman whose behaviour this build implements: what
/// `podman version` reports as `Version` (scripts gate on it) and what
/// `/run/.containerenv` names as the engine.
pub const PODMAN_VERSION: &str = "5.4.0";
