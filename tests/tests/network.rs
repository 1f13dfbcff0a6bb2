//! net-setup end to end, on the real kernel: bridges, veths, nftables, the
//! per-network DNS server, netns files. "Containers" are network namespaces
//! the tests create; traffic goes only to loopback and to their own
//! addresses. Tests run one at a time (they compare the host's link list
//! and ruleset, only the
//! objects each test's environment names) and clean up in Drop guards even when they fail.

use std::ffi::OsString;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use anyhow::{ensure, Result};
use e2e::binaries::bin;
use proto::netsetup::v1 as pb;
use serde_json::{json, Value};

mod network_support;
use network_support::*;

#[test]
fn two_containers_reach_each_other_and_resolve_names() -> Result<()> {
    let _s = serial();
    let env = Env::new();
    let net = env.network("nt-dns", "10.123.1.0/24", "ntbr1", &[])?;
    assert_eq!(net["dns_enabled"], true);
    assert_eq!(net["subnets"][0]["gateway"], "10.123.1.1");
    let (n1, n2) = (env.netns("c1")?, env.netns("c2")?);
    let nets = json!([{"name": "nt-dns", "aliases": ["web"]}]);
    let s1 = env.setup("c1", &n1, nets, json!([]))?;
    let s2 = env.setup(
        "c2",
        &n2,
        json!([{"name": "nt-dns", "aliases": ["db"]}]),
        json!([]),
    )?;
    let (ip1, ip2) = (addr_of(&s1, 0), addr_of(&s2, 0));
    assert_eq!((ip1.as_str(), ip2.as_str()), ("10.123.1.2", "10.123.1.3"));
    let st = &s1["networks"][0];
    assert_eq!(st["interface_name"], "eth0");
    assert_eq!(st["bridge"], "ntbr1");
    assert_eq!(st["dns_server_ips"], json!(["10.123.1.1"]));
    assert_eq!(st["dns_search_domains"], json!(["dns.podman"]));
    assert_eq!(st["addresses"][0]["gateway"], "10.123.1.1");
    // Inside: eth0 with the address and MAC reported, default route via the gateway.
    let link = text(&in_ns(&n1, &["ip", "-o", "link", "show", "eth0"]).stdout);
    assert!(
        link.contains(st["mac_address"].as_str().unwrap()) && link.contains("UP"),
        "{link}"
    );
    let route = text(&in_ns(&n1, &["ip", "route"]).stdout);
    assert!(route.contains("default via 10.123.1.1 dev eth0"), "{route}");

    assert!(ping(&n1, &ip2), "c1 -> c2");
    assert!(ping(&n2, &ip1), "c2 -> c1");
    assert_eq!(
        nslookup(&n1, "c2", "10.123.1.1").map_err(anyhow::Error::msg)?,
        vec![ip2.as_str()]
    );
    assert_eq!(
        nslookup(&n1, "db", "10.123.1.1").map_err(anyhow::Error::msg)?,
        vec![ip2.as_str()]
    );
    assert_eq!(
        nslookup(&n2, "web.dns.podman", "10.123.1.1").map_err(anyhow::Error::msg)?,
        vec![ip1.as_str()]
    );
    // A query whose source is outside the network's subnet (the host,
    // from 127.0.0.1) is dropped; the container asking next is answered,
    // so the server has seen the host's datagram by then.
    let host = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let q = [
        0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, b'c', b'2', 0, 0, 1, 0, 1,
    ];
    host.send_to(&q, "10.123.1.1:53")?;
    assert_eq!(
        nslookup(&n1, "c2", "10.123.1.1").map_err(anyhow::Error::msg)?,
        vec![ip2.as_str()]
    );
    host.set_nonblocking(true)?;
    let mut buf = [0u8; 512];
    let e = host.recv_from(&mut buf).unwrap_err();
    assert_eq!(
        e.kind(),
        std::io::ErrorKind::WouldBlock,
        "answered a host query"
    );
    // Other names are forwarded (to the host's resolvers here, as no
    // upstream was given), never refused as a stub would: the answer is
    // the host's (offline: NXDOMAIN), network_names.rs checks forwarding
    // to a resolver of its own.
    let err = nslookup(&n1, "example.com", "10.123.1.1").unwrap_err();
    assert!(!err.contains("REFUSED"), "{err}");
    // c2 gone: its name goes with it; the server keeps serving c1.
    env.teardown("c2", json!([{"name": "nt-dns"}]))?;
    assert!(nslookup(&n1, "c2", "10.123.1.1").is_err());
    assert_eq!(
        nslookup(&n1, "c1", "10.123.1.1").map_err(anyhow::Error::msg)?,
        vec![ip1.as_str()]
    );
    let pid_file = env.state().join("dns/nt-dns.pid");
    let pid = std::fs::read_to_string(&pid_file)?;
    env.teardown("c1", json!([{"name": "nt-dns"}]))?;
    assert!(
        !running(pid.trim()),
        "dns server stopped with the last container"
    );
    assert!(!pid_file.exists());
    Ok(())
}

