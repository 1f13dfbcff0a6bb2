//! `.containerignore` / `.dockerignore`: Docker's pattern rules. Each line
//! is a pattern cleaned like a path (a leading `/` means the context root),
//! `*` and `?` stay within one path element, `**` spans any number of
//! them, `[...]` is a class, `!` makes an exception; the last pattern that
//! matches a path (or one of its parent directories) decides.

use regex::Regex;

#[derive(Debug, thiserror::Error)]
#[error("{file}: bad pattern {pattern:?}: {why}")]
pub struct IgnoreError {
    pub file: String,
    pub pattern: String,
    pub why: String,
}

#[derive(Debug, Clone)]
struct Pattern {
    re: Regex,
    exception: bool,
    /// The cleaned pattern text (exceptions are matched against
    /// directories by prefix when deciding whether to walk into one).
    text: String,
}

#[derive(Debug, Default, Clone)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

impl Ignore {
    /// Parse an ignore file's text (`file` names it in errors).
    pub fn parse(file: &str, text: &str) -> Result<Ignore, IgnoreError> {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (exception, p) = match l.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, l),
            };
            let cleaned = clean(p);
            if cleaned.is_empty() {
                continue;
            }
            let re = Regex::new(&to_regex(&cleaned)).map_err(|e| IgnoreError {
                file: file.to_string(),
                pattern: l.to_string(),
                why: e.to_string(),
            })?;
            patterns.push(Pattern {
                re,
                exception,
                text: cleaned,
            });
        }
        Ok(Ignore { patterns })
    }

    /// Whether `rel` (relative to the context, '/'-separated) is excluded.
    pub fn excluded(&self, rel: &str) -> bool {
        let rel = rel.trim_start_matches("./").trim_matches('/');
        if rel.is_empty() || rel == "." {
            return false;
        }
        let mut excluded = false;
        for p in &self.patterns {
            let hit = p.re.is_match(rel) || parents(rel).any(|d| p.re.is_match(d));
            if hit {
                excluded = !p.exception;
            }
        }
        excluded
    }

    /// Whether there are exceptions at all.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Whether an excluded directory must still be walked: an exception
    /// pattern names a path below it (Docker's and Buildah's rule: the
    /// pattern text begins with the directory, so `!*/x` alone does not
    /// reopen an excluded `dir`).
    pub fn walk_excluded_dir(&self, dir: &str) -> bool {
        let prefix = format!("{}/", dir.trim_matches('/'));
        self.patterns
            .iter()
            .any(|p| p.exception && format!("{}/", p.text).starts_with(&prefix))
    }
}

fn parents(rel: &str) -> impl Iterator<Item = &str> {
    rel.match_indices('/').map(move |(i, _)| &rel[..i])
}

/// Go's filepath.Clean for a relative pattern, leading '/' dropped.
fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

/// One path element of a COPY source glob; None when it has no
/// wildcard (then it is a plain name).
pub fn component_regex(part: &str) -> Option<Regex> {
    if !part.contains(['*', '?', '[']) {
        return None;
    }
    Regex::new(&to_regex(part)).ok()
}

fn to_regex(p: &str) -> String {
    let mut re = String::from("^");
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                if chars.get(i + 1) == Some(&'/') {
                    // `**/` also matches no directory at all.
                    re.push_str("(.*/)?");
                    i += 1;
                } else {
                    re.push_str(".*");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                let end = chars[i + 1..].iter().position(|&x| x == ']');
                match end {
                    Some(e) => {
                        let body: String = chars[i + 1..i + 1 + e].iter().collect();
                        let body = body
                            .strip_prefix('^')
                            .map_or_else(|| body.clone(), |b| format!("^{b}"));
                        re.push('[');
                        re.push_str(&body.replace('\\', "\\\\"));
                        re.push(']');
                        i += e + 1;
                    }
                    None => re.push_str("\\["),
                }
            }
            '\\' if i + 1 < chars.len() => {
                i += 1;
                re.push_str(&regex::escape(&chars[i].to_string()));
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(t: &str) -> Ignore {
        Ignore::parse(".containerignore", t).unwrap()
    }

    #[test]
    fn docker_pattern_rules() {
        let i = ig("# comment\n*.md\n!README.md\n/tmp\n**/*.o\nsub/*/x\n");
        assert!(i.excluded("a.md"));
        assert!(!i.excluded("README.md"));
        assert!(!i.excluded("dir/a.md"), "* stays in one element");
        assert!(i.excluded("tmp"));
        assert!(
            i.excluded("tmp/inner/file"),
            "a parent that matches excludes"
        );
        assert!(i.excluded("a.o"));
        assert!(i.excluded("deep/er/b.o"));
        assert!(i.excluded("sub/y/x"));
        assert!(!i.excluded("sub/y/z/x"));
        assert!(!i.excluded("keep"));
    }

    #[test]
    fn last_match_wins() {
        let i = ig("dir\n!dir/keep\n");
        assert!(i.excluded("dir/other"));
        assert!(!i.excluded("dir/keep"));
        assert!(i.has_exceptions());
        assert!(i.walk_excluded_dir("dir"));
        assert!(!i.walk_excluded_dir("other"));
        let i = ig("!x\nx\n");
        assert!(i.excluded("x"));
        let i = ig("f?le\n[ab]c\n");
        assert!(i.excluded("file"));
        assert!(i.excluded("bc"));
        assert!(!i.excluded("cc"));
    }
}
