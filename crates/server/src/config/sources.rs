//! Where settings come from: a TOML file, `COUNTERSIGN_*` variables, and the layering
//! that lets a later source win ([`RawConfig::overlay`]).

use std::path::Path;

use super::{ConfigError, RawConfig, RawLimits, RawProxy, RawRetention, RawTls, Secret};

impl RawConfig {
    /// Read a TOML file.
    pub fn from_file(path: &Path) -> Result<RawConfig, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.to_path_buf(), source: Box::new(e) })
    }

    /// Settings from `COUNTERSIGN_*` variables in `env` (a `*_FILE` variant reads a
    /// secret from a file).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<RawConfig, ConfigError> {
        let num = |name: &str| -> Result<Option<u64>, ConfigError> {
            env(name)
                .map(|v| {
                    v.trim().parse().map_err(|_| ConfigError::invalid(name, format!("{name} must be a whole number")))
                })
                .transpose()
        };
        let bootstrap = match (env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN"), env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN_FILE"))
        {
            (Some(v), _) => Some(Secret(v)),
            (None, Some(path)) => Some(Secret(
                std::fs::read_to_string(&path)
                    .map_err(|source| ConfigError::SecretFile {
                        variable: "COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN_FILE",
                        path: path.clone(),
                        source,
                    })?
                    .trim()
                    .to_owned(),
            )),
            (None, None) => None,
        };
        Ok(RawConfig {
            listen: env("COUNTERSIGN_LISTEN"),
            data_dir: env("COUNTERSIGN_DATA_DIR"),
            database_url: env("COUNTERSIGN_DATABASE_URL"),
            log_format: env("COUNTERSIGN_LOG_FORMAT"),
            log_level: env("COUNTERSIGN_LOG_LEVEL"),
            body_limit_bytes: num("COUNTERSIGN_BODY_LIMIT_BYTES")?.map(|n| n as usize),
            import_limit_bytes: num("COUNTERSIGN_IMPORT_LIMIT_BYTES")?,
            shutdown_grace_seconds: num("COUNTERSIGN_SHUTDOWN_GRACE_SECONDS")?,
            bootstrap_admin_token: bootstrap,
            public_url: env("COUNTERSIGN_PUBLIC_URL"),
            master_key: env("COUNTERSIGN_MASTER_KEY").map(Secret),
            master_key_file: env("COUNTERSIGN_MASTER_KEY_FILE"),
            proxy: env("COUNTERSIGN_PROXY_URL").map(|url| RawProxy {
                url: Some(url),
                username: env("COUNTERSIGN_PROXY_USERNAME"),
                password: env("COUNTERSIGN_PROXY_PASSWORD").map(Secret),
            }),
            tls_ca_file: env("COUNTERSIGN_TLS_CA_FILE"),
            sms: None,
            email: None,
            votp_custom_delivery: match env("COUNTERSIGN_VOTP_CUSTOM_DELIVERY").as_deref() {
                None => None,
                Some("true" | "1") => Some(true),
                Some("false" | "0") => Some(false),
                Some(_) => {
                    return Err(ConfigError::invalid(
                        "COUNTERSIGN_VOTP_CUSTOM_DELIVERY",
                        "COUNTERSIGN_VOTP_CUSTOM_DELIVERY must be true or false",
                    ));
                }
            },
            // Only the `--demo` flag (or the file) turns the demo page on.
            demo: None,
            geoip_database: env("COUNTERSIGN_GEOIP_DATABASE"),
            password_memory_kib: num("COUNTERSIGN_PASSWORD_MEMORY_KIB")?.map(|n| n as u32),
            password_iterations: num("COUNTERSIGN_PASSWORD_ITERATIONS")?.map(|n| n as u32),
            password_parallelism: num("COUNTERSIGN_PASSWORD_PARALLELISM")?.map(|n| n as u32),
            password_hash_threads: num("COUNTERSIGN_PASSWORD_HASH_THREADS")?.map(|n| n as usize),
            gateway_id: env("COUNTERSIGN_GATEWAY_ID"),
            relay: None,
            retention: RawRetention::from_env(&env)?,
            limits: RawLimits::from_env(&env)?,
            tls: RawTls::from_env(&env),
            trusted_proxies: super::network::proxies_from_env(&env),
            forwarded_header: env("COUNTERSIGN_FORWARDED_HEADER"),
            radius_listen: env("COUNTERSIGN_RADIUS_LISTEN"),
        })
    }

    /// `self` with every setting `over` has replacing ours.
    pub fn overlay(self, over: RawConfig) -> RawConfig {
        RawConfig {
            listen: over.listen.or(self.listen),
            data_dir: over.data_dir.or(self.data_dir),
            database_url: over.database_url.or(self.database_url),
            log_format: over.log_format.or(self.log_format),
            log_level: over.log_level.or(self.log_level),
            body_limit_bytes: over.body_limit_bytes.or(self.body_limit_bytes),
            import_limit_bytes: over.import_limit_bytes.or(self.import_limit_bytes),
            shutdown_grace_seconds: over.shutdown_grace_seconds.or(self.shutdown_grace_seconds),
            bootstrap_admin_token: over.bootstrap_admin_token.or(self.bootstrap_admin_token),
            public_url: over.public_url.or(self.public_url),
            master_key: over.master_key.or(self.master_key),
            master_key_file: over.master_key_file.or(self.master_key_file),
            proxy: over.proxy.or(self.proxy),
            tls_ca_file: over.tls_ca_file.or(self.tls_ca_file),
            sms: over.sms.or(self.sms),
            email: over.email.or(self.email),
            votp_custom_delivery: over.votp_custom_delivery.or(self.votp_custom_delivery),
            demo: over.demo.or(self.demo),
            geoip_database: over.geoip_database.or(self.geoip_database),
            password_memory_kib: over.password_memory_kib.or(self.password_memory_kib),
            password_iterations: over.password_iterations.or(self.password_iterations),
            password_parallelism: over.password_parallelism.or(self.password_parallelism),
            password_hash_threads: over.password_hash_threads.or(self.password_hash_threads),
            gateway_id: over.gateway_id.or(self.gateway_id),
            relay: over.relay.or(self.relay),
            retention: match (self.retention, over.retention) {
                (Some(a), Some(b)) => Some(a.overlay(b)),
                (a, b) => b.or(a),
            },
            limits: match (self.limits, over.limits) {
                (Some(a), Some(b)) => Some(a.overlay(b)),
                (a, b) => b.or(a),
            },
            tls: match (self.tls, over.tls) {
                (Some(a), Some(b)) => Some(a.overlay(b)),
                (a, b) => b.or(a),
            },
            trusted_proxies: over.trusted_proxies.or(self.trusted_proxies),
            forwarded_header: over.forwarded_header.or(self.forwarded_header),
            radius_listen: over.radius_listen.or(self.radius_listen),
        }
    }
}
