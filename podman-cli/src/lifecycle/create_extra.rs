//! Later `run`/`create` flags, checked before anything is touched:
//! `--env-merge`, `--requires`, `--chrootdirs`, `--personality`,
//! `--retry`/`--retry-delay`, and the flags that need what this host may
//! lack (`--gpus`: CDI specs, `--rdt-class`: resctrl, `--decryption-key`).

use std::path::Path;

use super::create_options::ExtraOptions;
use crate::container::model::RunExtras;

/// Where CDI specs are looked for (containers.conf's default `cdi_spec_dirs`).
const CDI_DIRS: [&str; 2] = ["/etc/cdi", "/var/run/cdi"];
/// Where resctrl is mounted.
const RESCTRL: &str = "/sys/fs/resctrl";

/// What the flags set in the container's record; `requires` are resolved
/// by the caller.
pub fn parse(o: &ExtraOptions, x: &mut RunExtras) -> anyhow::Result<()> {
    // As Podman: checked even when no pull happens.
    crate::image::auth_store::check_authfile(o.authfile.as_deref())?;
    if let Some(c) = &o.creds {
        crate::image::pull::parse_creds(c)?;
    }
    if let Some(g) = o.gpus.first() {
        gpus(g)?;
    }
    if !o.decryption_key.is_empty() {
        anyhow::bail!("--decryption-key: podman-rs cannot decrypt encrypted images: decrypt it first (skopeo copy --decryption-key KEY docker://IMAGE oci-archive:FILE) and podman load that");
    }
    if let Some(c) = &o.rdt_class {
        rdt_class(c, Path::new(RESCTRL))?;
        x.rdt_class = c.clone();
    }
    if let Some(p) = &o.personality {
        x.personality = match p.as_str() {
            "LINUX" | "LINUX32" => p.clone(),
            _ => anyhow::bail!(
                "invalid --personality {p:?}: the execution domains are LINUX and LINUX32"
            ),
        };
    }
    for d in &o.chrootdirs {
        if !d.starts_with('/') {
            anyhow::bail!("invalid --chrootdirs {d:?}: give an absolute path inside the container");
        }
    }
    x.chrootdirs = o.chrootdirs.clone();
    x.host_users = o.hostuser.clone();
    x.passwd_entry = o.passwd_entry.clone().unwrap_or_default();
    x.group_entry = o.group_entry.clone().unwrap_or_default();
    x.no_passwd = o.passwd == Some(false);
    match o.seccomp_policy.as_deref() {
        None | Some("default") | Some("image") => {}
        Some(p) => anyhow::bail!(
            "invalid seccomp policy {p:?}: valid policies are [\"default\" \"image\"]"
        ),
    }
    Ok(())
}

/// Podman hands `--gpus` to CDI as `nvidia.com/gpu=ENTRY`; without a spec
/// for it the device cannot be resolved.
fn gpus(entry: &str) -> anyhow::Result<()> {
    let has_specs = CDI_DIRS.iter().any(|d| {
        std::fs::read_dir(d).is_ok_and(|mut it| {
            it.any(|e| {
                e.is_ok_and(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    n.ends_with(".json") || n.ends_with(".yaml")
                })
            })
        })
    });
    if has_specs {
        anyhow::bail!("--gpus {entry}: podman-rs does not apply CDI device specs yet: give the GPU's device nodes with --device");
    }
    anyhow::bail!("setting up CDI devices: unresolvable CDI devices nvidia.com/gpu={entry}: no CDI spec in /etc/cdi or /var/run/cdi (this host has no GPU toolkit: install the vendor's container toolkit and generate its spec, e.g. nvidia-ctk cdi generate)")
}

/// The class must be a resctrl group of a mounted resctrl.
fn rdt_class(class: &str, resctrl: &Path) -> anyhow::Result<()> {
    let mounted = std::fs::read_to_string("/proc/self/mounts").is_ok_and(|m| {
        m.lines().any(|l| {
            let mut f = l.split_whitespace();
            let (_, at, kind) = (f.next(), f.next(), f.next());
            kind == Some("resctrl") && at == resctrl.to_str()
        })
    });
    if !mounted {
        anyhow::bail!("--rdt-class {class}: resctrl is not mounted at {} (Intel RDT): on a CPU that has it, mount it (mount -t resctrl resctrl {0}) and make the class there", resctrl.display());
    }
    if class.is_empty() || class.contains('/') || !resctrl.join(class).is_dir() {
        anyhow::bail!(
            "--rdt-class {class}: no class of service {class:?} under {}: create it (mkdir {0}/{class}) and write its schemata",
            resctrl.display()
        );
    }
    Ok(())
}

