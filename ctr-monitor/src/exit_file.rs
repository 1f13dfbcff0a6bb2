//! The exit files Podman reads: `<exit_dir>/<id>` holds the exit code in
//! decimal and its mtime is the container's finish time; `<exit_dir>/<id>.json`
//! adds the signal, the OOM verdict and the finish time. Both are written
//! atomically, the JSON first, so whoever sees `<id>` also finds the JSON.

use std::path::Path;

use serde::Serialize;

use crate::fsutil::write_run_file;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExitRecord {
    /// The exit code, or 128 + signal.
    pub exit_code: i32,
    /// The signal that killed the process, 0 if none.
    pub signal: i32,
    pub oom_killed: bool,
    /// RFC 3339 with nanoseconds, local offset.
    pub finished_at: String,
    pub finished_at_unix_nanos: i64,
    pub pid: i32,
}

impl ExitRecord {
    pub fn to_proto(&self) -> proto::monitor::v1::ExitInfo {
        proto::monitor::v1::ExitInfo {
            exit_code: self.exit_code,
            signal: self.signal,
            oom_killed: self.oom_killed,
            finished_at_unix_nanos: self.finished_at_unix_nanos,
        }
    }
}

/// Write `<dir>/<id>.json` then `<dir>/<id>`.
pub fn write(dir: &Path, id: &str, rec: &ExitRecord) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_vec(rec).map_err(std::io::Error::other)?;
    write_run_file(&dir.join(format!("{id}.json")), &json)?;
    write_run_file(&dir.join(id), rec.exit_code.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_code_and_json() {
        let d = tempfile::tempdir().unwrap();
        let rec = ExitRecord {
            exit_code: 137,
            signal: 9,
            oom_killed: false,
            finished_at: "2026-11-27T20:24:22.123456789+00:00".into(),
            finished_at_unix_nanos: 1,
            pid: 42,
        };
        write(d.path(), "c1", &rec).unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("c1")).unwrap(), "137");
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.path().join("c1.json")).unwrap()).unwrap();
        assert_eq!(v["signal"], 9);
        assert_eq!(v["oom_killed"], false);
    }
}
