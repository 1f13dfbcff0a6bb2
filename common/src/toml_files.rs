//! Reading a stack of TOML files where later files override earlier ones,
//! table by table, the way containers/common layers its configuration.

use std::path::{Path, PathBuf};

use crate::ConfigError;

/// Read and parse one TOML file. `Ok(None)` when it does not exist.
pub(crate) fn read_toml(path: &Path) -> Result<Option<toml::Table>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    text.parse::<toml::Table>()
        .map(Some)
        .map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: one_line_toml_error(&text, &e),
        })
}

/// toml's errors span several lines with a source excerpt; we want one line
/// that says where.
fn one_line_toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before
                .rsplit('\n')
                .next()
                .map(|l| l.chars().count())
                .unwrap_or(0)
                + 1;
            format!("line {line}, column {col}: {msg}")
        }
        None => msg,
    }
}

/// Merge `over` into `base`: tables merge key by key, anything else replaces.
pub(crate) fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// `*.conf` files in a drop-in directory, sorted by name.
pub(crate) fn drop_ins(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ConfigError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut out: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    out.sort();
    Ok(out)
}

/// Read `files` in order and merge them; returns the merged table and the
/// files that existed.
pub(crate) fn read_stack(files: &[PathBuf]) -> Result<(toml::Table, Vec<PathBuf>), ConfigError> {
    let mut merged = toml::Table::new();
    let mut found = Vec::new();
    for f in files {
        if let Some(t) = read_toml(f)? {
            merge(&mut merged, t);
            found.push(f.clone());
        }
    }
    Ok((merged, found))
}

/// Deserialize a merged table, blaming `blame` (the last file read) on error.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    table: toml::Table,
    blame: &[PathBuf],
) -> Result<T, ConfigError> {
    T::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Parse {
        path: blame.last().cloned().unwrap_or_default(),
        message: e.message().trim().replace('\n', " "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_tables_override_key_by_key() {
        let mut a: toml::Table = "[engine]\nruntime = \"crun\"\nx = 1\n".parse().unwrap();
        let b: toml::Table = "[engine]\nruntime = \"runc\"\n".parse().unwrap();
        merge(&mut a, b);
        assert_eq!(a["engine"]["runtime"].as_str(), Some("runc"));
        assert_eq!(a["engine"]["x"].as_integer(), Some(1));
    }

    #[test]
    fn parse_errors_are_one_line_with_position() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.conf");
        std::fs::write(&p, "[engine]\nruntime = \n").unwrap();
        let e = read_toml(&p).unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
        assert!(e.contains("bad.conf") && e.contains("line 2"), "{e}");
    }
}
