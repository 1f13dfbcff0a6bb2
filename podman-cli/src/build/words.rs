//! Docker's word processing for Containerfile arguments: variable
//! substitution (`$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`,
//! `${VAR:+word}`, `${VAR+word}`, `${VAR:?msg}`), quotes and the escape
//! character, and splitting into words or `KEY=VALUE` pairs (ENV, ARG,
//! LABEL). No I/O: variables come from a lookup the caller supplies.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WordError {
    #[error("unterminated quote in {0:?}")]
    Quote(String),
    #[error("bad substitution in {0:?}: missing '}}'")]
    Brace(String),
    #[error("{name}: {message}")]
    Required { name: String, message: String },
    #[error("{0:?}: expected KEY=VALUE")]
    KeyValue(String),
}

/// Expand variables and remove quotes; one word per whitespace-separated
/// field (quoted whitespace stays inside its word).
pub fn split_words(
    text: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, WordError> {
    process(text, escape, lookup, true)
}

/// Expand variables and remove quotes, keeping the text as one word.
pub fn expand(
    text: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, WordError> {
    Ok(process(text, escape, lookup, false)?.concat())
}

fn process(
    text: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
    split: bool,
) -> Result<Vec<String>, WordError> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if split && c.is_whitespace() {
            if in_word {
                words.push(std::mem::take(&mut cur));
                in_word = false;
            }
            i += 1;
            continue;
        }
        in_word = true;
        if c == escape {
            // An escape at the very end stays as it is.
            match chars.get(i + 1) {
                Some(&n) => cur.push(n),
                None => cur.push(c),
            }
            i += 2;
        } else if c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&x| x == '\'')
                .ok_or_else(|| WordError::Quote(text.to_string()))?;
            cur.extend(&chars[i + 1..i + 1 + end]);
            i += end + 2;
        } else if c == '"' {
            i += 1;
            loop {
                let Some(&d) = chars.get(i) else {
                    return Err(WordError::Quote(text.to_string()));
                };
                if d == '"' {
                    i += 1;
                    break;
                }
                if d == escape && matches!(chars.get(i + 1), Some('"' | '$') | Some('\\')) {
                    cur.push(chars[i + 1]);
                    i += 2;
                } else if d == '$' {
                    i = dollar(&chars, i, escape, lookup, &mut cur, text)?;
                } else {
                    cur.push(d);
                    i += 1;
                }
            }
        } else if c == '$' {
            i = dollar(&chars, i, escape, lookup, &mut cur, text)?;
        } else {
            cur.push(c);
            i += 1;
        }
    }
    if in_word || !split {
        words.push(cur);
    }
    Ok(words)
}

/// A `$` at `i`: append its expansion, return the index after it.
fn dollar(
    chars: &[char],
    i: usize,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
    text: &str,
) -> Result<usize, WordError> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    match chars.get(i + 1) {
        Some('{') => {
            let mut j = i + 2;
            let start = j;
            while j < chars.len() && name_char(chars[j]) {
                j += 1;
            }
            let name: String = chars[start..j].iter().collect();
            let value = lookup(&name);
            match chars.get(j) {
                Some('}') => {
                    out.push_str(&value.unwrap_or_default());
                    Ok(j + 1)
                }
                Some(&op @ (':' | '-' | '+' | '?')) => {
                    let colon = op == ':';
                    let op = if colon {
                        *chars
                            .get(j + 1)
                            .ok_or_else(|| WordError::Brace(text.into()))?
                    } else {
                        op
                    };
                    let word_start = if colon { j + 2 } else { j + 1 };
                    // The word runs to the matching brace.
                    let mut depth = 0;
                    let mut k = word_start;
                    loop {
                        match chars.get(k) {
                            None => return Err(WordError::Brace(text.into())),
                            Some('{') => depth += 1,
                            Some('}') if depth == 0 => break,
                            Some('}') => depth -= 1,
                            _ => {}
                        }
                        k += 1;
                    }
                    let raw: String = chars[word_start..k].iter().collect();
                    let word = || expand(&raw, escape, lookup);
                    let set = match &value {
                        Some(v) => !colon || !v.is_empty(),
                        None => false,
                    };
                    match op {
                        '-' => out.push_str(&if set {
                            value.unwrap_or_default()
                        } else {
                            word()?
                        }),
                        '+' => {
                            if set {
                                out.push_str(&word()?)
                            }
                        }
                        '?' => {
                            if !set {
                                let w = word()?;
                                return Err(WordError::Required {
                                    name,
                                    message: if w.is_empty() {
                                        "parameter not set or null".into()
                                    } else {
                                        w
                                    },
                                });
                            }
                            out.push_str(&value.unwrap_or_default());
                        }
                        _ => return Err(WordError::Brace(text.into())),
                    }
                    Ok(k + 1)
                }
                _ => Err(WordError::Brace(text.into())),
            }
        }
        Some(&c) if name_char(c) => {
            let mut j = i + 1;
            while j < chars.len() && name_char(chars[j]) {
                j += 1;
            }
            let name: String = chars[i + 1..j].iter().collect();
            out.push_str(&lookup(&name).unwrap_or_default());
            Ok(j)
        }
        _ => {
            out.push('$');
            Ok(i + 1)
        }
    }
}

