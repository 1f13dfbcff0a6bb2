//! Event times as Go writes and prints them: RFC 3339 with nanoseconds and
//! trailing zeros trimmed in the file (`2024-01-01T12:00:00.1234Z`), and
//! `Time.String()` for people (`2024-01-01 12:00:00.1234 +0000 UTC`).
//! Times keep the UTC offset they were written with, as Go's parser does.

/// A point in time with the offset it is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTime {
    /// Nanoseconds since the Unix epoch.
    pub unix_ns: i64,
    /// Seconds east of UTC.
    pub offset: i32,
}

/// This machine's offset and zone abbreviation at `unix_secs` (TZ
/// respected), as `localtime_r` gives them.
pub fn local_zone(unix_secs: i64) -> (i32, String) {
    let t: libc::time_t = unix_secs as libc::time_t;
    // SAFETY: libc::tm is plain data (integers and a nullable pointer), for
    // which all-zero is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; tm_zone points to static
    // storage of the C library (or is null).
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return (0, "UTC".into());
    }
    let zone = if tm.tm_zone.is_null() {
        String::new()
    } else {
        // SAFETY: tm_zone is non-null (checked) and points to a
        // NUL-terminated string in the C library's static storage.
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    (tm.tm_gmtoff as i32, zone)
}

pub fn now_unix_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `.123` for 123_000_000 ns; nothing for 0 (Go's `.999999999`).
fn trimmed_fraction(ns: i64) -> String {
    if ns == 0 {
        return String::new();
    }
    let s = format!("{ns:09}");
    format!(".{}", s.trim_end_matches('0'))
}

impl EventTime {
    /// Now, in this machine's zone.
    pub fn now() -> EventTime {
        let unix_ns = now_unix_ns();
        let (offset, _) = local_zone(unix_ns.div_euclid(1_000_000_000));
        EventTime { unix_ns, offset }
    }

    pub fn utc(unix_ns: i64) -> EventTime {
        EventTime { unix_ns, offset: 0 }
    }

    pub fn unix_secs(&self) -> i64 {
        self.unix_ns.div_euclid(1_000_000_000)
    }

    fn civil(&self) -> (i64, u32, u32, u32, u32, u32, i64) {
        let local_ns = self.unix_ns + self.offset as i64 * 1_000_000_000;
        let secs = local_ns.div_euclid(1_000_000_000);
        let (y, mo, d) = common::time::civil_from_days(secs.div_euclid(86400));
        let rem = secs.rem_euclid(86400);
        (
            y,
            mo,
            d,
            (rem / 3600) as u32,
            (rem % 3600 / 60) as u32,
            (rem % 60) as u32,
            local_ns.rem_euclid(1_000_000_000),
        )
    }

    /// Go's `time.RFC3339Nano`: `2022-04-06T11:26:42.723667951+02:00`.
    pub fn rfc3339_nano(&self) -> String {
        let (y, mo, d, h, mi, s, ns) = self.civil();
        let zone = if self.offset == 0 {
            "Z".to_string()
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let o = self.offset.abs();
            format!("{sign}{:02}:{:02}", o / 3600, o % 3600 / 60)
        };
        format!(
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{}{zone}",
            trimmed_fraction(ns)
        )
    }

    /// Go's `Time.String()`: `2022-04-06 11:26:42.723667951 +0200 CEST`.
    /// The zone is this machine's abbreviation when the offset is its own,
    /// `UTC` for UTC, else the numeric offset again (Go's unnamed zone).
    pub fn go_string(&self) -> String {
        let (y, mo, d, h, mi, s, ns) = self.civil();
        let sign = if self.offset < 0 { '-' } else { '+' };
        let o = self.offset.abs();
        let numeric = format!("{sign}{:02}{:02}", o / 3600, o % 3600 / 60);
        let (local_offset, local_name) = local_zone(self.unix_secs());
        let name = if local_offset == self.offset && !local_name.is_empty() {
            local_name
        } else if self.offset == 0 {
            "UTC".to_string()
        } else {
            numeric.clone()
        };
        format!(
            "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}{} {numeric} {name}",
            trimmed_fraction(ns)
        )
    }

    /// Parse RFC 3339 (`T` separator, optional fraction, `Z` or `±hh:mm`).
    pub fn parse_rfc3339(s: &str) -> Option<EventTime> {
        let (date, rest) = s.split_at_checked(10)?;
        let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix('t'))?;
        let (y, mo, d) = parse_date(date)?;
        let (clock, zone) = match rest.find(['Z', 'z', '+', '-']) {
            Some(i) => rest.split_at(i),
            None => return None,
        };
        let (hms, frac) = parse_clock(clock)?;
        let offset = parse_offset(zone)?;
        Some(EventTime {
            unix_ns: to_unix_ns(y, mo, d, hms, frac, offset)?,
            offset,
        })
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&s[..4])?, digits(&s[5..7])?, digits(&s[8..])?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let dim = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d == 0 || d > dim[m as usize - 1] {
        return None;
    }
    Some((y as i64, m, d))
}

