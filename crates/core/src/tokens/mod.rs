//! OATH tokens (docs/tokens.md): software tokens enrolled by `otpauth://` URI, hardware
//! tokens imported by serial and seed, and verifying their codes with drift, look-ahead,
//! replay refusal, lockout and resynchronisation.

pub mod import;
pub mod oath;
pub mod virtual_auth;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::attempts::Guess;
use crate::clock::Timestamp;
use crate::error::{CoreError, Entity, Refusal};
use crate::login::LoginResult;
use crate::methods::Method;
use crate::random;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::store::Counter;
use crate::tenant::Tenant;
use crate::user::User;
use oath::Algorithm;

/// Wrong codes in a row before a token locks.
pub const MAX_FAILURES: u32 = 5;
/// HOTP counters looked ahead of the expected one.
pub const HOTP_LOOK_AHEAD: i64 = 10;
/// TOTP steps accepted either side of now.
pub const TOTP_DRIFT_STEPS: i64 = 1;
/// HOTP counters searched by a resynchronisation.
pub const RESYNC_WINDOW: i64 = 1000;

/// HOTP or TOTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Time-based (RFC 6238).
    Totp,
    /// Counter-based (RFC 4226).
    Hotp,
}

impl TokenKind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Totp => "totp",
            TokenKind::Hotp => "hotp",
        }
    }

    /// Read the stored text.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Totp, Self::Hotp].into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenState {
    /// Enrolled, waiting for its first code.
    Pending,
    /// In use.
    Active,
    /// Too many wrong codes; an admin unlocks it.
    Locked,
}

impl TokenState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Pending => "pending",
            TokenState::Active => "active",
            TokenState::Locked => "locked",
        }
    }

    /// Read the stored text.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Pending, Self::Active, Self::Locked].into_iter().find(|k| k.as_str() == s)
    }
}

/// A token as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    /// Identifier.
    #[serde(rename = "tokenID")]
    pub id: String,
    /// The tenant.
    #[serde(skip)]
    pub tenant_id: String,
    /// The holder's internal id.
    #[serde(skip)]
    pub user_pk: Option<String>,
    /// Serial number.
    pub serial: String,
    /// `totp` or `hotp`.
    #[serde(rename = "type")]
    pub kind: TokenKind,
    /// HMAC hash.
    pub algorithm: Algorithm,
    /// Digits per code.
    pub digits: u32,
    /// TOTP period, seconds.
    pub period: u32,
    /// HOTP: the next counter; TOTP: the last time step accepted (-1: none).
    #[serde(skip)]
    pub moving: i64,
    /// The seed, sealed.
    #[serde(skip)]
    pub secret: String,
    /// Where it stands.
    pub state: TokenState,
    /// Wrong codes in a row.
    pub failures: u32,
    /// Creation time.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Last change.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// `POST /v1/users/{userID@domain}/tokens`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollInput {
    /// `totp` (default) or `hotp`.
    #[serde(default, rename = "type")]
    pub kind: Option<TokenKind>,
    /// `SHA1` (default), `SHA256`, `SHA512`.
    #[serde(default)]
    pub algorithm: Option<Algorithm>,
    /// 6 (default) to 8.
    #[serde(default)]
    pub digits: Option<u32>,
    /// TOTP period, 10–300 seconds (default 30).
    #[serde(default)]
    pub period: Option<u32>,
}

/// A software token just enrolled; the URI holds the seed and is shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    /// The token.
    #[serde(flatten)]
    pub token: Token,
    /// `otpauth://…` for authenticator apps (holds the seed).
    #[serde(rename = "otpauthURI")]
    pub otpauth_uri: String,
}

/// `{"otp": "…"}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpInput {
    /// The code.
    pub otp: String,
}

/// `{"otp1", "otp2"}`: two consecutive codes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResyncInput {
    /// A code.
    pub otp1: String,
    /// The code after it.
    pub otp2: String,
}

/// `POST /admin/v1/tenants/{domain}/tokens/import`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportInput {
    /// `csv`.
    pub format: String,
    /// Lines `serial,type,seed_hex,digits,period_or_counter,algorithm` (a first line
    /// starting with `serial` is a header).
    pub data: String,
}

/// `PUT /admin/v1/tenants/{domain}/tokens/{tokenID}/user`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignInput {
    /// The holder, or `null` to unassign.
    #[serde(rename = "userID")]
    pub user_id: Option<String>,
}

fn check_shape(digits: u32, period: u32) -> Result<(), CoreError> {
    if !(6..=8).contains(&digits) {
        return Err(CoreError::invalid("digits", "digits must be 6, 7 or 8"));
    }
    if !(10..=300).contains(&period) {
        return Err(CoreError::invalid("period", "period must be between 10 and 300 seconds"));
    }
    Ok(())
}

