use super::*;

fn net(subnet: &str) -> Network {
    let mut n = Network::default_network();
    n.name = "t".into();
    n.id = "id1".into();
    let s: IpNet = subnet.parse().unwrap();
    n.subnets = vec![crate::network_config::Subnet {
        subnet: s,
        gateway: None,
        lease_range: None,
    }];
    n
}

#[test]
fn sequential_static_and_release() {
    let d = tempfile::tempdir().unwrap();
    let ipam = Ipam::new(d.path(), &d.path().join("host"));
    let n = net("10.89.0.0/29");
    let a = ipam.allocate(&n, "a", &[], None).unwrap();
    assert_eq!(a.ips[0].to_string(), "10.89.0.2/29");
    assert_eq!(
        ipam.allocate(&n, "a", &[], None).unwrap(),
        a,
        "retry keeps the lease"
    );
    let b = ipam
        .allocate(
            &n,
            "b",
            &["10.89.0.5".parse().unwrap()],
            Some("02:00:00:00:00:0B"),
        )
        .unwrap();
    assert_eq!(
        (b.ips[0].addr().to_string(), b.mac.as_str()),
        ("10.89.0.5".into(), "02:00:00:00:00:0b")
    );
    let e = ipam
        .allocate(&n, "c", &["10.89.0.5".parse().unwrap()], None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("already allocated to container b"), "{e}");
    let e = ipam
        .allocate(&n, "c", &["10.90.0.5".parse().unwrap()], None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not in any subnet"), "{e}");
    let e = ipam
        .allocate(&n, "c", &["10.89.0.1".parse().unwrap()], None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("gateway"), "{e}");
    assert_eq!(
        ipam.allocate(&n, "c", &[], None).unwrap().ips[0]
            .addr()
            .to_string(),
        "10.89.0.3"
    );
    assert!(ipam.release(&n.name, &n.network_interface, "a").unwrap());
    // .2 was just released: the next one after the last handed out comes first.
    assert_eq!(
        ipam.allocate(&n, "d", &[], None).unwrap().ips[0]
            .addr()
            .to_string(),
        "10.89.0.4"
    );
    assert_eq!(
        ipam.allocate(&n, "e", &[], None).unwrap().ips[0]
            .addr()
            .to_string(),
        "10.89.0.6"
    );
    assert_eq!(
        ipam.allocate(&n, "f", &[], None).unwrap().ips[0]
            .addr()
            .to_string(),
        "10.89.0.2"
    );
    assert!(ipam
        .allocate(&n, "g", &[], None)
        .unwrap_err()
        .to_string()
        .contains("no free IP"));
    let mut users = ipam.users(&n).unwrap();
    users.sort();
    assert_eq!(users, ["b", "c", "d", "e", "f"]);
}

#[test]
fn concurrent_threads_get_distinct_addresses() {
    let d = tempfile::tempdir().unwrap();
    let n = net("10.89.0.0/24");
    let ips: Vec<IpNet> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..16)
            .map(|i| {
                let (dir, n) = (d.path(), &n);
                s.spawn(move || {
                    Ipam::new(dir, &dir.join("host"))
                        .allocate(n, &format!("c{i}"), &[], None)
                        .unwrap()
                        .ips[0]
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let set: HashSet<_> = ips.iter().collect();
    assert_eq!(set.len(), 16);
}

#[test]
fn stores_on_one_bridge_share_its_leases() {
    let d = tempfile::tempdir().unwrap();
    let host = d.path().join("host");
    let (sa, sb) = (d.path().join("a"), d.path().join("b"));
    std::fs::create_dir_all(&sa).unwrap();
    std::fs::create_dir_all(&sb).unwrap();
    let (a, b) = (Ipam::new(&sa, &host), Ipam::new(&sb, &host));
    let mut n = net("10.89.0.0/24");
    n.network_interface = "podtest0".into();
    let first = a.allocate(&n, "c1", &[], None).unwrap().ips[0];
    let second = b.allocate(&n, "c2", &[], None).unwrap().ips[0];
    assert_ne!(first, second, "one bridge, one address each");
    let e = b
        .allocate(&n, "c3", &[first.addr()], None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("already allocated"), "{e}");
    // Each store sees and releases only its own.
    assert_eq!(a.users(&n).unwrap(), ["c1"]);
    assert!(!b.release(&n.name, "podtest0", "c1").unwrap());
    assert!(a.release(&n.name, "podtest0", "c1").unwrap());
    // A store whose state dir is gone holds nothing.
    std::fs::remove_dir_all(&sb).unwrap();
    std::fs::create_dir_all(&sa).unwrap();
    let taken = a.allocate(&n, "c4", &[second.addr()], None).unwrap();
    assert_eq!(taken.ips[0], second);
    // Removing the network in one store forgets that store's leases.
    a.remove_network(&n).unwrap();
    assert!(a.users(&n).unwrap().is_empty());
}

#[test]
fn a_bridge_file_keeps_its_cursor_until_the_network_goes() {
    let d = tempfile::tempdir().unwrap();
    let host = d.path().join("host");
    let ipam = Ipam::new(d.path(), &host);
    let mut n = net("10.89.0.0/24");
    n.network_interface = "podtest2".into();
    let file = host.join("bridge-podtest2.json");
    ipam.allocate(&n, "c1", &[], None).unwrap();
    assert!(ipam.release(&n.name, "podtest2", "c1").unwrap());
    assert!(file.exists(), "the cursor stays with no lease held");
    // A just-released address is not handed out again at once.
    let next = ipam.allocate(&n, "c1", &[], None).unwrap();
    assert_eq!(next.ips[0].to_string(), "10.89.0.3/24");
    ipam.remove_network(&n).unwrap();
    assert!(!file.exists(), "network rm leaves no lease file");
}

#[test]
fn leases_of_a_stores_own_file_still_count_on_a_shared_bridge() {
    let d = tempfile::tempdir().unwrap();
    let mut n = net("10.89.0.0/24");
    n.network_interface = "podtest1".into();
    // A lease given when the store kept bridges' leases itself.
    let mut legacy = n.clone();
    legacy.driver = "macvlan".into();
    let old = Ipam::new(d.path(), &d.path().join("host"))
        .allocate(&legacy, "old", &[], None)
        .unwrap();
    let ipam = Ipam::new(d.path(), &d.path().join("host"));
    let new = ipam.allocate(&n, "new", &[], None).unwrap();
    assert_ne!(old.ips[0], new.ips[0]);
    assert_eq!(ipam.allocate(&n, "old", &[], None).unwrap(), old, "kept");
    let mut users = ipam.users(&n).unwrap();
    users.sort();
    assert_eq!(users, ["new", "old"]);
}

#[test]
fn mac_parsing() {
    assert!(normalize_mac("01:00:00:00:00:01")
        .unwrap_err()
        .to_string()
        .contains("multicast"));
    assert!(parse_mac("zz").is_err());
    let m = generate_mac().unwrap();
    assert_eq!(parse_mac(&m).unwrap()[0] & 3, 2);
}
