//! The SQL of login sessions, their codes, QR logins, shared by both backends: `sql_session!(Store, Db)` implements
//! [`countersign_core::SessionStore`], beside `sql_common!`, whose imports and helpers it uses.

/// Implement the SessionStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_session {
    ($store:ty, $db:ty, $notify:expr) => {
        #[async_trait]
        impl SessionStore for $store {
            async fn insert_session(
                &self,
                s: &Session,
                outbox: &[OutboxMessage],
                audit: &[AuditRecord],
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                insert_session_row(&mut *tx, s).await?;
                for m in outbox {
                    insert_outbox(&mut *tx, m).await?;
                }
                append_audit_tx(&mut tx, audit).await?;
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

            async fn finish_session(
                &self,
                t: &Transition,
                outbox: &[OutboxMessage],
                audit: &[AuditRecord],
            ) -> Result<bool, StoreError> {
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
                append_audit_tx(&mut tx, audit).await?;
                // Other nodes' waiters learn of the end when it commits (PostgreSQL's
                // NOTIFY is transactional); SQLite serves one node and has none.
                let notify: &str = $notify;
                if !notify.is_empty() {
                    sqlx::query(notify).bind(t.id()).execute(&mut *tx).await.map_err(db_err)?;
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

            async fn latest_pending_code_session(&self, user_pk: &str, now: Timestamp) -> Result<Option<Session>, StoreError> {
                sqlx::query(
                    "SELECT * FROM sessions WHERE user_pk = $1 AND state = 'Pending' AND expires_at > $2 \
                     AND method = $3 AND delivery IN ('sms', 'email', 'voice') ORDER BY created_at DESC, id LIMIT 1",
                )
                .bind(user_pk)
                .bind(now.millis())
                .bind(countersign_core::methods::stored::NOT_A_PUSH)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .as_ref()
                .map(session_from)
                .transpose()
            }

            async fn pending_sessions(&self, user_pk: &str, now: Timestamp) -> Result<Vec<Session>, StoreError> {
                sqlx::query(
                    "SELECT * FROM sessions WHERE user_pk = $1 AND state = 'Pending' AND expires_at > $2 \
                     AND method <> $3 ORDER BY created_at, id",
                )
                .bind(user_pk)
                .bind(now.millis())
                .bind(countersign_core::methods::stored::NOT_A_PUSH)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(session_from)
                .collect()
            }

            async fn ended_among(&self, ids: &[String]) -> Result<Vec<String>, StoreError> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let ids = &ids[..ids.len().min(countersign_core::store::ENDED_AMONG_MAX)];
                let mut b = sqlx::QueryBuilder::<$db>::new("SELECT id FROM sessions WHERE state <> 'Pending' AND id IN (");
                let mut list = b.separated(", ");
                for id in ids {
                    list.push_bind(id.as_str());
                }
                b.push(")");
                b.build()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(|r| r.try_get::<String, _>("id").map_err(db_err))
                    .collect()
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

            async fn login_requests_since(
                &self,
                user_pk: &str,
                since: Timestamp,
            ) -> Result<(u64, Option<Timestamp>), StoreError> {
                let [d1, d2, d3, d4] = countersign_core::methods::stored::LOGIN_REQUESTS;
                let r = sqlx::query(
                    "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM sessions \
                     WHERE user_pk = $1 AND created_at > $2 AND delivery IN ($3, $4, $5, $6)",
                )
                .bind(user_pk)
                .bind(since.millis())
                .bind(d1)
                .bind(d2)
                .bind(d3)
                .bind(d4)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                let n: i64 = r.try_get("n").map_err(db_err)?;
                let oldest: Option<i64> = r.try_get("oldest").map_err(db_err)?;
                Ok((n.unsigned_abs(), oldest.map(Timestamp)))
            }

            async fn insert_qr_login(&self, q: &countersign_core::mobile::qr::QrLogin) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO qr_logins (id, tenant_id, code_hash, state, created_at, expires_at, claimed_at, \
                     user_pk) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&q.id)
                .bind(&q.tenant_id)
                .bind(&q.code_hash)
                .bind(if q.claimed_at.is_some() { "Claimed" } else { "Pending" })
                .bind(q.created_at.millis())
                .bind(q.expires_at.millis())
                .bind(q.claimed_at.map(Timestamp::millis))
                .bind(&q.user_pk)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn qr_login(&self, id: &str) -> Result<Option<countersign_core::mobile::qr::QrLogin>, StoreError> {
                one_by(&self.pool, "SELECT * FROM qr_logins WHERE id = $1", id, |r| {
                    let claimed: Option<i64> = r.try_get("claimed_at").map_err(db_err)?;
                    Ok(countersign_core::mobile::qr::QrLogin {
                        id: r.try_get("id").map_err(db_err)?,
                        tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                        code_hash: r.try_get("code_hash").map_err(db_err)?,
                        created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                        expires_at: Timestamp(r.try_get("expires_at").map_err(db_err)?),
                        claimed_at: claimed.map(Timestamp),
                        user_pk: r.try_get("user_pk").map_err(db_err)?,
                    })
                })
                .await
            }

            async fn claim_qr_login(
                &self,
                id: &str,
                session: &Session,
                outbox: &[OutboxMessage],
                audit: &[AuditRecord],
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
                append_audit_tx(&mut tx, audit).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            async fn delete_ended_sessions_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
                // Oldest first along `sessions_by_decided`; a pending session has no
                // `decided_at` and is never matched.
                purge(
                    &self.pool,
                    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE decided_at < $1 \
                     AND state <> 'Pending' ORDER BY decided_at LIMIT $2)",
                    before,
                    limit,
                )
                .await
            }

            async fn delete_qr_logins_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
                purge(
                    &self.pool,
                    "DELETE FROM qr_logins WHERE id IN (SELECT id FROM qr_logins WHERE expires_at < $1 \
                     ORDER BY expires_at LIMIT $2)",
                    before,
                    limit,
                )
                .await
            }
        }
    };
}

pub(crate) use sql_session;
