//! Request limits at the edge (docs/security.md, "Request limits"): [`enforce`] counts
//! every integration (`/v1`) and mobile (`/mobile/v1`) request against its client
//! address's budget, and the activation steps and answers against their own per-address
//! budgets and (activation steps) the activation's; the per-API-key budget is counted
//! where the key is checked ([`crate::auth::TenantAuth`]) and the per-device budget of
//! answers once the device's signature is ([`answer_by_device`]). Admin, operations and
//! other page routes are not limited; the pages' sign-in steps count against their own
//! per-address budget ([`is_sign_in`]).
//!
//! The address is the one [`crate::client::resolve`] believed (behind trusted proxies,
//! the forwarded client's). An IPv6 client counts per /64, the block one subscriber
//! usually holds, so that rotating through its addresses does not multiply the budget.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use countersign_core::limits::LimitKind;

use crate::AppState;
use crate::error::ApiError;

/// What a client address counts as: an IPv4 address, or an IPv6 address's /64.
pub fn address_subject(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
    }
}

/// The budgets a request path counts against, beside the per-key and per-device ones:
/// `(kind, use the activation ID in the path)`.
fn budgets(path: &str) -> &'static [(LimitKind, bool)] {
    // The integration API and the Duo-compatible API (docs/duo.md) are relying parties'.
    if path.starts_with("/v1/") || path.starts_with("/auth/v2/") || path.starts_with("/rest/v1/") {
        return &[(LimitKind::IntegrationAddress, false)];
    }
    if is_sign_in(path) {
        return &[(LimitKind::SignInAddress, false)];
    }
    let Some(rest) = path.strip_prefix("/mobile/v1/") else { return &[] };
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        ["activations", _, "code" | "instance"] => {
            &[(LimitKind::MobileAddress, false), (LimitKind::ActivationAddress, false), (LimitKind::Activation, true)]
        }
        ["requests", _, "response"] => &[(LimitKind::MobileAddress, false), (LimitKind::AnswerAddress, false)],
        _ => &[(LimitKind::MobileAddress, false)],
    }
}

/// The web pages' sign-in steps: the self-service link, password, second factor and
/// passkey calls, and the console's password and passkey steps.
fn is_sign_in(path: &str) -> bool {
    if let Some(rest) = path.strip_prefix("/self-service/") {
        let mut parts = rest.splitn(3, '/');
        let (_, step) = (parts.next(), parts.next());
        return matches!(step, Some("link" | "sign-in"));
    }
    path == "/console/sign-in" || path.starts_with("/console/passkey")
}

/// Middleware: count the request against its address budgets (and an activation step
/// against its activation's); past one, `429 rate_limited` with `Retry-After`.
pub async fn enforce(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if !s.core.limits.enabled {
        return next.run(req).await;
    }
    let path = req.uri().path();
    let kinds = budgets(path);
    if kinds.is_empty() {
        return next.run(req).await;
    }
    let address = crate::client::client_of(&req).map(|a| address_subject(a.ip()));
    // /mobile/v1/activations/{activationID}/…: the fourth segment.
    let activation = path.split('/').nth(4).unwrap_or("").to_owned();
    for (kind, by_activation) in kinds {
        let subject = if *by_activation { Some(activation.as_str()) } else { address.as_deref() };
        // A request that came over no socket (a test calling the router) has no address.
        let Some(subject) = subject else { continue };
        if let Err(e) = s.core.count_request(*kind, subject, None).await {
            return ApiError::from(e).into_response();
        }
    }
    next.run(req).await
}

/// Count an answer against its device's budget, once the device's signature is checked
/// (so that only the device itself can spend it).
pub async fn answer_by_device(s: &AppState, device: &countersign_core::device::Device) -> Result<(), ApiError> {
    Ok(s.core.count_request(LimitKind::AnswerDevice, &device.id, Some(&device.tenant_id)).await?)
}

/// Count an integration API request against its API key's budget, once the key is
/// checked.
pub async fn by_api_key(s: &AppState, path: &str, tenant_id: &str, key_id: &str) -> Result<(), ApiError> {
    if !path.starts_with("/v1/") {
        return Ok(());
    }
    Ok(s.core.count_request(LimitKind::ApiKey, key_id, Some(tenant_id)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_pick_their_budgets() {
        use LimitKind::*;
        let kinds = |p: &str| budgets(p).iter().map(|(k, _)| *k).collect::<Vec<_>>();
        assert_eq!(kinds("/v1/users/alice@example.com/login"), [IntegrationAddress]);
        assert_eq!(kinds("/mobile/v1/activations/a1/code"), [MobileAddress, ActivationAddress, Activation]);
        assert_eq!(kinds("/mobile/v1/activations/a1/instance"), [MobileAddress, ActivationAddress, Activation]);
        assert_eq!(kinds("/mobile/v1/requests/r1/response"), [MobileAddress, AnswerAddress]);
        assert_eq!(kinds("/mobile/v1/requests"), [MobileAddress]);
        for free in ["/admin/v1/tenants", "/metrics", "/healthz", "/readyz", "/openapi.json", "/docs", "/v1", "/"] {
            assert!(kinds(free).is_empty(), "{free}");
        }
        assert_eq!("/mobile/v1/activations/a1/code".split('/').nth(4), Some("a1"));
    }

    #[test]
    fn ipv6_counts_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        assert_eq!(address_subject(a), "2001:db8:1:2::/64");
        assert_eq!(address_subject(a), address_subject(b));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        assert_eq!(address_subject(mapped), "192.0.2.7");
    }
}
