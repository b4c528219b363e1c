//! The mobile tables' SQL, shared by both backends. `sql_mobile!(Store, Db)` implements
//! [`countersign_core::MobileStore`]; it is invoked beside `sql_store!`, whose imports
//! and helpers (`db_err`, `DbRow`, `corrupt`, `Row`, `Timestamp`) it uses.

/// Implement the MobileStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_mobile {
    ($store:ty, $db:ty) => {
        use std::collections::BTreeMap;

        use countersign_core::MobileStore;
        use countersign_core::device::{Activation, ActivationState, Device, DeviceState};
        use countersign_core::outbox::OutboxMessage;
        use countersign_core::session::{NewSession, PushMethod, Session, SessionState, Transition};

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
                qr_payload: r.try_get("qr_payload").map_err(db_err)?,
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
            })
        }

        async fn insert_session_row<'e, E>(exec: E, s: &Session) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let choices: Vec<String> = s.number_choices.iter().map(u8::to_string).collect();
            sqlx::query(
                "INSERT INTO sessions (id, tenant_id, user_pk, method, state, message, context, nonce, number, \
                 number_choices, delivery, created_at, expires_at, decided_at, device_id, reason, callback_url) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            )
            .bind(&s.id)
            .bind(&s.tenant_id)
            .bind(&s.user_pk)
            .bind(s.method.as_str())
            .bind(s.state().as_str())
            .bind(&s.message)
            .bind(json_text(&s.context)?)
            .bind(&s.nonce)
            .bind(s.number.map(i64::from))
            .bind(choices.join(","))
            .bind(&s.delivery)
            .bind(s.created_at.millis())
            .bind(s.expires_at.millis())
            .bind(s.decided_at().map(Timestamp::millis))
            .bind(s.device_id())
            .bind(s.reason())
            .bind(&s.callback_url)
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
                algorithm: countersign_core::oath::Algorithm::from_stored(&alg).ok_or_else(|| corrupt("token algorithm"))?,
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
            let state: String = r.try_get("state").map_err(db_err)?;
            let context: String = r.try_get("context").map_err(db_err)?;
            let number: Option<i64> = r.try_get("number").map_err(db_err)?;
            let choices: String = r.try_get("number_choices").map_err(db_err)?;
            let decided: Option<i64> = r.try_get("decided_at").map_err(db_err)?;
            let n = NewSession {
                id: r.try_get("id").map_err(db_err)?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                user_pk: r.try_get("user_pk").map_err(db_err)?,
                method: PushMethod::from_stored(&method).ok_or_else(|| corrupt("session method"))?,
                message: r.try_get("message").map_err(db_err)?,
                context: serde_json::from_str::<BTreeMap<String, String>>(&context)
                    .map_err(|_| corrupt("session context"))?,
                nonce: r.try_get("nonce").map_err(db_err)?,
                number: number.map(u8::try_from).transpose().map_err(|_| corrupt("session number"))?,
                number_choices: choices
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(|c| c.parse::<u8>().map_err(|_| corrupt("session number choices")))
                    .collect::<Result<_, _>>()?,
                delivery: r.try_get("delivery").map_err(db_err)?,
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

        fn json_text<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
            serde_json::to_string(v).map_err(|e| StoreError::Backend(Box::new(e)))
        }

        /// `(count, state)` from an `UPDATE … RETURNING <count column>, state`.
        fn counted<S>(row: Option<DbRow>, col: &str, parse: impl Fn(&str) -> Option<S>) -> Result<Option<(u32, S)>, StoreError> {
            let Some(r) = row else { return Ok(None) };
            let state: String = r.try_get("state").map_err(db_err)?;
            Ok(Some((int(&r, col)?, parse(&state).ok_or_else(|| corrupt("state"))?)))
        }

        #[async_trait]
        impl MobileStore for $store {
            async fn insert_activation(&self, a: &Activation) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO activations (id, tenant_id, user_pk, code_hash, state, attempts, nonce, qr_payload, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&a.id)
                .bind(&a.tenant_id)
                .bind(&a.user_pk)
                .bind(&a.code_hash)
                .bind(a.state.as_str())
                .bind(i64::from(a.attempts))
                .bind(&a.nonce)
                .bind(&a.qr_payload)
                .bind(a.created_at.millis())
                .bind(a.expires_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn activation(&self, id: &str) -> Result<Option<Activation>, StoreError> {
                one_by(&self.pool, "SELECT * FROM activations WHERE id = $1", id, activation_from).await
            }

            async fn activation_wrong_code(&self, id: &str, max: u32) -> Result<Option<(u32, ActivationState)>, StoreError> {
                let row = sqlx::query(
                    "UPDATE activations SET attempts = attempts + 1, \
                     state = CASE WHEN attempts + 1 >= $2 THEN 'Burned' ELSE state END, \
                     qr_payload = CASE WHEN attempts + 1 >= $2 THEN NULL ELSE qr_payload END \
                     WHERE id = $1 AND state = 'Pending' RETURNING attempts, state",
                )
                .bind(id)
                .bind(i64::from(max))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                counted(row, "attempts", ActivationState::from_stored)
            }

            async fn activation_transition(
                &self,
                id: &str,
                from: ActivationState,
                to: ActivationState,
                nonce: Option<&str>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE activations SET state = $1, nonce = COALESCE($2, nonce), qr_payload = NULL \
                     WHERE id = $3 AND state = $4",
                )
                .bind(to.as_str())
                .bind(nonce)
                .bind(id)
                .bind(from.as_str())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_device(&self, d: &Device) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO devices (id, tenant_id, user_pk, app_id, app_version, name, possession_key, pin_key, \
                     biometric_key, custom_keys, state, pin_failures, push_platform, push_token, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                )
                .bind(&d.id)
                .bind(&d.tenant_id)
                .bind(&d.user_pk)
                .bind(&d.app_id)
                .bind(&d.app_version)
                .bind(&d.name)
                .bind(&d.possession_key)
                .bind(&d.pin_key)
                .bind(&d.biometric_key)
                .bind(json_text(&d.custom_keys)?)
                .bind(d.state.as_str())
                .bind(i64::from(d.pin_failures))
                .bind(&d.push_platform)
                .bind(&d.push_token)
                .bind(d.created_at.millis())
                .bind(d.updated_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn device(&self, id: &str) -> Result<Option<Device>, StoreError> {
                one_by(&self.pool, "SELECT * FROM devices WHERE id = $1", id, device_from).await
            }

            async fn user_devices(&self, user_pk: &str) -> Result<Vec<Device>, StoreError> {
                sqlx::query("SELECT * FROM devices WHERE user_pk = $1 ORDER BY created_at, id")
                    .bind(user_pk)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(device_from)
                    .collect()
            }

            async fn device_transition(&self, id: &str, from: DeviceState, to: DeviceState, at: Timestamp) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE devices SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4")
                    .bind(to.as_str())
                    .bind(at.millis())
                    .bind(id)
                    .bind(from.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn disconnect_other_devices(&self, user_pk: &str, app_id: &str, except_id: &str, at: Timestamp) -> Result<u64, StoreError> {
                let done = sqlx::query(
                    "UPDATE devices SET state = 'Disconnected', updated_at = $1 \
                     WHERE user_pk = $2 AND app_id = $3 AND id <> $4 AND state <> 'Disconnected'",
                )
                .bind(at.millis())
                .bind(user_pk)
                .bind(app_id)
                .bind(except_id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected())
            }

            async fn set_device_push(
                &self,
                id: &str,
                platform: &str,
                token: Option<&str>,
                app_version: Option<&str>,
                at: Timestamp,
            ) -> Result<(), StoreError> {
                let done = sqlx::query(
                    "UPDATE devices SET push_platform = $1, push_token = $2, app_version = COALESCE($3, app_version), \
                     updated_at = $4 WHERE id = $5",
                )
                .bind(platform)
                .bind(token)
                .bind(app_version)
                .bind(at.millis())
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
            }

            async fn device_pin_failure(&self, id: &str, max: u32, at: Timestamp) -> Result<Option<(u32, DeviceState)>, StoreError> {
                let row = sqlx::query(
                    "UPDATE devices SET pin_failures = pin_failures + 1, updated_at = $3, \
                     state = CASE WHEN pin_failures + 1 >= $2 THEN 'Disconnected' ELSE state END \
                     WHERE id = $1 AND state = 'Active' RETURNING pin_failures, state",
                )
                .bind(id)
                .bind(i64::from(max))
                .bind(at.millis())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                counted(row, "pin_failures", DeviceState::from_stored)
            }

            async fn device_pin_reset(&self, id: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE devices SET pin_failures = 0 WHERE id = $1 AND pin_failures <> 0")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn delete_device(&self, user_pk: &str, id: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM devices WHERE user_pk = $1 AND id = $2")
                    .bind(user_pk)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn use_device_nonce(&self, device_id: &str, nonce: &str, at: Timestamp, forget_before: Timestamp) -> Result<bool, StoreError> {
                sqlx::query("DELETE FROM device_nonces WHERE device_id = $1 AND used_at < $2")
                    .bind(device_id)
                    .bind(forget_before.millis())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                let done = sqlx::query(
                    "INSERT INTO device_nonces (device_id, nonce, used_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (device_id, nonce) DO NOTHING",
                )
                .bind(device_id)
                .bind(nonce)
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_session(&self, s: &Session, outbox: &[OutboxMessage]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                insert_session_row(&mut *tx, s).await?;
                for m in outbox {
                    insert_outbox(&mut *tx, m).await?;
                }
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }

            async fn insert_code_session(
                &self,
                s: &Session,
                c: &countersign_core::session::SessionCode,
                outbox: &[OutboxMessage],
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                insert_session_row(&mut *tx, s).await?;
                sqlx::query(
                    "INSERT INTO session_codes (session_id, code_hash, attempts, max_attempts, resends, max_resends, \
                     message_id, custom_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&c.session_id)
                .bind(&c.code_hash)
                .bind(i64::from(c.attempts))
                .bind(i64::from(c.max_attempts))
                .bind(i64::from(c.resends))
                .bind(i64::from(c.max_resends))
                .bind(&c.message_id)
                .bind(&c.custom_code)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                for m in outbox {
                    insert_outbox(&mut *tx, m).await?;
                }
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }

            async fn session_code(&self, session_id: &str) -> Result<Option<countersign_core::session::SessionCode>, StoreError> {
                one_by(&self.pool, "SELECT * FROM session_codes WHERE session_id = $1", session_id, |r| {
                    Ok(countersign_core::session::SessionCode {
                        session_id: r.try_get("session_id").map_err(db_err)?,
                        code_hash: r.try_get("code_hash").map_err(db_err)?,
                        attempts: int(r, "attempts")?,
                        max_attempts: int(r, "max_attempts")?,
                        resends: int(r, "resends")?,
                        max_resends: int(r, "max_resends")?,
                        message_id: r.try_get("message_id").map_err(db_err)?,
                        custom_code: r.try_get("custom_code").map_err(db_err)?,
                    })
                })
                .await
            }

            async fn static_password(
                &self,
                user_pk: &str,
            ) -> Result<Option<countersign_core::password::StaticPassword>, StoreError> {
                one_by(&self.pool, "SELECT * FROM static_passwords WHERE user_pk = $1", user_pk, |r| {
                    let grace: Option<i64> = r.try_get("grace_until").map_err(db_err)?;
                    let locked: Option<i64> = r.try_get("locked_until").map_err(db_err)?;
                    Ok(countersign_core::password::StaticPassword {
                        user_pk: r.try_get("user_pk").map_err(db_err)?,
                        hash: r.try_get("hash").map_err(db_err)?,
                        grace_until: grace.map(Timestamp),
                        failures: int(r, "failures")?,
                        locked_until: locked.map(Timestamp),
                        updated_at: Timestamp(r.try_get("updated_at").map_err(db_err)?),
                    })
                })
                .await
            }

            async fn set_static_password(&self, p: &countersign_core::password::StaticPassword) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO static_passwords (user_pk, hash, grace_until, failures, locked_until, updated_at) \
                     VALUES ($1, $2, $3, 0, NULL, $4) ON CONFLICT (user_pk) DO UPDATE SET hash = excluded.hash, \
                     grace_until = excluded.grace_until, failures = 0, locked_until = NULL, updated_at = excluded.updated_at",
                )
                .bind(&p.user_pk)
                .bind(&p.hash)
                .bind(p.grace_until.map(Timestamp::millis))
                .bind(p.updated_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn delete_static_password(&self, user_pk: &str) -> Result<bool, StoreError> {
                affects_one(&self.pool, "DELETE FROM static_passwords WHERE user_pk = $1", user_pk).await
            }

            async fn password_failure(
                &self,
                user_pk: &str,
                max: u32,
                lock_until: Timestamp,
            ) -> Result<Option<(u32, Option<Timestamp>)>, StoreError> {
                let row = sqlx::query(
                    "UPDATE static_passwords SET failures = failures + 1, \
                     locked_until = CASE WHEN failures + 1 >= $1 THEN $2 ELSE locked_until END \
                     WHERE user_pk = $3 RETURNING failures, locked_until",
                )
                .bind(i64::from(max))
                .bind(lock_until.millis())
                .bind(user_pk)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                let Some(r) = row else { return Ok(None) };
                let locked: Option<i64> = r.try_get("locked_until").map_err(db_err)?;
                Ok(Some((int(&r, "failures")?, locked.map(Timestamp))))
            }

            async fn password_reset_failures(&self, user_pk: &str) -> Result<bool, StoreError> {
                affects_one(&self.pool, "UPDATE static_passwords SET failures = 0, locked_until = NULL WHERE user_pk = $1", user_pk).await
            }

            async fn record_failure(
                &self,
                id: &str,
                tenant_id: &str,
                user_pk: Option<&str>,
                ip: Option<&str>,
                at: Timestamp,
            ) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO risk_failures (id, tenant_id, user_pk, ip, at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(id)
                    .bind(tenant_id)
                    .bind(user_pk)
                    .bind(ip)
                    .bind(at.millis())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn user_failures_since(&self, user_pk: &str, since: Timestamp) -> Result<u32, StoreError> {
                let r = sqlx::query("SELECT COUNT(*) AS n FROM risk_failures WHERE user_pk = $1 AND at >= $2")
                    .bind(user_pk)
                    .bind(since.millis())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                int(&r, "n")
            }

            async fn ip_failures_since(&self, tenant_id: &str, ip: &str, since: Timestamp) -> Result<u32, StoreError> {
                let r = sqlx::query("SELECT COUNT(*) AS n FROM risk_failures WHERE tenant_id = $1 AND ip = $2 AND at >= $3")
                    .bind(tenant_id)
                    .bind(ip)
                    .bind(since.millis())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                int(&r, "n")
            }

            async fn insert_qr_login(&self, q: &countersign_core::qr::QrLogin) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO qr_logins (id, tenant_id, code_hash, state, created_at, expires_at, claimed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&q.id)
                .bind(&q.tenant_id)
                .bind(&q.code_hash)
                .bind(if q.claimed_at.is_some() { "Claimed" } else { "Pending" })
                .bind(q.created_at.millis())
                .bind(q.expires_at.millis())
                .bind(q.claimed_at.map(Timestamp::millis))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn qr_login(&self, id: &str) -> Result<Option<countersign_core::qr::QrLogin>, StoreError> {
                one_by(&self.pool, "SELECT * FROM qr_logins WHERE id = $1", id, |r| {
                    let claimed: Option<i64> = r.try_get("claimed_at").map_err(db_err)?;
                    Ok(countersign_core::qr::QrLogin {
                        id: r.try_get("id").map_err(db_err)?,
                        tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                        code_hash: r.try_get("code_hash").map_err(db_err)?,
                        created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                        expires_at: Timestamp(r.try_get("expires_at").map_err(db_err)?),
                        claimed_at: claimed.map(Timestamp),
                    })
                })
                .await
            }

            async fn claim_qr_login(
                &self,
                id: &str,
                session: &Session,
                outbox: &[OutboxMessage],
                now: Timestamp,
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let done = sqlx::query(
                    "UPDATE qr_logins SET state = 'Claimed', claimed_at = $1 \
                     WHERE id = $2 AND state = 'Pending' AND expires_at > $1",
                )
                .bind(now.millis())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                insert_session_row(&mut *tx, session).await?;
                for m in outbox {
                    insert_outbox(&mut *tx, m).await?;
                }
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            async fn insert_tokens(&self, tokens: &[countersign_core::tokens::Token]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                for t in tokens {
                    sqlx::query(
                        "INSERT INTO tokens (id, tenant_id, user_pk, serial, kind, algorithm, digits, period, moving, secret, \
                         state, failures, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    )
                    .bind(&t.id)
                    .bind(&t.tenant_id)
                    .bind(&t.user_pk)
                    .bind(&t.serial)
                    .bind(t.kind.as_str())
                    .bind(t.algorithm.as_str())
                    .bind(i64::from(t.digits))
                    .bind(i64::from(t.period))
                    .bind(t.moving)
                    .bind(&t.secret)
                    .bind(t.state.as_str())
                    .bind(i64::from(t.failures))
                    .bind(t.created_at.millis())
                    .bind(t.updated_at.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn token(&self, id: &str) -> Result<Option<countersign_core::tokens::Token>, StoreError> {
                one_by(&self.pool, "SELECT * FROM tokens WHERE id = $1", id, token_from).await
            }

            async fn tenant_tokens(&self, tenant_id: &str) -> Result<Vec<countersign_core::tokens::Token>, StoreError> {
                all_by(&self.pool, "SELECT * FROM tokens WHERE tenant_id = $1 ORDER BY serial LIMIT 1000", tenant_id, token_from)
                    .await
            }

            async fn user_tokens(&self, user_pk: &str) -> Result<Vec<countersign_core::tokens::Token>, StoreError> {
                all_by(&self.pool, "SELECT * FROM tokens WHERE user_pk = $1 ORDER BY created_at, id", user_pk, token_from).await
            }

            async fn set_token_user(&self, id: &str, user_pk: Option<&str>, at: Timestamp) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE tokens SET user_pk = $1, updated_at = $2 WHERE id = $3")
                    .bind(user_pk)
                    .bind(at.millis())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn token_advance(
                &self,
                id: &str,
                expected: i64,
                new: i64,
                state: countersign_core::tokens::TokenState,
                at: Timestamp,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE tokens SET moving = $1, failures = 0, state = $2, updated_at = $3 \
                     WHERE id = $4 AND moving = $5 AND state <> 'locked'",
                )
                .bind(new)
                .bind(state.as_str())
                .bind(at.millis())
                .bind(id)
                .bind(expected)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn token_failure(
                &self,
                id: &str,
                max: u32,
                at: Timestamp,
            ) -> Result<Option<(u32, countersign_core::tokens::TokenState)>, StoreError> {
                let row = sqlx::query(
                    "UPDATE tokens SET failures = failures + 1, updated_at = $1, \
                     state = CASE WHEN failures + 1 >= $2 THEN 'locked' ELSE state END \
                     WHERE id = $3 RETURNING failures, state",
                )
                .bind(at.millis())
                .bind(i64::from(max))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                let Some(r) = row else { return Ok(None) };
                let state: String = r.try_get("state").map_err(db_err)?;
                let state = countersign_core::tokens::TokenState::from_stored(&state).ok_or_else(|| corrupt("token state"))?;
                Ok(Some((int(&r, "failures")?, state)))
            }

            async fn set_token_state(
                &self,
                id: &str,
                state: countersign_core::tokens::TokenState,
                at: Timestamp,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE tokens SET state = $1, failures = 0, updated_at = $2 WHERE id = $3")
                    .bind(state.as_str())
                    .bind(at.millis())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_token(&self, id: &str) -> Result<bool, StoreError> {
                affects_one(&self.pool, "DELETE FROM tokens WHERE id = $1", id).await
            }

            async fn code_attempt(&self, session_id: &str) -> Result<u32, StoreError> {
                let row = sqlx::query(
                    "UPDATE session_codes SET attempts = attempts + 1 WHERE session_id = $1 RETURNING attempts",
                )
                .bind(session_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound)?;
                int(&row, "attempts")
            }

            async fn code_session_of_message(&self, message_id: &str) -> Result<Option<String>, StoreError> {
                let row = sqlx::query("SELECT session_id FROM session_codes WHERE message_id = $1")
                    .bind(message_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|r| r.try_get("session_id").map_err(db_err)).transpose()
            }

            async fn resend_code(
                &self,
                session_id: &str,
                message_id: &str,
                now: Timestamp,
                deadline: Timestamp,
            ) -> Result<Option<u32>, StoreError> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let row = sqlx::query(
                    "UPDATE session_codes SET resends = resends + 1 WHERE session_id = $1 AND resends < max_resends \
                     AND message_id IS NOT NULL RETURNING resends, message_id",
                )
                .bind(session_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
                let Some(row) = row else { return Ok(None) };
                let first: String = row.try_get("message_id").map_err(db_err)?;
                sqlx::query(
                    "INSERT INTO outbox (id, tenant_id, kind, target, payload, state, attempts, next_attempt_at, deadline, \
                     last_error, locked_until, created_at, sent_at) SELECT $1, tenant_id, kind, target, payload, 'queued', \
                     0, $2, $3, NULL, NULL, $2, NULL FROM outbox WHERE id = $4",
                )
                .bind(message_id)
                .bind(now.millis())
                .bind(deadline.millis())
                .bind(&first)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let n = int(&row, "resends")?;
                tx.commit().await.map_err(db_err)?;
                Ok(Some(n))
            }

            async fn session(&self, id: &str) -> Result<Option<Session>, StoreError> {
                one_by(&self.pool, "SELECT * FROM sessions WHERE id = $1", id, session_from).await
            }

            async fn finish_session(&self, t: &Transition, outbox: &[OutboxMessage]) -> Result<bool, StoreError> {
                // An answer must come before the deadline, a timeout at or after it: the
                // same comparison as the domain's, made again on the row so that the
                // check and the update are one.
                let sql = if t.before_deadline() {
                    "UPDATE sessions SET state = $1, decided_at = $2, device_id = COALESCE($3, device_id), \
                     reason = COALESCE($4, reason) WHERE id = $5 AND state = $6 AND expires_at > $7"
                } else {
                    "UPDATE sessions SET state = $1, decided_at = $2, device_id = COALESCE($3, device_id), \
                     reason = COALESCE($4, reason) WHERE id = $5 AND state = $6 AND expires_at <= $7"
                };
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let done = sqlx::query(sql)
                    .bind(t.to().as_str())
                    .bind(t.decided_at().millis())
                    .bind(t.device_id())
                    .bind(t.reason())
                    .bind(t.id())
                    .bind(t.from().as_str())
                    .bind(t.at().millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                for m in outbox {
                    insert_outbox(&mut *tx, m).await?;
                }
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            async fn expired_sessions(&self, now: Timestamp, limit: u32) -> Result<Vec<Session>, StoreError> {
                sqlx::query(
                    "SELECT * FROM sessions WHERE state = 'Pending' AND expires_at <= $1 \
                     ORDER BY expires_at, id LIMIT $2",
                )
                .bind(now.millis())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(session_from)
                .collect()
            }

            async fn clear_device_push(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
                sqlx::query("UPDATE devices SET push_platform = NULL, push_token = NULL, updated_at = $1 WHERE id = $2")
                    .bind(at.millis())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn login_requests_since(
                &self,
                user_pk: &str,
                since: Timestamp,
            ) -> Result<(u64, Option<Timestamp>), StoreError> {
                let r = sqlx::query(
                    "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM sessions \
                     WHERE user_pk = $1 AND created_at > $2 AND delivery IN ('pushNotification', 'sms', 'email')",
                )
                .bind(user_pk)
                .bind(since.millis())
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                let n: i64 = r.try_get("n").map_err(db_err)?;
                let oldest: Option<i64> = r.try_get("oldest").map_err(db_err)?;
                Ok((n.unsigned_abs(), oldest.map(Timestamp)))
            }

            async fn count_pending_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
                let r = sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE state = 'Pending' AND expires_at > $1")
                    .bind(now.millis())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                let n: i64 = r.try_get("n").map_err(db_err)?;
                Ok(n.unsigned_abs())
            }

            async fn pending_sessions(&self, user_pk: &str, now: Timestamp) -> Result<Vec<Session>, StoreError> {
                sqlx::query(
                    "SELECT * FROM sessions WHERE user_pk = $1 AND state = 'Pending' AND expires_at > $2 \
                     AND method <> 'OTP' ORDER BY created_at, id",
                )
                .bind(user_pk)
                .bind(now.millis())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(session_from)
                .collect()
            }
        }
    };
}

pub(crate) use sql_mobile;
