//! The SQL of Duo-compatible integrations, shared by both backends: `sql_duo!(Store, Db)`
//! implements [`countersign_core::DuoStore`], beside `sql_common!`, whose imports and
//! helpers it uses.

/// Implement the DuoStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_duo {
    ($store:ty, $db:ty) => {
        fn duo_integration_from(r: &DbRow) -> Result<countersign_core::duo::DuoIntegration, StoreError> {
            Ok(countersign_core::duo::DuoIntegration {
                ikey: r.try_get("ikey").map_err(db_err)?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                name: r.try_get("name").map_err(db_err)?,
                skey_sealed: r.try_get("skey").map_err(db_err)?,
                legacy_signatures: r.try_get("legacy_signatures").map_err(db_err)?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
            })
        }

        #[async_trait]
        impl countersign_core::DuoStore for $store {
            async fn insert_duo_integration(
                &self,
                i: &countersign_core::duo::DuoIntegration,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO duo_integrations (ikey, tenant_id, name, skey, legacy_signatures, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&i.ikey)
                .bind(&i.tenant_id)
                .bind(&i.name)
                .bind(&i.skey_sealed)
                .bind(i.legacy_signatures)
                .bind(i.created_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn duo_integration(
                &self,
                ikey: &str,
            ) -> Result<Option<countersign_core::duo::DuoIntegration>, StoreError> {
                one_by(&self.pool, "SELECT * FROM duo_integrations WHERE ikey = $1", ikey, duo_integration_from).await
            }

            async fn duo_integrations(
                &self,
                tenant_id: &str,
                page: &Page,
            ) -> Result<Vec<countersign_core::duo::DuoIntegration>, StoreError> {
                page_by(
                    &self.pool,
                    "SELECT * FROM duo_integrations WHERE tenant_id = $1 AND name > $2 ORDER BY name LIMIT $3",
                    tenant_id,
                    page,
                    duo_integration_from,
                )
                .await
            }

            async fn delete_duo_integration(&self, tenant_id: &str, ikey: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM duo_integrations WHERE tenant_id = $1 AND ikey = $2")
                    .bind(tenant_id)
                    .bind(ikey)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use sql_duo;
