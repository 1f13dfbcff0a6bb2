//! A container's settings, from CreateContainerRequest, checked before the
//! monitor touches anything.

use std::path::{Path, PathBuf};

use proto::monitor::v1::{CreateContainerRequest, LogDriver as ProtoLogDriver};

use crate::error::MonitorError;
use crate::log_driver::LogKind;

#[derive(Debug, Clone)]
pub struct ContainerConfig {
    pub id: String,
    pub bundle: PathBuf,
    pub runtime: PathBuf,
    pub runtime_args: Vec<String>,
    pub create_args: Vec<String>,
    /// `<socket_dir>/<id>`: the monitor's sockets and logs.
    pub dir: PathBuf,
    pub pid_file: PathBuf,
    pub exit_dir: PathBuf,
    pub exit_command: Vec<String>,
    pub log_kind: LogKind,
    pub log_path: Option<PathBuf>,
    pub log_size_max: u64,
    pub terminal: bool,
    pub stdin: bool,
    pub stdin_once: bool,
    /// Initial terminal size (rows, cols).
    pub size: Option<(u16, u16)>,
    pub delete_after_exit: bool,
    pub monitor_pid_file: Option<PathBuf>,
    /// `RUNTIME run --detach` instead of `create` (started at once).
    pub start: bool,
    /// Seconds after the start until the container is killed; 0: never.
    pub timeout_seconds: u32,
    /// Run every `timer_interval` while the container runs (healthchecks).
    pub timer_command: Vec<String>,
    pub timer_interval: Option<std::time::Duration>,
}

fn invalid(msg: String) -> MonitorError {
    MonitorError::InvalidArgument(msg)
}

/// Container and exec ids name files and are runtime argv words: Podman's
/// name rule (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`, so never `.`, `..` or an
/// option like `-h`), at most `max` long.
pub fn check_name(what: &str, s: &str, max: usize) -> Result<(), MonitorError> {
    if common::names::is_valid_id(s, max) {
        Ok(())
    } else {
        Err(invalid(format!("{what} {s:?} is not valid: use 1 to {max} letters, digits, '_', '-' or '.', starting with a letter or digit")))
    }
}

fn absolute(field: &str, s: &str) -> Result<PathBuf, MonitorError> {
    let p = PathBuf::from(s);
    if s.is_empty() {
        return Err(invalid(format!("{field} is required")));
    }
    if !p.is_absolute() {
        return Err(invalid(format!("{field} {s:?} must be an absolute path")));
    }
    Ok(p)
}

fn optional_absolute(field: &str, s: &str) -> Result<Option<PathBuf>, MonitorError> {
    if s.is_empty() {
        Ok(None)
    } else {
        absolute(field, s).map(Some)
    }
}

fn executable(field: &str, p: &Path) -> Result<(), MonitorError> {
    if !common::paths::is_executable(p) {
        return Err(invalid(format!(
            "{field} {} is not an executable file: install it or fix the path",
            p.display()
        )));
    }
    Ok(())
}

/// `process.terminal` of the bundle's config.json.
fn bundle_terminal(bundle: &Path) -> Result<bool, MonitorError> {
    #[derive(serde::Deserialize)]
    struct Spec {
        process: Option<Process>,
    }
    #[derive(serde::Deserialize)]
    struct Process {
        #[serde(default)]
        terminal: bool,
    }
    let path = bundle.join("config.json");
    let data = std::fs::read(&path).map_err(|e| {
        invalid(format!(
            "bundle {}: reading {}: {e}",
            bundle.display(),
            path.display()
        ))
    })?;
    let spec: Spec = serde_json::from_slice(&data)
        .map_err(|e| invalid(format!("{} is not a valid OCI config: {e}", path.display())))?;
    Ok(spec.process.is_some_and(|p| p.terminal))
}

fn size(rows: u32, cols: u32) -> Result<Option<(u16, u16)>, MonitorError> {
    if rows == 0 && cols == 0 {
        return Ok(None);
    }
    match (u16::try_from(rows), u16::try_from(cols)) {
        (Ok(r), Ok(c)) if r > 0 && c > 0 => Ok(Some((r, c))),
        _ => Err(invalid(format!(
            "terminal size {rows}x{cols} is not valid: rows and cols must be 1..65535"
        ))),
    }
}

pub fn terminal_size(rows: u32, cols: u32) -> Result<Option<(u16, u16)>, MonitorError> {
    size(rows, cols)
}

