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
crate::sql_web::sql_web!(PgStore, sqlx::Postgres);
crate::sql_admin::sql_admin!(PgStore, sqlx::Postgres);
crate::sql_limit::sql_limit!(PgStore, sqlx::Postgres);
crate::sql_outbox::sql_outbox!(PgStore, sqlx::Postgres, "FOR UPDATE SKIP LOCKED");

/// The channel ended sessions are announced on (`finish_session`).
const SESSION_ENDED: &str = "countersign_session_ended";
/// The channel changes of cached configuration are announced on (the tenant's ID).
const CONFIG_CHANGED: &str = "countersign_config_changed";

#[async_trait::async_trait]
impl countersign_core::SessionEvents for PgStore {
    /// One `LISTEN` connection for the node, on both channels. sqlx's listener reconnects
    /// by itself after a lost connection; notifications sent meanwhile are lost, so a
    /// lost connection is passed on as `Reconnected` (caches are dropped), and the
    /// node's safety re-check, `Core::recheck_waiters`, finds the sessions that ended.
    async fn node_events(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<countersign_core::store::NodeEvent>>, countersign_core::StoreError>
    {
        use countersign_core::store::NodeEvent;
        let backend = |e: sqlx::Error| countersign_core::StoreError::Backend(Box::new(e));
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await.map_err(backend)?;
        listener.listen_all([SESSION_ENDED, CONFIG_CHANGED]).await.map_err(backend)?;
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        // The listener holds one of the pool's connections: it ends (giving it back, so
        // the pool can close) as soon as the receiver is dropped.
        tokio::spawn(async move {
            loop {
                let got = tokio::select! {
                    got = listener.recv() => got,
                    _ = tx.closed() => return,
                };
                let event = match got {
                    Ok(n) if n.channel() == CONFIG_CHANGED => NodeEvent::ConfigChanged(n.payload().to_owned()),
                    Ok(n) => NodeEvent::SessionEnded(n.payload().to_owned()),
                    Err(e) => {
                        tracing::warn!(error = %e, "node notifications: the listening connection failed; reconnecting");
                        tokio::select! {
                            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                            _ = tx.closed() => return,
                        }
                        NodeEvent::Reconnected
                    }
                };
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        });
        Ok(Some(rx))
    }

    async fn announce_config_change(&self, tenant_id: &str) -> Result<(), countersign_core::StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CONFIG_CHANGED)
            .bind(tenant_id)
            .execute(&self.pool)
            .await
            .map_err(|e| countersign_core::StoreError::Backend(Box::new(e)))?;
        Ok(())
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
