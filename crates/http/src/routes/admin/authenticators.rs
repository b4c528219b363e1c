//! How users authenticate: authentication types, tokens and virtual authenticators,
//! static passwords, risk settings, FIDO2 relying parties and credentials, UAF.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use countersign_core::admin::Listing;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ListQuery;
use crate::AppState;
use crate::auth::AdminAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// These routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_auth_types))
        .routes(routes!(put_auth_type, delete_auth_type))
        .routes(routes!(list_tenant_tokens))
        .routes(routes!(delete_token))
        .routes(routes!(assign_token))
        .routes(routes!(unlock_token))
        .routes(routes!(resync_token))
        .routes(routes!(assign_virtual, list_virtuals))
        .routes(routes!(delete_virtual))
        .routes(routes!(set_static_password, delete_static_password))
        .routes(routes!(unlock_static_password))
        .routes(routes!(get_risk, put_risk))
        .routes(routes!(get_fido, put_fido))
        .routes(routes!(list_fido_credentials))
        .routes(routes!(rename_fido_credential, delete_fido_credential))
        .routes(routes!(list_uaf_registrations))
        .routes(routes!(deregister_uaf))
}

/// The tenant's authentication types by name: the built-in ones (as adjusted) and its own.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/auth-types", tag = "admin",
    params(("domain" = String, Path), ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<countersign_core::otp::AuthTypeView>, description = "A page of the tenant's authentication types by name, and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "`limit` out of 1–500 or `after` not a cursor of this listing (`invalid_value`, `field` names it).")
    ))]
async fn list_auth_types(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<countersign_core::otp::AuthTypeView>>, ApiError> {
    Ok(Json(s.core.auth_types(&domain, q.after, q.limit).await?))
}

/// Adjust a built-in authentication type or add one (docs/otp.md).
#[utoipa::path(put, path = "/admin/v1/tenants/{domain}/auth-types/{name}", tag = "admin",
    params(("domain" = String, Path), ("name" = String, Path)), request_body = countersign_core::otp::AuthType,
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::otp::AuthTypeView, description = "The type as it is now."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or type."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn put_auth_type(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, name)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<countersign_core::otp::AuthType>,
) -> Result<Json<countersign_core::otp::AuthTypeView>, ApiError> {
    Ok(Json(s.core.set_auth_type(&domain, &name, input).await?))
}

/// Remove a tenant's own type, or return a built-in one to its defaults.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/auth-types/{name}", tag = "admin",
    params(("domain" = String, Path), ("name" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed, or back to the built-in defaults."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or type."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn delete_auth_type(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, name)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_auth_type(&domain, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of the tenant's tokens by serial (never their seeds).
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/tokens", tag = "admin",
    params(("domain" = String, Path), super::ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::admin::Listing<countersign_core::tokens::Token>,
            description = "A page of tokens, without seeds, and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn list_tenant_tokens(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<super::ListQuery>,
) -> Result<Json<countersign_core::admin::Listing<countersign_core::tokens::Token>>, ApiError> {
    Ok(Json(s.core.tenant_tokens(&domain, q.after, q.limit).await?))
}

/// Remove a token.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/tokens/{tokenID}", tag = "admin",
    params(("domain" = String, Path), ("tokenID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or token.")
    ))]
async fn delete_token(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, token_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_token(&domain, &token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assign a token to a user (`{"userID": null}` unassigns it).
#[utoipa::path(put, path = "/admin/v1/tenants/{domain}/tokens/{tokenID}/user", tag = "admin",
    params(("domain" = String, Path), ("tokenID" = String, Path)), request_body = countersign_core::tokens::AssignInput,
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::tokens::Token, description = "The token with its new user."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or token.")
    ))]
async fn assign_token(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, token_id)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<countersign_core::tokens::AssignInput>,
) -> Result<Json<countersign_core::tokens::Token>, ApiError> {
    Ok(Json(s.core.assign_token(&domain, &token_id, input).await?))
}

/// Unlock a token locked after too many wrong codes.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/tokens/{tokenID}/unlock", tag = "admin",
    params(("domain" = String, Path), ("tokenID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::tokens::Token, description = "Unlocked; the token."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or token.")
    ))]
