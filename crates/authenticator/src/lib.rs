//! The reference mobile authenticator: everything a phone app does in the countersign
//! mobile protocol (docs/mobile-protocol.md) — activation from the QR payload, keys, the
//! PIN, custom authenticators, push registration, fetching requests, approving and
//! declining — as a library,
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
    /// Custom authenticators to register: one key each, under these names.
    pub custom: Vec<String>,
}

impl Default for ActivateOptions {
    fn default() -> Self {
        Self { biometric: true, app_id: "countersign-authenticator".into(), device_name: None, custom: Vec::new() }
    }
}

/// How to answer a request.
///
/// The key that signs is chosen from the request's method ([`Authenticator::choose_key`]):
/// give the PIN and the biometric wish the user expressed, and the library uses what the
/// method needs.
#[derive(Debug, Clone, Default)]
pub struct Answer<'a> {
    /// Approve (else decline).
    pub approve: bool,
    /// The PIN, for PIN (and fingerprint-fallback) approvals; ignored where none is needed.
    pub pin: Option<&'a str>,
    /// Prefer the biometric key (fingerprint approvals).
    pub biometric: bool,
    /// Prefer the custom authenticator's key (`Custom` approvals).
    pub custom: bool,
    /// The number the user picked (number matching).
    pub number: Option<u8>,
    /// Sign with exactly this key, whatever the method needs — only to test how the server
    /// treats a wrong key. `None` (the default): the key the method needs.
    pub key: Option<KeyKind>,
}

/// A device key that can sign an answer (the `key` field of the response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The possession key: declines, and approvals of `NoPIN` requests.
    Possession,
    /// The key derived from the PIN: `PIN` approvals, and `Fingerprint` ones without biometrics.
    Pin,
    /// The biometric key: `Fingerprint` approvals.
    Biometric,
    /// The key of the custom authenticator a `Custom` request names.
    Custom,
}

impl KeyKind {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Possession => "possession",
            KeyKind::Pin => "pin",
            KeyKind::Biometric => "biometric",
            KeyKind::Custom => "custom",
        }
    }
}

