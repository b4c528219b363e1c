//! `countersign demo`: a first push login in a few minutes, development only.
//!
//! On a scratch SQLite database (a new directory under the system's temporary directory,
//! removed when the demo stops, or `--data-dir DIR` when given, which must not hold a
//! database yet) it makes a tenant `demo.example`, a user `alice` with an e-mail address
//! and a phone, an API key and an admin token. SMS and e-mail go to the development-only
//! file sink (`messages.jsonl` in the data directory) instead of a provider. Then it
//! prints, once, the shell commands that activate the reference authenticator, start a
//! push login and approve it, and a one-time code by e-mail — and serves until Ctrl-C.
//! The demo prints its own scratch API key and admin token (they open nothing else);
//! they never reach the logs.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use countersign_core::Core;
use countersign_core::admin::{CreateKey, CreateTenant, CreateUser};
use countersign_core::delivery::providers::{EmailConfig, FileSinkConfig, ProvidersInput, SmsConfig};
use countersign_core::user::VdpDeliveryMethod;

use crate::ServerError;
use crate::config::{self, Config};

/// The demo's tenant.
pub const DOMAIN: &str = "demo.example";
/// The demo's user.
pub const USER: &str = "alice";
/// Where codes land, in the data directory.
pub const MESSAGES_FILE: &str = "messages.jsonl";

/// Everything `countersign demo` does. `data_dir`: the `--data-dir` flag (the demo
/// ignores COUNTERSIGN_DATA_DIR and the file's `data_dir`, which name real data).
pub async fn run(
    config: Config,
    data_dir: Option<PathBuf>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    // The address first: a port in use leaves nothing behind.
    let listener = crate::bind(config.listen).await?;
    let addr = listener.local_addr().map_err(ServerError::io("cannot read the listening address"))?;
    let scratch = data_dir.is_none();
    let dir = match data_dir {
        Some(dir) => given_dir(&dir)?,
        None => scratch_dir()?,
    };
    let result = setup_and_serve(config, listener, addr, &dir, scratch, shutdown).await;
    if scratch {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => eprintln!("countersign demo: removed the scratch directory {}", dir.display()),
            Err(e) => eprintln!("countersign demo: cannot remove the scratch directory {}: {e}", dir.display()),
        }
    }
    result
}

async fn setup_and_serve(
    mut config: Config,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    dir: &Path,
    scratch: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let messages = dir.join(MESSAGES_FILE);
    config.data_dir = dir.to_path_buf();
    config.database_in_data_dir = true;
    config.key_file_in_data_dir = true;
    config.database_url = config::sqlite_url(&dir.join(config::DATABASE_FILE));
    config.master_key = None;
    config.master_key_file = dir.join(config::MASTER_KEY_FILE).to_string_lossy().into_owned();
    config.bootstrap_admin_token = None;
    config.demo = true;
    let file = messages.to_string_lossy().into_owned();
    config.providers = ProvidersInput {
        sms: Some(SmsConfig::File(FileSinkConfig { file: file.clone() })),
        email: Some(EmailConfig {
            host: String::new(),
            port: None,
            security: Default::default(),
            username: None,
            password: None,
            from: "countersign demo <no-reply@demo.example>".into(),
            templates: Default::default(),
            file: Some(file),
        }),
    };
    let base = match &config.public_url {
        Some(u) => u.clone(),
        None => format!("http://{}", reachable(addr)),
    };
    let store = crate::open_store(&config.database_url).await?;
    let core = crate::core_for(store, &base)?.with_keyring(&crate::keys::keyring(&config)?);
    let made = match populate(&core).await {
        Ok(m) => m,
        Err(e) => {
            core.store.close().await;
            return Err(e);
        }
    };
    print!("{}", instructions(&base, dir, scratch, &made, &authenticator_command()));
    println!("countersign: listening on http://{addr} (demo; database {}; Ctrl-C stops it)", config.database_url);
    crate::serve_on(listener, core, &config, shutdown).await
}

