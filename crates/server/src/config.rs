//! Configuration in layers: built-in defaults, then a TOML file (`--config`), then
//! `COUNTERSIGN_*` environment variables, then command-line flags. The raw layers are
//! merged into [`RawConfig`]; [`RawConfig::validate`] turns that into a checked
//! [`Config`] or a message naming the bad setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod limits;
mod network;
mod relay;
mod retention;
mod sources;
pub use limits::RawLimits;
pub use network::{RawTls, TlsFiles};
pub use retention::RawRetention;

/// A secret setting: never printed by `Debug`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Settings as read, before checking. Every field is optional so layers can be merged.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Address to listen on.
    pub listen: Option<String>,
    /// Where the default SQLite database and master key file live (created when missing).
    pub data_dir: Option<String>,
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: Option<String>,
    /// `text` or `json`.
    pub log_format: Option<String>,
    /// A `tracing` filter such as `info` or `countersign=debug`.
    pub log_level: Option<String>,
    /// Largest request body, in bytes.
    pub body_limit_bytes: Option<usize>,
    /// Largest streamed token import (a `text/csv` body), in bytes.
    pub import_limit_bytes: Option<u64>,
    /// How long in-flight requests may take to finish at shutdown.
    pub shutdown_grace_seconds: Option<u64>,
    /// The first admin token, used only when the database has none.
    pub bootstrap_admin_token: Option<Secret>,
    /// The base URL apps reach this server at (in QR codes).
    pub public_url: Option<String>,
    /// The master key sealing stored secrets: 32 bytes, base64url (or a keyring's text,
    /// docs/security.md, "Keys and rotation").
    pub master_key: Option<Secret>,
    /// Where the master key or keyring is kept when `master_key` is not set (created if
    /// missing; rewritten by `countersign admin rotate-key`).
    pub master_key_file: Option<String>,
    /// Outgoing HTTP proxy for providers and callbacks.
    pub proxy: Option<RawProxy>,
    /// PEM file of extra CA certificates trusted for outgoing TLS.
    pub tls_ca_file: Option<String>,
    /// Default SMS provider for tenants without their own (same shape as the admin API).
    pub sms: Option<countersign_core::delivery::providers::SmsConfig>,
    /// Default SMTP server for tenants without their own.
    pub email: Option<countersign_core::delivery::providers::EmailConfig>,
    /// Allow `votpCustomDelivery` (codes handed to the relying party).
    pub votp_custom_delivery: Option<bool>,
    /// Serve the demo relying party at `/demo` (docs/web.md; `serve --demo`, development
    /// only): a tenant demo.example with a user alice is made when missing.
    pub demo: Option<bool>,
    /// A MaxMind DB (GeoIP2/GeoLite2 City) file for secure-message context.
    pub geoip_database: Option<String>,
    /// Argon2id memory for new static-password hashes, KiB.
    pub password_memory_kib: Option<u32>,
    /// Argon2id passes.
    pub password_iterations: Option<u32>,
    /// Argon2id lanes.
    pub password_parallelism: Option<u32>,
    /// Argon2id computations run at once, each on a blocking thread (default: the cores).
    pub password_hash_threads: Option<usize>,
    /// The gateway ID apps learn at activation (default: `public_url`); docs/gateway.md.
    pub gateway_id: Option<String>,
    /// Dial a relay and serve the mobile API on the link (docs/gateway.md).
    pub relay: Option<RawRelay>,
    /// How long rows that only grow are kept (docs/security.md, "Retention").
    pub retention: Option<RawRetention>,
    /// Request limits per address, API key, activation and device (docs/security.md,
    /// "Request limits").
    pub limits: Option<RawLimits>,
    /// Serve HTTPS with these files (docs/security.md, "TLS").
    pub tls: Option<RawTls>,
    /// Peers whose forwarding header names the client (docs/security.md, "Client addresses").
    pub trusted_proxies: Option<Vec<String>>,
    /// `x-forwarded-for` (default), `forwarded` or `x-cs-client-addr`.
    pub forwarded_header: Option<String>,
    /// Answer RADIUS on this UDP address (docs/radius.md); off when unset.
    pub radius_listen: Option<String>,
}

/// `[relay]` as read: this server is a site of a `countersign relay`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelay {
    /// The relay's site port, `https://host:port`.
    pub url: Option<String>,
    /// The name in the relay's certificate (default: the host of `url`).
    pub server_name: Option<String>,
    /// The file holding this site's credential.
    pub credential_file: Option<String>,
    /// PEM CA file trusted for the relay (default: the system's roots).
    pub ca_file: Option<String>,
    /// Links to hold (default 1).
    pub connections: Option<usize>,
    /// Heartbeat interval, seconds (default 5).
    pub heartbeat_seconds: Option<u64>,
    /// Send pushes through the relay's notification relay at this URL
    /// (`https://relay.example/push/v1/send`) instead of to the providers.
    pub push_url: Option<String>,
}

