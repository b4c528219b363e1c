//! The SQL of tenants, users, access keys and the database itself, shared by both backends: `sql_account!(Store, Db)` implements
//! [`countersign_core::AccountStore`], beside `sql_common!`, whose imports and helpers it uses.

/// Implement the AccountStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_account {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl AccountStore for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
                Ok(())
            }

            async fn close(&self) {
                self.pool.close().await;
            }

            async fn migrate(&self) -> Result<(), StoreError> {
                self.migrate_pool().await
            }

            async fn insert_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO tenants (id, domain, settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&t.id)
                .bind(t.domain.as_str())
                .bind(settings_json(t)?)
                .bind(t.created_at.millis())
                .bind(t.updated_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn tenant_by_domain(&self, domain: &Domain) -> Result<Option<Tenant>, StoreError> {
                one_by(&self.pool, "SELECT * FROM tenants WHERE domain = $1", domain.as_str(), tenant_from).await
            }

            async fn list_tenants(&self, page: &Page) -> Result<Vec<Tenant>, StoreError> {
                sqlx::query("SELECT * FROM tenants WHERE domain > $1 ORDER BY domain LIMIT $2")
                    .bind(page.after.as_deref().unwrap_or(""))
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(tenant_from)
                    .collect()
            }

            async fn update_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
                let done = sqlx::query("UPDATE tenants SET settings = $1, updated_at = $2 WHERE id = $3")
                    .bind(settings_json(t)?)
                    .bind(t.updated_at.millis())
                    .bind(&t.id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
            }

            async fn delete_tenant(&self, id: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM tenants WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn tenant_by_id(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
                one_by(&self.pool, "SELECT * FROM tenants WHERE id = $1", id, tenant_from).await
            }

            async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO users (id, tenant_id, user_id, status, phone, email, locale, \
                     vdp_delivery_method, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&u.id)
                .bind(&u.tenant_id)
                .bind(u.user_id.as_str())
                .bind(u.status.as_str())
                .bind(&u.phone)
                .bind(&u.email)
                .bind(&u.locale)
                .bind(u.vdp_delivery_method.as_str())
                .bind(u.created_at.millis())
                .bind(u.updated_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn user(&self, tenant_id: &str, user_id: &str) -> Result<Option<User>, StoreError> {
                sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant_id)
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .as_ref()
                    .map(user_from)
                    .transpose()
            }

            async fn user_by_pk(&self, id: &str) -> Result<Option<User>, StoreError> {
                one_by(&self.pool, "SELECT * FROM users WHERE id = $1", id, user_from).await
            }

            async fn list_users(&self, tenant_id: &str, page: &Page) -> Result<Vec<User>, StoreError> {
                sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3")
                    .bind(tenant_id)
                    .bind(page.after.as_deref().unwrap_or(""))
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(user_from)
                    .collect()
            }

            async fn search_users(&self, tenant_id: &str, prefix: &str, limit: u32) -> Result<Vec<User>, StoreError> {
                // substr, not LIKE: no wildcard to escape, and case-sensitive on both backends.
                sqlx::query(
                    "SELECT * FROM users WHERE tenant_id = $1 AND substr(user_id, 1, length($2)) = $2 \
                     ORDER BY user_id LIMIT $3",
                )
                .bind(tenant_id)
                .bind(prefix)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(user_from)
                .collect()
            }

            async fn update_user(&self, u: &User) -> Result<(), StoreError> {
                let done = sqlx::query(
                    "UPDATE users SET status = $1, phone = $2, email = $3, locale = $4, \
                     vdp_delivery_method = $5, updated_at = $6 WHERE id = $7",
                )
                .bind(u.status.as_str())
                .bind(&u.phone)
                .bind(&u.email)
                .bind(&u.locale)
                .bind(u.vdp_delivery_method.as_str())
                .bind(u.updated_at.millis())
                .bind(&u.id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
            }

            async fn delete_user(&self, tenant_id: &str, user_id: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant_id)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_access_key(&self, k: &AccessKey) -> Result<(), StoreError> {
                insert_key(&self.pool, k).await
            }

            async fn list_access_keys(
                &self,
                kind: AccessKind,
                tenant_id: Option<&str>,
                page: &Page,
            ) -> Result<Vec<AccessKey>, StoreError> {
                // `tenant_id IS $2` is not portable, and `COALESCE(tenant_id, '')` would
                // keep the index (kind, tenant_id, id) from serving: one query per owner.
                let sql = match tenant_id {
                    Some(_) => {
                        "SELECT id, kind, tenant_id, name, hint, key_hash, created_at, last_used_at, revoked_at \
                         FROM access_keys WHERE kind = $1 AND tenant_id = $2 AND id > $3 ORDER BY id LIMIT $4"
                    }
                    None => {
                        "SELECT id, kind, tenant_id, name, hint, key_hash, created_at, last_used_at, revoked_at \
                         FROM access_keys WHERE kind = $1 AND tenant_id IS NULL AND $2 = '' AND id > $3 \
                         ORDER BY id LIMIT $4"
                    }
                };
                sqlx::query(sql)
                    .bind(kind.as_str())
                    .bind(tenant_id.unwrap_or(""))
                    .bind(page.after.as_deref().unwrap_or(""))
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(key_from)
                    .collect()
            }

            async fn revoke_access_key(
                &self,
                kind: AccessKind,
                tenant_id: Option<&str>,
                id: &str,
                at: Timestamp,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE access_keys SET revoked_at = $1 \
                     WHERE id = $2 AND kind = $3 AND COALESCE(tenant_id, '') = $4 AND revoked_at IS NULL",
                )
                .bind(at.millis())
                .bind(id)
                .bind(kind.as_str())
                .bind(tenant_id.unwrap_or(""))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn access_key_by_hash(&self, key_hash: &str) -> Result<Option<AccessKey>, StoreError> {
                Ok(self.access_key_with_tenant(key_hash).await?.map(|(k, _)| k))
            }

            async fn access_key_with_tenant(
                &self,
                key_hash: &str,
            ) -> Result<Option<(AccessKey, Option<Tenant>)>, StoreError> {
                let Some(r) = sqlx::query(
                    "SELECT k.id, k.kind, k.tenant_id, k.name, k.hint, k.key_hash, k.created_at, k.last_used_at, \
                     k.revoked_at, t.domain AS t_domain, t.settings AS t_settings, t.created_at AS t_created_at, \
                     t.updated_at AS t_updated_at \
                     FROM access_keys k LEFT JOIN tenants t ON t.id = k.tenant_id \
                     WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
                )
                .bind(key_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                else {
                    return Ok(None);
                };
                let key = key_from(&r)?;
                let domain: Option<String> = r.try_get("t_domain").map_err(db_err)?;
                let tenant = match (domain, &key.tenant_id) {
                    (Some(domain), Some(id)) => {
                        let settings: String = r.try_get("t_settings").map_err(db_err)?;
                        Some(Tenant {
                            id: id.clone(),
                            domain: Domain::parse(&domain, "domain").map_err(|_| corrupt("tenant domain"))?,
                            settings: serde_json_settings(&settings)?,
                            created_at: Timestamp(r.try_get("t_created_at").map_err(db_err)?),
                            updated_at: Timestamp(r.try_get("t_updated_at").map_err(db_err)?),
                        })
                    }
                    _ => None,
                };
                Ok(Some((key, tenant)))
            }

            async fn touch_access_key(&self, id: &str, at: Timestamp, min_interval_ms: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE access_keys SET last_used_at = $1 \
                     WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)",
                )
                .bind(at.millis())
                .bind(id)
                .bind(at.millis() - min_interval_ms)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn bootstrap_admin_token(&self, token: &AccessKey) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let marked = sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ('admin_bootstrap', $1) ON CONFLICT (key) DO NOTHING",
                )
                .bind(&token.id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if marked.rows_affected() != 1 {
                    return Ok(false);
                }
                insert_key(&mut *tx, token).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }
        }
    };
}

pub(crate) use sql_account;
