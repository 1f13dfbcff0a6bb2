//! Podman's `psReporter`: the fields a `--format` template or table sees,
//! their headers, and the rendering of rows.

use serde_json::{json, Value};

use super::entry::{go_time, ports_text, Entry};
use super::PsArgs;
use crate::format::gotemplate::{self, Data};
use crate::format::report::{label_field, rewrite_label_calls};
use crate::format::{human, tabwriter};

impl Entry {
    /// The fields a `--format` template (and a table) sees, named as
    /// Podman's psReporter has them.
    pub(super) fn template_row(&self, no_trunc: bool, labels: &[String], want: &Fields) -> Value {
        let short = |s: &str| {
            if no_trunc {
                s.to_string()
            } else {
                s.chars().take(12).collect()
            }
        };
        let ns = &self.namespaces;
        let mut row = serde_json::Map::new();
        // Only the fields the template names are computed (ps -a of many
        // containers with the default table stays cheap).
        let mut put = |key: &str, v: &dyn Fn() -> Value| {
            if want.has(key) {
                row.insert(key.to_string(), v());
            }
        };
        put("AutoRemove", &|| json!(self.auto_remove));
        put("CIDFile", &|| json!(self.cid_file));
        put("Command", &|| {
            let mut command = self.command_line();
            if !no_trunc && command.len() > 17 {
                let mut cut = 17;
                while !command.is_char_boundary(cut) {
                    cut -= 1;
                }
                command = format!("{}...", &command[..cut]);
            }
            json!(command)
        });
        put("Created", &|| json!(go_time(self.created_ns)));
        put("CreatedAt", &|| json!(go_time(self.created_ns)));
        put("CreatedHuman", &|| json!(self.created_human()));
        put("RunningFor", &|| json!(self.created_human()));
        put("ExitCode", &|| json!(self.exit_code));
        put("Exited", &|| json!(self.exited));
        put("ExitedAt", &|| json!(self.exited_at));
        put("ExposedPorts", &|| {
            json!(self.exposed_ports.clone().unwrap_or_default())
        });
        put("ID", &|| json!(short(&self.id)));
        put("Image", &|| json!(self.image));
        put("ImageID", &|| json!(short(&self.image_id)));
        put("IsInfra", &|| json!(self.is_infra));
        put("Labels", &|| {
            json!(crate::format::report::format_labels(
                self.labels.iter().flatten()
            ))
        });
        put("Mounts", &|| json!(self.mounts));
        put("Names", &|| {
            json!(self.names.first().cloned().unwrap_or_default())
        });
        put("Namespaces", &|| {
            json!({"Cgroup": ns.cgroup, "IPC": ns.ipc, "MNT": ns.mnt, "NET": ns.net,
                   "PIDNS": ns.pidns, "User": ns.user, "UTS": ns.uts})
        });
        put("Networks", &|| json!(self.networks.join(",")));
        put("Pid", &|| json!(self.pid));
        put("Pod", &|| json!(short(&self.pod)));
        put("PodName", &|| json!(self.pod_name));
        put("Ports", &|| {
            json!(ports_text(&self.port_specs, self.exposed_ports.as_ref()))
        });
        put("Restarts", &|| json!(self.restarts.to_string()));
        put("Size", &|| {
            json!(match self.size {
                Some(s) => format!(
                    "{} (virtual {})",
                    human::size(s.rw.max(0) as u64),
                    human::size(s.root_fs.max(0) as u64)
                ),
                None => String::new(),
            })
        });
        put("StartedAt", &|| json!(self.started_at));
        put("State", &|| json!(self.state));
        put("Status", &|| json!(self.status_text()));
        put("Cgroup", &|| json!(ns.cgroup));
        put("CGROUPNS", &|| json!(ns.cgroup));
        put("IPC", &|| json!(ns.ipc));
        put("MNT", &|| json!(ns.mnt));
        put("NET", &|| json!(ns.net));
        put("PIDNS", &|| json!(ns.pidns));
        put("User", &|| json!(ns.user));
        put("USERNS", &|| json!(ns.user));
        put("UTS", &|| json!(ns.uts));
        for (i, key) in labels.iter().enumerate() {
            let v = self
                .labels
                .as_ref()
                .and_then(|l| l.get(key))
                .cloned()
                .unwrap_or_default();
            row.insert(label_field(i), json!(v));
        }
        Value::Object(row)
    }
}

/// The top-level fields a template names (`.Field`), or all of them when
/// it uses the row itself (`{{json .}}`, `$`).
pub struct Fields(Option<std::collections::HashSet<String>>);

impl Fields {
    pub(super) fn all() -> Fields {
        Fields(None)
    }

    pub(super) fn of(template: &str) -> Fields {
        let mut names = std::collections::HashSet::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start..].find("}}") else {
                return Fields::all();
            };
            let action = &rest[start + 2..start + len];
            if action.contains('$') {
                return Fields::all();
            }
            let b = action.as_bytes();
            for (i, &c) in b.iter().enumerate() {
                if c != b'.' || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) {
                    continue;
                }
                let ident: String = action[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if ident.is_empty() {
                    if !b.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                        // The row itself.
                        return Fields::all();
                    }
                } else {
                    names.insert(ident);
                }
            }
            rest = &rest[start + len + 2..];
        }
        Fields(Some(names))
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.0.as_ref().is_none_or(|s| s.contains(key))
    }
}