/// What the demo made.
pub struct Made {
    /// The admin token.
    pub token: String,
    /// The tenant's API key.
    pub key: String,
    /// Whether the tenant asks for number matching.
    pub number_matching: bool,
}

async fn populate(core: &Core) -> Result<Made, ServerError> {
    let fail = |e| ServerError::domain("demo setup: ", "demo setup: ", e);
    let token = core.create_admin_token(CreateKey { name: "demo".into() }).await.map_err(fail)?;
    ensure_tenant(core).await?;
    let key = core.create_api_key(DOMAIN, CreateKey { name: "demo".into() }).await.map_err(fail)?;
    let tenant = core.tenant(DOMAIN).await.map_err(fail)?;
    Ok(Made {
        token: token.secret,
        key: key.secret,
        number_matching: tenant.settings.number_matching != countersign_core::tenant::NumberMatching::Off,
    })
}

/// The demo user's static password (shown on the demo page: a scratch account).
pub const PASSWORD: &str = "demo-password-1234";
/// The name of the API keys the demo page uses (one per start; earlier ones are revoked).
pub const PAGE_KEY_NAME: &str = "demo page";

/// The demo tenant and user, each made when missing: the tenant with risk rules that
/// ask a push for every transfer (docs/risk.md), the user with an e-mail address, a
/// phone and the static password [`PASSWORD`]. What exists already is left as it is.
pub async fn ensure_tenant(core: &Core) -> Result<(), ServerError> {
    let fail = |e| ServerError::domain("demo setup: ", "demo setup: ", e);
    if core.tenant(DOMAIN).await.is_err() {
        core.create_tenant(CreateTenant { domain: DOMAIN.into(), settings: None }).await.map_err(fail)?;
        let rules = serde_json::json!({"rules": [
            {"id": "transfer", "when": {"fact": "event.type", "eq": "Transaction"}, "then": "push"},
            {"id": "known-device", "when": {"fact": "device.known", "eq": true}, "then": "accept"},
            {"id": "new-device", "when": {"always": true}, "then": "static_password"},
        ]});
        let rules = serde_json::from_value(rules).map_err(|e| ServerError::Usage(format!("demo risk rules: {e}")))?;
        core.set_risk_settings(DOMAIN, rules).await.map_err(fail)?;
    }
    if core.user(DOMAIN, USER).await.is_err() {
        let user = CreateUser {
            user_id: USER.into(),
            status: None,
            phone: Some("+15550100".into()),
            email: Some(format!("{USER}@{DOMAIN}")),
            locale: Some("en".into()),
            // Codes by e-mail, whatever order `Default` picks channels in.
            vdp_delivery_method: Some(VdpDeliveryMethod::Email),
        };
        core.create_user(DOMAIN, user).await.map_err(fail)?;
        let password = serde_json::json!({"password": PASSWORD, "graceDays": 3650});
        let password =
            serde_json::from_value(password).map_err(|e| ServerError::Usage(format!("demo password: {e}")))?;
        core.set_static_password(DOMAIN, USER, password).await.map_err(fail)?;
    }
    Ok(())
}

