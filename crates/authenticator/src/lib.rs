//! The reference mobile authenticator: everything a phone app does in the countersign
//! mobile protocol (docs/mobile-protocol.md) — activation from the QR payload, keys, the
//! PIN, push registration, fetching requests, approving and declining — as a library,
//! with the `countersign-authenticator` CLI on top. Tests drive the real server with it.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use countersign_proto::messages::{
    CodeRequest, Confirmation, InstanceData, InstanceRequest, LicenseData, PendingRequest, PushRegistration, QrPayload,
    ResponseBody, ResponseResult,
};
use countersign_proto::{KeyPair, b64u_decode, b64u_encode, derive_pin_key, signed};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod keystore;
pub mod qrimage;
pub mod uaf;

use keystore::{Secrets, State, random_bytes};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server refused, with its error code.
    #[error("server refused ({status}): {code}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The stable error code.
        code: String,
        /// The message.
        message: String,
        /// Tries left, when the server counts.
        attempts_left: Option<u32>,
    },
    /// The server could not be reached or answered nonsense.
    #[error("transport: {0}")]
    Transport(String),
    /// A local problem (store file, keys, input).
    #[error("{0}")]
    Local(String),
}

impl Error {
    /// The server's error code, when the server refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Server { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Options for activation.
#[derive(Debug, Clone)]
pub struct ActivateOptions {
    /// Register a biometric key too.
    pub biometric: bool,
    /// The app ID.
    pub app_id: String,
    /// A device name.
    pub device_name: Option<String>,
}

impl Default for ActivateOptions {
    fn default() -> Self {
        Self { biometric: true, app_id: "countersign-authenticator".into(), device_name: None }
    }
}

/// How to answer a request.
#[derive(Debug, Clone, Default)]
pub struct Answer<'a> {
    /// Approve (else decline).
    pub approve: bool,
    /// The PIN, for PIN (and fingerprint-fallback) approvals.
    pub pin: Option<&'a str>,
    /// Use the biometric key (fingerprint approvals).
    pub biometric: bool,
    /// The number the user picked (number matching).
    pub number: Option<u8>,
}

/// An activated authenticator.
#[derive(Clone)]
pub struct Authenticator {
    /// Its state.
    pub state: State,
    http: reqwest::Client,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("server", &self.state.server)
            .field("device", &self.state.device_id)
            .finish()
    }
}

