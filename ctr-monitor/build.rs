//! Link flags for the monitor binary; see "Staying small" in src/main.rs.
//!
//! * `-no-pie`: a fixed-address executable. In a PIE the loader writes
//!   every pointer in .data.rel.ro (vtables) at start-up, which copies each
//!   of those pages into every monitor process (~130 kB per container);
//!   at a fixed address they stay clean and shared.
//! * libgcc's unwinder linked in statically: rustc asks for `-lgcc_s`, and
//!   a linker script of that name in OUT_DIR points it at libgcc_eh.a. One
//!   shared library less spares each monitor that library's private pages.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-arg-bins=-no-pie");
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    match std::fs::write(out.join("libgcc_s.a"), "INPUT(-lgcc_eh)\n") {
        Ok(()) => println!("cargo:rustc-link-search=native={}", out.display()),
        Err(e) => println!("cargo:warning=libgcc stays a shared library: {e}"),
    }
}
