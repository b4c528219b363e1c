//! A software FIDO UAF 1.1 authenticator (ECDSA P-256, raw signatures and keys) with its
//! client: it answers the server's registration and authentication request messages for
//! a facet, with basic surrogate attestation or basic full attestation by a given key and
//! certificate, and keeps its own signature counter (docs/fido.md, "UAF").

use std::collections::BTreeMap;

use countersign_proto::uaf::{self, FinalChallengeParams, Krd, Request, Response, SignedData};
use countersign_proto::{b64u_decode, b64u_encode};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest, Sha256};

use crate::Error;

/// The software authenticator.
pub struct SoftUaf {
    /// Its AAID.
    pub aaid: String,
    /// The facet it speaks for (the calling web origin or app facet).
    pub facet_id: String,
    /// The signature counter (tests set it back to play a clone).
    pub sign_counter: u32,
    reg_counter: u32,
    keys: BTreeMap<Vec<u8>, SigningKey>,
    full: Option<(SigningKey, Vec<u8>)>,
}

fn local(m: impl Into<String>) -> Error {
    Error::Local(m.into())
}

fn random_key() -> Result<SigningKey, Error> {
    for _ in 0..8 {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|_| local("no randomness"))?;
        if let Ok(k) = SigningKey::from_slice(&raw) {
            return Ok(k);
        }
    }
    Err(local("no key"))
}

fn one_request(message: &serde_json::Value, op: &str) -> Result<Request, Error> {
    let list: Vec<Request> = serde_json::from_value(message.clone()).map_err(|_| local("not a UAF request message"))?;
    let r = list.into_iter().find(|r| r.header.upv == uaf::UPV).ok_or_else(|| local("no UAF 1.1 request"))?;
    if r.header.op != op {
        return Err(local(format!("expected a {op} request")));
    }
    Ok(r)
}

impl SoftUaf {
    /// An authenticator with `aaid` answering for `facet_id`, surrogate attestation.
    pub fn new(aaid: &str, facet_id: &str) -> SoftUaf {
        SoftUaf {
            aaid: aaid.to_owned(),
            facet_id: facet_id.to_owned(),
            sign_counter: 0,
            reg_counter: 0,
            keys: BTreeMap::new(),
            full: None,
        }
    }

    /// Its state (AAID, facet, counters and the surrogate-attested keys) as JSON, so a
    /// test can keep an authenticator between runs (the upgrade fixtures do). The keys
    /// are in it in the clear: for tests only.
    pub fn export(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .map(|(id, k)| serde_json::json!({"keyID": b64u_encode(id), "key": b64u_encode(&k.to_bytes())}))
            .collect();
        serde_json::json!({"aaid": self.aaid, "facetID": self.facet_id, "signCounter": self.sign_counter,
            "regCounter": self.reg_counter, "keys": keys})
    }