async fn unlock_token(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, token_id)): ApiPath<(String, String)>,
) -> Result<Json<countersign_core::tokens::Token>, ApiError> {
    Ok(Json(s.core.unlock_token(&domain, &token_id).await?))
}

/// Resynchronise an HOTP token with two consecutive codes.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/tokens/{tokenID}/resync", tag = "admin",
    params(("domain" = String, Path), ("tokenID" = String, Path)), request_body = countersign_core::tokens::ResyncInput,
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::tokens::Token, description = "Resynchronised; the token."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or token."),
        (status = 409, body = ErrorBody, description = "The token changed while it was resynchronised (`token_busy`); try again."),
        (status = 422, body = ErrorBody, description = "The codes do not resynchronise the token (`resync_failed`), or it is not HOTP (`not_hotp`).")
    ))]
async fn resync_token(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, token_id)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<countersign_core::tokens::ResyncInput>,
) -> Result<Json<countersign_core::tokens::Token>, ApiError> {
    Ok(Json(s.core.resync_token(&domain, &token_id, input).await?))
}

/// Assign a new virtual authenticator (serial number and applications) to a user.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/users/{userID}/virtual-authenticators", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), request_body = countersign_core::tokens::virtual_auth::AssignVirtual,
    security(("adminToken" = [])),
    responses(
        (status = 201, body = countersign_core::tokens::virtual_auth::VirtualAuthenticator, description = "The new virtual authenticator."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn assign_virtual(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<countersign_core::tokens::virtual_auth::AssignVirtual>,
) -> Result<(StatusCode, Json<countersign_core::tokens::virtual_auth::VirtualAuthenticator>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.core.assign_virtual(&domain, &user_id, input).await?)))
}

/// A user's virtual authenticators, by serial number.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/users/{userID}/virtual-authenticators", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path), ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<countersign_core::tokens::virtual_auth::VirtualAuthenticator>, description = "A page of the user's virtual authenticators and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user."),
        (status = 422, body = ErrorBody, description = "`limit` out of 1–500 or `after` not a cursor of this listing (`invalid_value`, `field` names it).")
    ))]
async fn list_virtuals(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<countersign_core::tokens::virtual_auth::VirtualAuthenticator>>, ApiError> {
    Ok(Json(s.core.user_virtuals(&domain, &user_id, q.after, q.limit).await?))
}

/// Remove a virtual authenticator.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/virtual-authenticators/{serialNumber}", tag = "admin",
    params(("domain" = String, Path), ("serialNumber" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or virtual authenticator."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn delete_virtual(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, serial)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_virtual(&domain, &serial).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a user's static password (stored as an Argon2id hash; never shown).
#[utoipa::path(put, path = "/admin/v1/tenants/{domain}/users/{userID}/static-password", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), request_body = countersign_core::password::SetPasswordInput,
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::password::PasswordState, description = "Set; the password's state (never the password)."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn set_static_password(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<countersign_core::password::SetPasswordInput>,
) -> Result<Json<countersign_core::password::PasswordState>, ApiError> {
    Ok(Json(s.core.set_static_password(&domain, &user_id, input).await?))
}

/// Remove a user's static password.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/users/{userID}/static-password", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user.")
    ))]
async fn delete_static_password(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_static_password(&domain, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unlock a static password locked after wrong tries.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/users/{userID}/static-password/unlock", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::password::PasswordState, description = "Unlocked; the password's state."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user.")
    ))]
async fn unlock_static_password(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
) -> Result<Json<countersign_core::password::PasswordState>, ApiError> {
    Ok(Json(s.core.unlock_static_password(&domain, &user_id).await?))
}

/// The tenant's risk settings: IP lists and rules (the defaults when it set none).
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/risk", tag = "admin", params(("domain" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::risk::RiskSettings, description = "The risk settings."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant.")
    ))]
