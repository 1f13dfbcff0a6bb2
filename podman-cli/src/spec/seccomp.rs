//! Seccomp profiles in Docker's format (containers-common's `seccomp.json`),
//! turned into the OCI `linux.seccomp` section the way containers/common's
//! `pkg/seccomp` does it: the host architecture picked from `archMap`, rules
//! kept or dropped by their `includes`/`excludes` (capabilities of the
//! container's bounding set, architectures), errno names resolved.

use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value};

/// Where containers-common installs the default profile, and the file an
/// administrator may put in front of it (Podman's search order).
pub const OVERRIDE_PATH: &str = "/etc/containers/seccomp.json";
pub const DEFAULT_PATH: &str = "/usr/share/containers/seccomp.json";

/// containers-common's profile, used where none is installed
/// (see seccomp_default.NOTICE).
pub const BUILTIN_PROFILE: &str = include_str!("seccomp_default.json");

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("opening seccomp profile failed: {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("loading seccomp profile ({path}) failed: {reason}")]
    Load { path: String, reason: String },
}

/// The default profile's path as Podman resolves it: containers.conf's
/// `seccomp_profile`, else the override file, else containers-common's
/// file; "" when none exists (the built-in copy is used then).
pub fn default_profile_path(configured: Option<&str>) -> String {
    if let Some(p) = configured.filter(|p| !p.is_empty()) {
        return p.to_string();
    }
    [OVERRIDE_PATH, DEFAULT_PATH]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("")
        .to_string()
}

/// Whether the kernel filters system calls (CONFIG_SECCOMP_FILTER): it
/// publishes the filter actions it supports.
pub fn kernel_supports() -> bool {
    Path::new("/proc/sys/kernel/seccomp/actions_avail").exists()
}

/// Read the profile at `path` ("" for the built-in copy) and convert it for
/// a container with this bounding capability set.
pub fn load(path: &str, bounding: &[String]) -> Result<Option<Value>, SeccompError> {
    let text = if path.is_empty() {
        BUILTIN_PROFILE.to_string()
    } else {
        std::fs::read_to_string(path).map_err(|source| SeccompError::Open {
            path: path.to_string(),
            source,
        })?
    };
    let shown = if path.is_empty() { "built-in" } else { path };
    convert(&text, bounding).map_err(|reason| SeccompError::Load {
        path: shown.to_string(),
        reason,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Profile {
    default_action: String,
    default_errno_ret: Option<u32>,
    default_errno: String,
    architectures: Option<Vec<String>>,
    arch_map: Option<Vec<ArchMap>>,
    syscalls: Option<Vec<Syscall>>,
    flags: Option<Vec<String>>,
    listener_path: String,
    listener_metadata: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ArchMap {
    architecture: String,
    sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Syscall {
    name: String,
    names: Option<Vec<String>>,
    action: String,
    args: Option<Vec<Arg>>,
    includes: Filter,
    excludes: Filter,
    errno_ret: Option<u32>,
    errno: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Filter {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Arg {
    index: u32,
    value: u64,
    value_two: u64,
    op: String,
}

/// libseccomp's name for the native architecture (what `arches` filters
/// name), and its `SCMP_ARCH_*` constant where containers/common maps one.
fn native_arch() -> (&'static str, Option<&'static str>) {
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", Some("SCMP_ARCH_X86_64")),
        "aarch64" => ("arm64", Some("SCMP_ARCH_AARCH64")),
        "s390x" => ("s390x", Some("SCMP_ARCH_S390X")),
        "mips64" if cfg!(target_endian = "little") => ("mipsel64", Some("SCMP_ARCH_MIPSEL64")),
        "mips64" => ("mips64", Some("SCMP_ARCH_MIPS64")),
        "x86" => ("x86", None),
        "arm" => ("arm", None),
        "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
        "powerpc64" => ("ppc64", None),
        "riscv64" => ("riscv64", None),
        other => (other, None),
    }
}

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), libc::$name)),*]
    };
}