impl ContainerConfig {
    pub fn from_request(r: &CreateContainerRequest) -> Result<ContainerConfig, MonitorError> {
        check_name("container id", &r.id, 128)?;
        let bundle = absolute("bundle", &r.bundle)?;
        let runtime = absolute("runtime", &r.runtime)?;
        executable("runtime", &runtime)?;
        let socket_dir = absolute("socket_dir", &r.socket_dir)?;
        let exit_dir = absolute("exit_dir", &r.exit_dir)?;
        let dir = socket_dir.join(&r.id);
        if let Some(prog) = r.exit_command.first() {
            let p = absolute("exit_command[0]", prog)?;
            executable("exit_command[0]", &p)?;
        }
        if let Some(prog) = r.timer_command.first() {
            let p = absolute("timer_command[0]", prog)?;
            executable("timer_command[0]", &p)?;
        }
        let timer_interval = (r.timer_interval_ms > 0 && !r.timer_command.is_empty())
            .then(|| std::time::Duration::from_millis(r.timer_interval_ms));
        let log_path = optional_absolute("log_path", &r.log_path)?;
        let log_kind = match ProtoLogDriver::try_from(r.log_driver) {
            Ok(ProtoLogDriver::Unspecified) => {
                if log_path.is_some() {
                    LogKind::K8sFile
                } else {
                    LogKind::None
                }
            }
            Ok(ProtoLogDriver::K8sFile) => LogKind::K8sFile,
            Ok(ProtoLogDriver::Passthrough) => LogKind::Passthrough,
            Ok(ProtoLogDriver::None) => LogKind::None,
            Err(_) => {
                return Err(invalid(format!(
                    "log_driver {} is unknown: use k8s-file, passthrough or none",
                    r.log_driver
                )))
            }
        };
        if log_kind == LogKind::K8sFile && log_path.is_none() {
            return Err(invalid("the k8s-file log driver needs log_path".into()));
        }
        if log_kind == LogKind::Passthrough && r.terminal {
            return Err(invalid(
                "log driver passthrough cannot be combined with terminal: set process.terminal=false and let the container inherit the terminal".into(),
            ));
        }
        let spec_terminal = bundle_terminal(&bundle)?;
        if spec_terminal != r.terminal {
            return Err(invalid(format!(
                "terminal is {} in the request but process.terminal is {} in {}/config.json: set both the same",
                r.terminal,
                spec_terminal,
                bundle.display()
            )));
        }
        let pid_file =
            optional_absolute("pid_file", &r.pid_file)?.unwrap_or_else(|| dir.join("pidfile"));
        Ok(ContainerConfig {
            id: r.id.clone(),
            bundle,
            runtime,
            runtime_args: r.runtime_args.clone(),
            create_args: r.create_args.clone(),
            dir,
            pid_file,
            exit_dir,
            exit_command: r.exit_command.clone(),
            log_kind,
            log_path,
            log_size_max: r.log_size_max,
            terminal: r.terminal,
            stdin: r.stdin,
            stdin_once: r.stdin_once,
            size: size(r.rows, r.cols)?,
            delete_after_exit: r.delete_after_exit,
            monitor_pid_file: optional_absolute("monitor_pid_file", &r.monitor_pid_file)?,
            start: r.start,
            timeout_seconds: r.timeout_seconds,
            timer_command: r.timer_command.clone(),
            timer_interval,
        })
    }

    pub fn monitor_socket(&self) -> PathBuf {
        self.dir.join("monitor.sock")
    }
    pub fn attach_socket(&self) -> PathBuf {
        self.dir.join("attach")
    }
    pub fn monitor_log(&self) -> PathBuf {
        self.dir.join("monitor.log")
    }
    pub fn runtime_log(&self) -> PathBuf {
        self.dir.join("runtime.log")
    }
    pub fn console_socket(&self) -> PathBuf {
        self.dir.join("console")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(terminal: bool) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("config.json"),
            format!("{{\"process\":{{\"terminal\":{terminal},\"args\":[\"sh\"]}}}}"),
        )
        .unwrap();
        d
    }

    fn request(b: &Path) -> CreateContainerRequest {
        CreateContainerRequest {
            id: "c1".into(),
            bundle: b.display().to_string(),
            runtime: "/bin/sh".into(),
            socket_dir: "/run/x".into(),
            exit_dir: "/run/x/exits".into(),
            log_path: "/run/x/c1.log".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_request_is_accepted_with_defaults() {
        let b = bundle(false);
        let c = ContainerConfig::from_request(&request(b.path())).unwrap();
        assert_eq!(c.log_kind, LogKind::K8sFile);
        assert_eq!(c.pid_file, Path::new("/run/x/c1/pidfile"));
        assert_eq!(c.attach_socket(), Path::new("/run/x/c1/attach"));
    }

    #[test]
    fn bad_requests_say_what_to_fix() {
        let b = bundle(false);
        let err = |f: &dyn Fn(&mut CreateContainerRequest)| {
            let mut r = request(b.path());
            f(&mut r);
            ContainerConfig::from_request(&r).unwrap_err().to_string()
        };
        assert!(err(&|r| r.id = "../x".into()).contains("container id \"../x\" is not valid"));
        assert!(
            err(&|r| r.runtime = "/nonexistent/runc".into()).contains("is not an executable file")
        );
        assert!(err(&|r| r.exit_dir = "rel".into())
            .contains("exit_dir \"rel\" must be an absolute path"));
        assert!(err(&|r| r.terminal = true).contains("process.terminal is false"));
        assert!(err(&|r| {
            r.log_path.clear();
            r.log_driver = ProtoLogDriver::K8sFile as i32;
        })
        .contains("needs log_path"));
        assert!(err(&|r| r.rows = 70000).contains("terminal size"));
    }
}
