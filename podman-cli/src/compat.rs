//! Which Podman this build behaves as.

/// The version of Podman whose behaviour this build implements: what
/// `podman version` reports as `Version` (scripts gate on it) and what
/// `/run/.containerenv` names as the engine.
pub const PODMAN_VERSION: &str = "5.4.0";

/// The version of Buildah whose build behaviour `podman build` implements
/// (the one Podman 5.4.0 vendors): what `info` reports as
/// `.Host.BuildahVersion`, `buildx version` prints, and built images carry
/// as their `io.buildah.version` label (tools read it to know what the
/// builder does).
pub const BUILDAH_VERSION: &str = "1.39.0";
