//! The SQL both backends share, as a macro instantiated once per backend.
//!
//! `sql_store!(Store, Db)` implements [`countersign_core::Store`] for a type with a
//! field `pool: sqlx::Pool<Db>` and an inherent `async fn migrate_pool(&self)`.

/// Implement the Store trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_store {
    ($store:ty, $db:ty) => {
        use async_trait::async_trait;
        use countersign_core::{
            AccessKey, AccessKind, AccountStore, Domain, Page, StoreError, Tenant, TenantSettings, Timestamp, User,
            UserId, UserStatus, VdpDeliveryMethod,
        };
        use sqlx::Row;

        use crate::db_err;

        type DbRow = <$db as sqlx::Database>::Row;

        fn corrupt(what: &str) -> StoreError {
            StoreError::Corrupt(what.to_owned())
        }

        fn tenant_from(r: &DbRow) -> Result<Tenant, StoreError> {
            let settings: String = r.try_get("settings").map_err(db_err)?;
            let domain: String = r.try_get("domain").map_err(db_err)?;
            Ok(Tenant {
                id: r.try_get("id").map_err(db_err)?,
                domain: Domain::parse(&domain, "domain").map_err(|_| corrupt("tenant domain"))?,
                settings: serde_json_settings(&settings)?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                updated_at: Timestamp(r.try_get("updated_at").map_err(db_err)?),
            })
        }

        fn serde_json_settings(s: &str) -> Result<TenantSettings, StoreError> {
            serde_json::from_str(s).map_err(|_| corrupt("tenant settings"))
        }

        fn user_from(r: &DbRow) -> Result<User, StoreError> {
            let user_id: String = r.try_get("user_id").map_err(db_err)?;
            let status: String = r.try_get("status").map_err(db_err)?;
            let vdp: String = r.try_get("vdp_delivery_method").map_err(db_err)?;
            Ok(User {
                id: r.try_get("id").map_err(db_err)?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                user_id: UserId::parse(&user_id, "userID").map_err(|_| corrupt("user id"))?,
                status: UserStatus::from_stored(&status).ok_or_else(|| corrupt("user status"))?,
                phone: r.try_get("phone").map_err(db_err)?,
                email: r.try_get("email").map_err(db_err)?,
                locale: r.try_get("locale").map_err(db_err)?,
                vdp_delivery_method: VdpDeliveryMethod::from_stored(&vdp)
                    .ok_or_else(|| corrupt("user vdpDeliveryMethod"))?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                updated_at: Timestamp(r.try_get("updated_at").map_err(db_err)?),
            })
        }

        fn key_from(r: &DbRow) -> Result<AccessKey, StoreError> {
            let kind: String = r.try_get("kind").map_err(db_err)?;
            let last: Option<i64> = r.try_get("last_used_at").map_err(db_err)?;
            let revoked: Option<i64> = r.try_get("revoked_at").map_err(db_err)?;
            Ok(AccessKey {
                id: r.try_get("id").map_err(db_err)?,
                kind: AccessKind::from_stored(&kind).ok_or_else(|| corrupt("access key kind"))?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                name: r.try_get("name").map_err(db_err)?,
                hint: r.try_get("hint").map_err(db_err)?,
                key_hash: r.try_get("key_hash").map_err(db_err)?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                last_used_at: last.map(Timestamp),
                revoked_at: revoked.map(Timestamp),
            })
        }

        /// The row `sql` (one `$1` parameter) finds for `key`, read by `from`.
        async fn one_by<T>(
            pool: &sqlx::Pool<$db>,
            sql: &'static str,
            key: &str,
            from: fn(&DbRow) -> Result<T, StoreError>,
        ) -> Result<Option<T>, StoreError> {
            sqlx::query(sql).bind(key).fetch_optional(pool).await.map_err(db_err)?.as_ref().map(from).transpose()
        }

        async fn all_by<T>(
            pool: &sqlx::Pool<$db>,
            sql: &'static str,
            key: &str,
            from: fn(&DbRow) -> Result<T, StoreError>,
        ) -> Result<Vec<T>, StoreError> {
            sqlx::query(sql).bind(key).fetch_all(pool).await.map_err(db_err)?.iter().map(from).collect()
        }

        /// Run a statement with one key; whether it touched exactly one row.
        async fn affects_one(pool: &sqlx::Pool<$db>, sql: &'static str, key: &str) -> Result<bool, StoreError> {
            Ok(sqlx::query(sql).bind(key).execute(pool).await.map_err(db_err)?.rows_affected() == 1)
        }

        fn settings_json(t: &Tenant) -> Result<String, StoreError> {
            serde_json::to_string(&t.settings).map_err(|e| StoreError::Backend(Box::new(e)))
        }

        #[async_trait]
        impl AccountStore for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
                Ok(())
            }

            async fn close(&self) {
                self.pool.close().await;
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

            async fn tenant_by_id(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
                one_by(&self.pool, "SELECT * FROM tenants WHERE id = $1", id, tenant_from).await
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
            ) -> Result<Vec<AccessKey>, StoreError> {
                // `tenant_id IS $2` is not portable; compare with a sentinel instead.
                sqlx::query(
                    "SELECT id, kind, tenant_id, name, hint, key_hash, created_at, last_used_at, revoked_at \
                     FROM access_keys WHERE kind = $1 AND COALESCE(tenant_id, '') = $2 ORDER BY created_at, id",
                )
                .bind(kind.as_str())
                .bind(tenant_id.unwrap_or(""))
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

            async fn migrate(&self) -> Result<(), StoreError> {
                self.migrate_pool().await
            }
        }

        async fn insert_key<'e, E>(exec: E, k: &AccessKey) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            sqlx::query(
                "INSERT INTO access_keys (id, kind, tenant_id, name, hint, key_hash, created_at, last_used_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&k.id)
            .bind(k.kind.as_str())
            .bind(&k.tenant_id)
            .bind(&k.name)
            .bind(&k.hint)
            .bind(&k.key_hash)
            .bind(k.created_at.millis())
            .bind(k.last_used_at.map(Timestamp::millis))
            .bind(k.revoked_at.map(Timestamp::millis))
            .execute(exec)
            .await
            .map_err(db_err)?;
            Ok(())
        }
    };
}

pub(crate) use sql_store;