fn otp_shape(otp: &str, field: &str) -> Result<(), CoreError> {
    if (6..=8).contains(&otp.len()) && otp.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(CoreError::invalid(field, "a code is 6 to 8 digits"))
    }
}

/// The `otpauth://` URI of a software token (what authenticator apps scan): its seed,
/// issuer (the tenant's domain), account (the userID) and shape.
pub(crate) fn otpauth_uri(t: &Token, issuer: &str, account: &str, seed: &[u8]) -> String {
    let mut uri = format!(
        "otpauth://{}/{}:{}?secret={}&issuer={}&algorithm={}&digits={}",
        t.kind.as_str(),
        pct(issuer),
        pct(account),
        oath::base32_encode(seed),
        pct(issuer),
        t.algorithm.as_str(),
        t.digits
    );
    match t.kind {
        TokenKind::Totp => uri.push_str(&format!("&period={}", t.period)),
        TokenKind::Hotp => uri.push_str("&counter=0"),
    }
    uri
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn invalid_otp(attempts_left: u32, used: bool) -> CoreError {
    let message = if used { "this code was already used: wait for the token's next code" } else { "the code is wrong" };
    CoreError::Refused {
        kind: Refusal::Unprocessable,
        code: RefusalCode::InvalidOtp,
        message: message.into(),
        attempts_left: Some(attempts_left),
    }
}

fn locked() -> CoreError {
    CoreError::refused(Refusal::Forbidden, RefusalCode::TokenLocked, "the token is locked after too many wrong codes")
}

/// Whether `otp` is `t`'s code at moving factor `m` (compared in constant time).
fn code_is(t: &Token, seed: &[u8], m: i64, otp: &str) -> bool {
    let code = oath::hotp(t.algorithm, seed, m.max(0) as u64, t.digits);
    bool::from(code.as_bytes().ct_eq(otp.as_bytes()))
}

impl Core {
    fn seed(&self, t: &Token) -> Result<Vec<u8>, CoreError> {
        hex::decode(self.sealer.open(&t.secret)?).map_err(|_| CoreError::Internal("damaged token seed".into()))
    }

    /// The moving factor after `otp` if it is right for `t` now (docs/tokens.md).
    fn match_code(&self, t: &Token, seed: &[u8], otp: &str) -> Option<i64> {
        let eq = |m: i64| code_is(t, seed, m, otp);
        match t.kind {
            TokenKind::Totp => {
                let now = oath::time_step(self.clock.now().millis() / 1000, t.period) as i64;
                (now - TOTP_DRIFT_STEPS..=now + TOTP_DRIFT_STEPS).find(|s| *s > t.moving && *s >= 0 && eq(*s))
            }
            TokenKind::Hotp => (t.moving..t.moving + HOTP_LOOK_AHEAD).find(|c| eq(*c)).map(|c| c + 1),
        }
    }

    /// Whether `otp` is a code `t` has already used up (a replay): within the TOTP window
    /// at or before the last used step, or HOTP's last used counter.
    fn used_code(&self, t: &Token, seed: &[u8], otp: &str) -> bool {
        let eq = |m: i64| code_is(t, seed, m, otp);
        match t.kind {
            TokenKind::Totp => {
                let now = oath::time_step(self.clock.now().millis() / 1000, t.period) as i64;
                (now - TOTP_DRIFT_STEPS..=now + TOTP_DRIFT_STEPS).any(|s| s <= t.moving && s >= 0 && eq(s))
            }
            TokenKind::Hotp => t.moving > 0 && eq(t.moving - 1),
        }
    }

    /// Check `otp` against `t` and record the outcome: `Ok(true)` accepted, errors for
    /// wrong codes (counted) and locked tokens. An attempt is reserved before the code is
    /// compared (`crate::attempts`); a right code moves the token's moving factor in one
    /// conditional update (which also clears the failures), so of two requests with the
    /// same code one wins and the other counts as a wrong code (a replay).
    async fn check_token(&self, t: &Token, otp: &str, activate: bool) -> Result<bool, CoreError> {
        let seed = self.seed(t)?;
        let now = self.clock.now();
        let right = async {
            let Some(next) = self.match_code(t, &seed, otp) else { return Ok(false) };
            let state = if activate { TokenState::Active } else { t.state };
            Ok(self.store.token_advance(&t.id, t.moving, next, state, now).await?)
        };
        match self.guess(Counter::Token { token_id: &t.id, max: MAX_FAILURES }, right).await? {
            Guess::Right => Ok(true),
            Guess::Wrong { left } => {
                // A replay is only told apart in the message.
                let used = self.store.token(&t.id).await?.is_some_and(|now| self.used_code(&now, &seed, otp));
                Err(invalid_otp(left.unwrap_or(0), used))
            }
            Guess::Exhausted { closed } => {
                if closed {
                    let event = crate::audit::AuditEvent::new(crate::audit::AuditKind::Locked)
                        .tenant_id(&t.tenant_id)
                        .details(serde_json::json!({ "token": t.id, "serial": t.serial }));
                    let event = match &t.user_pk {
                        Some(pk) => event.user_pk(pk),
                        None => event,
                    };
                    self.locked_out(crate::metrics::Lockout::Token, event).await;
                }
                Err(locked())
            }
            Guess::Refused => Err(locked()),
        }
    }

    async fn user_token(&self, user: &User, token_id: &str) -> Result<Token, CoreError> {
        self.store
            .token(token_id)
            .await?
            .filter(|t| t.user_pk.as_deref() == Some(user.id.as_str()))
            .ok_or(CoreError::NotFound(Entity::Token))
    }

    async fn tenant_token(&self, tenant: &Tenant, token_id: &str) -> Result<Token, CoreError> {
        self.store.token(token_id).await?.filter(|t| t.tenant_id == tenant.id).ok_or(CoreError::NotFound(Entity::Token))
    }

    /// The user `user` (`userID@domain`) of `tenant`.
    async fn user_ref(&self, tenant: &Tenant, user: &str) -> Result<User, CoreError> {
        let r = crate::user::UserRef::parse(user)?;
        if r.domain != tenant.domain {
            return Err(CoreError::NotFound(Entity::User));
        }
        self.user_in(tenant, r.user_id.as_str()).await
    }

    /// Enroll a software token for `user` (`userID@domain`; integration API); the seed
    /// is in the URI.
    pub async fn enroll_token(&self, tenant: &Tenant, user: &str, input: EnrollInput) -> Result<Enrollment, CoreError> {
        let user = self.user_ref(tenant, user).await?;
        let kind = input.kind.unwrap_or(TokenKind::Totp);
        let algorithm = input.algorithm.unwrap_or_default();
        let digits = input.digits.unwrap_or(6);
        let period = input.period.unwrap_or(30);
        check_shape(digits, period)?;
        let mut seed = [0u8; 20];
        self.random.fill(&mut seed)?;
        let mut serial_bytes = [0u8; 5];
        self.random.fill(&mut serial_bytes)?;
        let now = self.clock.now();
        let token = Token {
            id: random::new_id(&*self.random)?,
            tenant_id: tenant.id.clone(),
            user_pk: Some(user.id.clone()),
            serial: format!("SW{}", hex::encode_upper(serial_bytes)),
            kind,
            algorithm,
            digits,
            period,
            moving: if kind == TokenKind::Totp { -1 } else { 0 },
            secret: self.sealer.seal(&*self.random, &hex::encode(seed))?,
            state: TokenState::Pending,
            failures: 0,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_tokens(std::slice::from_ref(&token)).await?;
        let uri = otpauth_uri(&token, tenant.domain.as_str(), user.user_id.as_str(), &seed);
        Ok(Enrollment { token, otpauth_uri: uri })
    }

    /// Confirm a pending software token with its first code.
    pub async fn confirm_token(
        &self,
        tenant: &Tenant,
        user: &str,
        token_id: &str,
        otp: &str,
    ) -> Result<Token, CoreError> {
        otp_shape(otp, "otp")?;
        let user = self.user_ref(tenant, user).await?;
        let t = self.user_token(&user, token_id).await?;
        if t.state != TokenState::Pending {
            return Err(CoreError::refused(
                Refusal::Conflict,
                RefusalCode::TokenNotPending,
                "the token is confirmed already",
            ));
        }
        self.check_token(&t, otp, true).await?;
        let event = crate::audit::AuditEvent::new(crate::audit::AuditKind::TokenEnrolled)
            .tenant_id(&tenant.id)
            .tenant(tenant.domain.as_str())
            .user(user.user_id.as_str())
            .details(serde_json::json!({ "token": t.id, "serial": t.serial, "kind": t.kind.as_str() }));
        self.audit_or_log(event).await;
        self.store.token(token_id).await?.ok_or(CoreError::NotFound(Entity::Token))
    }

    /// A user's tokens (integration API).
    pub async fn user_tokens(&self, tenant: &Tenant, user: &str) -> Result<Vec<Token>, CoreError> {
        let user = self.user_ref(tenant, user).await?;
        Ok(self.store.user_tokens(&user.id).await?)
    }

    /// A login with a token code: final at once (docs/tokens.md).
    pub(crate) async fn token_login(
        &self,
        tenant: &Tenant,
        user: &User,
        otp: &str,
        session_id: Option<String>,
    ) -> Result<LoginResult, CoreError> {
        otp_shape(otp, "otp")?;
        let tokens: Vec<Token> =
            self.store.user_tokens(&user.id).await?.into_iter().filter(|t| t.state != TokenState::Pending).collect();
        if tokens.is_empty() {
            return Err(CoreError::Refused {
                kind: Refusal::Unprocessable,
                code: RefusalCode::NoToken,
                message: "the user has no active token".into(),
                attempts_left: None,
            });
        }
        let mut last = None;
        for t in &tokens {
            match self.check_token(t, otp, false).await {
                Ok(_) => {
                    let message = format!("token {}", t.serial);
                    return self.accepted_session(tenant, user, message, Method::Totp, session_id, None).await;
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| invalid_otp(0, false)))
    }

    /// A page of a tenant's tokens, by serial (admin API).
    pub async fn tenant_tokens(
        &self,
        domain: &str,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<crate::admin::Listing<Token>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let page = crate::admin::page(after, limit)?;
        let rows = self.store.tenant_tokens(&tenant.id, &page).await?;
        Ok(crate::admin::listing(rows, &page, |t| t.serial.clone()))
    }

    /// Assign a token to a user, or unassign it (admin API).
    pub async fn assign_token(&self, domain: &str, token_id: &str, input: AssignInput) -> Result<Token, CoreError> {
        let tenant = self.tenant(domain).await?;
        let t = self.tenant_token(&tenant, token_id).await?;
        let user_pk = match &input.user_id {
            Some(u) => Some(self.user_in(&tenant, u).await?.id),
            None => None,
        };
        self.store.set_token_user(&t.id, user_pk.as_deref(), self.clock.now()).await?;
        self.store.token(&t.id).await?.ok_or(CoreError::NotFound(Entity::Token))
    }

    /// Unlock a token (admin API).
    pub async fn unlock_token(&self, domain: &str, token_id: &str) -> Result<Token, CoreError> {
        let tenant = self.tenant(domain).await?;
        let t = self.tenant_token(&tenant, token_id).await?;
        let state = if t.state == TokenState::Locked { TokenState::Active } else { t.state };
        self.store.set_token_state(&t.id, state, self.clock.now()).await?;
        self.store.token(&t.id).await?.ok_or(CoreError::NotFound(Entity::Token))
    }

    /// Remove a token (admin API).
    pub async fn delete_token(&self, domain: &str, token_id: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(domain).await?;
        let t = self.tenant_token(&tenant, token_id).await?;
        self.store.delete_token(&t.id).await?;
        Ok(())
    }

    /// Resynchronise an HOTP token with two consecutive codes (admin API).
    pub async fn resync_token(&self, domain: &str, token_id: &str, input: ResyncInput) -> Result<Token, CoreError> {
        otp_shape(&input.otp1, "otp1")?;
        otp_shape(&input.otp2, "otp2")?;
        let tenant = self.tenant(domain).await?;
        let t = self.tenant_token(&tenant, token_id).await?;
        if t.kind != TokenKind::Hotp {
            return Err(CoreError::refused(
                Refusal::Unprocessable,
                RefusalCode::NotHotp,
                "only HOTP tokens are resynchronised",
            ));
        }
        let seed = self.seed(&t)?;
        let code = |c: i64| oath::hotp(t.algorithm, &seed, c as u64, t.digits);
        let found = (t.moving..t.moving + RESYNC_WINDOW).find(|c| {
            bool::from(code(*c).as_bytes().ct_eq(input.otp1.as_bytes()))
                && bool::from(code(c + 1).as_bytes().ct_eq(input.otp2.as_bytes()))
        });
        let Some(c) = found else {
            return Err(CoreError::refused(
                Refusal::Unprocessable,
                RefusalCode::ResyncFailed,
                "the two codes are not consecutive codes of this token within the window",
            ));
        };
        let state = if t.state == TokenState::Locked { TokenState::Active } else { t.state };
        if !self.store.token_advance(&t.id, t.moving, c + 2, state, self.clock.now()).await? {
            // Locked tokens are not advanced by token_advance: unlock first, then move.
            self.store.set_token_state(&t.id, TokenState::Active, self.clock.now()).await?;
            if !self.store.token_advance(&t.id, t.moving, c + 2, TokenState::Active, self.clock.now()).await? {
                return Err(CoreError::refused(
                    Refusal::Conflict,
                    RefusalCode::TokenBusy,
                    "the token changed meanwhile; try again",
                ));
            }
        }
        self.store.token(&t.id).await?.ok_or(CoreError::NotFound(Entity::Token))
    }
}
