//! Invoking the OCI runtime (runc, crun, ...): `RUNTIME [global args]
//! [--log F --log-format json] COMMAND ...`.
//!
//! The runtime's `--log` goes to `<socket_dir>/<id>/runtime.log` unless the
//! caller chose one: runc then prints its error as one plain line on stderr
//! instead of a logrus record, and that line reaches the caller verbatim.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use tracing::debug;

use crate::error::MonitorError;
use crate::reaper::Exit;

#[derive(Debug, Clone)]
pub struct Runtime {
    pub path: PathBuf,
    pub global_args: Vec<String>,
    /// Our --log file, if we added one.
    pub log_file: Option<PathBuf>,
}

impl Runtime {
    pub fn new(path: &Path, global_args: &[String], log_file: &Path) -> Runtime {
        let caller_logs = global_args
            .iter()
            .any(|a| a == "--log" || a.starts_with("--log="));
        Runtime {
            path: path.to_path_buf(),
            global_args: global_args.to_vec(),
            log_file: (!caller_logs).then(|| log_file.to_path_buf()),
        }
    }

    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "runtime".into())
    }

    /// `RUNTIME [global args] [--log ...] sub args...`, stdio not yet set.
    pub fn command<I, S>(&self, sub: &str, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut cmd = Command::new(&self.path);
        cmd.args(&self.global_args);
        if let Some(log) = &self.log_file {
            cmd.arg("--log").arg(log).args(["--log-format", "json"]);
        }
        cmd.arg(sub);
        cmd.args(args.into_iter().map(Into::into));
        cmd
    }

    /// Size of our runtime log now, to find what a command adds to it.
    pub fn log_mark(&self) -> u64 {
        self.log_file
            .as_deref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// The runtime's error for a failed command: what it printed, verbatim
    /// (trimmed); else the error records it logged since `mark`; else how
    /// it exited.
    pub fn error_text(&self, sub: &str, exit: Exit, printed: &[u8], mark: u64) -> String {
        let printed = String::from_utf8_lossy(printed);
        let printed = printed.trim();
        if !printed.is_empty() {
            return printed.to_string();
        }
        let logged = self.logged_errors(mark);
        if !logged.is_empty() {
            return logged;
        }
        format!(
            "{} {sub} {exit} without printing an error",
            self.path.display()
        )
    }

    fn logged_errors(&self, mark: u64) -> String {
        use std::io::{Read, Seek, SeekFrom};
        let Some(path) = &self.log_file else {
            return String::new();
        };
        let mut text = String::new();
        let read = std::fs::File::open(path).and_then(|mut f| {
            f.seek(SeekFrom::Start(mark))?;
            f.take(64 * 1024).read_to_string(&mut text)
        });
        if read.is_err() {
            return String::new();
        }
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| matches!(v["level"].as_str(), Some("error" | "fatal" | "panic")))
            .filter_map(|v| v["msg"].as_str().map(str::to_string))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Run a command that does not involve the container's stdio (start,
    /// kill, delete); its failure is the runtime's own message.
    pub async fn run(&self, sub: &str, args: &[&str]) -> Result<(), MonitorError> {
        let started = Instant::now();
        let mark = self.log_mark();
        let cmd = self.command(sub, args.iter().copied());
        let (exit, out, err) =
            crate::reaper::output(cmd)
                .await
                .map_err(MonitorError::io(format!(
                    "running {} {sub}",
                    self.path.display()
                )))?;
        debug!(runtime = %self.name(), sub, ?args, %exit, elapsed_ms = started.elapsed().as_millis() as u64, "runtime command");
        if exit.success() {
            return Ok(());
        }
        let mut printed = err;
        printed.extend_from_slice(&out);
        Err(MonitorError::Runtime(
            self.error_text(sub, exit, &printed, mark),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_its_log_unless_the_caller_did() {
        let rt = Runtime::new(
            Path::new("/usr/sbin/runc"),
            &["--root".into(), "/r".into()],
            Path::new("/s/runtime.log"),
        );
        let cmd = rt.command("start", ["c1"]);
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--root",
                "/r",
                "--log",
                "/s/runtime.log",
                "--log-format",
                "json",
                "start",
                "c1"
            ]
        );
        let rt = Runtime::new(
            Path::new("/usr/sbin/runc"),
            &["--log=/x".into()],
            Path::new("/s/runtime.log"),
        );
        assert!(rt.log_file.is_none());
    }

    #[test]
    fn error_text_prefers_what_was_printed_then_the_log() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("runtime.log");
        std::fs::write(&log, "{\"level\":\"warning\",\"msg\":\"old\"}\n").unwrap();
        let rt = Runtime::new(Path::new("/usr/sbin/runc"), &[], &log);
        let mark = rt.log_mark();
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        use std::io::Write;
        writeln!(
            f,
            "{{\"level\":\"error\",\"msg\":\"container \\\"x\\\" does not exist\"}}"
        )
        .unwrap();
        let exit = Exit { code: 1, signal: 0 };
        assert_eq!(
            rt.error_text("kill", exit, b"  plain message\n", mark),
            "plain message"
        );
        assert_eq!(
            rt.error_text("kill", exit, b"", mark),
            "container \"x\" does not exist"
        );
        assert_eq!(
            rt.error_text("kill", exit, b"", u64::MAX),
            "/usr/sbin/runc kill exited with code 1 without printing an error"
        );
    }
}
