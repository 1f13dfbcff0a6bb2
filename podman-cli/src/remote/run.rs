//! `create` and `run` over the libpod API: the image pulled by the service
//! when the pull policy asks for it, the container made from a
//! SpecGenerator (see [`super::spec`]), and for a foreground `run` the
//! hijacked attach connection opened before the start, so no output is
//! lost, then the exit code from `wait`.

use std::io::{Read, Write};

use http::{Method, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::client::{self, ClientError};
use super::containers::enc;
use super::images::{pull_image, PullRequest};
use super::Target;
use crate::commands::create::CreateArgs;
use crate::commands::run::RunArgs;
use crate::lifecycle::create_options::CreateOptions;

/// Pull as the policy says: `missing` only when the service lacks it.
async fn pull_for(t: &Target, o: &CreateOptions) -> anyhow::Result<()> {
    let policy = if o.pull.is_empty() {
        "missing"
    } else {
        o.pull.as_str()
    };
    let present = || async {
        match client::request(
            t,
            Method::GET,
            &format!("/images/{}/exists", enc(&o.image)),
            None,
        )
        .await
        {
            Ok(_) => Ok(true),
            Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND => Ok(false),
            Err(e) => Err(e),
        }
    };
    let m = &o.more;
    let platform = m.platform.clone().or_else(|| {
        (m.os.is_some() || m.arch.is_some() || m.variant.is_some()).then(|| {
            [
                m.os.as_deref().unwrap_or("linux"),
                m.arch.as_deref().unwrap_or(crate::host_info::go_arch()),
            ]
            .into_iter()
            .chain(m.variant.as_deref())
            .collect::<Vec<_>>()
            .join("/")
        })
    });
    let req = PullRequest {
        image: &o.image,
        tls_verify: o.tls_verify,
        platform,
        creds: o.extra.creds.as_deref(),
        quiet: o.quiet,
    };
    match policy {
        "never" => Ok(()),
        "missing" if present().await? => Ok(()),
        "missing" | "always" => pull_image(t, &req).await.map(drop),
        "newer" => match pull_image(t, &req).await {
            Ok(_) => Ok(()),
            Err(_) if present().await? => Ok(()),
            Err(e) => Err(e),
        },
        other => {
            anyhow::bail!("invalid pull policy {other:?}: use always, missing, never or newer")
        }
    }
}

/// Create the container; its ID. `--replace`, `--pod-id-file` and
/// `--cidfile` are handled here, on the client, as Podman's remote does.
async fn create_container(t: &Target, o: &CreateOptions) -> anyhow::Result<String> {
    let pod = match &o.pod_id_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| anyhow::anyhow!("reading --pod-id-file {}: {e}", f.display()))?
                .trim()
                .to_string(),
        ),
        None => o.pod.clone(),
    };
    let spec = super::spec::spec_generator(o, pod)?;
    if let Some(f) = &o.more.cidfile {
        if f.exists() {
            anyhow::bail!(
                "container id file exists. Ensure another container is not using it or delete {}",
                f.display()
            );
        }
    }
    pull_for(t, o).await?;
    if let (true, Some(name)) = (o.replace, &o.name) {
        let path = format!("/containers/{}?force=true", enc(name));
        match client::request(t, Method::DELETE, &path, None).await {
            Ok(_) => {}
            Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND => {}
            Err(e) => return Err(e.into()),
        }
    }
    let v = client::request(t, Method::POST, "/containers/create", Some(&spec))
        .await?
        .json()
        .await?;
    let id = v["Id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the service's create answer has no Id: {v}"))?
        .to_string();
    for w in v["Warnings"].as_array().into_iter().flatten() {
        if let Some(w) = w.as_str() {
            eprintln!("WARNING: {w}");
        }
    }
    if let Some(f) = &o.more.cidfile {
        std::fs::write(f, &id)
            .map_err(|e| anyhow::anyhow!("writing --cidfile {}: {e}", f.display()))?;
    }
    Ok(id)
}

pub async fn create(t: &Target, a: &CreateArgs) -> anyhow::Result<()> {
    let id = create_container(t, &a.options()).await?;
    println!("{id}");
    Ok(())
}

async fn start(t: &Target, id: &str) -> Result<(), ClientError> {
    client::request(
        t,
        Method::POST,
        &format!("/containers/{}/start", enc(id)),
        None,
    )
    .await
    .map(drop)
}

pub async fn run(t: &Target, a: &RunArgs) -> anyhow::Result<()> {
    if a.preserve_fds > 0 || !a.preserve_fd.is_empty() {
        anyhow::bail!("--preserve-fds/--preserve-fd pass this machine's descriptors, which a remote container cannot have: run it where the containers are");
    }
    if a.rmi {
        anyhow::bail!("--rmi is not available with the remote client of podman-rs: remove the image with rmi afterwards");
    }
    let mut o = a.create.options();
    o.quiet = o.quiet || a.detach;
    if a.detach && !o.more.attach.is_empty() {
        anyhow::bail!("--attach and --detach cannot be set together");
    }
    let id = create_container(t, &o).await?;
    if a.detach {
        start(t, &id).await?;
        println!("{id}");
        return Ok(());
    }
    foreground(t, &o, &id, a.create.more.sig_proxy != Some(false)).await
}

/// `--sig-proxy`: a signal this client receives is sent to the container
/// through the service, as Podman's remote client does.
pub async fn kill_for_proxy(t: &Target, id: &str, sig: i32) -> anyhow::Result<()> {
    let path = format!("/containers/{}/kill?signal={sig}", enc(id));
    client::request(t, Method::POST, &path, None).await?;
    Ok(())
}