/// `[proxy]` as read.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProxy {
    /// `http://host:port`.
    pub url: Option<String>,
    /// User name (credentials are sent preemptively).
    pub username: Option<String>,
    /// Password.
    pub password: Option<Secret>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Checked settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The data directory: home of the default SQLite database and master key file.
    pub data_dir: PathBuf,
    /// Whether the database is the default one in `data_dir`.
    pub database_in_data_dir: bool,
    /// Whether the master key comes from the default key file in `data_dir`.
    pub key_file_in_data_dir: bool,
    /// Database URL.
    pub database_url: String,
    /// Log output format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log_level: String,
    /// Largest request body, in bytes.
    pub body_limit_bytes: usize,
    /// Largest streamed token import, in bytes (docs/tokens.md).
    pub import_limit_bytes: u64,
    /// Shutdown grace period, in seconds.
    pub shutdown_grace_seconds: u64,
    /// The first admin token, if configured.
    pub bootstrap_admin_token: Option<Secret>,
    /// The base URL apps reach this server at; `None`: `http://` + the bound address.
    pub public_url: Option<String>,
    /// The master key, when given directly.
    pub master_key: Option<Secret>,
    /// The master key file otherwise.
    pub master_key_file: String,
    /// Outgoing HTTP proxy.
    pub proxy: Option<countersign_delivery::Proxy>,
    /// PEM file of extra trusted CA certificates.
    pub tls_ca_file: Option<String>,
    /// Default SMS and e-mail providers.
    pub providers: countersign_core::delivery::providers::ProvidersInput,
    /// Whether `votpCustomDelivery` may be used.
    pub votp_custom_delivery: bool,
    /// Whether `/demo` is served (the demo relying party).
    pub demo: bool,
    /// The geolocation database file.
    pub geoip_database: Option<String>,
    /// Argon2id cost of new static-password hashes.
    pub password_cost: countersign_core::password::HashCost,
    /// Argon2id computations run at once (the hashing pool's size).
    pub password_hash_threads: usize,
    /// The configured gateway ID, if any.
    pub gateway_id: Option<String>,
    /// The relay this server dials, if any.
    pub relay: Option<countersign_gateway::site::SiteConfig>,
    /// Retention periods.
    pub retention: countersign_core::retention::Retention,
    /// Request limits.
    pub limits: countersign_core::limits::Limits,
    /// HTTPS, when configured.
    pub tls: Option<TlsFiles>,
    /// Whose forwarding header is believed.
    pub proxies: countersign_http::client::ProxyTrust,
    /// The UDP address RADIUS is answered on, when on.
    pub radius_listen: Option<SocketAddr>,
}

/// Why the configuration is refused; the text names the setting (or file, or variable)
/// at fault and never a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML of the right shape.
    #[error("{}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A `*_FILE` variable names a file that cannot be read.
    #[error("{variable}: cannot read {path}: {source}")]
    SecretFile {
        /// The variable.
        variable: &'static str,
        /// The file it names.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A setting has a value the rules refuse.
    #[error("{message}")]
    Invalid {
        /// The setting (`listen`, `proxy.url`, `email.security`, `COUNTERSIGN_…`).
        setting: String,
        /// What is wrong, naming the setting.
        message: String,
    },
}

impl ConfigError {
    fn invalid(setting: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid { setting: setting.into(), message: message.into() }
    }

    /// The setting at fault, when one is.
    pub fn setting(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { setting, .. } => Some(setting),
            ConfigError::SecretFile { variable, .. } => Some(variable),
            ConfigError::Read { .. } | ConfigError::Parse { .. } => None,
        }
    }
}

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default cap of a streamed token import (`text/csv`).
pub use countersign_http::DEFAULT_IMPORT_LIMIT_BYTES;
/// Highest `import_limit_bytes` accepted: 1 GiB.
pub const MAX_IMPORT_LIMIT_BYTES: u64 = 1024 * 1024 * 1024;
/// The default database (in the default data directory, `.`).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://countersign.db";
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = ".";
/// The SQLite database's file name in the data directory.
pub const DATABASE_FILE: &str = "countersign.db";
/// The master key file's name in the data directory.
pub const MASTER_KEY_FILE: &str = "countersign.key";

