//! The storage conformance suite: every test runs against SQLite and PostgreSQL, one
//! module per aggregate of the Store trait; this file holds the fixtures they share.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code, unused_imports)]

mod accounts;
mod admin_accounts;
mod attempts;
mod audit;
mod config;
mod credentials;
mod devices;
mod duo;
mod limits;
mod outbox;
mod radius;
mod retention;
mod risk;
mod sealed;
mod sessions;
mod upgrade;
mod web;

pub use std::sync::Arc;

pub use countersign_core::session::{Session, SessionState};
pub use countersign_core::{
    AccessKey, AccessKind, Domain, Page, Store, StoreError, Tenant, TenantSettings, Timestamp, User, UserId,
    UserStatus, VdpDeliveryMethod,
};
pub use countersign_store::backend_tests;
pub use countersign_store::testing::TestDb;

/// A first page large enough for every fixture (1000 rows).
pub fn first_page() -> Page {
    Page { after: None, limit: 1000 }
}

pub fn tenant(id: &str, domain: &str) -> Tenant {
    Tenant {
        id: id.into(),
        domain: Domain::parse(domain, "domain").unwrap(),
        settings: TenantSettings::default(),
        created_at: Timestamp(1_000),
        updated_at: Timestamp(1_000),
    }
}

pub fn user(id: &str, tenant_id: &str, user_id: &str) -> User {
    User {
        id: id.into(),
        tenant_id: tenant_id.into(),
        user_id: UserId::parse(user_id, "userID").unwrap(),
        status: UserStatus::Active,
        phone: Some("+15550100".into()),
        email: None,
        locale: Some("en".into()),
        vdp_delivery_method: VdpDeliveryMethod::Sms,
        created_at: Timestamp(2_000),
        updated_at: Timestamp(2_000),
    }
}

pub fn key(id: &str, kind: AccessKind, tenant_id: Option<&str>, hash: &str) -> AccessKey {
    AccessKey {
        id: id.into(),
        kind,
        tenant_id: tenant_id.map(Into::into),
        name: format!("key {id}"),
        hint: "csk_abcd".into(),
        key_hash: hash.into(),
        created_at: Timestamp(3_000),
        last_used_at: None,
        revoked_at: None,
    }
}

pub async fn store_with_tenants(db: &TestDb) -> Arc<dyn Store> {
    let s = db.store().await;
    s.insert_tenant(&tenant("t1", "one.example")).await.unwrap();
    s.insert_tenant(&tenant("t2", "two.example")).await.unwrap();
    s
}
