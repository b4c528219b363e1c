//! The SQL of tenants' configuration, shared by both backends: `sql_config!(Store, Db)` implements
//! [`countersign_core::ConfigStore`], beside `sql_common!`, whose imports and helpers it uses.

/// Implement the ConfigStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_config {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl ConfigStore for $store {
            async fn callback_config(
                &self,
                tenant_id: &str,
            ) -> Result<Option<countersign_core::callbacks::StoredCallbacks>, StoreError> {
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
                config: &countersign_core::callbacks::StoredCallbacks,
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

            async fn config_doc(&self, kind: &str, key: &str) -> Result<Option<String>, StoreError> {
                let row = sqlx::query("SELECT doc FROM config_docs WHERE kind = $1 AND doc_key = $2")
                    .bind(kind)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|r| r.try_get("doc").map_err(db_err)).transpose()
            }

            async fn set_config_doc(
                &self,
                kind: &str,
                key: &str,
                tenant_id: Option<&str>,
                doc: &str,
                at: Timestamp,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO config_docs (kind, doc_key, tenant_id, doc, updated_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (kind, doc_key) DO UPDATE SET tenant_id = excluded.tenant_id, doc = excluded.doc, \
                     updated_at = excluded.updated_at",
                )
                .bind(kind)
                .bind(key)
                .bind(tenant_id)
                .bind(doc)
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn delete_config_doc(&self, kind: &str, key: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM config_docs WHERE kind = $1 AND doc_key = $2")
                    .bind(kind)
                    .bind(key)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_config_docs(&self, kind: &str, key_prefix: &str) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM config_docs WHERE kind = $1 AND substr(doc_key, 1, length($2)) = $2")
                    .bind(kind)
                    .bind(key_prefix)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected())
            }

            async fn config_doc_keys(
                &self,
                kinds: &[&str],
                key_prefix: &str,
            ) -> Result<Vec<(String, String)>, StoreError> {
                if kinds.is_empty() {
                    return Ok(Vec::new());
                }
                let marks: Vec<String> = (2..kinds.len() + 2).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT kind, doc_key FROM config_docs WHERE substr(doc_key, 1, length($1)) = $1 \
                     AND kind IN ({}) ORDER BY kind, doc_key LIMIT 1000",
                    marks.join(", ")
                );
                // Only numbered placeholders are formatted in; every value is bound.
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(key_prefix);
                for k in kinds {
                    q = q.bind(*k);
                }
                q.fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(|r| Ok((r.try_get("kind").map_err(db_err)?, r.try_get("doc_key").map_err(db_err)?)))
                    .collect()
            }

            async fn delete_config_docs_before(&self, kind: &str, before: Timestamp) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM config_docs WHERE kind = $1 AND updated_at < $2")
                    .bind(kind)
                    .bind(before.millis())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected())
            }

            async fn list_config_docs(&self, kind: &str, key_prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
                sqlx::query(
                    "SELECT doc_key, doc FROM config_docs WHERE kind = $1 AND substr(doc_key, 1, length($2)) = $2 \
                     ORDER BY doc_key LIMIT 1000",
                )
                .bind(kind)
                .bind(key_prefix)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(|r| Ok((r.try_get("doc_key").map_err(db_err)?, r.try_get("doc").map_err(db_err)?)))
                    .collect()
            }
        }
    };
}

pub(crate) use sql_config;