/// Column headers of psReporter's fields (report.Headers with ps's
/// overrides).
fn header_row(labels: usize) -> Value {
    let mut h = json!({
        "AutoRemove": "AUTO REMOVE", "CIDFile": "CID FILE", "Command": "COMMAND",
        "Created": "CREATED", "CreatedAt": "CREATED AT", "CreatedHuman": "CREATED",
        "ExitCode": "EXIT CODE", "Exited": "EXITED", "ExitedAt": "EXITED AT",
        "ExposedPorts": "EXPOSED PORTS", "ID": "CONTAINER ID", "Image": "IMAGE",
        "ImageID": "IMAGE ID", "IsInfra": "IS INFRA", "Labels": "LABELS", "Mounts": "MOUNTS",
        "Names": "NAMES", "Namespaces": "NAMESPACES", "Networks": "NETWORKS", "Pid": "PID",
        "Pod": "POD ID", "PodName": "PODNAME", "Ports": "PORTS", "Restarts": "RESTARTS",
        "RunningFor": "RUNNING FOR", "Size": "SIZE", "StartedAt": "STARTED AT",
        "State": "STATE", "Status": "STATUS",
        "Cgroup": "CGROUPNS", "CGROUPNS": "CGROUPNS", "IPC": "IPC", "MNT": "MNT", "NET": "NET",
        "PIDNS": "PIDNS", "User": "USERNS", "USERNS": "USERNS", "UTS": "UTS",
    });
    for i in 0..labels {
        h[label_field(i)] = json!("LABEL");
    }
    h
}

/// report's NormalizeFormat for a `table ` format: spaces separate columns.
fn normalize_table(body: &str) -> String {
    body.replace("\\t", "\t")
        .replace(' ', "\t")
        .replace("\\n", "\n")
}

/// Headers the simple way, for templates the header row cannot execute:
/// each action becomes its field's header.
fn plain_headers(body: &str, headers: &Value) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let inner =
            rest[start + 2..start + end].trim_matches(|c: char| c == '-' || c.is_whitespace());
        let field = inner
            .split_whitespace()
            .find(|w| w.starts_with('.'))
            .unwrap_or(inner)
            .trim_start_matches('.');
        out.push_str(
            headers
                .get(field)
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| field.to_ascii_uppercase())
                .as_str(),
        );
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// What to print: the template (rows then headers) and whether it is a
/// table.
pub(super) struct Output {
    template: gotemplate::Template,
    body: String,
    table: bool,
    headers: bool,
    labels: Vec<String>,
    fields: Fields,
    no_trunc: bool,
}

impl Output {
    pub(super) fn new(a: &PsArgs, with_pod: bool) -> anyhow::Result<Output> {
        let default = a.format.as_deref().is_none_or(|f| f.trim() == "table");
        let (format, table, mut headers) = if default {
            let row = if a.ns {
                "{{.ID}}\t{{.Names}}\t{{.Pid}}\t{{.Namespaces.Cgroup}}\t{{.Namespaces.IPC}}\t{{.Namespaces.MNT}}\t{{.Namespaces.NET}}\t{{.Namespaces.PIDNS}}\t{{.Namespaces.User}}\t{{.Namespaces.UTS}}".to_string()
            } else {
                let mut r = "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}".to_string();
                if with_pod {
                    r.push_str("\t{{.Pod}}\t{{.PodName}}");
                }
                if a.size {
                    r.push_str("\t{{.Size}}");
                }
                r
            };
            (row, true, true)
        } else {
            let f = a.format.clone().unwrap_or_default();
            match f.strip_prefix("table ") {
                Some(body) => (body.to_string(), true, true),
                None => (f, false, false),
            }
        };
        if a.noheading {
            headers = false;
        }
        let format = format.replace(".Namespaces.", ".");
        let (format, labels) = rewrite_label_calls(&format);
        let body = if table && !default {
            normalize_table(&format)
        } else {
            format.replace("\\t", "\t").replace("\\n", "\n")
        };
        let body = body.trim_end_matches('\n').to_string();
        Ok(Output {
            template: gotemplate::Template::new("ps", &body)?
                .with_root_type("containers.psReporter"),
            fields: Fields::of(&body),
            body,
            table,
            headers,
            labels,
            no_trunc: a.no_trunc,
        })
    }

    pub(super) fn render(&self, entries: &[Entry]) -> anyhow::Result<String> {
        // Each row is one execution: the output of each ends with a newline.
        fn line(mut s: String) -> String {
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
        let mut text = String::new();
        if self.headers {
            let h = [header_row(self.labels.len())];
            let header = match self.template.execute(Data::MapRows(&h)) {
                Ok(s) => line(s),
                Err(_) => plain_headers(&self.body, &h[0]) + "\n",
            };
            text.push_str(&header);
        }
        for e in entries {
            let row = e.template_row(self.no_trunc, &self.labels, &self.fields);
            text.push_str(&line(self.template.execute(Data::One(&row))?));
        }
        Ok(if self.table {
            tabwriter::tabwrite(&text, 12, 2, b' ')
        } else {
            text
        })
    }
}
