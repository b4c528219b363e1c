//! Context for the user (docs/otp.md, "Context for the user"): the secure message a push
//! shows, filled from a per-language template with where the request comes from — the
//! browser and operating system from the user agent, the place from a MaxMind database.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::error::CoreError;

/// The template used when a tenant sets none for the language.
pub const DEFAULT_TEMPLATE: &str =
    "[message] Device: [operatingSystem] [browser], Location: [countryCode], [region], [city]";

/// Where an address is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    /// ISO 3166 country code.
    pub country_code: String,
    /// The largest subdivision's name.
    pub region: String,
    /// The city's name.
    pub city: String,
    /// Latitude, when the database has it.
    pub latitude: Option<f64>,
    /// Longitude, when the database has it.
    pub longitude: Option<f64>,
}

/// A geolocation database (MaxMind DB format: GeoIP2/GeoLite2 City), or none.
#[derive(Default)]
pub struct Geo {
    reader: Option<maxminddb::Reader<Vec<u8>>>,
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.reader.is_some() { "Geo(database)" } else { "Geo(none)" })
    }
}

impl Geo {
    /// Read the database file at `path`.
    pub fn open(path: &str) -> Result<Geo, String> {
        let reader =
            maxminddb::Reader::open_readfile(path).map_err(|e| format!("geoip_database: cannot read {path}: {e}"))?;
        Ok(Geo { reader: Some(reader) })
    }

    /// Whether a database is configured.
    pub fn is_configured(&self) -> bool {
        self.reader.is_some()
    }

    /// Where `ip` is; an error (for the event log) when there is no database, no record,
    /// or the record lacks a country.
    pub fn locate(&self, ip: IpAddr) -> Result<Place, String> {
        let reader = self.reader.as_ref().ok_or("no geolocation database is configured")?;
        let found = reader.lookup(ip).map_err(|e| format!("lookup failed: {e}"))?;
        let text = |path: &[maxminddb::PathElement<'_>]| -> Result<Option<String>, String> {
            found.decode_path::<String>(path).map_err(|e| format!("malformed record: {e}"))
        };
        let country = text(&maxminddb::path!["country", "iso_code"])?.ok_or("the address is not in the database")?;
        Ok(Place {
            country_code: country,
            region: text(&maxminddb::path!["subdivisions", 0, "names", "en"])?.unwrap_or_default(),
            city: text(&maxminddb::path!["city", "names", "en"])?.unwrap_or_default(),
            latitude: found.decode_path::<f64>(&maxminddb::path!["location", "latitude"]).ok().flatten(),
            longitude: found.decode_path::<f64>(&maxminddb::path!["location", "longitude"]).ok().flatten(),
        })
    }
}

fn major_minor(version: &str) -> String {
    let mut parts = version.split(['.', '_']).filter(|p| !p.is_empty());
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}"),
        (Some(a), None) => a.to_owned(),
        _ => String::new(),
    }
}

/// (operating system, browser) of a user agent, e.g. ("Mac OSX 10.14", "Chrome 73.0");
/// empty strings for what cannot be told.
pub fn user_agent(ua: &str) -> (String, String) {
    let Some(r) = woothee::parser::Parser::new().parse(ua) else { return (String::new(), String::new()) };
    let known = |s: &str| s != woothee::woothee::VALUE_UNKNOWN && !s.is_empty();
    let os = match (known(r.os), known(&r.os_version)) {
        (true, true) => format!("{} {}", r.os, major_minor(&r.os_version)),
        (true, false) => r.os.to_owned(),
        _ => String::new(),
    };
    let browser = match (known(r.name), known(r.version)) {
        (true, true) => format!("{} {}", r.name, major_minor(r.version)),
        (true, false) => r.name.to_owned(),
        _ => String::new(),
    };
    (os, browser)
}

/// The template for `language`: the exact tag, its primary subtag, `en`, then the default.
pub fn template_for<'a>(templates: &'a BTreeMap<String, String>, language: &str) -> &'a str {
    let primary = language.split('-').next().unwrap_or(language);
    templates
        .get(language)
        .or_else(|| templates.get(primary))
        .or_else(|| templates.get("en"))
        .map(String::as_str)
        .unwrap_or(DEFAULT_TEMPLATE)
}

/// Fill `[message]`, `[operatingSystem]`, `[browser]`, `[countryCode]`, `[region]`,
/// `[city]`; the result trimmed of separators left dangling by empty values is not
/// attempted: templates are the tenant's to word.
pub fn fill(template: &str, message: &str, os: &str, browser: &str, place: &Place) -> String {
    template
        .replace("[message]", message)
        .replace("[operatingSystem]", os)
        .replace("[browser]", browser)
        .replace("[countryCode]", &place.country_code)
        .replace("[region]", &place.region)
        .replace("[city]", &place.city)
        .trim()
        .to_owned()
}

/// Check the context fields of a login.
pub fn check(ip: Option<&str>, ua: Option<&str>) -> Result<Option<IpAddr>, CoreError> {
    if let Some(ua) = ua
        && (ua.len() > 1000 || ua.chars().any(char::is_control))
    {
        return Err(CoreError::invalid("userAgent", "at most 1000 characters, no control characters"));
    }
    ip.map(|s| s.trim().parse::<IpAddr>().map_err(|_| CoreError::invalid("ipAddress", "not an IPv4 or IPv6 address")))
        .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn user_agents_are_read() {
        let ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/537.36 (KHTML, like Gecko) \
                  Chrome/73.0.3683.103 Safari/537.36";
        let (os, browser) = user_agent(ua);
        assert_eq!(browser, "Chrome 73.0");
        assert!(os.starts_with("Mac OSX 10.14"), "{os}");
        assert_eq!(user_agent("curl-ish nothing"), (String::new(), String::new()));
    }

    #[test]
    fn templates_fall_back_and_fill() {
        let mut t = BTreeMap::new();
        assert_eq!(template_for(&t, "de"), DEFAULT_TEMPLATE);
        t.insert("de".to_owned(), "[message] mit [browser] aus [city], [countryCode]".to_owned());
        let place =
            Place { country_code: "NL".into(), region: "Utrecht".into(), city: "Utrecht".into(), ..Default::default() };
        assert_eq!(
            fill(template_for(&t, "de-CH"), "Anmelden?", "", "Chrome 73.0", &place),
            "Anmelden? mit Chrome 73.0 aus Utrecht, NL"
        );
        assert!(check(Some("999.1.1.1"), None).is_err());
        assert!(check(Some("2001:db8::1"), Some("UA")).unwrap().is_some());
    }
}