/// `name` in the data directory `dir` (just `name` for `.`, so messages stay short).
pub fn in_data_dir(dir: &Path, name: &str) -> PathBuf {
    if dir == Path::new(DEFAULT_DATA_DIR) { PathBuf::from(name) } else { dir.join(name) }
}

/// The `sqlite://` URL of a file (`%` and `?` escaped: the driver decodes them).
pub fn sqlite_url(path: &Path) -> String {
    let text = path.to_string_lossy().replace('%', "%25").replace('?', "%3F");
    format!("sqlite://{text}")
}

impl RawConfig {
    /// Check every setting, filling defaults.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let listen = self.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen.parse().map_err(|_| {
            ConfigError::invalid("listen", format!("listen: {listen:?} is not an address like 127.0.0.1:8080"))
        })?;
        let data_dir = PathBuf::from(self.data_dir.as_deref().unwrap_or(DEFAULT_DATA_DIR));
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                "data_dir",
                "data_dir must not be empty (the default is ., the working directory)",
            ));
        }
        let default_db = self.database_url.is_none();
        let database_url = self.database_url.unwrap_or_else(|| sqlite_url(&in_data_dir(&data_dir, DATABASE_FILE)));
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if !known.iter().any(|p| database_url.starts_with(p)) {
            return Err(ConfigError::invalid(
                "database_url",
                "database_url must start with sqlite:// or postgres:// (e.g. sqlite://countersign.db)",
            ));
        }
        let log_format = match self.log_format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::invalid(
                    "log_format",
                    format!("log_format: {other:?} is not one of text, json"),
                ));
            }
        };
        let body_limit_bytes = self.body_limit_bytes.unwrap_or(64 * 1024);
        if !(1024..=16 * 1024 * 1024).contains(&body_limit_bytes) {
            return Err(ConfigError::invalid("body_limit_bytes", "body_limit_bytes must be between 1024 and 16777216"));
        }
        let import_limit_bytes = self.import_limit_bytes.unwrap_or(DEFAULT_IMPORT_LIMIT_BYTES);
        if !(1024..=MAX_IMPORT_LIMIT_BYTES).contains(&import_limit_bytes) {
            return Err(ConfigError::invalid(
                "import_limit_bytes",
                format!("import_limit_bytes must be between 1024 and {MAX_IMPORT_LIMIT_BYTES}"),
            ));
        }
        if let Some(u) = &self.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(ConfigError::invalid(
                "public_url",
                format!("public_url: {u:?} must be an http:// or https:// URL"),
            ));
        }
        let proxy = match self.proxy {
            None => None,
            Some(p) => {
                let url = p
                    .url
                    .ok_or_else(|| ConfigError::invalid("proxy.url", "proxy.url is required when [proxy] is given"))?;
                let ok = (url.starts_with("http://") || url.starts_with("https://"))
                    && !url.chars().any(|c| c.is_whitespace() || c.is_control());
                if !ok {
                    return Err(ConfigError::invalid(
                        "proxy.url",
                        "proxy.url must be an http:// or https:// URL such as http://proxy:8080",
                    ));
                }
                if url.contains('@') {
                    return Err(ConfigError::invalid(
                        "proxy.url",
                        "proxy.url must not hold credentials: use proxy.username and proxy.password",
                    ));
                }
                Some(countersign_delivery::Proxy { url, username: p.username, password: p.password.map(|s| s.0) })
            }
        };
        let providers = countersign_core::delivery::providers::ProvidersInput { sms: self.sms, email: self.email };
        providers.validate().map_err(|e| match e {
            countersign_core::CoreError::Invalid { field, message } => {
                let text = format!("{field}: {message}");
                ConfigError::invalid(field, text)
            }
            other => ConfigError::invalid("providers", other.to_string()),
        })?;
        let d = countersign_core::password::HashCost::default();
        let password_cost = countersign_core::password::HashCost {
            memory_kib: self.password_memory_kib.unwrap_or(d.memory_kib),
            iterations: self.password_iterations.unwrap_or(d.iterations),
            parallelism: self.password_parallelism.unwrap_or(d.parallelism),
        };
        let ok = (64..=4_194_304).contains(&password_cost.memory_kib)
            && (1..=20).contains(&password_cost.iterations)
            && (1..=16).contains(&password_cost.parallelism)
            && password_cost.memory_kib >= 8 * password_cost.parallelism;
        if !ok {
            return Err(ConfigError::invalid(
                "password_memory_kib",
                "password_memory_kib (64–4194304, at least 8 per lane), password_iterations (1–20) and \
                 password_parallelism (1–16) are out of range",
            ));
        }
        let password_hash_threads =
            self.password_hash_threads.unwrap_or_else(countersign_core::password::default_hash_threads);
        if !(1..=1024).contains(&password_hash_threads) {
            return Err(ConfigError::invalid(
                "password_hash_threads",
                "password_hash_threads must be between 1 and 1024 (default: the number of cores)",
            ));
        }
        let default_key_file = self.master_key.is_none() && self.master_key_file.is_none();
        let master_key_file = self
            .master_key_file
            .unwrap_or_else(|| in_data_dir(&data_dir, MASTER_KEY_FILE).to_string_lossy().into_owned());
        let relay = self.relay.map(|r| r.validate(self.gateway_id.as_deref())).transpose()?;
        let retention = self.retention.unwrap_or_default().validate()?;
        let limits = self.limits.unwrap_or_default().validate()?;
        let tls = self.tls.map(RawTls::validate).transpose()?;
        let proxies = network::proxy_trust(self.trusted_proxies, self.forwarded_header)?;
        let radius_listen = match self.radius_listen.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(a) => Some(a.parse::<SocketAddr>().map_err(|_| {
                ConfigError::invalid(
                    "radius_listen",
                    format!("radius_listen: {a:?} is not an address like 0.0.0.0:1812"),
                )
            })?),
        };
        Ok(Config {
            radius_listen,
            retention,
            limits,
            tls,
            proxies,
            gateway_id: self.gateway_id,
            relay,
            database_in_data_dir: default_db,
            key_file_in_data_dir: default_key_file,
            data_dir,
            password_cost,
            password_hash_threads,
            geoip_database: self.geoip_database,
            votp_custom_delivery: self.votp_custom_delivery.unwrap_or(false),
            demo: self.demo.unwrap_or(false),
            proxy,
            tls_ca_file: self.tls_ca_file,
            providers,
            master_key: self.master_key,
            master_key_file,
            public_url: self.public_url.map(|u| u.trim_end_matches('/').to_owned()),
            listen,
            database_url,
            log_format,
            log_level: self.log_level.unwrap_or_else(|| "info".to_owned()),
            body_limit_bytes,
            import_limit_bytes,
            shutdown_grace_seconds: self.shutdown_grace_seconds.unwrap_or(30),
            bootstrap_admin_token: self.bootstrap_admin_token,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_readme_example_file_is_valid() {
        let readme = include_str!("../../../README.md");
        let block = readme.split("Example file:\n\n```toml\n").nth(1).unwrap().split("```").next().unwrap();
        let raw: RawConfig = toml::from_str(block).unwrap();
        let c = raw.validate().unwrap();
        assert_eq!(c.proxy.unwrap().url, "http://proxy.bank.internal:8080");
        assert!(c.providers.email.is_some());
    }

    #[test]
    fn bad_provider_defaults_and_proxies_are_refused_by_name() {
        let raw: RawConfig =
            toml::from_str("[email]\nhost = \"smtp.example.com\"\nsecurity = \"plain\"\nfrom = \"a@b.example\"")
                .unwrap();
        assert!(raw.validate().unwrap_err().to_string().starts_with("email.security"));
        let raw: RawConfig = toml::from_str("[proxy]\nurl = \"http://u:p@proxy:8080\"").unwrap();
        assert!(raw.validate().unwrap_err().to_string().contains("proxy.username"));
    }

    #[test]
    fn no_configuration_means_loopback_8080_and_a_local_sqlite_file() {
        let c = RawConfig::default().validate().unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://countersign.db");
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.body_limit_bytes, 65536);
        assert!(c.password_hash_threads >= 1);
    }

    #[test]
    fn the_data_dir_holds_the_default_database_and_key_file_unless_they_are_named() {
        let c = RawConfig::default().validate().unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.master_key_file, "countersign.key");
        assert!(c.database_in_data_dir && c.key_file_in_data_dir);
        let env = RawConfig::from_env(|k| (k == "COUNTERSIGN_DATA_DIR").then(|| "/srv/cs 100%?".into())).unwrap();
        let c = env.clone().validate().unwrap();
        assert_eq!(c.database_url, "sqlite:///srv/cs 100%25%3F/countersign.db");
        assert_eq!(c.master_key_file, "/srv/cs 100%?/countersign.key");
        // Named files win; then nothing lives in the data directory.
        let named = RawConfig {
            database_url: Some("postgres://u@h/db".into()),
            master_key_file: Some("/etc/cs.key".into()),
            ..Default::default()
        };
        let c = env.overlay(named).validate().unwrap();
        assert_eq!((c.database_url.as_str(), c.master_key_file.as_str()), ("postgres://u@h/db", "/etc/cs.key"));
        assert!(!c.database_in_data_dir && !c.key_file_in_data_dir);
        let file: RawConfig = toml::from_str("data_dir = \"data\"").unwrap();
        assert_eq!(file.validate().unwrap().database_url, "sqlite://data/countersign.db");
        assert!(RawConfig { data_dir: Some(String::new()), ..Default::default() }.validate().is_err());
    }

    #[test]
    fn later_layers_win_and_env_is_read() {
        let file: RawConfig = toml::from_str("listen = \"127.0.0.1:9000\"\nlog_format = \"json\"").unwrap();
        let env = RawConfig::from_env(|k| match k {
            "COUNTERSIGN_LISTEN" => Some("127.0.0.1:9100".into()),
            "COUNTERSIGN_BODY_LIMIT_BYTES" => Some("2048".into()),
            "COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN" => Some("csa_secret".into()),
            "COUNTERSIGN_PASSWORD_HASH_THREADS" => Some("3".into()),
            _ => None,
        })
        .unwrap();
        let c = RawConfig::default().overlay(file).overlay(env).validate().unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.body_limit_bytes, 2048);
        assert_eq!(c.password_hash_threads, 3);
        assert!(!format!("{c:?}").contains("csa_secret"));
    }

    #[test]
    fn bad_settings_are_named() {
        assert!(toml::from_str::<RawConfig>("colour = 1").unwrap_err().to_string().contains("colour"));
        let bad = |r: RawConfig| r.validate().unwrap_err().to_string();
        assert!(bad(RawConfig { listen: Some("nowhere".into()), ..Default::default() }).contains("listen"));
        assert!(
            bad(RawConfig { database_url: Some("mysql://x".into()), ..Default::default() }).contains("database_url")
        );
        assert!(bad(RawConfig { log_format: Some("xml".into()), ..Default::default() }).contains("log_format"));
        assert!(bad(RawConfig { body_limit_bytes: Some(1), ..Default::default() }).contains("body_limit_bytes"));
        let none = RawConfig { password_hash_threads: Some(0), ..Default::default() };
        assert!(bad(none).contains("password_hash_threads"));
        let e = RawConfig::from_env(|k| (k == "COUNTERSIGN_SHUTDOWN_GRACE_SECONDS").then(|| "soon".into()));
        assert!(e.unwrap_err().to_string().contains("COUNTERSIGN_SHUTDOWN_GRACE_SECONDS"));
        let half =
            RawConfig { tls: Some(RawTls { cert_file: Some("c.pem".into()), key_file: None }), ..Default::default() };
        assert!(bad(half).starts_with("tls: both"));
        let proxy = RawConfig { trusted_proxies: Some(vec!["10.0.0.0/40".into()]), ..Default::default() };
        assert!(bad(proxy).starts_with("trusted_proxies"));
        assert!(
            bad(RawConfig { forwarded_header: Some("via".into()), ..Default::default() })
                .starts_with("forwarded_header")
        );
    }

    #[test]
    fn tls_and_trusted_proxies_come_from_the_file_or_the_environment() {
        let file: RawConfig = toml::from_str(
            "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nforwarded_header = \"forwarded\"\n[tls]\ncert_file = \"a.pem\"\nkey_file = \"k.pem\"",
        )
        .unwrap();
        let c = file.clone().validate().unwrap();
        assert_eq!(c.proxies.proxies.len(), 2);
        assert_eq!(c.proxies.header, countersign_http::client::ForwardedHeader::Forwarded);
        assert_eq!(c.tls.unwrap().key_file, PathBuf::from("k.pem"));
        let env = RawConfig::from_env(|k| match k {
            "COUNTERSIGN_TLS_CERT_FILE" => Some("b.pem".into()),
            "COUNTERSIGN_TRUSTED_PROXIES" => Some("192.0.2.1, 192.0.2.2".into()),
            _ => None,
        })
        .unwrap();
        let c = file.overlay(env).validate().unwrap();
        let tls = c.tls.unwrap();
        assert_eq!((tls.cert_file, tls.key_file), (PathBuf::from("b.pem"), PathBuf::from("k.pem")));
        assert_eq!(c.proxies.proxies.len(), 2);
        let plain = RawConfig::default().validate().unwrap();
        assert!(plain.tls.is_none() && plain.proxies.proxies.is_empty(), "plain HTTP and no proxy believed by default");
    }
}
