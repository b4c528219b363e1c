//! The SQL of sealed values across tables, shared by both backends: `sql_keys!(Store, Db)`
//! implements [`countersign_core::SealedStore`] (master-key rotation), beside
//! `sql_common!`, whose imports and helpers it uses.

/// The SELECT of rows that may hold values sealed under an old key (`$1` after, `$2`
/// the current key's prefix pattern, `$3` limit), and the conditional UPDATE (`$1` new,
/// `$2` key, `$3` old), of one plain column.
macro_rules! sealed_plain {
    ($table:literal, $key:literal, $col:literal) => {
        (
            concat!(
                "SELECT ",
                $key,
                " AS k, ",
                $col,
                " AS v FROM ",
                $table,
                " WHERE ",
                $key,
                " > $1 AND (",
                $col,
                " LIKE 'v1.%' OR ",
                $col,
                " LIKE 'v2.%') AND ",
                $col,
                " NOT LIKE $2 ORDER BY ",
                $key,
                " LIMIT $3"
            ),
            concat!("UPDATE ", $table, " SET ", $col, " = $1 WHERE ", $key, " = $2 AND ", $col, " = $3"),
            true,
        )
    };
}

/// The same for a JSON column whose strings may be sealed values (`$1` after, `$2` limit).
macro_rules! sealed_json {
    ($table:literal, $key:literal, $col:literal) => {
        (
            concat!(
                "SELECT ",
                $key,
                " AS k, ",
                $col,
                " AS v FROM ",
                $table,
                " WHERE ",
                $key,
                " > $1 AND (",
                $col,
                " LIKE '%\"v1.%' OR ",
                $col,
                " LIKE '%\"v2.%') ORDER BY ",
                $key,
                " LIMIT $2"
            ),
            concat!("UPDATE ", $table, " SET ", $col, " = $1 WHERE ", $key, " = $2 AND ", $col, " = $3"),
            false,
        )
    };
}

/// Implement the SealedStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_keys {
    ($store:ty, $db:ty) => {
        use countersign_core::{SealedColumn, SealedRow, SealedStore};

        /// (select, update, whether the select takes the current prefix) of a column.
        fn sealed_sql(column: SealedColumn) -> (&'static str, &'static str, bool) {
            match column {
                SealedColumn::PushApps => $crate::sql_keys::sealed_plain!("push_apps", "app_id", "sealed"),
                SealedColumn::TenantProviders => {
                    $crate::sql_keys::sealed_plain!("tenant_providers", "tenant_id", "sealed")
                }
                SealedColumn::TenantCallbacks => {
                    $crate::sql_keys::sealed_json!("tenant_callbacks", "tenant_id", "config")
                }
                SealedColumn::Outbox => $crate::sql_keys::sealed_plain!("outbox", "id", "payload"),
                SealedColumn::SessionCodes => {
                    $crate::sql_keys::sealed_plain!("session_codes", "session_id", "custom_code")
                }
                SealedColumn::Tokens => $crate::sql_keys::sealed_plain!("tokens", "id", "secret"),
                SealedColumn::Activations => $crate::sql_keys::sealed_plain!("activations", "id", "qr_sealed"),
                SealedColumn::RadiusClients => $crate::sql_keys::sealed_plain!("radius_clients", "id", "secret"),
                SealedColumn::DuoIntegrations => $crate::sql_keys::sealed_plain!("duo_integrations", "ikey", "skey"),
            }
        }

        #[async_trait]
        impl SealedStore for $store {
            async fn sealed_rows(
                &self,
                column: SealedColumn,
                current: &str,
                after: &str,
                limit: u32,
            ) -> Result<Vec<SealedRow>, StoreError> {
                let (select, _, takes_current) = sealed_sql(column);
                let mut q = sqlx::query(select).bind(after);
                if takes_current {
                    q = q.bind(format!("{current}%"));
                }
                let rows = q.bind(i64::from(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter()
                    .map(|r| Ok(SealedRow { key: r.try_get("k").map_err(db_err)?, value: r.try_get("v").map_err(db_err)? }))
                    .collect()
            }

            async fn replace_sealed(&self, column: SealedColumn, key: &str, old: &str, new: &str) -> Result<bool, StoreError> {
                let (_, update, _) = sealed_sql(column);
                let done = sqlx::query(update).bind(new).bind(key).bind(old).execute(&self.pool).await.map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn live_code_hashes(&self, now: Timestamp, current: &str) -> Result<Vec<(String, Timestamp)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT c.code_hash AS h, s.expires_at AS e FROM session_codes c JOIN sessions s ON s.id = c.session_id \
                     WHERE s.state = 'Pending' AND s.expires_at > $1 AND c.code_hash NOT LIKE $2 \
                     UNION ALL \
                     SELECT code_hash AS h, expires_at AS e FROM activations \
                     WHERE state = 'Pending' AND expires_at > $1 AND code_hash NOT LIKE $2",
                )
                .bind(now.millis())
                .bind(format!("{current}%"))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|r| Ok((r.try_get("h").map_err(db_err)?, Timestamp(r.try_get("e").map_err(db_err)?))))
                    .collect()
            }
        }
    };
}

pub(crate) use {sealed_json, sealed_plain, sql_keys};