/// The key an answer is signed with, and what the user gave that it does not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChoice {
    /// The key.
    pub key: KeyKind,
    /// A note for the user when a PIN or the biometric wish is not used (it is not an error).
    pub ignored: Option<String>,
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
        let mut custom = std::collections::BTreeMap::new();
        for name in &opts.custom {
            custom.insert(name.clone(), new_key()?);
        }
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
            custom_keys: custom.iter().map(|(n, k)| (n.clone(), k.public_b64u())).collect(),
            app_id: opts.app_id.clone(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            device_name: opts.device_name.clone(),
            possession_proof: possession.sign(&proof),
            pin_proof: pin_key.sign(&proof),
            biometric_proof: biometric.as_ref().map(|k| k.sign(&proof)),
            custom_proofs: custom.iter().map(|(n, k)| (n.clone(), k.sign(&proof))).collect(),
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
                    custom: custom.iter().map(|(n, k)| (n.clone(), b64u_encode(&k.secret_bytes()))).collect(),
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

    /// Which key answers `req` with `answer`: declines are signed with the possession key;
    /// approvals of `NoPIN` with the possession key (a PIN given is not used), of `PIN` with
    /// the PIN key (no PIN: an error, before anything is sent), of `Fingerprint` with the
    /// biometric key when asked for or when no PIN is given and this authenticator has one,
    /// else the PIN key; of `Custom` likewise with the key of the custom authenticator the
    /// request names, else the PIN key. [`Answer::key`] overrides the choice.
    pub fn choose_key(&self, req: &PendingRequest, answer: &Answer<'_>) -> Result<KeyChoice, Error> {
        let id = &req.request_id;
        let has_biometric = self.state.secrets.biometric.is_some();
        // What the user gave and the chosen key does not use, for the note.
        let custom_name = req.custom_authenticator.as_deref().unwrap_or("");
        let has_custom = self.state.secrets.custom.contains_key(custom_name);
        let note = |key: KeyKind, why: String| {
            let pin = answer.pin.is_some() && key != KeyKind::Pin;
            let bio = answer.biometric && key != KeyKind::Biometric;
            let custom = answer.custom && key != KeyKind::Custom;
            let what = match (pin, bio || custom) {
                (true, true) if custom => "the PIN and the custom authenticator are",
                (true, true) => "the PIN and the biometric key are",
                (true, false) => "the PIN is",
                (false, true) if custom => "the custom authenticator is",
                (false, true) => "the biometric key is",
                (false, false) => return Ok(KeyChoice { key, ignored: None }),
            };
            Ok(KeyChoice { key, ignored: Some(format!("{what} not used: {why}")) })
        };
        if let Some(key) = answer.key {
            return Ok(KeyChoice { key, ignored: None });
        }
        if !answer.approve {
            return note(KeyKind::Possession, "a decline is signed with the possession key".into());
        }
        let needs_pin =
            |what: &str| Error::Local(format!("request {id} is a {what}: approving it needs the PIN (--pin)"));
        match req.method.as_str() {
            "NoPIN" => note(KeyKind::Possession, format!("request {id} is a NoPIN login, approved with the possession key")),
            "PIN" if answer.pin.is_some() => {
                note(KeyKind::Pin, format!("request {id} is a PIN login, approved with the PIN key"))
            }
            "PIN" => Err(needs_pin("PIN login")),
            "Fingerprint" if answer.biometric && !has_biometric => Err(Error::Local(
                "this authenticator has no biometric key (it was activated with --no-biometric): approve with the PIN (--pin)"
                    .into(),
            )),
            "Fingerprint" if answer.biometric || (answer.pin.is_none() && has_biometric) => {
                note(KeyKind::Biometric, format!("request {id} is approved with the biometric key"))
            }
            "Fingerprint" if answer.pin.is_some() => note(KeyKind::Pin, String::new()),
            "Fingerprint" => Err(needs_pin("Fingerprint login and this authenticator has no biometric key")),
            "Custom" if answer.custom && !has_custom => Err(Error::Local(format!(
                "request {id} asks for the custom authenticator {custom_name:?}, which this authenticator was not \
                 activated with (--custom NAME): approve with the PIN (--pin)"
            ))),
            "Custom" if answer.custom || (answer.pin.is_none() && has_custom) => note(
                KeyKind::Custom,
                format!("request {id} is approved with the custom authenticator {custom_name:?}"),
            ),
            "Custom" if answer.pin.is_some() => note(KeyKind::Pin, String::new()),
            "Custom" => Err(needs_pin(&format!(
                "Custom login and this authenticator has no custom authenticator {custom_name:?}"
            ))),
            other => Err(Error::Local(format!(
                "request {id} has the method {other:?}, which this authenticator cannot approve"
            ))),
        }
    }

    /// The signed body answering `req`: what [`Self::respond`] sends (tests replay it). The
    /// key is the one [`Self::choose_key`] picks.
    pub fn response_body(&self, req: &PendingRequest, answer: &Answer<'_>) -> Result<ResponseBody, Error> {
        let decision = if answer.approve { "accept" } else { "decline" };
        let kind = self.choose_key(req, answer)?.key;
        let key =
            match kind {
                KeyKind::Possession => key_from(&self.state.secrets.possession)?,
                KeyKind::Biometric => key_from(
                    self.state.secrets.biometric.as_deref().ok_or_else(|| Error::Local("no biometric key".into()))?,
                )?,
                KeyKind::Custom => {
                    let name = req.custom_authenticator.as_deref().unwrap_or("");
                    key_from(self.state.secrets.custom.get(name).ok_or_else(|| {
                        Error::Local(format!("this authenticator has no custom authenticator {name:?}"))
                    })?)?
                }
                KeyKind::Pin => {
                    let pin = answer.pin.ok_or_else(|| Error::Local("the PIN key needs the PIN".into()))?;
                    let secret = b64u_decode(&self.state.secrets.device_secret)
                        .map_err(|_| Error::Local("damaged store".into()))?;
                    derive_pin_key(&secret, pin).map_err(|e| Error::Local(e.to_string()))?
                }
            };
        let digest = signed::display_digest(&req.message, &req.context);
        let bytes = signed::response(&req.request_id, decision, &req.nonce, answer.number, &digest);
        Ok(ResponseBody {
            decision: decision.to_owned(),
            key: kind.as_str().to_owned(),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn authenticator(biometric: bool) -> Authenticator {
        let secret = |k: KeyPair| b64u_encode(&k.secret_bytes());
        let secrets = Secrets {
            possession: secret(new_key().unwrap()),
            device_secret: b64u_encode(&random_bytes::<32>().unwrap()),
            biometric: biometric.then(|| secret(new_key().unwrap())),
            // Devices with biometrics also have the custom authenticator "face" here.
            custom: if biometric {
                std::collections::BTreeMap::from([("face".to_owned(), secret(new_key().unwrap()))])
            } else {
                Default::default()
            },
        };
        let state = State {
            server: "http://127.0.0.1:9".into(),
            device_id: "d".into(),
            user_id: "alice".into(),
            domain: "example.com".into(),
            app_id: "a".into(),
            secrets,
        };
        Authenticator { state, http: client() }
    }

    fn request(method: &str) -> PendingRequest {
        PendingRequest {
            request_id: "r-1".into(),
            method: method.into(),
            custom_authenticator: (method == "Custom").then(|| "face".to_owned()),
            message: "Sign in?".into(),
            context: Default::default(),
            nonce: "n".into(),
            number_choices: None,
            expires_at: String::new(),
        }
    }

    /// The key's public half, to check which key signed.
    fn public(auth: &Authenticator, kind: KeyKind, pin: &str) -> String {
        let s = &auth.state.secrets;
        match kind {
            KeyKind::Possession => key_from(&s.possession).unwrap().public_b64u(),
            KeyKind::Biometric => key_from(s.biometric.as_deref().unwrap()).unwrap().public_b64u(),
            KeyKind::Pin => derive_pin_key(&b64u_decode(&s.device_secret).unwrap(), pin).unwrap().public_b64u(),
            KeyKind::Custom => key_from(&s.custom["face"]).unwrap().public_b64u(),
        }
    }

    #[test]
    fn the_method_chooses_the_key() {
        use KeyKind::*;
        let (with_bio, without_bio) = (authenticator(true), authenticator(false));
        let answer = |approve, pin, biometric| Answer { approve, pin, biometric, ..Default::default() };
        // (authenticator, method, answer, key, a note expected)
        let cases = [
            (&with_bio, "NoPIN", answer(true, None, false), Possession, false),
            (&with_bio, "NoPIN", answer(true, Some("1234"), false), Possession, true),
            (&with_bio, "PIN", answer(true, Some("1234"), false), Pin, false),
            (&with_bio, "PIN", answer(true, Some("1234"), true), Pin, true),
            (&with_bio, "PIN", answer(false, Some("1234"), false), Possession, true),
            (&with_bio, "Fingerprint", answer(true, None, false), Biometric, false),
            (&with_bio, "Fingerprint", answer(true, Some("1234"), false), Pin, false),
            (&with_bio, "Fingerprint", answer(true, Some("1234"), true), Biometric, true),
            (&without_bio, "Fingerprint", answer(true, Some("1234"), false), Pin, false),
            (&without_bio, "Fingerprint", answer(false, None, false), Possession, false),
            (&with_bio, "Custom", answer(true, None, false), Custom, false),
            (&with_bio, "Custom", answer(true, Some("1234"), false), Pin, false),
            (
                &with_bio,
                "Custom",
                Answer { approve: true, pin: Some("1234"), custom: true, ..Default::default() },
                Custom,
                true,
            ),
            (&without_bio, "Custom", answer(true, Some("1234"), false), Pin, false),
            (&without_bio, "Custom", answer(false, None, false), Possession, false),
        ];
        for (auth, method, answer, key, noted) in cases {
            let req = request(method);
            let choice = auth.choose_key(&req, &answer).unwrap();
            assert_eq!((choice.key, choice.ignored.is_some()), (key, noted), "{method} {answer:?}");
            let body = auth.response_body(&req, &answer).unwrap();
            assert_eq!(body.key, key.as_str());
            let bytes = signed::response("r-1", &body.decision, "n", None, &body.display_digest);
            assert!(
                countersign_proto::verify(&public(auth, key, "1234"), &bytes, &body.signature),
                "{method} {answer:?}"
            );
        }
        // What cannot be approved is refused before anything is sent.
        for (auth, method, answer) in [
            (&with_bio, "PIN", answer(true, None, false)),
            (&with_bio, "PIN", answer(true, None, true)),
            (&without_bio, "Fingerprint", answer(true, None, false)),
            (&without_bio, "Fingerprint", answer(true, Some("1234"), true)),
            (&with_bio, "Carrier-pigeon", answer(true, Some("1234"), false)),
            (&without_bio, "Custom", answer(true, None, false)),
            (&without_bio, "Custom", Answer { approve: true, pin: Some("1234"), custom: true, ..Default::default() }),
        ] {
            let e = auth.response_body(&request(method), &answer).unwrap_err();
            assert!(matches!(e, Error::Local(_)), "{method} {answer:?}: {e}");
        }
        // An explicit key overrides the choice (to test the server's checks).
        let forced = Answer { approve: true, key: Some(Possession), ..Default::default() };
        assert_eq!(with_bio.response_body(&request("PIN"), &forced).unwrap().key, "possession");
    }
}
