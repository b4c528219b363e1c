//! Duo's request signatures (docs/duo.md, "Signatures"): HTTP Basic with the integration
//! key as user name and, as password, the hex HMAC of a canonical form of the request
//! under the secret key.
//!
//! - **v2** (HMAC-SHA1): `Date`, method, host, path, canonical parameters, one per line.
//! - **v5** (HMAC-SHA512): `Date` (or `X-Duo-Date`), method, host, path, canonical query
//!   parameters, SHA-512 of the body, SHA-512 of the `X-Duo-*` headers.
//! - **legacy** (HMAC-SHA1, Duo Unix 1.x): method, host, path, parameters — no date, so
//!   accepted only where the integration allows it.
//!
//! Dates must be within [`DATE_WINDOW_SECONDS`] of the server's clock.

use axum::http::{HeaderMap, Method};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

/// How far a request's date may be from now.
pub const DATE_WINDOW_SECONDS: i64 = 300;

/// Why a request's credentials are refused (Duo's codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// 40101: no or unreadable `Authorization`.
    Missing,
    /// 40102: no integration has this key.
    UnknownKey,
    /// 40103: the signature does not match.
    BadSignature,
    /// 40104: a signed request without `Date`.
    MissingDate,
    /// 40105: `Date` unreadable or outside the window.
    BadDate,
}

impl Refused {
    /// Duo's code and message.
    pub fn code(self) -> (u32, &'static str) {
        match self {
            Refused::Missing => (40101, "Missing request credentials"),
            Refused::UnknownKey => (40102, "Invalid integration key in request credentials"),
            Refused::BadSignature => (40103, "Invalid signature in request credentials"),
            Refused::MissingDate => (40104, "Missing request date"),
            Refused::BadDate => (40105, "Request date is out of range or unreadable"),
        }
    }
}

/// The integration key and signature of `Authorization: Basic …`.
pub fn credentials(headers: &HeaderMap) -> Result<(String, String), Refused> {
    let value = headers.get("authorization").and_then(|v| v.to_str().ok()).ok_or(Refused::Missing)?;
    let b64 = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")).ok_or(Refused::Missing)?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|_| Refused::Missing)?;
    let text = String::from_utf8(raw).map_err(|_| Refused::Missing)?;
    let (ikey, sig) = text.split_once(':').ok_or(Refused::Missing)?;
    if ikey.is_empty() || ikey.len() > 64 || sig.is_empty() || sig.len() > 256 {
        return Err(Refused::Missing);
    }
    Ok((ikey.to_owned(), sig.to_ascii_lowercase()))
}

/// `k=v` pairs percent-encoded the way Duo (and OAuth 1.0) canonicalises them, sorted by
/// key then value, joined with `&`.
pub fn canonical_params(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Seconds since the epoch of an RFC 2822 / HTTP date: `Sat, 05 Dec 2026 21:30:00 GMT`
/// (or `-0000`, `+0100` …; the weekday is optional).
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.split_once(',').map_or(s, |(_, rest)| rest).trim();
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [day, month, year, time, zone] = parts.as_slice() else { return None };
    let day: i64 = day.parse().ok()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month))? as i64
        + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, sec] = hms.as_slice() else { return None };
    if !(1..=31).contains(&day) || !(1970..=9999).contains(&year) || *h > 23 || *m > 59 || *sec > 60 {
        return None;
    }
    let offset = match *zone {
        "GMT" | "UT" | "UTC" | "Z" => 0,
        z if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
            let hh: i64 = z[1..3].parse().ok()?;
            let mm: i64 = z[3..5].parse().ok()?;
            let o = hh * 3600 + mm * 60;
            if z.starts_with('-') { -o } else { o }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, mo) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + sec - offset)
}

/// What a request is, for checking its signature.
pub struct Request<'a> {
    /// The method.
    pub method: &'a Method,
    /// The `Host` the client addressed (with its port, if it sent one).
    pub host: &'a str,
    /// The path.
    pub path: &'a str,
    /// Parameters from the query string.
    pub query: &'a [(String, String)],
    /// Parameters from a form body.
    pub form: &'a [(String, String)],
    /// The body as received.
    pub body: &'a [u8],
    /// The headers.
    pub headers: &'a HeaderMap,
}

