//! Reading `/metrics` in tests: scrape it, check the whole text against the Prometheus
//! exposition format, and read single samples.

use std::collections::{BTreeMap, BTreeSet};

use super::App;

/// `GET /metrics`, checked with [`check_exposition`].
pub async fn scrape(app: &App) -> String {
    let resp = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let text = resp.text().await.unwrap();
    check_exposition(&text);
    text
}

/// The value of the sample written exactly `series` (`name{labels}` as rendered).
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Split `name{a="x",b="y"} value` into its parts; panics naming the line when it is not
/// a sample line.
fn parse_sample(line: &str) -> (String, Vec<(String, String)>, f64) {
    let bad = |why: &str| -> ! { panic!("not a sample line ({why}): {line:?}") };
    let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| bad("no value"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse::<f64>().unwrap_or_else(|_| bad("value is not a number")),
    };
    let (name, labels) = match series.split_once('{') {
        None => (series, Vec::new()),
        Some((name, rest)) => {
            let body = rest.strip_suffix('}').unwrap_or_else(|| bad("labels not closed"));
            let mut labels = Vec::new();
            let mut chars = body.chars().peekable();
            while chars.peek().is_some() {
                let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                if !is_name(&key) || chars.next() != Some('"') {
                    bad("label is not name=\"value\"");
                }
                let mut val = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some('n') => val.push('\n'),
                            Some(c @ ('\\' | '"')) => val.push(c),
                            _ => bad("bad escape"),
                        },
                        Some('"') => break,
                        Some(c) => val.push(c),
                        None => bad("label value not closed"),
                    }
                }
                labels.push((key, val));
                match chars.next() {
                    None | Some(',') => {}
                    _ => bad("labels are not comma-separated"),
                }
            }
            (name, labels)
        }
    };
    if !is_name(name) {
        bad("bad metric name");
    }
    (name.to_owned(), labels, value)
}

/// Check the whole exposition: every line is a `# HELP`, a `# TYPE` or a sample line;
/// every family has HELP then TYPE before its samples, once; samples follow their own
/// family's TYPE line; names carry the `countersign_` prefix and counters end in
/// `_total`; histogram buckets are cumulative and end in `+Inf` equal to `_count`.
pub fn check_exposition(text: &str) {
    let mut helped = BTreeSet::new();
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    // (family, labels without le) → bucket values in order, then count.
    let mut buckets: BTreeMap<(String, String), Vec<(String, f64)>> = BTreeMap::new();
    let mut counts: BTreeMap<(String, String), f64> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(is_name(name) && !help.trim().is_empty(), "bad HELP line: {line:?}");
            assert!(helped.insert(name.to_owned()), "second HELP for {name}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("bad TYPE line: {line:?}"));
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind), "{line:?}");
            assert!(helped.contains(name), "TYPE before HELP for {name}");
            assert!(name.starts_with("countersign_"), "{name} lacks the countersign_ prefix");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "counter {name} does not end in _total");
            }
            assert!(typed.insert(name.to_owned(), kind.to_owned()).is_none(), "second TYPE for {name}");
            current = Some((name.to_owned(), kind.to_owned()));
            continue;
        }
        assert!(!line.starts_with('#') && !line.trim().is_empty(), "stray line: {line:?}");
        let (name, labels, value) = parse_sample(line);
        let (family, kind) = current.clone().unwrap_or_else(|| panic!("sample before any TYPE: {line:?}"));
        let rest = |suffix: &str| name.strip_prefix(family.as_str()) == Some(suffix);
        let belongs = match kind.as_str() {
            "histogram" => rest("_bucket") || rest("_sum") || rest("_count"),
            "summary" => rest("") || rest("_sum") || rest("_count"),
            _ => rest(""),
        };
        assert!(belongs, "sample {name} is not in the family {family} whose TYPE precedes it");
        if kind == "histogram" {
            let key: Vec<String> = labels.iter().filter(|(k, _)| k != "le").map(|(k, v)| format!("{k}={v}")).collect();
            let key = (family.clone(), key.join(","));
            if rest("_bucket") {
                let le = labels.iter().find(|(k, _)| k == "le").map(|(_, v)| v.clone());
                buckets
                    .entry(key)
                    .or_default()
                    .push((le.unwrap_or_else(|| panic!("bucket without le: {line}")), value));
            } else if rest("_count") {
                counts.insert(key, value);
            }
        }
    }
    for (key, bs) in &buckets {
        let bounds: Vec<f64> =
            bs.iter().map(|(le, _)| if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() }).collect();
        assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{key:?}: bounds not ascending");
        assert!(bs.windows(2).all(|w| w[0].1 <= w[1].1), "{key:?}: buckets not cumulative: {bs:?}");
        assert_eq!(bs.last().map(|b| b.0.as_str()), Some("+Inf"), "{key:?}: no +Inf bucket");
        assert_eq!(bs.last().map(|b| b.1), counts.get(key).copied(), "{key:?}: +Inf bucket is not _count");
    }
}