/// The errno names a profile may use (containers/common's table).
const ERRNOS: &[(&str, i32)] = errnos!(
    EPERM,
    ENOENT,
    ESRCH,
    EIO,
    ENXIO,
    E2BIG,
    ENOEXEC,
    EBADF,
    ECHILD,
    EDEADLK,
    ENOMEM,
    EACCES,
    EFAULT,
    ENOTBLK,
    EBUSY,
    EEXIST,
    EXDEV,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOTTY,
    ETXTBSY,
    EFBIG,
    ENOSPC,
    ESPIPE,
    EROFS,
    EMLINK,
    EPIPE,
    EDOM,
    ERANGE,
    EAGAIN,
    EINPROGRESS,
    EALREADY,
    ENOTSOCK,
    EDESTADDRREQ,
    EMSGSIZE,
    EPROTOTYPE,
    ENOPROTOOPT,
    EPROTONOSUPPORT,
    ESOCKTNOSUPPORT,
    EOPNOTSUPP,
    EPFNOSUPPORT,
    EAFNOSUPPORT,
    EADDRINUSE,
    EADDRNOTAVAIL,
    ENETDOWN,
    ENETUNREACH,
    ENETRESET,
    ECONNABORTED,
    ECONNRESET,
    ENOBUFS,
    EISCONN,
    ENOTCONN,
    ESHUTDOWN,
    ETOOMANYREFS,
    ETIMEDOUT,
    ECONNREFUSED,
    ELOOP,
    ENAMETOOLONG,
    EHOSTDOWN,
    EHOSTUNREACH,
    ENOTEMPTY,
    EUSERS,
    EDQUOT,
    ESTALE,
    EREMOTE,
    ENOLCK,
    ENOSYS,
    EILSEQ,
    ENOMEDIUM,
    EMEDIUMTYPE,
    EOVERFLOW,
    ECANCELED,
    EIDRM,
    ENOMSG,
    ENOTSUP,
    EBADMSG,
    ENOTRECOVERABLE,
    EOWNERDEAD,
);

/// A numeric errno, a name from the table, or the fallback when empty.
fn errno(name: &str, fallback: Option<u32>) -> Result<Option<u32>, String> {
    if name.is_empty() {
        return Ok(fallback);
    }
    if let Ok(n) = name.parse::<u32>() {
        return Ok(Some(n));
    }
    ERRNOS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| Some(*v as u32))
        .ok_or_else(|| format!("unknown errno {name}"))
}

