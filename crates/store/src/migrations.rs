//! Embedded migrations, one list per backend, same version numbers in both.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// (version, description, SQL) of one migration.
pub(crate) type Step = (i64, &'static str, &'static str);

pub(crate) const SQLITE: &[Step] = &[
    (1, "foundation", include_str!("../migrations/sqlite/0001_foundation.sql")),
    (2, "mobile", include_str!("../migrations/sqlite/0002_mobile.sql")),
    (3, "outbox", include_str!("../migrations/sqlite/0003_outbox.sql")),
    (4, "callbacks", include_str!("../migrations/sqlite/0004_callbacks.sql")),
    (5, "providers", include_str!("../migrations/sqlite/0005_providers.sql")),
    (6, "codes", include_str!("../migrations/sqlite/0006_codes.sql")),
    (7, "tokens", include_str!("../migrations/sqlite/0007_tokens.sql")),
    (8, "qr_logins", include_str!("../migrations/sqlite/0008_qr_logins.sql")),
    (9, "risk", include_str!("../migrations/sqlite/0009_risk.sql")),
    (10, "login_requests", include_str!("../migrations/sqlite/0010_login_requests.sql")),
    (11, "code_messages", include_str!("../migrations/sqlite/0011_code_messages.sql")),
    (12, "sessions_pending", include_str!("../migrations/sqlite/0012_sessions_pending.sql")),
    (13, "typed_tables", include_str!("../migrations/sqlite/0013_typed_tables.sql")),
    (15, "methods", include_str!("../migrations/sqlite/0015_methods.sql")),
    (17, "sealed_activations", include_str!("../migrations/sqlite/0017_sealed_activations.sql")),
    (18, "audit_retention", include_str!("../migrations/sqlite/0018_audit_retention.sql")),
    (19, "rate_limits", include_str!("../migrations/sqlite/0019_rate_limits.sql")),
    (20, "radius_clients", include_str!("../migrations/sqlite/0020_radius_clients.sql")),
    (21, "duo_integrations", include_str!("../migrations/sqlite/0021_duo_integrations.sql")),
    (22, "nonce_index", include_str!("../migrations/sqlite/0022_nonce_index.sql")),
    (23, "list_paging", include_str!("../migrations/sqlite/0023_list_paging.sql")),
    (24, "nonce_purge", include_str!("../migrations/sqlite/0024_nonce_purge.sql")),
    (25, "self_service", include_str!("../migrations/sqlite/0025_self_service.sql")),
    (26, "admin_console", include_str!("../migrations/sqlite/0026_admin_console.sql")),
];

pub(crate) const POSTGRES: &[Step] = &[
    (1, "foundation", include_str!("../migrations/postgres/0001_foundation.sql")),
    (2, "mobile", include_str!("../migrations/postgres/0002_mobile.sql")),
    (3, "outbox", include_str!("../migrations/postgres/0003_outbox.sql")),
    (4, "callbacks", include_str!("../migrations/postgres/0004_callbacks.sql")),
    (5, "providers", include_str!("../migrations/postgres/0005_providers.sql")),
    (6, "codes", include_str!("../migrations/postgres/0006_codes.sql")),
    (7, "tokens", include_str!("../migrations/postgres/0007_tokens.sql")),
    (8, "qr_logins", include_str!("../migrations/postgres/0008_qr_logins.sql")),
    (9, "risk", include_str!("../migrations/postgres/0009_risk.sql")),
    (10, "login_requests", include_str!("../migrations/postgres/0010_login_requests.sql")),
    (11, "code_messages", include_str!("../migrations/postgres/0011_code_messages.sql")),
    (12, "sessions_pending", include_str!("../migrations/postgres/0012_sessions_pending.sql")),
    (13, "typed_tables", include_str!("../migrations/postgres/0013_typed_tables.sql")),
    (15, "methods", include_str!("../migrations/postgres/0015_methods.sql")),
    (17, "sealed_activations", include_str!("../migrations/postgres/0017_sealed_activations.sql")),
    (18, "audit_retention", include_str!("../migrations/postgres/0018_audit_retention.sql")),
    (19, "rate_limits", include_str!("../migrations/postgres/0019_rate_limits.sql")),
    (20, "radius_clients", include_str!("../migrations/postgres/0020_radius_clients.sql")),
    (21, "duo_integrations", include_str!("../migrations/postgres/0021_duo_integrations.sql")),
    (22, "nonce_index", include_str!("../migrations/postgres/0022_nonce_index.sql")),
    (23, "list_paging", include_str!("../migrations/postgres/0023_list_paging.sql")),
    (24, "nonce_purge", include_str!("../migrations/postgres/0024_nonce_purge.sql")),
    (25, "self_service", include_str!("../migrations/postgres/0025_self_service.sql")),
    (26, "admin_console", include_str!("../migrations/postgres/0026_admin_console.sql")),
];

pub(crate) fn migrator(steps: &[Step]) -> Migrator {
    Migrator::with_migrations(
        steps
            .iter()
            .map(|(v, d, sql)| Migration::new(*v, (*d).into(), MigrationType::Simple, sql.into_sql_str(), false))
            .collect(),
    )
}

pub(crate) fn versions(steps: &[Step]) -> Vec<i64> {
    steps.iter().map(|s| s.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_versions() {
        assert_eq!(versions(SQLITE), versions(POSTGRES));
        assert!(versions(SQLITE).windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn every_migration_file_is_embedded() {
        for (dir, steps) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
            let files = std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0);
            assert_eq!(files, steps.len(), "migrations/{dir} has files that are not embedded");
        }
    }
}
