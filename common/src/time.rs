//! Timestamps: the civil calendar (proleptic Gregorian, Howard Hinnant's
//! algorithms), RFC 3339 text in UTC or local time, and parsing RFC 3339
//! as image configs, logs and users write it. No time-zone database: the
//! local offset comes from libc.

use std::time::{SystemTime, UNIX_EPOCH};

pub const NANOS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a civil date (the inverse of
/// [`civil_from_days`]; month 1-12, day 1-31, not range-checked).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (m, d) = (i64::from(month), i64::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn is_leap_year(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap_year(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Unix seconds as (year, month, day, hour, minute, second) in UTC.
pub fn utc(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let (y, m, d) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
    let rem = secs.rem_euclid(SECS_PER_DAY);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// Now, in nanoseconds since the epoch.
pub fn now_nanos() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    d.as_secs() as i64 * NANOS_PER_SEC + i64::from(d.subsec_nanos())
}

/// Now, in seconds since the epoch.
pub fn now_unix() -> i64 {
    now_nanos().div_euclid(NANOS_PER_SEC)
}

/// RFC 3339 in UTC with nanoseconds, e.g. `2026-11-27T20:24:22.000000005Z`.
pub fn rfc3339_nanos(ns: i64) -> String {
    let (y, m, d, h, mi, s) = utc(ns.div_euclid(NANOS_PER_SEC));
    format!(
        "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:09}Z",
        ns.rem_euclid(NANOS_PER_SEC)
    )
}

/// RFC 3339 in UTC to the second, e.g. `2023-11-14T22:13:20Z` (as image
/// configs carry `created`).
pub fn rfc3339_secs(secs: i64) -> String {
    let (y, m, d, h, mi, s) = utc(secs);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Now as [`rfc3339_nanos`].
pub fn now_rfc3339() -> String {
    rfc3339_nanos(now_nanos())
}

/// RFC 3339 in local time with nanoseconds and the offset, as Podman
/// writes log and state timestamps: `2026-11-27T21:24:22.000000005+01:00`.
/// UTC (`+00:00`) when the local time cannot be computed.
pub fn rfc3339_local(ns: i64) -> String {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let off = local_offset(secs);
    let (y, m, d, h, mi, s) = utc(secs + off);
    let (sign, off) = if off < 0 { ('-', -off) } else { ('+', off) };
    format!(
        "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:09}{sign}{:02}:{:02}",
        ns.rem_euclid(NANOS_PER_SEC),
        off / 3600,
        off % 3600 / 60
    )
}

/// Now, as (nanoseconds since the epoch, [`rfc3339_local`] text).
pub fn now_local() -> (i64, String) {
    let ns = now_nanos();
    (ns, rfc3339_local(ns))
}

/// Seconds east of UTC of local time at `secs`.
fn local_offset(secs: i64) -> i64 {
    i64::from(local_zone(secs).0)
}

/// This machine's zone at `secs` (TZ respected): seconds east of UTC and
/// the zone's abbreviation (`CET`; empty when the C library has none).
/// UTC when local time cannot be computed.
pub fn local_zone(secs: i64) -> (i32, String) {
    let t = secs as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value for localtime_r to fill;
    // both pointers are to live locals for the duration of the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return (0, "UTC".into());
    }
    let zone = if tm.tm_zone.is_null() {
        String::new()
    } else {
        // SAFETY: a non-null tm_zone points to a NUL-terminated string in
        // the C library's static storage, alive for the whole process.
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    (tm.tm_gmtoff as i32, zone)
}

/// Go's `time.ParseDuration` in nanoseconds: `1h30m`, `10m`, `1.5s`,
/// `300ms`, `-5m`, `0`; None for anything else (a bare number other than
/// 0, a unit Go does not know, spaces).
pub fn parse_go_duration(s: &str) -> Option<i64> {
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
        let per_unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += value * per_unit;
    }
    let ns = total as i64;
    Some(if neg { -ns } else { ns })
}

/// Text that is not an RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an RFC 3339 time ({why}); write e.g. 2026-11-27T20:24:22Z")]
pub struct ParseTimeError {
    pub text: String,
    pub why: &'static str,
}

/// RFC 3339 to nanoseconds since the epoch: `YYYY-MM-DDTHH:MM[:SS[.frac]]`
/// then `Z`, `±HH:MM`, `±HHMM` or nothing (UTC). `t`/space for `T` and
/// `z` for `Z` are accepted; fractions beyond nanoseconds are cut.
pub fn parse_rfc3339(text: &str) -> Result<i64, ParseTimeError> {
    parse_rfc3339_with_offset(text).map(|(ns, _)| ns)
}

/// [`parse_rfc3339`], keeping the offset the time was written with
/// (seconds east of UTC), as Go's parser keeps it.
pub fn parse_rfc3339_with_offset(text: &str) -> Result<(i64, i32), ParseTimeError> {
    let fail = |why| ParseTimeError {
        text: text.to_string(),
        why,
    };
    let b = text.as_bytes();
    let mut p = Cursor { b, i: 0 };
    let year = p.digits(4).ok_or_else(|| fail("year"))?;
    let month = p
        .sep(b'-')
        .and_then(|_| p.digits(2))
        .ok_or_else(|| fail("month"))?;
    let day = p
        .sep(b'-')
        .and_then(|_| p.digits(2))
        .ok_or_else(|| fail("day"))?;
    if !(1..=12).contains(&month) {
        return Err(fail("month out of range"));
    }
    if day < 1 || day > i64::from(days_in_month(year, month as u32)) {
        return Err(fail("day out of range"));
    }
    if !matches!(p.next(), Some(b'T' | b't' | b' ')) {
        return Err(fail("no time"));
    }
    let hour = p.digits(2).ok_or_else(|| fail("hour"))?;
    let min = p
        .sep(b':')
        .and_then(|_| p.digits(2))
        .ok_or_else(|| fail("minute"))?;
    let mut sec = 0;
    let mut nanos = 0;
    if p.peek() == Some(b':') {
        p.i += 1;
        sec = p.digits(2).ok_or_else(|| fail("second"))?;
        // Go takes a comma for the decimal point too (`date --iso-8601=ns`).
        if matches!(p.peek(), Some(b'.' | b',')) {
            p.i += 1;
            let start = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                if p.i - start < 9 {
                    nanos = nanos * 10 + i64::from(b[p.i] - b'0');
                }
                p.i += 1;
            }
            let n = p.i - start;
            if n == 0 {
                return Err(fail("empty fraction"));
            }
            nanos *= 10i64.pow(9u32.saturating_sub(n as u32));
        }
    }
    if hour > 23 || min > 59 || sec > 60 {
        return Err(fail("time out of range"));
    }
    let offset = match p.next() {
        None | Some(b'Z' | b'z') => 0,
        Some(c @ (b'+' | b'-')) => {
            let zh = p.digits(2).ok_or_else(|| fail("zone hours"))?;
            if p.peek() == Some(b':') {
                p.i += 1;
            }
            let zm = if p.peek().is_some() {
                p.digits(2).ok_or_else(|| fail("zone minutes"))?
            } else {
                0
            };
            if zh > 23 || zm > 59 {
                return Err(fail("zone out of range"));
            }
            let o = zh * 3600 + zm * 60;
            if c == b'-' {
                -o
            } else {
                o
            }
        }
        Some(_) => return Err(fail("unexpected character")),
    };
    if p.peek().is_some() {
        return Err(fail("trailing text"));
    }
    let days = days_from_civil(year, month as u32, day as u32);
    let secs = days * SECS_PER_DAY + hour * 3600 + min * 60 + sec - offset;
    Ok((secs * NANOS_PER_SEC + nanos, offset as i32))
}

