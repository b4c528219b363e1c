//! Network addresses shared by the front doors: address blocks (trusted proxies, RADIUS
//! clients) and the canonical form of an address.

use std::net::IpAddr;
use std::str::FromStr;

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or one address (`192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an address or a block such as 10.0.0.0/8 or 2001:db8::/32");
        let (ip, prefix) = match s.trim().split_once('/') {
            Some((ip, p)) => (ip, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let net = canonical(ip.parse::<IpAddr>().map_err(|_| bad())?);
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { net, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => mask(u32::from(n).into(), u32::from(a).into(), self.prefix, 32),
            (IpAddr::V6(n), IpAddr::V6(a)) => mask(u128::from(n), u128::from(a), self.prefix, 128),
            _ => false,
        }
    }
}

fn mask(net: u128, addr: u128, prefix: u8, bits: u32) -> bool {
    let shift = bits - u32::from(prefix);
    // A /0 matches everything (a shift by the type's width is not defined).
    shift >= bits || (net >> shift) == (addr >> shift)
}

/// IPv4-mapped IPv6 (`::ffff:192.0.2.7`, what a dual-stack socket reports) as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

impl Cidr {
    /// The block's first address and prefix length, the address masked to the prefix
    /// (`10.1.2.3/8` becomes `10.0.0.0/8`).
    pub fn normalized(&self) -> Cidr {
        let net = match self.net {
            IpAddr::V4(n) => {
                let bits = u32::from(n);
                let m = if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) };
                IpAddr::V4((bits & m).into())
            }
            IpAddr::V6(n) => {
                let bits = u128::from(n);
                let m = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                IpAddr::V6((bits & m).into())
            }
        };
        Cidr { net, prefix: self.prefix }
    }

    /// Whether the two blocks share an address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        let (a, b) = (self.normalized(), other.normalized());
        a.contains(b.net) || b.contains(a.net)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn blocks_normalize_and_overlap_as_address_sets_do() {
        let c = |s: &str| s.parse::<Cidr>().unwrap();
        assert_eq!(c("10.1.2.3/8").normalized().to_string(), "10.0.0.0/8");
        assert_eq!(c("192.0.2.7").to_string(), "192.0.2.7/32");
        assert_eq!(c("::ffff:192.0.2.7").to_string(), "192.0.2.7/32");
        assert!(c("10.0.0.0/8").overlaps(&c("10.9.9.9")));
        assert!(c("10.9.9.9").overlaps(&c("10.0.0.0/8")));
        assert!(!c("10.0.0.0/8").overlaps(&c("11.0.0.0/8")));
        assert!(c("0.0.0.0/0").overlaps(&c("203.0.113.1")));
        assert!(!c("2001:db8::/32").overlaps(&c("10.0.0.0/8")));
        assert!(c("2001:db8::/32").overlaps(&c("2001:db8:1::/48")));
    }
}
