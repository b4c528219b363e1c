//! The signals the rules read, made pure: networks (CIDR), the fingerprint of a CDDC
//! document, and distances between places.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::CoreError;

/// `a.b.c.d/n` or `x::/n` (a bare address is a /32 or /128).
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (a, n) = text.split_once('/').unwrap_or((text, if text.contains(':') { "128" } else { "32" }));
    let ip: IpAddr = a.trim().parse().ok()?;
    let n: u8 = n.trim().parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (n <= max).then_some((ip, n))
}

/// Whether `ip` is in the network.
pub fn in_cidr(ip: IpAddr, net: (IpAddr, u8)) -> bool {
    match (ip, net.0) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if net.1 == 0 { 0 } else { u32::MAX << (32 - u32::from(net.1)) };
            (u32::from(a) & mask) == (u32::from(b) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if net.1 == 0 { 0 } else { u128::MAX << (128 - u32::from(net.1)) };
            (u128::from(a) & mask) == (u128::from(b) & mask)
        }
        _ => false,
    }
}

/// CDDC attributes that change between visits and are left out of the fingerprint.
const VOLATILE: [&str; 6] = ["timestamp", "time", "nonce", "sessionID", "ipAddress", "batteryLevel"];

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Check a CDDC document and return its fingerprint.
pub fn fingerprint(cddc: &Value) -> Result<String, CoreError> {
    let obj =
        cddc.as_object().ok_or_else(|| CoreError::invalid("cddc", "cddc is a JSON object of browser attributes"))?;
    if obj.len() > 64 || cddc.to_string().len() > 16 * 1024 {
        return Err(CoreError::invalid("cddc", "cddc holds at most 64 attributes and 16 KiB"));
    }
    let stable: serde_json::Map<String, Value> =
        obj.iter().filter(|(k, _)| !VOLATILE.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut text = String::new();
    canonical(&Value::Object(stable), &mut text);
    Ok(hex::encode(&Sha256::digest(text.as_bytes())[..16]))
}

/// Great-circle distance in km.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}