/// `HH:MM:SS[.fraction]` -> (seconds of day, nanoseconds).
fn parse_clock(s: &str) -> Option<(u32, u32)> {
    // Go takes a comma for the decimal point too (`date --iso-8601=ns`).
    let (hms, frac) = match s.split_once(['.', ',']) {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    let b = hms.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, sec) = (digits(&hms[..2])?, digits(&hms[3..5])?, digits(&hms[6..])?);
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let ns = match frac {
        None => 0,
        Some(f) if f.is_empty() || f.len() > 9 => return None,
        Some(f) => digits(f)? * 10u32.pow(9 - f.len() as u32),
    };
    Some((h * 3600 + m * 60 + sec, ns))
}

/// `Z` or `±hh:mm` -> seconds east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    if s == "Z" || s == "z" {
        return Some(0);
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let b = s.as_bytes();
    if b.len() != 6 || b[3] != b':' {
        return None;
    }
    let (h, m) = (digits(&s[1..3])?, digits(&s[4..])?);
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h as i32 * 3600 + m as i32 * 60))
}

fn to_unix_ns(y: i64, mo: u32, d: u32, secs_of_day: u32, ns: u32, offset: i32) -> Option<i64> {
    let secs = days_from_civil(y, mo, d)
        .checked_mul(86400)?
        .checked_add(secs_of_day as i64 - offset as i64)?;
    secs.checked_mul(1_000_000_000)?.checked_add(ns as i64)
}

/// Go's `time.ParseDuration`: `1h30m`, `10m`, `1.5s`, `300ms`, `-5m`.
pub fn parse_go_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_end];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let ns_per = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * ns_per;
    }
    let ns = total as i128;
    Some(if neg { -ns } else { ns })
}

