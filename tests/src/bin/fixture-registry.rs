//! Serve the busybox test image from a real `docker-registry` on a free
//! loopback port, for people and scripts (the demo, benchmarks):
//!
//!     fixture-registry [REPO:TAG]
//!
//! prints the image reference (`127.0.0.1:PORT/REPO:TAG`) on stdout, then
//! keeps the registry up until its standard input is closed.

use std::io::{Read, Write};

fn main() -> anyhow::Result<()> {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "busybox:latest".into());
    let (repo, tag) = arg.split_once(':').unwrap_or((arg.as_str(), "latest"));
    let registry = e2e::registry::Registry::start()?;
    let image = e2e::oci_image::busybox_image()?;
    registry.push(repo, tag, &image)?;
    println!("{}", registry.reference(repo, tag));
    std::io::stdout().flush()?;
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(registry);
    Ok(())
}
