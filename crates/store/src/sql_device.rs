//! The SQL of activations, devices and device request nonces, shared by both backends: `sql_device!(Store, Db)` implements
//! [`countersign_core::DeviceStore`], beside `sql_common!`, whose imports and helpers it uses.

/// Implement the DeviceStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_device {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl DeviceStore for $store {
            async fn insert_activation(&self, a: &Activation) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO activations (id, tenant_id, user_pk, code_hash, state, attempts, nonce, qr_sealed, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&a.id)
                .bind(&a.tenant_id)
                .bind(&a.user_pk)
                .bind(&a.code_hash)
                .bind(a.state.as_str())
                .bind(i64::from(a.attempts))
                .bind(&a.nonce)
                .bind(&a.qr_sealed)
                .bind(a.created_at.millis())
                .bind(a.expires_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn activation(&self, id: &str) -> Result<Option<Activation>, StoreError> {
                one_by(&self.pool, "SELECT * FROM activations WHERE id = $1", id, activation_from).await
            }

            async fn activation_wrong_code(&self, id: &str, max: u32) -> Result<Option<(u32, ActivationState)>, StoreError> {
                let row = sqlx::query(
                    "UPDATE activations SET attempts = attempts + 1, \
                     state = CASE WHEN attempts + 1 >= $2 THEN 'Burned' ELSE state END, \
                     qr_sealed = CASE WHEN attempts + 1 >= $2 THEN NULL ELSE qr_sealed END \
                     WHERE id = $1 AND state = 'Pending' RETURNING attempts, state",
                )
                .bind(id)
                .bind(i64::from(max))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                counted(row, "attempts", ActivationState::from_stored)
            }

            async fn activation_transition(
                &self,
                id: &str,
                from: ActivationState,
                to: ActivationState,
                nonce: Option<&str>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE activations SET state = $1, nonce = COALESCE($2, nonce), qr_sealed = NULL \
                     WHERE id = $3 AND state = $4",
                )
                .bind(to.as_str())
                .bind(nonce)
                .bind(id)
                .bind(from.as_str())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_device(&self, d: &Device) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO devices (id, tenant_id, user_pk, app_id, app_version, name, possession_key, pin_key, \
                     biometric_key, custom_keys, state, pin_failures, push_platform, push_token, created_at, updated_at, \
                     activation_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                )
                .bind(&d.id)
                .bind(&d.tenant_id)
                .bind(&d.user_pk)
                .bind(&d.app_id)
                .bind(&d.app_version)
                .bind(&d.name)
                .bind(&d.possession_key)
                .bind(&d.pin_key)
                .bind(&d.biometric_key)
                .bind(json_text(&d.custom_keys)?)
                .bind(d.state.as_str())
                .bind(i64::from(d.pin_failures))
                .bind(&d.push_platform)
                .bind(&d.push_token)
                .bind(d.created_at.millis())
                .bind(d.updated_at.millis())
                .bind(&d.activation_id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn device(&self, id: &str) -> Result<Option<Device>, StoreError> {
                one_by(&self.pool, "SELECT * FROM devices WHERE id = $1", id, device_from).await
            }

            async fn user_devices(&self, user_pk: &str) -> Result<Vec<Device>, StoreError> {
                sqlx::query("SELECT * FROM devices WHERE user_pk = $1 ORDER BY created_at, id")
                    .bind(user_pk)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(device_from)
                    .collect()
            }

            async fn list_user_devices(&self, user_pk: &str, page: &Page) -> Result<Vec<Device>, StoreError> {
                page_by(
                    &self.pool,
                    "SELECT * FROM devices WHERE user_pk = $1 AND id > $2 ORDER BY id LIMIT $3",
                    user_pk,
                    page,
                    device_from,
                )
                .await
            }

            async fn device_transition(&self, id: &str, from: DeviceState, to: DeviceState, at: Timestamp) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE devices SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4")
                    .bind(to.as_str())
                    .bind(at.millis())
                    .bind(id)
                    .bind(from.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn activate_single_device(&self, id: &str, at: Timestamp) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE devices SET state = 'Active', single_mode = 1, updated_at = $1 WHERE id = $2 AND state = 'Pending'",
                )
                .bind(at.millis())
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn disconnect_other_devices(&self, user_pk: &str, app_id: &str, except_id: &str, at: Timestamp) -> Result<u64, StoreError> {
                let done = sqlx::query(
                    "UPDATE devices SET state = 'Disconnected', updated_at = $1 \
                     WHERE user_pk = $2 AND app_id = $3 AND id <> $4 AND state <> 'Disconnected'",
                )
                .bind(at.millis())
                .bind(user_pk)
                .bind(app_id)
                .bind(except_id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected())
            }

            async fn set_device_push(
                &self,
                id: &str,
                platform: &str,
                token: Option<&str>,
                app_version: Option<&str>,
                at: Timestamp,
            ) -> Result<(), StoreError> {
                let done = sqlx::query(
                    "UPDATE devices SET push_platform = $1, push_token = $2, app_version = COALESCE($3, app_version), \
                     updated_at = $4 WHERE id = $5",
                )
                .bind(platform)
                .bind(token)
                .bind(app_version)
                .bind(at.millis())
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
            }



            async fn delete_device(&self, user_pk: &str, id: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM devices WHERE user_pk = $1 AND id = $2")
                    .bind(user_pk)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn rename_device(&self, user_pk: &str, id: &str, name: &str, at: Timestamp) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE devices SET name = $1, updated_at = $2 WHERE user_pk = $3 AND id = $4")
                    .bind(name)
                    .bind(at.millis())
                    .bind(user_pk)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn use_device_nonce(&self, device_id: &str, nonce: &str, at: Timestamp) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "INSERT INTO device_nonces (device_id, nonce, used_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (device_id, nonce) DO NOTHING",
                )
                .bind(device_id)
                .bind(nonce)
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_device_nonces_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
                // `purge` binds `before` as $1 and `limit` as $2.
                purge(
                    &self.pool,
                    "DELETE FROM device_nonces WHERE (device_id, nonce) IN (SELECT device_id, nonce \
                     FROM device_nonces WHERE used_at < $1 ORDER BY used_at LIMIT $2)",
                    before,
                    limit,
                )
                .await
            }

            async fn clear_device_push(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
                sqlx::query("UPDATE devices SET push_platform = NULL, push_token = NULL, updated_at = $1 WHERE id = $2")
                    .bind(at.millis())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn delete_activations_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
                purge(
                    &self.pool,
                    "DELETE FROM activations WHERE id IN (SELECT id FROM activations WHERE expires_at < $1 \
                     ORDER BY expires_at LIMIT $2)",
                    before,
                    limit,
                )
                .await
            }
        }
    };
}

pub(crate) use sql_device;
