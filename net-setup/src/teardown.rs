//! Teardown: try every step and collect every error. Works from the
//! container's record when there is one, and from the request alone when
//! there is not (a setup killed before writing it): host veth names are
//! derived from container and network, leases are keyed by container.
//! A network's bridge and chains stay for the next container: they go
//! with `network rm` ([`remove_network_links`]).

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
    delete_recorded_veths(ctx, &req.container_id, &names, req.only_listed).await;
    let lock = ctx.setup_lock().await?;
    let errors = teardown_locked(ctx, &lock, &req.container_id, &names, req.only_listed).await;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(NetError::Teardown {
            container: req.container_id,
            errors,
        })
    }
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
    // 1. Veths: deleting the host end removes the pair.
    let host = match Netlink::host() {
        Ok(h) => Some(h),
        Err(e) => {
            note(e);
            None
        }
    };
    if let Some(h) = &host {
        for a in &atts {
            if let Err(e) = h.delete_link(&a.host_veth).await {
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

/// Delete this store's bridge of a removed network (ports still on it are
/// released by the kernel); a link of that name that is not a bridge stays.
async fn remove_bridge(h: &Netlink, name: &str) -> Result<()> {
    let Some(l) = h.link(name).await? else {
        return Ok(());
    };
    if l.kind != Some(netlink_packet_route::link::InfoKind::Bridge) {
        return Ok(());
    }
    h.delete_link(name).await?;
    debug!(bridge = name, "bridge removed");
    Ok(())
}
