//! `countersign-authenticator`: the reference mobile authenticator on the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use clap::{ArgGroup, Parser, Subcommand};
use countersign_authenticator::{ActivateOptions, Answer, Authenticator, Error, qrimage};
use countersign_proto::messages::PendingRequest;
use countersign_proto::messages::PushReference;

/// The reference countersign mobile authenticator: does what the phone app does.
///
/// Keys live in the store file, sealed with a passphrase from the environment variable
/// COUNTERSIGN_AUTHENTICATOR_PASSPHRASE (empty when unset). The PIN is never stored.
///
/// Exit status: 0 done; 1 an error (local, network, or the server refused); 2 wrong usage;
/// 3 `respond` was answered but the session did not end as asked (e.g. `Decline` after
/// `--approve`: a wrong number).
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
        /// Register a custom authenticator of this name (a key of its own, for
        /// `push_custom` logins); repeat for several.
        #[arg(long = "custom", value_name = "NAME")]
        custom: Vec<String>,
    },
    /// Print the pending requests as JSON.
    Pending,
    /// Approve or decline a request, signed with the key its method needs.
    ///
    /// NoPIN: the possession key (a PIN given is not used); PIN: the PIN key (--pin
    /// needed); Fingerprint: the biometric key, or the PIN key when --pin is given without
    /// --biometric or the device has no biometric key; Custom: the key of the custom
    /// authenticator the request names, or the PIN key when --pin is given without --custom
    /// or the device has no such authenticator. Declines: the possession key. Exits 3 when
    /// the session does not end as asked.
    #[command(group(ArgGroup::new("decision").required(true).args(["approve", "decline"])))]
    Respond {
        /// The request ID.
        request_id: String,
        /// Approve.
        #[arg(long)]
        approve: bool,
        /// Decline.
        #[arg(long)]
        decline: bool,
        /// The PIN (PIN logins, and fingerprint logins without --biometric; not used otherwise).
        #[arg(long)]
        pin: Option<String>,
        /// Approve a fingerprint login with the biometric key (the default without --pin).
        #[arg(long)]
        biometric: bool,
        /// Approve a custom-authenticator login with that authenticator's key (the default
        /// without --pin).
        #[arg(long)]
        custom: bool,
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
        /// Approve each push that needs no number: NoPIN ones, Fingerprint ones with the
        /// biometric key (or the PIN), Custom ones with the custom authenticator they name
        /// (or the PIN), PIN ones when --pin is given. Others are reported on standard error.
        #[arg(long)]
        auto_approve: bool,
        /// The PIN for auto-approval of PIN (and, without a biometric key, Fingerprint) requests.
        #[arg(long, requires = "auto_approve")]
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

fn note(text: &str) {
    eprintln!("countersign-authenticator: note: {text}");
}

async fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Activate { payload, qr_image, pin, no_biometric, app_id, custom } => {
            let payload = payload_or_image(payload, qr_image)?;
            let opts = ActivateOptions { biometric: !no_biometric, app_id, device_name: None, custom };
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
        Command::Respond { request_id, approve, decline: _, pin, biometric, custom, number } => {
            let auth = Authenticator::load(&cli.store, &passphrase())?;
            let answer = Answer { approve, pin: pin.as_deref(), biometric, custom, number, key: None };
            let req = auth.request(&request_id).await?;
            // Checked before anything is sent: a missing PIN is a local error.
            if let Some(ignored) = auth.choose_key(&req, &answer)?.ignored {
                note(&ignored);
            }
            let body = auth.response_body(&req, &answer)?;
            let result = auth.send_response(&request_id, &body).await?;
            print(&result);
            let wanted = if approve { "Accept" } else { "Decline" };
            if result.session_status != wanted {
                let why = match (&req.number_choices, number) {
                    (Some(_), None) => " (the request uses number matching: give --number)",
                    (Some(_), Some(_)) => " (with number matching, a wrong number declines)",
                    (None, _) => "",
                };
                eprintln!("countersign-authenticator: the session ended {}, not {wanted}{why}", result.session_status);
                return Ok(ExitCode::from(3));
            }
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
            let auto = auto_approve.then(|| {
                let custom = &auth.state.secrets.custom;
                let can = match (&pin, auth.state.secrets.biometric.is_some()) {
                    (Some(_), _) => "NoPIN, PIN, Fingerprint and Custom requests".to_owned(),
                    (None, true) if !custom.is_empty() => format!(
                        "NoPIN, Fingerprint and Custom requests for {} (PIN ones need --pin)",
                        custom.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                    (None, true) => "NoPIN and Fingerprint requests (PIN ones need --pin)".to_owned(),
                    (None, false) => "NoPIN requests (PIN and Fingerprint ones need --pin)".to_owned(),
                };
                eprintln!("auto-approving {can} without number matching");
                AutoApprove { pin }
            });
            let app = axum::Router::new().route("/push", post(on_push)).with_state((auth, auto));
            axum::serve(listener, app).await.map_err(|e| Error::Local(e.to_string()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `listen --auto-approve` approves with.
#[derive(Clone)]
struct AutoApprove {
    pin: Option<String>,
}

async fn on_push(State((auth, auto)): State<(Authenticator, Option<AutoApprove>)>, Json(push): Json<PushReference>) {
    print(&push);
    let Some(auto) = auto else { return };
    let id = &push.request_id;
    match auto_approve(&auth, &auto, id).await {
        Ok(Some(status)) => print(&serde_json::json!({"requestID": id, "sessionStatus": status})),
        Ok(None) => {}
        Err(e) => eprintln!("{id}: not approved: {e}"),
    }
}

/// Approve request `id` when it can be without the user: the session's final state, or
/// `None` when it is left to the user (said on standard error).
async fn auto_approve(auth: &Authenticator, auto: &AutoApprove, id: &str) -> Result<Option<String>, Error> {
    let req: PendingRequest = auth.request(id).await?;
    if req.number_choices.is_some() {
        eprintln!("{id}: number matching is on, so it is left to you: `respond {id} --approve --number N`");
        return Ok(None);
    }
    let answer = Answer { approve: true, pin: auto.pin.as_deref(), ..Default::default() };
    // A PIN request without --pin fails here, before anything is sent.
    let body = auth.response_body(&req, &answer)?;
    Ok(Some(auth.send_response(id, &body).await?.session_status))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else {
        eprintln!("countersign-authenticator: cannot start the runtime");
        return ExitCode::FAILURE;
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("countersign-authenticator: {e}");
            ExitCode::FAILURE
        }
    }
}
