//! Kubernetes resource quantities ("128Mi", "500m").

use super::KubeError;

/// A Kubernetes memory quantity in bytes ("128Mi", "1G", "1e6", "512").
pub(super) fn memory(v: &serde_yaml_ng::Value) -> Result<u64, KubeError> {
    let s = quantity_text(v);
    let bad = || KubeError::Invalid {
        what: "memory quantity",
        value: s.clone(),
        why: "use a number with an optional suffix Ki, Mi, Gi, Ti, k, M, G or T".into(),
    };
    let split = s
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        u if u.starts_with('e') => 10f64.powi(u[1..].parse().map_err(|_| bad())?),
        _ => return Err(bad()),
    };
    Ok((n * mult).round() as u64)
}

/// A Kubernetes CPU quantity in thousandths of a CPU ("500m", "2", "0.5").
pub(super) fn millicpu(v: &serde_yaml_ng::Value) -> Result<u64, KubeError> {
    let s = quantity_text(v);
    let parsed = match s.strip_suffix('m') {
        Some(m) => m.parse::<u64>().ok(),
        None => s
            .parse::<f64>()
            .ok()
            .filter(|f| *f >= 0.0)
            .map(|f| (f * 1000.0).round() as u64),
    };
    parsed.ok_or_else(|| KubeError::Invalid {
        what: "cpu quantity",
        value: s.clone(),
        why: "use a number of CPUs (0.5) or millicores (500m)".into(),
    })
}

fn quantity_text(v: &serde_yaml_ng::Value) -> String {
    match v {
        serde_yaml_ng::Value::String(s) => s.trim().to_string(),
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}
