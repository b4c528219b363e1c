//! `countersign-authenticator`: the reference mobile authenticator on the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use clap::{Parser, Subcommand};
use countersign_authenticator::{ActivateOptions, Answer, Authenticator, Error, qrimage};
use countersign_proto::messages::PushReference;

/// The reference countersign mobile authenticator: does what the phone app does.
///
/// Keys live in the store file, sealed with a passphrase from the environment variable
/// COUNTERSIGN_AUTHENTICATOR_PASSPHRASE (empty when unset). The PIN is never stored.
#[derive(Debug, Parser)]
#[command(name = "countersign-authenticator", version)]
struct Cli {
    /// The state file.
    #[arg(long, global = true, value_name = "FILE", default_value = "authenticator.json")]
    store: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Activate from a QR payload (or a PNG of the QR code) with a PIN.
    Activate {
        /// The QR payload, `countersign://activate?…`.
        payload: Option<String>,
        /// Read the QR code from this PNG image instead.
        #[arg(long, value_name = "FILE")]
        qr_image: Option<PathBuf>,
        /// The PIN to protect PIN approvals.
        #[arg(long)]
        pin: String,
        /// Do not register a biometric key.
        #[arg(long)]
        no_biometric: bool,
        /// The app ID to register.
        #[arg(long, default_value = "countersign-authenticator")]
        app_id: String,
    },
    /// Print the pending requests as JSON.
    Pending,
    /// Approve or decline a request.
    Respond {
        /// The request ID.
        request_id: String,
        /// Approve.
        #[arg(long, conflicts_with = "decline", required_unless_present = "decline")]
        approve: bool,
        /// Decline.
        #[arg(long)]
        decline: bool,
        /// The PIN (PIN logins, and fingerprint logins without --biometric).
        #[arg(long)]
        pin: Option<String>,
        /// Approve with the biometric key (fingerprint logins).
        #[arg(long)]
        biometric: bool,
        /// The number shown by the relying party (number matching).
        #[arg(long)]
        number: Option<u8>,
    },
    /// Claim a QR login (the portal's QR payload or app link, or a PNG of the QR code).
    Claim {
        /// The payload, `countersign://qr-login?…`, or the app link.
        payload: Option<String>,
        /// Read the QR code from this PNG image instead.
        #[arg(long, value_name = "FILE")]
        qr_image: Option<PathBuf>,
    },
    /// Register for webhook pushes on ADDR and print each push as a JSON line.
    Listen {
        /// Address to listen on, e.g. 127.0.0.1:9100.
        #[arg(long)]
        addr: SocketAddr,
        /// Approve each push (requests without number matching only).
        #[arg(long, requires = "pin")]
        auto_approve: bool,
        /// The PIN for auto-approval.
        #[arg(long)]
        pin: Option<String>,
    },
}

/// The payload given, or the one read from the QR code in a PNG file.
fn payload_or_image(payload: Option<String>, qr_image: Option<PathBuf>) -> Result<String, Error> {
    match (payload, qr_image) {
        (Some(p), None) => Ok(p),
        (None, Some(path)) => {
            let bytes =
                std::fs::read(&path).map_err(|e| Error::Local(format!("cannot read {}: {e}", path.display())))?;
            qrimage::decode_png(&bytes)
        }
        _ => Err(Error::Local("give the QR payload or --qr-image FILE (one of them)".into())),
    }
}

fn passphrase() -> String {
    std::env::var("COUNTERSIGN_AUTHENTICATOR_PASSPHRASE").unwrap_or_default()
}

fn print(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string(v).unwrap_or_default());
}

async fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Activate { payload, qr_image, pin, no_biometric, app_id } => {
            let payload = payload_or_image(payload, qr_image)?;
            let opts = ActivateOptions { biometric: !no_biometric, app_id, device_name: None };
            let auth = Authenticator::activate(&payload, &pin, &opts).await?;
            auth.save(&cli.store, &passphrase())?;
            auth.register_push("poll", None).await?;
            print(
                &serde_json::json!({"deviceID": auth.state.device_id, "userID": auth.state.user_id, "domain": auth.state.domain}),
            );
        }
        Command::Pending => {
            let auth = Authenticator::load(&cli.store, &passphrase())?;
            print(&auth.pending().await?);
        }
        Command::Respond { request_id, approve, decline: _, pin, biometric, number } => {
            let auth = Authenticator::load(&cli.store, &passphrase())?;
            let answer = Answer { approve, pin: pin.as_deref(), biometric, number };
            print(&auth.respond(&request_id, &answer).await?);
        }
        Command::Claim { payload, qr_image } => {
            let payload = payload_or_image(payload, qr_image)?;
            let auth = Authenticator::load(&cli.store, &passphrase())?;
            print(&auth.claim(&payload).await?);
        }
        Command::Listen { addr, auto_approve, pin } => {
            let auth = Authenticator::load(&cli.store, &passphrase())?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Error::Local(format!("cannot listen on {addr}: {e}")))?;
            let local = listener.local_addr().map_err(|e| Error::Local(e.to_string()))?;
            auth.register_push("webhook", Some(&format!("http://{local}/push"))).await?;
            eprintln!("listening for pushes on http://{local}/push");
            let approve_pin = if auto_approve { pin } else { None };
            let app = axum::Router::new().route("/push", post(on_push)).with_state((auth, approve_pin));
            axum::serve(listener, app).await.map_err(|e| Error::Local(e.to_string()))?;
        }
    }
    Ok(())
}

async fn on_push(State((auth, pin)): State<(Authenticator, Option<String>)>, Json(push): Json<PushReference>) {
    print(&push);
    let Some(pin) = pin else { return };
    let result = match auth.request(&push.request_id).await {
        Ok(req) if req.number_choices.is_some() => {
            eprintln!("{}: number matching is on; answer with `respond --number`", push.request_id);
            return;
        }
        Ok(_) => auth.respond(&push.request_id, &Answer { approve: true, pin: Some(&pin), ..Default::default() }).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => print(&serde_json::json!({"requestID": push.request_id, "sessionStatus": r.session_status})),
        Err(e) => eprintln!("{}: {e}", push.request_id),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else {
        eprintln!("countersign-authenticator: cannot start the runtime");
        return ExitCode::FAILURE;
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("countersign-authenticator: {e}");
            ExitCode::FAILURE
        }
    }
}
