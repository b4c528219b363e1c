//! The SQL both backends share, as macros instantiated once per backend: `sql_common!`
//! (imports and row readers every aggregate uses) and one macro per aggregate of the
//! Store trait, each in its own file (`sql_account.rs`, `sql_device.rs`, …).
//!
//! `sql_common!(Store, Db)` is invoked first, in the module of a type with a field
//! `pool: sqlx::Pool<Db>` and an inherent `async fn migrate_pool(&self)`.

/// Imports and helpers for the aggregate macros, over `sqlx::Pool<$db>`.
macro_rules! sql_common {
    ($store:ty, $db:ty) => {
        use async_trait::async_trait;
        use countersign_core::{
            AccessKey, AccessKind, AccountStore, ConfigStore, CredentialStore, DeviceStore, RiskStore, SealedConfig, SessionStore, Domain, Page, StoreError, Tenant, TenantSettings, Timestamp, User,
            UserId, UserStatus, VdpDeliveryMethod,
        };
        use sqlx::Row;

        use crate::db_err;

        type DbRow = <$db as sqlx::Database>::Row;

        fn corrupt(what: &str) -> StoreError {
            StoreError::Corrupt(what.to_owned())
        }

        fn tenant_from(r: &DbRow) -> Result<Tenant, StoreError> {
            let settings: String = r.try_get("settings").map_err(db_err)?;
            let domain: String = r.try_get("domain").map_err(db_err)?;
            Ok(Tenant {
                id: r.try_get("id").map_err(db_err)?,
                domain: Domain::parse(&domain, "domain").map_err(|_| corrupt("tenant domain"))?,
                settings: serde_json_settings(&settings)?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                updated_at: Timestamp(r.try_get("updated_at").map_err(db_err)?),
            })
        }

        fn serde_json_settings(s: &str) -> Result<TenantSettings, StoreError> {
            serde_json::from_str(s).map_err(|_| corrupt("tenant settings"))
        }

        fn user_from(r: &DbRow) -> Result<User, StoreError> {
            let user_id: String = r.try_get("user_id").map_err(db_err)?;
            let status: String = r.try_get("status").map_err(db_err)?;
            let vdp: String = r.try_get("vdp_delivery_method").map_err(db_err)?;
            Ok(User {
                id: r.try_get("id").map_err(db_err)?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                user_id: UserId::parse(&user_id, "userID").map_err(|_| corrupt("user id"))?,
                status: UserStatus::from_stored(&status).ok_or_else(|| corrupt("user status"))?,
                phone: r.try_get("phone").map_err(db_err)?,
                email: r.try_get("email").map_err(db_err)?,
                locale: r.try_get("locale").map_err(db_err)?,
                vdp_delivery_method: VdpDeliveryMethod::from_stored(&vdp)
                    .ok_or_else(|| corrupt("user vdpDeliveryMethod"))?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                updated_at: Timestamp(r.try_get("updated_at").map_err(db_err)?),
            })
        }

        fn key_from(r: &DbRow) -> Result<AccessKey, StoreError> {
            let kind: String = r.try_get("kind").map_err(db_err)?;
            let last: Option<i64> = r.try_get("last_used_at").map_err(db_err)?;
            let revoked: Option<i64> = r.try_get("revoked_at").map_err(db_err)?;
            Ok(AccessKey {
                id: r.try_get("id").map_err(db_err)?,
                kind: AccessKind::from_stored(&kind).ok_or_else(|| corrupt("access key kind"))?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                name: r.try_get("name").map_err(db_err)?,
                hint: r.try_get("hint").map_err(db_err)?,
                key_hash: r.try_get("key_hash").map_err(db_err)?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                last_used_at: last.map(Timestamp),
                revoked_at: revoked.map(Timestamp),
            })
        }

        /// The row `sql` (one `$1` parameter) finds for `key`, read by `from`.
        async fn one_by<T>(
            pool: &sqlx::Pool<$db>,
            sql: &'static str,
            key: &str,
            from: fn(&DbRow) -> Result<T, StoreError>,
        ) -> Result<Option<T>, StoreError> {
            sqlx::query(sql).bind(key).fetch_optional(pool).await.map_err(db_err)?.as_ref().map(from).transpose()
        }

        async fn all_by<T>(
            pool: &sqlx::Pool<$db>,
            sql: &'static str,
            key: &str,
            from: fn(&DbRow) -> Result<T, StoreError>,
        ) -> Result<Vec<T>, StoreError> {
            sqlx::query(sql).bind(key).fetch_all(pool).await.map_err(db_err)?.iter().map(from).collect()
        }

        /// A page of the rows `sql` finds: `$1` is `key`, `$2` the page's `after` (`''` for
        /// the first page, below every key), `$3` its limit.
        async fn page_by<T>(
            pool: &sqlx::Pool<$db>,
            sql: &'static str,
            key: &str,
            page: &Page,
            from: fn(&DbRow) -> Result<T, StoreError>,
        ) -> Result<Vec<T>, StoreError> {
            sqlx::query(sql)
                .bind(key)
                .bind(page.after.as_deref().unwrap_or(""))
                .bind(i64::from(page.limit))
                .fetch_all(pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(from)
                .collect()
        }

        /// Run a statement with one key; whether it touched exactly one row.
        async fn affects_one(pool: &sqlx::Pool<$db>, sql: &'static str, key: &str) -> Result<bool, StoreError> {
            Ok(sqlx::query(sql).bind(key).execute(pool).await.map_err(db_err)?.rows_affected() == 1)
        }

        fn settings_json(t: &Tenant) -> Result<String, StoreError> {
            serde_json::to_string(&t.settings).map_err(|e| StoreError::Backend(Box::new(e)))
        }


        async fn insert_key<'e, E>(exec: E, k: &AccessKey) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            sqlx::query(
                "INSERT INTO access_keys (id, kind, tenant_id, name, hint, key_hash, created_at, last_used_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&k.id)
            .bind(k.kind.as_str())
            .bind(&k.tenant_id)
            .bind(&k.name)
            .bind(&k.hint)
            .bind(&k.key_hash)
            .bind(k.created_at.millis())
            .bind(k.last_used_at.map(Timestamp::millis))
            .bind(k.revoked_at.map(Timestamp::millis))
            .execute(exec)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        use std::collections::BTreeMap;

        use countersign_core::device::{Activation, ActivationState, Device, DeviceState};
        use countersign_core::delivery::outbox::OutboxMessage;
        use countersign_core::methods::stored;
        use countersign_core::session::{NewSession, Session, SessionState, Transition};

        fn int<T: TryFrom<i64>>(r: &DbRow, col: &str) -> Result<T, StoreError> {
            let v: i64 = r.try_get(col).map_err(db_err)?;
            T::try_from(v).map_err(|_| corrupt(col))
        }

        fn activation_from(r: &DbRow) -> Result<Activation, StoreError> {
            let state: String = r.try_get("state").map_err(db_err)?;
            Ok(Activation {
                id: r.try_get("id").map_err(db_err)?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                user_pk: r.try_get("user_pk").map_err(db_err)?,
                code_hash: r.try_get("code_hash").map_err(db_err)?,
                state: ActivationState::from_stored(&state).ok_or_else(|| corrupt("activation state"))?,
                attempts: int(r, "attempts")?,
                nonce: r.try_get("nonce").map_err(db_err)?,
                qr_sealed: r.try_get("qr_sealed").map_err(db_err)?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                expires_at: Timestamp(r.try_get("expires_at").map_err(db_err)?),
            })
        }

        fn device_from(r: &DbRow) -> Result<Device, StoreError> {
            let state: String = r.try_get("state").map_err(db_err)?;
            let custom: String = r.try_get("custom_keys").map_err(db_err)?;
            Ok(Device {
                id: r.try_get("id").map_err(db_err)?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                user_pk: r.try_get("user_pk").map_err(db_err)?,
                app_id: r.try_get("app_id").map_err(db_err)?,
                app_version: r.try_get("app_version").map_err(db_err)?,
                name: r.try_get("name").map_err(db_err)?,
                possession_key: r.try_get("possession_key").map_err(db_err)?,
                pin_key: r.try_get("pin_key").map_err(db_err)?,
                biometric_key: r.try_get("biometric_key").map_err(db_err)?,
                custom_keys: serde_json::from_str(&custom).map_err(|_| corrupt("device custom keys"))?,
                state: DeviceState::from_stored(&state).ok_or_else(|| corrupt("device state"))?,
                pin_failures: int(r, "pin_failures")?,
                push_platform: r.try_get("push_platform").map_err(db_err)?,
                push_token: r.try_get("push_token").map_err(db_err)?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                updated_at: Timestamp(r.try_get("updated_at").map_err(db_err)?),
                activation_id: r.try_get("activation_id").map_err(db_err)?,
            })
        }

        async fn insert_session_row<'e, E>(exec: E, s: &Session) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let choices: Vec<String> = s.number_choices.iter().map(u8::to_string).collect();
            let (method, delivery) = stored::columns(s.method, s.delivery);
            sqlx::query(
                "INSERT INTO sessions (id, tenant_id, user_pk, method, state, message, context, nonce, number, \
                 number_choices, delivery, created_at, expires_at, decided_at, device_id, reason, callback_url, \
                 custom_authenticator) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            )
            .bind(&s.id)
            .bind(&s.tenant_id)
            .bind(&s.user_pk)
            .bind(method)
            .bind(s.state().as_str())
            .bind(&s.message)
            .bind(json_text(&s.context)?)
            .bind(&s.nonce)
            .bind(s.number.map(i64::from))
            .bind(choices.join(","))
            .bind(delivery)
            .bind(s.created_at.millis())
            .bind(s.expires_at.millis())
            .bind(s.decided_at().map(Timestamp::millis))
            .bind(s.device_id())
            .bind(s.reason())
            .bind(&s.callback_url)
            .bind(&s.custom_authenticator)
            .execute(exec)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        fn token_from(r: &DbRow) -> Result<countersign_core::tokens::Token, StoreError> {
            use countersign_core::tokens::{TokenKind, TokenState};
            let kind: String = r.try_get("kind").map_err(db_err)?;
            let alg: String = r.try_get("algorithm").map_err(db_err)?;
            let state: String = r.try_get("state").map_err(db_err)?;
            Ok(countersign_core::tokens::Token {
                id: r.try_get("id").map_err(db_err)?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                user_pk: r.try_get("user_pk").map_err(db_err)?,
                serial: r.try_get("serial").map_err(db_err)?,
                kind: TokenKind::from_stored(&kind).ok_or_else(|| corrupt("token kind"))?,
                algorithm: countersign_core::tokens::oath::Algorithm::from_stored(&alg).ok_or_else(|| corrupt("token algorithm"))?,
                digits: int(r, "digits")?,
                period: int(r, "period")?,
                moving: r.try_get("moving").map_err(db_err)?,
                secret: r.try_get("secret").map_err(db_err)?,
                state: TokenState::from_stored(&state).ok_or_else(|| corrupt("token state"))?,
                failures: int(r, "failures")?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                updated_at: Timestamp(r.try_get("updated_at").map_err(db_err)?),
            })
        }

        fn session_from(r: &DbRow) -> Result<Session, StoreError> {
            let method: String = r.try_get("method").map_err(db_err)?;
            let delivery: String = r.try_get("delivery").map_err(db_err)?;
            let message: String = r.try_get("message").map_err(db_err)?;
            let (method, delivery) =
                stored::read(&method, &delivery, &message).ok_or_else(|| corrupt("session method"))?;
            let state: String = r.try_get("state").map_err(db_err)?;
            let context: String = r.try_get("context").map_err(db_err)?;
            let number: Option<i64> = r.try_get("number").map_err(db_err)?;
            let choices: String = r.try_get("number_choices").map_err(db_err)?;
            let decided: Option<i64> = r.try_get("decided_at").map_err(db_err)?;
            let n = NewSession {
                id: r.try_get("id").map_err(db_err)?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                user_pk: r.try_get("user_pk").map_err(db_err)?,
                method,
                custom_authenticator: r.try_get("custom_authenticator").map_err(db_err)?,
                message,
                context: serde_json::from_str::<BTreeMap<String, String>>(&context)
                    .map_err(|_| corrupt("session context"))?,
                nonce: r.try_get("nonce").map_err(db_err)?,
                number: number.map(u8::try_from).transpose().map_err(|_| corrupt("session number"))?,
                number_choices: choices
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(|c| c.parse::<u8>().map_err(|_| corrupt("session number choices")))
                    .collect::<Result<_, _>>()?,
                delivery,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                expires_at: Timestamp(r.try_get("expires_at").map_err(db_err)?),
                callback_url: r.try_get("callback_url").map_err(db_err)?,
            };
            Ok(Session::from_stored(
                n,
                SessionState::from_stored(&state).ok_or_else(|| corrupt("session state"))?,
                decided.map(Timestamp),
                r.try_get("device_id").map_err(db_err)?,
                r.try_get("reason").map_err(db_err)?,
            ))
        }

        /// Run a retention `DELETE` (`$1`: the cut-off, `$2`: the batch); rows removed.
        async fn purge(pool: &sqlx::Pool<$db>, sql: &'static str, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
            let done = sqlx::query(sql).bind(before.millis()).bind(i64::from(limit)).execute(pool).await.map_err(db_err)?;
            Ok(done.rows_affected())
        }

        fn json_text<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
            serde_json::to_string(v).map_err(|e| StoreError::Backend(Box::new(e)))
        }

        /// `(count, state)` from an `UPDATE … RETURNING <count column>, state`.
        fn counted<S>(row: Option<DbRow>, col: &str, parse: impl Fn(&str) -> Option<S>) -> Result<Option<(u32, S)>, StoreError> {
            let Some(r) = row else { return Ok(None) };
            let state: String = r.try_get("state").map_err(db_err)?;
            Ok(Some((int(&r, col)?, parse(&state).ok_or_else(|| corrupt("state"))?)))
        }
    };
}

pub(crate) use sql_common;