/// Check `sig` for `req` under `skey`; `legacy` allows Duo Unix 1.x's undated form.
pub fn verify(req: &Request<'_>, sig: &str, skey: &str, legacy: bool, now: i64) -> Result<(), Refused> {
    let host = req.host.to_ascii_lowercase();
    // Clients sign the host as they were configured with it: with or without its port.
    let mut hosts: Vec<&str> = vec![host.as_str()];
    if let Some((h, port)) = host.rsplit_once(':')
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && (!h.contains(':') || h.ends_with(']'))
    {
        hosts.push(h);
    }
    let method = req.method.as_str().to_ascii_uppercase();
    let mut params: Vec<(String, String)> = req.query.to_vec();
    params.extend(req.form.iter().cloned());
    let all_params = canonical_params(&params);
    let date = ["x-duo-date", "date"]
        .iter()
        .find_map(|h| req.headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(str::to_owned);
    let matches = |algo: Algo, canon: &str| bool::from(algo.hex(skey, canon).as_bytes().ct_eq(sig.as_bytes()));
    let check_date = |d: &str| -> Result<(), Refused> {
        let t = parse_date(d).ok_or(Refused::BadDate)?;
        if (t - now).abs() > DATE_WINDOW_SECONDS { Err(Refused::BadDate) } else { Ok(()) }
    };
    match (sig.len(), date) {
        (128, Some(d)) => {
            check_date(&d)?;
            let body = hex::encode(Sha512::digest(req.body));
            for duo_headers in x_duo_header_sets(req.headers) {
                let hdrs = hex::encode(Sha512::digest(duo_headers.as_bytes()));
                for h in &hosts {
                    let canon =
                        [d.as_str(), &method, h, req.path, &canonical_params(req.query), &body, &hdrs].join("\n");
                    if matches(Algo::Sha512, &canon) {
                        return Ok(());
                    }
                }
            }
            Err(Refused::BadSignature)
        }
        (40, Some(d)) => {
            check_date(&d)?;
            for h in &hosts {
                let canon = [d.as_str(), &method, h, req.path, &all_params].join("\n");
                if matches(Algo::Sha1, &canon) {
                    return Ok(());
                }
            }
            Err(Refused::BadSignature)
        }
        (40, None) if legacy => {
            for h in &hosts {
                let canon = [method.as_str(), h, req.path, &all_params].join("\n");
                if matches(Algo::Sha1, &canon) {
                    return Ok(());
                }
            }
            Err(Refused::BadSignature)
        }
        (40 | 128, None) => Err(Refused::MissingDate),
        _ => Err(Refused::BadSignature),
    }
}

/// The `X-Duo-*` headers as v5 hashes them (name and value, lower-case names, sorted,
/// NUL-separated): with every such header, and without the date header (which clients
/// send but need not sign).
fn x_duo_header_sets(headers: &HeaderMap) -> Vec<String> {
    let mut all: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| n.as_str().starts_with("x-duo-"))
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    all.sort();
    let join = |list: &[(String, String)]| {
        list.iter().flat_map(|(n, v)| [n.as_str(), v.as_str()]).collect::<Vec<_>>().join("\0")
    };
    let without_date: Vec<(String, String)> = all.iter().filter(|(n, _)| n != "x-duo-date").cloned().collect();
    let mut sets = vec![join(&all)];
    if without_date.len() != all.len() {
        sets.push(join(&without_date));
    }
    sets
}

#[derive(Clone, Copy)]
enum Algo {
    Sha1,
    Sha512,
}