/// A heredoc body with an unquoted delimiter: `$VAR` and `${...}` are
/// expanded, `\$` keeps a dollar; quotes are ordinary characters.
pub fn expand_heredoc(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if chars.get(i + 1) == Some(&'$') => {
                out.push('$');
                i += 2;
            }
            '$' => match dollar(&chars, i, '\\', lookup, &mut out, text) {
                Ok(n) => i = n,
                Err(_) => {
                    out.push('$');
                    i += 1;
                }
            },
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// ENV/ARG/LABEL arguments: `K=V K2="v 2"`, or the legacy `K V W`
/// (everything after the first word is the value) when `legacy` allows it.
pub fn key_values(
    text: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
    legacy: bool,
) -> Result<Vec<(String, Option<String>)>, WordError> {
    let raw = split_raw(text, escape);
    let first_has_eq = raw.first().is_some_and(|w| w.contains('='));
    if legacy && !first_has_eq && raw.len() > 1 {
        let key = expand(&raw[0], escape, lookup)?;
        let rest = text.trim_start()[raw[0].len()..].trim();
        return Ok(vec![(key, Some(expand(rest, escape, lookup)?))]);
    }
    raw.iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => Ok((expand(k, escape, lookup)?, Some(expand(v, escape, lookup)?))),
            None if !legacy => Ok((expand(w, escape, lookup)?, None)),
            None => Err(WordError::KeyValue(w.clone())),
        })
        .collect()
}

/// Split at unquoted whitespace, keeping quotes and escapes in the words.
pub fn split_raw(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                cur.push(c);
            }
            Some(_) if c == escape => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            Some(_) => cur.push(c),
            None if c == escape => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("a".into()),
            "EMPTY" => Some(String::new()),
            "SP" => Some("x y".into()),
            _ => None,
        }
    }

    fn e(s: &str) -> String {
        expand(s, '\\', &env).unwrap()
    }

    #[test]
    fn substitution_follows_docker_rules() {
        assert_eq!(e("$A-${A}x"), "a-ax");
        assert_eq!(e("${UNSET:-d}|${EMPTY:-d}|${A:-d}"), "d|d|a");
        assert_eq!(e("${UNSET-d}|${EMPTY-d}"), "d|");
        assert_eq!(e("${UNSET:+p}|${EMPTY:+p}|${A:+p}"), "||p");
        assert_eq!(e("${EMPTY+p}"), "p");
        assert_eq!(e("${UNSET:-${A}}"), "a");
        assert_eq!(e("'$A'\"$A\"\\$A"), "$Aa$A");
        assert_eq!(e("cost $"), "cost $");
        assert!(matches!(
            expand("${UNSET:?need it}", '\\', &env),
            Err(WordError::Required { .. })
        ));
        assert!(expand("${A", '\\', &env).is_err());
        assert!(expand("\"open", '\\', &env).is_err());
    }

    #[test]
    fn words_split_outside_quotes() {
        assert_eq!(
            split_words("a \"b c\" $SP 'd e'", '\\', &env).unwrap(),
            ["a", "b c", "x y", "d e"]
        );
        assert_eq!(split_words("a`\"b", '`', &env).unwrap(), ["a\"b"]);
    }

    #[test]
    fn key_values_both_forms() {
        assert_eq!(
            key_values("K=1 L=\"two words\" M=$A", '\\', &env, true).unwrap(),
            [
                ("K".into(), Some("1".into())),
                ("L".into(), Some("two words".into())),
                ("M".into(), Some("a".into()))
            ]
        );
        assert_eq!(
            key_values("K value with spaces", '\\', &env, true).unwrap(),
            [("K".into(), Some("value with spaces".into()))]
        );
        assert_eq!(
            key_values("NAME V=1", '\\', &env, false).unwrap(),
            [("NAME".into(), None), ("V".into(), Some("1".into()))]
        );
        assert!(key_values("K", '\\', &env, true).is_err());
    }
}
