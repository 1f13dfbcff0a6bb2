//! `podman container runlabel LABEL IMAGE [ARG...]`: run the command an
//! image's label describes (the atomic-style `INSTALL`, `RUN`, ...), with
//! libpod's substitutions: `IMAGE` and `NAME` (also `$IMAGE`, `${NAME}`,
//! `KEY=IMAGE`), `podman`/`docker` as this binary, then `$OPT1..3`, `$PWD`
//! and `$HOME` expanded (any other variable is empty), as Podman does.

use clap::Args;

use super::pull::RegistryArgs;
use crate::engine_config::EngineConfig;
use crate::image::pull::PullOptions;

#[derive(Debug, Clone, Args)]
pub struct RunlabelArgs {
    /// Preview the command that the label would run
    #[arg(long)]
    pub display: bool,
    /// Assign a name to the container
    #[arg(short, long, value_name = "NAME")]
    pub name: Option<String>,
    /// Suppress output information when installing images
    #[arg(short, long)]
    pub quiet: bool,
    /// Replace existing container with a new one from the image
    #[arg(long)]
    pub replace: bool,
    /// Pull the image if it does not exist locally (deprecated: always)
    #[arg(short, long, hide = true, num_args = 0..=1, require_equals = true, default_value_t = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub pull: bool,
    #[arg(long, hide = true, value_name = "VALUE")]
    pub opt1: Option<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    pub opt2: Option<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    pub opt3: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// The label whose value is the command
    pub label: String,
    /// The image
    pub image: String,
    /// Arguments appended to the label's command
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub async fn run(engine: &EngineConfig, a: &RunlabelArgs) -> anyhow::Result<()> {
    crate::image::auth_store::check_authfile(a.registry.authfile.as_deref())?;
    let mut storage = crate::helper_procs::storage(engine).await?;
    let found = crate::image::lookup::find(&mut storage, &a.image).await;
    storage.close().await?;
    let image = match found {
        Ok(i) => i,
        Err(e) if e.is_not_found() && a.pull => {
            let mut o = PullOptions {
                quiet: a.quiet,
                tls_verify: a.registry.tls_verify,
                authfile: a.registry.authfile.clone(),
                ..Default::default()
            };
            if let Some(c) = &a.registry.creds {
                o.set_creds(c)?;
            }
            crate::image::pull::pull(engine, &a.image, &o).await?
        }
        Err(e) if e.is_not_found() => anyhow::bail!("{}: image not known", a.image),
        Err(e) => return Err(e.into()),
    };
    let config: serde_json::Value = serde_json::from_slice(&image.config).unwrap_or_default();
    let value = config["config"]["Labels"]
        .as_object()
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&a.label))
                .and_then(|(_, v)| v.as_str())
        })
        .unwrap_or("");
    if value.is_empty() {
        anyhow::bail!(
            "cannot find the value of label: {} in image: {}",
            a.label,
            a.image
        );
    }
    let image_name = image.names.first().cloned().unwrap_or(image.id.clone());
    let name = match &a.name {
        Some(n) if !n.is_empty() => n.clone(),
        _ => default_name(&image.id, &image_name, &a.image),
    };
    let mut text = value.to_string();
    if !a.args.is_empty() {
        text = format!("{text} {}", a.args.join(" "));
    }
    let opts = [&a.opt1, &a.opt2, &a.opt3];
    let cmd = command(&text, &image_name, &name, &|k| match k {
        "OPT1" | "OPT2" | "OPT3" => opts[(k.as_bytes()[3] - b'1') as usize]
            .clone()
            .unwrap_or_default(),
        "PWD" => std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        "HOME" => std::env::var("HOME").unwrap_or_default(),
        _ => String::new(),
    })?;
    if a.display {
        // Podman shows its own argv[0] in place of the program.
        let argv0 = std::env::args().next().unwrap_or_else(|| "podman".into());
        let shown: Vec<&str> = std::iter::once(argv0.as_str())
            .chain(cmd[1..].iter().map(String::as_str))
            .collect();
        println!("command: {}", shown.join(" "));
        return Ok(());
    }
    if a.replace {
        if let Some(i) = cmd.iter().position(|c| c == "--name") {
            if let Some(n) = cmd.get(i + 1) {
                let db = crate::state::open_state(engine)?;
                if let Ok((c, _)) = crate::container::store::resolve(&db, n) {
                    if c.name == *n {
                        crate::lifecycle::remove::remove(engine, &c.id, true, false).await?;
                    }
                }
            }
        }
    }
    let mut child = std::process::Command::new(&cmd[0]);
    child.args(&cmd[1..]).env("PODMAN_RUNLABEL_NESTED", "1");
    for (k, v) in ["OPT1", "OPT2", "OPT3"].iter().zip(opts) {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            child.env(k, v);
        }
    }
    if a.quiet {
        use std::process::Stdio;
        child
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    }
    let status = child
        .status()
        .map_err(|e| anyhow::anyhow!("running {}: {e}", cmd[0]))?;
    // Go's exec error text, with the command's own code.
    match status.code() {
        Some(0) => Ok(()),
        Some(n) => Err(crate::error::ExitError {
            code: u8::try_from(n).unwrap_or(crate::error::EXIT_ENGINE),
            source: anyhow::anyhow!("exit status {n}"),
        }
        .into()),
        None => Err(crate::error::ExitError::engine(anyhow::anyhow!(
            "{}: killed by a signal",
            cmd[0]
        ))
        .into()),
    }
}

