//! Post-processing of the generated OpenAPI description, so that it says what the
//! server does (docs/security.md, "API fuzzing", checks it against the running server).
//!
//! - [`CommonErrors`]: the refusals every operation can give because of what it reads —
//!   `400` for an unreadable path, query or body, `413`/`415` for a body, `422` for a
//!   value that does not fit (wrong type, NUL character), `401` behind a credential,
//!   `503` when storage does not answer, `429` on the integration and mobile APIs (request
//!   limits) — added in one place instead of on each handler.
//! - [`OpenComposition`]: a schema that extends another (`#[serde(flatten)]`, written as
//!   `allOf`) gets the other's properties without its `additionalProperties: false`,
//!   which would otherwise forbid the very properties it adds.

use utoipa::Modify;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::AdditionalProperties;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response, Schema};

/// The security scheme of device-signed mobile operations.
pub const DEVICE_SIGNATURE: &str = "deviceSignature";

/// Adds the shared error statuses to every operation (see the module docs).
pub struct CommonErrors;

/// What an operation reads, as its description says.
struct Reads {
    path: bool,
    query: bool,
    body: bool,
    credential: bool,
}

impl Reads {
    fn of(op: &Operation) -> Reads {
        let json = serde_json::to_value(op).unwrap_or_default();
        let params = json["parameters"].as_array().cloned().unwrap_or_default();
        let has = |place: &str| params.iter().any(|p| p["in"] == place);
        let device_signed = json["security"].to_string().contains(DEVICE_SIGNATURE);
        Reads {
            path: has("path"),
            query: has("query"),
            body: op.request_body.is_some() || device_signed,
            credential: json["security"].as_array().is_some_and(|s| !s.is_empty()),
        }
    }
}

fn error_response(description: String) -> Response {
    let mut r = Response::new(description);
    r.content.insert(
        "application/json".to_owned(),
        RefOr::T(Content::new(Some(RefOr::<Schema>::Ref(Ref::from_schema_name("ErrorBody"))))),
    );
    r
}

/// Add `status` with `text`; where the operation documents the status already, append
/// `text` to its description unless it names `code` already.
fn add(op: &mut Operation, status: &str, code: &str, text: &str) {
    match op.responses.responses.get_mut(status) {
        Some(RefOr::T(existing)) => {
            if !existing.description.contains(code) {
                existing.description = format!("{} Or: {text}", existing.description.trim_end());
            }
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            op.responses.responses.insert(status.to_owned(), RefOr::T(error_response(text.to_owned())));
        }
    }
}

impl Modify for CommonErrors {
    fn modify(&self, api: &mut OpenApi) {
        for (path, item) in api.paths.paths.iter_mut() {
            let limited = path.starts_with("/v1/") || path.starts_with("/mobile/v1/");
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for op in ops.into_iter().flatten() {
                let reads = Reads::of(op);
                let mut unreadable = Vec::new();
                if reads.path {
                    unreadable.push("a path that does not decode (`invalid_path`)");
                }
                if reads.query {
                    unreadable.push("a query that does not parse (`invalid_query`; `field` names the parameter at fault, e.g. `limit=ten`)");
                }
                if reads.body {
                    unreadable.push("a body that is not JSON (`malformed_json`) or cannot be read (`unreadable_body`)");
                }
                if !unreadable.is_empty() {
                    add(op, "400", "invalid_", &format!("The request cannot be read: {}.", unreadable.join("; ")));
                    add(
                        op,
                        "422",
                        "invalid_value",
                        "A value does not fit (`invalid_value`): `field` names it — a wrong type, a missing or \
                         unknown field, a NUL character (U+0000) in a text.",
                    );
                }
                if reads.body {
                    add(
                        op,
                        "413",
                        "payload_too_large",
                        "The body is larger than the server accepts (`payload_too_large`).",
                    );
                    add(
                        op,
                        "415",
                        "unsupported_media_type",
                        "A body not sent as `application/json` (`unsupported_media_type`).",
                    );
                }
                if reads.credential {
                    add(op, "401", "unauthorized", "No valid credential (`unauthorized`).");
                }
                if limited {
                    add(
                        op,
                        "429",
                        "rate_limited",
                        "Too many requests from this client address, API key, activation or device in the window \
                         (`rate_limited`, with `retryAfterSeconds` and a `Retry-After` header; docs/security.md, \
                         \"Request limits\").",
                    );
                }
                if reads.credential || reads.path || reads.body {
                    add(
                        op,
                        "503",
                        "storage_unavailable",
                        "Storage does not answer (`storage_unavailable`); try again.",
                    );
                }
            }
        }
    }
}

