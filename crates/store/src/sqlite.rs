//! The embedded backend: one SQLite file in WAL mode.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::migrations;

/// A [`countersign_core::Store`] on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    /// Open (creating when missing) the database at `url` (`sqlite://PATH`).
    pub async fn connect(url: &str) -> Result<SqliteStore, countersign_core::StoreError> {
        let options = SqliteConnectOptions::from_str(url).map_err(crate::db_err)?;
        Self::connect_with(options).await
    }

    /// Open with explicit options; WAL, foreign keys and a busy timeout are always set.
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<SqliteStore, countersign_core::StoreError> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(crate::db_err)?;
        Ok(SqliteStore { pool })
    }

    async fn migrate_pool(&self) -> Result<(), countersign_core::StoreError> {
        migrations::migrator(migrations::SQLITE)
            .run(&self.pool)
            .await
            .map_err(|e| countersign_core::StoreError::Backend(Box::new(e)))
    }
}

crate::sql::sql_common!(SqliteStore, sqlx::Sqlite);
crate::sql_account::sql_account!(SqliteStore, sqlx::Sqlite);
crate::sql_audit::sql_audit!(SqliteStore, sqlx::Sqlite);
crate::sql_config::sql_config!(SqliteStore, sqlx::Sqlite);
crate::sql_credential::sql_credential!(SqliteStore, sqlx::Sqlite);
crate::sql_device::sql_device!(SqliteStore, sqlx::Sqlite);
crate::sql_risk::sql_risk!(SqliteStore, sqlx::Sqlite);
crate::sql_session::sql_session!(SqliteStore, sqlx::Sqlite);
crate::sql_outbox::sql_outbox!(SqliteStore, sqlx::Sqlite, "");
