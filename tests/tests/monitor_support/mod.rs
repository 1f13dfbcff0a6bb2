//! Support for the ctr-monitor tests (monitor.rs, monitor_lifetime.rs): the
//! monitor spawned as podman spawns it, a blocking attach client, exit files.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use nix::sys::socket::{
    connect, recv, send, socket, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr,
};
use proto::monitor::v1::monitor_client::MonitorClient;
use proto::monitor::v1::{CreateContainerRequest, StartContainerRequest};
use tonic::transport::Channel;

use e2e::monitor_env::{monitor_bin, Env};

/// Start `ctr-monitor serve --grpc-fd 3 --detach` as podman does.
pub async fn spawn_monitor() -> Result<(proto::transport::Helper, MonitorClient<Channel>)> {
    let args: Vec<OsString> = [
        "--log-level",
        "debug",
        "serve",
        "--grpc-fd",
        "3",
        "--detach",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let helper = proto::transport::spawn_helper("ctr-monitor", &monitor_bin(), &args).await?;
    let client = MonitorClient::new(helper.channel()?);
    Ok((helper, client))
}

/// Create and start; the create response.
pub async fn create_start(
    client: &mut MonitorClient<Channel>,
    req: CreateContainerRequest,
) -> Result<proto::monitor::v1::CreateContainerResponse> {
    let id = req.id.clone();
    let created = client.create_container(req).await?.into_inner();
    client.start_container(StartContainerRequest { id }).await?;
    Ok(created)
}

/// Wait (without polling) until process `pid` has exited.
pub async fn wait_gone(pid: i32) -> bool {
    tokio::task::spawn_blocking(move || e2e::monitor_env::wait_gone(pid))
        .await
        .unwrap_or(false)
}

/// A blocking attach client (SOCK_SEQPACKET, protocol in monitor.proto).
pub struct Attach(OwnedFd);

#[derive(Debug, Default)]
pub struct Attached {
    pub stdout: String,
    pub stderr: String,
    pub exit: Option<i32>,
}

impl Attach {
    #[allow(unsafe_code)]
    pub fn connect(path: &str) -> Result<Attach> {
        let fd = socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        connect(fd.as_raw_fd(), &UnixAddr::new(path)?)
            .with_context(|| format!("connecting to {path}"))?;
        let tv = libc::timeval {
            tv_sec: 30,
            tv_usec: 0,
        };
        // SAFETY: setting a timeval option on our socket.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                std::mem::size_of_val(&tv) as u32,
            )
        };
        Ok(Attach(fd))
    }

    pub fn send(&self, tag: u8, data: &[u8]) -> Result<()> {
        let mut pkt = vec![tag];
        pkt.extend_from_slice(data);
        send(self.0.as_raw_fd(), &pkt, MsgFlags::MSG_NOSIGNAL)?;
        Ok(())
    }

    /// Everything until the monitor closes the socket.
    pub async fn collect(self) -> Result<Attached> {
        tokio::task::spawn_blocking(move || {
            let mut got = Attached::default();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = recv(self.0.as_raw_fd(), &mut buf, MsgFlags::empty())
                    .context("attach recv (timed out?)")?;
                if n == 0 {
                    return Ok(got);
                }
                let text = String::from_utf8_lossy(&buf[1..n]).into_owned();
                match buf[0] {
                    1 => got.stdout.push_str(&text),
                    2 => got.stderr.push_str(&text),
                    3 => got.exit = Some(text.parse()?),
                    t => bail!("unexpected attach tag {t}"),
                }
            }
        })
        .await?
    }
}

pub fn exit_json(env: &Env, id: &str) -> Result<serde_json::Value> {
    Ok(serde_json::from_slice(&std::fs::read(
        env.path(&format!("exits/{id}.json")),
    )?)?)
}
