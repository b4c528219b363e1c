//! The audit log's SQL, shared by both backends: `sql_audit!(Store, Db)` implements
//! [`countersign_core::AuditStore`] and defines `append_audit_tx`, which the other
//! aggregates call last in a transaction that records its change.
//!
//! One chain for all nodes: every append first moves the single head row
//! (`UPDATE audit_head … RETURNING`), which takes its row lock on PostgreSQL (a
//! concurrent append waits there until this transaction commits, then reads the head as
//! moved) and the write lock on SQLite. The entry is numbered after the head, hashed with
//! the head's hash, inserted, and the head moved to it before the commit.

/// Implement the AuditStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_audit {
    ($store:ty, $db:ty) => {
        use countersign_core::AuditStore;
        use countersign_core::audit::{AuditEntry, AuditHead, AuditQuery, AuditRecord};

        /// Append `records` to the chain in `tx`. Call it last in the transaction: from
        /// here to the commit, every other append waits.
        async fn append_audit_tx(
            tx: &mut sqlx::Transaction<'_, $db>,
            records: &[AuditRecord],
        ) -> Result<(), StoreError> {
            for r in records {
                let head = sqlx::query(
                    "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash, \
                     COALESCE($1, (SELECT id FROM tenants WHERE domain = $2)) AS tenant_id, \
                     COALESCE($2, (SELECT domain FROM tenants WHERE id = $1)) AS tenant, \
                     COALESCE($3, (SELECT user_id FROM users WHERE id = $4)) AS user_name",
                )
                .bind(&r.tenant_id)
                .bind(&r.tenant)
                .bind(&r.user)
                .bind(&r.user_pk)
                .fetch_one(&mut **tx)
                .await
                .map_err(db_err)?;
                let mut e = AuditEntry {
                    seq: head.try_get("seq").map_err(db_err)?,
                    at: r.at,
                    tenant_id: head.try_get("tenant_id").map_err(db_err)?,
                    tenant: head.try_get("tenant").map_err(db_err)?,
                    user: head.try_get("user_name").map_err(db_err)?,
                    kind: r.kind.clone(),
                    actor: r.actor.clone(),
                    details: r.details.clone(),
                    prev_hash: head.try_get("hash").map_err(db_err)?,
                    hash: String::new(),
                };
                e.hash = e.computed_hash();
                sqlx::query(
                    "INSERT INTO audit_log (seq, at, tenant_id, tenant, user_id, kind, actor, details, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(e.seq)
                .bind(e.at.millis())
                .bind(&e.tenant_id)
                .bind(&e.tenant)
                .bind(&e.user)
                .bind(&e.kind)
                .bind(&e.actor)
                .bind(&e.details)
                .bind(&e.prev_hash)
                .bind(&e.hash)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
                    .bind(&e.hash)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
            }
            Ok(())
        }

        fn audit_from(r: &DbRow) -> Result<AuditEntry, StoreError> {
            Ok(AuditEntry {
                seq: r.try_get("seq").map_err(db_err)?,
                at: Timestamp(r.try_get("at").map_err(db_err)?),
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                tenant: r.try_get("tenant").map_err(db_err)?,
                user: r.try_get("user_id").map_err(db_err)?,
                kind: r.try_get("kind").map_err(db_err)?,
                actor: r.try_get("actor").map_err(db_err)?,
                details: r.try_get("details").map_err(db_err)?,
                prev_hash: r.try_get("prev_hash").map_err(db_err)?,
                hash: r.try_get("hash").map_err(db_err)?,
            })
        }

        #[async_trait]
        impl AuditStore for $store {
            async fn append_audit(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
                if records.is_empty() {
                    return Ok(());
                }
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                append_audit_tx(&mut tx, records).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }

            async fn audit_entries(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
                // Only the filters given, so each query can use its index.
                let mut b = sqlx::QueryBuilder::<$db>::new("SELECT * FROM audit_log WHERE 1 = 1");
                if let Some(v) = &q.tenant_id {
                    b.push(" AND tenant_id = ").push_bind(v.clone());
                }
                if let Some(v) = &q.tenant {
                    b.push(" AND tenant = ").push_bind(v.clone());
                }
                if let Some(v) = &q.user {
                    b.push(" AND user_id = ").push_bind(v.clone());
                }
                if let Some(v) = &q.kind {
                    b.push(" AND kind = ").push_bind(v.clone());
                }
                if let Some(v) = q.since {
                    b.push(" AND at >= ").push_bind(v.millis());
                }
                if let Some(v) = q.until {
                    b.push(" AND at < ").push_bind(v.millis());
                }
                if let Some(v) = q.after {
                    b.push(" AND seq > ").push_bind(v);
                }
                b.push(if q.newest_first { " ORDER BY seq DESC LIMIT " } else { " ORDER BY seq LIMIT " })
                    .push_bind(i64::from(q.limit));
                b.build().fetch_all(&self.pool).await.map_err(db_err)?.iter().map(audit_from).collect()
            }

            async fn audit_head(&self) -> Result<AuditHead, StoreError> {
                let r = sqlx::query("SELECT seq, hash, base_seq, base_hash FROM audit_head WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(AuditHead {
                    seq: r.try_get("seq").map_err(db_err)?,
                    hash: r.try_get("hash").map_err(db_err)?,
                    base_seq: r.try_get("base_seq").map_err(db_err)?,
                    base_hash: r.try_get("base_hash").map_err(db_err)?,
                })
            }

            async fn purge_audit_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                // Take the head first, as an append does: purges and appends never interleave.
                let base: i64 = sqlx::query("UPDATE audit_head SET base_seq = base_seq WHERE id = 1 RETURNING base_seq")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .try_get("base_seq")
                    .map_err(db_err)?;
                let rows = sqlx::query("SELECT seq, at, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(base)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let mut last: Option<(i64, String)> = None;
                for r in &rows {
                    let at: i64 = r.try_get("at").map_err(db_err)?;
                    if at >= before.millis() {
                        break;
                    }
                    last = Some((r.try_get("seq").map_err(db_err)?, r.try_get("hash").map_err(db_err)?));
                }
                let Some((seq, hash)) = last else { return Ok(0) };
                let done = sqlx::query("DELETE FROM audit_log WHERE seq > $1 AND seq <= $2")
                    .bind(base)
                    .bind(seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query("UPDATE audit_head SET base_seq = $1, base_hash = $2 WHERE id = 1")
                    .bind(seq)
                    .bind(&hash)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use sql_audit;
