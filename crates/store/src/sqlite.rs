//! The embedded backend: one SQLite file in WAL mode.

use std::path::Path;
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
    /// Open (creating when missing, mode 0600) the database at `url` (`sqlite://PATH`).
    pub async fn connect(url: &str) -> Result<SqliteStore, countersign_core::StoreError> {
        let options = SqliteConnectOptions::from_str(url).map_err(crate::db_err)?;
        Self::connect_with(options).await
    }

    /// Open with explicit options; WAL, foreign keys, a busy timeout and secure delete
    /// are always set, and a missing database file is created readable and writable by
    /// its owner only (docs/security.md, "Files and permissions").
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<SqliteStore, countersign_core::StoreError> {
        create_private(options.get_filename());
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Deleted and overwritten content (codes, old sealed values) is zeroed in the
            // file, not left in free space.
            .pragma("secure_delete", "ON")
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
            .map_err(|e| countersign_core::StoreError::Backend(Box::new(e)))?;
        // Migrations may have rewritten rows that held secrets in clear (0017): move the
        // log into the file and empty it, so that no old page stays in the -wal file.
        // Best effort: a busy database keeps its log until the next checkpoint.
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await;
        Ok(())
    }
}

/// Create the database file `path` with mode 0600 when it is missing, before SQLite
/// opens it: SQLite would create it 0644 (less the umask), and it creates the -wal and
/// -shm files with the database file's mode. In-memory databases and `file:` URIs are
/// left alone; a file that cannot be made here is left to SQLite to report.
fn create_private(path: &Path) {
    let name = path.to_string_lossy();
    if name.is_empty() || name == ":memory:" || name.starts_with("file:") {
        return;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    if let Ok(file) = opts.open(path) {
        // Whatever the umask did.
        #[cfg(unix)]
        let _ = file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
        drop(file);
    }
}

crate::sql::sql_common!(SqliteStore, sqlx::Sqlite);
crate::sql_account::sql_account!(SqliteStore, sqlx::Sqlite);
crate::sql_audit::sql_audit!(SqliteStore, sqlx::Sqlite);
crate::sql_attempt::sql_attempt!(SqliteStore, sqlx::Sqlite);
crate::sql_config::sql_config!(SqliteStore, sqlx::Sqlite);
crate::sql_credential::sql_credential!(SqliteStore, sqlx::Sqlite);
crate::sql_device::sql_device!(SqliteStore, sqlx::Sqlite);
crate::sql_risk::sql_risk!(SqliteStore, sqlx::Sqlite);
crate::sql_session::sql_session!(SqliteStore, sqlx::Sqlite, "");
crate::sql_keys::sql_keys!(SqliteStore, sqlx::Sqlite);
crate::sql_radius::sql_radius!(SqliteStore, sqlx::Sqlite);
crate::sql_duo::sql_duo!(SqliteStore, sqlx::Sqlite);
crate::sql_web::sql_web!(SqliteStore, sqlx::Sqlite);
crate::sql_admin::sql_admin!(SqliteStore, sqlx::Sqlite);
crate::sql_limit::sql_limit!(SqliteStore, sqlx::Sqlite);
crate::sql_outbox::sql_outbox!(SqliteStore, sqlx::Sqlite, "");

#[async_trait::async_trait]
impl countersign_core::SessionEvents for SqliteStore {
    /// One node per SQLite database: its own waiters are woken in process.
    async fn node_events(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<countersign_core::store::NodeEvent>>, countersign_core::StoreError>
    {
        Ok(None)
    }

    async fn announce_config_change(&self, _tenant_id: &str) -> Result<(), countersign_core::StoreError> {
        Ok(())
    }
}
