//! Calendar arithmetic for timestamps we print (no time-zone database: UTC).

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01
/// (Howard Hinnant's civil_from_days).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix seconds as (year, month, day, hour, minute, second) in UTC.
pub fn utc(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let (y, m, d) = civil_from_days(secs.div_euclid(86400));
    let rem = secs.rem_euclid(86400);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// RFC 3339 with nanoseconds, e.g. `2026-11-27T20:24:22.000000005Z`.
pub fn rfc3339_nanos(ns: i64) -> String {
    let (y, m, d, h, mi, s) = utc(ns.div_euclid(1_000_000_000));
    format!(
        "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:09}Z",
        ns.rem_euclid(1_000_000_000)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::utc(1_795_811_062), (2026, 11, 27, 20, 24, 22));
        assert_eq!(
            super::rfc3339_nanos(1_795_811_062_000_000_005),
            "2026-11-27T20:24:22.000000005Z"
        );
    }
}