impl Algo {
    fn hex(self, key: &str, data: &str) -> String {
        match self {
            Algo::Sha1 => {
                let Ok(mut m) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else { return String::new() };
                m.update(data.as_bytes());
                hex::encode(m.finalize().into_bytes())
            }
            Algo::Sha512 => {
                let Ok(mut m) = Hmac::<Sha512>::new_from_slice(key.as_bytes()) else { return String::new() };
                m.update(data.as_bytes());
                hex::encode(m.finalize().into_bytes())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    const SKEY: &str = "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS";
    const NOW: i64 = 1_796_506_200; // Sat, 05 Dec 2026 21:30:00 GMT

    fn p(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    fn req<'a>(
        method: &'a Method,
        host: &'a str,
        path: &'a str,
        form: &'a [(String, String)],
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Request<'a> {
        Request { method, host, path, query: &[], form, body, headers }
    }

    #[test]
    fn dates_parse_in_both_forms() {
        assert_eq!(parse_date("Sat, 05 Dec 2026 21:30:00 GMT"), Some(NOW));
        assert_eq!(parse_date("Sat, 05 Dec 2026 21:30:00 -0000"), Some(NOW));
        assert_eq!(parse_date("05 Dec 2026 22:30:00 +0100"), Some(NOW));
        assert_eq!(parse_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        for bad in [
            "",
            "yesterday",
            "Sat, 32 Dec 2026 21:30:00 GMT",
            "Sat, 05 Foo 2026 21:30:00 GMT",
            "Sat, 05 Dec 2026 21:30 GMT",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn parameters_are_encoded_and_sorted_as_duo_does() {
        // What Python's urllib.parse.quote(…, '~') gives.
        assert_eq!(canonical_params(&[p("b", "a b~é/+"), p("a", "1")]), "a=1&b=a%20b~%C3%A9%2F%2B");
        assert_eq!(canonical_params(&[]), "");
    }

    // The expected signatures below were computed independently with Python's hmac module.

    #[test]
    fn a_v2_signature_verifies_with_or_without_the_port_and_only_in_its_window() {
        let mut h = HeaderMap::new();
        h.insert("date", "Sat, 05 Dec 2026 21:30:00 GMT".parse().unwrap());
        let form = [p("username", "alice"), p("ipaddr", "192.0.2.1")];
        let sig = "e5f8445b3d1abf332069227ca1e4a76551ba9075";
        let r = req(&Method::POST, "LOCALHOST:8443", "/auth/v2/preauth", &form, &h, b"");
        assert_eq!(verify(&r, sig, SKEY, false, NOW), Ok(()));
        assert_eq!(verify(&r, sig, SKEY, false, NOW + 299), Ok(()));
        assert_eq!(verify(&r, sig, SKEY, false, NOW + 301), Err(Refused::BadDate));
        assert_eq!(verify(&r, sig, "T".repeat(40).as_str(), false, NOW), Err(Refused::BadSignature));
        let other = [p("username", "mallory"), p("ipaddr", "192.0.2.1")];
        let r = req(&Method::POST, "localhost:8443", "/auth/v2/preauth", &other, &h, b"");
        assert_eq!(verify(&r, sig, SKEY, false, NOW), Err(Refused::BadSignature));
    }

    #[test]
    fn an_undated_legacy_signature_needs_the_integration_to_allow_it() {
        let h = HeaderMap::new();
        let form = [p("user", "alice"), p("failmode", "secure")];
        let sig = "e0669efe450f97de9a4cbc3c8ff513a4ba7d5cd7";
        let r = req(&Method::POST, "localhost:8443", "/rest/v1/preauth.bson", &form, &h, b"");
        assert_eq!(verify(&r, sig, SKEY, true, NOW), Ok(()));
        assert_eq!(verify(&r, sig, SKEY, false, NOW), Err(Refused::MissingDate));
    }

    #[test]
    fn a_v5_signature_covers_the_body() {
        let mut h = HeaderMap::new();
        h.insert("x-duo-date", "Sat, 05 Dec 2026 21:30:00 -0000".parse().unwrap());
        let body = br#"{"username":"alice"}"#;
        let sig = "7a4f59f2081e65fdeb95b9d46751c3276361f877eeb97382b684a4070171841d9cc172267dd87cf9f636d00458e279229ad5db8dc182c876046165806f069718";
        let r = req(&Method::POST, "localhost", "/auth/v2/preauth", &[], &h, body);
        assert_eq!(verify(&r, sig, SKEY, false, NOW), Ok(()));
        let r = req(&Method::POST, "localhost", "/auth/v2/preauth", &[], &h, br#"{"username":"mallory"}"#);
        assert_eq!(verify(&r, sig, SKEY, false, NOW), Err(Refused::BadSignature));
    }

    #[test]
    fn credentials_are_read_from_basic_auth() {
        let mut h = HeaderMap::new();
        assert_eq!(credentials(&h), Err(Refused::Missing));
        let v = base64::engine::general_purpose::STANDARD.encode("DI0123456789ABCDEFGH:ABCDEF");
        h.insert("authorization", format!("Basic {v}").parse().unwrap());
        assert_eq!(credentials(&h), Ok(("DI0123456789ABCDEFGH".into(), "abcdef".into())));
        h.insert("authorization", "Basic !!!".parse().unwrap());
        assert_eq!(credentials(&h), Err(Refused::Missing));
    }

    proptest! {
        #[test]
        fn date_parsing_never_panics(s in ".{0,64}") {
            let _ = parse_date(&s);
        }
    }
}
