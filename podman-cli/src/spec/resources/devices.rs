//! Device-node and cpuset arguments of the resource flags.

use super::ResourceError;
use crate::container::model::{DeviceRate, DeviceWeight};

/// A cpuset list ("0-2,4") as its members; None when malformed.
pub(super) fn cpu_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if b < a {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

/// A block device's major and minor numbers (Podman's statBlkDev).
fn block_device(path: &str) -> Result<(i64, i64), ResourceError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let md = std::fs::metadata(path)
        .map_err(|e| ResourceError::Device(format!("could not parse device {path}: {e}")))?;
    if !md.file_type().is_block_device() {
        return Err(ResourceError::Device(format!("{path}: not a block device")));
    }
    let rdev = md.rdev();
    Ok((
        nix::sys::stat::major(rdev) as i64,
        nix::sys::stat::minor(rdev) as i64,
    ))
}

fn device_path(spec: &str) -> Result<(&str, &str), ResourceError> {
    let (path, val) = spec
        .split_once(':')
        .ok_or_else(|| ResourceError::Device(format!("bad format: {spec}")))?;
    if !path.starts_with("/dev/") {
        return Err(ResourceError::Device(format!(
            "bad format for device path: {spec}"
        )));
    }
    Ok((path, val))
}

/// `--blkio-weight-device /dev/sda:200` (Podman's parseWeightDevices).
pub(super) fn weight_device(spec: &str) -> Result<DeviceWeight, ResourceError> {
    let (path, val) = device_path(spec)?;
    let bad = || ResourceError::Device(format!("invalid weight for device: {spec}"));
    let weight: u64 = val.parse().map_err(|_| bad())?;
    if weight > 0 && !(10..=1000).contains(&weight) {
        return Err(bad());
    }
    let (major, minor) = block_device(path)
        .map_err(|e| ResourceError::Device(format!("bad --blkio-weight-device: {e}")))?;
    Ok(DeviceWeight {
        path: path.into(),
        major,
        minor,
        weight: weight as u16,
    })
}

/// `--device-read-bps /dev/sda:1mb`, `--device-read-iops /dev/sda:1000`.
pub(super) fn throttle_device(spec: &str, iops: bool) -> Result<DeviceRate, ResourceError> {
    let (path, val) = device_path(spec)?;
    let rate = if iops {
        val.parse::<u64>().map_err(|_| ResourceError::Device(format!("invalid rate for device: {spec}. The correct format is <device-path>:<number>. Number must be a positive integer")))?
    } else {
        common::units::ram_in_bytes(val).map(|n| n as u64).map_err(|_| ResourceError::Device(format!("invalid rate for device: {spec}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb")))?
    };
    let (major, minor) = block_device(path)?;
    Ok(DeviceRate {
        path: path.into(),
        major,
        minor,
        rate,
    })
}
