//! The shared backend: PostgreSQL, for several countersign nodes on one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::migrations;

/// A [`countersign_core::Store`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    /// Connect to the database at `url` (`postgres://…`).
    pub async fn connect(url: &str) -> Result<PgStore, countersign_core::StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(crate::db_err)?;
        Self::connect_with(options).await
    }

    /// Connect with explicit options (tests use them to pick a schema).
    pub async fn connect_with(options: PgConnectOptions) -> Result<PgStore, countersign_core::StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(crate::db_err)?;
        Ok(PgStore { pool })
    }

    async fn migrate_pool(&self) -> Result<(), countersign_core::StoreError> {
        migrations::migrator(migrations::POSTGRES)
            .run(&self.pool)
            .await
            .map_err(|e| countersign_core::StoreError::Backend(Box::new(e)))
    }
}

crate::sql::sql_common!(PgStore, sqlx::Postgres);
crate::sql_account::sql_account!(PgStore, sqlx::Postgres);
crate::sql_audit::sql_audit!(PgStore, sqlx::Postgres);
crate::sql_attempt::sql_attempt!(PgStore, sqlx::Postgres);
crate::sql_config::sql_config!(PgStore, sqlx::Postgres);
crate::sql_credential::sql_credential!(PgStore, sqlx::Postgres);
crate::sql_device::sql_device!(PgStore, sqlx::Postgres);
crate::sql_risk::sql_risk!(PgStore, sqlx::Postgres);
crate::sql_session::sql_session!(PgStore, sqlx::Postgres, "SELECT pg_notify('countersign_session_ended', $1)");
crate::sql_keys::sql_keys!(PgStore, sqlx::Postgres);
crate::sql_radius::sql_radius!(PgStore, sqlx::Postgres);
crate::sql_duo::sql_duo!(PgStore, sqlx::Postgres);
crate::sql_limit::sql_limit!(PgStore, sqlx::Postgres);
crate::sql_outbox::sql_outbox!(PgStore, sqlx::Postgres, "FOR UPDATE SKIP LOCKED");

/// The channel ended sessions are announced on (`finish_session`).
const SESSION_ENDED: &str = "countersign_session_ended";

#[async_trait::async_trait]
impl countersign_core::SessionEvents for PgStore {
    /// One `LISTEN` connection for the node; its notifications are the IDs of sessions
    /// ended on any node. sqlx's listener reconnects by itself after a lost connection
    /// (notifications sent meanwhile are lost: the node's safety re-check,
    /// `Core::recheck_waiters`, finds those sessions within seconds).
    async fn session_endings(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<String>>, countersign_core::StoreError> {
        let backend = |e: sqlx::Error| countersign_core::StoreError::Backend(Box::new(e));
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await.map_err(backend)?;
        listener.listen(SESSION_ENDED).await.map_err(backend)?;
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        // The listener holds one of the pool's connections: it ends (giving it back, so
        // the pool can close) as soon as the receiver is dropped.
        tokio::spawn(async move {
            loop {
                let got = tokio::select! {
                    got = listener.recv() => got,
                    _ = tx.closed() => return,
                };
                match got {
                    Ok(n) => {
                        if tx.send(n.payload().to_owned()).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "session notifications: the listening connection failed; reconnecting");
                        tokio::select! {
                            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                            _ = tx.closed() => return,
                        }
                    }
                }
            }
        });
        Ok(Some(rx))
    }
}

#[cfg(feature = "testing")]
impl PgStore {
    /// Run one statement outside the Store interface (test schemas).
    pub(crate) async fn execute_raw(&self, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&self.pool).await.map(|_| ())
    }

    /// Close the pool.
    pub(crate) async fn close_pool(&self) {
        self.pool.close().await;
    }
}
