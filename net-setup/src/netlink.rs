//! Links, addresses and routes over rtnetlink, on the host or inside a
//! network namespace. A netlink socket belongs to the namespace it was
//! created in, so for a container we create it on a short-lived thread that
//! has joined the namespace, and use it from the runtime afterwards.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use futures_util::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteType};
use rtnetlink::{Handle, LinkBridge, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::error::{NetError, Result};

/// What we need to know about a link.
#[derive(Debug, Clone)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub kind: Option<InfoKind>,
    pub controller: Option<u32>,
    /// Administratively up (IFF_UP).
    pub up: bool,
}

pub struct Netlink {
    handle: Handle,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn errno(e: &rtnetlink::Error) -> i32 {
    match e {
        rtnetlink::Error::NetlinkError(m) => -m.raw_code(),
        _ => 0,
    }
}

impl Netlink {
    /// A connection in the current (host) namespace.
    pub fn host() -> Result<Netlink> {
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|e| NetError::netlink("opening socket", e))?;
        Ok(Netlink {
            handle,
            task: tokio::spawn(conn),
        })
    }

    /// A connection inside the namespace `ns` (an nsfs file).
    pub fn in_netns(ns: &File) -> Result<Netlink> {
        let fd = ns.as_raw_fd();
        let sock = std::thread::scope(|s| {
            s.spawn(move || -> Result<OwnedFd> {
                // SAFETY: fd stays open for the scope; setns only affects this thread.
                let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
                nix::sched::setns(borrowed, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| NetError::sys("joining the container's network namespace", e))?;
                // SAFETY: plain socket(2); the result is checked.
                let raw = unsafe {
                    libc::socket(
                        libc::AF_NETLINK,
                        libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                        libc::NETLINK_ROUTE,
                    )
                };
                if raw < 0 {
                    return Err(NetError::io(
                        "opening netlink socket in",
                        "netns",
                        std::io::Error::last_os_error(),
                    ));
                }
                // SAFETY: raw is a fresh descriptor we own.
                Ok(unsafe { OwnedFd::from_raw_fd(raw) })
            })
            .join()
            .unwrap_or_else(|_| Err(NetError::netlink("netns thread", "panicked")))
        })?;
        let raw = std::os::fd::IntoRawFd::into_raw_fd(sock);
        // SAFETY: ownership of raw moves into the tokio socket.
        let tsock = unsafe { rtnetlink::sys::TokioSocket::from_raw_fd(raw) };
        let (conn, handle, _) = rtnetlink::from_socket(tsock);
        Ok(Netlink {
            handle,
            task: tokio::spawn(conn),
        })
    }