/// Convert a Docker-format profile to the OCI form; `None` when it names
/// no default action and no rules (containers/common: seccomp disabled).
pub fn convert(text: &str, bounding: &[String]) -> Result<Option<Value>, String> {
    let p: Profile =
        serde_json::from_str(text).map_err(|e| format!("decoding seccomp profile failed: {e}"))?;
    let syscalls = p.syscalls.unwrap_or_default();
    if p.default_action.is_empty() && syscalls.is_empty() {
        return Ok(None);
    }
    let (arch, scmp_arch) = native_arch();
    let mut architectures: Vec<String> = p.architectures.clone().unwrap_or_default();
    let arch_map = p.arch_map.unwrap_or_default();
    if !architectures.is_empty() && !arch_map.is_empty() {
        return Err("'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'".into());
    }
    if let Some(native) = scmp_arch {
        if let Some(m) = arch_map.iter().find(|m| m.architecture == native) {
            architectures.push(m.architecture.clone());
            architectures.extend(m.sub_architectures.clone().unwrap_or_default());
        }
    }
    let has = |list: &Option<Vec<String>>, f: &dyn Fn(&String) -> bool| {
        list.as_ref().is_some_and(|l| l.iter().any(f))
    };
    let mut rules = Vec::new();
    for call in &syscalls {
        let arch_is = |a: &String| a == arch;
        let cap_held = |c: &String| bounding.contains(c);
        let cap_missing = |c: &String| !bounding.contains(c);
        if has(&call.excludes.arches, &arch_is)
            || has(&call.excludes.caps, &cap_held)
            || call
                .includes
                .arches
                .as_ref()
                .is_some_and(|l| !l.is_empty() && !l.iter().any(arch_is))
            || has(&call.includes.caps, &cap_missing)
        {
            continue;
        }
        let names = call.names.clone().unwrap_or_default();
        if !call.name.is_empty() && !names.is_empty() {
            return Err("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'".into());
        }
        let errno_ret = errno(&call.errno, call.errno_ret)?;
        let names = if call.name.is_empty() {
            names
        } else {
            vec![call.name.clone()]
        };
        if names.is_empty() {
            continue;
        }
        let mut rule = json!({"names": names, "action": call.action});
        if let Some(e) = errno_ret {
            rule["errnoRet"] = json!(e);
        }
        if let Some(args) = call.args.as_ref().filter(|a| !a.is_empty()) {
            rule["args"] = args
                .iter()
                .map(|a| json!({"index": a.index, "value": a.value, "valueTwo": a.value_two, "op": a.op}))
                .collect();
        }
        rules.push(rule);
    }
    let mut out = json!({"defaultAction": p.default_action, "syscalls": rules});
    if let Some(e) = errno(&p.default_errno, p.default_errno_ret)? {
        out["defaultErrnoRet"] = json!(e);
    }
    if !architectures.is_empty() {
        out["architectures"] = json!(architectures);
    }
    if let Some(flags) = p.flags.filter(|f| !f.is_empty()) {
        out["flags"] = json!(flags);
    }
    if !p.listener_path.is_empty() {
        out["listenerPath"] = json!(p.listener_path);
    }
    if !p.listener_metadata.is_empty() {
        out["listenerMetadata"] = json!(p.listener_metadata);
    }
    // Unknown actions, operators, architectures or flags are refused here,
    // at create, rather than by the runtime at start.
    serde_json::from_value::<oci_spec::runtime::LinuxSeccomp>(out.clone())
        .map_err(|e| format!("invalid seccomp profile: {e}"))?;
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn names_of(v: &Value) -> Vec<String> {
        v["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["names"].as_array().unwrap().clone())
            .map(|n| n.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn builtin_profile_converts_by_capability() {
        let plain = convert(BUILTIN_PROFILE, &caps(&["CAP_CHOWN"]))
            .unwrap()
            .unwrap();
        assert_eq!(plain["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(plain["defaultErrnoRet"], libc::ENOSYS);
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(
                plain["architectures"],
                json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
            );
        }
        // chroot: allowed only with CAP_SYS_CHROOT, else EPERM.
        let chroot_rule = |v: &Value| {
            v["syscalls"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["names"] == json!(["chroot"]))
                .cloned()
                .unwrap()
        };
        let denied = chroot_rule(&plain);
        assert_eq!(denied["action"], "SCMP_ACT_ERRNO");
        assert_eq!(denied["errnoRet"], libc::EPERM);
        let with = convert(BUILTIN_PROFILE, &caps(&["CAP_SYS_CHROOT"]))
            .unwrap()
            .unwrap();
        assert_eq!(chroot_rule(&with)["action"], "SCMP_ACT_ALLOW");
        // bpf: only the EPERM rule applies without CAP_SYS_ADMIN or CAP_BPF.
        let bpf: Vec<&Value> = plain["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["names"].as_array().unwrap().contains(&json!("bpf")))
            .collect();
        assert!(!bpf.is_empty() && bpf.iter().all(|r| r["action"] == "SCMP_ACT_ERRNO"));
    }

    #[test]
    fn bad_profiles_are_refused() {
        assert!(convert("{", &[]).unwrap_err().starts_with("decoding"));
        assert!(convert(r#"{"defaultAction":"SCMP_ACT_NOPE","syscalls":[]}"#, &[]).is_err());
        assert!(convert(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrno":"EWHAT"}"#,
            &[]
        )
        .unwrap_err()
        .contains("unknown errno EWHAT"));
        assert_eq!(convert("{}", &[]).unwrap(), None);
        assert!(matches!(
            load("/nonexistent/profile.json", &[]),
            Err(SeccompError::Open { .. })
        ));
    }

    #[test]
    fn names_args_and_arches() {
        let (arch, _) = native_arch();
        let text = format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {{"name":"personality","action":"SCMP_ACT_ERRNO","errno":"EPERM","args":[{{"index":0,"value":8,"op":"SCMP_CMP_NE"}}]}},
            {{"names":["a"],"action":"SCMP_ACT_ERRNO","excludes":{{"arches":["{arch}"]}}}},
            {{"names":["b"],"action":"SCMP_ACT_ERRNO","includes":{{"arches":["{arch}"]}}}}]}}"#
        );
        let v = convert(&text, &[]).unwrap().unwrap();
        assert_eq!(names_of(&v), vec!["personality", "b"]);
        assert_eq!(
            v["syscalls"][0]["args"],
            json!([{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_NE"}])
        );
        assert_eq!(v["syscalls"][0]["errnoRet"], 1);
    }
}
