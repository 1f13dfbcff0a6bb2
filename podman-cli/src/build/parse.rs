//! The Containerfile syntax (no I/O): parser directives (`# syntax=`,
//! `# escape=`), comments, line continuations with the escape character,
//! heredocs (`<<EOF`, `<<-EOF`, quoted delimiters), `--flag=value`
//! options, and the split into stages at each FROM. Variables are not
//! expanded here: ARG and ENV take effect in order while the build runs.

use std::collections::BTreeMap;

/// The instructions a Containerfile may hold.
pub const INSTRUCTIONS: &[&str] = &[
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{line}: {message}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// A here-document attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub content: String,
    /// Unquoted delimiter: variables in the content are expanded.
    pub expand: bool,
}

/// One instruction, its options split off, its arguments unexpanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Upper case, e.g. "COPY".
    pub keyword: String,
    /// `--from=x` as ("from", "x"); a bare `--link` as ("link", "").
    pub flags: Vec<(String, String)>,
    /// The text after the keyword and options (continuations joined).
    pub args: String,
    pub heredocs: Vec<Heredoc>,
    /// Line number of the keyword (1-based).
    pub line: usize,
    /// The instruction as written, continuations joined (for history).
    pub original: String,
}

impl Instruction {
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag_all(&self, name: &str) -> Vec<&str> {
        self.flags
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A JSON array of strings (exec form), or None for the shell form.
    pub fn exec_form(&self) -> Option<Vec<String>> {
        let t = self.args.trim();
        if !t.starts_with('[') {
            return None;
        }
        serde_json::from_str::<Vec<String>>(t).ok()
    }
}

/// A parsed Containerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Containerfile {
    pub escape: char,
    /// The parser directives found, e.g. {"syntax": "docker/dockerfile:1"}.
    pub directives: BTreeMap<String, String>,
    /// ARG instructions before the first FROM.
    pub global_args: Vec<Instruction>,
    pub stages: Vec<Vec<Instruction>>,
}

pub fn parse(file: &str, text: &str) -> Result<Containerfile, ParseError> {
    let err = |line: usize, message: String| ParseError {
        file: file.to_string(),
        line,
        message,
    };
    let lines: Vec<&str> = text.lines().collect();
    let (directives, first) = read_directives(&lines);
    let escape = match directives.get("escape").map(String::as_str) {
        None | Some("\\") => '\\',
        Some("`") => '`',
        Some(other) => {
            return Err(err(
                1,
                format!("invalid escape token {other:?}: it must be \\ or `"),
            ))
        }
    };
    let mut out = Containerfile {
        escape,
        directives,
        global_args: Vec::new(),
        stages: Vec::new(),
    };
    let mut i = first;
    while i < lines.len() {
        let start = i;
        let line = lines[i].trim_start();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Join continuation lines; comment lines inside are dropped.
        let mut joined = String::new();
        let mut cur = line.trim_end().to_string();
        loop {
            let Some(head) = cur.strip_suffix(escape) else {
                joined.push_str(&cur);
                break;
            };
            joined.push_str(head);
            let mut next = None;
            while let Some(l) = lines.get(i) {
                i += 1;
                if !l.trim_start().starts_with('#') {
                    next = Some(l.trim_end().to_string());
                    break;
                }
            }
            match next {
                Some(n) => cur = n,
                None => break,
            }
        }
        let (keyword, rest) = match joined.find(char::is_whitespace) {
            Some(p) => (&joined[..p], joined[p..].trim()),
            None => (joined.as_str(), ""),
        };
        let keyword = keyword.to_ascii_uppercase();
        if !INSTRUCTIONS.contains(&keyword.as_str()) {
            return Err(err(start + 1, format!("unknown instruction: {}", keyword)));
        }
        let (flags, args) = split_flags(rest);
        let mut heredocs = Vec::new();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (name, strip, expand) in heredoc_markers(&args) {
                let mut content = String::new();
                loop {
                    let Some(l) = lines.get(i) else {
                        return Err(err(
                            start + 1,
                            format!("unterminated heredoc {name:?}: no line reads {name}"),
                        ));
                    };
                    i += 1;
                    let l = if strip { l.trim_start_matches('\t') } else { l };
                    if l == name {
                        break;
                    }
                    content.push_str(l);
                    content.push('\n');
                }
                heredocs.push(Heredoc {
                    name,
                    content,
                    expand,
                });
            }
        }
        if args.is_empty() && heredocs.is_empty() && !matches!(keyword.as_str(), "HEALTHCHECK") {
            return Err(err(
                start + 1,
                format!("{keyword} requires at least one argument"),
            ));
        }
        let inst = Instruction {
            original: format!("{keyword} {}", rest).trim_end().to_string(),
            keyword,
            flags,
            args,
            heredocs,
            line: start + 1,
        };
        if inst.keyword == "FROM" {
            out.stages.push(vec![inst]);
        } else if let Some(stage) = out.stages.last_mut() {
            stage.push(inst);
        } else if inst.keyword == "ARG" {
            out.global_args.push(inst);
        } else {
            return Err(err(
                inst.line,
                format!(
                    "{} before the first FROM: only ARG may come before FROM",
                    inst.keyword
                ),
            ));
        }
    }
    if out.stages.is_empty() {
        return Err(err(
            lines.len().max(1),
            "no FROM instruction: a Containerfile starts with FROM (after optional ARGs)".into(),
        ));
    }
    Ok(out)
}

