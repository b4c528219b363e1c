//! The SQL of users' credentials: static passwords, OATH tokens, shared by both backends: `sql_credential!(Store, Db)` implements
//! [`countersign_core::CredentialStore`], beside `sql_common!`, whose imports and helpers it uses.

/// Implement the CredentialStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_credential {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl CredentialStore for $store {
            async fn static_password(
                &self,
                user_pk: &str,
            ) -> Result<Option<countersign_core::password::StaticPassword>, StoreError> {
                one_by(&self.pool, "SELECT * FROM static_passwords WHERE user_pk = $1", user_pk, |r| {
                    let grace: Option<i64> = r.try_get("grace_until").map_err(db_err)?;
                    let locked: Option<i64> = r.try_get("locked_until").map_err(db_err)?;
                    Ok(countersign_core::password::StaticPassword {
                        user_pk: r.try_get("user_pk").map_err(db_err)?,
                        hash: r.try_get("hash").map_err(db_err)?,
                        grace_until: grace.map(Timestamp),
                        failures: int(r, "failures")?,
                        locked_until: locked.map(Timestamp),
                        updated_at: Timestamp(r.try_get("updated_at").map_err(db_err)?),
                    })
                })
                .await
            }

            async fn set_static_password(&self, p: &countersign_core::password::StaticPassword) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO static_passwords (user_pk, hash, grace_until, failures, locked_until, updated_at) \
                     VALUES ($1, $2, $3, 0, NULL, $4) ON CONFLICT (user_pk) DO UPDATE SET hash = excluded.hash, \
                     grace_until = excluded.grace_until, failures = 0, locked_until = NULL, updated_at = excluded.updated_at",
                )
                .bind(&p.user_pk)
                .bind(&p.hash)
                .bind(p.grace_until.map(Timestamp::millis))
                .bind(p.updated_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn delete_static_password(&self, user_pk: &str) -> Result<bool, StoreError> {
                affects_one(&self.pool, "DELETE FROM static_passwords WHERE user_pk = $1", user_pk).await
            }

            async fn password_failure(
                &self,
                user_pk: &str,
                max: u32,
                lock_until: Timestamp,
            ) -> Result<Option<(u32, Option<Timestamp>)>, StoreError> {
                let row = sqlx::query(
                    "UPDATE static_passwords SET failures = failures + 1, \
                     locked_until = CASE WHEN failures + 1 >= $1 THEN $2 ELSE locked_until END \
                     WHERE user_pk = $3 RETURNING failures, locked_until",
                )
                .bind(i64::from(max))
                .bind(lock_until.millis())
                .bind(user_pk)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                let Some(r) = row else { return Ok(None) };
                let locked: Option<i64> = r.try_get("locked_until").map_err(db_err)?;
                Ok(Some((int(&r, "failures")?, locked.map(Timestamp))))
            }

            async fn password_reset_failures(&self, user_pk: &str) -> Result<bool, StoreError> {
                affects_one(&self.pool, "UPDATE static_passwords SET failures = 0, locked_until = NULL WHERE user_pk = $1", user_pk).await
            }

            async fn insert_tokens(&self, tokens: &[countersign_core::tokens::Token]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                for t in tokens {
                    sqlx::query(
                        "INSERT INTO tokens (id, tenant_id, user_pk, serial, kind, algorithm, digits, period, moving, secret, \
                         state, failures, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    )
                    .bind(&t.id)
                    .bind(&t.tenant_id)
                    .bind(&t.user_pk)
                    .bind(&t.serial)
                    .bind(t.kind.as_str())
                    .bind(t.algorithm.as_str())
                    .bind(i64::from(t.digits))
                    .bind(i64::from(t.period))
                    .bind(t.moving)
                    .bind(&t.secret)
                    .bind(t.state.as_str())
                    .bind(i64::from(t.failures))
                    .bind(t.created_at.millis())
                    .bind(t.updated_at.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn token(&self, id: &str) -> Result<Option<countersign_core::tokens::Token>, StoreError> {
                one_by(&self.pool, "SELECT * FROM tokens WHERE id = $1", id, token_from).await
            }

            async fn tenant_tokens(&self, tenant_id: &str) -> Result<Vec<countersign_core::tokens::Token>, StoreError> {
                all_by(&self.pool, "SELECT * FROM tokens WHERE tenant_id = $1 ORDER BY serial LIMIT 1000", tenant_id, token_from)
                    .await
            }

            async fn user_tokens(&self, user_pk: &str) -> Result<Vec<countersign_core::tokens::Token>, StoreError> {
                all_by(&self.pool, "SELECT * FROM tokens WHERE user_pk = $1 ORDER BY created_at, id", user_pk, token_from).await
            }

            async fn set_token_user(&self, id: &str, user_pk: Option<&str>, at: Timestamp) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE tokens SET user_pk = $1, updated_at = $2 WHERE id = $3")
                    .bind(user_pk)
                    .bind(at.millis())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn token_advance(
                &self,
                id: &str,
                expected: i64,
                new: i64,
                state: countersign_core::tokens::TokenState,
                at: Timestamp,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE tokens SET moving = $1, failures = 0, state = $2, updated_at = $3 \
                     WHERE id = $4 AND moving = $5 AND state <> 'locked'",
                )
                .bind(new)
                .bind(state.as_str())
                .bind(at.millis())
                .bind(id)
                .bind(expected)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn token_failure(
                &self,
                id: &str,
                max: u32,
                at: Timestamp,
            ) -> Result<Option<(u32, countersign_core::tokens::TokenState)>, StoreError> {
                let row = sqlx::query(
                    "UPDATE tokens SET failures = failures + 1, updated_at = $1, \
                     state = CASE WHEN failures + 1 >= $2 THEN 'locked' ELSE state END \
                     WHERE id = $3 RETURNING failures, state",
                )
                .bind(at.millis())
                .bind(i64::from(max))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                let Some(r) = row else { return Ok(None) };
                let state: String = r.try_get("state").map_err(db_err)?;
                let state = countersign_core::tokens::TokenState::from_stored(&state).ok_or_else(|| corrupt("token state"))?;
                Ok(Some((int(&r, "failures")?, state)))
            }

            async fn set_token_state(
                &self,
                id: &str,
                state: countersign_core::tokens::TokenState,
                at: Timestamp,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE tokens SET state = $1, failures = 0, updated_at = $2 WHERE id = $3")
                    .bind(state.as_str())
                    .bind(at.millis())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_token(&self, id: &str) -> Result<bool, StoreError> {
                affects_one(&self.pool, "DELETE FROM tokens WHERE id = $1", id).await
            }
        }
    };
}

pub(crate) use sql_credential;
