//! `exec` and `attach` over the service's hijacked connections: the exec
//! session made with `POST /containers/{id}/exec`, started with its
//! streams taken over; `attach` on the container's own streams.

use std::time::Duration;

use http::Method;
use serde_json::json;

use super::client;
use super::containers::enc;
use super::run::{exit_with, resize, session};
use super::Target;
use crate::commands::attach::AttachArgs;
use crate::commands::exec::ExecArgs;

pub async fn exec(t: &Target, a: &ExecArgs) -> anyhow::Result<()> {
    if a.latest {
        anyhow::bail!(
            "--latest is not available with the remote client of podman-rs: name the container"
        );
    }
    if a.preserve_fds > 0 || !a.preserve_fd.is_empty() {
        anyhow::bail!("--preserve-fds/--preserve-fd pass this machine's descriptors, which a remote container cannot have: run it where the containers are");
    }
    if a.detach_keys.is_some() {
        anyhow::bail!("--detach-keys is not available with the remote client of podman-rs: detach by ending the session");
    }
    let container = a.container.as_deref().unwrap_or_default();
    if a.command.is_empty() {
        anyhow::bail!(
            "must provide a non-empty command to start an exec session: invalid argument"
        );
    }
    // As the local exec: the env files first, each --env over them, `KEY`
    // alone from this client's environment.
    let mut env = Vec::new();
    for f in &a.env_file {
        env.extend(crate::container::parse::env_file(f)?);
    }
    env.extend(
        a.env
            .iter()
            .flat_map(|e| crate::container::parse::env_var(e)),
    );
    let attach = !a.detach;
    let body = json!({
        "AttachStdin": a.interactive && attach,
        "AttachStdout": attach,
        "AttachStderr": attach,
        "Tty": a.tty,
        "Cmd": a.command,
        "Env": env,
        "WorkingDir": a.workdir.clone().unwrap_or_default(),
        "User": a.user.clone().unwrap_or_default(),
        "Privileged": a.privileged,
    });
    let v = client::request(
        t,
        Method::POST,
        &format!("/containers/{}/exec", enc(container)),
        Some(&body),
    )
    .await?
    .json()
    .await?;
    let id = v["Id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the service's exec answer has no Id: {v}"))?
        .to_string();
    let start = format!("/exec/{id}/start");
    if a.detach {
        let body = json!({"Detach": true});
        client::request(t, Method::POST, &start, Some(&body)).await?;
        println!("{id}");
        return Ok(());
    }
    let tty_in = a.tty && a.interactive && nix::unistd::isatty(0).unwrap_or(false);
    let raw = tty_in.then(crate::lifecycle::attach::RawMode::enable);
    let body = json!({"Detach": false, "Tty": a.tty});
    let conn = client::upgrade(t, &start, Some(&body)).await?;
    if a.tty {
        resize(t, &format!("/exec/{id}")).await;
    }
    let copied = session(conn, a.interactive, a.tty).await;
    drop(raw);
    copied?;
    exit_with(exit_code(t, &id).await?)
}

/// The session's exit code once the service has it.
async fn exit_code(t: &Target, id: &str) -> anyhow::Result<i32> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let v = client::get_json(t, &format!("/exec/{id}/json")).await?;
        if v["Running"] == false || std::time::Instant::now() > deadline {
            return Ok(v["ExitCode"].as_i64().unwrap_or(-1) as i32);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn attach(t: &Target, a: &AttachArgs) -> anyhow::Result<()> {
    if a.latest {
        anyhow::bail!(
            "--latest is not available with the remote client of podman-rs: name the container"
        );
    }
    if a.detach_keys.is_some() {
        anyhow::bail!("--detach-keys is not available with the remote client of podman-rs: detach by ending the session");
    }
    let name = a.container.as_deref().unwrap_or_default();
    let c = client::get_json(t, &format!("/containers/{}/json", enc(name))).await?;
    if c["State"]["Status"] != "running" {
        anyhow::bail!("you can only attach to running containers: container state improper");
    }
    let tty = c["Config"]["Tty"] == true;
    let stdin = c["Config"]["OpenStdin"] == true && !a.no_stdin;
    let id = c["Id"].as_str().unwrap_or(name).to_string();
    let q = format!(
        "/containers/{}/attach?stream=true&stdin={stdin}&stdout=true&stderr=true",
        enc(&id)
    );
    let conn = client::upgrade(t, &q, None).await?;
    let raw = (tty && stdin && nix::unistd::isatty(0).unwrap_or(false))
        .then(crate::lifecycle::attach::RawMode::enable);
    if tty {
        resize(t, &format!("/containers/{}", enc(&id))).await;
    }
    let copied =
        crate::lifecycle::attach::proxy_signals(a.sig_proxy, session(conn, stdin, tty), |sig| {
            super::run::kill_for_proxy(t, &id, sig)
        })
        .await;
    drop(raw);
    copied?;
    // The stream ends at the container's exit (or the service's leaving):
    // its code, as the local attach exits with it.
    let c = client::get_json(t, &format!("/containers/{}/json", enc(&id))).await;
    match c {
        Ok(c) if c["State"]["Running"] == false => {
            exit_with(c["State"]["ExitCode"].as_i64().unwrap_or(0) as i32)
        }
        _ => Ok(()),
    }
}