#[test]
fn published_port_answers_on_host_loopback_and_comes_back_after_reload() -> Result<()> {
    let _s = serial();
    let env = Env::new();
    env.network("nt-port", "10.123.2.0/24", "ntbr2", &[])?;
    let ns = env.netns("web")?;
    let port = free_port();
    let ports = json!([{"host_port": port, "container_port": 8080, "protocol": "tcp"}]);
    env.setup("web", &ns, json!([{"name": "nt-port"}]), ports)?;
    env.httpd(&ns)?;
    assert_eq!(
        http_get(port, Duration::from_secs(5))?,
        "hello from the container\n"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/conf/ntbr2/route_localnet")?.trim(),
        "1"
    );

    // Someone deletes our rules (as `nft flush ruleset` would): Reload restores them.
    let table = env.ours().table;
    ensure!(
        nft_tables().contains(&format!("table inet {table}")),
        "{:?}",
        nft_tables()
    );
    let table = table.as_str();
    assert!(sh("nft", &["delete", "table", "inet", table])
        .status
        .success());
    assert!(
        http_get(port, Duration::from_millis(300)).is_err(),
        "no DNAT, no answer"
    );
    let r = env.ok(&["reload"], "")?;
    assert_eq!(
        (r["containers"].as_u64(), r["firewall_backend"].as_str()),
        (Some(1), Some("nftables"))
    );
    assert_eq!(
        http_get(port, Duration::from_secs(5))?,
        "hello from the container\n"
    );
    Ok(())
}

#[test]
fn iptables_fallback_publishes_ports_and_removes_its_chains() -> Result<()> {
    let _s = serial();
    let env = Env::with_driver("iptables");
    env.network("nt-ipt", "10.123.10.0/24", "ntbr10", &[])?;
    let ns = env.netns("ipt")?;
    let port = free_port();
    let nets = json!([{"name": "nt-ipt"}]);
    env.setup(
        "ipt",
        &ns,
        nets.clone(),
        json!([{"host_port": port, "container_port": 8080}]),
    )?;
    env.httpd(&ns)?;
    assert_eq!(
        http_get(port, Duration::from_secs(5))?,
        "hello from the container\n"
    );
    let ours = |s: &str| {
        s.lines()
            .filter(|l| l.contains("ntbr10") || l.contains(&format!("dport {port}")))
            .count()
    };
    assert!(ours(&text(&sh("iptables-save", &[]).stdout)) >= 3);
    env.teardown("ipt", nets)?;
    // The container's DNAT goes with it; the network's chains stay.
    let saved = text(&sh("iptables-save", &[]).stdout);
    assert!(!saved.contains(&format!("dport {port}")), "{saved}");
    assert!(saved.contains("ntbr10"), "{saved}");
    assert!(env.run(&["network-rm", "nt-ipt"], "").status.success());
    let saved = text(&sh("iptables-save", &[]).stdout);
    assert_eq!(ours(&saved), 0, "{saved}");
    let prefix = format!(":{}", env.ours().chain_prefix);
    assert!(!saved.lines().any(|l| l.starts_with(&prefix)), "{saved}");
    Ok(())
}

