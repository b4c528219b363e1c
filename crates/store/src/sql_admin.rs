//! The SQL of the console's administrator accounts, their passkeys, console sessions and
//! ceremonies, shared by both backends: `sql_admin!(Store, Db)` implements
//! [`countersign_core::AdminAccountStore`], beside `sql_common!`, whose imports and
//! helpers it uses.

/// Implement the AdminAccountStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_admin {
    ($store:ty, $db:ty) => {
        fn admin_account_from(r: &DbRow) -> Result<countersign_core::web::console::AdminAccount, StoreError> {
            let role: String = r.try_get("role").map_err(db_err)?;
            let status: String = r.try_get("status").map_err(db_err)?;
            let locked: Option<i64> = r.try_get("locked_until").map_err(db_err)?;
            Ok(countersign_core::web::console::AdminAccount {
                id: r.try_get("id").map_err(db_err)?,
                username: r.try_get("username").map_err(db_err)?,
                password_hash: r.try_get("password_hash").map_err(db_err)?,
                role: countersign_core::web::console::AdminRole::from_stored(&role)
                    .ok_or_else(|| corrupt("admin_accounts.role"))?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                active: status == "active",
                failures: int(r, "failures")?,
                locked_until: locked.map(Timestamp),
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
            })
        }

        fn admin_credential_from(r: &DbRow) -> Result<countersign_core::web::console::AdminCredential, StoreError> {
            let used: Option<i64> = r.try_get("last_used_at").map_err(db_err)?;
            Ok(countersign_core::web::console::AdminCredential {
                account_id: r.try_get("account_id").map_err(db_err)?,
                credential_id: r.try_get("credential_id").map_err(db_err)?,
                name: r.try_get("name").map_err(db_err)?,
                credential: r.try_get("credential").map_err(db_err)?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                last_used_at: used.map(Timestamp),
            })
        }

        fn console_session_from(r: &DbRow) -> Result<countersign_core::web::console::ConsoleSession, StoreError> {
            let step: String = r.try_get("step").map_err(db_err)?;
            Ok(countersign_core::web::console::ConsoleSession {
                id_hash: r.try_get("id_hash").map_err(db_err)?,
                account_id: r.try_get("account_id").map_err(db_err)?,
                step: countersign_core::web::console::ConsoleStep::from_stored(&step)
                    .ok_or_else(|| corrupt("web_sessions.step"))?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
                last_seen_at: Timestamp(r.try_get("last_seen_at").map_err(db_err)?),
                expires_at: Timestamp(r.try_get("expires_at").map_err(db_err)?),
            })
        }

        #[async_trait]
        impl countersign_core::AdminAccountStore for $store {
            async fn insert_admin_account(
                &self,
                a: &countersign_core::web::console::AdminAccount,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO admin_accounts (id, username, password_hash, role, tenant_id, status, failures, \
                     locked_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&a.id)
                .bind(&a.username)
                .bind(&a.password_hash)
                .bind(a.role.as_str())
                .bind(&a.tenant_id)
                .bind(if a.active { "active" } else { "disabled" })
                .bind(i64::from(a.failures))
                .bind(a.locked_until.map(|t| t.millis()))
                .bind(a.created_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn admin_account_by_username(
                &self,
                username: &str,
            ) -> Result<Option<countersign_core::web::console::AdminAccount>, StoreError> {
                one_by(&self.pool, "SELECT * FROM admin_accounts WHERE username = $1", username, admin_account_from).await
            }

            async fn admin_account(
                &self,
                id: &str,
            ) -> Result<Option<countersign_core::web::console::AdminAccount>, StoreError> {
                one_by(&self.pool, "SELECT * FROM admin_accounts WHERE id = $1", id, admin_account_from).await
            }

            async fn list_admin_accounts(
                &self,
                page: &Page,
            ) -> Result<Vec<countersign_core::web::console::AdminAccount>, StoreError> {
                sqlx::query("SELECT * FROM admin_accounts WHERE username > $1 ORDER BY username LIMIT $2")
                    .bind(page.after.as_deref().unwrap_or(""))
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(admin_account_from)
                    .collect()
            }

            async fn delete_admin_account(&self, username: &str) -> Result<bool, StoreError> {
                affects_one(&self.pool, "DELETE FROM admin_accounts WHERE username = $1", username).await
            }

            async fn insert_admin_credential(
                &self,
                c: &countersign_core::web::console::AdminCredential,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO admin_credentials (account_id, credential_id, name, credential, created_at, \
                     last_used_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&c.account_id)
                .bind(&c.credential_id)
                .bind(&c.name)
                .bind(&c.credential)
                .bind(c.created_at.millis())
                .bind(c.last_used_at.map(|t| t.millis()))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn admin_credentials(
                &self,
                account_id: &str,
            ) -> Result<Vec<countersign_core::web::console::AdminCredential>, StoreError> {
                all_by(
                    &self.pool,
                    "SELECT * FROM admin_credentials WHERE account_id = $1 ORDER BY created_at, credential_id",
                    account_id,
                    admin_credential_from,
                )
                .await
            }

            async fn update_admin_credential(
                &self,
                c: &countersign_core::web::console::AdminCredential,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE admin_credentials SET credential = $1, last_used_at = $2 \
                     WHERE account_id = $3 AND credential_id = $4",
                )
                .bind(&c.credential)
                .bind(c.last_used_at.map(|t| t.millis()))
                .bind(&c.account_id)
                .bind(&c.credential_id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn insert_console_session(
                &self,
                s: &countersign_core::web::console::ConsoleSession,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO web_sessions (id_hash, kind, account_id, step, created_at, last_seen_at, expires_at) \
                     VALUES ($1, 'console', $2, $3, $4, $5, $6)",
                )
                .bind(&s.id_hash)
                .bind(&s.account_id)
                .bind(s.step.as_str())
                .bind(s.created_at.millis())
                .bind(s.last_seen_at.millis())
                .bind(s.expires_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn console_session(
                &self,
                id_hash: &str,
            ) -> Result<Option<countersign_core::web::console::ConsoleSession>, StoreError> {
                one_by(
                    &self.pool,
                    "SELECT * FROM web_sessions WHERE id_hash = $1 AND kind = 'console'",
                    id_hash,
                    console_session_from,
                )
                .await
            }

            async fn complete_console_session(
                &self,
                id_hash: &str,
                now: Timestamp,
                expires_at: Timestamp,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE web_sessions SET step = 'signed_in', last_seen_at = $1, expires_at = $2 \
                     WHERE id_hash = $3 AND kind = 'console' AND step = 'password_ok' AND expires_at > $1",
                )
                .bind(now.millis())
                .bind(expires_at.millis())
                .bind(id_hash)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn save_console_ceremony(
                &self,
                id_hash: &str,
                state: &str,
                expires_at: Timestamp,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO console_ceremonies (session_hash, state, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (session_hash) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at",
                )
                .bind(id_hash)
                .bind(state)
                .bind(expires_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn take_console_ceremony(&self, id_hash: &str, now: Timestamp) -> Result<Option<String>, StoreError> {
                let row = sqlx::query("DELETE FROM console_ceremonies WHERE session_hash = $1 RETURNING state, expires_at")
                    .bind(id_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                let Some(r) = row else { return Ok(None) };
                let expires: i64 = r.try_get("expires_at").map_err(db_err)?;
                if expires <= now.millis() {
                    return Ok(None);
                }
                Ok(Some(r.try_get("state").map_err(db_err)?))
            }
        }
    };
}

pub(crate) use sql_admin;
