//! Errors at the edge of the CLI and the exit codes Podman uses for them.
//!
//! The one place where what went wrong becomes Podman's exit code:
//!
//! | what failed                                         | exit |
//! |-----------------------------------------------------|------|
//! | anything in the engine, any helper error by default | 125  |
//! | the container's command cannot be invoked           | 126  |
//! | the container's command was not found               | 127  |
//! | rm/rmi/exists: no such object (`NotFound`)          | 1    |
//! | rm/rmi: the object's state forbids it, in use (`FailedPrecondition`) | 2 |
//! | the container's own exit code                       | it   |
//!
//! Helpers report one of [`proto::ErrorCode`]; the transport hands it over
//! in `TransportError::Call { code, .. }` and [`object_exit_code`] is its
//! table. The OCI runtime says why a command could not start only in its
//! error text (passed on verbatim by ctr-monitor); [`runtime_exit_code`] is
//! the one reader of that text.

use proto::transport::TransportError;
use proto::ErrorCode;

/// Podman's exit code when the object a command names does not exist
/// (`rm`, `rmi`, `exists`).
pub const EXIT_NO_SUCH_OBJECT: u8 = 1;
/// Podman's exit code when the object's state forbids the request (removing
/// a running container or an image in use without force).
pub const EXIT_STATE_IMPROPER: u8 = 2;
/// Podman's exit code for an error in the engine itself.
pub const EXIT_ENGINE: u8 = 125;
/// The container command could not be invoked.
pub const EXIT_CANNOT_INVOKE: u8 = 126;
/// The container command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

/// An error carrying the exit code it should end the process with.
#[derive(Debug, thiserror::Error)]
#[error("{source:#}")]
pub struct ExitError {
    pub code: u8,
    pub source: anyhow::Error,
}

impl ExitError {
    pub fn engine(source: impl Into<anyhow::Error>) -> Self {
        ExitError {
            code: EXIT_ENGINE,
            source: source.into(),
        }
    }
}

/// Go's `syscall.Errno.Error()`: the C text, lower-cased first letter.
pub fn go_errno_text(e: nix::errno::Errno) -> String {
    let d = e.desc();
    let mut c = d.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The exit code for any error: its own if it carries one, else 125.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    e.downcast_ref::<ExitError>()
        .map(|x| x.code)
        .unwrap_or(EXIT_ENGINE)
}

/// Podman prints errors as one line: `Error: ...`.
pub fn one_line(e: &anyhow::Error) -> String {
    let s = match e.downcast_ref::<ExitError>() {
        Some(x) => format!("{:#}", x.source),
        None => format!("{e:#}"),
    };
    s.replace('\n', " ")
}

/// The exit code of a command that acts on named objects one by one (`rm`,
/// `rmi`, `exists`) when a helper (or the CLI's own check) classified the
/// failure for one of them as `code`: 1 for no such object, 2 for one whose
/// state forbids it, 125 for anything else. Other commands end every helper
/// error with 125 ([`exit_code`]).
pub fn object_exit_code(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::NotFound => EXIT_NO_SUCH_OBJECT,
        ErrorCode::FailedPrecondition => EXIT_STATE_IMPROPER,
        ErrorCode::Internal
        | ErrorCode::AlreadyExists
        | ErrorCode::InvalidArgument
        | ErrorCode::Unavailable
        | ErrorCode::Unauthenticated => EXIT_ENGINE,
    }
}

/// The exit code for the OCI runtime's error text when it could not start
/// a container's (or an exec session's) command: 127 when the command does
/// not exist, 126 when it cannot be run, else 125.
pub fn runtime_exit_code(runtime_msg: &str) -> u8 {
    if runtime_msg.contains("no such file or directory")
        || runtime_msg.contains("executable file not found")
    {
        EXIT_NOT_FOUND
    } else if runtime_msg.contains("permission denied") {
        EXIT_CANNOT_INVOKE
    } else {
        EXIT_ENGINE
    }
}

/// The error of `podman start`/`run` when the monitor could not create the
/// container: `CMD: ERROR` with 127 or 126 when the command is at fault,
/// else the helper's error as it is (125).
pub fn start_error(command: &[String], e: TransportError) -> anyhow::Error {
    let msg = e.to_string();
    match runtime_exit_code(&msg) {
        EXIT_ENGINE => e.into(),
        code => ExitError {
            code,
            source: anyhow::anyhow!("{}: {msg}", command.first().map_or("", |c| c.as_str())),
        }
        .into(),
    }
}

/// The error of `podman start` (not attached) for a container that could
/// not be started: Podman's `unable to start container "ID"`, always 125
/// (only `run` and `start --attach` exit with 126/127 for the command).
pub fn detached_start_error(id: &str, e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<ExitError>() {
        Ok(x) if x.code == EXIT_NOT_FOUND || x.code == EXIT_CANNOT_INVOKE => ExitError {
            code: EXIT_ENGINE,
            source: anyhow::anyhow!("unable to start container {id:?}: {:#}", x.source),
        }
        .into(),
        Ok(x) => x.into(),
        Err(e) => e,
    }
}