/// `--personality` needs a runtime that applies `linux.personality`:
/// runc from 1.2, crun. An older runc would ignore it silently.
pub fn check_runtime(x: &RunExtras, runtime: &str) -> anyhow::Result<()> {
    if x.personality.is_empty() {
        return Ok(());
    }
    let out = std::process::Command::new(runtime)
        .arg("--version")
        .output()
        .map_err(|e| anyhow::anyhow!("running {runtime} --version: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or("");
    if let Some(v) = first.strip_prefix("runc version ") {
        let mut parts = v.split(|c: char| !c.is_ascii_digit());
        let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if (major, minor) < (1, 2) {
            anyhow::bail!("--personality {}: the OCI runtime {runtime} ({first}) does not apply personalities (runc 1.2 or later does, and crun): install one and pass --runtime", x.personality);
        }
    }
    Ok(())
}

/// `--env-merge`: each `KEY=VALUE` with `$VAR`/`${VAR}` (and Docker's
/// `${VAR:-word}` forms) taken from the image's environment, over it.
pub fn env_merge(env: &mut Vec<String>, merges: &[String], terminal: bool) -> anyhow::Result<()> {
    if merges.is_empty() {
        return Ok(());
    }
    // libpod's defaults under the image's variables.
    let mut base: Vec<String> = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        "container=podman".into(),
    ];
    if terminal {
        base.push("TERM=xterm".into());
    }
    for e in env.iter() {
        set(&mut base, e.clone());
    }
    for m in merges {
        let lookup = |k: &str| {
            base.iter()
                .find_map(|e| e.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
                .map(str::to_string)
        };
        let word = crate::build::words::expand(m, '\\', &lookup)
            .map_err(|e| anyhow::anyhow!("unable to process variables for --env-merge {m}: {e}"))?;
        if !word.contains('=') {
            anyhow::bail!("missing `=` for --env-merge substitution {m}");
        }
        set(&mut base, word.clone());
        set(env, word);
    }
    Ok(())
}

fn set(env: &mut Vec<String>, kv: String) {
    let key = kv.split('=').next().unwrap_or("").to_string();
    env.retain(|e| e.split('=').next() != Some(key.as_str()));
    env.push(kv);
}

/// The retries of a pull run/create makes: `--retry` (3) times, after
/// `--retry-delay` or 2 s doubling.
pub fn retry(o: &ExtraOptions) -> anyhow::Result<crate::image::pull::Retry> {
    crate::image::pull::Retry::from_flags(o.retry, o.retry_delay.as_deref())
}

/// The label of an image's own seccomp profile (`--seccomp-policy=image`).
pub const SECCOMP_LABEL: &str = "io.containers.seccomp.profile";

/// `--seccomp-policy=image`: the image's profile (its label's text),
/// checked now, unless `--security-opt seccomp=` chose one.
pub fn image_seccomp(
    o: &ExtraOptions,
    image_labels: &serde_json::Value,
    seccomp_given: bool,
    capabilities: &[String],
) -> anyhow::Result<Option<String>> {
    if o.seccomp_policy.as_deref() != Some("image") || seccomp_given {
        return Ok(None);
    }
    let Some(text) = image_labels[SECCOMP_LABEL].as_str() else {
        return Ok(None);
    };
    crate::spec::seccomp::convert(text, capabilities).map_err(|e| {
        anyhow::anyhow!("the seccomp profile of the image's {SECCOMP_LABEL} label: {e}")
    })?;
    Ok(Some(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_merge_expands_over_the_image_environment() {
        let mut env = vec!["hello=world".to_string(), "PATH=/bin".to_string()];
        env_merge(
            &mut env,
            &[
                "hello=${hello}-some".into(),
                "PATH=$PATH:/opt".into(),
                "new=${missing}x".into(),
                "term=${TERM:-none}".into(),
            ],
            false,
        )
        .unwrap();
        assert_eq!(
            env,
            ["hello=world-some", "PATH=/bin:/opt", "new=x", "term=none"]
        );
        let mut env = vec![];
        env_merge(&mut env, &["P=${PATH}".into()], false).unwrap();
        assert_eq!(
            env,
            ["P=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        );
        assert!(env_merge(&mut env, &["novalue".into()], false)
            .unwrap_err()
            .to_string()
            .contains("missing `=`"));
    }

    #[test]
    fn rdt_needs_resctrl_and_the_class() {
        let t = tempfile::tempdir().unwrap();
        let e = rdt_class("gold", t.path()).unwrap_err().to_string();
        assert!(e.contains("resctrl is not mounted"), "{e}");
    }
}