/// Opens the schemas that `allOf` extends (see the module docs).
pub struct OpenComposition;

impl Modify for OpenComposition {
    fn modify(&self, api: &mut OpenApi) {
        let Some(components) = api.components.as_mut() else { return };
        let originals = components.schemas.clone();
        for schema in components.schemas.values_mut() {
            open_compositions(schema, &originals);
        }
    }
}

/// Open the `allOf` parts of `schema` and of the schemas inside it: a generic wrapper
/// (`Listing<AuthTypeView>`) holds its item's composition inline, not by reference.
fn open_compositions(schema: &mut RefOr<Schema>, originals: &std::collections::BTreeMap<String, RefOr<Schema>>) {
    match schema {
        RefOr::T(Schema::AllOf(all_of)) => {
            for part in &mut all_of.items {
                if let RefOr::Ref(r) = part
                    && let Some(name) = r.ref_location.strip_prefix("#/components/schemas/")
                    && let Some(RefOr::T(Schema::Object(object))) = originals.get(name)
                    && object
                        .additional_properties
                        .as_deref()
                        .is_some_and(|a| matches!(a, AdditionalProperties::FreeForm(false)))
                {
                    let mut open = object.clone();
                    open.additional_properties = None;
                    if !r.description.is_empty() {
                        open.description = Some(r.description.clone());
                    }
                    *part = RefOr::T(Schema::Object(open));
                } else {
                    open_compositions(part, originals);
                }
            }
        }
        RefOr::T(Schema::Object(object)) => {
            for property in object.properties.values_mut() {
                open_compositions(property, originals);
            }
        }
        RefOr::T(Schema::Array(array)) => {
            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) = &mut array.items {
                open_compositions(items, originals);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::Value;

    fn api() -> Value {
        let (_, api) = crate::api_router();
        serde_json::from_str(&api.to_json().unwrap()).unwrap()
    }

    /// Every operation documents what its extractors can refuse with.
    #[test]
    fn every_operation_documents_the_refusals_of_what_it_reads() {
        let api = api();
        let mut problems = Vec::new();
        for (path, item) in api["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = &op["responses"];
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                let has = |place: &str| params.iter().any(|p| p["in"] == place);
                let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
                let device = op["security"].to_string().contains(super::DEVICE_SIGNATURE);
                let body = op["requestBody"].is_object() || device;
                let mut want = Vec::new();
                if has("path") || has("query") || body {
                    want.extend(["400", "422"]);
                }
                if body {
                    want.extend(["413", "415"]);
                }
                if secured {
                    want.push("401");
                }
                if secured || has("path") || body {
                    want.push("503");
                }
                if path.starts_with("/v1/") || path.starts_with("/mobile/v1/") {
                    want.push("429");
                }
                for status in want {
                    if responses[status].is_null() {
                        problems.push(format!("{method} {path}: no {status}"));
                    }
                }
                let limited = path.starts_with("/v1/") || path.starts_with("/mobile/v1/");
                if limited && !responses["429"]["description"].as_str().is_some_and(|d| d.contains("rate_limited")) {
                    problems.push(format!("{method} {path}: 429 does not name rate_limited"));
                }
                if !limited && !responses["429"].is_null() {
                    problems.push(format!("{method} {path}: 429 on a route that is not limited"));
                }
                if path.starts_with("/mobile/v1/") && responses["401"].is_object() && !device {
                    problems.push(format!("{method} {path}: answers 401 but is not marked device-signed"));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// No `allOf` part closes itself to the properties its siblings add.
    #[test]
    fn extended_schemas_are_open() {
        let api = api();
        let schemas = &api["components"]["schemas"];
        let view = &schemas["AuthTypeView"];
        let mut seen = 0;
        for schema in schemas.as_object().unwrap().values() {
            for part in schema["allOf"].as_array().into_iter().flatten() {
                seen += 1;
                let resolved = match part["$ref"].as_str() {
                    Some(r) => &schemas[r.rsplit('/').next().unwrap()],
                    None => part,
                };
                assert_ne!(resolved["additionalProperties"], Value::Bool(false), "{schema}");
            }
        }
        assert!(seen > 0);
        assert!(view["allOf"][0]["properties"]["method"].is_object(), "{view}");
        // The request schema itself stays closed: unknown fields are refused.
        assert_eq!(schemas["AuthType"]["additionalProperties"], Value::Bool(false));
    }
}
