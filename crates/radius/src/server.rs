//! The UDP loop and the policies (docs/radius.md): each datagram is parsed, matched to its
//! client by source address, checked (Message-Authenticator), de-duplicated, and answered
//! on a task of its own, so a push waiting for a user never holds up other requests.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use countersign_core::methods::command::{AnswerLogin, LoginCall, StartLogin};
use countersign_core::metrics::RadiusResult;
use countersign_core::radius::{NasClient, RadiusPolicy};
use countersign_core::session::SessionState;
use countersign_core::{Core, CoreError, RefusalCode};
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, watch};

use crate::packet::{self, Packet};

/// How long an answer is kept to answer a retransmission with.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(30);
/// Requests answered at once; beyond that, new ones are dropped (the client retries).
pub const MAX_IN_FLIGHT: usize = 1024;
/// Digits of the token code at the end of a `password_code` User-Password.
pub const CODE_DIGITS: usize = 6;
/// What a State attribute holds before the session's request ID.
const STATE_PREFIX: &str = "cs1:";

/// A retransmission is the same identifier and Request Authenticator from the same place.
type DupKey = (SocketAddr, u8, [u8; 16]);

enum Seen {
    /// Being answered: a retransmission now is dropped.
    Running,
    /// Answered with these bytes at that time.
    Answered(Instant, Vec<u8>),
}

struct Shared {
    core: Core,
    socket: UdpSocket,
    seen: Mutex<HashMap<DupKey, Seen>>,
    permits: Semaphore,
}

/// Answer RADIUS on `socket` until `stop` turns true.
pub async fn serve(core: Core, socket: UdpSocket, mut stop: watch::Receiver<bool>) {
    let shared =
        Arc::new(Shared { core, socket, seen: Mutex::new(HashMap::new()), permits: Semaphore::new(MAX_IN_FLIGHT) });
    let mut buf = vec![0u8; packet::MAX_LEN];
    loop {
        let (n, from) = tokio::select! {
            r = shared.socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "radius: cannot receive");
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let datagram = buf[..n].to_vec();
        received(&shared, datagram, from);
    }
}

fn received(shared: &Arc<Shared>, datagram: Vec<u8>, from: SocketAddr) {
    let metrics = &shared.core.metrics;
    let Ok(p) = Packet::parse(&datagram) else {
        tracing::debug!(%from, "radius: malformed packet dropped");
        metrics.radius_request(RadiusResult::Dropped);
        return;
    };
    if p.code != packet::ACCESS_REQUEST && p.code != packet::STATUS_SERVER {
        tracing::debug!(%from, code = p.code, "radius: packet of a code not served dropped");
        metrics.radius_request(RadiusResult::Dropped);
        return;
    }
    let key = (from, p.id, p.authenticator);
    {
        let Ok(mut seen) = shared.seen.lock() else { return };
        let now = Instant::now();
        if seen.len() > 4096 {
            seen.retain(|_, s| !matches!(s, Seen::Answered(at, _) if now.duration_since(*at) > DUPLICATE_WINDOW));
        }
        match seen.get(&key) {
            Some(Seen::Answered(at, answer)) if now.duration_since(*at) <= DUPLICATE_WINDOW => {
                let answer = answer.clone();
                drop(seen);
                metrics.radius_request(RadiusResult::Duplicate);
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = shared.socket.send_to(&answer, from).await;
                });
                return;
            }
            Some(Seen::Running) => {
                metrics.radius_request(RadiusResult::Duplicate);
                return;
            }
            _ => {}
        }
        seen.insert(key, Seen::Running);
    }
    let Ok(permit) = shared.permits.try_acquire() else {
        forget(shared, &key);
        tracing::warn!(%from, "radius: too many requests at once; dropped");
        metrics.radius_request(RadiusResult::Dropped);
        return;
    };
    permit.forget();
    let shared = shared.clone();
    tokio::spawn(async move {
        let answer = answer(&shared.core, &p, &datagram, from).await;
        shared.permits.add_permits(1);
        match answer {
            Some((result, bytes)) => {
                shared.core.metrics.radius_request(result);
                if let Ok(mut seen) = shared.seen.lock() {
                    seen.insert(key, Seen::Answered(Instant::now(), bytes.clone()));
                }
                if let Err(e) = shared.socket.send_to(&bytes, from).await {
                    tracing::warn!(%from, error = %e, "radius: cannot send the answer");
                }
            }
            None => {
                shared.core.metrics.radius_request(RadiusResult::Dropped);
                forget(&shared, &key);
            }
        }
    });
}

