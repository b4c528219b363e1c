//! A tenant's users in the console: search by userID prefix, create, and per user: lock
//! and unlock, phone and e-mail, and the mobile authenticators (removed one by one).

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use countersign_core::admin::{CreateUser, UpdateUser};
use countersign_core::audit::AuditKind;
use countersign_core::web::console::ConsoleAdmin;
use countersign_core::{Tenant, User, UserStatus};
use serde::Deserialize;

use super::tenant::{changeable, changing, visible};
use super::{Fields, Nav, Shown, acting, admin, error_page, field_of, posted, shown};
use crate::AppState;
use crate::error::ApiError;
use crate::web::{Assets, assets, render};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/tenants/{domain}/users", get(users_page).post(create_user))
        .route("/console/tenants/{domain}/users/{user}", get(user_page))
        .route("/console/tenants/{domain}/users/{user}/contact", post(set_contact))
        .route("/console/tenants/{domain}/users/{user}/status", post(set_status))
        .route("/console/tenants/{domain}/users/{user}/devices/{id}/remove", post(remove_device))
}

/// How many users a search shows.
const SHOWN: u32 = 50;

struct UserRow {
    user_id: String,
    status: &'static str,
    email: String,
    phone: String,
}

impl UserRow {
    fn of(u: &User) -> UserRow {
        UserRow {
            user_id: u.user_id.as_str().to_owned(),
            status: u.status.as_str(),
            email: u.email.clone().unwrap_or_default(),
            phone: u.phone.clone().unwrap_or_default(),
        }
    }
}

/// What a form shows back: the values posted and the error beside its field.
#[derive(Default)]
struct Entered {
    user_id: String,
    email: String,
    phone: String,
    field: Option<String>,
    error: Option<String>,
}

impl Entered {
    fn from(f: &Fields) -> Entered {
        let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
        Entered { user_id: get("userID"), email: get("email"), phone: get("phone"), ..Entered::default() }
    }

    fn failed(mut self, e: &ApiError) -> Entered {
        self.field = field_of(e);
        self.error = Some(e.message.clone());
        self
    }

    /// The error to show beside `field`, if it is that field's.
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error.as_deref().filter(|_| self.field.as_deref() == Some(field))
    }

    /// The error no field of the form shows.
    fn other_error(&self, fields: &[&str]) -> Option<&str> {
        self.error.as_deref().filter(|_| !self.field.as_deref().is_some_and(|f| fields.contains(&f)))
    }
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    assets: Assets,
    nav: Nav,
    domain: String,
    can_change: bool,
    prefix: String,
    users: Vec<UserRow>,
    more: bool,
    new: Entered,
}

struct DeviceRow {
    id: String,
    name: String,
    state: String,
    created: Shown,
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    assets: Assets,
    nav: Nav,
    domain: String,
    can_change: bool,
    user: UserRow,
    locked: bool,
    devices: Vec<DeviceRow>,
    contact: Entered,
    saved: Option<&'static str>,
}

#[derive(Deserialize)]
struct Search {
    prefix: Option<String>,
}

async fn users_of(s: &AppState, a: &ConsoleAdmin, t: &Tenant, prefix: String, new: Entered) -> Response {
    let found = match s.core.search_users(t.domain.as_str(), &prefix, SHOWN + 1).await {
        Ok(u) => u,
        Err(e) => return error_page(e.into(), "/console/tenants"),
    };
    let more = found.len() > SHOWN as usize;
    let users = found.iter().take(SHOWN as usize).map(UserRow::of).collect();
    let status = if new.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = UsersPage {
        assets: assets(),
        nav: Nav::of(a),
        domain: t.domain.to_string(),
        can_change: a.account.may_change(&t.id),
        prefix,
        users,
        more,
        new,
    };
    render(status, &page)
}

async fn users_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    q: Query<Search>,
) -> Response {
    let a = or_page!(admin(&s, &headers).await);
    match visible(&s, &a, &domain).await {
        Ok(t) => users_of(&s, &a, &t, q.0.prefix.unwrap_or_default(), Entered::default()).await,
        Err(res) => res,
    }
}

fn optional(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

async fn create_user(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(changing(&s, &headers, &form, &domain).await);
    let entered = Entered::from(&form.map(|f| f.0).unwrap_or_default());
    let mut input = CreateUser::named(&entered.user_id);
    input.email = optional(&entered.email);
    input.phone = optional(&entered.phone);
    match acting(&s, &a).create_user(&domain, input).await {
        Ok(u) => {
            let details = serde_json::json!({ "console": true, "action": "user_created" });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), Some(u.user_id.as_str()), details).await;
            Redirect::to(&format!("/console/tenants/{domain}/users/{}", u.user_id.as_str())).into_response()
        }
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status;
            let mut res = users_of(&s, &a, &t, String::new(), entered.failed(&e)).await;
            *res.status_mut() = status;
            res
        }
    }
}

