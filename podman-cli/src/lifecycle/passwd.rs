//! Entries libpod adds to the container's /etc/passwd and /etc/group at
//! start: `--hostuser` accounts copied from the host, a numeric `--user`
//! the image does not know (named after the host's account of that UID
//! when there is one), and `--passwd-entry`/`--group-entry` templates for
//! them. Appended to the files in the container's root, as libpod does
//! for a writable root (so `useradd` inside still works); the files are
//! opened inside the root (the image's symlinks cannot lead out), must be
//! regular files, and are left alone when a mount covers them.

use std::io::Write;
use std::os::fd::AsFd;
use std::path::Path;

use crate::container::model::ContainerConfig;

/// One passwd line's fields we look at.
struct Account {
    name: String,
    uid: String,
}

fn accounts(text: &str) -> Vec<Account> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 3).then(|| Account {
                name: f[0].to_string(),
                uid: f[2].to_string(),
            })
        })
        .collect()
}

/// (name, gid, members) of each group line.
fn groups(text: &str) -> Vec<(String, String, Vec<String>)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 3).then(|| {
                (
                    f[0].to_string(),
                    f[2].to_string(),
                    f.get(3)
                        .map(|m| {
                            m.split(',')
                                .filter(|s| !s.is_empty())
                                .map(String::from)
                                .collect()
                        })
                        .unwrap_or_default(),
                )
            })
        })
        .collect()
}

fn template(t: &str, vars: &[(&str, &str)]) -> String {
    let mut s = t.to_string();
    for (k, v) in vars {
        s = s.replace(k, v);
    }
    s + "\n"
}

/// What is appended to passwd and group for `cfg`, given the image's files.
pub fn entries(
    cfg: &ContainerConfig,
    passwd: &str,
    group: &str,
) -> anyhow::Result<(String, String)> {
    let x = &cfg.extra;
    let known = accounts(passwd);
    let in_image = |n: &str| known.iter().any(|a| a.name == n || a.uid == n);
    let workdir = if cfg.working_dir.is_empty() {
        "/"
    } else {
        cfg.working_dir.as_str()
    };
    let mut pw = String::new();
    for h in &x.host_users {
        let found = match h.parse::<u32>() {
            Ok(uid) => nix::unistd::User::from_uid(uid.into()),
            Err(_) => nix::unistd::User::from_name(h),
        }
        .map_err(|e| anyhow::anyhow!("looking up host user {h}: {e}"))?;
        let u = found.ok_or_else(|| anyhow::anyhow!("user: unknown user {h}"))?;
        let (uid, gid) = (u.uid.to_string(), u.gid.to_string());
        if in_image(&u.name) || in_image(&uid) {
            continue;
        }
        let gecos = u.gecos.to_string_lossy().into_owned();
        let home_text = u.dir.display().to_string();
        // The account's home when something is mounted there, else the
        // working directory.
        let home = if cfg
            .mounts
            .iter()
            .any(|m| Path::new(&home_text).starts_with(&m.destination) && m.destination != "/")
        {
            home_text.as_str()
        } else {
            workdir
        };
        pw += &if x.passwd_entry.is_empty() {
            format!("{}:*:{uid}:{gid}:{gecos}:{home}:/bin/sh\n", u.name)
        } else {
            template(
                &x.passwd_entry,
                &[
                    ("$USERNAME", &u.name),
                    ("$UID", &uid),
                    ("$GID", &gid),
                    ("$NAME", &gecos),
                    ("$HOME", home),
                ],
            )
        };
    }
    let (user, group_spec) = match cfg.user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (cfg.user.as_str(), None),
    };
    let image_groups = groups(group);
    if let Ok(uid) = user.parse::<u32>() {
        let added = accounts(&pw).iter().any(|a| a.uid == user);
        if !in_image(user) && !added {
            let gid = match group_spec {
                None | Some("") => "0".to_string(),
                Some(g) if g.parse::<u32>().is_ok() => g.to_string(),
                Some(g) => image_groups
                    .iter()
                    .find(|(n, _, _)| n == g)
                    .map(|(_, id, _)| id.clone())
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "unable to get gid {g} from group file: no matching entries in group file"
                        )
                    })?,
            };
            let uid_s = uid.to_string();
            pw += &if !x.passwd_entry.is_empty() {
                template(
                    &x.passwd_entry,
                    &[
                        ("$USERNAME", &uid_s),
                        ("$UID", &uid_s),
                        ("$GID", &gid),
                        ("$NAME", "container user"),
                        ("$HOME", workdir),
                    ],
                )
            } else {
                match nix::unistd::User::from_uid(uid.into()).ok().flatten() {
                    Some(h) => format!(
                        "{}:*:{uid}:{gid}:{}:{workdir}:/bin/sh\n",
                        h.name,
                        h.gecos.to_string_lossy()
                    ),
                    None => format!("{uid}:*:{uid}:{gid}:container user:{workdir}:/bin/sh\n"),
                }
            };
        }
    }
    // The group of `--user UID:GID` when the image has none of that GID.
    let mut gr = String::new();
    if !cfg.user.is_empty() || !x.group_entry.is_empty() {
        let g = group_spec.unwrap_or("0");
        if g.parse::<u32>().is_ok() && !image_groups.iter().any(|(n, id, _)| n == g || id == g) {
            gr = if x.group_entry.is_empty() {
                format!("{g}:x:{g}:{user}\n")
            } else {
                template(
                    &x.group_entry,
                    &[("$GROUPNAME", g), ("$GID", g), ("$USERLIST", user)],
                )
            };
        }
    }
    Ok((pw, gr))
}

