//! The SQL of attempt counters, shared by both backends: `sql_attempt!(Store, Db)`
//! implements [`countersign_core::AttemptStore`], beside `sql_common!`, whose imports and
//! helpers it uses.
//!
//! Every reservation is one `UPDATE … WHERE <open> AND <count> < $max RETURNING <count>`:
//! the row lock (PostgreSQL re-checks the `WHERE` on the row it waited for; SQLite runs
//! one writer at a time) makes concurrent reservations take the attempts left one by one
//! and find none after the last.

/// Implement the AttemptStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_attempt {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl countersign_core::AttemptStore for $store {
            async fn reserve_attempt(
                &self,
                counter: countersign_core::Counter<'_>,
                now: Timestamp,
            ) -> Result<Option<u32>, StoreError> {
                use countersign_core::Counter;
                let (sql, key, max) = match counter {
                    Counter::Code { session_id, max } => (
                        "UPDATE session_codes SET attempts = attempts + 1 \
                         WHERE session_id = $1 AND ($2 = 0 OR attempts < $2) AND EXISTS (SELECT 1 FROM sessions \
                         WHERE sessions.id = session_codes.session_id AND sessions.state = 'Pending' \
                         AND sessions.expires_at > $3) RETURNING attempts AS n",
                        session_id,
                        max,
                    ),
                    Counter::Pin { device_id, max } => (
                        "UPDATE devices SET pin_failures = pin_failures + 1, updated_at = $3 \
                         WHERE id = $1 AND state = 'Active' AND pin_failures < $2 RETURNING pin_failures AS n",
                        device_id,
                        max,
                    ),
                    // A lock that has run out is lifted here, and the count starts again.
                    Counter::Password { user_pk, max, .. } => (
                        "UPDATE static_passwords SET \
                         failures = CASE WHEN locked_until IS NULL THEN failures + 1 ELSE 1 END, locked_until = NULL \
                         WHERE user_pk = $1 AND ((locked_until IS NULL AND failures < $2) OR locked_until <= $3) \
                         RETURNING failures AS n",
                        user_pk,
                        max,
                    ),
                    Counter::AdminPassword { account_id, max, .. } => (
                        "UPDATE admin_accounts SET \
                         failures = CASE WHEN locked_until IS NULL THEN failures + 1 ELSE 1 END, locked_until = NULL \
                         WHERE id = $1 AND ((locked_until IS NULL AND failures < $2) OR locked_until <= $3) \
                         RETURNING failures AS n",
                        account_id,
                        max,
                    ),
                    Counter::Token { token_id, max } => (
                        "UPDATE tokens SET failures = failures + 1, updated_at = $3 \
                         WHERE id = $1 AND state <> 'locked' AND failures < $2 RETURNING failures AS n",
                        token_id,
                        max,
                    ),
                };
                let row = sqlx::query(sql)
                    .bind(key)
                    .bind(i64::from(max))
                    .bind(now.millis())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|r| int(&r, "n")).transpose()
            }

            async fn clear_attempts(&self, counter: countersign_core::Counter<'_>, _now: Timestamp) -> Result<(), StoreError> {
                use countersign_core::Counter;
                let (sql, key) = match counter {
                    Counter::Code { .. } => return Ok(()),
                    Counter::Pin { device_id, .. } => (
                        "UPDATE devices SET pin_failures = 0 WHERE id = $1 AND state = 'Active' AND pin_failures <> 0",
                        device_id,
                    ),
                    Counter::Password { user_pk, .. } => (
                        "UPDATE static_passwords SET failures = 0 \
                         WHERE user_pk = $1 AND locked_until IS NULL AND failures <> 0",
                        user_pk,
                    ),
                    Counter::AdminPassword { account_id, .. } => (
                        "UPDATE admin_accounts SET failures = 0 \
                         WHERE id = $1 AND locked_until IS NULL AND failures <> 0",
                        account_id,
                    ),
                    Counter::Token { token_id, .. } => (
                        "UPDATE tokens SET failures = 0 WHERE id = $1 AND state <> 'locked' AND failures <> 0",
                        token_id,
                    ),
                };
                sqlx::query(sql).bind(key).execute(&self.pool).await.map_err(db_err)?;
                Ok(())
            }

            async fn close_attempts(&self, counter: countersign_core::Counter<'_>, now: Timestamp) -> Result<bool, StoreError> {
                use countersign_core::Counter;
                let (sql, key, max, at) = match counter {
                    Counter::Code { .. } => return Ok(false),
                    Counter::Pin { device_id, max } => (
                        "UPDATE devices SET state = 'Disconnected', updated_at = $3 \
                         WHERE id = $1 AND state = 'Active' AND pin_failures >= $2",
                        device_id,
                        max,
                        now,
                    ),
                    Counter::Password { user_pk, max, lock_until } => (
                        "UPDATE static_passwords SET locked_until = $3 \
                         WHERE user_pk = $1 AND locked_until IS NULL AND failures >= $2",
                        user_pk,
                        max,
                        lock_until,
                    ),
                    Counter::AdminPassword { account_id, max, lock_until } => (
                        "UPDATE admin_accounts SET locked_until = $3 \
                         WHERE id = $1 AND locked_until IS NULL AND failures >= $2",
                        account_id,
                        max,
                        lock_until,
                    ),
                    Counter::Token { token_id, max } => (
                        "UPDATE tokens SET state = 'locked', updated_at = $3 \
                         WHERE id = $1 AND state <> 'locked' AND failures >= $2",
                        token_id,
                        max,
                        now,
                    ),
                };
                let done = sqlx::query(sql)
                    .bind(key)
                    .bind(i64::from(max))
                    .bind(at.millis())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use sql_attempt;