    /// An authenticator from [`SoftUaf::export`]'s JSON (surrogate attestation).
    pub fn import(state: &serde_json::Value) -> Result<SoftUaf, Error> {
        let text = |f: &str| state[f].as_str().map(str::to_owned).ok_or_else(|| local(format!("no {f}")));
        let count =
            |f: &str| state[f].as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| local(format!("no {f}")));
        let mut keys = BTreeMap::new();
        for k in state["keys"].as_array().ok_or_else(|| local("no keys"))? {
            let id = k["keyID"].as_str().and_then(|s| b64u_decode(s).ok());
            let raw = k["key"].as_str().and_then(|s| b64u_decode(s).ok());
            let (Some(id), Some(raw)) = (id, raw) else { return Err(local("bad key")) };
            keys.insert(id, SigningKey::from_slice(&raw).map_err(|_| local("bad key"))?);
        }
        Ok(SoftUaf {
            aaid: text("aaid")?,
            facet_id: text("facetID")?,
            sign_counter: count("signCounter")?,
            reg_counter: count("regCounter")?,
            keys,
            full: None,
        })
    }

    /// Attest registrations with this key and its (DER) certificate: basic full.
    pub fn with_full_attestation(mut self, key: SigningKey, cert_der: Vec<u8>) -> SoftUaf {
        self.full = Some((key, cert_der));
        self
    }

    fn final_challenge(&self, r: &Request) -> Result<(String, Vec<u8>), Error> {
        let fcp = FinalChallengeParams {
            app_id: r.header.app_id.clone().unwrap_or_else(|| self.facet_id.clone()),
            challenge: r.challenge.clone(),
            facet_id: self.facet_id.clone(),
            channel_binding: serde_json::json!({}),
        };
        let text = b64u_encode(&serde_json::to_vec(&fcp).map_err(|e| local(e.to_string()))?);
        let hash = Sha256::digest(text.as_bytes()).to_vec();
        Ok((text, hash))
    }

    fn response(r: &Request, fc_params: String, assertion: Vec<u8>) -> Result<serde_json::Value, Error> {
        let resp = Response {
            header: r.header.clone(),
            fc_params,
            assertions: vec![uaf::AuthenticatorAssertion {
                assertion_scheme: "UAFV1TLV".into(),
                assertion: b64u_encode(&assertion),
            }],
        };
        serde_json::to_value(vec![resp]).map_err(|e| local(e.to_string()))
    }

    /// Answer a registration request message: a new key, its KRD, the attestation.
    pub fn register(&mut self, message: &serde_json::Value) -> Result<serde_json::Value, Error> {
        let r = one_request(message, "Reg")?;
        let (fc_params, fch) = self.final_challenge(&r)?;
        let key = random_key()?;
        let mut key_id = [0u8; 32];
        getrandom::fill(&mut key_id).map_err(|_| local("no randomness"))?;
        self.reg_counter += 1;
        let krd = uaf::krd(&Krd {
            aaid: self.aaid.clone(),
            authenticator_version: 0x0100,
            sign_alg: uaf::ALG_SIGN_P256_RAW,
            pub_key_alg: uaf::ALG_KEY_P256_RAW,
            final_challenge_hash: fch,
            key_id: key_id.to_vec(),
            sign_counter: self.sign_counter,
            reg_counter: self.reg_counter,
            pub_key: key.verifying_key().to_encoded_point(false).as_bytes().to_vec(),
        });
        let attestation = match &self.full {
            Some((att, cert)) => {
                let sig: Signature = att.sign(&krd);
                let body =
                    [uaf::encode(uaf::TAG_SIGNATURE, &sig.to_bytes()), uaf::encode(uaf::TAG_ATTESTATION_CERT, cert)]
                        .concat();
                uaf::encode(uaf::TAG_ATTESTATION_BASIC_FULL, &body)
            }
            None => {
                let sig: Signature = key.sign(&krd);
                uaf::encode(uaf::TAG_ATTESTATION_BASIC_SURROGATE, &uaf::encode(uaf::TAG_SIGNATURE, &sig.to_bytes()))
            }
        };
        self.keys.insert(key_id.to_vec(), key);
        Self::response(&r, fc_params, uaf::encode(uaf::TAG_REG_ASSERTION, &[krd, attestation].concat()))
    }

    /// Answer an authentication request message (confirming its transaction text, if any).
    pub fn authenticate(&mut self, message: &serde_json::Value) -> Result<serde_json::Value, Error> {
        let r = one_request(message, "Auth")?;
        let wanted: Vec<Vec<u8>> = r
            .policy
            .accepted
            .iter()
            .flatten()
            .filter(|m| m.aaid.as_ref().is_none_or(|a| a.contains(&self.aaid)))
            .flat_map(|m| m.key_ids.clone().unwrap_or_default())
            .filter_map(|k| b64u_decode(&k).ok())
            .collect();
        let (key_id, key) = self
            .keys
            .iter()
            .find(|(id, _)| wanted.is_empty() || wanted.contains(id))
            .ok_or_else(|| local("no registered key matches the policy"))?;
        let (fc_params, fch) = self.final_challenge(&r)?;
        let text = r.transaction.as_ref().and_then(|t| t.first()).map(|t| b64u_decode(&t.content)).transpose();
        let text = text.map_err(|_| local("the transaction is not base64url"))?;
        self.sign_counter += 1;
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|_| local("no randomness"))?;
        let sd = uaf::signed_data(&SignedData {
            aaid: self.aaid.clone(),
            authentication_mode: if text.is_some() { 2 } else { 1 },
            sign_alg: uaf::ALG_SIGN_P256_RAW,
            nonce: nonce.to_vec(),
            final_challenge_hash: fch,
            transaction_content_hash: text.map(|t| Sha256::digest(&t).to_vec()).unwrap_or_default(),
            key_id: key_id.clone(),
            sign_counter: self.sign_counter,
        });
        let sig: Signature = key.sign(&sd);
        let body = [sd, uaf::encode(uaf::TAG_SIGNATURE, &sig.to_bytes())].concat();
        Self::response(&r, fc_params, uaf::encode(uaf::TAG_AUTH_ASSERTION, &body))
    }

    /// Forget keys named by a deregistration request message; how many were forgotten.
    pub fn deregister(&mut self, message: &serde_json::Value) -> Result<usize, Error> {
        let list: Vec<uaf::DeregistrationRequest> =
            serde_json::from_value(message.clone()).map_err(|_| local("not a UAF deregistration message"))?;
        let mut n = 0;
        for d in list.iter().flat_map(|d| d.authenticators.iter()).filter(|a| a.aaid == self.aaid) {
            if let Ok(id) = b64u_decode(&d.key_id) {
                n += usize::from(self.keys.remove(&id).is_some());
            }
        }
        Ok(n)
    }
}
