//! `countersign`: serve, migrate, and offline administration.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use countersign::ServerError;
use countersign::config::{Config, ConfigError, LogFormat, RawConfig};
use std::io::Write;

use countersign_core::Core;
use countersign_core::admin::{CreateKey, CreateTenant};
use countersign_core::audit::{Actor, AuditEvent, AuditFilter, AuditKind, AuditScope};
use serde_json::json;

/// countersign: a self-hosted out-of-band authentication server.
///
/// Settings come from built-in defaults, then the TOML file given by --config, then
/// COUNTERSIGN_* environment variables, then flags. With none at all, `serve` listens on
/// 127.0.0.1:8080 with a SQLite database in ./countersign.db. To try it out, run
/// `countersign demo`.
#[derive(Debug, Parser)]
#[command(name = "countersign", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// TOML configuration file.
    #[arg(long, global = true, env = "COUNTERSIGN_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory of the default SQLite database (countersign.db) and master key file
    /// (countersign.key); created (mode 0700) when missing. Env: COUNTERSIGN_DATA_DIR
    /// [default: .]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<String>,
    /// Database: sqlite://PATH (created when missing) or postgres://USER@HOST/DB
    /// [default: sqlite://DATA_DIR/countersign.db].
    #[arg(long, global = true, value_name = "URL")]
    database: Option<String>,
    /// Log format: text or json.
    #[arg(long, global = true, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Log filter, e.g. info or countersign=debug.
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations, then serve the integration, mobile, admin and operations APIs.
    ///
    /// At first start (no admin token in the database) an admin token is created: the
    /// value of COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN when set, else a random one printed
    /// once on standard output. When the database has admin tokens already, a
    /// configured bootstrap token is ignored with a warning on standard error. Stops
    /// cleanly on SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Try countersign in one command (development only).
    ///
    /// On a scratch SQLite database: make a tenant demo.example, a user alice, an API key
    /// and an admin token; send SMS and e-mail to a local file (messages.jsonl) instead of
    /// a provider; print the commands for a first push login with the reference
    /// authenticator; then serve until Ctrl-C.
    ///
    /// The scratch directory is a new countersign-demo-XXXX in the system's temporary
    /// directory (TMPDIR), removed when the demo stops; with --data-dir DIR it is DIR
    /// (which must not hold a countersign.db yet), kept. The demo never uses
    /// --database, COUNTERSIGN_DATA_DIR or the configured database and master key.
    Demo(DemoArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Offline administration, straight on the database (no server needed).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Forward the mobile API to a server (a DMZ gateway; docs/gateway.md).
    Gateway(countersign::topology::GatewayArgs),
    /// The cloud relay that on-premises sites dial out to, and its site credentials
    /// (docs/gateway.md). The site file lives in --data-dir.
    #[command(subcommand)]
    Relay(countersign::topology::RelayCommand),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Largest request body in bytes [default: 65536].
    #[arg(long, value_name = "BYTES")]
    body_limit_bytes: Option<usize>,
    /// Largest streamed token import (a text/csv body) in bytes [default: 268435456,
    /// at most 1 GiB].
    #[arg(long, value_name = "BYTES")]
    import_limit_bytes: Option<u64>,
    /// Seconds in-flight requests get to finish at shutdown [default: 30].
    #[arg(long, value_name = "SECONDS")]
    shutdown_grace_seconds: Option<u64>,
    /// Base URL apps reach this server at, put in activation QR codes
    /// [default: http:// and the listening address].
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Also serve the demo relying party at /demo (development only): a tenant
    /// demo.example with a user alice is made when missing, and the page calls the
    /// integration API over loopback with an API key of its own.
    #[arg(long)]
    demo: bool,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Tenant API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Admin tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Rotate the master key: make a new key current and re-seal every stored secret
    /// under it, while servers keep serving (docs/security.md, "Keys and rotation").
    ///
    /// The key file (countersign.key in --data-dir, or COUNTERSIGN_MASTER_KEY_FILE) becomes
    /// a keyring that keeps the old keys, so values not yet re-sealed still open; servers
    /// using the file load it within a second. Remove the old keys afterwards with
    /// `countersign admin retire-keys`. Several nodes: --stage first, copy the file to
    /// every node, run rotate-key, copy the file again, then rotate-key --reseal-only.
    #[command(name = "rotate-key")]
    RotateKey {
        /// Only add a new key that opens but does not seal yet (to copy to every node first).
        #[arg(long, conflicts_with = "reseal_only")]
        stage: bool,
        /// Keep the keys; re-seal what is still sealed under an old key.
        #[arg(long)]
        reseal_only: bool,
    },
    /// Remove the old master keys from the keyring; refused while a stored value is
    /// still sealed under one, or a usable code is hashed under one.
    #[command(name = "retire-keys")]
    RetireKeys,
    /// The audit log: verify its hash chain, export it (docs/security.md).
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain from its first entry to its head. Prints the number of entries
    /// and the head's hash; exits 1 naming the first entry altered, removed or reordered.
    Verify,
    /// Write entries, oldest first, as JSON lines on standard output.
    Export(AuditFilterArgs),
}

