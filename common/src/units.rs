//! Human sizes as Podman reads them (docker/go-units): `RAMInBytes` for
//! memory limits, tmpfs and volume sizes (binary: `1k` = 1024), and
//! `FromHumanSize` for log and events file sizes (decimal: `1k` = 1000).
//! One home, so every flag takes the same text the same way.

/// A size that go-units refuses; the text is go-units' own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("invalid size: '{0}'")]
    Size(String),
    #[error("invalid suffix: '{0}'")]
    Suffix(String),
}

/// go-units' `RAMInBytes`: `512`, `10m`, `1.5GiB`, `2 kb` (powers of 1024).
pub fn ram_in_bytes(text: &str) -> Result<i64, SizeError> {
    parse(text, 1024.0)
}

/// go-units' `FromHumanSize`: `1m`, `1.5 MB`, `4750` (powers of 1000).
pub fn from_human_size(text: &str) -> Result<i64, SizeError> {
    parse(text, 1000.0)
}

/// go-units' `parseSize`: a number, an optional space, and a suffix of
/// `b`, or one of `kmgtp` optionally followed by `b` or `ib`.
fn parse(text: &str, base: f64) -> Result<i64, SizeError> {
    let invalid = || SizeError::Size(text.to_string());
    let sep = text
        .rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ')
        .ok_or_else(invalid)?;
    let (num, suffix) = if text.as_bytes()[sep] == b' ' {
        (&text[..sep], &text[sep + 1..])
    } else {
        (&text[..=sep], &text[sep + 1..])
    };
    let size: f64 = go_parse_float(num).ok_or_else(invalid)?;
    if size < 0.0 {
        return Err(invalid());
    }
    if suffix.is_empty() {
        return Ok(size as i64);
    }
    let bad = || SizeError::Suffix(suffix.to_ascii_lowercase());
    let sfx = suffix.to_ascii_lowercase();
    if sfx.len() > 3 {
        return Err(bad());
    }
    let mut chars = sfx.chars();
    let first = chars.next().ok_or_else(bad)?;
    if first == 'b' {
        return if sfx.len() == 1 {
            Ok(size as i64)
        } else {
            Err(bad())
        };
    }
    let power = match first {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        _ => return Err(bad()),
    };
    let rest = chars.as_str();
    if !(rest.is_empty() || rest == "b" || rest == "ib") {
        return Err(bad());
    }
    Ok((size * base.powi(power)) as i64)
}

/// Go's `strconv.ParseFloat` for what a size may hold: digits, one dot,
/// an optional sign (so `-1` parses and is refused as negative).
fn go_parse_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_sizes_read_as_go_units() {
        assert_eq!(ram_in_bytes("512"), Ok(512));
        assert_eq!(ram_in_bytes("10m"), Ok(10 * 1024 * 1024));
        assert_eq!(ram_in_bytes("10M"), Ok(10 * 1024 * 1024));
        assert_eq!(ram_in_bytes("1.5GiB"), Ok(1536 * 1024 * 1024));
        assert_eq!(ram_in_bytes("2 kb"), Ok(2048));
        assert_eq!(ram_in_bytes("7b"), Ok(7));
        assert_eq!(ram_in_bytes("x"), Err(SizeError::Size("x".into())));
        assert_eq!(ram_in_bytes("-1"), Err(SizeError::Size("-1".into())));
        assert_eq!(ram_in_bytes("10q"), Err(SizeError::Suffix("q".into())));
        assert_eq!(ram_in_bytes("10kx"), Err(SizeError::Suffix("kx".into())));
        assert_eq!(ram_in_bytes("1bb"), Err(SizeError::Suffix("bb".into())));
        assert_eq!(ram_in_bytes(""), Err(SizeError::Size("".into())));
    }

    #[test]
    fn human_sizes_are_decimal() {
        assert_eq!(from_human_size("1k"), Ok(1000));
        assert_eq!(from_human_size("1.5 MB"), Ok(1_500_000));
        assert_eq!(from_human_size("4750"), Ok(4750));
    }
}
