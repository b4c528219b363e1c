//! The outbox's SQL, shared by both backends. `sql_outbox!(Store, Db, "lock clause")`
//! implements [`countersign_core::OutboxStore`]; the lock clause is appended to the
//! claim's candidate query (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several nodes
//! share the queue; empty on SQLite, whose single writer makes the claim atomic). It is
//! invoked beside `sql_common!`, whose helpers it uses.

/// Implement the OutboxStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_outbox {
    ($store:ty, $db:ty, $lock:literal) => {
        use countersign_core::OutboxStore;
        use countersign_core::delivery::outbox::{OutboxKind, OutboxState};

        fn outbox_from(r: &DbRow) -> Result<OutboxMessage, StoreError> {
            let kind: String = r.try_get("kind").map_err(db_err)?;
            let state: String = r.try_get("state").map_err(db_err)?;
            let locked: Option<i64> = r.try_get("locked_until").map_err(db_err)?;
            let sent: Option<i64> = r.try_get("sent_at").map_err(db_err)?;
            Ok(OutboxMessage {
                id: r.try_get("id").map_err(db_err)?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                kind: OutboxKind::from_stored(&kind).ok_or_else(|| corrupt("outbox kind"))?,
                target: r.try_get("target").map_err(db_err)?,
                payload: r.try_get("payload").map_err(db_err)?,
                state: OutboxState::from_stored(&state).ok_or_else(|| corrupt("outbox state"))?,
                attempts: int(r, "attempts")?,
                next_attempt_at: Timestamp(r.try_get("next_attempt_at").map_err(db_err)?),
                deadline: Timestamp(r.try_get("deadline").map_err(db_err)?),
                last_error: r.try_get("last_error").map_err(db_err)?,
                locked_until: locked.map(Timestamp),
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                sent_at: sent.map(Timestamp),
            })
        }

        async fn insert_outbox<'e, E>(exec: E, m: &OutboxMessage) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            sqlx::query(
                "INSERT INTO outbox (id, tenant_id, kind, target, payload, state, attempts, next_attempt_at, deadline, \
                 last_error, locked_until, created_at, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&m.id)
            .bind(&m.tenant_id)
            .bind(m.kind.as_str())
            .bind(&m.target)
            .bind(&m.payload)
            .bind(m.state.as_str())
            .bind(i64::from(m.attempts))
            .bind(m.next_attempt_at.millis())
            .bind(m.deadline.millis())
            .bind(&m.last_error)
            .bind(m.locked_until.map(Timestamp::millis))
            .bind(m.created_at.millis())
            .bind(m.sent_at.map(Timestamp::millis))
            .execute(exec)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        #[async_trait]
        impl OutboxStore for $store {
            async fn claim_outbox(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
                sqlx::query(concat!(
                    "UPDATE outbox SET state = 'sending', locked_until = $1 WHERE id IN (",
                    "SELECT id FROM outbox WHERE (state = 'queued' AND next_attempt_at <= $2) ",
                    "OR (state = 'sending' AND locked_until <= $2) ORDER BY next_attempt_at LIMIT $3 ",
                    $lock,
                    ") RETURNING *"
                ))
                .bind(lease_until.millis())
                .bind(now.millis())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(outbox_from)
                .collect()
            }

            async fn outbox_sent(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1, locked_until = NULL, \
                     last_error = NULL WHERE id = $2",
                )
                .bind(at.millis())
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn outbox_retry(&self, id: &str, attempts: u32, next_at: Timestamp, error: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE outbox SET state = 'queued', attempts = $1, next_attempt_at = $2, last_error = $3, \
                     locked_until = NULL WHERE id = $4",
                )
                .bind(i64::from(attempts))
                .bind(next_at.millis())
                .bind(error)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn outbox_dead(&self, id: &str, attempts: u32, error: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE outbox SET state = 'dead', attempts = $1, last_error = $2, locked_until = NULL WHERE id = $3")
                    .bind(i64::from(attempts))
                    .bind(error)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn list_outbox(
                &self,
                state: Option<OutboxState>,
                after: Option<(Timestamp, &str)>,
                limit: u32,
            ) -> Result<Vec<OutboxMessage>, StoreError> {
                // Newest first, ties by ID: the rows after (t, id) are older than t, or as
                // old with a greater ID. One query per filter so that an index serves each:
                // (created_at, id) for all, (state, created_at, id) for one state.
                let sql = match state {
                    None => {
                        "SELECT * FROM outbox WHERE $1 = '' AND (created_at < $2 OR (created_at = $2 AND id > $3)) \
                         ORDER BY created_at DESC, id LIMIT $4"
                    }
                    Some(_) => {
                        "SELECT * FROM outbox WHERE state = $1 AND (created_at < $2 OR (created_at = $2 AND id > $3)) \
                         ORDER BY created_at DESC, id LIMIT $4"
                    }
                };
                let (before, id) = after.map_or((i64::MAX, ""), |(t, id)| (t.millis(), id));
                sqlx::query(sql)
                    .bind(state.map(OutboxState::as_str).unwrap_or(""))
                    .bind(before)
                    .bind(id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(outbox_from)
                    .collect()
            }

            async fn outbox_counts(&self) -> Result<Vec<(OutboxState, u64)>, StoreError> {
                let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state ORDER BY state")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        let state: String = r.try_get("state").map_err(db_err)?;
                        let n: i64 = r.try_get("n").map_err(db_err)?;
                        Ok((OutboxState::from_stored(&state).ok_or_else(|| corrupt("outbox state"))?, n.max(0) as u64))
                    })
                    .collect()
            }

            async fn enqueue(&self, messages: &[OutboxMessage]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                for m in messages {
                    insert_outbox(&mut *tx, m).await?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn outbox_requeue(
                &self,
                id: &str,
                now: Timestamp,
                callback_deadline: Timestamp,
                message_deadline: Timestamp,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE outbox SET state = 'queued', next_attempt_at = $1, \
                     deadline = CASE WHEN kind = 'callback' THEN $2 ELSE $3 END, locked_until = NULL \
                     WHERE id = $4 AND state = 'dead' AND kind <> 'push'",
                )
                .bind(now.millis())
                .bind(callback_deadline.millis())
                .bind(message_deadline.millis())
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_sent_outbox_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
                purge(
                    &self.pool,
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'sent' AND sent_at < $1 \
                     ORDER BY sent_at LIMIT $2)",
                    before,
                    limit,
                )
                .await
            }

            async fn delete_dead_outbox_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
                purge(
                    &self.pool,
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'dead' AND created_at < $1 \
                     ORDER BY created_at LIMIT $2)",
                    before,
                    limit,
                )
                .await
            }
        }
    };
}

pub(crate) use sql_outbox;
