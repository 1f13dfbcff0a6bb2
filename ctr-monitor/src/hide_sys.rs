//! A container with a user namespace of its own cannot mount a fresh
//! sysfs, so the runtime binds the host's /sys with everything mounted
//! under it, /sys/kernel/{tracing,debug,security,...} included. As libpod
//! does for such containers ("hideFiles"), the runtime is started in a
//! mount namespace of its own where /sys is a slave and the mounts under
//! /sys/kernel are gone: the container's /sys carries none of them, and
//! the host's mounts are untouched.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

/// Whether the bundle's config gives the container a user namespace.
fn has_user_namespace(bundle: &Path) -> bool {
    let Ok(text) = std::fs::read(bundle.join("config.json")) else {
        return false;
    };
    let Ok(spec) = serde_json::from_slice::<serde_json::Value>(&text) else {
        return false;
    };
    spec["linux"]["namespaces"]
        .as_array()
        .is_some_and(|ns| ns.iter().any(|n| n["type"] == "user"))
}

/// Mount points under /sys/kernel in this mount namespace, the deepest
/// (latest mounted) first, as mountinfo's octal escapes decode.
fn kernel_mounts() -> std::io::Result<Vec<CString>> {
    let text = std::fs::read("/proc/self/mountinfo")?;
    let mut out = Vec::new();
    for line in text.split(|b| *b == b'\n') {
        let Some(point) = line.split(|b| *b == b' ').nth(4) else {
            continue;
        };
        let point = unescape(point);
        if Path::new(std::ffi::OsStr::from_bytes(&point)).starts_with("/sys/kernel") {
            if let Ok(c) = CString::new(point) {
                out.push(c);
            }
        }
    }
    out.reverse();
    Ok(out)
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && i + 3 < s.len() && s[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = s[i + 1..i + 4]
                .iter()
                .fold(0u32, |a, d| a * 8 + u32::from(d - b'0'));
            out.push(v as u8);
            i += 4;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// Make `cmd` (the runtime's create or run) start in its own mount
/// namespace without /sys/kernel's mounts, when the container has a user
/// namespace; otherwise leave it alone.
pub fn install(cmd: &mut Command, bundle: &Path) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    if !has_user_namespace(bundle) {
        return Ok(());
    }
    // Everything the child needs is computed here: between fork and exec
    // it only makes system calls.
    let targets = kernel_mounts()?;
    let sys = CString::new("/sys").expect("no NUL");
    // SAFETY: between fork and exec only unshare, mount and umount2, which
    // are async-signal-safe, on strings allocated before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::mount(
                std::ptr::null(),
                sys.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_SLAVE,
                std::ptr::null(),
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            for t in &targets {
                // Gone already (under one unmounted before): fine.
                libc::umount2(t.as_ptr(), libc::MNT_DETACH);
            }
            Ok(())
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_decode() {
        assert_eq!(unescape(br"/sys/kernel/a\040b"), b"/sys/kernel/a b");
        assert_eq!(unescape(br"/plain"), b"/plain");
    }
}