/// [`parse_rfc3339`] to whole seconds (rounded down).
pub fn parse_rfc3339_secs(text: &str) -> Result<i64, ParseTimeError> {
    parse_rfc3339(text).map(|ns| ns.div_euclid(NANOS_PER_SEC))
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn sep(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let s = self.b.get(self.i..self.i + n)?;
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(s.iter().fold(0, |v, c| v * 10 + i64::from(c - b'0')))
    }
}

/// A duration as Go's `time.Duration.String()` prints it ("1h2m3.5s",
/// "20.386825206s", "1.5ms", "0s"), which is how Podman shows times.
pub fn go_duration(d: std::time::Duration) -> String {
    let ns = d.as_nanos();
    let frac = |n: u128, unit: u128, width: usize| {
        let f = format!("{:0width$}", n % unit);
        let f = f.trim_end_matches('0');
        if f.is_empty() {
            format!("{}", n / unit)
        } else {
            format!("{}.{f}", n / unit)
        }
    };
    match ns {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => format!("{}µs", frac(n, 1_000, 3)),
        n if n < 1_000_000_000 => format!("{}ms", frac(n, 1_000_000, 6)),
        n => {
            let secs = n / 1_000_000_000;
            let (h, m) = (secs / 3600, (secs % 3600) / 60);
            let mut out = String::new();
            if h > 0 {
                out.push_str(&format!("{h}h"));
            }
            if h > 0 || m > 0 {
                out.push_str(&format!("{m}m"));
            }
            out.push_str(&frac(n % 60_000_000_000, 1_000_000_000, 9));
            out.push('s');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(std::time::Duration::ZERO), "0s");
        assert_eq!(
            go_duration(std::time::Duration::from_nanos(20_386_825_206)),
            "20.386825206s"
        );
        assert_eq!(go_duration(std::time::Duration::from_secs(120)), "2m0s");
        assert_eq!(go_duration(std::time::Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(
            go_duration(std::time::Duration::from_nanos(3_732_497_061_672)),
            "1h2m12.497061672s"
        );
        assert_eq!(go_duration(std::time::Duration::from_micros(1500)), "1.5ms");
        assert_eq!(go_duration(std::time::Duration::from_nanos(1500)), "1.5µs");
        assert_eq!(go_duration(std::time::Duration::from_nanos(999)), "999ns");
    }

    #[test]
    fn civil_dates_round_trip_across_eras() {
        // Every day from 1600 to 2400 (both sides of the epoch, four
        // centuries with their leap-year exceptions).
        let (lo, hi) = (days_from_civil(1600, 1, 1), days_from_civil(2400, 12, 31));
        let mut prev = civil_from_days(lo - 1);
        for days in lo..=hi {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!(d >= 1 && d <= days_in_month(y, m), "{y}-{m}-{d}");
            // Consecutive days: next day, or first of the next month/year.
            let (py, pm, pd) = prev;
            assert!(
                (y, m, d) == (py, pm, pd + 1)
                    || (d == 1
                        && pd == days_in_month(py, pm)
                        && ((y, m) == (py, pm + 1) || (y, m, pm) == (py + 1, 1, 12))),
                "{py}-{pm}-{pd} -> {y}-{m}-{d}"
            );
            prev = (y, m, d);
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            civil_from_days(days_from_civil(1900, 2, 28) + 1),
            (1900, 3, 1)
        );
        assert_eq!(
            civil_from_days(days_from_civil(2024, 2, 28) + 1),
            (2024, 2, 29)
        );
        assert_eq!(days_from_civil(1900, 1, 1), -25_567);
        assert!(is_leap_year(2000) && is_leap_year(2024));
        assert!(!is_leap_year(1900) && !is_leap_year(2100) && !is_leap_year(2023));
    }

    #[test]
    fn formatting() {
        assert_eq!(utc(1_795_811_062), (2026, 11, 27, 20, 24, 22));
        assert_eq!(
            rfc3339_nanos(1_795_811_062_000_000_005),
            "2026-11-27T20:24:22.000000005Z"
        );
        assert_eq!(rfc3339_nanos(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(rfc3339_secs(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_secs(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_secs(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_secs(-2_208_988_800), "1900-01-01T00:00:00Z");
        let now = now_rfc3339();
        assert_eq!(now.len(), 30, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
    }

    #[test]
    fn local_time_has_nanoseconds_and_an_offset_and_parses_back() {
        let ns = 1_700_000_000 * NANOS_PER_SEC + 5;
        let s = rfc3339_local(ns);
        assert_eq!(s.len(), "2023-11-14T22:13:20.000000005+00:00".len(), "{s}");
        assert_eq!(&s[19..29], ".000000005");
        assert!(matches!(&s[29..30], "+" | "-"));
        assert_eq!(&s[32..33], ":");
        assert_eq!(parse_rfc3339(&s), Ok(ns));
        let (n, text) = now_local();
        assert_eq!(parse_rfc3339(&text), Ok(n));
    }

    #[test]
    fn parsing() {
        let p = |s| parse_rfc3339_secs(s).unwrap();
        assert_eq!(p("1970-01-01T00:00:00Z"), 0);
        assert_eq!(p("2026-11-27T20:24:22.5+01:00"), 1_795_811_062 - 3600);
        assert_eq!(p("2026-11-27T20:24:22-0130"), 1_795_811_062 + 5400);
        assert_eq!(p("2026-11-27t20:24:22z"), 1_795_811_062);
        assert_eq!(p("2026-11-27 20:24:22"), 1_795_811_062);
        assert_eq!(p("2026-11-27T20:24Z"), 1_795_811_040);
        assert_eq!(p("2000-02-29T00:00:00Z"), 951_782_400);
        assert_eq!(p("1900-01-01T00:00:00Z"), -2_208_988_800);
        assert_eq!(p("1969-12-31T23:59:59.5Z"), -1);
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.5Z"), Ok(-500_000_000));
        assert_eq!(
            parse_rfc3339("2026-11-27T20:24:22.123456789123Z"),
            Ok(1_795_811_062_123_456_789)
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.05Z"), Ok(50_000_000));
        for bad in [
            "",
            "2026-11-27",
            "2026-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-11-27T24:00:00Z",
            "2026-11-27T20:24:22.Z",
            "2026-11-27T20:24:22+1",
            "2026-11-27T20:24:22Zjunk",
            "26-11-27T20:24:22Z",
            "yesterday",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?} parsed");
        }
        let e = parse_rfc3339("2026-13-01T00:00:00Z").unwrap_err();
        assert!(e.to_string().contains("month out of range"), "{e}");
    }

    #[test]
    fn format_and_parse_round_trip() {
        for ns in [
            0,
            5,
            -5,
            951_782_400 * NANOS_PER_SEC + 1,
            -2_208_988_800 * NANOS_PER_SEC + 999_999_999,
        ] {
            assert_eq!(parse_rfc3339(&rfc3339_nanos(ns)), Ok(ns), "{ns}");
        }
    }
}

#[cfg(test)]
mod go_tests {
    use super::*;

    #[test]
    fn go_durations_parse_as_go_parses_them() {
        assert_eq!(parse_go_duration("10m"), Some(600_000_000_000));
        assert_eq!(parse_go_duration("1h30s"), Some(3_630_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_go_duration("-5ms"), Some(-5_000_000));
        assert_eq!(parse_go_duration("300us"), Some(300_000));
        assert_eq!(parse_go_duration("0"), Some(0));
        for bad in ["10", "5 m", "m", "", "1..5s", "3d"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn offsets_are_kept_and_commas_are_decimal_points() {
        assert_eq!(
            parse_rfc3339_with_offset("2024-01-01T12:00:00.5+02:00"),
            Ok((1_704_103_200_500_000_000, 7200))
        );
        assert_eq!(
            parse_rfc3339("2024-01-01T12:00:00,25Z"),
            Ok(1_704_110_400_250_000_000)
        );
    }
}
