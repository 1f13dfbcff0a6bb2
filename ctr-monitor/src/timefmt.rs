//! Timestamps as Podman writes them: RFC 3339 with nanoseconds and the
//! local UTC offset, e.g. `2026-11-27T20:24:22.123456789+00:00`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as (nanoseconds since the epoch, RFC 3339 text).
pub fn now() -> (i64, String) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let nanos = d.as_secs() as i64 * 1_000_000_000 + d.subsec_nanos() as i64;
    (nanos, format(d.as_secs() as i64, d.subsec_nanos()))
}

/// Nanoseconds since the epoch, now.
pub fn now_nanos() -> i64 {
    now().0
}

/// `secs` (since the epoch) and `nanos` in local time.
pub fn format(secs: i64, nanos: u32) -> String {
    // SAFETY: localtime_r fills the tm we pass; a zeroed tm is valid input.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let t = secs as libc::time_t;
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        // SAFETY: as above.
        unsafe { libc::gmtime_r(&t, &mut tm) };
        tm.tm_gmtoff = 0;
    }
    let off = tm.tm_gmtoff;
    let (sign, off) = if off < 0 { ('-', -off) } else { ('+', off) };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}{}{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        nanos,
        sign,
        off / 3600,
        (off % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn shape_is_rfc3339_with_nanoseconds() {
        let s = super::format(1_700_000_000, 5);
        assert_eq!(s.len(), "2023-11-14T22:13:20.000000005+00:00".len(), "{s}");
        assert_eq!(&s[19..29], ".000000005");
        assert!(matches!(&s[29..30], "+" | "-"));
        assert_eq!(&s[32..33], ":");
    }
}