#[derive(Debug, Args)]
struct AuditFilterArgs {
    /// Only entries about this tenant (domain).
    #[arg(long)]
    tenant: Option<String>,
    /// Only entries about this userID.
    #[arg(long)]
    user: Option<String>,
    /// Only this kind, e.g. login_failed.
    #[arg(long)]
    kind: Option<String>,
    /// Only entries at or after this RFC 3339 time.
    #[arg(long)]
    since: Option<String>,
    /// Only entries before this RFC 3339 time.
    #[arg(long)]
    until: Option<String>,
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a tenant named by its domain.
    Create {
        /// The domain, e.g. example.com.
        domain: String,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Create an API key for a tenant and print it (once).
    Create {
        /// The tenant's domain.
        domain: String,
        /// A name to tell keys apart.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an admin token and print it (once).
    Create {
        /// A name to tell tokens apart.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn resolve(cli: &Cli) -> Result<Config, ConfigError> {
    let file = match &cli.common.config {
        Some(path) => RawConfig::from_file(path)?,
        None => RawConfig::default(),
    };
    let env = RawConfig::from_env(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))?;
    let mut flags = RawConfig {
        data_dir: cli.common.data_dir.clone(),
        database_url: cli.common.database.clone(),
        log_format: cli.common.log_format.clone(),
        log_level: cli.common.log_level.clone(),
        ..RawConfig::default()
    };
    if let Command::Serve(s) = &cli.command {
        flags.listen = s.listen.clone();
        flags.body_limit_bytes = s.body_limit_bytes;
        flags.import_limit_bytes = s.import_limit_bytes;
        flags.shutdown_grace_seconds = s.shutdown_grace_seconds;
        flags.public_url = s.public_url.clone();
        flags.demo = s.demo.then_some(true);
    }
    if let Command::Demo(d) = &cli.command {
        flags.listen = d.listen.clone();
    }
    file.overlay(env).overlay(flags).validate()
}

fn init_logs(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.log_level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn run(cli: Cli, config: Config) -> Result<(), ServerError> {
    match cli.command {
        Command::Serve(_) => countersign::serve(config, countersign::shutdown_signal()).await,
        Command::Demo(_) => {
            if cli.common.database.is_some() {
                return Err(ServerError::Usage(
                    "demo runs on a scratch SQLite database of its own: leave out --database".into(),
                ));
            }
            let data_dir = cli.common.data_dir.map(PathBuf::from);
            countersign::demo::run(config, data_dir, countersign::shutdown_signal()).await
        }
        Command::Migrate => {
            countersign::ensure_data_dir(&config, false)?;
            let store = countersign::open_store(&config.database_url).await?;
            store.close().await;
            println!("countersign: migrations applied to {}", countersign::redact_url(&config.database_url));
            Ok(())
        }
        Command::Gateway(args) => countersign::topology::gateway(args, countersign::shutdown_signal()).await,
        Command::Relay(cmd) => {
            countersign::topology::relay(cmd, &config.data_dir, countersign::shutdown_signal()).await
        }
        Command::Admin(AdminCommand::Audit(cmd)) => {
            // The log needs no master key: none is read or made.
            countersign::ensure_data_dir(&config, false)?;
            let store = countersign::open_store(&config.database_url).await?;
            let core = Core::new(store).acting(Actor::Cli);
            let result = audit(&core, cmd).await;
            core.store.close().await;
            result
        }
        Command::Admin(cmd) => {
            countersign::ensure_data_dir(&config, true)?;
            let store = countersign::open_store(&config.database_url).await?;
            let core = match countersign::keys::keyring(&config) {
                Ok(ring) => Core::new(store).with_keyring(&ring).acting(Actor::Cli),
                Err(e) => {
                    store.close().await;
                    return Err(e);
                }
            };
            let result = admin(&core, &config, cmd).await;
            core.store.close().await;
            result
        }
    }
}

async fn admin(core: &Core, config: &Config, cmd: AdminCommand) -> Result<(), ServerError> {
    let fail = |e| ServerError::domain("", "", e);
    match cmd {
        AdminCommand::Tenant(TenantCommand::Create { domain }) => {
            let t = core.create_tenant(CreateTenant { domain, settings: None }).await.map_err(fail)?;
            let details = json!({ "command": "admin tenant create" });
            let event = AuditEvent::new(AuditKind::AdminChange).tenant_id(&t.id).tenant(t.domain.as_str());
            core.audit_or_log(event.details(details)).await;
            println!("tenant created: {}", t.domain);
        }
        AdminCommand::ApiKey(ApiKeyCommand::Create { domain, name }) => {
            let k = core.create_api_key(&domain, CreateKey { name }).await.map_err(fail)?;
            let details = json!({ "command": "admin api-key create", "key": k.record.id });
            let event = AuditEvent::new(AuditKind::AdminChange).tenant(domain.to_ascii_lowercase());
            core.audit_or_log(event.details(details)).await;
            println!("api key id: {}", k.record.id);
            println!("api key: {}", k.secret);
        }
        AdminCommand::Token(TokenCommand::Create { name }) => {
            let k = core.create_admin_token(CreateKey { name }).await.map_err(fail)?;
            let details = json!({ "command": "admin token create", "token": k.record.id });
            core.audit_or_log(AuditEvent::new(AuditKind::AdminChange).details(details)).await;
            println!("admin token id: {}", k.record.id);
            println!("admin token: {}", k.secret);
        }
        AdminCommand::RotateKey { stage, reseal_only } => {
            use countersign::keys::Rotation;
            let how = match (stage, reseal_only) {
                (true, _) => Rotation::Stage,
                (_, true) => Rotation::ResealOnly,
                _ => Rotation::Rotate,
            };
            countersign::keys::rotate(config, core.clone(), how).await?;
        }
        AdminCommand::RetireKeys => countersign::keys::retire(config, core.clone()).await?,
        AdminCommand::Audit(_) => return Err(ServerError::Usage("the audit commands need no master key".into())),
    }
    Ok(())
}

async fn audit(core: &Core, cmd: AuditCommand) -> Result<(), ServerError> {
    let fail = |e| ServerError::domain("", "", e);
    match cmd {
        AuditCommand::Verify => {
            let v = core.verify_audit().await.map_err(fail)?;
            if let Some(p) = v.problem {
                return Err(ServerError::AuditBroken(p));
            }
            println!("audit log verified: {} entries; head: entry {} {}", v.entries, v.head_seq, v.head_hash);
        }
        AuditCommand::Export(a) => {
            let filter = AuditFilter {
                tenant: a.tenant,
                user: a.user,
                kind: a.kind,
                since: a.since,
                until: a.until,
                after: None,
                limit: Some(countersign_core::audit::MAX_PAGE),
            };
            let mut q = core.audit_query(AuditScope::All, &filter, 0).map_err(fail)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let write = |e| ServerError::io("cannot write to standard output")(e);
            loop {
                let page = core.audit_page(&q).await.map_err(fail)?;
                for e in &page {
                    let line = serde_json::to_string(e).map_err(|e| ServerError::Usage(e.to_string()))?;
                    writeln!(out, "{line}").map_err(write)?;
                }
                match page.last() {
                    Some(last) if page.len() == q.limit as usize => q.after = Some(last.seq),
                    _ => break,
                }
            }
            out.flush().map_err(write)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match resolve(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("countersign: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logs(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("countersign: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("countersign: {e}");
            ExitCode::FAILURE
        }
    }
}
