//! HTTPS served by the server itself (docs/security.md, "TLS"): rustls with the
//! certificate chain and key of `[tls]`, HTTP/1.1 and HTTP/2 by ALPN.
//!
//! The files are read at start (a bad file stops the start, naming it) and again on
//! SIGHUP or when either file changes (checked every [`RELOAD_INTERVAL`]); new handshakes
//! get the new certificate, connections already open keep theirs. A reload that fails is
//! logged and the certificate in use is kept, so a half-written file never takes the
//! server down.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tower::ServiceExt;

use crate::ServerError;
use crate::config::TlsFiles;

/// How often the files are checked for a change.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(2);

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate served, swapped whole on reload.
pub struct Certs {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
}

impl std::fmt::Debug for Certs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certs").field("files", &self.files).finish_non_exhaustive()
    }
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

/// The chain and key of `files`, checked to belong together. The error names the file
/// and never holds key material.
fn load(files: &TlsFiles) -> Result<CertifiedKey, String> {
    let cert_name = files.cert_file.display();
    let key_name = files.key_file.display();
    let pem = std::fs::read(&files.cert_file).map_err(|e| format!("tls.cert_file: cannot read {cert_name}: {e}"))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls.cert_file: {cert_name} is not PEM certificates: {e}"))?;
    if chain.is_empty() {
        return Err(format!("tls.cert_file: {cert_name} holds no certificate"));
    }
    let pem = std::fs::read(&files.key_file).map_err(|e| format!("tls.key_file: cannot read {key_name}: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|_| format!("tls.key_file: {key_name} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)"))?;
    CertifiedKey::from_der(chain, key, &provider())
        .map_err(|e| format!("tls: the key in {key_name} does not fit the certificate in {cert_name}: {e}"))
}

impl Certs {
    /// Read the files, or say which one is wrong.
    pub fn open(files: &TlsFiles) -> Result<Arc<Certs>, ServerError> {
        let key = load(files).map_err(ServerError::Tls)?;
        Ok(Arc::new(Certs { files: files.clone(), current: RwLock::new(Arc::new(key)) }))
    }

    /// Read the files again; on success new handshakes use them.
    pub fn reload(&self) -> Result<(), String> {
        let key = load(&self.files)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
        Ok(())
    }

    /// A TLS acceptor serving the current certificate, offering h2 and http/1.1.
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, ServerError> {
        let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| ServerError::Tls(format!("tls: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(cfg)))
    }

    fn stamp(&self) -> [Option<(SystemTime, u64)>; 2] {
        let of = |p: &std::path::Path| std::fs::metadata(p).ok().and_then(|m| Some((m.modified().ok()?, m.len())));
        [of(&self.files.cert_file), of(&self.files.key_file)]
    }
}

/// Reload `certs` on SIGHUP and when the files change, until `stop`.
pub async fn watch(certs: Arc<Certs>, mut stop: watch::Receiver<bool>) {
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut seen = certs.stamp();
    let mut tick = tokio::time::interval(RELOAD_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let sighup = async {
            match hangup.as_mut() {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let sighup = std::future::pending::<Option<()>>();
        let why = tokio::select! {
            _ = tick.tick() => {
                let now = certs.stamp();
                if now == seen {
                    continue;
                }
                "changed"
            }
            _ = sighup => "SIGHUP",
            changed = stop.changed() => if changed.is_err() || *stop.borrow() {
                return;
            } else {
                continue;
            },
        };
        seen = certs.stamp();
        match certs.reload() {
            Ok(()) => tracing::info!(cert_file = %certs.files.cert_file.display(), why, "TLS certificate reloaded"),
            Err(e) => tracing::error!(error = %e, why, "cannot reload the TLS certificate; keeping the one in use"),
        }
    }
}

/// Serve `app` over TLS on `listener` until `stop`; then stop accepting and return once
/// the open connections have finished (the caller bounds that by its grace period).
pub async fn serve(listener: TcpListener, app: Router, acceptor: TlsAcceptor, mut stop: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = async { drop(stop.wait_for(|s| *s).await) } => break,
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, app, watcher) = (acceptor.clone(), app.clone(), graceful.watcher());
        tokio::spawn(async move {
            let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
                return;
            };
            let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(30));
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), svc);
            let _ = watcher.watch(conn).await;
        });
    }
    tracing::info!("shutting down: no new connections; finishing requests in flight");
    graceful.shutdown().await;
}