/// What the demo page at `/demo` needs (`serve --demo`, `countersign demo`): the demo
/// tenant and user ([`ensure_tenant`]); a FIDO relying party (discoverable credentials) for the address browsers
/// reach this server at (`localhost` for a loopback or IP address: browsers refuse
/// passkeys on an IP); and a fresh API key for the page's back end, which calls the
/// integration API on `listen` (loopback). Earlier page keys are revoked.
pub async fn page(
    core: &Core,
    listen: SocketAddr,
    tls: bool,
    messages: Option<String>,
) -> Result<countersign_http::web::demo::DemoSettings, ServerError> {
    let fail = |e| ServerError::domain("demo page: ", "demo page: ", e);
    ensure_tenant(core).await?;
    let (scheme, host, port) = public_origin(&core.public_url, listen.port());
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[');
    let rp_id = if loopback { "localhost".to_owned() } else { host };
    let default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
    let origin = if default_port { format!("{scheme}://{rp_id}") } else { format!("{scheme}://{rp_id}:{port}") };
    // Passkeys proper: discoverable credentials, user verified.
    let rp = serde_json::json!({"rpID": rp_id, "rpName": "countersign demo shop", "origins": [origin],
        "residentKey": "required"});
    let rp = serde_json::from_value(rp).map_err(|e| ServerError::Usage(format!("demo relying party: {e}")))?;
    core.set_relying_party(DOMAIN, rp).await.map_err(fail)?;
    let keys = core.list_api_keys(DOMAIN, None, Some(100)).await.map_err(fail)?;
    for k in keys.items.iter().filter(|k| k.name == PAGE_KEY_NAME && k.revoked_at.is_none()) {
        core.revoke_api_key(DOMAIN, &k.id).await.map_err(fail)?;
    }
    let key = core.create_api_key(DOMAIN, CreateKey { name: PAGE_KEY_NAME.into() }).await.map_err(fail)?;
    let api = format!("{}://{}", if tls { "https" } else { "http" }, reachable(listen));
    Ok(countersign_http::web::demo::DemoSettings {
        api,
        key: key.secret,
        domain: DOMAIN.into(),
        user: USER.into(),
        password: Some(PASSWORD.into()),
        messages,
        loopback_tls: tls,
    })
}

/// The scheme, host and port of a public URL (`http://127.0.0.1:8080/` →
/// `("http", "127.0.0.1", 8080)`); the port defaults to the scheme's, else `listen_port`.
fn public_origin(url: &str, listen_port: u16) -> (String, String, u16) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h.to_owned(), p.parse().ok()),
        _ => (authority.to_owned(), None),
    };
    let default = match scheme {
        "https" => 443,
        "http" if port.is_none() && !authority.is_empty() => 80,
        _ => listen_port,
    };
    (scheme.to_owned(), host, port.unwrap_or(default))
}

/// `--data-dir DIR`: made when missing (mode 0700); refused when it holds a database
/// already (the demo starts from scratch and never touches real data).
fn given_dir(dir: &Path) -> Result<PathBuf, ServerError> {
    let db = dir.join(config::DATABASE_FILE);
    if db.exists() {
        return Err(ServerError::Usage(format!(
            "{} exists already: the demo starts on a fresh database; give a new or empty --data-dir, \
             or leave it out for a scratch directory",
            db.display()
        )));
    }
    make_dir(dir, true)?;
    std::path::absolute(dir).map_err(ServerError::io(format!("cannot resolve {}", dir.display())))
}

/// A new directory `countersign-demo-<random>` in the system's temporary directory.
fn scratch_dir() -> Result<PathBuf, ServerError> {
    let mut r = [0u8; 6];
    getrandom::fill(&mut r).map_err(ServerError::Random)?;
    let name: String = r.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::path::absolute(std::env::temp_dir().join(format!("countersign-demo-{name}")))
        .map_err(ServerError::io("cannot resolve the temporary directory"))?;
    make_dir(&dir, false)?;
    Ok(dir)
}

fn make_dir(dir: &Path, may_exist: bool) -> Result<(), ServerError> {
    if may_exist && dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(may_exist);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(ServerError::io(format!("cannot create the demo directory {}", dir.display())))
}

/// A listening address as a client reaches it (loopback for "any address").
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip: std::net::IpAddr = match addr.ip() {
        std::net::IpAddr::V4(v) if v.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v) if v.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// How to run the reference authenticator: the `countersign-authenticator` next to
/// this binary (relative to the working directory when under it, as in
/// `target/release/countersign-authenticator`), and whether it is there.
fn authenticator_command() -> (String, bool) {
    let name = format!("countersign-authenticator{}", std::env::consts::EXE_SUFFIX);
    let Ok(exe) = std::env::current_exe() else {
        return (name, false);
    };
    let path = exe.with_file_name(&name);
    let exists = path.is_file();
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .map(|rel| if rel.components().count() == 1 { Path::new(".").join(rel) } else { rel })
        .unwrap_or(path);
    (sh(&shown.to_string_lossy()), exists)
}

/// `text` as one shell word.
fn sh(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ':' | '@' | ','));
    if plain { text.to_owned() } else { format!("'{}'", text.replace('\'', "'\\''")) }
}

