//! A minimal MaxMind DB (MMDB v2) writer for tests: IPv4 networks mapped to GeoIP2-City
//! shaped records, so the server's geolocation reads a real database file in the
//! format it reads in production.

use std::collections::BTreeMap;

/// A value in the MMDB data section.
pub enum V {
    S(String),
    U16(u16),
    U32(u32),
    U64(u64),
    F64(f64),
    Map(BTreeMap<String, V>),
    Arr(Vec<V>),
}

fn ctrl(out: &mut Vec<u8>, ty: u8, size: usize) {
    let (first, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, vec![])
    } else if size < 285 {
        (29, vec![(size - 29) as u8])
    } else {
        let s = size - 285;
        (30, vec![(s >> 8) as u8, s as u8])
    };
    if ty <= 7 {
        out.push((ty << 5) | first);
    } else {
        out.push(first);
        out.push(ty - 7);
    }
    out.extend(extra);
}

fn uint(out: &mut Vec<u8>, ty: u8, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    ctrl(out, ty, 8 - skip);
    out.extend(&bytes[skip..]);
}

/// Encode `v` onto `out`.
pub fn encode(out: &mut Vec<u8>, v: &V) {
    match v {
        V::S(s) => {
            ctrl(out, 2, s.len());
            out.extend(s.as_bytes());
        }
        V::U16(n) => uint(out, 5, u64::from(*n)),
        V::U32(n) => uint(out, 6, u64::from(*n)),
        V::U64(n) => uint(out, 9, *n),
        V::F64(x) => {
            ctrl(out, 3, 8);
            out.extend(x.to_be_bytes());
        }
        V::Map(m) => {
            ctrl(out, 7, m.len());
            for (k, v) in m {
                encode(out, &V::S(k.clone()));
                encode(out, v);
            }
        }
        V::Arr(a) => {
            ctrl(out, 11, a.len());
            for v in a {
                encode(out, v);
            }
        }
    }
}

fn map(pairs: Vec<(&str, V)>) -> V {
    V::Map(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn names(en: &str) -> V {
    map(vec![("names", map(vec![("en", V::S(en.to_owned()))]))])
}

/// A GeoIP2-City record.
pub fn city(country: &str, region: &str, region_code: &str, city_name: &str) -> V {
    map(vec![
        ("city", names(city_name)),
        (
            "country",
            map(vec![("iso_code", V::S(country.to_owned())), ("names", map(vec![("en", V::S(country.to_owned()))]))]),
        ),
        (
            "subdivisions",
            V::Arr(vec![map(vec![
                ("iso_code", V::S(region_code.to_owned())),
                ("names", map(vec![("en", V::S(region.to_owned()))])),
            ])]),
        ),
    ])
}

#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(u32),
    Data(u32),
}

/// A GeoIP2-City record with a location.
pub fn city_at(country: &str, city_name: &str, lat: f64, lon: f64) -> V {
    let V::Map(mut m) = city(country, "", "", city_name) else { unreachable!() };
    m.insert("location".into(), map(vec![("latitude", V::F64(lat)), ("longitude", V::F64(lon))]));
    V::Map(m)
}

/// An IPv4 MMDB with `networks` (`("81.2.69.0", 24, record)`), record size 24.
pub fn build(networks: Vec<(&str, u8, V)>) -> Vec<u8> {
    let mut data = Vec::new();
    let mut nodes: Vec<[Rec; 2]> = vec![[Rec::Empty, Rec::Empty]];
    for (net, len, value) in networks {
        let offset = data.len() as u32;
        encode(&mut data, &value);
        let ip: std::net::Ipv4Addr = net.parse().unwrap();
        let bits = u32::from(ip);
        let mut node = 0usize;
        for i in 0..len {
            let b = ((bits >> (31 - i)) & 1) as usize;
            if i == len - 1 {
                nodes[node][b] = Rec::Data(offset);
            } else {
                node = match nodes[node][b] {
                    Rec::Node(n) => n as usize,
                    _ => {
                        nodes.push([Rec::Empty, Rec::Empty]);
                        let n = nodes.len() - 1;
                        nodes[node][b] = Rec::Node(n as u32);
                        n
                    }
                };
            }
        }
    }
    let count = nodes.len() as u32;
    let mut out = Vec::new();
    for n in &nodes {
        for r in n {
            let v = match *r {
                Rec::Empty => count,
                Rec::Node(i) => i,
                Rec::Data(off) => count + 16 + off,
            };
            out.extend(&v.to_be_bytes()[1..]);
        }
    }
    out.extend([0u8; 16]);
    out.extend(data);
    out.extend(b"\xAB\xCD\xEFMaxMind.com");
    let meta = map(vec![
        ("binary_format_major_version", V::U16(2)),
        ("binary_format_minor_version", V::U16(0)),
        ("build_epoch", V::U64(1_800_000_000)),
        ("database_type", V::S("GeoIP2-City".into())),
        ("description", map(vec![("en", V::S("countersign test database".into()))])),
        ("ip_version", V::U16(4)),
        ("languages", V::Arr(vec![V::S("en".into())])),
        ("node_count", V::U32(count)),
        ("record_size", V::U16(24)),
    ]);
    encode(&mut out, &meta);
    out
}
