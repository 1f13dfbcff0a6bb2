//! Teardown: try every step and collect every error. Works from the
//! container's record when there is one, and from the request alone when
//! there is not (a setup killed before writing it): host veth names are
//! derived from container and network, leases are keyed by container.
//! A network's bridge and chains stay for the next container: they go
//! with `network rm` ([`remove_network_links`]).

use std::path::PathBuf;
use std::time::Instant;

use tracing::debug;

use crate::context::Ctx;
use crate::dns;
use crate::error::{NetError, Result};
use crate::netlink::Netlink;
use crate::records::{self, Attachment};
use crate::types::TeardownRequest;
use common::file_lock::FileLock;

pub async fn teardown(ctx: &Ctx, req: TeardownRequest) -> Result<()> {
    records::validate_container_id(&req.container_id)?;
    let names: Vec<String> = req
        .networks
        .iter()
        .map(|n| n.name.clone())
        .filter(|n| !n.is_empty())
        .collect();
    if req.only_listed && names.is_empty() {
        return Err(NetError::InvalidArgument(
            "detaching only listed networks needs at least one network: name it".into(),
        ));
    }
    let netns = (req.remove_netns && !req.only_listed && !req.netns_path.is_empty())
        .then(|| PathBuf::from(&req.netns_path));
    let mut errors = Vec::new();
    // A namespace nothing is in any more takes its veths with it: released
    // first, the kernel's work on it overlaps what follows.
    let veths = match &netns {
        Some(p) if crate::netns::unused(p) => match crate::netns::remove(p) {
            Ok(()) => Veths::GoWithNetns,
            Err(e) => {
                errors.push(e.to_string());
                Veths::Delete
            }
        },
        _ => Veths::Delete,
    };
    if veths == Veths::Delete {
        delete_recorded_veths(ctx, &req.container_id, &names, req.only_listed).await;
    }
    let lock = ctx.setup_lock().await?;
    errors.extend(
        teardown_locked(
            ctx,
            &lock,
            &req.container_id,
            &names,
            req.only_listed,
            veths,
        )
        .await,
    );
    drop(lock);
    if let (Some(p), Veths::Delete) = (&netns, veths) {
        if let Err(e) = crate::netns::remove(p) {
            errors.push(e.to_string());
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(NetError::Teardown {
            container: req.container_id,
            errors,
        })
    }
}

/// What a teardown does with a container's veths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Veths {
    /// Delete each pair: the call returns once the kernel has unregistered
    /// it (a few RCU grace periods, tens of ms on a busy machine).
    Delete,
    /// The container's namespace was released with no process in it, so
    /// the kernel deletes the pairs with it, in the background. Their host
    /// ends are set down at once (the bridge stops forwarding to them), so
    /// the container is cut off before its addresses are released.
    GoWithNetns,
}

/// Delete the recorded host veths of `container` (those of `networks` with
/// `only`) before the setup lock is taken: a veth is the container's own
/// (its name derives from container and network, and the caller holds the
/// container's lock), and the kernel takes a few RCU grace periods to
/// unregister one, so teardowns of several containers (`stop -a`) wait
/// for them side by side rather than one after another under the lock.
/// What fails here is tried again, and reported, by [`teardown_locked`].
async fn delete_recorded_veths(ctx: &Ctx, container: &str, networks: &[String], only: bool) {
    let Ok(Some(record)) = ctx.records().get(container) else {
        return;
    };
    let Ok(host) = Netlink::host() else {
        return;
    };
    for a in record.attachments.iter().filter(|a| {
        !only
            || networks
                .iter()
                .any(|n| n == &a.network || n == &a.network_id)
    }) {
        if let Err(e) = host.delete_link(&a.host_veth).await {
            debug!(veth = %a.host_veth, error = %e, "deleting veth before the lock; tried again under it");
        }
    }
}