/// The demo page's address as a browser should open it: on `localhost` rather than a
/// loopback IP address, where browsers refuse passkeys.
pub fn shop_url(base: &str) -> String {
    let mut url = base.trim_end_matches('/').to_owned();
    for ip in ["127.0.0.1", "[::1]"] {
        url = url.replacen(&format!("://{ip}"), "://localhost", 1);
    }
    format!("{url}/demo")
}

/// What the demo prints before serving: what it made, and the commands (one block,
/// no blank line inside, ended by a blank line) that work as printed.
pub fn instructions(base: &str, dir: &Path, scratch: bool, made: &Made, authenticator: &(String, bool)) -> String {
    let (auth, built) = authenticator;
    let dir_text = dir.to_string_lossy();
    let messages = dir.join(MESSAGES_FILE);
    let kept = if scratch { "a scratch directory, removed when the demo stops" } else { "kept when the demo stops" };
    let user = format!("{USER}@{DOMAIN}");
    let (show, number_flag) = if made.number_matching {
        ("NUMBER=$(echo \"$OUT\" | sed -E 's/.*\"numberToShow\":([0-9]+).*/\\1/')\n", " --number \"$NUMBER\"")
    } else {
        ("", "")
    };
    let number_words = if made.number_matching { " and shows alice the number" } else { "" };
    let approve_words = if made.number_matching { "her PIN and the number" } else { "her PIN" };
    let build = if *built {
        String::new()
    } else {
        format!(
            "The reference authenticator is not built yet ({auth}): build it with\n  \
             cargo build --release -p countersign-authenticator\n\n"
        )
    };
    format!(
        "countersign demo: a scratch server to try countersign (development only)\n\
         \n\
         \x20 data directory  {dir_text} ({kept})\n\
         \x20 tenant          {DOMAIN}\n\
         \x20 user            {USER} (e-mail {user}, phone +15550100; one-time codes by e-mail)\n\
         \x20 admin token     {token}   (demo only: opens this scratch database, nothing else)\n\
         \x20 API key         {key}   (demo only)\n\
         \x20 codes           SMS and e-mail are not sent: each message is appended as a JSON line to\n\
         \x20                 {messages}\n\
         \x20 demo shop       {shop}\n\
         \x20                 (open it in a browser: a relying party that signs alice in with every method\n\
         \x20                 and shows the API calls it makes; its static password is {PASSWORD})\n\
         \n\
         {build}\
         Try it in another shell, in this directory:\n\
         \n\
         BASE={base}\n\
         KEY={key}\n\
         TOKEN={token}\n\
         DEMO={dir_sh}\n\
         # 1. Activate the reference authenticator for alice with the PIN 1234\n\
         #    (the QR payload a self-service page would show as a QR code).\n\
         QR=$(curl -s -X POST $BASE/v1/users/{user}/activations -H \"Authorization: Bearer $KEY\" \\\n\
         \x20 | sed -E 's/.*\"qrPayload\":\"([^\"]+)\".*/\\1/')\n\
         {auth} --store \"$DEMO/alice.authenticator.json\" activate --pin 1234 \"$QR\"\n\
         # 2. The relying party starts a push login{number_words}.\n\
         OUT=$(curl -s -X POST $BASE/v1/users/{user}/login -H \"Authorization: Bearer $KEY\" \\\n\
         \x20 -H 'Content-Type: application/json' -d '{{\"passKey\":\"PIN\",\"timeout\":0,\"loginMessage\":\"Sign in to the demo?\"}}')\n\
         ID=$(echo \"$OUT\" | sed -E 's/.*\"requestID\":\"([^\"]+)\".*/\\1/')\n\
         {show}\
         # 3. alice sees the request and approves it with {approve_words}.\n\
         {auth} --store \"$DEMO/alice.authenticator.json\" pending\n\
         {auth} --store \"$DEMO/alice.authenticator.json\" respond \"$ID\" --approve --pin 1234{number_flag}\n\
         # {{\"sessionStatus\":\"Accept\"}}\n\
         curl -s -w '\\n' $BASE/v1/sessions/$ID -H \"Authorization: Bearer $KEY\"\n\
         # {{\"objectType\":\"LoginOutput\",\"requestID\":\"…\",\"sessionStatus\":\"Accept\",…}}\n\
         # 4. A one-time code by e-mail: it lands in $DEMO/{MESSAGES_FILE}; the relying party checks it.\n\
         ID=$(curl -s -X POST $BASE/v1/users/{user}/login -H \"Authorization: Bearer $KEY\" \\\n\
         \x20 -H 'Content-Type: application/json' -d '{{\"passKey\":\"votp\"}}' | sed -E 's/.*\"requestID\":\"([^\"]+)\".*/\\1/')\n\
         sleep 1\n\
         CODE=$(tail -n 1 \"$DEMO/{MESSAGES_FILE}\" | sed -E 's/.*code is ([0-9]+).*/\\1/')\n\
         curl -s -w '\\n' -X POST $BASE/v1/users/{user}/login -H \"Authorization: Bearer $KEY\" \\\n\
         \x20 -H 'Content-Type: application/json' -d \"{{\\\"requestID\\\":\\\"$ID\\\",\\\"passKey\\\":\\\"$CODE\\\"}}\"\n\
         # {{\"objectType\":\"LoginOutput\",\"requestID\":\"…\",\"sessionStatus\":\"Accept\",…}}\n\
         # The admin API takes the admin token.\n\
         curl -s -w '\\n' $BASE/admin/v1/tenants/{DOMAIN}/users/{USER} -H \"Authorization: Bearer $TOKEN\"\n\
         \n",
        token = made.token,
        key = made.key,
        messages = messages.display(),
        dir_sh = sh(&dir_text),
        shop = shop_url(base),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_shop_is_opened_on_localhost() {
        assert_eq!(shop_url("http://127.0.0.1:8080"), "http://localhost:8080/demo");
        assert_eq!(shop_url("http://[::1]:8080/"), "http://localhost:8080/demo");
        assert_eq!(shop_url("https://auth.example.com"), "https://auth.example.com/demo");
    }

    #[test]
    fn the_public_origin_is_read_from_the_public_url() {
        assert_eq!(public_origin("http://127.0.0.1:8080", 1), ("http".into(), "127.0.0.1".into(), 8080));
        assert_eq!(public_origin("https://auth.example.com/", 1), ("https".into(), "auth.example.com".into(), 443));
        assert_eq!(public_origin("http://[::1]:9000/x", 1), ("http".into(), "[::1]".into(), 9000));
        assert_eq!(public_origin("http://auth.example.com", 1), ("http".into(), "auth.example.com".into(), 80));
    }

    #[test]
    fn paths_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(sh("/tmp/countersign-demo-0a1b"), "/tmp/countersign-demo-0a1b");
        assert_eq!(sh("/tmp/my demo"), "'/tmp/my demo'");
        assert_eq!(sh("/tmp/it's"), "'/tmp/it'\\''s'");
    }

    #[test]
    fn the_respond_command_follows_number_matching() {
        let made = |number_matching| Made { token: "csa_t".into(), key: "csk_k".into(), number_matching };
        let auth = ("target/release/countersign-authenticator".to_owned(), true);
        let on = instructions("http://127.0.0.1:8080", Path::new("/tmp/d"), true, &made(true), &auth);
        assert!(on.contains("--approve --pin 1234 --number \"$NUMBER\"\n"), "{on}");
        assert!(on.contains(
            "target/release/countersign-authenticator --store \"$DEMO/alice.authenticator.json\" activate --pin 1234 \"$QR\""
        ));
        let off = instructions("http://127.0.0.1:8080", Path::new("/tmp/d"), true, &made(false), &auth);
        assert!(off.contains("--approve --pin 1234\n") && !off.contains("NUMBER"), "{off}");
        let script = on.split("in this directory:\n\n").nth(1).unwrap();
        assert!(!script.trim_end().contains("\n\n"), "one block: {script}");
    }
}
