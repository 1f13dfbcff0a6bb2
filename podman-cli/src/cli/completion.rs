//! `podman completion SHELL`: completion scripts generated from the clap
//! definitions (clap_complete), as Podman offers them.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct CompletionArgs {
    /// The shell: bash, zsh, fish or powershell
    #[arg(value_name = "SHELL", value_parser = ["bash", "zsh", "fish", "powershell"])]
    pub shell: String,
    /// Output the completion to file rather than stdout.
    #[arg(short = 'f', long = "file", value_name = "string")]
    pub file: Option<PathBuf>,
    /// Don't include descriptions in the completion output.
    #[arg(long = "no-desc")]
    pub no_desc: bool,
}

/// Strip every description (`--no-desc`).
fn strip(c: clap::Command) -> clap::Command {
    let names: Vec<String> = c
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut c = c.about(None::<&str>).long_about(None::<&str>);
    c = c.mut_args(|a| a.help(None::<&str>).long_help(None::<&str>));
    for n in names {
        c = c.mut_subcommand(n, strip);
    }
    c
}

/// The script for `a.shell`, written to `-f FILE` or stdout.
pub fn run(a: &CompletionArgs) -> anyhow::Result<()> {
    use clap_complete::Shell;
    let shell = match a.shell.as_str() {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        "powershell" => Shell::PowerShell,
        s => anyhow::bail!("unsupported shell {s:?}: use bash, zsh, fish or powershell"),
    };
    let mut cmd = super::full_command();
    cmd.build();
    if a.no_desc {
        cmd = strip(cmd);
    }
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "podman", &mut buf);
    match &a.file {
        Some(f) => std::fs::write(f, &buf)
            .map_err(|e| anyhow::anyhow!("writing completion to {}: {e}", f.display()))?,
        None => {
            use std::io::Write;
            match std::io::stdout().write_all(&buf) {
                // `podman completion bash | head` is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                r => r?,
            }
        }
    }
    Ok(())
}