async fn get_risk(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<Json<countersign_core::risk::RiskSettings>, ApiError> {
    Ok(Json(s.core.risk_settings_of(&domain).await?))
}

/// Replace the tenant's risk settings (docs/risk.md: facts, conditions, outcomes).
#[utoipa::path(put, path = "/admin/v1/tenants/{domain}/risk", tag = "admin", params(("domain" = String, Path)),
    request_body = countersign_core::risk::RiskSettings, security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::risk::RiskSettings, description = "The risk settings as they are now."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn put_risk(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<countersign_core::risk::RiskSettings>,
) -> Result<Json<countersign_core::risk::RiskSettings>, ApiError> {
    Ok(Json(s.core.set_risk_settings(&domain, input).await?))
}

/// The tenant's FIDO relying party.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/fido", tag = "admin", params(("domain" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::fido::RelyingParty, description = "The FIDO relying party."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 409, body = ErrorBody, description = "The tenant has no FIDO relying party (`fido_not_configured`).")
    ))]
async fn get_fido(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<Json<countersign_core::fido::RelyingParty>, ApiError> {
    Ok(Json(s.core.relying_party_of(&domain).await?))
}

/// Set the tenant's FIDO relying party: RP ID, allowed origins, on/off.
#[utoipa::path(put, path = "/admin/v1/tenants/{domain}/fido", tag = "admin", params(("domain" = String, Path)),
    request_body = countersign_core::fido::RelyingParty, security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::fido::RelyingParty, description = "The FIDO relying party as it is now."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn put_fido(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<countersign_core::fido::RelyingParty>,
) -> Result<Json<countersign_core::fido::RelyingParty>, ApiError> {
    Ok(Json(s.core.set_relying_party(&domain, input).await?))
}

/// A user's FIDO credentials, by credential ID.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/users/{userID}/fido-credentials", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path), ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<countersign_core::fido::CredentialView>, description = "A page of the user's FIDO credentials and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user."),
        (status = 422, body = ErrorBody, description = "`limit` out of 1–500 or `after` not a cursor of this listing (`invalid_value`, `field` names it).")
    ))]
async fn list_fido_credentials(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<countersign_core::fido::CredentialView>>, ApiError> {
    Ok(Json(s.core.fido_credentials(&domain, &user_id, q.after, q.limit).await?))
}

/// A new name for a credential.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    /// The name.
    name: String,
}

/// Rename a FIDO credential.
#[utoipa::path(patch, path = "/admin/v1/tenants/{domain}/users/{userID}/fido-credentials/{credentialID}", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path), ("credentialID" = String, Path)), request_body = Rename,
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::fido::CredentialView, description = "The renamed credential."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant, user or credential."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn rename_fido_credential(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id, credential_id)): ApiPath<(String, String, String)>,
    ApiJson(input): ApiJson<Rename>,
) -> Result<Json<countersign_core::fido::CredentialView>, ApiError> {
    Ok(Json(s.core.rename_fido_credential(&domain, &user_id, &credential_id, &input.name).await?))
}

/// Remove a FIDO credential.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/users/{userID}/fido-credentials/{credentialID}", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path), ("credentialID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant, user or credential.")
    ))]
async fn delete_fido_credential(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id, credential_id)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_fido_credential(&domain, &user_id, &credential_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's FIDO UAF registrations, by AAID and key ID. The cursor is `AAID:keyID`
/// (URL-encode it: an AAID holds `#`).
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/users/{userID}/uaf-registrations", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path), ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<serde_json::Value>, description = "A page of the user's UAF registrations (`aaid`, `keyID`, `signCounter`, `attestation`) and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user."),
        (status = 422, body = ErrorBody, description = "`limit` out of 1–500 or `after` not a cursor of this listing (`invalid_value`, `field` names it).")
    ))]
async fn list_uaf_registrations(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<serde_json::Value>>, ApiError> {
    Ok(Json(s.core.uaf_registrations_of(&domain, &user_id, q.after, q.limit).await?))
}

/// Deregister a FIDO UAF authenticator; answers the UAF deregistration request message for
/// the client to hand to the authenticator.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/users/{userID}/uaf-registrations/{aaid}/{keyID}", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path), ("aaid" = String, Path, description = "e.g. ABCD%230001"),
        ("keyID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 200, body = Vec<Object>, description = "Deregistered; the UAF deregistration request message for the authenticator."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant, user or registration.")
    ))]
async fn deregister_uaf(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id, aaid, key_id)): ApiPath<(String, String, String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(s.core.uaf_deregister(&domain, &user_id, &aaid, &key_id).await?))
}
