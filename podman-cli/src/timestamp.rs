//! Podman's user-given points in time for `until=` filters
//! (containers/common's `timetype.GetTimestamp`): one parser for every
//! object kind's filters.

/// Podman's `until` (timetype.GetTimestamp): a Go duration before `now`,
/// an RFC 3339 time or date (local time is UTC here), or Unix seconds
/// with an optional fraction. Nanoseconds since the epoch.
pub fn go_timestamp_ns(value: &str, now_ns: i64) -> anyhow::Result<i64> {
    if value != "0" {
        if let Some(d) = common::time::parse_go_duration(value) {
            // Go truncates to whole seconds here (Unix()).
            return Ok((now_ns - d).div_euclid(1_000_000_000) * 1_000_000_000);
        }
    }
    if value.contains('-') {
        let full = if value.contains('T') {
            value.to_string()
        } else {
            // A date, at midnight (with its zone when it has one).
            match value.get(10..) {
                Some(zone) if !zone.is_empty() => format!("{}T00:00:00{zone}", &value[..10]),
                _ => format!("{value}T00:00:00"),
            }
        };
        let (date, time) = full.split_once('T').unwrap_or((&full, ""));
        // Fill in missing minutes and seconds ("2006-01-02T15", "…T15:04").
        let zone_at = time.find(['Z', 'z', '+', '-']).unwrap_or(time.len());
        let (clock, zone) = time.split_at(zone_at);
        // Go takes a comma for the decimal point too (`date --iso-8601=ns`).
        let clock = clock.replacen(',', ".", 1);
        let clock = match clock.matches(':').count() {
            0 => format!("{clock}:00:00"),
            1 => format!("{clock}:00"),
            _ => clock,
        };
        let frac = clock
            .split_once('.')
            .map(|(_, f)| f.chars().take(9).collect::<String>())
            .unwrap_or_default();
        let valid = valid_date(date) && valid_clock(&clock) && valid_zone(zone);
        let parsed = common::time::parse_rfc3339_secs(&format!("{date}T{clock}{zone}"))
            .ok()
            .filter(|_| valid && frac.chars().all(|c| c.is_ascii_digit()));
        let Some(secs) = parsed else {
            anyhow::bail!("parsing time {value:?}: cannot parse as a time (want RFC 3339, e.g. 2006-01-02T15:04:05Z07:00)");
        };
        let nanos: i64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<9}").parse().unwrap_or(0)
        };
        return Ok(secs * 1_000_000_000 + nanos);
    }
    let (s, frac) = value.split_once('.').unwrap_or((value, ""));
    let secs: i64 = s
        .parse()
        .map_err(|_| anyhow::anyhow!("failed to parse value as time or duration: {value:?}"))?;
    let nanos = if frac.is_empty() {
        0
    } else {
        let n: i64 = frac
            .parse()
            .map_err(|_| anyhow::anyhow!("failed to parse value as time or duration: {value:?}"))?;
        (n as f64 * 10f64.powi(9 - frac.len() as i32)) as i64
    };
    Ok(secs * 1_000_000_000 + nanos)
}

fn numbers(s: &str, sep: char) -> Option<Vec<u32>> {
    s.split(sep)
        .map(|p| {
            (!p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        })
        .collect()
}

fn valid_date(d: &str) -> bool {
    matches!(numbers(d, '-').as_deref(), Some([y, m, day]) if d.len() == 10 && *y > 0 && (1..=12).contains(m) && (1..=31).contains(day))
}

fn valid_clock(c: &str) -> bool {
    let whole = c.split_once('.').map_or(c, |(w, _)| w);
    matches!(numbers(whole, ':').as_deref(), Some([h, m, s]) if *h < 24 && *m < 60 && *s < 60)
}

fn valid_zone(z: &str) -> bool {
    match z {
        "" | "Z" | "z" => true,
        _ => {
            let body = &z[1..];
            matches!(numbers(body, ':').as_deref(), Some([h, m]) if *h < 24 && *m < 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::go_timestamp_ns;

    #[test]
    fn timestamps_as_podman_reads_them() {
        let now = 1_000_000 * 1_000_000_000;
        assert_eq!(
            go_timestamp_ns("10m", now).unwrap(),
            now - 600 * 1_000_000_000
        );
        assert_eq!(
            go_timestamp_ns("1h30m", now).unwrap(),
            now - 5400 * 1_000_000_000
        );
        assert_eq!(go_timestamp_ns("1.5s", now).unwrap(), now - 2_000_000_000);
        assert_eq!(
            go_timestamp_ns("12345", now).unwrap(),
            12345 * 1_000_000_000
        );
        assert_eq!(go_timestamp_ns("12.5", now).unwrap(), 12_500_000_000);
        assert_eq!(
            go_timestamp_ns("1970-01-02", now).unwrap(),
            86400 * 1_000_000_000
        );
        assert_eq!(
            go_timestamp_ns("1970-01-01T01", now).unwrap(),
            3600 * 1_000_000_000
        );
        assert_eq!(
            go_timestamp_ns("1970-01-01T01:00:00+01:00", now).unwrap(),
            0
        );
        assert_eq!(
            go_timestamp_ns("1970-01-01T00:00:01,5+00:00", now).unwrap(),
            1_500_000_000
        );
        assert!(go_timestamp_ns("1970-13-45", now).is_err());
    }
}