fn forget(shared: &Shared, key: &DupKey) {
    if let Ok(mut seen) = shared.seen.lock() {
        seen.remove(key);
    }
}

/// The answer to a request, or `None` to drop it.
async fn answer(core: &Core, p: &Packet, datagram: &[u8], from: SocketAddr) -> Option<(RadiusResult, Vec<u8>)> {
    let nas = match core.radius_client_for(from.ip()).await {
        Ok(Some(nas)) => nas,
        Ok(None) => {
            tracing::warn!(%from, "radius: request from an address no RADIUS client covers; dropped");
            return None;
        }
        Err(e) => {
            tracing::error!(%from, error = %countersign_core::session::cause(&e), "radius: cannot look up the client");
            return None;
        }
    };
    if !p.message_authenticator_ok(datagram, &nas.secret) {
        tracing::warn!(%from, client = %nas.client.name,
            "radius: request without a right Message-Authenticator (wrong secret?); dropped");
        return None;
    }
    if p.code == packet::STATUS_SERVER {
        return Some((RadiusResult::Status, packet::response(p, packet::ACCESS_ACCEPT, &[], &nas.secret)));
    }
    let core = core.as_radius_client(&nas.client.id);
    let reply = decide(&core, &nas, p).await;
    let (result, code, mut attrs) = match reply {
        Reply::Accept => (RadiusResult::Accept, packet::ACCESS_ACCEPT, vec![]),
        Reply::Reject(why) => {
            (RadiusResult::Reject, packet::ACCESS_REJECT, vec![(packet::REPLY_MESSAGE, why.into_bytes())])
        }
        Reply::Challenge { state, message } => (
            RadiusResult::Challenge,
            packet::ACCESS_CHALLENGE,
            vec![(packet::STATE, state.into_bytes()), (packet::REPLY_MESSAGE, message.into_bytes())],
        ),
    };
    attrs.retain(|(_, v)| !v.is_empty());
    tracing::debug!(client = %nas.client.name, result = result.as_str(), "radius: answered");
    Some((result, packet::response(p, code, &attrs, &nas.secret)))
}

enum Reply {
    Accept,
    Reject(String),
    Challenge { state: String, message: String },
}

const WRONG: &str = "Wrong password or code.";

/// What a refusal tells the user: never whether the user exists.
fn refusal_message(e: &CoreError) -> String {
    match e {
        CoreError::Refused { code, .. } => match code {
            RefusalCode::StaticPasswordLocked | RefusalCode::TokenLocked | RefusalCode::OtpAttemptsExceeded => {
                "Locked after too many wrong tries.".into()
            }
            RefusalCode::UserLocked | RefusalCode::UserDisabled => WRONG.into(),
            RefusalCode::StaticPasswordDisabled => "Passwords are not accepted here.".into(),
            _ => WRONG.into(),
        },
        CoreError::Store(_) | CoreError::Internal(_) => "The server cannot answer now.".into(),
        _ => WRONG.into(),
    }
}

fn ended(state: SessionState) -> Reply {
    match state {
        SessionState::Accept => Reply::Accept,
        SessionState::Decline => Reply::Reject("The request was declined.".into()),
        SessionState::Timeout | SessionState::Pending => Reply::Reject("No answer in time.".into()),
        SessionState::Failed => Reply::Reject("The login could not be completed.".into()),
    }
}

fn text(v: Option<&[u8]>) -> Option<String> {
    v.and_then(|b| String::from_utf8(b.to_vec()).ok())
}

