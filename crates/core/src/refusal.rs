//! Refusal codes: why the domain refused a well-formed request. Each is one variant of
//! [`RefusalCode`], grouped by area; [`RefusalCode::as_str`] is the stable snake_case
//! wire code the HTTP layer sends as `error.code` (docs/foundation.md, "Errors").
//! Code that reacts to a refusal matches the variant (or asks a method such as
//! [`RefusalCode::is_fido_response_failure`]), never the text.

macro_rules! refusal_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $wire:literal,)*) => {
        /// Why a request was refused; the wire code is [`RefusalCode::as_str`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RefusalCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl RefusalCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [RefusalCode] = &[$(RefusalCode::$variant),*];

            /// The stable wire code.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(RefusalCode::$variant => $wire,)*
                }
            }
        }
    };
}

refusal_codes! {
    // ---- login sessions -------------------------------------------------------------
    /// The session has ended; it takes no more answers.
    SessionClosed = "session_closed",
    /// The answer names another adaptive session (`sessionID`).
    SessionMismatch = "session_mismatch",
    /// A signed answer is too old or from the future.
    StaleRequest = "stale_request",
    /// A signed request was seen before.
    ReplayedRequest = "replayed_request",
    /// The signature does not verify.
    BadSignature = "bad_signature",
    /// The number the user picked is not the one shown.
    DisplayMismatch = "display_mismatch",
    /// The PIN is wrong.
    WrongPin = "wrong_pin",
    /// Number matching needs an asynchronous login.
    NumberMatchingRequiresAsync = "number_matching_requires_async",
    /// Too many login requests for this user in the window (rate limit).
    TooManyLoginRequests = "too_many_login_requests",
    /// Too many requests from this address, API key, activation or device in the window
    /// (`[limits]`, docs/security.md, "Request limits").
    RateLimited = "rate_limited",
    /// Push authorization is switched off for the tenant.
    PushAuthorizationDisabled = "push_authorization_disabled",
    /// The user may not authenticate.
    UserDisabled = "user_disabled",
    /// The risk engine locked the user.
    UserLocked = "user_locked",

    // ---- activation and devices ------------------------------------------------------
    /// The activation code must be proven first.
    ActivationCodeRequired = "activation_code_required",
    /// The activation code is wrong.
    InvalidActivationCode = "invalid_activation_code",
    /// Too many wrong activation codes.
    ActivationBurned = "activation_burned",
    /// The activation was used.
    ActivationUsed = "activation_used",
    /// The activation expired.
    ActivationExpired = "activation_expired",
    /// The sign-in link is unknown, used or expired (one code for all three).
    SignInLinkInvalid = "sign_in_link_invalid",
    /// Enrollment of another device is not allowed (tenant's enrollment mode).
    DeviceEnrollmentDisabled = "device_enrollment_disabled",
    /// The device is already enrolled.
    DeviceExists = "device_exists",
    /// The device has not confirmed its activation.
    DeviceNotConfirmed = "device_not_confirmed",
    /// The device is not waiting for confirmation.
    DeviceNotPending = "device_not_pending",
    /// The device was disconnected (wrong PINs, or by an administrator).
    DeviceDisconnected = "device_disconnected",

    // ---- authentication types and one-time codes ------------------------------------
    /// No authentication type of that name.
    AuthTypeNotFound = "auth_type_not_found",
    /// The authentication type is switched off.
    AuthTypeDisabled = "auth_type_disabled",
    /// Custom delivery of codes is not allowed on this server.
    CustomDeliveryDisabled = "custom_delivery_disabled",
    /// The user's delivery method is not `Default`.
    DeliveryMethodNotDefault = "delivery_method_not_default",
    /// The user has no phone or e-mail for the code.
    NoContact = "no_contact",
    /// The one-time code is wrong.
    InvalidOtp = "invalid_otp",
    /// Too many wrong codes: the session failed.
    OtpAttemptsExceeded = "otp_attempts_exceeded",
    /// Resending is switched off for the type.
    ResendDisabled = "resend_disabled",
    /// The type's resend limit is reached.
    ResendLimit = "resend_limit",
    /// The QR login code is wrong.
    InvalidCode = "invalid_code",

    // ---- OATH tokens and virtual authenticators --------------------------------------
    /// The user has no token.
    NoToken = "no_token",
    /// The operation needs an HOTP token.
    NotHotp = "not_hotp",
    /// Resynchronisation found no matching codes.
    ResyncFailed = "resync_failed",
    /// The token is in use by another check.
    TokenBusy = "token_busy",
    /// Too many wrong codes: the token is locked.
    TokenLocked = "token_locked",
    /// The token is not waiting for activation.
    TokenNotPending = "token_not_pending",
    /// The serial number is taken.
    SerialTaken = "serial_taken",
    /// No virtual authenticator of that kind.
    AuthenticatorNotFound = "authenticator_not_found",

    // ---- static passwords ------------------------------------------------------------
    /// The static password is wrong.
    InvalidPassword = "invalid_password",
    /// Static passwords are switched off for the tenant.
    StaticPasswordDisabled = "static_password_disabled",
    /// The grace period is over: the password alone no longer suffices.
    StaticPasswordExpired = "static_password_expired",
    /// Too many wrong passwords: locked.
    StaticPasswordLocked = "static_password_locked",

    // ---- admin console -------------------------------------------------------------------
    /// The console sign-in's username or password is wrong (one answer for both).
    SignInFailed = "sign_in_failed",
    /// Too many wrong passwords: the administrator account is locked for a while.
    AdminAccountLocked = "admin_account_locked",
    /// The administrator's role does not allow this.
    RoleForbidden = "role_forbidden",

    // ---- FIDO2 -------------------------------------------------------------------------
    /// FIDO is switched off for the tenant.
    FidoDisabled = "fido_disabled",
    /// No FIDO relying party is configured.
    FidoNotConfigured = "fido_not_configured",
    /// The user has no registered FIDO authenticator.
    NoFidoAuthenticator = "no_fido_authenticator",
    /// The authenticator model is not allowed by the relying party.
    FidoAuthenticatorNotAllowed = "fido_authenticator_not_allowed",
    /// The credential is registered already.
    FidoCredentialTaken = "fido_credential_taken",
    /// The response comes from an origin the relying party does not allow.
    FidoWrongOrigin = "fido_wrong_origin",
    /// The authenticator signed for another relying party ID.
    FidoWrongRpId = "fido_wrong_rp_id",
    /// User verification was required but not performed.
    FidoUserNotVerified = "fido_user_not_verified",
    /// The response answers another challenge.
    FidoWrongChallenge = "fido_wrong_challenge",
    /// The attestation does not prove an allowed model.
    FidoAttestationNotTrusted = "fido_attestation_not_trusted",
    /// The signature counter went backwards.
    FidoCounterRegression = "fido_counter_regression",
    /// The FIDO response does not verify.
    FidoVerificationFailed = "fido_verification_failed",

    // ---- FIDO UAF ----------------------------------------------------------------------
    /// No UAF policy is configured.
    UafNotConfigured = "uaf_not_configured",
    /// The authenticator's AAID is not accepted.
    UafAaidNotAccepted = "uaf_aaid_not_accepted",
    /// The attestation is not trusted.
    UafAttestationNotTrusted = "uaf_attestation_not_trusted",
    /// The assertion does not parse or is bound to other parameters.
    UafBadAssertion = "uaf_bad_assertion",
    /// The attestation signature does not verify.
    UafBadAttestation = "uaf_bad_attestation",
    /// The key ID is registered already for this AAID.
    UafKeyTaken = "uaf_key_taken",
    /// The user confirmed another transaction text.
    UafTransactionMismatch = "uaf_transaction_mismatch",
    /// The response is for another app ID.
    UafWrongAppId = "uaf_wrong_app_id",
    /// The calling facet is not trusted.
    UafWrongFacet = "uaf_wrong_facet",
    /// The response is for another operation.
    UafWrongOperation = "uaf_wrong_operation",

    // ---- delivery and providers ------------------------------------------------------
    /// The callback URL is not on the tenant's allowlist.
    CallbackNotAllowed = "callback_not_allowed",
    /// The tenant has no callback settings.
    CallbackNotConfigured = "callback_not_configured",
    /// No provider for the channel is configured.
    ProviderNotConfigured = "provider_not_configured",
    /// The outbox message cannot be sent again.
    NotRetryable = "not_retryable",

    // ---- front doors -------------------------------------------------------------------
    /// The tenant has a RADIUS client of that name.
    RadiusClientNameTaken = "radius_client_name_taken",
    /// The RADIUS client's network overlaps another client's (any tenant's).
    RadiusNetworkOverlap = "radius_network_overlap",
    /// The tenant has a Duo integration of that name.
    DuoIntegrationNameTaken = "duo_integration_name_taken",
}

