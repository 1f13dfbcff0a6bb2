//! Where net-setup's IDs and generated names come from: random bytes for
//! new IDs, MACs and subnets; a stable hash for short names (chain names,
//! interface names) that must come out the same in every process and
//! release.

use crate::error::{NetError, Result};

/// `N` random bytes from the kernel.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    common::random::bytes::<N>().map_err(|e| NetError::io("reading random bytes", "getrandom", e))
}

/// A new 64-hex-digit ID.
pub fn new_id() -> Result<String> {
    Ok(common::random::hex(&random_bytes::<32>()?))
}

/// FNV-1a, 64 bits.
pub fn fnv64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in data {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        assert_eq!(super::fnv64(b""), 0xcbf29ce484222325);
        assert_eq!(super::fnv64(b"a"), 0xaf63dc4c8601ec8c);
    }
}
