//! Why the server, the demo or an offline command stopped. `main` prints the text after
//! `countersign: ` on standard error: it names the address, file, database or setting at
//! fault and what to do, once, and never a secret.

use std::net::SocketAddr;

use countersign_core::CoreError;

use crate::config::ConfigError;
use crate::describe;

/// What stopped a command.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listening address cannot be had.
    #[error("cannot listen on {addr}: {}", listen_reason(source))]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database cannot be opened or migrated.
    #[error("cannot {action} database {database}: {reason}")]
    Database {
        /// `open` or `migrate`.
        action: &'static str,
        /// The database: a SQLite file's path, or the URL without its password.
        database: String,
        /// Why, in the file system's words when it has some.
        reason: String,
        /// The storage error.
        #[source]
        source: countersign_core::StoreError,
    },
    /// A file or directory cannot be read, created or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the path.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The configured master key or keyring cannot be read: not 32 bytes of base64url,
    /// or a keyring line that is wrong.
    #[error("{from}: {reason} (a master key is 32 bytes in base64url, 43 characters)")]
    MasterKey {
        /// Where it came from: the variable or the key file.
        from: String,
        /// What is wrong, without key material.
        reason: String,
    },
    /// The operating system gave no randomness.
    #[error("random source failed: {0}")]
    Random(getrandom::Error),
    /// A domain operation refused (bootstrap token, demo setup, offline administration).
    #[error("{}", domain_text(context_invalid, context_other, source))]
    Domain {
        /// Put before a `field: message` refusal.
        context_invalid: &'static str,
        /// Put before any other failure.
        context_other: &'static str,
        /// The domain's error.
        #[source]
        source: CoreError,
    },
    /// The geolocation database cannot be read.
    #[error("{0}")]
    Geo(String),
    /// The TLS certificate or key cannot be used (names the file, never the key).
    #[error("{0}")]
    Tls(String),
    /// The outbox worker cannot start (proxy, extra CA certificates).
    #[error(transparent)]
    Delivery(#[from] countersign_delivery::StartError),
    /// The HTTP server failed while serving.
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
    /// The command line asks for something this command does not do.
    #[error("{0}")]
    Usage(String),
    /// The gateway, relay or site link cannot start (docs/gateway.md).
    #[error("{0}")]
    Gateway(String),
    /// `admin audit verify` found the audit log's chain broken.
    #[error("the audit log's chain is broken at {0} (docs/security.md, \"Audit log\")")]
    AuditBroken(countersign_core::audit::AuditProblem),
}

impl ServerError {
    /// An [`ServerError::Io`] maker for `map_err`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServerError {
        let what = what.into();
        move |source| ServerError::Io { what, source }
    }

    /// A [`ServerError::Domain`]: `field: message` after `context_invalid` for a refused
    /// field, the error and its causes after `context_other` otherwise.
    pub fn domain(context_invalid: &'static str, context_other: &'static str, source: CoreError) -> ServerError {
        ServerError::Domain { context_invalid, context_other, source }
    }
}

fn listen_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "the address is in use (another countersign or another program listens \
                                          there); choose another with --listen or COUNTERSIGN_LISTEN"
            .to_owned(),
        std::io::ErrorKind::AddrNotAvailable => "the address is not one of this machine's".to_owned(),
        _ => e.to_string(),
    }
}

fn domain_text(context_invalid: &str, context_other: &str, e: &CoreError) -> String {
    match e {
        CoreError::Invalid { field, message } => format!("{context_invalid}{field}: {message}"),
        other => format!("{context_other}{}", describe(other)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn texts_name_what_failed() {
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let e = ServerError::Listen { addr, source: std::io::ErrorKind::AddrInUse.into() };
        assert!(e.to_string().starts_with("cannot listen on 127.0.0.1:8080: the address is in use"), "{e}");
        let e = ServerError::domain("demo setup: ", "demo setup: ", CoreError::invalid("domain", "too long"));
        assert_eq!(e.to_string(), "demo setup: domain: too long");
        let e = ServerError::domain("", "cannot create the first admin token: ", CoreError::Unauthorized);
        assert_eq!(e.to_string(), "cannot create the first admin token: unauthorized");
    }
}