async fn decide(core: &Core, nas: &NasClient, p: &Packet) -> Reply {
    let domain = nas.tenant.domain.as_str();
    let Some(name) = text(p.get(packet::USER_NAME)).filter(|n| !n.is_empty()) else {
        return Reply::Reject("User-Name is missing.".into());
    };
    let user_ref = match name.rsplit_once('@') {
        Some((_, d)) if d.eq_ignore_ascii_case(domain) => name.clone(),
        Some(_) => return Reply::Reject(WRONG.into()),
        None => format!("{name}@{domain}"),
    };
    if p.get(packet::CHAP_PASSWORD).is_some() || p.get(packet::EAP_MESSAGE).is_some() {
        return Reply::Reject("Only PAP is supported.".into());
    }
    let password = match p.password(&nas.secret) {
        Ok(Some(pw)) => match String::from_utf8(pw) {
            Ok(s) => s,
            Err(_) => return Reply::Reject(WRONG.into()),
        },
        Ok(None) => return Reply::Reject("User-Password is missing.".into()),
        Err(_) => return Reply::Reject(WRONG.into()),
    };
    let ip_address = text(p.get(packet::CALLING_STATION_ID)).filter(|s| s.trim().parse::<IpAddr>().is_ok());
    let ip = ip_address.clone();
    let mut context = std::collections::BTreeMap::new();
    context.insert("via".to_owned(), format!("RADIUS ({})", nas.client.name));
    let login = StartLogin { ip_address, context, no_number: true, ..StartLogin::default() };
    let tenant = &nas.tenant;
    match nas.client.policy {
        RadiusPolicy::PasswordPush => {
            if let Err(e) = core.radius_password(tenant, &user_ref, &password, ip.as_deref()).await {
                return Reply::Reject(refusal_message(&e));
            }
            let call = LoginCall::Start { pass_key: nas.client.second_factor.clone(), login };
            match core.login(tenant, &user_ref, call).await {
                Ok(r) => ended(r.state),
                Err(e) => Reply::Reject(refusal_message(&e)),
            }
        }
        RadiusPolicy::PasswordCode => {
            let split = password.len().checked_sub(CODE_DIGITS).filter(|&at| password.is_char_boundary(at));
            let Some(at) = split else { return Reply::Reject(WRONG.into()) };
            let (pw, code) = password.split_at(at);
            if !code.bytes().all(|b| b.is_ascii_digit()) {
                return Reply::Reject(WRONG.into());
            }
            if let Err(e) = core.radius_password(tenant, &user_ref, pw, ip.as_deref()).await {
                return Reply::Reject(refusal_message(&e));
            }
            let call = LoginCall::Token { pass_key: None, otp: code.to_owned(), login };
            match core.login(tenant, &user_ref, call).await {
                Ok(r) => ended(r.state),
                Err(e) => Reply::Reject(refusal_message(&e)),
            }
        }
        RadiusPolicy::PasswordChallenge => match text(p.get(packet::STATE)) {
            Some(state) => {
                let Some(request_id) = state.strip_prefix(STATE_PREFIX) else { return Reply::Reject(WRONG.into()) };
                let answer =
                    AnswerLogin { request_id: request_id.to_owned(), secret: password, credentials: None, login };
                match core.login(tenant, &user_ref, LoginCall::Answer(answer)).await {
                    Ok(r) => ended(r.state),
                    Err(CoreError::Refused { attempts_left: Some(n), .. }) if n > 0 => Reply::Challenge {
                        state,
                        message: format!("Wrong code. {n} {} left.", if n == 1 { "try" } else { "tries" }),
                    },
                    Err(e) => Reply::Reject(refusal_message(&e)),
                }
            }
            None => {
                if let Err(e) = core.radius_password(tenant, &user_ref, &password, ip.as_deref()).await {
                    return Reply::Reject(refusal_message(&e));
                }
                let factor = nas.client.second_factor.clone();
                let call =
                    LoginCall::Start { pass_key: factor.clone(), login: StartLogin { timeout: Some(0), ..login } };
                match core.login(tenant, &user_ref, call).await {
                    Ok(r) if r.state == SessionState::Pending => Reply::Challenge {
                        state: format!("{STATE_PREFIX}{}", r.request_id),
                        message: where_the_code_went(core, tenant, &factor).await,
                    },
                    Ok(r) => ended(r.state),
                    Err(e) => Reply::Reject(refusal_message(&e)),
                }
            }
        },
    }
}

async fn where_the_code_went(core: &Core, tenant: &countersign_core::Tenant, factor: &str) -> String {
    use countersign_core::methods::Method;
    let method = core.auth_type(tenant, factor).await.ok().flatten().map(|t| t.method);
    match method {
        Some(Method::Email) => "Enter the code sent to you by e-mail.".into(),
        Some(Method::Sms) if factor.starts_with("votp") => "Enter the code sent to you.".into(),
        Some(Method::Sms) => "Enter the code sent to you by text message.".into(),
        Some(Method::Voice) => "Enter the code you were told by phone.".into(),
        _ => "Enter the code.".into(),
    }
}
