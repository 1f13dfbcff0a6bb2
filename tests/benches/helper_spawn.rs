//! Cost of starting a helper and making its first call, as a ratio to the
//! floor measured in the same run: fork-exec of /bin/true and waiting for it.
//!
//! Run with `bench/helper_spawn.sh` (builds release binaries first).
//! Reports for each helper: time to the first answer (spawn + socketpair +
//! HTTP/2 handshake + Info), and the whole cycle until the helper is reaped.

use std::time::{Duration, Instant};

const ITERATIONS: usize = 300;

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let median = v[v.len() / 2].as_secs_f64() * 1e3;
    let mean = v.iter().map(|d| d.as_secs_f64()).sum::<f64>() / v.len() as f64 * 1e3;
    (median, mean)
}

fn floor() -> Vec<Duration> {
    (0..ITERATIONS)
        .map(|_| {
            let t = Instant::now();
            let st = std::process::Command::new("/bin/true")
                .status()
                .expect("run /bin/true");
            assert!(st.success());
            t.elapsed()
        })
        .collect()
}

async fn helper_cycle(
    name: &str,
    path: &std::path::Path,
    args: &[std::ffi::OsString],
) -> (Duration, Duration) {
    let t = Instant::now();
    let mut h = proto::transport::spawn_helper(name, path, args)
        .await
        .expect("spawn");
    let req = proto::common::v1::InfoRequest::default();
    let ch = h.channel().expect("channel");
    match name {
        "storage-helper" => {
            let mut c = proto::storage::v1::storage_client::StorageClient::new(ch);
            h.call("Info", c.info(req)).await.expect("Info");
        }
        "image-fetcher" => {
            let mut c = proto::fetcher::v1::fetcher_client::FetcherClient::new(ch);
            h.call("Info", c.info(req)).await.expect("Info");
        }
        "net-setup" => {
            let mut c = proto::netsetup::v1::net_setup_client::NetSetupClient::new(ch);
            h.call("Info", c.info(req)).await.expect("Info");
        }
        "ctr-monitor" => {
            let mut c = proto::monitor::v1::monitor_client::MonitorClient::new(ch);
            h.call("Info", c.info(req)).await.expect("Info");
        }
        _ => unreachable!(),
    }
    let first = t.elapsed();
    h.finish(Duration::from_secs(5)).await.expect("finish");
    (first, t.elapsed())
}

fn main() {
    let dir = e2e::binaries::bin_dir();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // Warm the page cache and the runtime-probe cache.
    let _ = floor();
    let (fmed, fmean) = stats(floor());
    println!(
        "helper spawn benchmark: {ITERATIONS} iterations each, binaries from {}",
        dir.display()
    );
    println!(
        "floor  fork-exec /bin/true + wait:           median {fmed:7.3} ms  mean {fmean:7.3} ms"
    );
    let mut worst: f64 = 0.0;
    for name in [
        "storage-helper",
        "image-fetcher",
        "net-setup",
        "ctr-monitor",
    ] {
        let path = dir.join(name);
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        if name == "storage-helper" {
            args.extend(["--root".into(), tmp.path().join("root").into_os_string()]);
        }
        if name == "ctr-monitor" {
            args.extend(["--runroot".into(), tmp.path().join("run").into_os_string()]);
        }
        args.extend(["serve".into(), "--grpc-fd".into(), "3".into()]);
        let _ = rt.block_on(helper_cycle(name, &path, &args));
        let mut firsts = Vec::new();
        let mut cycles = Vec::new();
        for _ in 0..ITERATIONS {
            let (f, c) = rt.block_on(helper_cycle(name, &path, &args));
            firsts.push(f);
            cycles.push(c);
        }
        let (m1, _) = stats(firsts);
        let (m2, _) = stats(cycles);
        println!(
            "{name:<15} first answer median {m1:7.3} ms = {:5.2}x floor;  until reaped {m2:7.3} ms = {:5.2}x floor",
            m1 / fmed,
            m2 / fmed
        );
        if name != "ctr-monitor" {
            worst = worst.max(m1 / fmed);
        }
    }
    println!("note: ctr-monitor's Info runs `RUNTIME --version` for each runtime found, so it includes fork-execs of its own");
    println!("worst spawn+first-call ratio (excluding ctr-monitor): {worst:.2}x (aim: < 3x)");
}