/// The streams `-a` names (all output when none).
fn streams(o: &CreateOptions) -> (bool, bool, bool) {
    let named: Vec<String> = o
        .more
        .attach
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::to_ascii_lowercase)
        .collect();
    if named.is_empty() {
        return (o.interactive, true, true);
    }
    let has = |s: &str| named.iter().any(|n| n == s);
    (has("stdin"), has("stdout"), has("stderr"))
}

/// Attach, start, copy the streams until the container's end, exit with
/// its code.
async fn foreground(
    t: &Target,
    o: &CreateOptions,
    id: &str,
    sig_proxy: bool,
) -> anyhow::Result<()> {
    let (stdin, stdout, stderr) = streams(o);
    let q = format!(
        "/containers/{}/attach?stream=true&stdin={stdin}&stdout={stdout}&stderr={stderr}",
        enc(id)
    );
    let conn = client::upgrade(t, &q, None).await?;
    // With --rm the container may be gone before a later wait could ask:
    // this wait is set up first and answers at its removal.
    let removed_wait = if o.rm {
        let path = format!("/containers/{}/wait?condition=removed", enc(id));
        Some(client::request(t, Method::POST, &path, None).await?)
    } else {
        None
    };
    let raw = (o.tty && stdin && nix::unistd::isatty(0).unwrap_or(false))
        .then(crate::lifecycle::attach::RawMode::enable);
    if o.tty {
        resize(t, &format!("/containers/{}", enc(id))).await;
    }
    if let Err(e) = start(t, id).await {
        drop(raw);
        return Err(e.into());
    }
    let copied =
        crate::lifecycle::attach::proxy_signals(sig_proxy, session(conn, stdin, o.tty), |sig| {
            kill_for_proxy(t, id, sig)
        })
        .await;
    drop(raw);
    copied?;
    let code = match removed_wait {
        Some(r) => exit_code(&r.json().await?)?,
        None => {
            let path = format!("/containers/{}/wait?condition=stopped", enc(id));
            let v = client::request(t, Method::POST, &path, None)
                .await?
                .json()
                .await?;
            exit_code(&v)?
        }
    };
    exit_with(code)
}

/// Copy our stdin (when `stdin`) to a hijacked connection and its output
/// onto our stdout and stderr, until the service closes it.
pub async fn session(conn: client::Hijacked, stdin: bool, tty: bool) -> anyhow::Result<()> {
    let (mut rd, mut wr) = tokio::io::split(conn);
    if stdin {
        // A thread, not tokio's stdin: a read blocked on the terminal
        // must not hold the runtime open at exit.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let mut input = std::io::stdin();
            loop {
                match input.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if tx.blocking_send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        tokio::spawn(async move {
            while let Some(chunk) = rx.recv().await {
                if wr.write_all(&chunk).await.is_err() || wr.flush().await.is_err() {
                    return;
                }
            }
            // End of input: half-close, so the process sees EOF.
            let _ = wr.shutdown().await;
        });
    } else {
        drop(wr);
    }
    copy_output(&mut rd, tty).await
}

/// Exit with `code` as the local commands do (0 is success).
pub fn exit_with(code: i32) -> anyhow::Result<()> {
    if code == 0 {
        return Ok(());
    }
    Err(crate::error::ExitError {
        code: (code & 0xff) as u8,
        source: anyhow::anyhow!(""),
    }
    .into())
}

/// libpod's wait answers with the code alone; an error as Docker's body.
fn exit_code(v: &Value) -> anyhow::Result<i32> {
    if let Some(n) = v.as_i64() {
        return Ok(n as i32);
    }
    if let Some(m) = v["Error"]["Message"].as_str() {
        anyhow::bail!("{m}");
    }
    v["StatusCode"]
        .as_i64()
        .map(|n| n as i32)
        .ok_or_else(|| anyhow::anyhow!("the service's wait answer is not understood: {v}"))
}

/// This terminal's size for the container's or exec session's (`base`).
pub async fn resize(t: &Target, base: &str) {
    if let Some((h, w)) = crate::lifecycle::attach::terminal_size() {
        let path = format!("{base}/resize?h={h}&w={w}");
        if let Err(e) = client::request(t, Method::POST, &path, None).await {
            tracing::debug!("resize: {e}");
        }
    }
}

/// The attach stream onto our stdout and stderr: raw with a terminal,
/// else Docker's frames (stream 1 stdout, 2 stderr, 4-byte length).
pub async fn copy_output<R: tokio::io::AsyncRead + Unpin>(
    rd: &mut R,
    tty: bool,
) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 32 * 1024];
    let mut frames = Frames::default();
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            // The service closing the connection at the container's end.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if tty {
            let mut out = std::io::stdout();
            out.write_all(&buf[..n])?;
            out.flush()?;
        } else {
            frames.feed(&buf[..n])?;
        }
    }
}

/// Docker's multiplexed stream, split back onto stdout and stderr.
#[derive(Default)]
pub struct Frames {
    pending: Vec<u8>,
}

impl Frames {
    pub fn feed(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.pending.extend_from_slice(data);
        while self.pending.len() >= 8 {
            let p = &self.pending;
            let len = u32::from_be_bytes([p[4], p[5], p[6], p[7]]) as usize;
            if p.len() < 8 + len {
                break;
            }
            let body = &p[8..8 + len];
            if p[0] == 2 {
                std::io::stderr().write_all(body)?;
            } else {
                let mut out = std::io::stdout();
                out.write_all(body)?;
                out.flush()?;
            }
            self.pending.drain(..8 + len);
        }
        Ok(())
    }
}
