//! The SQL of the risk engine's failure log, shared by both backends: `sql_risk!(Store, Db)` implements
//! [`countersign_core::RiskStore`], beside `sql_common!`, whose imports and helpers it uses.

/// Implement the RiskStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_risk {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl RiskStore for $store {
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
        }
    };
}

pub(crate) use sql_risk;
