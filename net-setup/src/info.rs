//! What net-setup reports: firewall backends and forwarding.

use serde::Serialize;

use crate::firewall_tools::{detect, ToolStatus};

#[derive(Debug, Serialize)]
pub struct NetInfo {
    pub nftables: ToolStatus,
    pub iptables: ToolStatus,
    pub firewall_backend: String,
    pub ipv4_forwarding: bool,
    pub ipv6_forwarding: bool,
    pub config_dir: String,
    pub state_dir: String,
}

pub async fn gather(ctx: &crate::context::Ctx, probe: bool) -> NetInfo {
    let (nftables, iptables) = tokio::join!(
        detect(
            "nft",
            &["--version"],
            probe.then_some(&["list", "tables"][..])
        ),
        detect(
            "iptables",
            &["--version"],
            probe.then_some(&["-w", "5", "-S", "-t", "filter"][..])
        ),
    );
    // What setup uses; with a probe, "none" when that tool turned out broken.
    let broken = |t: &ToolStatus| t.usable == Some(false);
    let firewall_backend = match &ctx.firewall {
        crate::firewall::Firewall::Nftables { .. } if broken(&nftables) => "none",
        crate::firewall::Firewall::Iptables { .. } if broken(&iptables) => "none",
        f => f.name(),
    };
    NetInfo {
        firewall_backend: firewall_backend.to_string(),
        nftables,
        iptables,
        ipv4_forwarding: read_flag("/proc/sys/net/ipv4/ip_forward"),
        ipv6_forwarding: read_flag("/proc/sys/net/ipv6/conf/all/forwarding"),
        config_dir: ctx.config_dir.display().to_string(),
        state_dir: ctx.state_dir.display().to_string(),
    }
}

fn read_flag(path: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|s| s.trim() == "1")
}

pub fn human(i: &NetInfo) -> String {
    let tool = |t: &ToolStatus| {
        if !t.available {
            return "not found".to_string();
        }
        let state = match t.usable {
            Some(true) => "works".to_string(),
            Some(false) => format!("fails: {}", t.error),
            None => "not probed".to_string(),
        };
        format!("{} ({}, {state})", t.path, t.version)
    };
    format!(
        "nftables:        {}\niptables:        {}\nFirewall:        {}\nIPv4 forwarding: {}\nIPv6 forwarding: {}\nConfig dir:      {}\nState dir:       {}\n",
        tool(&i.nftables),
        tool(&i.iptables),
        i.firewall_backend,
        i.ipv4_forwarding,
        i.ipv6_forwarding,
        i.config_dir,
        i.state_dir
    )
}