impl RefusalCode {
    /// Whether it says a FIDO2 or UAF response did not verify (wrong origin, challenge,
    /// signature, attestation …): such failures count for the risk engine's velocity.
    pub fn is_fido_response_failure(self) -> bool {
        use RefusalCode as C;
        matches!(
            self,
            C::FidoDisabled
                | C::FidoNotConfigured
                | C::FidoAuthenticatorNotAllowed
                | C::FidoCredentialTaken
                | C::FidoWrongOrigin
                | C::FidoWrongRpId
                | C::FidoUserNotVerified
                | C::FidoWrongChallenge
                | C::FidoAttestationNotTrusted
                | C::FidoCounterRegression
                | C::FidoVerificationFailed
                | C::UafNotConfigured
                | C::UafAaidNotAccepted
                | C::UafAttestationNotTrusted
                | C::UafBadAssertion
                | C::UafBadAttestation
                | C::UafKeyTaken
                | C::UafTransactionMismatch
                | C::UafWrongAppId
                | C::UafWrongFacet
                | C::UafWrongOperation
        )
    }
}

impl std::fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_codes_are_unique_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for c in RefusalCode::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            let snake = !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && !s.starts_with('_')
                && !s.ends_with('_')
                && !s.contains("__");
            assert!(snake, "{s} is not snake_case");
            assert_eq!(c.to_string(), s);
        }
    }

    #[test]
    fn fido_response_failures_are_the_fido_and_uaf_codes() {
        for c in RefusalCode::ALL {
            let s = c.as_str();
            assert_eq!(c.is_fido_response_failure(), s.starts_with("fido_") || s.starts_with("uaf_"), "{s}");
        }
    }
}