/// libpod's default name: the last path element of the name given (or of
/// the image's newest name when given by ID), without its tag.
fn default_name(id: &str, image_name: &str, given: &str) -> String {
    let normalize = if id.starts_with(given) {
        image_name
    } else {
        given
    };
    let last = normalize.rsplit('/').next().unwrap_or(normalize);
    last.split(':').next().unwrap_or(last).to_string()
}

/// The label's command with libpod's substitutions; `var` answers `$VAR`.
fn command(
    text: &str,
    image: &str,
    name: &str,
    var: &dyn Fn(&str) -> String,
) -> anyhow::Result<Vec<String>> {
    let words =
        shlex::split(text).ok_or_else(|| anyhow::anyhow!("invalid label command {text:?}"))?;
    let Some((prog, rest)) = words.split_first() else {
        anyhow::bail!("the label's command is empty");
    };
    let mut out = vec![program(prog)];
    for w in rest {
        out.push(match w.as_str() {
            "IMAGE=IMAGE" => format!("IMAGE={image}"),
            "NAME=NAME" => format!("NAME={name}"),
            _ => substitute(&substitute(w, "NAME", name), "IMAGE", image),
        });
    }
    let expanded = expand(&out.join(" "), var);
    shlex::split(&expanded).ok_or_else(|| anyhow::anyhow!("invalid label command {expanded:?}"))
}

/// `KEY` alone, `$KEY`, `${KEY}` and a trailing `=KEY` become `value`.
fn substitute(arg: &str, key: &str, value: &str) -> String {
    if arg == key {
        return value.to_string();
    }
    let mut s = arg
        .replace(&format!("${key}"), value)
        .replace(&format!("${{{key}}}"), value);
    if let Some(head) = s.strip_suffix(&format!("={key}")) {
        s = format!("{head}={value}");
    }
    s
}

/// `podman` (and any `docker`) is this podman; a path must exist.
fn program(prog: &str) -> String {
    let is_docker = std::path::Path::new(prog)
        .file_name()
        .is_some_and(|n| n == "docker");
    if prog == "podman" || is_docker {
        return std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "/proc/self/exe".into());
    }
    if prog.contains('/') || prog.starts_with('.') {
        if let Ok(abs) = std::path::absolute(prog) {
            if abs.exists() {
                return abs.display().to_string();
            }
        }
    }
    prog.to_string()
}

/// Go's os.Expand: `$NAME` and `${NAME}` replaced by `var`; a `$` not
/// followed by a name stays.
fn expand(s: &str, var: &dyn Fn(&str) -> String) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] != b'$' || i + 1 >= b.len() {
            i += 1;
            continue;
        }
        out.push_str(&s[last..i]);
        let rest = &s[i + 1..];
        let (name, used) = if let Some(inner) = rest.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 1),
            }
        } else if rest.starts_with(|c: char| "*#$@!?-".contains(c) || c.is_ascii_digit()) {
            (&rest[..1], 1)
        } else {
            let n = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..n], n)
        };
        if name.is_empty() && used == 0 {
            out.push('$');
        } else if !name.is_empty() {
            out.push_str(&var(name));
        }
        i += 1 + used;
        last = i;
    }
    out.push_str(&s[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> String {
        String::new()
    }

    #[test]
    fn substitutions_as_libpod() {
        let c = command(
            "podman run -t --name NAME -e NAME=NAME -e IMAGE=IMAGE IMAGE echo $NAME ${IMAGE} $OPT1 $$",
            "quay.io/x/y:latest",
            "y",
            &|k| if k == "OPT1" { "one".into() } else { String::new() },
        )
        .unwrap();
        assert_eq!(
            &c[1..],
            [
                "run",
                "-t",
                "--name",
                "y",
                "-e",
                "NAME=y",
                "-e",
                "IMAGE=quay.io/x/y:latest",
                "quay.io/x/y:latest",
                "echo",
                "y",
                "quay.io/x/y:latest",
                "one"
            ]
        );
        assert_eq!(expand("a $ b", &none), "a $ b");
        assert_eq!(expand("x${UNSET}y", &none), "xy");
        assert_eq!(default_name("abc", "quay.io/a/b:1", "quay.io/a/b:1"), "b");
        assert_eq!(default_name("abcdef", "quay.io/a/b:1", "abc"), "b");
    }
}
