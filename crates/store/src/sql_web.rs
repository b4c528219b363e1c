//! The SQL of the web pages' sessions and sign-in links, shared by both backends:
//! `sql_web!(Store, Db)` implements [`countersign_core::WebStore`], beside `sql_common!`,
//! whose imports and helpers it uses.

/// Implement the WebStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_web {
    ($store:ty, $db:ty) => {
        fn web_session_from(r: &DbRow) -> Result<countersign_core::web::WebSession, StoreError> {
            let kind: String = r.try_get("kind").map_err(db_err)?;
            Ok(countersign_core::web::WebSession {
                id_hash: r.try_get("id_hash").map_err(db_err)?,
                kind: countersign_core::web::WebSessionKind::from_stored(&kind)
                    .ok_or_else(|| corrupt("web_sessions.kind"))?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                user_pk: r.try_get("user_pk").map_err(db_err)?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                last_seen_at: Timestamp(r.try_get("last_seen_at").map_err(db_err)?),
                expires_at: Timestamp(r.try_get("expires_at").map_err(db_err)?),
            })
        }

        fn sign_in_link_from(r: &DbRow) -> Result<countersign_core::web::SignInLink, StoreError> {
            let used: Option<i64> = r.try_get("used_at").map_err(db_err)?;
            Ok(countersign_core::web::SignInLink {
                id_hash: r.try_get("id_hash").map_err(db_err)?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                user_pk: r.try_get("user_pk").map_err(db_err)?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                expires_at: Timestamp(r.try_get("expires_at").map_err(db_err)?),
                used_at: used.map(Timestamp),
            })
        }

        #[async_trait]
        impl countersign_core::WebStore for $store {
            async fn insert_web_session(&self, s: &countersign_core::web::WebSession) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO web_sessions (id_hash, kind, tenant_id, user_pk, created_at, last_seen_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&s.id_hash)
                .bind(s.kind.as_str())
                .bind(&s.tenant_id)
                .bind(&s.user_pk)
                .bind(s.created_at.millis())
                .bind(s.last_seen_at.millis())
                .bind(s.expires_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn web_session(
                &self,
                id_hash: &str,
            ) -> Result<Option<countersign_core::web::WebSession>, StoreError> {
                // Console rows (no user) are read by `console_session`.
                one_by(&self.pool, "SELECT * FROM web_sessions WHERE id_hash = $1 AND kind = 'self_service'", id_hash, web_session_from)
                    .await
            }

            async fn touch_web_session(&self, id_hash: &str, at: Timestamp) -> Result<(), StoreError> {
                sqlx::query("UPDATE web_sessions SET last_seen_at = $1 WHERE id_hash = $2")
                    .bind(at.millis())
                    .bind(id_hash)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn delete_web_session(&self, id_hash: &str) -> Result<bool, StoreError> {
                affects_one(&self.pool, "DELETE FROM web_sessions WHERE id_hash = $1", id_hash).await
            }

            async fn delete_user_web_sessions(&self, user_pk: &str) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM web_sessions WHERE user_pk = $1")
                    .bind(user_pk)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected())
            }

            async fn delete_web_sessions_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
                purge(
                    &self.pool,
                    "DELETE FROM web_sessions WHERE id_hash IN (SELECT id_hash FROM web_sessions \
                     WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
                    before,
                    limit,
                )
                .await
            }

            async fn insert_sign_in_link(&self, l: &countersign_core::web::SignInLink) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO sign_in_links (id_hash, tenant_id, user_pk, created_at, expires_at, used_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&l.id_hash)
                .bind(&l.tenant_id)
                .bind(&l.user_pk)
                .bind(l.created_at.millis())
                .bind(l.expires_at.millis())
                .bind(l.used_at.map(|t| t.millis()))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn live_sign_in_link(
                &self,
                id_hash: &str,
                at: Timestamp,
            ) -> Result<Option<countersign_core::web::SignInLink>, StoreError> {
                sqlx::query("SELECT * FROM sign_in_links WHERE id_hash = $1 AND used_at IS NULL AND expires_at > $2")
                    .bind(id_hash)
                    .bind(at.millis())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .as_ref()
                    .map(sign_in_link_from)
                    .transpose()
            }

            async fn use_sign_in_link(
                &self,
                id_hash: &str,
                at: Timestamp,
            ) -> Result<Option<countersign_core::web::SignInLink>, StoreError> {
                sqlx::query(
                    "UPDATE sign_in_links SET used_at = $1 \
                     WHERE id_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING *",
                )
                .bind(at.millis())
                .bind(id_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .as_ref()
                .map(sign_in_link_from)
                .transpose()
            }

            async fn delete_sign_in_links_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
                purge(
                    &self.pool,
                    "DELETE FROM sign_in_links WHERE id_hash IN (SELECT id_hash FROM sign_in_links \
                     WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
                    before,
                    limit,
                )
                .await
            }
        }
    };
}

pub(crate) use sql_web;
