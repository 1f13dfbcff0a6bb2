//! API versions: the Docker-compatible tree answers 1.24 to 1.41 (Podman
//! 5's range; a newer one is refused in the Docker daemon's words, so
//! Docker's clients negotiate down), libpod's 4.0.0 and later. Podman's
//! server puts no upper bound on libpod's tree (its routes take any
//! version), and newer clients rely on it: podman-py 5.8 speaks
//! `/v5.8.0/libpod/` to every service. A path may carry `/v{version}` or
//! none (the newest).

use super::errors::ApiError;

pub const COMPAT_CURRENT: (u32, u32) = (1, 41);
pub const COMPAT_MINIMUM: (u32, u32) = (1, 24);
pub const LIBPOD_MINIMUM: (u32, u32, u32) = (4, 0, 0);

pub fn compat_current() -> String {
    format!("{}.{}", COMPAT_CURRENT.0, COMPAT_CURRENT.1)
}

pub fn compat_minimum() -> String {
    format!("{}.{}", COMPAT_MINIMUM.0, COMPAT_MINIMUM.1)
}

/// semver.ParseTolerant: "1.41", "v1.41", "5.4.0".
fn parse(v: &str) -> Option<(u32, u32, u32)> {
    let v = v.strip_prefix('v').unwrap_or(v);
    let mut it = v.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next().map(str::parse).transpose().ok()?.unwrap_or(0);
    let patch = it
        .next()
        .map(|p| p.split(['-', '+']).next().unwrap_or(p).parse())
        .transpose()
        .ok()?
        .unwrap_or(0);
    if it.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

/// Check the version a path asked for against the tree it names.
pub fn check(given: &str, libpod: bool) -> Result<(), ApiError> {
    let Some(v) = parse(given) else {
        return Err(ApiError::bad_request(format!(
            "unable to parse given API version: {given:?}"
        )));
    };
    let (min, max) = if libpod {
        (LIBPOD_MINIMUM, (u32::MAX, u32::MAX, u32::MAX))
    } else {
        (
            (COMPAT_MINIMUM.0, COMPAT_MINIMUM.1, 0),
            (COMPAT_CURRENT.0, COMPAT_CURRENT.1, u32::MAX),
        )
    };
    if v < min {
        return Err(ApiError::bad_request(format!(
            "client version {given} is too old. Minimum supported API version is {}: given version is not supported",
            if libpod { "4.0.0".to_string() } else { compat_minimum() }
        )));
    }
    if v > max {
        return Err(ApiError::bad_request(format!(
            "client version {given} is too new. Maximum supported API version is {}: given version is not supported",
            compat_current()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(check("1.41", false).is_ok());
        assert!(check("1.24", false).is_ok());
        assert!(check("v1.30", false).is_ok());
        assert!(check("1.23", false).is_err());
        assert!(check("1.50", false).is_err());
        assert!(check("9.99", false).is_err());
        assert!(check("abc", false).is_err());
        assert!(check("4.0.0", true).is_ok());
        assert!(check(crate::compat::PODMAN_VERSION, true).is_ok());
        assert!(check("3.4.0", true).is_err());
        assert!(check("5.8.0", true).is_ok(), "podman-py 5.8's version");
        assert!(check("99.0.0", true).is_ok());
    }
}
