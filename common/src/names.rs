//! The one rule for names and ids that become file names, rule text or
//! argv words: Podman's `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$` (libpod's
//! `define.NameRegex`, c/common's `types.NameRegex`). A name that passes
//! cannot be empty, contain `/`, whitespace, quotes or control characters,
//! be `.` or `..`, or start with `-` (so it is never read as an option).

/// Podman's error text for a name that breaks the rule (libpod's
/// `define.RegexError`: "names must match …: invalid argument").
pub const NAME_RULE_ERROR: &str = "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument";

/// Whether `s` matches `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn is_valid_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// Whether `s` is a name (as [`is_valid_name`]) of at most `max` bytes:
/// the rule for ids our helpers put in paths and command lines.
pub fn is_valid_id(s: &str, max: usize) -> bool {
    s.len() <= max && is_valid_name(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_name_rule() {
        for ok in ["a", "0", "web-1.a_b", "A.", "x--", "abc123"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in [
            "", "-x", "_x", ".x", ".", "..", "a b", "a/b", "a\tb", "a\"b", "a;b", "é", "a\nb",
            "a:b",
        ] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
        assert!(is_valid_id("abc", 3));
        assert!(!is_valid_id("abcd", 3));
    }
}