/// Podman's `ParseInputTime`: RFC 3339 (with or without fraction), a
/// date-time or date without zone (UTC), a Unix timestamp (`1700000000.5`),
/// or a Go duration counted back from now (`since`) or forward (`until`).
pub fn parse_input_time(s: &str, since: bool) -> Result<EventTime, String> {
    if let Some(t) = EventTime::parse_rfc3339(s) {
        return Ok(t);
    }
    // 2006-01-02T15:04:05[.999999999] (UTC)
    if s.len() >= 19 && s.as_bytes()[10] == b'T' {
        if let (Some((y, mo, d)), Some((hms, ns))) = (parse_date(&s[..10]), parse_clock(&s[11..])) {
            if let Some(n) = to_unix_ns(y, mo, d, hms, ns, 0) {
                return Ok(EventTime::utc(n));
            }
        }
    }
    // 2006-01-02Z07:00 and 2006-01-02
    if s.len() >= 10 {
        if let Some((y, mo, d)) = parse_date(&s[..10]) {
            let zone = &s[10..];
            let offset = if zone.is_empty() {
                Some(0)
            } else {
                parse_offset(zone)
            };
            if let Some(offset) = offset {
                if let Some(n) = to_unix_ns(y, mo, d, 0, 0, offset) {
                    return Ok(EventTime { unix_ns: n, offset });
                }
            }
        }
    }
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() && !s.eq_ignore_ascii_case("inf") && !s.eq_ignore_ascii_case("nan") {
            let secs = f.trunc();
            let frac = f - secs;
            let ns = (secs as i64)
                .saturating_mul(1_000_000_000)
                .saturating_add((frac * 1e9) as i64);
            return Ok(EventTime::utc(ns));
        }
    }
    match parse_go_duration(s) {
        Some(d) => {
            let now = now_unix_ns() as i128;
            let t = if since { now - d } else { now + d };
            let t = t.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
            let (offset, _) = local_zone(t.div_euclid(1_000_000_000));
            Ok(EventTime { unix_ns: t, offset })
        }
        None => Err("unable to interpret time value".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_with_its_offset() {
        let s = "2022-04-06T11:26:42.723667951+02:00";
        let t = EventTime::parse_rfc3339(s).unwrap();
        assert_eq!(t.unix_ns, 1_649_237_202_723_667_951);
        assert_eq!(t.offset, 7200);
        assert_eq!(t.rfc3339_nano(), s);
        let z = EventTime::parse_rfc3339("2024-01-01T12:00:00.1200Z").unwrap();
        assert_eq!(z.rfc3339_nano(), "2024-01-01T12:00:00.12Z");
        let whole = EventTime::parse_rfc3339("2024-01-01T12:00:00Z").unwrap();
        assert_eq!(whole.rfc3339_nano(), "2024-01-01T12:00:00Z");
        assert_eq!(
            EventTime::utc(-1).rfc3339_nano(),
            "1969-12-31T23:59:59.999999999Z"
        );
        assert!(EventTime::parse_rfc3339("2024-02-30T12:00:00Z").is_none());
        assert!(EventTime::parse_rfc3339("2024-01-01 12:00:00Z").is_none());
        assert!(EventTime::parse_rfc3339("2024-01-01T12:00:00").is_none());
    }

    #[test]
    fn go_string_is_times_string() {
        let t = EventTime::parse_rfc3339("2024-01-01T12:00:00.123456789Z").unwrap();
        let (off, name) = local_zone(t.unix_secs());
        let utc_name = if off == 0 { name.clone() } else { "UTC".into() };
        assert_eq!(
            t.go_string(),
            format!("2024-01-01 12:00:00.123456789 +0000 {utc_name}")
        );
        let t = EventTime::parse_rfc3339("2024-01-01T12:00:00.5+02:00").unwrap();
        let plus2 = if off == 7200 { name } else { "+0200".into() };
        assert_eq!(
            t.go_string(),
            format!("2024-01-01 12:00:00.5 +0200 {plus2}")
        );
    }

    #[test]
    fn durations_as_go_parses_them() {
        assert_eq!(parse_go_duration("10m"), Some(600_000_000_000));
        assert_eq!(parse_go_duration("1h30s"), Some(3_630_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_go_duration("-5ms"), Some(-5_000_000));
        assert_eq!(parse_go_duration("0"), Some(0));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("5 m"), None);
        assert_eq!(parse_go_duration("m"), None);
        assert_eq!(parse_go_duration(""), None);
    }

    #[test]
    fn input_times_as_podman_takes_them() {
        let t = |s| parse_input_time(s, true).map(|t| t.unix_ns);
        assert_eq!(t("2022-04-06T09:26:42Z"), Ok(1_649_237_202_000_000_000));
        assert_eq!(
            t("2022-04-06T09:26:42,5+00:00"),
            Ok(1_649_237_202_500_000_000)
        );
        assert_eq!(t("2022-04-06T09:26:42"), Ok(1_649_237_202_000_000_000));
        assert_eq!(t("2022-04-06T09:26:42.5"), Ok(1_649_237_202_500_000_000));
        assert_eq!(t("2022-04-06"), Ok(1_649_203_200_000_000_000));
        assert_eq!(t("2022-04-06+02:00"), Ok(1_649_196_000_000_000_000));
        assert_eq!(t("1649237202"), Ok(1_649_237_202_000_000_000));
        assert_eq!(t("1649237202.25"), Ok(1_649_237_202_250_000_000));
        let now = now_unix_ns();
        let ago = t("10m").unwrap();
        assert!((now - 600_000_000_000 - ago).abs() < 5_000_000_000);
        let ahead = parse_input_time("10m", false).unwrap().unix_ns;
        assert!((now + 600_000_000_000 - ahead).abs() < 5_000_000_000);
        assert_eq!(
            t("the dawn of time...ish"),
            Err("unable to interpret time value".into())
        );
    }
}
