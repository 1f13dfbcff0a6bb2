//! The limits in the OCI spec and in inspect's HostConfig.

use serde_json::{json, Value};

use crate::container::model::{DeviceRate, Resources};

/// Add the limits to the spec's `linux.resources`.
pub fn apply(r: &Resources, resources: &mut Value) {
    let mut memory = serde_json::Map::new();
    if let Some(m) = r.memory {
        memory.insert("limit".into(), json!(m));
    }
    if let Some(m) = r.memory_reservation {
        memory.insert("reservation".into(), json!(m));
    }
    if let Some(m) = r.memory_swap {
        memory.insert("swap".into(), json!(m));
    }
    if let Some(s) = r.memory_swappiness {
        memory.insert("swappiness".into(), json!(s));
    }
    if r.oom_kill_disable {
        memory.insert("disableOOMKiller".into(), json!(true));
    }
    if !memory.is_empty() {
        resources["memory"] = Value::Object(memory);
    }
    let mut cpu = serde_json::Map::new();
    let fields: [(&str, Option<Value>); 5] = [
        ("shares", r.cpu_shares.map(|v| json!(v))),
        ("period", r.cpu_period.map(|v| json!(v))),
        ("quota", r.cpu_quota.map(|v| json!(v))),
        ("realtimePeriod", r.cpu_rt_period.map(|v| json!(v))),
        ("realtimeRuntime", r.cpu_rt_runtime.map(|v| json!(v))),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            cpu.insert(k.into(), v);
        }
    }
    if !r.cpuset_cpus.is_empty() {
        cpu.insert("cpus".into(), json!(r.cpuset_cpus));
    }
    if !r.cpuset_mems.is_empty() {
        cpu.insert("mems".into(), json!(r.cpuset_mems));
    }
    if !cpu.is_empty() {
        resources["cpu"] = Value::Object(cpu);
    }
    let mut io = serde_json::Map::new();
    if let Some(w) = r.blkio_weight {
        io.insert("weight".into(), json!(w));
    }
    if !r.blkio_weight_device.is_empty() {
        io.insert(
            "weightDevice".into(),
            json!(r
                .blkio_weight_device
                .iter()
                .map(|d| json!({"major": d.major, "minor": d.minor, "weight": d.weight}))
                .collect::<Vec<_>>()),
        );
    }
    for (key, list) in [
        ("throttleReadBpsDevice", &r.throttle_read_bps),
        ("throttleWriteBpsDevice", &r.throttle_write_bps),
        ("throttleReadIOPSDevice", &r.throttle_read_iops),
        ("throttleWriteIOPSDevice", &r.throttle_write_iops),
    ] {
        if !list.is_empty() {
            io.insert(
                key.into(),
                json!(list
                    .iter()
                    .map(|d| json!({"major": d.major, "minor": d.minor, "rate": d.rate}))
                    .collect::<Vec<_>>()),
            );
        }
    }
    if !io.is_empty() {
        resources["blockIO"] = Value::Object(io);
    }
}

/// Inspect's `HostConfig` resource fields, as libpod reads them back from
/// the spec.
pub fn inspect_fields(r: &Resources, host_config: &mut Value) {
    let rates = |l: &[DeviceRate]| {
        l.iter()
            .map(|d| json!({"Path": d.path, "Rate": d.rate}))
            .collect::<Vec<_>>()
    };
    let fields = json!({
        "Memory": r.memory.unwrap_or(0),
        "MemoryReservation": r.memory_reservation.unwrap_or(0),
        "MemorySwap": r.memory_swap.unwrap_or(0),
        "MemorySwappiness": r.memory_swappiness.map(|s| s as i64).unwrap_or(-1),
        "OomKillDisable": r.oom_kill_disable,
        "KernelMemory": 0,
        "CpuShares": r.cpu_shares.unwrap_or(0),
        "CpuPeriod": r.cpu_period.unwrap_or(0),
        "CpuQuota": r.cpu_quota.unwrap_or(0),
        "NanoCpus": if r.cpu_period == Some(100_000) { 10_000 * r.cpu_quota.unwrap_or(0) } else { 0 },
        "CpuRealtimePeriod": r.cpu_rt_period.unwrap_or(0),
        "CpuRealtimeRuntime": r.cpu_rt_runtime.unwrap_or(0),
        "CpusetCpus": r.cpuset_cpus,
        "CpusetMems": r.cpuset_mems,
        "BlkioWeight": r.blkio_weight.unwrap_or(0),
        "BlkioWeightDevice": r.blkio_weight_device.iter().map(|d| json!({"Path": d.path, "Weight": d.weight})).collect::<Vec<_>>(),
        "BlkioDeviceReadBps": rates(&r.throttle_read_bps),
        "BlkioDeviceWriteBps": rates(&r.throttle_write_bps),
        "BlkioDeviceReadIOps": rates(&r.throttle_read_iops),
        "BlkioDeviceWriteIOps": rates(&r.throttle_write_iops),
    });
    if let (Some(hc), Value::Object(f)) = (host_config.as_object_mut(), fields) {
        hc.extend(f);
    }
}
