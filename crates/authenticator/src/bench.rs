//! What the two benchmark drivers share (`countersign-load` and `countersign-compare`,
//! each includes this file): JSON calls, RFC 4226 codes, and the memory of a process.

// Each driver uses part of it.
#![allow(dead_code)]

use hmac::{Hmac, Mac};
use serde_json::Value;

/// A driver's result: an error is a message for the operator.
pub type Res<T> = Result<T, String>;

/// The credential of a call.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// None.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// This `Authorization` value as it is (privacyIDEA's JWT).
    Header(&'a str),
}

/// Send a JSON call; the status and the body as JSON (`null` when it is not).
pub async fn call(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    auth: Auth<'_>,
    body: Option<Value>,
) -> Res<(u16, Value)> {
    let m = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let mut r = http.request(m, url);
    match auth {
        Auth::None => {}
        Auth::Bearer(t) => r = r.bearer_auth(t),
        Auth::Header(h) => r = r.header(reqwest::header::AUTHORIZATION, h),
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = resp.status().as_u16();
    let v = resp.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, v))
}

/// [`call`], an error unless the status is 2xx.
pub async fn must(http: &reqwest::Client, method: &str, url: &str, auth: Auth<'_>, body: Option<Value>) -> Res<Value> {
    let (s, v) = call(http, method, url, auth, body).await?;
    if !(200..300).contains(&s) {
        return Err(format!("{method} {url}: {s} {v}"));
    }
    Ok(v)
}

/// RFC 4226 HOTP, six digits.
pub fn hotp(seed: &[u8], counter: u64) -> String {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(seed) else { return String::new() };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = usize::from(h[19] & 0x0f);
    let bin = (u32::from(h[off]) & 0x7f) << 24
        | u32::from(h[off + 1]) << 16
        | u32::from(h[off + 2]) << 8
        | u32::from(h[off + 3]);
    format!("{:06}", bin % 1_000_000)
}

/// Resident memory of process `pid` (`VmRSS` of `/proc/<pid>/status`), KiB.
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    /// RFC 4226, Appendix D: the first codes of the test secret.
    #[test]
    fn hotp_matches_the_rfc_4226_vectors() {
        let seed = b"12345678901234567890";
        let want = ["755224", "287082", "359152", "969429", "338314"];
        for (counter, code) in want.iter().enumerate() {
            assert_eq!(super::hotp(seed, counter as u64), *code);
        }
    }
}
