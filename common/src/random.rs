//! Random bytes from the kernel (getrandom(2): no file descriptor, and it
//! blocks only until the pool is first seeded) and the IDs made from them.

/// Fill `buf` with random bytes.
pub fn fill(buf: &mut [u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: getrandom writes at most `rest.len()` bytes into `rest`,
        // which is valid, exclusively borrowed memory.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(())
}

/// `N` random bytes.
pub fn bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut b = [0u8; N];
    fill(&mut b)?;
    Ok(b)
}

/// A 64-hex-digit ID from 32 random bytes, as Podman makes container,
/// network and exec session IDs.
pub fn hex_id() -> std::io::Result<String> {
    Ok(hex(&bytes::<32>()?))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// `n` random characters from `alphabet` (at most 256 symbols; a
/// non-power-of-two size is very slightly biased, fine for names).
pub fn string_from(alphabet: &[u8], n: usize) -> std::io::Result<String> {
    assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    let mut b = vec![0u8; n];
    fill(&mut b)?;
    Ok(b.iter()
        .map(|x| alphabet[usize::from(*x) % alphabet.len()] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_lowercase_hex_and_differ() {
        let a = hex_id().unwrap();
        let b = hex_id().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn hex_encodes_every_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn large_buffers_are_filled() {
        // More than one getrandom call may be needed past 256 bytes.
        let mut b = vec![0u8; 1 << 20];
        fill(&mut b).unwrap();
        assert!(b.iter().filter(|x| **x == 0).count() < 8192);
    }

    #[test]
    fn strings_use_only_the_alphabet() {
        let s = string_from(b"AB9", 100).unwrap();
        assert_eq!(s.len(), 100);
        assert!(s.bytes().all(|c| b"AB9".contains(&c)));
        assert!(s.contains('A') && s.contains('9'));
    }
}
