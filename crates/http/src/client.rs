//! The client address of a request (docs/security.md, "Client addresses").
//!
//! The address a request is counted and logged under is the TCP peer's, unless the peer is
//! one of the configured trusted proxies: then the configured forwarding header
//! (`X-Forwarded-For`, `Forwarded` or the gateway's `X-CS-Client-Addr`) is read from the
//! right, each hop believed only while the address that reported it is itself trusted.
//! A header from an untrusted peer is ignored whole, so a client cannot choose its own
//! address by sending one.
//!
//! [`resolve`] runs outside every route: it replaces the request's
//! `ConnectInfo<SocketAddr>` with the believed client address (what the request limits
//! and the request logs read) and keeps the TCP peer as [`PeerAddr`].

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

pub use countersign_core::net::{Cidr, canonical};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

/// The TCP peer of a request, when a trusted proxy's header named another client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// Which header a trusted proxy reports the client address in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (each proxy appends its peer).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for="[2001:db8::1]:4711"`.
    Forwarded,
    /// `X-CS-Client-Addr: ip:port`, set by `countersign gateway` and `countersign relay`.
    ClientAddr,
}

impl FromStr for ForwardedHeader {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            "x-cs-client-addr" => Ok(Self::ClientAddr),
            _ => Err(format!("{s:?} is not one of x-forwarded-for, forwarded, x-cs-client-addr")),
        }
    }
}

impl ForwardedHeader {
    /// The header's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
            Self::ClientAddr => "x-cs-client-addr",
        }
    }
}

/// Which peers are believed, and the header they report clients in.
#[derive(Debug, Clone, Default)]
pub struct ProxyTrust {
    /// Trusted proxies (empty: no forwarding header is ever believed, the default).
    pub proxies: Vec<Cidr>,
    /// The header read from them.
    pub header: ForwardedHeader,
}

impl ProxyTrust {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|c| c.contains(ip))
    }

    /// The client address of a request from `peer` with `headers`.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> SocketAddr {
        let mut current = SocketAddr::new(canonical(peer.ip()), peer.port());
        if !self.trusts(current.ip()) {
            return current;
        }
        let hops = self.hops(headers);
        // Right to left: each address was reported by the one after it.
        for hop in hops.iter().rev() {
            match hop {
                Some(addr) => current = SocketAddr::new(canonical(addr.ip()), addr.port()),
                // `unknown`, an obfuscated name or garbage: nothing further is believable.
                None => break,
            }
            if !self.trusts(current.ip()) {
                break;
            }
        }
        current
    }

    /// The addresses the header lists, left to right; `None` for an entry that is not one.
    fn hops(&self, headers: &HeaderMap) -> Vec<Option<SocketAddr>> {
        let values = headers.get_all(self.header.name()).iter().filter_map(|v| v.to_str().ok());
        match self.header {
            ForwardedHeader::XForwardedFor | ForwardedHeader::ClientAddr => {
                values.flat_map(|v| v.split(',')).map(|e| parse_addr(e.trim())).collect()
            }
            ForwardedHeader::Forwarded => values
                .flat_map(|v| v.split(','))
                .map(|element| {
                    element.split(';').find_map(|pair| {
                        let (k, v) = pair.trim().split_once('=')?;
                        k.trim().eq_ignore_ascii_case("for").then(|| parse_addr(v.trim().trim_matches('"')))
                    })?
                })
                .collect(),
        }
    }
}

/// `192.0.2.7`, `192.0.2.7:4711`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:4711`
/// (port 0 when none is given).
fn parse_addr(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    let bare = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(s);
    bare.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 0))
}

/// Middleware: the request's `ConnectInfo` becomes the believed client address.
pub async fn resolve(State(trust): State<Arc<ProxyTrust>>, mut req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let client = trust.client(peer, req.headers());
        req.extensions_mut().insert(PeerAddr(peer));
        req.extensions_mut().insert(ConnectInfo(client));
    }
    next.run(req).await
}