/// Parser directives: `# key=value` lines at the very top.
fn read_directives(lines: &[&str]) -> (BTreeMap<String, String>, usize) {
    let mut d = BTreeMap::new();
    for (n, l) in lines.iter().enumerate() {
        let Some(body) = l.trim().strip_prefix('#') else {
            return (d, n);
        };
        let Some((k, v)) = body.split_once('=') else {
            return (d, n);
        };
        let k = k.trim().to_ascii_lowercase();
        if k.is_empty() || k.contains(char::is_whitespace) || d.contains_key(&k) {
            return (d, n);
        }
        d.insert(k, v.trim().to_string());
    }
    (d, lines.len())
}

/// Leading `--name[=value]` options.
fn split_flags(rest: &str) -> (Vec<(String, String)>, String) {
    let mut flags = Vec::new();
    let mut r = rest.trim_start();
    while let Some(f) = r.strip_prefix("--") {
        let end = f.find(char::is_whitespace).unwrap_or(f.len());
        let word = &f[..end];
        match word.split_once('=') {
            Some((k, v)) => flags.push((k.to_string(), v.to_string())),
            None => flags.push((word.to_string(), String::new())),
        }
        r = f[end..].trim_start();
    }
    (flags, r.to_string())
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'` in an instruction's arguments:
/// (delimiter, strip leading tabs, expand variables).
pub fn heredoc_markers(args: &str) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    let mut rest = args;
    while let Some(p) = rest.find("<<") {
        let mut t = &rest[p + 2..];
        let strip = t.starts_with('-');
        if strip {
            t = &t[1..];
        }
        let (name, quoted, used) = match t.chars().next() {
            Some(q @ ('"' | '\'')) => match t[1..].find(q) {
                Some(e) => (t[1..1 + e].to_string(), true, e + 2),
                None => break,
            },
            _ => {
                let e = t
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(t.len());
                (t[..e].to_string(), false, e)
            }
        };
        if !name.is_empty() {
            out.push((name, strip, !quoted));
        }
        rest = &t[used.max(1).min(t.len())..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Containerfile, ParseError> {
        parse("Containerfile", text)
    }

    #[test]
    fn stages_flags_continuations_and_comments() {
        let f = p("# syntax=docker/dockerfile:1\nARG BASE=x\n\nfrom $BASE AS b\n# c\nRUN echo a \\\n  # inner\n  b\nCOPY --from=b --chown=1:1 /a /b\nFROM scratch\nLABEL a=b\n")
            .unwrap();
        assert_eq!(f.directives["syntax"], "docker/dockerfile:1");
        assert_eq!(f.global_args.len(), 1);
        assert_eq!(f.stages.len(), 2);
        let s = &f.stages[0];
        assert_eq!(s[0].args, "$BASE AS b");
        assert_eq!(s[1].args, "echo a   b");
        assert_eq!(s[1].line, 6);
        assert_eq!(s[2].flag("from"), Some("b"));
        assert_eq!(s[2].flag("chown"), Some("1:1"));
        assert_eq!(s[2].args, "/a /b");
        assert_eq!(f.stages[1][1].line, 11);
    }

    #[test]
    fn escape_directive_changes_continuation() {
        let f = p("# escape=`\nFROM x\nRUN dir c:\\ `\n  /w\n").unwrap();
        assert_eq!(f.escape, '`');
        assert_eq!(f.stages[0][1].args, "dir c:\\   /w");
        assert!(p("# escape=x\nFROM a\n").is_err());
    }

    #[test]
    fn heredocs_are_collected() {
        let f = p("FROM x\nRUN <<EOF\necho hi\nEOF\nCOPY <<-\"A\" <<B /dst/\n\tone $X\n\tA\ntwo\nB\nCMD x\n").unwrap();
        let s = &f.stages[0];
        assert_eq!(s[1].heredocs[0].content, "echo hi\n");
        assert!(s[1].heredocs[0].expand);
        assert_eq!(s[2].heredocs.len(), 2);
        assert_eq!(s[2].heredocs[0].content, "one $X\n");
        assert!(!s[2].heredocs[0].expand);
        assert_eq!(s[2].heredocs[1].content, "two\n");
        assert_eq!(s[3].keyword, "CMD");
        let e = p("FROM x\nRUN <<EOF\nno end\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = p("FROM x\n\nBOGUS thing\n").unwrap_err();
        assert_eq!(e.to_string(), "Containerfile:3: unknown instruction: BOGUS");
        let e = p("RUN x\nFROM y\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = p("FROM x\nRUN\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(p("# only a comment\n").is_err());
    }

    #[test]
    fn exec_form_is_json() {
        let f = p("FROM x\nCMD [\"a\", \"b c\"]\nCMD a b\n").unwrap();
        assert_eq!(f.stages[0][1].exec_form().unwrap(), ["a", "b c"]);
        assert_eq!(f.stages[0][2].exec_form(), None);
    }
}
