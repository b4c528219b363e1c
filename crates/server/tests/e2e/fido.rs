//! FIDO2 passkeys end to end (docs/fido.md) with webauthn-authenticator-rs's software
//! passkey playing the browser and authenticator: registration and login through the seed
//! API, single-use ceremonies, expiry, wrong origin, missing user verification, another
//! user's credential, tenant isolation, credential administration — on both backends.

use crate::common;
use std::sync::Arc;

use crate::common::{App, Auth};
use countersign_authenticator::uaf::SoftUaf;
use countersign_core::{Clock, FixedClock, SystemClock};
use countersign_store::backend_tests;
use crypto_glue::traits::{EncodePem, LineEndingPem};
use serde_json::{Value, json};
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::softtoken::{AAGUID as SOFT_TOKEN_AAGUID, SoftToken};
use webauthn_authenticator_rs::{AuthenticatorBackend, WebauthnAuthenticator};

const ORIGIN: &str = "https://app.example.com";

async fn setup(backend: countersign_store::testing::Backend) -> (App, Arc<FixedClock>, String) {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let app = App::spawn_with_clock(backend, clock.clone()).await;
    let key = app.tenant_with_alice("example.com").await;
    let (s, b) = app
        .admin(
            "PUT",
            "/admin/v1/tenants/example.com/fido",
            Some(json!({"rpID": "example.com", "rpName": "Example", "origins": [ORIGIN]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    (app, clock, key)
}

async fn post(app: &App, key: &str, path: &str, body: Value) -> (u16, Value) {
    app.call("POST", path, Auth::Bearer(key), Some(body)).await
}

/// Register a passkey for `user` with `auth`; the credential view.
async fn register(app: &App, key: &str, user: &str, auth: &mut SoftPasskey) -> Value {
    let (s, c) = try_register(app, key, user, auth, Some("required")).await;
    assert_eq!(s, 201, "{c}");
    c
}

/// The body of a generate-fido-…-request call for FIDO2, asking for `uv` if given.
fn fido2_request(uv: Option<&str>) -> Value {
    let mut body = json!({"fidoProtocol": "FIDO2"});
    if let Some(uv) = uv {
        body["userVerification"] = json!(uv);
    }
    body
}

/// A registration asking for `uv`: the answer of register-fido-authenticator.
async fn try_register<A: AuthenticatorBackend>(
    app: &App,
    key: &str,
    user: &str,
    auth: &mut A,
    uv: Option<&str>,
) -> (u16, Value) {
    let body = fido2_request(uv);
    let (s, r) = post(app, key, &format!("/v1/users/{user}/generate-fido-registration-request"), body).await;
    assert_eq!(s, 200, "{r}");
    assert!(r["uafStatusCode"].is_null());
    let ccr: CreationChallengeResponse = serde_json::from_value(r["registrationRequest"].clone()).unwrap();
    let reg = auth.do_registration(Url::parse(ORIGIN).unwrap(), ccr).unwrap();
    post(
        app,
        key,
        &format!("/v1/users/{user}/register-fido-authenticator"),
        json!({"requestID": r["requestID"], "fidoAuthenticator": {"registrationResponse": reg}, "name": "laptop"}),
    )
    .await
}

/// A login of `user` with `auth`, the request asking for `uv`: the login answer.
async fn try_login<A: AuthenticatorBackend>(
    app: &App,
    key: &str,
    user: &str,
    auth: &mut A,
    uv: Option<&str>,
) -> (u16, Value) {
    let body = fido2_request(uv);
    let (s, r) = post(app, key, &format!("/v1/users/{user}/generate-fido-authentication-request"), body).await;
    if s != 200 {
        return (s, r);
    }
    let rcr: RequestChallengeResponse = serde_json::from_value(r["authenticationRequest"].clone()).unwrap();
    let pkc = auth.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
    post(app, key, &format!("/v1/users/{user}/login"), finish(r["requestID"].as_str().unwrap(), &pkc)).await
}

/// Replace the relying party with `rp` (on top of the test's RP ID and origin).
async fn put_rp(app: &App, rp: Value) -> (u16, Value) {
    let mut body = json!({"rpID": "example.com", "origins": [ORIGIN]});
    body.as_object_mut().unwrap().extend(rp.as_object().unwrap().clone());
    app.admin("PUT", "/admin/v1/tenants/example.com/fido", Some(body)).await
}

/// An authentication request for `user`: (requestID, options).
async fn auth_request(app: &App, key: &str, user: &str) -> (String, RequestChallengeResponse) {
    let (s, r) = post(
        app,
        key,
        &format!("/v1/users/{user}/generate-fido-authentication-request"),
        json!({"fidoProtocol": "FIDO2", "userVerification": "required"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    (r["requestID"].as_str().unwrap().to_owned(), serde_json::from_value(r["authenticationRequest"].clone()).unwrap())
}

fn finish(request_id: &str, response: &impl serde::Serialize) -> Value {
    json!({"objectType": "LoginInput", "requestID": request_id,
           "credentials": {"fidoAuthenticator": {"authenticationResponse": response}}})
}

const FACET: &str = "https://app.example.com";
const AAID: &str = "ABCD#0001";

async fn uaf_setup(backend: countersign_store::testing::Backend) -> (App, String) {
    let app = App::spawn(backend).await;
    let key = app.tenant_with_alice("example.com").await;
    let (s, b) = app
        .admin("PUT", "/admin/v1/tenants/example.com/fido", Some(json!({"rpID": "example.com", "origins": [ORIGIN],
            "uaf": {"appID": "https://app.example.com/uaf/facets.json", "facetIDs": [FACET], "acceptedAaids": [AAID, "ABCD#0002"]}})))
        .await;
    assert_eq!(s, 200, "{b}");
    (app, key)
}

/// Register `auth` through the seed API; the answer (status, body).
async fn uaf_register(app: &App, key: &str, auth: &mut SoftUaf) -> (u16, Value) {
    let (s, r) = post(
        app,
        key,
        "/v1/users/alice@example.com/generate-fido-registration-request",
        json!({"fidoProtocol": "UAF11"}),
    )
    .await;
    assert_eq!((s, r["uafStatusCode"].as_u64()), (200, Some(1200)), "{r}");
    let response = auth.register(&r["registrationRequest"]).unwrap();
    post(
        app,
        key,
        "/v1/users/alice@example.com/register-fido-authenticator",
        json!({"requestID": r["requestID"], "fidoAuthenticator": {"registrationResponse": response}}),
    )
    .await
}

/// An authentication request: (requestID, message).
async fn uaf_request(app: &App, key: &str, text: Option<&str>) -> (String, Value) {
    let mut body = json!({"fidoProtocol": "UAF11"});
    if let Some(t) = text {
        body["authenticationMessage"] = json!(t);
    }
    let (s, r) = post(app, key, "/v1/users/alice@example.com/generate-fido-authentication-request", body).await;
    assert_eq!(s, 200, "{r}");
    (r["requestID"].as_str().unwrap().to_owned(), r["authenticationRequest"].clone())
}

backend_tests! {
    async fn uaf_registers_authenticates_and_deregisters_with_the_software_authenticator(backend) {
        let (app, key) = uaf_setup(backend).await;
        // The trusted facets list a UAF client fetches from the app ID, public, with its media type.
        let r = app.client.get(format!("{}/mobile/v1/tenants/example.com/uaf/trusted-facets", app.base)).send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "application/fido.trusted-apps+json");
        let facets: Value = r.json().await.unwrap();
        assert_eq!(facets, json!({"trustedFacets": [{"version": {"major": 1, "minor": 1}, "ids": [FACET]}]}));
        let (s, b) = app.call("GET", "/mobile/v1/tenants/nowhere.example/uaf/trusted-facets", Auth::None, None).await;
        assert_eq!((s, common::code(&b)), (404, "tenant_not_found"), "{b}");
        let mut auth = SoftUaf::new(AAID, FACET);
        let (s, c) = uaf_register(&app, &key, &mut auth).await;
        assert_eq!(s, 201, "{c}");
        let (_, state) = app.call("GET", "/v1/users/alice@example.com", Auth::Bearer(&key), None).await;
        let uaf_id = format!("{AAID}/{}", c["credentialID"].as_str().unwrap());
        assert_eq!(state["authenticators"], json!([{"kind": "uaf", "id": uaf_id}]), "{state}");
        let (id, msg) = uaf_request(&app, &key, Some("Pay 12.00 EUR to the shop?")).await;
        assert_eq!(msg[0]["transaction"][0]["contentType"], "text/plain");
        let response = auth.authenticate(&msg).unwrap();
        let (s, out) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &response)).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Accept")), "{out}");
        // The same response again: the ceremony is used up; against a new ceremony: another challenge.
        let (s, _) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &response)).await;
        assert_eq!(s, 404);
        let (id2, _) = uaf_request(&app, &key, None).await;
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id2, &response)).await;
        assert_eq!((s, common::code(&b)), (422, "fido_wrong_challenge"), "{b}");
        // A clone: the counter goes back.
        let (id3, msg) = uaf_request(&app, &key, None).await;
        auth.sign_counter = 0;
        let response = auth.authenticate(&msg).unwrap();
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id3, &response)).await;
        assert_eq!((s, common::code(&b)), (422, "fido_counter_regression"), "{b}");
        // Deregistration.
        let (_, regs) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/uaf-registrations", None).await;
        let regs = regs["items"].clone();
        assert_eq!((regs[0]["aaid"].as_str(), regs[0]["attestation"].as_str()), (Some(AAID), Some("basic_surrogate")), "{regs}");
        let path = format!("/admin/v1/tenants/example.com/users/alice/uaf-registrations/ABCD%230001/{}", regs[0]["keyID"].as_str().unwrap());
        let (s, dereg) = app.admin("DELETE", &path, None).await;
        assert_eq!((s, dereg[0]["header"]["op"].as_str()), (200, Some("Dereg")), "{dereg}");
        assert_eq!(auth.deregister(&dereg).unwrap(), 1);
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/generate-fido-authentication-request", json!({"fidoProtocol": "UAF11"})).await;
        assert_eq!((s, common::code(&b)), (422, "no_fido_authenticator"));
    }

    async fn uaf_refuses_wrong_facets_aaids_and_texts_and_accepts_full_attestation(backend) {
        let (app, key) = uaf_setup(backend).await;
        let mut stranger = SoftUaf::new(AAID, "https://evil.example.com");
        let (s, b) = uaf_register(&app, &key, &mut stranger).await;
        assert_eq!((s, common::code(&b)), (422, "uaf_wrong_facet"), "{b}");
        let mut unknown = SoftUaf::new("FFFF#0001", FACET);
        let (s, b) = uaf_register(&app, &key, &mut unknown).await;
        assert_eq!((s, common::code(&b)), (422, "uaf_aaid_not_accepted"), "{b}");
        // Basic full attestation with an attestation certificate.
        let att = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["uaf.example".to_owned()]).unwrap().self_signed(&att).unwrap();
        let att_key = {
            use p256::pkcs8::DecodePrivateKey;
            p256::ecdsa::SigningKey::from_pkcs8_der(&att.serialize_der()).unwrap()
        };
        let mut full = SoftUaf::new("ABCD#0002", FACET).with_full_attestation(att_key, cert.der().to_vec());
        let (s, b) = uaf_register(&app, &key, &mut full).await;
        assert_eq!(s, 201, "{b}");
        let (_, regs) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/uaf-registrations", None).await;
        let regs = regs["items"].clone();
        assert_eq!(regs[0]["attestation"], "basic_full");
        // A wrong attestation key is refused.
        let other = rcgen::KeyPair::generate().unwrap();
        let other_key = {
            use p256::pkcs8::DecodePrivateKey;
            p256::ecdsa::SigningKey::from_pkcs8_der(&other.serialize_der()).unwrap()
        };
        let mut forged = SoftUaf::new("ABCD#0002", FACET).with_full_attestation(other_key, cert.der().to_vec());
        let (s, b) = uaf_register(&app, &key, &mut forged).await;
        assert_eq!((s, common::code(&b)), (422, "uaf_bad_attestation"), "{b}");
        // The text confirmed must be the text asked for.
        let (id, mut msg) = uaf_request(&app, &key, Some("Pay 12.00 EUR?")).await;
        msg[0]["transaction"][0]["content"] = json!(countersign_proto::b64u_encode(b"Pay 1200.00 EUR?"));
        let response = full.authenticate(&msg).unwrap();
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &response)).await;
        assert_eq!((s, common::code(&b)), (422, "uaf_transaction_mismatch"), "{b}");
        // Hostile input is refused, never a 500.
        let (id, _) = uaf_request(&app, &key, None).await;
        let junk = json!([{"header": {"upv": {"major": 1, "minor": 1}, "op": "Auth"}, "fcParams": "!!", "assertions": []}]);
        let (s, _) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &junk)).await;
        assert_eq!(s, 422);
    }

    async fn uaf_attestation_root_certificates_decide_which_authenticators_register(backend) {
        let (app, key) = uaf_setup(backend).await;
        let signing_key = |k: &rcgen::KeyPair| {
            use p256::pkcs8::DecodePrivateKey;
            p256::ecdsa::SigningKey::from_pkcs8_der(&k.serialize_der()).unwrap()
        };
        // The vendor's root, and an attestation certificate it issued.
        let root_key = rcgen::KeyPair::generate().unwrap();
        let mut root_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        root_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        root_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        root_params.distinguished_name.push(rcgen::DnType::CommonName, "Vendor UAF Root");
        let root = rcgen::CertifiedIssuer::self_signed(root_params, root_key).unwrap();
        let att_key = rcgen::KeyPair::generate().unwrap();
        let mut att_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        att_params.is_ca = rcgen::IsCa::ExplicitNoCa;
        att_params.distinguished_name.push(rcgen::DnType::CommonName, "ABCD#0002 attestation");
        let att_cert = att_params.signed_by(&att_key, &root).unwrap();
        let root_b64 = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(root.der())
        };
        let (s, b) = app
            .admin("PUT", "/admin/v1/tenants/example.com/fido", Some(json!({"rpID": "example.com", "origins": [ORIGIN],
                "uaf": {"appID": "https://app.example.com/uaf/facets.json", "facetIDs": [FACET], "acceptedAaids": [AAID, "ABCD#0002"],
                        "attestationRootCertificates": {"ABCD#0002": [root_b64]}}})))
            .await;
        assert_eq!(s, 200, "{b}");

        // Surrogate attestation, or a certificate the vendor did not issue: refused.
        let mut surrogate = SoftUaf::new("ABCD#0002", FACET);
        let (s, b) = uaf_register(&app, &key, &mut surrogate).await;
        assert_eq!((s, common::code(&b)), (422, "uaf_attestation_not_trusted"), "{b}");
        let rogue_key = rcgen::KeyPair::generate().unwrap();
        let mut rogue_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        rogue_params.distinguished_name.push(rcgen::DnType::CommonName, "ABCD#0002 attestation");
        let rogue_cert = rogue_params.self_signed(&rogue_key).unwrap();
        let mut rogue = SoftUaf::new("ABCD#0002", FACET).with_full_attestation(signing_key(&rogue_key), rogue_cert.der().to_vec());
        let (s, b) = uaf_register(&app, &key, &mut rogue).await;
        assert_eq!((s, common::code(&b)), (422, "uaf_attestation_not_trusted"), "{b}");
        // The vendor's certificate: registered and used.
        let mut genuine = SoftUaf::new("ABCD#0002", FACET).with_full_attestation(signing_key(&att_key), att_cert.der().to_vec());
        let (s, b) = uaf_register(&app, &key, &mut genuine).await;
        assert_eq!(s, 201, "{b}");
        let (id, msg) = uaf_request(&app, &key, None).await;
        let response = genuine.authenticate(&msg).unwrap();
        let (s, out) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &response)).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Accept")), "{out}");
        // An AAID without roots keeps accepting surrogate attestation.
        let mut other = SoftUaf::new(AAID, FACET);
        let (s, b) = uaf_register(&app, &key, &mut other).await;
        assert_eq!(s, 201, "{b}");

        // Roots for an AAID the policy does not accept, or that are not certificates, are refused.
        for (roots, field) in [
            (json!({"FFFF#0001": [root_b64]}), "uaf.attestationRootCertificates.FFFF#0001"),
            (json!({"ABCD#0002": ["bm90IGEgY2VydA=="]}), "uaf.attestationRootCertificates.ABCD#0002.0"),
            (json!({"ABCD#0002": []}), "uaf.attestationRootCertificates.ABCD#0002"),
        ] {
            let (s, b) = app
                .admin("PUT", "/admin/v1/tenants/example.com/fido", Some(json!({"rpID": "example.com", "origins": [ORIGIN],
                    "uaf": {"appID": "https://app.example.com/uaf/facets.json", "facetIDs": [FACET], "acceptedAaids": [AAID, "ABCD#0002"],
                            "attestationRootCertificates": roots}})))
                .await;
            assert_eq!((s, b["error"]["field"].as_str()), (422, Some(field)), "{b}");
        }
    }

    async fn a_passkey_is_registered_and_logs_in_once_per_ceremony(backend) {
        let (app, clock, key) = setup(backend).await;
        let mut auth = SoftPasskey::new(true);
        let c = register(&app, &key, "alice@example.com", &mut auth).await;
        assert_eq!(c["name"], "laptop");
        // The account state lists the passkey among the user's authenticators.
        let (_, state) = app.call("GET", "/v1/users/alice@example.com", Auth::Bearer(&key), None).await;
        assert_eq!(state["authenticators"], json!([{"kind": "fido2", "id": c["credentialID"]}]), "{state}");
        let (_, list) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/fido-credentials", None).await;
        let list = list["items"].clone();
        assert_eq!(list[0]["credentialID"], c["credentialID"]);

        let (id, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let pkc = auth.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
        let (s, out) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &pkc)).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Accept")), "{out}");
        let (_, st) = app.call("GET", &format!("/v1/sessions/{}", out["requestID"].as_str().unwrap()), Auth::Bearer(&key), None).await;
        assert_eq!(st["sessionStatus"], "Accept");
        // The ceremony is used up.
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &pkc)).await;
        assert_eq!((s, common::code(&b)), (404, "request_not_found"), "{b}");
        let (_, list) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/fido-credentials", None).await;
        let list = list["items"].clone();
        assert!(list[0]["lastUsedAt"].is_string() && list[0]["counter"].as_u64().unwrap() >= 1, "{list}");

        // An authentication type of method fido2: `passKey` starts the ceremony in the login call itself.
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/auth-types/passkey", Some(json!({"method": "fido2"}))).await;
        assert_eq!(s, 200, "{b}");
        let (s, out) = post(&app, &key, "/v1/users/alice@example.com/login", json!({"passKey": "passkey", "sessionID": "S9"})).await;
        assert_eq!((s, out["sessionStatus"].as_str(), out["fidoChallenge"]["fidoProtocol"].as_str()), (200, Some("Pending"), Some("FIDO2")), "{out}");
        let rcr: RequestChallengeResponse = serde_json::from_value(out["fidoChallenge"]["authenticationRequest"].clone()).unwrap();
        let pkc = auth.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
        let (s, done) = post(&app, &key, "/v1/users/alice@example.com/login", finish(out["requestID"].as_str().unwrap(), &pkc)).await;
        assert_eq!((s, done["sessionStatus"].as_str()), (200, Some("Accept")), "{done}");

        // An expired challenge.
        let (id, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let pkc = auth.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
        clock.advance(6 * 60_000);
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &pkc)).await;
        assert_eq!((s, common::code(&b)), (409, "session_closed"));

        // Ceremonies begun and abandoned do not pile up: housekeeping sweeps them after 5 minutes.
        let (abandoned, _) = auth_request(&app, &key, "alice@example.com").await;
        clock.advance(4 * 60_000);
        let (recent, _) = auth_request(&app, &key, "alice@example.com").await;
        clock.advance(2 * 60_000);
        let swept = app.core.housekeeping().await.unwrap();
        assert_eq!(swept.fido_ceremonies, 1);
        assert!(app.core.store.fido_ceremony(&abandoned).await.unwrap().is_none());
        assert!(app.core.store.fido_ceremony(&recent).await.unwrap().is_some());

        // Rename and remove.
        let cid = c["credentialID"].as_str().unwrap();
        let path = format!("/admin/v1/tenants/example.com/users/alice/fido-credentials/{cid}");
        let (s, r) = app.admin("PATCH", &path, Some(json!({"name": "work laptop"}))).await;
        assert_eq!((s, r["name"].as_str()), (200, Some("work laptop")));
        let (s, _) = app.admin("DELETE", &path, None).await;
        assert_eq!(s, 204);
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/generate-fido-authentication-request", json!({"fidoProtocol": "FIDO2"})).await;
        assert_eq!((s, common::code(&b)), (422, "no_fido_authenticator"));
    }

    async fn attestation_policies_decide_which_models_register_and_log_in(backend) {
        let (app, _clock, key) = setup(backend).await;
        let (mut token, ca) = SoftToken::new(true).unwrap();
        let anchor = ca.to_pem(LineEndingPem::LF).unwrap();
        let (_, other_ca) = SoftToken::new(true).unwrap();
        let other_anchor = other_ca.to_pem(LineEndingPem::LF).unwrap();
        let model = SOFT_TOKEN_AAGUID.to_string();
        let alice = "alice@example.com";

        // Attested, but by another vendor's root.
        let (s, b) = put_rp(&app, json!({"attestation": "direct", "attestationTrustAnchors": [other_anchor]})).await;
        assert_eq!(s, 200, "{b}");
        let (s, b) = try_register(&app, &key, alice, &mut token, None).await;
        assert_eq!((s, common::code(&b)), (422, "fido_attestation_not_trusted"), "{b}");
        // The right root, but another model.
        put_rp(&app, json!({"attestation": "direct", "attestationTrustAnchors": [anchor],
            "allowedAaguids": ["6d44ba9b-f6ec-2e49-b930-0c8fe920cb73"]})).await;
        let (s, b) = try_register(&app, &key, alice, &mut token, None).await;
        assert_eq!((s, common::code(&b)), (422, "fido_attestation_not_trusted"), "{b}");
        // Its model: registered, the model recorded.
        let (s, b) = put_rp(&app, json!({"attestation": "direct", "attestationTrustAnchors": [anchor, other_anchor],
            "allowedAaguids": [model]})).await;
        assert_eq!((s, b["allowedAaguids"][0].as_str()), (200, Some(model.as_str())), "{b}");
        let (s, c) = try_register(&app, &key, alice, &mut token, None).await;
        assert_eq!((s, c["aaguid"].as_str(), c["userVerified"].as_bool()), (201, Some(model.as_str()), Some(true)), "{c}");
        // A passkey that does not attest cannot register under this policy.
        let mut plain = SoftPasskey::new(true);
        let (s, b) = try_register(&app, &key, alice, &mut plain, None).await;
        assert_eq!((s, common::code(&b)), (422, "fido_attestation_not_trusted"), "{b}");
        let (s, out) = try_login(&app, &key, alice, &mut token, None).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Accept")), "{out}");

        // The policy holds at use: narrowed to another model, or its root withdrawn, the credential is no longer offered.
        put_rp(&app, json!({"attestation": "direct", "attestationTrustAnchors": [anchor],
            "allowedAaguids": ["6d44ba9b-f6ec-2e49-b930-0c8fe920cb73"]})).await;
        let (s, b) = try_login(&app, &key, alice, &mut token, None).await;
        assert_eq!((s, common::code(&b)), (422, "fido_authenticator_not_allowed"), "{b}");
        put_rp(&app, json!({"attestation": "direct", "attestationTrustAnchors": [other_anchor]})).await;
        let (s, b) = try_login(&app, &key, alice, &mut token, None).await;
        assert_eq!((s, common::code(&b)), (422, "fido_authenticator_not_allowed"), "{b}");
        // Back to no attestation: any registered credential may be used again.
        put_rp(&app, json!({})).await;
        let (s, out) = try_login(&app, &key, alice, &mut token, None).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Accept")), "{out}");

        // A clone of the authenticator (its keys and counter copied) falls behind the
        // original's signature counter: refused as a possible clone.
        let mut clone = SoftToken::from_cbor(&token.to_cbor().unwrap()).unwrap();
        for _ in 0..2 {
            let (s, out) = try_login(&app, &key, alice, &mut token, None).await;
            assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Accept")), "{out}");
        }
        let (s, b) = try_login(&app, &key, alice, &mut clone, None).await;
        assert_eq!((s, common::code(&b)), (422, "fido_counter_regression"), "{b}");

        // Policies that do not hold together are refused, naming the field.
        for (rp, field) in [
            (json!({"attestation": "direct"}), "attestationTrustAnchors"),
            (json!({"attestation": "direct", "attestationTrustAnchors": ["not a certificate"]}), "attestationTrustAnchors.0"),
            (json!({"attestationTrustAnchors": [anchor]}), "attestationTrustAnchors"),
            (json!({"allowedAaguids": [model]}), "allowedAaguids"),
            (json!({"attestation": "direct", "attestationTrustAnchors": [anchor], "allowedAaguids": ["yubikey"]}), "allowedAaguids.0"),
            (json!({"origins": ["https://example.org"]}), "origins.0"),
        ] {
            let (s, b) = put_rp(&app, rp.clone()).await;
            assert_eq!((s, b["error"]["field"].as_str()), (422, Some(field)), "{rp} {b}");
        }
        let (s, b) = put_rp(&app, json!({"attestation": "indirect"})).await;
        assert_eq!(s, 422, "{b}");
        let (s, b) = put_rp(&app, json!({"rpName": "Bank\u{0007}"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("rpName")), "{b}");
        // Hostile relying-party documents: always a clear 4xx, never a server error.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let field = "(rpID|rpName|origins|userVerification|attestation|attestationTrustAnchors|allowedAaguids|residentKey|uaf|enabled)";
        let value = "(\"[a-zA-Z:/.#0-9 -]{0,30}\"|[0-9]{1,25}|null|true|\\[\\]|\\{\\}|\\[\"[a-z:/.-]{0,20}\"\\])";
        let doc = proptest::string::string_regex(&format!("\\{{(\"{field}\":{value},){{0,4}}\"{field}\":{value}\\}}")).unwrap();
        let mut statuses = std::collections::BTreeSet::new();
        for _ in 0..200 {
            use proptest::strategy::{Strategy, ValueTree};
            let body = doc.new_tree(&mut runner).unwrap().current();
            let (s, b) = app.raw("PUT", "/admin/v1/tenants/example.com/fido", Auth::Bearer(&app.admin), "application/json", body.clone().into_bytes()).await;
            assert!((200..500).contains(&s), "{body} -> {s} {b}");
            if s >= 400 {
                assert!(b["error"]["code"].is_string(), "{b}");
            }
            statuses.insert(s);
        }
        // The documents reach validation (422 naming a field), not only the JSON parser.
        assert!(statuses.contains(&422), "{statuses:?}");
    }

    async fn user_verification_policies_bind_requests_and_credentials(backend) {
        let (app, _clock, key) = setup(backend).await;
        let alice = "alice@example.com";
        // The default policy (required) refuses a weaker request.
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/generate-fido-registration-request",
            json!({"fidoProtocol": "FIDO2", "userVerification": "discouraged"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("userVerification")), "{b}");
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/generate-fido-registration-request",
            json!({"fidoProtocol": "FIDO2", "userVerification": "sometimes"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("userVerification")), "{b}");

        // A security key without PIN or biometric, under a policy of discouraged: a touch is enough.
        let (s, b) = put_rp(&app, json!({"userVerification": "discouraged"})).await;
        assert_eq!((s, b["userVerification"].as_str()), (200, Some("discouraged")), "{b}");
        let mut key_only = SoftPasskey::new(false);
        let (s, c) = try_register(&app, &key, alice, &mut key_only, None).await;
        assert_eq!((s, c["userVerified"].as_bool()), (201, Some(false)), "{c}");
        let (s, out) = try_login(&app, &key, alice, &mut key_only, None).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Accept")), "{out}");

        // A credential registered with verification keeps needing it, whatever a request asks.
        let mut verified = SoftPasskey::new(true);
        let (s, c) = try_register(&app, &key, alice, &mut verified, Some("required")).await;
        assert_eq!((s, c["userVerified"].as_bool()), (201, Some(true)), "{c}");
        let (s, b) = try_login(&app, &key, alice, &mut verified, Some("discouraged")).await;
        assert_eq!((s, common::code(&b)), (422, "fido_user_not_verified"), "{b}");
        let (s, out) = try_login(&app, &key, alice, &mut verified, Some("required")).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Accept")), "{out}");

        // Resident keys: the options ask for a discoverable credential when the policy requires one.
        assert!(c["discoverable"].is_null(), "{c}");
        for (rk, want) in [("required", true), ("discouraged", false)] {
            put_rp(&app, json!({"userVerification": "discouraged", "residentKey": rk})).await;
            let (_, r) = post(&app, &key, "/v1/users/alice@example.com/generate-fido-registration-request", json!({"fidoProtocol": "FIDO2"})).await;
            let sel = &r["registrationRequest"]["publicKey"]["authenticatorSelection"];
            assert_eq!((sel["residentKey"].as_str(), sel["requireResidentKey"].as_bool()), (Some(rk), Some(want)), "{r}");
        }

        // Preferred: discouraged requests refused, preferred ones served.
        put_rp(&app, json!({"userVerification": "preferred"})).await;
        let (s, b) = try_login(&app, &key, alice, &mut verified, Some("discouraged")).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("userVerification")), "{b}");
    }

    async fn wrong_origins_missing_verification_and_other_users_are_refused(backend) {
        let (app, _clock, key) = setup(backend).await;
        let mut alice = SoftPasskey::new(true);
        register(&app, &key, "alice@example.com", &mut alice).await;
        app.admin("POST", "/admin/v1/tenants/example.com/users", Some(json!({"userID": "bob"}))).await;
        let mut bob = SoftPasskey::new(true);
        register(&app, &key, "bob@example.com", &mut bob).await;

        // A page on another origin of the same site.
        let (id, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let pkc = alice.do_authentication(Url::parse("https://evil.example.com").unwrap(), rcr).unwrap();
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &pkc)).await;
        assert_eq!((s, common::code(&b)), (422, "fido_wrong_origin"), "{b}");
        // A response that does not verify is a failure for the risk engine's velocity facts.
        let alice_pk = {
            let tenant = app.core.store.tenant_by_domain(&countersign_core::Domain::parse("example.com", "d").unwrap()).await.unwrap().unwrap();
            app.core.store.user(&tenant.id, "alice").await.unwrap().unwrap().id
        };
        assert_eq!(app.core.store.user_failures_since(&alice_pk, countersign_core::Timestamp(0)).await.unwrap(), 1);

        // An authenticator that signs for another RP ID (the page claimed a narrower one).
        let (id, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let mut options = serde_json::to_value(&rcr).unwrap();
        options["publicKey"]["rpId"] = json!("app.example.com");
        let pkc = alice.do_authentication(Url::parse(ORIGIN).unwrap(), serde_json::from_value(options).unwrap()).unwrap();
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &pkc)).await;
        assert_eq!((s, common::code(&b)), (422, "fido_wrong_rp_id"), "{b}");

        // User verification required but not performed.
        let (id, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let mut options = serde_json::to_value(&rcr).unwrap();
        options["publicKey"]["userVerification"] = json!("discouraged");
        let pkc = alice.do_authentication(Url::parse(ORIGIN).unwrap(), serde_json::from_value(options).unwrap()).unwrap();
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &pkc)).await;
        assert_eq!((s, common::code(&b)), (422, "fido_user_not_verified"), "{b}");

        // Alice's response to alice's challenge, sent as bob's login: bob's ceremony is another.
        let (bob_id, _) = auth_request(&app, &key, "bob@example.com").await;
        let (_, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let pkc = alice.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
        let (s, b) = post(&app, &key, "/v1/users/bob@example.com/login", finish(&bob_id, &pkc)).await;
        assert_eq!(s, 422, "{b}");
        assert!(common::code(&b).starts_with("fido_"), "{b}");

        // Deleting bob deletes his credentials (a foreign key to him, ON DELETE CASCADE).
        let tenant = app.core.store.tenant_by_domain(&countersign_core::Domain::parse("example.com", "d").unwrap()).await.unwrap().unwrap();
        let bob_pk = app.core.store.user(&tenant.id, "bob").await.unwrap().unwrap().id;
        assert_eq!(app.core.store.user_fido_credentials(&bob_pk).await.unwrap().len(), 1);
        let (s, _) = app.admin("DELETE", "/admin/v1/tenants/example.com/users/bob", None).await;
        assert_eq!(s, 204);
        assert!(app.core.store.user_fido_credentials(&bob_pk).await.unwrap().is_empty());

        // Another tenant cannot finish this tenant's ceremony.
        let other = app.tenant_with_alice("other.example").await;
        let (id, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let pkc = alice.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
        let (s, b) = app.call("POST", "/v1/users/alice@other.example/login", Auth::Bearer(&other), Some(finish(&id, &pkc))).await;
        assert_eq!((s, common::code(&b)), (409, "fido_not_configured"), "{b}");

        // Prerequisites fail with their own errors.
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/generate-fido-authentication-request", json!({"fidoProtocol": "U2F"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("fidoProtocol")));
        let (s, b) = post(&app, &key, "/v1/users/nobody@example.com/generate-fido-authentication-request", json!({"fidoProtocol": "FIDO2"})).await;
        assert_eq!((s, common::code(&b)), (404, "user_not_found"));
        app.admin("PUT", "/admin/v1/tenants/example.com/fido", Some(json!({"rpID": "example.com", "origins": [ORIGIN], "enabled": false}))).await;
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/generate-fido-authentication-request", json!({"fidoProtocol": "FIDO2"})).await;
        assert_eq!((s, common::code(&b)), (403, "fido_disabled"));
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/fido", Some(json!({"rpID": "example.com", "origins": ["http://example.com"]}))).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("origins.0")));
    }

    async fn a_users_passkeys_and_uaf_registrations_page(backend) {
        use crate::paging::{read_all, refuses_bad_paging, unique};
        let (app, _clock, key) = setup(backend).await;
        let mut made = Vec::new();
        for _ in 0..3 {
            let c = register(&app, &key, "alice@example.com", &mut SoftPasskey::new(true)).await;
            made.push(c["credentialID"].as_str().unwrap().to_owned());
        }
        made.sort();
        let path = "/admin/v1/tenants/example.com/users/alice/fido-credentials";
        assert_eq!(unique(&read_all(&app, path, 2).await, "credentialID"), made, "by credential ID");
        refuses_bad_paging(&app, path, None).await;
        app.stop().await.unwrap();

        // UAF: ordered by AAID then key ID; the cursor holds both (and a `#`).
        let (app, key) = uaf_setup(backend).await;
        let mut made = Vec::new();
        for aaid in [AAID, "ABCD#0002", AAID, "ABCD#0002", AAID] {
            let (s, c) = uaf_register(&app, &key, &mut SoftUaf::new(aaid, FACET)).await;
            assert_eq!(s, 201, "{c}");
            made.push((aaid.to_owned(), c["credentialID"].as_str().unwrap().to_owned()));
        }
        made.sort();
        let path = "/admin/v1/tenants/example.com/users/alice/uaf-registrations";
        let regs = read_all(&app, path, 2).await;
        let listed: Vec<(String, String)> =
            regs.iter().map(|r| (r["aaid"].as_str().unwrap().to_owned(), r["keyID"].as_str().unwrap().to_owned())).collect();
        assert_eq!(listed, made);
        unique(&regs, "keyID");
        refuses_bad_paging(&app, path, Some("no-separator")).await;
        app.stop().await.unwrap();
    }
}
