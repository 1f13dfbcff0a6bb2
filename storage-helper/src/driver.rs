//! The storage drivers: how a layer's files sit on disk and how a
//! container's root file system is made from them.
//!
//! * `overlay`: each layer holds only its own diff (whiteouts as overlay
//!   understands them); a container's root is an overlay mount of its
//!   image's layers under its own upper directory.
//! * `vfs` (containers-storage's driver for file systems where overlay
//!   cannot mount): each layer is a full copy of its parent with its diff
//!   applied (whiteouts delete); a container's root is a copy of its
//!   image's top layer, used in place (mounting it only counts).
//!
//! Everything that differs between the two is decided here or by a match
//! on [`Driver`] in the module that owns the operation.

use std::fmt;

use crate::error::{Result, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Overlay,
    Vfs,
}

impl Driver {
    pub fn parse(name: &str) -> Result<Driver> {
        match name {
            "overlay" | "overlay2" => Ok(Driver::Overlay),
            "vfs" => Ok(Driver::Vfs),
            other => Err(StoreError::InvalidArgument(format!(
                "unknown storage driver {other:?}: use overlay or vfs"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Driver::Overlay => "overlay",
            Driver::Vfs => "vfs",
        }
    }

    /// How whiteouts in a layer tar are applied.
    pub fn whiteouts(self) -> crate::unpack::Whiteouts {
        match self {
            // Kept for the overlay mount to hide what is below.
            Driver::Overlay => crate::unpack::Whiteouts::Overlay,
            // The layer already holds its parent's files: delete them.
            Driver::Vfs => crate::unpack::Whiteouts::Apply,
        }
    }

    /// Whether a layer starts as a copy of its parent (so layers are
    /// made in order).
    pub fn layers_copy_parents(self) -> bool {
        self == Driver::Vfs
    }

    /// Whether mounting a container really mounts a file system.
    pub fn mounts(self) -> bool {
        self == Driver::Overlay
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Driver;

    #[test]
    fn names_round_trip_and_unknown_is_refused() {
        for d in [Driver::Overlay, Driver::Vfs] {
            assert_eq!(Driver::parse(d.name()).unwrap(), d);
        }
        let e = Driver::parse("zfs").unwrap_err().to_string();
        assert!(e.contains("zfs") && e.contains("vfs"), "{e}");
    }
}
