//! A tenant's FIDO relying party in the console (docs/fido.md): every field of
//! `RelyingParty` — on/off, RP ID and name, origins, user verification, attestation,
//! resident keys, trust anchors, allowed models, the UAF policy — saved through
//! `Core::set_relying_party`, as the admin API's `PUT …/fido` does.

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use countersign_core::CoreError;
use countersign_core::audit::AuditKind;
use countersign_core::fido::RelyingParty;
use countersign_core::web::console::ConsoleAdmin;
use serde_json::{Map, Value};

use super::form::{Entered, list, opt};
use super::tenant::{changing, visible};
use super::{Fields, Nav, acting, admin, error_page};
use crate::AppState;
use crate::error::ApiError;
use crate::web::{Assets, assets, render};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/console/tenants/{domain}/fido", get(fido_page).post(save_fido))
}

const KEYS: [&str; 10] = [
    "enabled",
    "rpID",
    "rpName",
    "origins",
    "userVerification",
    "attestation",
    "residentKey",
    "attestationTrustAnchors",
    "allowedAaguids",
    "uaf",
];

#[derive(Template)]
#[template(path = "console/fido.html")]
struct FidoPage {
    assets: Assets,
    nav: Nav,
    domain: String,
    can_change: bool,
    configured: bool,
    form: Entered,
    saved: bool,
}

impl FidoPage {
    fn top_error(&self) -> Option<&str> {
        self.form.other_error(&KEYS)
    }
}

/// The relying party as the form shows it.
fn values_of(rp: &RelyingParty) -> Fields {
    let v = match serde_json::to_value(rp) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let lines = |k: &str| {
        v.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    };
    let mut f = Fields::new();
    if rp.enabled {
        f.insert("enabled".into(), "on".into());
    }
    for k in ["rpID", "rpName", "userVerification", "attestation", "residentKey"] {
        f.insert(k.into(), text(k));
    }
    for k in ["origins", "attestationTrustAnchors", "allowedAaguids"] {
        f.insert(k.into(), lines(k));
    }
    f.insert("uaf".into(), v.get("uaf").filter(|u| !u.is_null()).map(|u| u.to_string()).unwrap_or_default());
    f
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", message.to_owned()).with_field(field)
}