#[test]
fn network_none_netns_has_only_loopback_and_nsenter_works() -> Result<()> {
    let _s = serial();
    let env = Env::new();
    let ns = env.netns("none")?;
    let links = text(&in_ns(&ns, &["ip", "-o", "link"]).stdout);
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.contains("lo:") && links.contains("UP"), "{links}");
    assert!(ping(&ns, "127.0.0.1"));
    // It is a bind mount of an nsfs file; a second create on the path is refused.
    let err = env.fails(&["create-netns", ns.to_str().unwrap()], "");
    assert!(err.contains("already exists"), "{err}");
    env.ok(&["remove-netns", ns.to_str().unwrap()], "")?;
    assert!(!ns.exists());
    env.ok(&["remove-netns", ns.to_str().unwrap()], "")?;
    Ok(())
}

#[test]
fn twenty_concurrent_setups_get_distinct_addresses() -> Result<()> {
    let _s = serial();
    let before = host_snapshot();
    let ours = {
        let env = Env::new();
        env.network("nt-many", "10.123.3.0/24", "ntbr3", &["--disable-dns"])?;
        let nss: Vec<PathBuf> = (0..20)
            .map(|i| env.netns(&format!("m{i}")))
            .collect::<Result<_>>()?;
        let children: Vec<Child> = nss
            .iter()
            .enumerate()
            .map(|(i, ns)| {
                let id = format!("many{i:02}");
                env.track(&id, &json!([{"name": "nt-many"}]));
                env.spawn(
                    &["setup"],
                    &Env::request(&id, ns, json!([{"name": "nt-many"}]), json!([])),
                )
            })
            .collect();
        let mut ips = Vec::new();
        for c in children {
            let o = c.wait_with_output()?;
            ensure!(o.status.success(), "{}", text(&o.stderr));
            ips.push(addr_of(&serde_json::from_slice(&o.stdout)?, 0));
        }
        let mut uniq = ips.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), 20, "{ips:?}");
        // And the kernel agrees: every one answers from its neighbour.
        assert!(ping(&nss[0], &ips[19]) && ping(&nss[19], &ips[0]));
        env.ours()
    };
    assert_same_for(&before, &ours);
    Ok(())
}

