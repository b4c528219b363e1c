//! The SQL of users' credentials: static passwords, OATH tokens, shared by both backends: `sql_credential!(Store, Db)` implements
//! [`countersign_core::CredentialStore`], beside `sql_common!`, whose imports and helpers it uses.

/// Implement the CredentialStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_credential {
    ($store:ty, $db:ty) => {
        fn virtual_from(r: &DbRow) -> Result<countersign_core::tokens::virtual_auth::VirtualAuthenticator, StoreError> {
            let apps: String = r.try_get("applications").map_err(db_err)?;
            Ok(countersign_core::tokens::virtual_auth::VirtualAuthenticator {
                serial_number: r.try_get("serial").map_err(db_err)?,
                user_id: r.try_get("user_id").map_err(db_err)?,
                applications: serde_json::from_str(&apps).map_err(|_| corrupt("virtual authenticator applications"))?,
                user_pk: r.try_get("user_pk").map_err(db_err)?,
            })
        }

        fn ceremony_from(r: &DbRow) -> Result<countersign_core::FidoCeremony, StoreError> {
            Ok(countersign_core::FidoCeremony {
                id: r.try_get("id").map_err(db_err)?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                user_pk: r.try_get("user_pk").map_err(db_err)?,
                state: r.try_get("state").map_err(db_err)?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                expires_at: Timestamp(r.try_get("expires_at").map_err(db_err)?),
            })
        }

        /// An upsert of a user's row that must not take another user's key: `Conflict`
        /// when the key exists for someone else (the update's guard matched no row).
        fn owned_upsert(done: <$db as sqlx::Database>::QueryResult) -> Result<(), StoreError> {
            if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::Conflict) }
        }

        const VIRTUAL_SELECT: &str = "SELECT v.serial, v.user_pk, v.applications, u.user_id \
             FROM virtual_authenticators v JOIN users u ON u.id = v.user_pk";

        #[async_trait]
        impl CredentialStore for $store {
            async fn insert_virtual_authenticator(
                &self,
                tenant_id: &str,
                v: &countersign_core::tokens::virtual_auth::VirtualAuthenticator,
                at: Timestamp,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO virtual_authenticators (tenant_id, serial, user_pk, applications, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(tenant_id)
                .bind(&v.serial_number)
                .bind(&v.user_pk)
                .bind(json_text(&v.applications)?)
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn virtual_authenticator(
                &self,
                tenant_id: &str,
                serial: &str,
            ) -> Result<Option<countersign_core::tokens::virtual_auth::VirtualAuthenticator>, StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{VIRTUAL_SELECT} WHERE v.tenant_id = $1 AND v.serial = $2")))
                    .bind(tenant_id)
                    .bind(serial)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .as_ref()
                    .map(virtual_from)
                    .transpose()
            }

            async fn user_virtual_authenticators(
                &self,
                user_pk: &str,
                page: &Page,
            ) -> Result<Vec<countersign_core::tokens::virtual_auth::VirtualAuthenticator>, StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{VIRTUAL_SELECT} WHERE v.user_pk = $1 AND v.serial > $2 ORDER BY v.serial LIMIT $3"
                )))
                    .bind(user_pk)
                    .bind(page.after.as_deref().unwrap_or(""))
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(virtual_from)
                    .collect()
            }

            async fn delete_virtual_authenticator(&self, tenant_id: &str, serial: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM virtual_authenticators WHERE tenant_id = $1 AND serial = $2")
                    .bind(tenant_id)
                    .bind(serial)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn fido_credential(&self, user_pk: &str, credential_id: &str) -> Result<Option<String>, StoreError> {
                let row = sqlx::query("SELECT credential FROM fido_credentials WHERE user_pk = $1 AND credential_id = $2")
                    .bind(user_pk)
                    .bind(credential_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|r| r.try_get("credential").map_err(db_err)).transpose()
            }

            async fn user_fido_credentials(&self, user_pk: &str) -> Result<Vec<(String, String)>, StoreError> {
                all_by(
                    &self.pool,
                    "SELECT credential_id, credential FROM fido_credentials WHERE user_pk = $1 ORDER BY credential_id",
                    user_pk,
                    |r| Ok((r.try_get("credential_id").map_err(db_err)?, r.try_get("credential").map_err(db_err)?)),
                )
                .await
            }

            async fn list_fido_credentials(&self, user_pk: &str, page: &Page) -> Result<Vec<(String, String)>, StoreError> {
                page_by(
                    &self.pool,
                    "SELECT credential_id, credential FROM fido_credentials WHERE user_pk = $1 AND credential_id > $2 \
                     ORDER BY credential_id LIMIT $3",
                    user_pk,
                    page,
                    |r| Ok((r.try_get("credential_id").map_err(db_err)?, r.try_get("credential").map_err(db_err)?)),
                )
                .await
            }

            async fn save_fido_credential(
                &self,
                tenant_id: &str,
                user_pk: &str,
                credential_id: &str,
                credential: &str,
                at: Timestamp,
            ) -> Result<(), StoreError> {
                let done = sqlx::query(
                    "INSERT INTO fido_credentials (tenant_id, user_pk, credential_id, credential, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, credential_id) DO UPDATE \
                     SET credential = excluded.credential, updated_at = excluded.updated_at \
                     WHERE fido_credentials.user_pk = excluded.user_pk",
                )
                .bind(tenant_id)
                .bind(user_pk)
                .bind(credential_id)
                .bind(credential)
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                owned_upsert(done)
            }

            async fn delete_fido_credential(&self, user_pk: &str, credential_id: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM fido_credentials WHERE user_pk = $1 AND credential_id = $2")
                    .bind(user_pk)
                    .bind(credential_id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn uaf_registration(&self, user_pk: &str, aaid: &str, key_id: &str) -> Result<Option<String>, StoreError> {
                let row = sqlx::query(
                    "SELECT registration FROM uaf_registrations WHERE user_pk = $1 AND aaid = $2 AND key_id = $3",
                )
                .bind(user_pk)
                .bind(aaid)
                .bind(key_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                row.map(|r| r.try_get("registration").map_err(db_err)).transpose()
            }

            async fn user_uaf_registrations(&self, user_pk: &str) -> Result<Vec<String>, StoreError> {
                all_by(
                    &self.pool,
                    "SELECT registration FROM uaf_registrations WHERE user_pk = $1 ORDER BY aaid, key_id",
                    user_pk,
                    |r| r.try_get("registration").map_err(db_err),
                )
                .await
            }

            async fn list_uaf_registrations(
                &self,
                user_pk: &str,
                after: Option<(&str, &str)>,
                limit: u32,
            ) -> Result<Vec<String>, StoreError> {
                let (aaid, key_id) = after.unwrap_or(("", ""));
                sqlx::query(
                    "SELECT registration FROM uaf_registrations WHERE user_pk = $1 \
                     AND (aaid > $2 OR (aaid = $2 AND key_id > $3)) ORDER BY aaid, key_id LIMIT $4",
                )
                .bind(user_pk)
                .bind(aaid)
                .bind(key_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| r.try_get("registration").map_err(db_err))
                .collect()
            }

            async fn save_uaf_registration(
                &self,
                tenant_id: &str,
                user_pk: &str,
                aaid: &str,
                key_id: &str,
                registration: &str,
                at: Timestamp,
            ) -> Result<(), StoreError> {
                let done = sqlx::query(
                    "INSERT INTO uaf_registrations (tenant_id, user_pk, aaid, key_id, registration, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, aaid, key_id) DO UPDATE \
                     SET registration = excluded.registration, updated_at = excluded.updated_at \
                     WHERE uaf_registrations.user_pk = excluded.user_pk",
                )
                .bind(tenant_id)
                .bind(user_pk)
                .bind(aaid)
                .bind(key_id)
                .bind(registration)
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                owned_upsert(done)
            }

            async fn delete_uaf_registration(&self, user_pk: &str, aaid: &str, key_id: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM uaf_registrations WHERE user_pk = $1 AND aaid = $2 AND key_id = $3")
                    .bind(user_pk)
                    .bind(aaid)
                    .bind(key_id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn fido_authenticator_keys(&self, user_pk: &str) -> Result<Vec<countersign_core::FidoAuthenticatorKey>, StoreError> {
                use countersign_core::FidoAuthenticatorKey as K;
                all_by(
                    &self.pool,
                    "SELECT 1 AS k, credential_id AS a, '' AS b FROM fido_credentials WHERE user_pk = $1 \
                     UNION ALL SELECT 2 AS k, aaid AS a, key_id AS b FROM uaf_registrations WHERE user_pk = $1 \
                     ORDER BY k, a, b",
                    user_pk,
                    |r| {
                        let k: i32 = r.try_get("k").map_err(db_err)?;
                        let a: String = r.try_get("a").map_err(db_err)?;
                        Ok(if k == 1 { K::Fido2 { credential_id: a } } else { K::Uaf { aaid: a, key_id: r.try_get("b").map_err(db_err)? } })
                    },
                )
                .await
            }

            async fn save_fido_ceremony(&self, c: &countersign_core::FidoCeremony) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO fido_ceremonies (id, tenant_id, user_pk, state, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET state = excluded.state, \
                     expires_at = excluded.expires_at",
                )
                .bind(&c.id)
                .bind(&c.tenant_id)
                .bind(&c.user_pk)
                .bind(&c.state)
                .bind(c.created_at.millis())
                .bind(c.expires_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn fido_ceremony(&self, id: &str) -> Result<Option<countersign_core::FidoCeremony>, StoreError> {
                one_by(&self.pool, "SELECT * FROM fido_ceremonies WHERE id = $1", id, ceremony_from).await
            }

            async fn delete_fido_ceremony(&self, id: &str) -> Result<bool, StoreError> {
                affects_one(&self.pool, "DELETE FROM fido_ceremonies WHERE id = $1", id).await
            }

            async fn delete_expired_fido_ceremonies(&self, now: Timestamp) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM fido_ceremonies WHERE expires_at < $1")
                    .bind(now.millis())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected())
            }

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


            async fn password_reset_failures(&self, user_pk: &str) -> Result<bool, StoreError> {
                affects_one(&self.pool, "UPDATE static_passwords SET failures = 0, locked_until = NULL WHERE user_pk = $1", user_pk).await
            }

            async fn insert_tokens(&self, tokens: &[countersign_core::tokens::Token]) -> Result<(), StoreError> {
                // One transaction, multi-row INSERTs of TOKEN_BATCH rows: 100,000 tokens
                // are 100 statements, not 100,000 round trips. 14 parameters a row stay
                // under both backends' limits (SQLite 32,766, PostgreSQL 65,535).
                const TOKEN_BATCH: usize = 1000;
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                for chunk in tokens.chunks(TOKEN_BATCH) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO tokens (id, tenant_id, user_pk, serial, kind, algorithm, digits, period, moving, secret, \
                         state, failures, created_at, updated_at) ",
                    );
                    b.push_values(chunk, |mut row, t| {
                        row.push_bind(t.id.clone())
                            .push_bind(t.tenant_id.clone())
                            .push_bind(t.user_pk.clone())
                            .push_bind(t.serial.clone())
                            .push_bind(t.kind.as_str())
                            .push_bind(t.algorithm.as_str())
                            .push_bind(i64::from(t.digits))
                            .push_bind(i64::from(t.period))
                            .push_bind(t.moving)
                            .push_bind(t.secret.clone())
                            .push_bind(t.state.as_str())
                            .push_bind(i64::from(t.failures))
                            .push_bind(t.created_at.millis())
                            .push_bind(t.updated_at.millis());
                    });
                    b.build().execute(&mut *tx).await.map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn token(&self, id: &str) -> Result<Option<countersign_core::tokens::Token>, StoreError> {
                one_by(&self.pool, "SELECT * FROM tokens WHERE id = $1", id, token_from).await
            }

            async fn tenant_tokens(&self, tenant_id: &str, page: &Page) -> Result<Vec<countersign_core::tokens::Token>, StoreError> {
                sqlx::query("SELECT * FROM tokens WHERE tenant_id = $1 AND serial > $2 ORDER BY serial LIMIT $3")
                    .bind(tenant_id)
                    .bind(page.after.as_deref().unwrap_or(""))
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(token_from)
                    .collect()
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
