//! Throw-away databases for tests: a SQLite file in a temporary directory, or a fresh
//! schema on the PostgreSQL server named by `COUNTERSIGN_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Each test gets its own, so tests run in
//! parallel. A PostgreSQL test never skips: when the server is unreachable it fails,
//! so a green run always means both backends were exercised.

#![allow(clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use countersign_core::Store;

/// The PostgreSQL server tests use.
pub fn postgres_base_url() -> String {
    std::env::var("COUNTERSIGN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Which backend a test database is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A temporary PostgreSQL schema.
    Postgres,
}

/// A database that exists for one test and is removed when dropped.
pub struct TestDb {
    /// A URL that opens it (what `--database` would be given).
    pub url: String,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new empty database on `backend`.
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                TestDb { url, schema: None, _dir: Some(dir) }
            }
            Backend::Postgres => {
                let base = postgres_base_url();
                let schema = format!("cs_test_{}", uuid::Uuid::new_v4().simple());
                let admin = crate::PgStore::connect(&base).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL at {base} is required for the PostgreSQL tests and is not reachable: {e:?}")
                });
                admin.execute_raw(&format!("CREATE SCHEMA {schema}")).await.expect("create test schema");
                admin.close_pool().await;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                TestDb { url, schema: Some(schema), _dir: None }
            }
        }
    }

    /// Open and migrate a store on this database.
    pub async fn store(&self) -> Arc<dyn Store> {
        let store = crate::open(&self.url).await.expect("open test store");
        store.migrate().await.expect("migrate test store");
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(schema) = self.schema.take() else {
            return;
        };
        // Drop runs outside async context (or inside a runtime that may be shutting
        // down): drop the schema from a thread with its own small runtime.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                if let Ok(admin) = crate::PgStore::connect(&postgres_base_url()).await {
                    let _ = admin.execute_raw(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
                    admin.close_pool().await;
                }
            });
        })
        .join();
    }
}

/// Generate one `#[tokio::test]` per backend for each listed test body:
///
/// ```ignore
/// backend_tests! {
///     async fn tenants_round_trip(backend) { let db = TestDb::new(backend).await; … }
/// }
/// ```
/// makes `sqlite::tenants_round_trip` and `postgres::tenants_round_trip`.
#[macro_export]
macro_rules! backend_tests {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {
        $(async fn $name($backend: $crate::testing::Backend) $body)*

        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::testing::Backend::Sqlite).await }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::testing::Backend::Postgres).await }
            )*
        }
    };
}

impl TestDb {
    /// Apply the migrations up to and including `version` only (an older release's
    /// schema, for upgrade tests).
    pub async fn migrate_to(&self, version: i64) {
        let (steps, url) = (self.steps(), self.url.clone());
        let steps: Vec<crate::migrations::Step> = steps.iter().copied().filter(|s| s.0 <= version).collect();
        let migrator = crate::migrations::migrator(&steps);
        if url.starts_with("sqlite:") {
            let s = crate::SqliteStore::connect(&url).await.expect("open test store");
            migrator.run(&s.pool).await.expect("migrate to the old version");
            s.pool.close().await;
        } else {
            let s = crate::PgStore::connect(&url).await.expect("open test store");
            migrator.run(&s.pool).await.expect("migrate to the old version");
            s.close_pool().await;
        }
    }

    /// Run SQL statements (`;`-separated) on this database outside the Store interface.
    pub async fn execute(&self, sql: &str) {
        if self.url.starts_with("sqlite:") {
            let s = crate::SqliteStore::connect(&self.url).await.expect("open test store");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&s.pool).await.expect("run SQL");
            s.pool.close().await;
        } else {
            let s = crate::PgStore::connect(&self.url).await.expect("open test store");
            s.execute_raw(sql).await.expect("run SQL");
            s.close_pool().await;
        }
    }

    /// SQLite's `EXPLAIN QUERY PLAN` for `sql`, its `detail` lines joined (SQLite only).
    pub async fn query_plan(&self, sql: &str) -> String {
        use sqlx::Row;
        assert!(self.url.starts_with("sqlite:"), "query plans are read on SQLite");
        let s = crate::SqliteStore::connect(&self.url).await.expect("open test store");
        let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
            .fetch_all(&s.pool)
            .await
            .expect("explain");
        let plan = rows.iter().filter_map(|r| r.try_get::<String, _>("detail").ok()).collect::<Vec<_>>().join("; ");
        s.pool.close().await;
        plan
    }

    fn steps(&self) -> &'static [crate::migrations::Step] {
        if self.url.starts_with("sqlite:") { crate::migrations::SQLITE } else { crate::migrations::POSTGRES }
    }
}

impl TestDb {
    /// Every text value of every table, as (`table.column`, value): what someone who can
    /// read the database sees of it (tests grep it for secrets and for values sealed
    /// under a retired key).
    pub async fn text_values(&self) -> Vec<(String, String)> {
        use sqlx::Row;
        let mut out = Vec::new();
        if self.url.starts_with("sqlite:") {
            let s = crate::SqliteStore::connect(&self.url).await.expect("open test store");
            let tables: Vec<String> =
                sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                    .fetch_all(&s.pool)
                    .await
                    .expect("list tables")
                    .iter()
                    .map(|r| r.get::<String, _>("name"))
                    .collect();
            for table in tables {
                let cols = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info(\"{table}\")")))
                    .fetch_all(&s.pool)
                    .await
                    .expect("list columns");
                for c in cols {
                    let (name, ty): (String, String) = (c.get("name"), c.get("type"));
                    if !ty.eq_ignore_ascii_case("TEXT") {
                        continue;
                    }
                    let sql = format!("SELECT \"{name}\" AS v FROM \"{table}\" WHERE \"{name}\" IS NOT NULL");
                    for r in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&s.pool).await.expect("read column") {
                        out.push((format!("{table}.{name}"), r.get::<String, _>("v")));
                    }
                }
            }
            s.pool.close().await;
        } else {
            let s = crate::PgStore::connect(&self.url).await.expect("open test store");
            let cols = sqlx::query(
                "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
                 WHERE table_schema = current_schema() \
                 AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'character')",
            )
            .fetch_all(&s.pool)
            .await
            .expect("list columns");
            for c in cols {
                let (table, name): (String, String) = (c.get("t"), c.get("c"));
                let sql = format!("SELECT \"{name}\"::text AS v FROM \"{table}\" WHERE \"{name}\" IS NOT NULL");
                for r in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&s.pool).await.expect("read column") {
                    out.push((format!("{table}.{name}"), r.get::<String, _>("v")));
                }
            }
            s.close_pool().await;
        }
        out
    }

    /// The SQLite database's files as they are on disk (the database, its -wal file when
    /// there is one); empty for PostgreSQL.
    pub fn file_bytes(&self) -> Vec<u8> {
        let Some(path) = self.url.strip_prefix("sqlite://") else { return Vec::new() };
        let mut bytes = std::fs::read(path).unwrap_or_default();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        bytes
    }
}