#[test]
fn bad_requests_are_refused_with_one_line_and_leave_nothing() -> Result<()> {
    let _s = serial();
    let before = host_snapshot();
    let ours = {
        let env = Env::new();
        let err = env.fails(&["network-create", "x", "--subnet", "10.123.4.5/24"], "");
        assert!(
            err.contains("subnet 10.123.4.5/24 is not a network address: use 10.123.4.0/24"),
            "{err}"
        );
        env.network("nt-bad", "10.123.4.0/24", "ntbr4", &[])?;
        let err = env.fails(
            &["network-create", "other", "--subnet", "10.123.4.128/25"],
            "",
        );
        assert!(
            err.contains("overlaps with 10.123.4.0/24 of network nt-bad"),
            "{err}"
        );
        let err = env.fails(&["network-create", "x", "--subnet", "192.0.2.0/25"], "");
        assert!(err.contains("a route or address on this host"), "{err}");
        let err = env.fails(
            &["network-create", "nt-bad", "--subnet", "10.123.5.0/24"],
            "",
        );
        assert!(
            err.contains("netavark: network already exists nt-bad"),
            "{err}"
        );
        let err = env.fails(&["network-rm", "podman"], "");
        assert!(
            err.contains("default network podman cannot be removed"),
            "{err}"
        );

        let (n1, n2) = (env.netns("b1")?, env.netns("b2")?);
        let net = json!([{"name": "nt-bad"}]);
        // A host port another process listens on: refused before anything is touched.
        let held = TcpListener::bind("0.0.0.0:0")?;
        let port = held.local_addr()?.port();
        let req = Env::request(
            "b1",
            &n1,
            net.clone(),
            json!([{"host_port": port, "container_port": 80}]),
        );
        let err = env.fails(&["setup"], &req);
        assert!(
            err.contains(&format!("host port {port}/tcp")) && err.contains("in use"),
            "{err}"
        );
        drop(held);
        // Nothing held: the first real setup gets the first address.
        let s1 = env.setup(
            "b1",
            &n1,
            net.clone(),
            json!([{"host_port": port, "container_port": 80}]),
        )?;
        assert_eq!(addr_of(&s1, 0), "10.123.4.2");
        // Another container's mapping.
        let req = Env::request(
            "b2",
            &n2,
            net.clone(),
            json!([{"host_port": port, "container_port": 81}]),
        );
        let err = env.fails(&["setup"], &req);
        assert!(err.contains("already published by container b1"), "{err}");
        // Static addresses: taken, outside the subnet.
        let taken = json!([{"name": "nt-bad", "static_ips": ["10.123.4.2"]}]);
        let err = env.fails(&["setup"], &Env::request("b2", &n2, taken, json!([])));
        assert!(
            err.contains("10.123.4.2 is already allocated to container b1"),
            "{err}"
        );
        let outside = json!([{"name": "nt-bad", "static_ips": ["10.9.9.9"]}]);
        let err = env.fails(&["setup"], &Env::request("b2", &n2, outside, json!([])));
        assert!(err.contains("not in any subnet of network nt-bad"), "{err}");
        let err = env.fails(
            &["setup"],
            &Env::request("b2", &n2, json!([{"name": "nope"}]), json!([])),
        );
        assert!(err.contains("network nope not found"), "{err}");
        let err = env.fails(&["setup"], &Env::request("b1", &n1, net.clone(), json!([])));
        assert!(err.contains("already set up"), "{err}");
        // Static IP and MAC honoured.
        let nets = json!([{"name": "nt-bad", "static_ips": ["10.123.4.77"], "static_mac": "02:42:0a:7b:04:4d"}]);
        let s2 = env.setup("b2", &n2, nets, json!([]))?;
        assert_eq!(addr_of(&s2, 0), "10.123.4.77");
        let link = text(&in_ns(&n2, &["ip", "-o", "link", "show", "eth0"]).stdout);
        assert!(link.contains("02:42:0a:7b:04:4d"), "{link}");
        let err = env.fails(&["network-rm", "nt-bad"], "");
        assert!(err.contains("in use by container(s) b1, b2"), "{err}");
        env.ours()
    };
    assert_same_for(&before, &ours);
    Ok(())
}

#[test]
fn sigkill_during_setup_then_teardown_leaves_no_link_rule_or_process() -> Result<()> {
    let _s = serial();
    let before = host_snapshot();
    let env = Env::new();
    env.network("nt-kill", "10.123.6.0/24", "ntbr6", &[])?;
    let nets = json!([{"name": "nt-kill", "aliases": ["k"]}]);
    let mut completed = 0;
    for i in 0..14u64 {
        let ns = env.netns(&format!("k{i}"))?;
        let id = format!("kill{i}");
        env.track(&id, &nets);
        let req = Env::request(
            &id,
            &ns,
            nets.clone(),
            json!([{"host_port": free_port(), "container_port": 80}]),
        );
        let mut child = env.spawn(&["setup"], &req);
        // Not a wait for a condition: the kill lands at a different point
        // of the setup each round (0, 9, 18, ... ms in).
        std::thread::sleep(Duration::from_millis(i * 9));
        let _ = child.kill();
        if child.wait()?.success() {
            completed += 1;
        }
        env.teardown(&id, nets.clone())?;
        env.ok(&["remove-netns", ns.to_str().unwrap()], "")?;
    }
    eprintln!("{completed} of 14 setups finished before SIGKILL");
    let procs = text(&sh("pgrep", &["-af", "dns-serve"]).stdout);
    assert!(!procs.contains(env.state().to_str().unwrap()), "{procs}");
    assert!(std::fs::read_dir(env.state().join("containers"))?
        .next()
        .is_none());
    // The bridge's leases are host-wide (one file per bridge, shared by
    // every store; this test's stand-in for the host dir): none is held.
    let leases: Value = serde_json::from_slice(&std::fs::read(
        env.host_state().join("ipam/bridge-ntbr6.json"),
    )?)?;
    assert_eq!(leases["leases"], json!({}));
    assert!(!env.state().join("ipam/nt-kill.json").exists());
    // The bridge and its chains stay until the network goes.
    assert!(host_snapshot().of(&env.ours()).0.contains("ntbr6"));
    assert!(env.run(&["network-rm", "nt-kill"], "").status.success());
    assert_same_for(&before, &env.ours());
    Ok(())
}

