//! One tar entry as the applier needs it: its path inside the root and its
//! metadata with PAX records applied.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Metadata of one entry, PAX records applied.
pub(super) struct Meta {
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) mode: u32,
    pub(super) mtime: i64,
    pub(super) mtime_ns: i64,
    pub(super) xattrs: Vec<(String, Vec<u8>)>,
}

/// Relative path of a tar entry, None for the root itself; `..` refused.
pub(super) fn clean_path(raw: &[u8]) -> std::result::Result<Option<PathBuf>, &'static str> {
    if raw.contains(&0) {
        return Err("NUL in path");
    }
    let mut out = PathBuf::new();
    for comp in raw.split(|b| *b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return Err("path contains '..'"),
            c => out.push(OsStr::from_bytes(c)),
        }
    }
    Ok(if out.as_os_str().is_empty() {
        None
    } else {
        Some(out)
    })
}

pub(super) fn meta<R: Read>(entry: &mut tar::Entry<'_, R>) -> std::io::Result<Meta> {
    let h = entry.header();
    let mut m = Meta {
        uid: h.uid()? as u32,
        gid: h.gid()? as u32,
        mode: h.mode()? & 0o7777,
        mtime: h.mtime()? as i64,
        mtime_ns: 0,
        xattrs: Vec::new(),
    };
    if let Some(pax) = entry.pax_extensions()? {
        for ext in pax {
            let ext = ext?;
            let Ok(key) = ext.key() else { continue };
            let value = ext.value_bytes();
            match key {
                "uid" => m.uid = parse_num(value).unwrap_or(m.uid as u64) as u32,
                "gid" => m.gid = parse_num(value).unwrap_or(m.gid as u64) as u32,
                "mtime" => {
                    if let Some((s, ns)) = parse_pax_time(value) {
                        m.mtime = s;
                        m.mtime_ns = ns;
                    }
                }
                k => {
                    if let Some(x) = k.strip_prefix("SCHILY.xattr.") {
                        // Image content must not forge overlay's own metadata.
                        if !x.starts_with("trusted.overlay.") {
                            m.xattrs.push((x.to_string(), value.to_vec()));
                        }
                    }
                }
            }
        }
    }
    Ok(m)
}

fn parse_num(v: &[u8]) -> Option<u64> {
    std::str::from_utf8(v).ok()?.trim().parse().ok()
}

fn parse_pax_time(v: &[u8]) -> Option<(i64, i64)> {
    let s = std::str::from_utf8(v).ok()?.trim();
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = secs.parse().ok()?;
    let mut digits: String = frac.chars().take(9).collect();
    while digits.len() < 9 {
        digits.push('0');
    }
    let ns: i64 = digits.parse().unwrap_or(0);
    Some((secs, if secs < 0 && ns > 0 { -ns } else { ns }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_and_traversal_refused() {
        assert_eq!(clean_path(b"./a//b/").unwrap(), Some(PathBuf::from("a/b")));
        assert_eq!(
            clean_path(b"/etc/passwd").unwrap(),
            Some(PathBuf::from("etc/passwd"))
        );
        assert_eq!(clean_path(b"./").unwrap(), None);
        assert!(clean_path(b"a/../../x").is_err());
    }

    #[test]
    fn pax_times_keep_nanoseconds() {
        assert_eq!(
            parse_pax_time(b"1700000000.5"),
            Some((1_700_000_000, 500_000_000))
        );
        assert_eq!(parse_pax_time(b"12"), Some((12, 0)));
    }
}
