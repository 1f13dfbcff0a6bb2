//! Errors at the edge of the CLI and the exit codes Podman uses for them.

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
}