#[test]
fn setup_teardown_cycle_restores_links_and_ruleset_exactly() -> Result<()> {
    let _s = serial();
    let before = host_snapshot();
    let ours = {
        let env = Env::new();
        env.network("nt-cyc", "10.123.7.0/24", "ntbr7", &[])?;
        env.network("nt-int", "10.123.8.0/24", "ntbr8", &["--internal"])?;
        let (n1, n2) = (env.netns("y1")?, env.netns("y2")?);
        let both = json!([{"name": "nt-cyc"}, {"name": "nt-int"}]);
        let s = env.setup(
            "y1",
            &n1,
            both.clone(),
            json!([{"host_port": free_port(), "container_port": 80, "range": 3}]),
        )?;
        assert_eq!(s["networks"][1]["interface_name"], "eth1");
        env.setup("y2", &n2, json!([{"name": "nt-int"}]), json!([]))?;
        let during = host_snapshot().of(&env.ours());
        assert!(during.0.contains("ntbr7") && during.0.contains("ntbr8"));
        // Internal network: no NAT, nothing forwarded off the bridge.
        assert!(
            during
                .1
                .contains("iifname \"ntbr8\" oifname != \"ntbr8\" drop"),
            "{}",
            during.1
        );
        assert!(
            !during
                .1
                .contains("ip saddr 10.123.8.0/24 oifname != \"ntbr8\" masquerade"),
            "{}",
            during.1
        );
        assert!(
            during
                .1
                .contains("ip saddr 10.123.7.0/24 oifname != \"ntbr7\" masquerade"),
            "{}",
            during.1
        );
        assert!(
            ping(&n2, &addr_of(&s, 1)),
            "internal network still connects its containers"
        );
        let route = text(&in_ns(&n2, &["ip", "route"]).stdout);
        assert!(
            !route.contains("default"),
            "no default route on an internal network: {route}"
        );
        env.teardown("y1", both)?;
        env.teardown("y2", json!([{"name": "nt-int"}]))?;
        // A second teardown finds nothing to do and succeeds.
        env.teardown("y2", json!([{"name": "nt-int"}]))?;
        env.ours()
    };
    assert_same_for(&before, &ours);
    Ok(())
}