async fn user_of(
    s: &AppState,
    a: &ConsoleAdmin,
    t: &Tenant,
    user_id: &str,
    contact: Option<Entered>,
    saved: Option<&'static str>,
) -> Response {
    let back = format!("/console/tenants/{}/users", t.domain);
    let u = match s.core.user(t.domain.as_str(), user_id).await {
        Ok(u) => u,
        Err(e) => return error_page(e.into(), &back),
    };
    let devices = match s.core.list_devices(t.domain.as_str(), user_id, None, Some(500)).await {
        Ok(l) => l.items,
        Err(e) => return error_page(e.into(), &back),
    };
    let devices = devices
        .into_iter()
        .map(|d| DeviceRow {
            name: d.name.clone().unwrap_or_else(|| format!("{} device", d.app_id)),
            state: format!("{:?}", d.state),
            created: shown(d.created_at),
            id: d.id,
        })
        .collect();
    let row = UserRow::of(&u);
    let status =
        contact.as_ref().and_then(|c| c.error.as_ref()).map_or(StatusCode::OK, |_| StatusCode::UNPROCESSABLE_ENTITY);
    let contact =
        contact.unwrap_or_else(|| Entered { email: row.email.clone(), phone: row.phone.clone(), ..Entered::default() });
    let page = UserPage {
        assets: assets(),
        nav: Nav::of(a),
        domain: t.domain.to_string(),
        can_change: a.account.may_change(&t.id),
        locked: u.status == UserStatus::Locked,
        user: row,
        devices,
        contact,
        saved,
    };
    render(status, &page)
}

async fn user_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((domain, user)): Path<(String, String)>,
) -> Response {
    let a = or_page!(admin(&s, &headers).await);
    match visible(&s, &a, &domain).await {
        Ok(t) => user_of(&s, &a, &t, &user, None, None).await,
        Err(res) => res,
    }
}

/// The administrator and tenant of a change to a user, or the response.
async fn change(
    s: &AppState,
    headers: &HeaderMap,
    domain: &str,
    form: &Result<Form<Fields>, FormRejection>,
) -> Result<(ConsoleAdmin, Tenant), Response> {
    let a = posted(s, headers, form).await?;
    let t = changeable(s, &a, domain).await?;
    Ok((a, t))
}

async fn set_contact(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((domain, user)): Path<(String, String)>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(change(&s, &headers, &domain, &form).await);
    let entered = Entered::from(&form.map(|f| f.0).unwrap_or_default());
    let patch = UpdateUser {
        phone: Some(optional(&entered.phone)),
        email: Some(optional(&entered.email)),
        ..UpdateUser::default()
    };
    match acting(&s, &a).update_user(&domain, &user, patch).await {
        Ok(_) => {
            let details = serde_json::json!({ "console": true, "action": "user_contact_changed" });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), Some(&user), details).await;
            user_of(&s, &a, &t, &user, None, Some("Phone and e-mail saved.")).await
        }
        Err(e) => user_of(&s, &a, &t, &user, Some(entered.failed(&e.into())), None).await,
    }
}

async fn set_status(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((domain, user)): Path<(String, String)>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(change(&s, &headers, &domain, &form).await);
    let back = format!("/console/tenants/{domain}/users/{user}");
    let (status, kind, saved) = match form.ok().and_then(|f| f.0.get("status").cloned()).as_deref() {
        Some("locked") => (UserStatus::Locked, AuditKind::Locked, "The user is locked."),
        Some("active") => (UserStatus::Active, AuditKind::Unlocked, "The user is unlocked."),
        _ => {
            let e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", "status must be locked or active");
            return error_page(e.with_field("status"), &back);
        }
    };
    let patch = UpdateUser { status: Some(status), ..UpdateUser::default() };
    match acting(&s, &a).update_user(&domain, &user, patch).await {
        Ok(_) => {
            let details =
                serde_json::json!({ "console": true, "action": "user_status_changed", "status": status.as_str() });
            s.core.console_audit(&a, kind, Some(&t), Some(&user), details).await;
            user_of(&s, &a, &t, &user, None, Some(saved)).await
        }
        Err(e) => error_page(e.into(), &back),
    }
}

async fn remove_device(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((domain, user, id)): Path<(String, String, String)>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(change(&s, &headers, &domain, &form).await);
    match acting(&s, &a).remove_device(&domain, &user, &id).await {
        Ok(()) => {
            let details = serde_json::json!({ "console": true, "action": "device_removed", "device": id });
            s.core.console_audit(&a, AuditKind::DeviceRemoved, Some(&t), Some(&user), details).await;
            user_of(&s, &a, &t, &user, None, Some("The authenticator is removed.")).await
        }
        Err(e) => error_page(e.into(), &format!("/console/tenants/{domain}/users/{user}")),
    }
}