/// PEM certificates, one after the other.
fn pems(f: &Fields) -> Vec<String> {
    let text = f.get("attestationTrustAnchors").map_or("", |s| s.as_str());
    let end = "-----END CERTIFICATE-----";
    text.split_inclusive(end).map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

/// The form's fields as a relying party; a field that cannot be read names itself.
fn party_of(f: &Fields) -> Result<RelyingParty, ApiError> {
    let mut doc = Map::new();
    doc.insert("enabled".into(), Value::Bool(f.contains_key("enabled")));
    doc.insert("rpID".into(), Value::String(opt(f, "rpID").unwrap_or_default()));
    if let Some(n) = opt(f, "rpName") {
        doc.insert("rpName".into(), Value::String(n));
    }
    doc.insert("origins".into(), Value::from(list(f, "origins")));
    let choices: [(&str, &[&str]); 3] = [
        ("userVerification", &["required", "preferred", "discouraged"]),
        ("attestation", &["none", "direct"]),
        ("residentKey", &["discouraged", "required"]),
    ];
    for (k, allowed) in choices {
        if let Some(v) = opt(f, k) {
            if !allowed.contains(&v.as_str()) {
                return Err(invalid(k, &format!("one of {}", allowed.join(", "))));
            }
            doc.insert(k.into(), Value::String(v));
        }
    }
    doc.insert("attestationTrustAnchors".into(), Value::from(pems(f)));
    let aaguids = list(f, "allowedAaguids");
    if !aaguids.is_empty() {
        doc.insert("allowedAaguids".into(), Value::from(aaguids));
    }
    if let Some(u) = opt(f, "uaf") {
        match serde_json::from_str::<Value>(&u) {
            Ok(v @ Value::Object(_)) => {
                doc.insert("uaf".into(), v);
            }
            _ => return Err(invalid("uaf", "a JSON object such as {\"appID\": \"https://…\", …}, or empty")),
        }
    }
    serde_json::from_value(Value::Object(doc)).map_err(|e| {
        let e = e.to_string();
        let field = KEYS.iter().find(|k| e.contains(*k)).copied().unwrap_or("uaf");
        invalid(field, "not a value this field takes")
    })
}

async fn page(
    s: &AppState,
    a: &ConsoleAdmin,
    domain: &str,
    status: StatusCode,
    shown: Option<(Entered, bool)>,
) -> Response {
    let t = or_page!(visible(s, a, domain).await);
    let current = match s.core.relying_party_of(domain).await {
        Ok(rp) => Some(rp),
        Err(CoreError::Refused { .. }) => None,
        Err(e) => return error_page(e.into(), "/console/tenants"),
    };
    let configured = current.is_some();
    let (form, saved) = shown.unwrap_or_else(|| {
        let values = match &current {
            Some(rp) => values_of(rp),
            // A first relying party: the tenant's domain, served over HTTPS.
            None => Fields::from([
                ("enabled".to_owned(), "on".to_owned()),
                ("rpID".to_owned(), t.domain.to_string()),
                ("origins".to_owned(), format!("https://{}", t.domain)),
                ("userVerification".to_owned(), "required".to_owned()),
                ("attestation".to_owned(), "none".to_owned()),
                ("residentKey".to_owned(), "discouraged".to_owned()),
            ]),
        };
        (Entered::new(values), false)
    });
    let page = FidoPage {
        assets: assets(),
        nav: Nav::of(a),
        domain: t.domain.to_string(),
        can_change: a.account.may_change(&t.id),
        configured,
        form,
        saved,
    };
    render(status, &page)
}

async fn fido_page(State(s): State<AppState>, headers: HeaderMap, Path(domain): Path<String>) -> Response {
    match admin(&s, &headers).await {
        Ok(a) => page(&s, &a, &domain, StatusCode::OK, None).await,
        Err(res) => res,
    }
}

async fn save_fido(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(changing(&s, &headers, &form, &domain).await);
    let fields = form.map(|f| f.0).unwrap_or_default();
    let result = match party_of(&fields) {
        Ok(rp) => acting(&s, &a).set_relying_party(&domain, rp).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(rp) => {
            let details = serde_json::json!({ "console": true, "action": "fido_relying_party_set" });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), None, details).await;
            page(&s, &a, &domain, StatusCode::OK, Some((Entered::new(values_of(&rp)), true))).await
        }
        Err(e) => page(&s, &a, &domain, e.status, Some((Entered::new(fields).failed(&e), false))).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_edits_every_field_of_the_relying_party_and_keeps_it() {
        let doc = serde_json::json!({
            "enabled": false, "rpID": "shop.example", "rpName": "Shop", "origins": ["https://shop.example", "https://www.shop.example"],
            "userVerification": "preferred", "attestation": "direct", "residentKey": "required",
            "attestationTrustAnchors": ["-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----"],
            "allowedAaguids": ["00000000-0000-0000-0000-000000000000"]
        });
        let rp: RelyingParty = serde_json::from_value(doc).unwrap_or_else(|e| panic!("{e}"));
        let f = values_of(&rp);
        let back = party_of(&f).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(serde_json::to_value(&back).ok(), serde_json::to_value(&rp).ok());
        let Ok(Value::Object(all)) = serde_json::to_value(&rp) else { panic!("not an object") };
        for k in all.keys() {
            assert!(KEYS.contains(&k.as_str()), "{k} is not on the form");
        }
        assert!(KEYS.contains(&"uaf"));
        let mut f = f;
        f.insert("userVerification".into(), "sometimes".into());
        assert_eq!(party_of(&f).err().and_then(|e| e.field), Some("userVerification".to_owned()));
    }
}
