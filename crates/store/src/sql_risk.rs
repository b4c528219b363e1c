//! The SQL of the risk engine's failure log, shared by both backends: `sql_risk!(Store, Db)` implements
//! [`countersign_core::RiskStore`], beside `sql_common!`, whose imports and helpers it uses.

/// Implement the RiskStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_risk {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl RiskStore for $store {
            async fn risk_rules(&self, tenant_id: &str) -> Result<Option<String>, StoreError> {
                one_by(&self.pool, "SELECT settings FROM risk_rules WHERE tenant_id = $1", tenant_id, |r| {
                    r.try_get("settings").map_err(db_err)
                })
                .await
            }

            async fn set_risk_rules(&self, tenant_id: &str, rules: &str, at: Timestamp) -> Result<(), StoreError> {
                upsert_tenant_doc(&self.pool, "INSERT INTO risk_rules (tenant_id, settings, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at", tenant_id, rules, at).await
            }

            async fn risk_profile(&self, user_pk: &str) -> Result<Option<String>, StoreError> {
                one_by(&self.pool, "SELECT profile FROM risk_profiles WHERE user_pk = $1", user_pk, |r| {
                    r.try_get("profile").map_err(db_err)
                })
                .await
            }

            async fn set_risk_profile(&self, tenant_id: &str, user_pk: &str, profile: &str, at: Timestamp) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO risk_profiles (user_pk, tenant_id, profile, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_pk) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
                )
                .bind(user_pk)
                .bind(tenant_id)
                .bind(profile)
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn insert_risk_pending(&self, request_id: &str, tenant_id: &str, learn: &str, at: Timestamp) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO risk_pending (request_id, tenant_id, learn, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (request_id) DO UPDATE SET learn = excluded.learn, created_at = excluded.created_at",
                )
                .bind(request_id)
                .bind(tenant_id)
                .bind(learn)
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn risk_pending(&self, request_id: &str) -> Result<Option<String>, StoreError> {
                one_by(&self.pool, "SELECT learn FROM risk_pending WHERE request_id = $1", request_id, |r| {
                    r.try_get("learn").map_err(db_err)
                })
                .await
            }

            async fn take_risk_pending(&self, request_id: &str) -> Result<Option<String>, StoreError> {
                one_by(&self.pool, "DELETE FROM risk_pending WHERE request_id = $1 RETURNING learn", request_id, |r| {
                    r.try_get("learn").map_err(db_err)
                })
                .await
            }

            async fn delete_risk_pending_before(&self, before: Timestamp) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM risk_pending WHERE created_at < $1")
                    .bind(before.millis())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected())
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
                let r = sqlx::query(
                    "SELECT COUNT(*) AS n FROM risk_failures WHERE tenant_id = $1 AND ip = $2 AND at >= $3",
                )
                .bind(tenant_id)
                .bind(ip)
                .bind(since.millis())
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                int(&r, "n")
            }

            async fn delete_failures_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
                purge(
                    &self.pool,
                    "DELETE FROM risk_failures WHERE id IN (SELECT id FROM risk_failures WHERE at < $1 \
                     ORDER BY at LIMIT $2)",
                    before,
                    limit,
                )
                .await
            }
        }
    };
}

pub(crate) use sql_risk;