    pub async fn links(&self) -> Result<Vec<Link>> {
        let msgs: Vec<LinkMessage> = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|e| NetError::netlink("listing links", e))?;
        Ok(msgs.iter().map(to_link).collect())
    }

    pub async fn link(&self, name: &str) -> Result<Option<Link>> {
        let res: std::result::Result<Vec<LinkMessage>, _> = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute()
            .try_collect()
            .await;
        match res {
            Ok(msgs) => Ok(msgs.first().map(to_link)),
            Err(e) if errno(&e) == libc::ENODEV => Ok(None),
            Err(e) => Err(NetError::netlink(format!("looking up link {name}"), e)),
        }
    }

    /// Create bridge `name` (up) with a fixed MAC address: a bridge
    /// without one takes its lowest port's, which changes as containers come
    /// and go and leaves their neighbour caches pointing nowhere.
    pub async fn create_bridge(&self, name: &str, mtu: Option<u32>, mac: [u8; 6]) -> Result<u32> {
        let mut b = LinkBridge::new(name).address(mac.to_vec());
        if let Some(m) = mtu {
            b = b.mtu(m);
        }
        self.handle
            .link()
            .add(b.build())
            .execute()
            .await
            .map_err(|e| NetError::netlink(format!("creating bridge {name}"), e))?;
        self.link(name).await?.map(|l| l.index).ok_or_else(|| {
            NetError::netlink(format!("bridge {name}"), "vanished right after creation")
        })
    }

    /// Add `addr` to link `index`; an address already there is fine.
    pub async fn ensure_address(&self, index: u32, addr: IpNet) -> Result<()> {
        let mut req = self
            .handle
            .address()
            .add(index, addr.addr(), addr.prefix_len());
        if addr.addr().is_ipv6() {
            // No duplicate address detection: the address is usable (and a
            // DNS server can bind it) at once.
            req.message_mut().header.flags |= AddressHeaderFlags::Nodad;
        }
        match req.execute().await {
            Ok(()) => Ok(()),
            Err(e) if errno(&e) == libc::EEXIST => Ok(()),
            Err(e) => Err(NetError::netlink(format!("adding address {addr}"), e)),
        }
    }

    pub async fn addresses_of(&self, index: u32) -> Result<Vec<IpNet>> {
        let msgs: Vec<_> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute()
            .try_collect()
            .await
            .map_err(|e| NetError::netlink("listing addresses", e))?;
        Ok(msgs
            .iter()
            .filter(|m| m.header.index == index)
            .filter_map(|m| {
                m.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(ip) => IpNet::new(*ip, m.header.prefix_len).ok(),
                    _ => None,
                })
            })
            .collect())
    }

    /// Every address on every link: (link index, address with its prefix).
    pub async fn all_addresses(&self) -> Result<Vec<(u32, IpNet)>> {
        let msgs: Vec<_> = self
            .handle
            .address()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|e| NetError::netlink("listing addresses", e))?;
        Ok(msgs
            .iter()
            .filter_map(|m| {
                m.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(ip) => IpNet::new(*ip, m.header.prefix_len)
                        .ok()
                        .map(|n| (m.header.index, n)),
                    _ => None,
                })
            })
            .collect())
    }

    /// The name of link `index` (None when it is gone).
    pub async fn link_name(&self, index: u32) -> Result<Option<String>> {
        let res: std::result::Result<Vec<LinkMessage>, _> = self
            .handle
            .link()
            .get()
            .match_index(index)
            .execute()
            .try_collect()
            .await;
        match res {
            Ok(msgs) => Ok(msgs.first().map(|m| to_link(m).name)),
            Err(e) if errno(&e) == libc::ENODEV => Ok(None),
            Err(e) => Err(NetError::netlink(format!("looking up link {index}"), e)),
        }
    }

    pub async fn set_up(&self, index: u32) -> Result<()> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(|e| NetError::netlink(format!("setting link {index} up"), e))
    }

    /// Set link `name` down; false when there is none. Unlike a delete,
    /// this does not wait for the kernel's RCU grace periods.
    pub async fn set_down(&self, name: &str) -> Result<bool> {
        let Some(l) = self.link(name).await? else {
            return Ok(false);
        };
        match self
            .handle
            .link()
            .set(LinkUnspec::new_with_index(l.index).down().build())
            .execute()
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if errno(&e) == libc::ENODEV => Ok(false),
            Err(e) => Err(NetError::netlink(format!("setting link {name} down"), e)),
        }
    }

    /// Create veth `host`, attached to bridge `controller` and up, whose
    /// peer `peer` is created directly inside the namespace `ns` with `mac`:
    /// one request, so there is never a half-made pair to clean up.
    pub async fn create_veth(
        &self,
        host: &str,
        controller: u32,
        mtu: Option<u32>,
        peer: &str,
        mac: [u8; 6],
        ns: &File,
    ) -> Result<()> {
        let mut peer_msg = LinkUnspec::new_with_name(peer)
            .address(mac.to_vec())
            .setns_by_fd(ns.as_raw_fd());
        let mut b = LinkVeth::new(host, peer).controller(controller).up();
        if let Some(m) = mtu {
            peer_msg = peer_msg.mtu(m);
            b = b.mtu(m);
        }
        let msg = b
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer_msg.build())))
            .build();
        self.handle.link().add(msg).execute().await.map_err(|e| {
            if errno(&e) == libc::EEXIST {
                NetError::AlreadyExists(format!(
                    "interface {host} on the host or {peer} in the container already exists: tear the container down first or pick another interface name"
                ))
            } else {
                NetError::netlink(format!("creating veth {host} <-> {peer}"), e)
            }
        })
    }

    /// Delete link `name`; false when there is none.
    pub async fn delete_link(&self, name: &str) -> Result<bool> {
        let Some(l) = self.link(name).await? else {
            return Ok(false);
        };
        match self.handle.link().del(l.index).execute().await {
            Ok(()) => Ok(true),
            Err(e) if errno(&e) == libc::ENODEV => Ok(false),
            Err(e) => Err(NetError::netlink(format!("deleting link {name}"), e)),
        }
    }

    /// Wait until none of the links `indexes` exists, or `timeout` has
    /// passed; the ones left. Removals are watched through the kernel's
    /// link notifications, subscribed to before the check, so none is missed.
    pub async fn wait_links_gone(
        &self,
        mut indexes: Vec<u32>,
        timeout: std::time::Duration,
    ) -> Result<Vec<u32>> {
        use futures_util::StreamExt;
        use rtnetlink::packet_core::NetlinkPayload;
        use rtnetlink::packet_route::RouteNetlinkMessage;
        use rtnetlink::sys::{AsyncSocket, SocketAddr};
        let (mut conn, _handle, mut messages) =
            rtnetlink::new_connection().map_err(|e| NetError::netlink("opening socket", e))?;
        conn.socket_mut()
            .socket_mut()
            .bind(&SocketAddr::new(0, rtnetlink::constants::RTMGRP_LINK))
            .map_err(|e| NetError::netlink("subscribing to link changes", e))?;
        let task = tokio::spawn(conn);
        let present: std::collections::HashSet<u32> =
            self.links().await?.iter().map(|l| l.index).collect();
        indexes.retain(|i| present.contains(i));
        let deadline = tokio::time::Instant::now() + timeout;
        while !indexes.is_empty() {
            match tokio::time::timeout_at(deadline, messages.next()).await {
                Ok(Some((msg, _))) => {
                    if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) =
                        msg.payload
                    {
                        indexes.retain(|i| *i != l.header.index);
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        task.abort();
        Ok(indexes)
    }

    pub async fn add_default_route(&self, gateway: IpAddr, metric: Option<u32>) -> Result<()> {
        let msg = match gateway {
            IpAddr::V4(gw) => {
                let b = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw);
                match metric {
                    Some(m) => b.priority(m).build(),
                    None => b.build(),
                }
            }
            IpAddr::V6(gw) => {
                let b = RouteMessageBuilder::<Ipv6Addr>::new().gateway(gw);
                match metric {
                    Some(m) => b.priority(m).build(),
                    None => b.build(),
                }
            }
        };
        match self.handle.route().add(msg).execute().await {
            Ok(()) => Ok(()),
            Err(e) if errno(&e) == libc::EEXIST => Ok(()),
            Err(e) => Err(NetError::netlink(
                format!("adding default route via {gateway}"),
                e,
            )),
        }
    }

    /// Networks the host already routes or has addresses in (main table,
    /// not default routes, not loopback or link-local).
    pub async fn host_networks(&self) -> Result<Vec<IpNet>> {
        let mut out = Vec::new();
        for msg in [
            RouteMessageBuilder::<Ipv4Addr>::new().build(),
            RouteMessageBuilder::<Ipv6Addr>::new().build(),
        ] {
            let routes: Vec<_> = self
                .handle
                .route()
                .get(msg)
                .execute()
                .try_collect()
                .await
                .map_err(|e| NetError::netlink("listing routes", e))?;
            for r in routes {
                if r.header.table != RouteHeader::RT_TABLE_MAIN
                    || r.header.kind != RouteType::Unicast
                {
                    continue;
                }
                let len = r.header.destination_prefix_length;
                let dest = r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Destination(RouteAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
                    RouteAttribute::Destination(RouteAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
                    _ => None,
                });
                if let Some(net) = dest
                    .filter(|_| len > 0)
                    .and_then(|d| IpNet::new(d, len).ok())
                {
                    out.push(net.trunc());
                }
            }
        }
        let addrs: Vec<_> = self
            .handle
            .address()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|e| NetError::netlink("listing addresses", e))?;
        for m in addrs {
            for a in &m.attributes {
                if let AddressAttribute::Address(ip) = a {
                    if let Ok(n) = IpNet::new(*ip, m.header.prefix_len) {
                        out.push(n.trunc());
                    }
                }
            }
        }
        out.retain(|n| !is_special(n));
        out.sort();
        out.dedup();
        Ok(out)
    }
}

fn is_special(n: &IpNet) -> bool {
    match n.addr() {
        IpAddr::V4(a) => a.is_loopback() || a.is_link_local() || a.is_multicast(),
        IpAddr::V6(a) => {
            a.is_loopback() || a.is_multicast() || (a.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

fn to_link(m: &LinkMessage) -> Link {
    let mut l = Link {
        index: m.header.index,
        name: String::new(),
        kind: None,
        controller: None,
        up: m
            .header
            .flags
            .contains(netlink_packet_route::link::LinkFlags::Up),
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => l.name = n.clone(),
            LinkAttribute::Controller(c) => l.controller = Some(*c),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        l.kind = Some(k.clone());
                    }
                }
            }
            _ => {}
        }
    }
    l
}
