//! The SQL of tenants' configuration, shared by both backends: `sql_config!(Store, Db)` implements
//! [`countersign_core::ConfigStore`], beside `sql_common!`, whose imports and helpers it uses.

/// Implement the ConfigStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_config {
    ($store:ty, $db:ty) => {
        fn sealed_from(r: &DbRow) -> Result<SealedConfig, StoreError> {
            Ok(SealedConfig { view: r.try_get("public_view").map_err(db_err)?, sealed: r.try_get("sealed").map_err(db_err)? })
        }

        /// Run an upsert of one tenant's row (`$1` tenant, `$2` document, `$3` time).
        async fn upsert_tenant_doc(
            pool: &sqlx::Pool<$db>,
            sql: &'static str,
            tenant_id: &str,
            doc: &str,
            at: Timestamp,
        ) -> Result<(), StoreError> {
            sqlx::query(sql).bind(tenant_id).bind(doc).bind(at.millis()).execute(pool).await.map_err(db_err)?;
            Ok(())
        }

        #[async_trait]
        impl ConfigStore for $store {
            async fn callback_config(
                &self,
                tenant_id: &str,
            ) -> Result<Option<countersign_core::delivery::callbacks::StoredCallbacks>, StoreError> {
                let row = sqlx::query("SELECT config FROM tenant_callbacks WHERE tenant_id = $1")
                    .bind(tenant_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                let Some(r) = row else { return Ok(None) };
                let text: String = r.try_get("config").map_err(db_err)?;
                serde_json::from_str(&text).map(Some).map_err(|_| corrupt("callback config"))
            }

            async fn set_callback_config(
                &self,
                tenant_id: &str,
                config: &countersign_core::delivery::callbacks::StoredCallbacks,
                at: Timestamp,
            ) -> Result<(), StoreError> {
                let text = serde_json::to_string(config).map_err(|e| StoreError::Backend(Box::new(e)))?;
                sqlx::query(
                    "INSERT INTO tenant_callbacks (tenant_id, config, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (tenant_id) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
                )
                .bind(tenant_id)
                .bind(text)
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn push_app(&self, app_id: &str) -> Result<Option<SealedConfig>, StoreError> {
                one_by(&self.pool, "SELECT public_view, sealed FROM push_apps WHERE app_id = $1", app_id, sealed_from).await
            }

            async fn push_apps(&self, page: &Page) -> Result<Vec<(String, SealedConfig)>, StoreError> {
                sqlx::query("SELECT app_id, public_view, sealed FROM push_apps WHERE app_id > $1 ORDER BY app_id LIMIT $2")
                    .bind(page.after.as_deref().unwrap_or(""))
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(|r| Ok((r.try_get("app_id").map_err(db_err)?, sealed_from(r)?)))
                    .collect()
            }

            async fn set_push_app(&self, app_id: &str, c: &SealedConfig, at: Timestamp) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO push_apps (app_id, public_view, sealed, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (app_id) DO UPDATE SET public_view = excluded.public_view, sealed = excluded.sealed, \
                     updated_at = excluded.updated_at",
                )
                .bind(app_id)
                .bind(&c.view)
                .bind(&c.sealed)
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn delete_push_app(&self, app_id: &str) -> Result<bool, StoreError> {
                affects_one(&self.pool, "DELETE FROM push_apps WHERE app_id = $1", app_id).await
            }

            async fn tenant_providers(&self, tenant_id: &str) -> Result<Option<SealedConfig>, StoreError> {
                one_by(&self.pool, "SELECT public_view, sealed FROM tenant_providers WHERE tenant_id = $1", tenant_id, sealed_from)
                    .await
            }

            async fn set_tenant_providers(&self, tenant_id: &str, c: &SealedConfig, at: Timestamp) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO tenant_providers (tenant_id, public_view, sealed, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (tenant_id) DO UPDATE SET public_view = excluded.public_view, sealed = excluded.sealed, \
                     updated_at = excluded.updated_at",
                )
                .bind(tenant_id)
                .bind(&c.view)
                .bind(&c.sealed)
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn auth_type(&self, tenant_id: &str, name: &str) -> Result<Option<String>, StoreError> {
                let row = sqlx::query("SELECT settings FROM auth_types WHERE tenant_id = $1 AND name = $2")
                    .bind(tenant_id)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|r| r.try_get("settings").map_err(db_err)).transpose()
            }

            async fn auth_types(&self, tenant_id: &str, page: &Page) -> Result<Vec<(String, String)>, StoreError> {
                page_by(
                    &self.pool,
                    "SELECT name, settings FROM auth_types WHERE tenant_id = $1 AND name > $2 ORDER BY name LIMIT $3",
                    tenant_id,
                    page,
                    |r| Ok((r.try_get("name").map_err(db_err)?, r.try_get("settings").map_err(db_err)?)),
                )
                .await
            }

            async fn set_auth_type(&self, tenant_id: &str, name: &str, settings: &str, at: Timestamp) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO auth_types (tenant_id, name, settings, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (tenant_id, name) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
                )
                .bind(tenant_id)
                .bind(name)
                .bind(settings)
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn delete_auth_type(&self, tenant_id: &str, name: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM auth_types WHERE tenant_id = $1 AND name = $2")
                    .bind(tenant_id)
                    .bind(name)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn relying_party(&self, tenant_id: &str) -> Result<Option<String>, StoreError> {
                one_by(&self.pool, "SELECT config FROM fido_relying_parties WHERE tenant_id = $1", tenant_id, |r| {
                    r.try_get("config").map_err(db_err)
                })
                .await
            }

            async fn set_relying_party(&self, tenant_id: &str, rp: &str, at: Timestamp) -> Result<(), StoreError> {
                upsert_tenant_doc(&self.pool, "INSERT INTO fido_relying_parties (tenant_id, config, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (tenant_id) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at", tenant_id, rp, at).await
            }
        }
    };
}

pub(crate) use sql_config;
