//! Facts about this host for `podman info`: kernel, distribution, CPUs,
//! memory, uptime, cgroups and security features.

use serde::Serialize;

/// Go's name for this architecture (what image platforms use).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "arm" => "arm",
        other => other,
    }
}

#[derive(Debug, Serialize, Default)]
pub struct Distribution {
    pub distribution: String,
    pub version: String,
    pub codename: String,
}

pub fn distribution() -> Distribution {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let mut d = Distribution::default();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().trim_matches('"').to_string();
            match k.trim() {
                "ID" => d.distribution = v,
                "VERSION_ID" => d.version = v,
                "VERSION_CODENAME" => d.codename = v,
                _ => {}
            }
        }
    }
    d
}

pub fn kernel() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// (MemTotal, MemAvailable, SwapTotal, SwapFree) in bytes.
pub fn memory() -> (u64, u64, u64, u64) {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let get = |key: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    (
        get("MemTotal"),
        get("MemAvailable"),
        get("SwapTotal"),
        get("SwapFree"),
    )
}

/// Podman's uptime string: "1h 2m 3.45s (Approximately 0.04 days)".
pub fn uptime() -> String {
    let secs: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0.0);
    let h = (secs / 3600.0).floor();
    let m = ((secs - h * 3600.0) / 60.0).floor();
    let s = secs - h * 3600.0 - m * 60.0;
    format!(
        "{h}h {m}m {s:.2}s (Approximately {:.2} days)",
        secs / 86400.0
    )
}

/// "v2" when /sys/fs/cgroup is the unified hierarchy, else "v1".
pub fn cgroup_version() -> &'static str {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    match nix::sys::statfs::statfs("/sys/fs/cgroup") {
        Ok(st) if st.filesystem_type().0 == CGROUP2_SUPER_MAGIC => "v2",
        _ => "v1",
    }
}

/// Controllers available to containers.
pub fn cgroup_controllers() -> Vec<String> {
    if cgroup_version() == "v2" {
        return std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
    }
    // v1: /proc/cgroups lists "name hierarchy num_cgroups enabled".
    std::fs::read_to_string("/proc/cgroups")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 4 && f[3] == "1" && f[1] != "0").then(|| f[0].to_string())
        })
        .collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Security {
    pub apparmor_enabled: bool,
    pub capabilities: String,
    pub rootless: bool,
    pub seccomp_enabled: bool,
    /// The default profile containers get ("" for the built-in copy).
    pub seccomp_profile_path: String,
    pub selinux_enabled: bool,
}

/// Podman's default capability set for containers.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// `seccomp`: whether containers get a filter, and the default profile's
/// path (both from spec::seccomp, which applies them).
pub fn security(default_caps: Option<&[String]>, seccomp: (bool, String)) -> Security {
    let caps = match default_caps {
        Some(c) => c
            .iter()
            .map(|c| c.to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join(","),
        None => DEFAULT_CAPABILITIES.join(","),
    };
    Security {
        apparmor_enabled: std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|s| s.trim() == "Y"),
        capabilities: caps,
        rootless: !common::paths::is_root(),
        seccomp_enabled: seccomp.0,
        seccomp_profile_path: seccomp.1,
        selinux_enabled: std::path::Path::new("/sys/fs/selinux/enforce").exists(),
    }
}

/// The package that installed `path`, as Podman reports it
/// (`NAME_VERSION_ARCH` from dpkg, `rpm -qf`'s answer), or "Unknown" for
/// a file no package owns (a binary built from source).
pub fn package(path: &str) -> String {
    const UNKNOWN: &str = "Unknown";
    if path.is_empty() {
        return UNKNOWN.into();
    }
    let run = |prog: &str, args: &[&str]| -> Option<String> {
        let out = std::process::Command::new(prog)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !s.is_empty()).then_some(s)
    };
    if std::path::Path::new("/usr/bin/dpkg").exists() {
        if let Some(owner) = run("/usr/bin/dpkg", &["-S", path]) {
            let name = owner.split(": ").next().unwrap_or_default().to_string();
            return run(
                "/usr/bin/dpkg-query",
                &["-f", "${Package}_${Version}_${Architecture}", "-W", &name],
            )
            .unwrap_or(owner);
        }
        return UNKNOWN.into();
    }
    if std::path::Path::new("/usr/bin/rpm").exists() {
        if let Some(p) = run("/usr/bin/rpm", &["-q", "-f", path]) {
            return p;
        }
    }
    UNKNOWN.into()
}

/// Podman's `host.pasta`: the pasta binary user-mode networks run (from
/// `helper_binaries_dir`, else `$PATH`), its package and version; empty
/// strings when it is not installed.
pub fn pasta(helper_dirs: &[String]) -> serde_json::Value {
    let found = helper_dirs
        .iter()
        .map(|d| std::path::Path::new(d).join("pasta"))
        .find(|p| common::paths::is_executable(p))
        .or_else(|| common::paths::which("pasta"));
    let Some(path) = found else {
        return serde_json::json!({"executable": "", "package": "", "version": ""});
    };
    let exe = path.display().to_string();
    let version = std::process::Command::new(&path)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default();
    serde_json::json!({"executable": exe, "package": package(&exe), "version": version})
}

#[cfg(test)]
mod tests {
    #[test]
    fn facts_are_read() {
        assert!(!super::kernel().is_empty());
        assert!(super::cpus() >= 1);
        let (total, avail, _, _) = super::memory();
        assert!(total > 0 && avail <= total);
        assert!(super::uptime().contains("Approximately"));
        assert!(!super::cgroup_controllers().is_empty());
    }
}