/// The client address of a request, once [`resolve`] has run (`None` when the request
/// did not come over a socket, e.g. in a test calling the router directly).
pub fn client_of(req: &Request) -> Option<SocketAddr> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn trust(proxies: &[&str], header: ForwardedHeader) -> ProxyTrust {
        ProxyTrust { proxies: proxies.iter().map(|p| p.parse().unwrap()).collect(), header }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn sa(s: &str) -> SocketAddr {
        parse_addr(s).unwrap()
    }

    #[test]
    fn blocks_match_their_addresses_only() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains("10.255.0.1".parse().unwrap()) && !c.contains("11.0.0.1".parse().unwrap()));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()) && !one.contains("192.0.2.8".parse().unwrap()));
        assert!(one.contains("::ffff:192.0.2.7".parse().unwrap()), "an IPv4-mapped peer is the IPv4 address");
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()) && !v6.contains("2001:db9::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        for bad in ["10.0.0.0/33", "::/129", "ten", "10.0.0.0/", "/8", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let t = trust(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(t.client(sa("203.0.113.5:5000"), &h), sa("203.0.113.5:5000"));
        // No proxies configured (the default): never believed.
        let none = ProxyTrust::default();
        assert_eq!(none.client(sa("10.0.0.1:1"), &h), sa("10.0.0.1:1"));
    }

    #[test]
    fn x_forwarded_for_is_read_from_the_right_through_trusted_hops_only() {
        let t = trust(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        // The client forged the leftmost entry; the first untrusted from the right is it.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.1, 10.0.0.2")]);
        assert_eq!(t.client(sa("10.0.0.1:443"), &h).ip(), "198.51.100.1".parse::<IpAddr>().unwrap());
        // Several header lines are one list.
        let h = headers(&[("x-forwarded-for", "198.51.100.1"), ("x-forwarded-for", "10.0.0.2")]);
        assert_eq!(t.client(sa("10.0.0.1:443"), &h).ip(), "198.51.100.1".parse::<IpAddr>().unwrap());
        // Garbage stops the walk at the last believable address.
        let h = headers(&[("x-forwarded-for", "198.51.100.1, nonsense, 10.0.0.2")]);
        assert_eq!(t.client(sa("10.0.0.1:443"), &h), sa("10.0.0.2"));
        // Only trusted proxies all the way: the leftmost.
        let h = headers(&[("x-forwarded-for", "10.1.1.1, 10.0.0.2")]);
        assert_eq!(t.client(sa("10.0.0.1:443"), &h), sa("10.1.1.1"));
        // No header: the peer.
        assert_eq!(t.client(sa("10.0.0.1:443"), &HeaderMap::new()), sa("10.0.0.1:443"));
    }

    #[test]
    fn forwarded_and_the_gateway_header_are_read_too() {
        let t = trust(&["127.0.0.1"], ForwardedHeader::Forwarded);
        let h =
            headers(&[("forwarded", r#"for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711""#)]);
        assert_eq!(t.client(sa("127.0.0.1:9"), &h), sa("[2001:db8:cafe::17]:4711"));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(t.client(sa("127.0.0.1:9"), &h), sa("127.0.0.1:9"));
        let g = trust(&["127.0.0.1"], ForwardedHeader::ClientAddr);
        let h = headers(&[("x-cs-client-addr", "198.51.100.7:50123"), ("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(g.client(sa("127.0.0.1:9"), &h), sa("198.51.100.7:50123"));
    }

    proptest! {
        /// Whatever the header says, an untrusted peer is its own client, and a trusted
        /// peer's answer is either the peer or an address the header listed.
        #[test]
        fn the_answer_is_the_peer_or_a_listed_address(value in "[ -~]{0,80}", trusted in any::<bool>()) {
            let t = trust(if trusted { &["127.0.0.0/8"] } else { &[] }, ForwardedHeader::XForwardedFor);
            let mut h = HeaderMap::new();
            if let Ok(v) = value.parse() {
                h.insert("x-forwarded-for", v);
            }
            let peer = sa("127.0.0.1:1000");
            let got = t.client(peer, &h);
            if !trusted {
                prop_assert_eq!(got, peer);
            } else {
                let listed: Vec<SocketAddr> = value.split(',').filter_map(|e| parse_addr(e.trim())).collect();
                prop_assert!(got == peer || listed.iter().any(|a| a.ip() == got.ip()));
            }
        }
    }
}
