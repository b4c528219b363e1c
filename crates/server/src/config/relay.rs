//! `[relay]`: pushes through a notification relay (docs/gateway.md), checked.

use std::path::PathBuf;

use super::{ConfigError, RawRelay};

impl RawRelay {
    pub(super) fn validate(
        self,
        gateway_id: Option<&str>,
    ) -> Result<countersign_gateway::site::SiteConfig, ConfigError> {
        let gateway_id = gateway_id.ok_or_else(|| {
            ConfigError::invalid("gateway_id", "[relay] needs gateway_id (the ID the relay knows this site by)")
        })?;
        if !countersign_gateway::sites::valid_gateway_id(gateway_id) {
            return Err(ConfigError::invalid(
                "gateway_id",
                "gateway_id: 1–64 letters, digits, '-', '_' or '.' when [relay] is used",
            ));
        }
        let url = self.url.ok_or_else(|| {
            ConfigError::invalid("relay.url", "relay.url is required (the relay's site port, https://host:port)")
        })?;
        let credential_file = self
            .credential_file
            .ok_or_else(|| ConfigError::invalid("relay.credential_file", "relay.credential_file is required"))?;
        let ca_pem = match &self.ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                ConfigError::invalid("relay.ca_file", format!("relay.ca_file: cannot read {path}: {e}"))
            })?),
            None => None,
        };
        let cfg = countersign_gateway::site::SiteConfig {
            url,
            server_name: self.server_name,
            gateway_id: gateway_id.to_owned(),
            credential_file: PathBuf::from(credential_file),
            ca_pem,
            connections: self.connections.unwrap_or(1).clamp(1, 16),
            heartbeat: std::time::Duration::from_secs(self.heartbeat_seconds.unwrap_or(5).clamp(1, 300)),
            push_url: self.push_url,
        };
        if let Some(u) = &cfg.push_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(ConfigError::invalid("relay.push_url", "relay.push_url must be an https:// URL"));
        }
        cfg.host_port().map_err(|e| ConfigError::invalid("relay.url", format!("relay.url: {e}")))?;
        Ok(cfg)
    }
}