/// Undo everything for `container` on its recorded networks plus `networks`
/// (names or ids); with `only`, on `networks` alone, and the record keeps
/// the others. The caller holds the setup lock. Returns the errors.
pub async fn teardown_locked(
    ctx: &Ctx,
    lock: &FileLock,
    container: &str,
    networks: &[String],
    only: bool,
    veths: Veths,
) -> Vec<String> {
    let started = Instant::now();
    let mut errors: Vec<String> = Vec::new();
    let mut note = |e: NetError| errors.push(e.to_string());
    let record = ctx.records().get(container).unwrap_or_else(|e| {
        note(e);
        None
    });
    // Everything to undo, from the record and from the request.
    let mut atts: Vec<Attachment> = record
        .as_ref()
        .map(|r| r.attachments.clone())
        .unwrap_or_default();
    for n in networks {
        if atts.iter().any(|a| &a.network == n || &a.network_id == n) {
            continue;
        }
        match ctx.configs().find(n) {
            Ok(net) if atts.iter().any(|a| a.network == net.name) => {}
            Ok(net) => atts.push(Attachment::new(
                &net,
                "",
                &records::host_veth_name(container, &net.name),
            )),
            // A network removed meanwhile: still release its lease and veth.
            Err(_) => {
                let mut a =
                    Attachment::new(&crate::network_config::Network::default_network(), "", "");
                a.network = n.clone();
                a.bridge = String::new();
                a.host_veth = records::host_veth_name(container, n);
                atts.push(a);
            }
        }
    }
    let mut kept: Vec<Attachment> = Vec::new();
    if only {
        let (gone, stay): (Vec<Attachment>, Vec<Attachment>) = atts.into_iter().partition(|a| {
            networks
                .iter()
                .any(|n| n == &a.network || n == &a.network_id)
        });
        atts = gone;
        kept = stay;
    }
    // 1. Veths: deleting the host end removes the pair; one going with
    // its namespace is cut off (a link the kernel removed meanwhile is fine).
    let host = match Netlink::host() {
        Ok(h) => Some(h),
        Err(e) => {
            note(e);
            None
        }
    };
    if let Some(h) = &host {
        for a in &atts {
            let r = match veths {
                Veths::Delete => h.delete_link(&a.host_veth).await,
                Veths::GoWithNetns => h.set_down(&a.host_veth).await,
            };
            if let Err(e) = r {
                note(e);
            }
        }
    }
    // 2. The record (or what it keeps), then the firewall without it.
    // Detaching networks keeps the record even with none left: the
    // container's port mappings follow it to the next network connected.
    let rest = match record {
        Some(mut r) if only => {
            r.attachments = kept;
            ctx.records().put(&r)
        }
        _ => ctx.records().remove(container).map(drop),
    };
    if let Err(e) = rest {
        note(e);
    }
    if let Err(e) = ctx.apply_firewall(lock, false).await {
        note(e);
    }
    // 3. DNS entries; a network's server stops with its last container.
    let store = ctx.dns();
    for a in &atts {
        match store.remove(&a.network, container) {
            Ok(0) => {
                if let Err(e) =
                    dns::process::stop(&store, &a.network).and_then(|()| store.clear(&a.network))
                {
                    note(e);
                }
            }
            Ok(_) => {}
            Err(e) => note(e),
        }
    }
    // 4. Leases.
    for a in &atts {
        if let Err(e) = ctx.ipam().release(&a.network, &a.bridge, container) {
            note(e);
        }
    }
    debug!(
        container,
        ?veths,
        errors = errors.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "teardown done"
    );
    errors
}

/// `network rm`: the network's bridge (when no interface is left on it)
/// and its chains. The caller holds the setup lock and has removed the
/// network's configuration.
pub async fn remove_network_links(
    ctx: &Ctx,
    lock: &FileLock,
    network: &str,
    bridge: &str,
) -> Result<()> {
    // Only a bridge this store made: another tool's of the same name stays.
    if !ctx.active().remove(network)? {
        return Ok(());
    }
    if crate::network_config::is_valid_ifname(bridge) {
        remove_bridge(&Netlink::host()?, bridge).await?;
    }
    ctx.apply_firewall(lock, false).await?;
    Ok(())
}

/// How long `network rm` waits for the kernel to delete the veths that
/// went with their containers' namespaces before deleting them itself.
const RELEASED_VETHS_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Delete this store's bridge of a removed network (ports still on it are
/// released by the kernel); a link of that name that is not a bridge stays.
/// Veths of containers torn down with their namespace ([`Veths::GoWithNetns`]:
/// down, on the bridge) are waited for first, so none outlives the command.
async fn remove_bridge(h: &Netlink, name: &str) -> Result<()> {
    let Some(l) = h.link(name).await? else {
        return Ok(());
    };
    if l.kind != Some(netlink_packet_route::link::InfoKind::Bridge) {
        return Ok(());
    }
    let released: Vec<u32> = h
        .links()
        .await?
        .iter()
        .filter(|p| {
            p.controller == Some(l.index)
                && !p.up
                && p.kind == Some(netlink_packet_route::link::InfoKind::Veth)
        })
        .map(|p| p.index)
        .collect();
    if !released.is_empty() {
        let left = h.wait_links_gone(released, RELEASED_VETHS_WAIT).await?;
        for index in left {
            // Still held (a process kept the namespace): deleted here.
            if let Some(n) = h.link_name(index).await? {
                h.delete_link(&n).await?;
            }
        }
    }
    h.delete_link(name).await?;
    debug!(bridge = name, "bridge removed");
    Ok(())
}