fn now_ms() -> i64 {
    #[allow(clippy::disallowed_methods)]
    let now = SystemTime::now();
    now.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A new random key; fails rather than ever using weak randomness.
fn new_key() -> Result<KeyPair, Error> {
    loop {
        if let Ok(k) = KeyPair::from_secret(&random_bytes::<32>()?) {
            return Ok(k);
        }
    }
}

fn key_from(b64: &str) -> Result<KeyPair, Error> {
    let bytes = b64u_decode(b64).map_err(|_| Error::Local("damaged key in store".into()))?;
    KeyPair::from_secret(&bytes).map_err(|_| Error::Local("damaged key in store".into()))
}

async fn read<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, Error> {
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.map_err(|e| Error::Transport(e.to_string()))?;
    if (200..300).contains(&status) {
        let bytes = if bytes.is_empty() { &b"null"[..] } else { &bytes[..] };
        return serde_json::from_slice(bytes).map_err(|e| Error::Transport(format!("unexpected answer: {e}")));
    }
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let e = &v["error"];
    Err(Error::Server {
        status,
        code: e["code"].as_str().unwrap_or("unknown").to_owned(),
        message: e["message"].as_str().unwrap_or("").to_owned(),
        attempts_left: e["attemptsLeft"].as_u64().map(|n| n as u32),
    })
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

impl Authenticator {
    /// Activate from a QR payload (`countersign://activate?…`) with `pin`: prove the code,
    /// make and register the keys, confirm. The device polls until [`Self::register_push`].
    pub async fn activate(qr: &str, pin: &str, opts: &ActivateOptions) -> Result<Authenticator, Error> {
        let qr = QrPayload::parse(qr).ok_or_else(|| Error::Local("not a countersign activation QR payload".into()))?;
        if pin.is_empty() {
            return Err(Error::Local("a PIN is required".into()));
        }
        let http = client();
        let base = qr.server.trim_end_matches('/').to_owned();
        let id = &qr.activation_id;
        let license: LicenseData = read(
            http.post(format!("{base}/mobile/v1/activations/{id}/code"))
                .json(&CodeRequest { code: qr.code.clone() })
                .send()
                .await
                .map_err(|e| Error::Transport(e.to_string()))?,
        )
        .await?;

        let possession = new_key()?;
        let device_secret = random_bytes::<32>()?;
        let pin_key = derive_pin_key(&device_secret, pin).map_err(|e| Error::Local(e.to_string()))?;
        let biometric = if opts.biometric { Some(new_key()?) } else { None };
        let bio_pub = biometric.as_ref().map(KeyPair::public_b64u);
        let proof = signed::activation_proof(
            id,
            &license.nonce,
            &possession.public_b64u(),
            &pin_key.public_b64u(),
            bio_pub.as_deref(),
        );
        let req = InstanceRequest {
            nonce: license.nonce.clone(),
            possession_key: possession.public_b64u(),
            pin_key: pin_key.public_b64u(),
            biometric_key: bio_pub,
            custom_keys: Default::default(),
            app_id: opts.app_id.clone(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            device_name: opts.device_name.clone(),
            possession_proof: possession.sign(&proof),
            pin_proof: pin_key.sign(&proof),
            biometric_proof: biometric.as_ref().map(|k| k.sign(&proof)),
        };
        let instance: InstanceData = read(
            http.post(format!("{base}/mobile/v1/activations/{id}/instance"))
                .json(&req)
                .send()
                .await
                .map_err(|e| Error::Transport(e.to_string()))?,
        )
        .await?;
        let mut auth = Authenticator {
            state: State {
                server: base,
                device_id: instance.device_id,
                user_id: license.user_id,
                domain: license.domain,
                app_id: opts.app_id.clone(),
                secrets: Secrets {
                    possession: b64u_encode(&possession.secret_bytes()),
                    device_secret: b64u_encode(&device_secret),
                    biometric: biometric.map(|k| b64u_encode(&k.secret_bytes())),
                },
            },
            http,
        };
        let c: Confirmation = auth.signed("POST", "/mobile/v1/device/confirm", Some(&serde_json::json!({}))).await?;
        auth.state.user_id = c.user_id;
        auth.state.domain = c.domain;
        Ok(auth)
    }

    /// Load an activated authenticator from its store.
    pub fn load(path: &Path, passphrase: &str) -> Result<Authenticator, Error> {
        Ok(Authenticator { state: State::load(path, passphrase)?, http: client() })
    }

    /// Save to its store.
    pub fn save(&self, path: &Path, passphrase: &str) -> Result<(), Error> {
        self.state.save(path, passphrase)
    }

    /// Send a device-signed request.
    async fn signed<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, Error> {
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| Error::Local(e.to_string()))?,
            None => Vec::new(),
        };
        let ts = now_ms();
        let nonce = b64u_encode(&random_bytes::<18>()?);
        let key = key_from(&self.state.secrets.possession)?;
        let sig = key.sign(&signed::request(method, path, ts, &nonce, &bytes));
        let m = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| Error::Local(e.to_string()))?;
        let mut req = self
            .http
            .request(m, format!("{}{path}", self.state.server))
            .header("x-cs-device", &self.state.device_id)
            .header("x-cs-timestamp", ts.to_string())
            .header("x-cs-nonce", nonce)
            .header("x-cs-signature", sig);
        if body.is_some() {
            req = req.header("content-type", "application/json").body(bytes);
        }
        read(req.send().await.map_err(|e| Error::Transport(e.to_string()))?).await
    }

    /// Register where pushes go: `poll`, or `webhook` with the URL to POST to.
    pub async fn register_push(&self, platform: &str, token: Option<&str>) -> Result<(), Error> {
        let reg =
            PushRegistration { platform: platform.to_owned(), token: token.map(str::to_owned), app_version: None };
        let _: serde_json::Value = self.signed("PUT", "/mobile/v1/device/push", Some(&reg)).await?;
        Ok(())
    }

    /// Claim a QR login from its payload (or app link). Refuses a code of another server
    /// without contacting it.
    pub async fn claim(&self, payload: &str) -> Result<ResponseResult, Error> {
        let p = countersign_proto::messages::QrLoginPayload::parse(payload)
            .ok_or_else(|| Error::Local("not a countersign QR-login code".into()))?;
        if p.server.trim_end_matches('/') != self.state.server.trim_end_matches('/') {
            return Err(Error::Local(format!(
                "this QR code is for {}, not for this authenticator's server {}: refused",
                p.server, self.state.server
            )));
        }
        if p.request_id.is_empty() || !p.request_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Error::Local("the QR code's request ID is malformed".into()));
        }
        let body = countersign_proto::messages::ClaimRequest { code: p.code };
        let path = format!("/mobile/v1/qr-logins/{}/claim", p.request_id);
        self.signed("POST", &path, Some(&body)).await
    }

    /// The pending requests.
    pub async fn pending(&self) -> Result<Vec<PendingRequest>, Error> {
        self.signed::<(), _>("GET", "/mobile/v1/requests", None).await
    }

    /// One pending request.
    pub async fn request(&self, request_id: &str) -> Result<PendingRequest, Error> {
        self.signed::<(), _>("GET", &format!("/mobile/v1/requests/{request_id}"), None).await
    }

    /// The signed body answering `req`: what [`Self::respond`] sends (tests replay it).
    pub fn response_body(&self, req: &PendingRequest, answer: &Answer<'_>) -> Result<ResponseBody, Error> {
        let decision = if answer.approve { "accept" } else { "decline" };
        let (key_name, key) = if !answer.approve {
            ("possession", key_from(&self.state.secrets.possession)?)
        } else if answer.biometric {
            let b = self.state.secrets.biometric.as_deref().ok_or_else(|| Error::Local("no biometric key".into()))?;
            ("biometric", key_from(b)?)
        } else if let Some(pin) = answer.pin {
            let secret =
                b64u_decode(&self.state.secrets.device_secret).map_err(|_| Error::Local("damaged store".into()))?;
            ("pin", derive_pin_key(&secret, pin).map_err(|e| Error::Local(e.to_string()))?)
        } else {
            ("possession", key_from(&self.state.secrets.possession)?)
        };
        let digest = signed::display_digest(&req.message, &req.context);
        let bytes = signed::response(&req.request_id, decision, &req.nonce, answer.number, &digest);
        Ok(ResponseBody {
            decision: decision.to_owned(),
            key: key_name.to_owned(),
            number: answer.number,
            display_digest: digest,
            signature: key.sign(&bytes),
        })
    }

    /// Fetch request `request_id`, sign the answer, send it.
    pub async fn respond(&self, request_id: &str, answer: &Answer<'_>) -> Result<ResponseResult, Error> {
        let req = self.request(request_id).await?;
        let body = self.response_body(&req, answer)?;
        self.send_response(request_id, &body).await
    }

    /// Send an already signed answer.
    pub async fn send_response(&self, request_id: &str, body: &ResponseBody) -> Result<ResponseResult, Error> {
        self.signed("POST", &format!("/mobile/v1/requests/{request_id}/response"), Some(body)).await
    }
}