/// Append `text` to `rel` (`etc/passwd`) inside `rootfs`: the directory is
/// resolved inside the root, the file opened without following a link,
/// and only a regular file is written.
fn append_in_root(rootfs: &Path, rel: &str, text: &str) -> anyhow::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let root = common::in_root::open_dir(rootfs)?;
    let dir_fd = common::in_root::mkdir_all_in_root(root.as_fd(), Path::new(dir))?;
    // The directory's descriptor names it exactly; only `name` is looked
    // up, without following a link.
    let path = format!("/proc/self/fd/{}/{name}", dir_fd.as_raw_fd());
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("opening /{rel} in the container: {e}"))?;
    if !f.metadata()?.is_file() {
        anyhow::bail!(
            "/{rel} in the container is not a regular file: cannot add the container user to it"
        );
    }
    f.write_all(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("appending to /{rel} in the container: {e}"))?;
    Ok(())
}

/// Add what [`entries`] gives to the container's root, unless a mount
/// covers the file.
pub fn add(cfg: &ContainerConfig, rootfs: &Path) -> anyhow::Result<()> {
    let x = &cfg.extra;
    if x.no_passwd || (cfg.user.is_empty() && x.host_users.is_empty() && x.group_entry.is_empty()) {
        return Ok(());
    }
    let mounted = |d: &str| cfg.mounts.iter().any(|m| m.destination == d);
    // Read as the user lookup reads them: a file that cannot be read safely
    // is an error naming the user when a name must be found in it, and
    // empty for numeric ids.
    // With no user named (only --hostuser or --group-entry) nothing must
    // be found: an unreadable file counts as empty, as for a numeric id.
    let (user, group_name) = cfg.user.split_once(':').unwrap_or((cfg.user.as_str(), ""));
    let user = if user.is_empty() { "0" } else { user };
    let group_name = if group_name.is_empty() {
        user
    } else {
        group_name
    };
    let passwd = crate::spec::user::read(rootfs, "etc/passwd", "user", user)?;
    let group = crate::spec::user::read(rootfs, "etc/group", "group", group_name)?;
    let (pw, gr) = entries(cfg, &passwd, &group)?;
    // Entries only a numeric --user implies are a convenience (the runtime
    // needs none): an image whose file cannot take them (a link, a device)
    // still runs. Asked-for ones (--hostuser, --passwd-entry,
    // --group-entry) must be written.
    let asked = !x.host_users.is_empty() || !x.passwd_entry.is_empty() || !x.group_entry.is_empty();
    for (dest, rel, text) in [
        ("/etc/passwd", "etc/passwd", &pw),
        ("/etc/group", "etc/group", &gr),
    ] {
        if text.is_empty() || mounted(dest) {
            continue;
        }
        match append_in_root(rootfs, rel, text) {
            Err(e) if !asked => {
                tracing::debug!(file = dest, error = %e, "not adding the container user's entry");
            }
            r => r?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(user: &str) -> ContainerConfig {
        ContainerConfig {
            user: user.into(),
            working_dir: "/work".into(),
            ..Default::default()
        }
    }

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nusers:x:100:\n";

    #[test]
    fn numeric_users_the_image_lacks_get_entries() {
        let (pw, gr) = entries(&cfg("4242:100"), PASSWD, GROUP).unwrap();
        if nix::unistd::User::from_uid(4242.into())
            .ok()
            .flatten()
            .is_none()
        {
            assert_eq!(pw, "4242:*:4242:100:container user:/work:/bin/sh\n");
        }
        assert_eq!(gr, "");
        let (pw, gr) = entries(&cfg("0"), PASSWD, GROUP).unwrap();
        assert_eq!((pw.as_str(), gr.as_str()), ("", ""));
        let (_, gr) = entries(&cfg("4242:4343"), PASSWD, GROUP).unwrap();
        assert_eq!(gr, "4343:x:4343:4242\n");
        let mut c = cfg("4242:4343");
        c.extra.passwd_entry = "$USERNAME:x:$UID:$GID:$NAME:$HOME:/bin/false".into();
        c.extra.group_entry = "grp:x:$GID:$USERLIST".into();
        let (pw, gr) = entries(&c, PASSWD, GROUP).unwrap();
        assert_eq!(pw, "4242:x:4242:4343:container user:/work:/bin/false\n");
        assert_eq!(gr, "grp:x:4343:4242\n");
        assert!(entries(&cfg("4242:nogroup"), PASSWD, GROUP)
            .unwrap_err()
            .to_string()
            .contains("no matching entries in group file"));
        // Names are the image's business.
        assert_eq!(entries(&cfg("someone"), PASSWD, GROUP).unwrap().0, "");
    }

    #[test]
    fn host_users_are_copied_unless_the_image_has_them() {
        let mut c = cfg("");
        c.extra.host_users = vec!["root".into()];
        assert_eq!(entries(&c, PASSWD, GROUP).unwrap().0, "");
        c.extra.host_users = vec!["no-such-host-user-x".into()];
        assert!(entries(&c, PASSWD, GROUP)
            .unwrap_err()
            .to_string()
            .contains("unknown user"));
        let (pw, _) = entries(&c_with_host("root"), "", GROUP).unwrap();
        assert!(pw.starts_with("root:*:0:0:"), "{pw}");
    }

    fn c_with_host(h: &str) -> ContainerConfig {
        let mut c = cfg("");
        c.extra.host_users = vec![h.into()];
        c
    }
}
