//! Sizes and durations the way Podman prints them (go-units).

/// `bytes` in decimal units with `sig` significant digits (Go's `%.Ng`,
/// no trailing zeros), and the unit.
fn scaled(bytes: u64, sig: usize) -> (String, &'static str) {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    scaled_in(bytes, sig, 1000.0, &UNITS)
}

/// go-units' `CustomSize`: divide by `base` while it reaches it.
fn scaled_in(bytes: u64, sig: usize, base: f64, units: &[&'static str]) -> (String, &'static str) {
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= base && i < units.len() - 1 {
        v /= base;
        i += 1;
    }
    let int_digits = if v >= 100.0 {
        3
    } else if v >= 10.0 {
        2
    } else {
        1
    };
    let digits = sig.saturating_sub(int_digits);
    let mut s = format!("{v:.digits$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    (s, units[i])
}

/// `units.BytesSize`: binary units, 4 significant digits, no space
/// ("0B", "1.5KiB", "64MiB").
pub fn bytes_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let (n, unit) = scaled_in(bytes, 4, 1024.0, &UNITS);
    format!("{n}{unit}")
}

/// `units.HumanSizeWithPrecision(size, 3)`: decimal units, 3 significant digits.
pub fn size(bytes: u64) -> String {
    let (n, unit) = scaled(bytes, 3);
    format!("{n} {unit}")
}

/// `units.HumanSize`: decimal units, 4 significant digits, no space
/// ("0B", "4.256MB"), as Podman's "Total reclaimed space" line has it.
pub fn size_compact(bytes: u64) -> String {
    let (n, unit) = scaled(bytes, 4);
    format!("{n}{unit}")
}

/// `units.HumanDuration`, with " ago" as Podman's CREATED column has it.
pub fn since(then_unix: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let secs = (now - then_unix).max(0);
    format!("{} ago", duration(secs))
}

pub fn duration(secs: i64) -> String {
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86400);
    if secs < 1 {
        "Less than a second".into()
    } else if secs == 1 {
        "1 second".into()
    } else if secs < 60 {
        format!("{secs} seconds")
    } else if m == 1 {
        "About a minute".into()
    } else if m < 60 {
        format!("{m} minutes")
    } else if h == 1 {
        "About an hour".into()
    } else if h < 48 {
        format!("{h} hours")
    } else if d < 14 {
        format!("{d} days")
    } else if d < 60 {
        format!("{} weeks", d / 7)
    } else if d < 365 * 2 {
        format!("{} months", d / 30)
    } else {
        format!("{} years", d / 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(4_521_000), "4.52 MB");
        assert_eq!(size(12_300), "12.3 kB");
        assert_eq!(size(999), "999 B");
        assert_eq!(size_compact(0), "0B");
        assert_eq!(size_compact(4_256_123), "4.256MB");
        assert_eq!(size_compact(999_999), "1000kB");
        assert_eq!(size_compact(12_300), "12.3kB");
        assert_eq!(duration(90), "About a minute");
        assert_eq!(duration(3 * 86400), "3 days");
        assert_eq!(duration(20 * 86400), "2 weeks");
    }
}