/// The error of `podman run` when its container could not be started:
/// Podman's define.ExitCode, 127 when the text says something was not
/// found, else 126 (never 125: the container exists by then).
pub fn run_start_error(e: anyhow::Error) -> anyhow::Error {
    let code = exit_code(&e);
    if code != EXIT_ENGINE {
        return e;
    }
    let text = one_line(&e).to_lowercase();
    let code = if text.contains("not found")
        || text.contains("executable path is empty")
        || text.contains("no such file")
    {
        EXIT_NOT_FOUND
    } else {
        EXIT_CANNOT_INVOKE
    };
    let source = match e.downcast::<ExitError>() {
        Ok(x) => x.source,
        Err(e) => e,
    };
    ExitError { code, source }.into()
}

/// The error of `podman exec` when the monitor could not run the command:
/// always `CMD: ERROR`, with 127, 126 or 125.
pub fn exec_error(command: &[String], runtime_msg: &str) -> anyhow::Error {
    ExitError {
        code: runtime_exit_code(runtime_msg),
        source: anyhow::anyhow!(
            "{}: {}",
            command.first().map_or("", |c| c.as_str()),
            runtime_msg.replace('\n', " ")
        ),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_lines() {
        let e: anyhow::Error = ExitError {
            code: 127,
            source: anyhow::anyhow!("a\nb"),
        }
        .into();
        assert_eq!(exit_code(&e), 127);
        assert_eq!(one_line(&e), "a b");
        assert_eq!(exit_code(&anyhow::anyhow!("x")), 125);
    }

    fn call(code: ErrorCode, message: &str) -> TransportError {
        TransportError::Call {
            name: "ctr-monitor".into(),
            method: "CreateContainer".into(),
            code,
            message: message.into(),
        }
    }

    #[test]
    fn helper_codes_to_exit_codes() {
        let table = [
            (ErrorCode::NotFound, 1),
            (ErrorCode::FailedPrecondition, 2),
            (ErrorCode::Internal, 125),
            (ErrorCode::AlreadyExists, 125),
            (ErrorCode::InvalidArgument, 125),
            (ErrorCode::Unavailable, 125),
            (ErrorCode::Unauthenticated, 125),
        ];
        assert_eq!(table.len(), ErrorCode::ALL.len());
        for (code, exit) in table {
            assert_eq!(object_exit_code(code), exit, "{code}");
            // Outside rm/rmi/exists a helper's error is the engine's.
            let e: anyhow::Error = call(code, "m").into();
            assert_eq!(exit_code(&e), EXIT_ENGINE, "{code}");
            assert_eq!(call(code, "m").code(), Some(code));
        }
        let died = TransportError::Version {
            name: "x".into(),
            got: 2,
            want: 1,
        };
        assert_eq!(died.code(), None);
        assert_eq!(exit_code(&died.into()), EXIT_ENGINE);
    }

    #[test]
    fn runtime_failures_to_exit_codes() {
        for (msg, exit) in [
            (
                "exec: \"/no/such\": stat /no/such: no such file or directory",
                127,
            ),
            ("exec: \"nope\": executable file not found in $PATH", 127),
            ("exec: \"/etc/passwd\": permission denied", 126),
            ("cgroup: something else broke", 125),
        ] {
            assert_eq!(runtime_exit_code(msg), exit, "{msg}");
        }
        let cmd = vec!["/no/such".to_string(), "arg".to_string()];

        // start: the command is named only when it is at fault.
        let e = start_error(
            &cmd,
            call(
                ErrorCode::FailedPrecondition,
                "x: no such file or directory",
            ),
        );
        assert_eq!(exit_code(&e), 127);
        assert_eq!(
            one_line(&e),
            "/no/such: helper ctr-monitor: CreateContainer failed: x: no such file or directory"
        );
        let e = start_error(
            &cmd,
            call(ErrorCode::FailedPrecondition, "x: permission denied"),
        );
        assert_eq!(exit_code(&e), 126);
        let e = start_error(&cmd, call(ErrorCode::FailedPrecondition, "cgroup\nbroke"));
        assert_eq!(exit_code(&e), 125);
        assert_eq!(
            one_line(&e),
            "helper ctr-monitor: CreateContainer failed: cgroup broke"
        );

        // exec: always named, on one line.
        let e = exec_error(&cmd, "oci\nbroke");
        assert_eq!(
            (exit_code(&e), one_line(&e)),
            (125, "/no/such: oci broke".into())
        );
        let e = exec_error(&[], "executable file not found");
        assert_eq!(
            (exit_code(&e), one_line(&e)),
            (127, ": executable file not found".into())
        );
    }
}