#[test]
fn grpc_surface_for_podman() -> Result<()> {
    let _s = serial();
    let env = Env::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut args = env.args();
        args.extend(["serve", "--grpc-fd", "3"].map(OsString::from));
        let mut helper =
            proto::transport::spawn_helper("net-setup", &bin("net-setup"), &args).await?;
        let mut c = pb::net_setup_client::NetSetupClient::new(helper.channel()?);
        let info = c
            .info(proto::common::v1::InfoRequest::default())
            .await?
            .into_inner();
        assert_eq!(info.state_dir, env.state().display().to_string());
        assert_eq!(info.firewall_backend, "nftables");

        let subnet = pb::Subnet {
            subnet: "10.123.9.0/24".into(),
            ..Default::default()
        };
        let req = pb::CreateNetworkRequest {
            name: "nt-grpc".into(),
            network_interface: "ntbr9".into(),
            subnets: vec![subnet],
            labels: [("team".to_string(), "net".to_string())].into(),
            ..Default::default()
        };
        let net = c.create_network(req).await?.into_inner();
        assert_eq!(
            (net.id.len(), net.dns_enabled, net.is_default),
            (64, true, false)
        );
        let file: Value = serde_json::from_str(&net.config_json)?;
        assert_eq!(file["network_interface"], "ntbr9");
        assert!(env.cfg().join("nt-grpc.json").exists());
        let ls = |f: &[&str]| pb::ListNetworksRequest {
            filters: f.iter().map(|s| s.to_string()).collect(),
        };
        let all = c.list_networks(ls(&[])).await?.into_inner().networks;
        let names: Vec<&str> = all.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["nt-grpc", "podman"]);
        assert!(
            all[1].is_default && all[1].subnets[0].subnet == "10.88.0.0/16" && !all[1].dns_enabled
        );
        assert_eq!(
            c.list_networks(ls(&["label=team=net"]))
                .await?
                .into_inner()
                .networks
                .len(),
            1
        );
        assert_eq!(
            c.list_networks(ls(&["driver=macvlan"]))
                .await?
                .into_inner()
                .networks
                .len(),
            0
        );
        let ex = c
            .network_exists(pb::NetworkExistsRequest {
                name: net.id[..12].into(),
            })
            .await?
            .into_inner();
        assert!(ex.exists && ex.name == "nt-grpc");
        assert!(
            !c.network_exists(pb::NetworkExistsRequest {
                name: "nope".into()
            })
            .await?
            .into_inner()
            .exists
        );
        let e = c
            .inspect_network(pb::InspectNetworkRequest {
                name: "nope".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound);
        let e = c
            .remove_network(pb::RemoveNetworkRequest {
                name: "podman".into(),
                force: true,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::FailedPrecondition);

        // podman's order: CreateNetns -> runtime create with the path -> Setup.
        let path = env.dir.path().join("run/netns/netns-g1");
        env.netns.lock().unwrap().push(path.clone());
        c.create_netns(pb::CreateNetnsRequest {
            path: path.display().to_string(),
        })
        .await?;
        env.track("g1", &json!([{"name": "nt-grpc"}]));
        let setup = pb::SetupRequest {
            container_id: "g1".into(),
            container_name: "g1".into(),
            netns_path: path.display().to_string(),
            networks: vec![pb::PerNetworkOptions {
                name: "nt-grpc".into(),
                static_ips: vec!["10.123.9.9".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let st = c.setup(setup.clone()).await?.into_inner().networks;
        assert_eq!(st[0].addresses[0].address, "10.123.9.9/24");
        assert_eq!(st[0].dns_server_ips, ["10.123.9.1"]);
        assert!(ping(&path, "10.123.9.1"), "container reaches its gateway");
        let e = c.setup(setup).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::AlreadyExists);
        let td = pb::TeardownRequest {
            container_id: "g1".into(),
            netns_path: path.display().to_string(),
            networks: vec![pb::PerNetworkOptions {
                name: "nt-grpc".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        c.teardown(td).await?;
        env.containers.lock().unwrap().clear();
        c.remove_netns(pb::RemoveNetnsRequest {
            path: path.display().to_string(),
        })
        .await?;
        assert!(!path.exists());
        let rm = c
            .remove_network(pb::RemoveNetworkRequest {
                name: "nt-grpc".into(),
                force: false,
            })
            .await?
            .into_inner();
        assert_eq!(rm.id, net.id);
        assert!(!env.cfg().join("nt-grpc.json").exists());
        drop(c);
        assert!(helper.finish(Duration::from_secs(5)).await?.success());
        Ok(())
    })
}
