//! ctr-monitor taking a container from podman's `run`: an attach client
//! inherited at exec sees the output of a container created and started in
//! one runtime call, and a client that claims the cleanup replaces the exit
//! command -- unless it hangs up without finishing it.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Result};
use e2e::monitor_env::{monitor_bin, wait_gone, Env};
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use proto::monitor::v1::monitor_client::MonitorClient;

/// How the attached client behaves about the cleanup.
#[derive(Clone, Copy, PartialEq)]
enum Client {
    /// Claims nothing: the exit command runs.
    Plain,
    /// Claims it and reports it done: the exit command is skipped.
    ClaimsAndFinishes,
    /// Claims it and hangs up after the exit: the exit command runs.
    ClaimsAndVanishes,
}

struct Outcome {
    stdout: String,
    exit: i32,
    exit_command_ran: bool,
}

/// Run `sh -c script` through a monitor that inherits an attach client and
/// creates+starts in one call; the exit command touches a marker file.
async fn run(env: &Env, id: &str, script: &str, client: Client) -> Result<Outcome> {
    let bundle = env.bundle(id, &["sh", "-c", script], false)?;
    let marker = env.path(&format!("{id}.exit-command-ran"));
    let (ours, theirs): (OwnedFd, OwnedFd) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    if client != Client::Plain {
        send(ours.as_raw_fd(), &[3], MsgFlags::MSG_NOSIGNAL)?;
    }
    let args: Vec<OsString> = [
        "--log-level",
        "debug",
        "serve",
        "--grpc-fd",
        "3",
        "--detach",
        "--attach-fd",
        "4",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let mut helper = proto::transport::spawn_helper_passing(
        "ctr-monitor",
        &monitor_bin(),
        &args,
        false,
        Some(theirs.as_fd()),
    )
    .await?;
    drop(theirs);
    let mut mc = MonitorClient::new(helper.channel()?);
    let mut req = env.request(id, &bundle);
    req.start = true;
    req.exit_command = vec![
        "/bin/sh".into(),
        "-c".into(),
        format!("touch {}", marker.display()),
    ];
    let created = mc.create_container(req).await?.into_inner();
    assert!(
        created.started_at_unix_nanos > 0,
        "started in the same call"
    );
    drop(mc);
    helper.finish(std::time::Duration::from_secs(5)).await?;
    let (stdout, exit) = tokio::task::spawn_blocking(move || -> Result<(String, i32, OwnedFd)> {
        let mut out = String::new();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = recv(ours.as_raw_fd(), &mut buf, MsgFlags::empty())?;
            if n == 0 {
                bail!("the monitor hung up before the exit packet");
            }
            let text = String::from_utf8_lossy(&buf[1..n]).into_owned();
            match buf[0] {
                1 => out.push_str(&text),
                2 => {}
                3 => return Ok((out, text.parse()?, ours)),
                t => bail!("unexpected attach tag {t}"),
            }
        }
    })
    .await?
    .map(|(o, e, sock)| {
        match client {
            Client::ClaimsAndFinishes => {
                let _ = send(sock.as_raw_fd(), &[4], MsgFlags::MSG_NOSIGNAL);
            }
            Client::ClaimsAndVanishes | Client::Plain => {}
        }
        drop(sock);
        (o, e)
    })?;
    let monitor_pid = created.monitor_pid;
    assert!(
        tokio::task::spawn_blocking(move || wait_gone(monitor_pid)).await?,
        "the monitor exits once the exit is handled"
    );
    Ok(Outcome {
        stdout,
        exit,
        exit_command_ran: Path::new(&marker).exists(),
    })
}

#[tokio::test]
async fn an_inherited_client_sees_all_output_of_a_container_started_at_creation() -> Result<()> {
    let env = Env::new();
    // More than a pipe buffer, written before anyone could connect later.
    let o = run(&env, "ho-out", "seq 1 20000; exit 5", Client::Plain).await?;
    assert_eq!(o.exit, 5);
    let expected: String = (1..=20000).map(|i| format!("{i}\n")).collect();
    assert!(
        o.stdout == expected,
        "got {} bytes of output",
        o.stdout.len()
    );
    assert!(o.exit_command_ran, "nobody claimed the cleanup");
    // The k8s-file log has it all too.
    let log = std::fs::read_to_string(env.path("ho-out.log"))?;
    assert_eq!(log.lines().count(), 20000);
    Ok(())
}

#[tokio::test]
async fn a_client_that_claims_the_cleanup_replaces_the_exit_command() -> Result<()> {
    let env = Env::new();
    let o = run(&env, "ho-claim", "echo hi", Client::ClaimsAndFinishes).await?;
    assert_eq!((o.stdout.as_str(), o.exit), ("hi\n", 0));
    assert!(
        !o.exit_command_ran,
        "the claiming client said it cleaned up"
    );
    // A claim without "done" (the client died) leaves it to the exit command.
    let o = run(&env, "ho-vanish", "exit 2", Client::ClaimsAndVanishes).await?;
    assert_eq!(o.exit, 2);
    assert!(o.exit_command_ran, "the claiming client vanished");
    Ok(())
}
