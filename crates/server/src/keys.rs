//! The master keyring on disk, and rotating it (docs/security.md, "Keys and rotation").
//!
//! The keys live in the master key file (`countersign.key` in the data directory, or
//! `master_key_file`), mode 0600. A file of one bare key — what every start writes the
//! first time — is key 1. `countersign admin rotate-key` rewrites the file in place as a
//! keyring (`<id> <current|open> <key>` lines, [`Keyring`]), keeping every key it held;
//! running servers notice the new file within [`RELOAD_INTERVAL`] and load it, so values
//! sealed under the new key open everywhere before the command starts re-sealing.
//! `countersign admin retire-keys` removes the old keys once nothing depends on them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use countersign_core::Core;
use countersign_core::admin::{OldKeyUse, RESEAL_BATCH};
use countersign_core::seal::{Keyring, Sealer};

use crate::ServerError;
use crate::config::Config;

/// How often a running server checks its key file for a new keyring.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// How long `rotate-key` waits after writing the keyring before re-sealing, so that
/// servers on this machine have loaded it.
pub const ROTATE_WAIT: Duration = Duration::from_secs(3);

fn bad_key(from: &str, reason: impl Into<String>) -> ServerError {
    ServerError::MasterKey { from: from.to_owned(), reason: reason.into() }
}

/// The master keyring: `master_key` when configured (one key, or keyring text), else the
/// key file, created with a new random key (mode 0600) when missing.
pub fn keyring(config: &Config) -> Result<Keyring, ServerError> {
    if let Some(k) = &config.master_key {
        return Keyring::parse(&k.0).map_err(|r| bad_key("COUNTERSIGN_MASTER_KEY", r));
    }
    let path = Path::new(&config.master_key_file);
    match std::fs::read_to_string(path) {
        Ok(text) => Keyring::parse(&text).map_err(|r| bad_key(&config.master_key_file, r)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(ServerError::Random)?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(path).map_err(ServerError::io(format!("cannot create {}", path.display())))?;
            f.write_all(countersign_proto::b64u_encode(&key).as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(ServerError::io(format!("cannot write {}", path.display())))?;
            tracing::warn!(file = %path.display(), "created a new master key file: back it up; stored secrets cannot be read without it");
            Ok(Keyring::single(key))
        }
        Err(e) => Err(ServerError::io(format!("cannot read {}", path.display()))(e)),
    }
}

/// Replace the key file with `ring`, atomically (a new file, mode 0600, renamed over the
/// old one): a server reading it sees the old keyring or the new one, never a part.
pub fn write_keyring(path: &Path, ring: &Keyring) -> Result<(), ServerError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    let fail = |what: &str| ServerError::io(format!("cannot {what} {}", tmp.display()));
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(fail("create"))?;
    #[cfg(unix)]
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(fail("set the mode of"))?;
    f.write_all(ring.to_text().as_bytes()).and_then(|()| f.sync_all()).map_err(fail("write"))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(ServerError::io(format!("cannot replace {}", path.display())))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// What identifies a version of the key file: a rename or a rewrite changes it.
fn stamp(path: &Path) -> Option<(Option<SystemTime>, u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.modified().ok(), m.len(), ino))
}

/// Load the key file into `sealer` whenever it changes, checking every
/// [`RELOAD_INTERVAL`], until `stop`. A file that cannot be read or parsed is reported
/// and the keys in use are kept.
pub async fn watch(path: PathBuf, sealer: Arc<Sealer>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut seen = stamp(&path);
    let mut tick = tokio::time::interval(RELOAD_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = stop.changed() => if changed.is_err() || *stop.borrow() {
                return;
            } else {
                continue;
            },
        }
        let now = stamp(&path);
        if now == seen {
            continue;
        }
        seen = now;
        match std::fs::read_to_string(&path).map_err(|e| e.to_string()).and_then(|t| Keyring::parse(&t)) {
            Ok(ring) => {
                sealer.load(&ring);
                let kids: Vec<u32> = ring.entries().iter().map(|e| e.kid).collect();
                tracing::info!(file = %path.display(), current = ring.current().kid, keys = ?kids, "master keyring reloaded");
            }
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "cannot reload the master keyring; keeping the keys in use");
            }
        }
    }
}

/// Holds the key file's lock (`<file>.lock`) so that two rotations never interleave.
struct Lock(#[allow(dead_code)] std::fs::File);

fn lock(path: &Path) -> Result<Lock, ServerError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let what = format!("cannot lock {}", PathBuf::from(&name).display());
    let f = opts.open(&name).map_err(ServerError::io(what.clone()))?;
    f.lock().map_err(ServerError::io(what))?;
    Ok(Lock(f))
}

/// The key file, when the keys come from one (rotation rewrites it).
fn key_file(config: &Config) -> Result<&Path, ServerError> {
    if config.master_key.is_some() {
        return Err(ServerError::Usage(
            "the master key is given in COUNTERSIGN_MASTER_KEY; rotation writes a keyring file: put the key in \
             a file (COUNTERSIGN_MASTER_KEY_FILE, or countersign.key in the data directory) and unset the variable"
                .into(),
        ));
    }
    Ok(Path::new(&config.master_key_file))
}

/// What `rotate-key` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Add a key that opens but does not seal yet (copy the file to every node next).
    Stage,
    /// Make the staged key (else a new one) current, then re-seal everything.
    Rotate,
    /// Re-seal what is still under an old key (after copying the keyring to every node,
    /// or after an interrupted run).
    ResealOnly,
}

/// `countersign admin rotate-key`: change the keyring as asked, then (unless staging)
/// re-seal every stored secret under the current key on `store`'s database, while
/// servers keep serving. Prints what it did.
pub async fn rotate(config: &Config, core: Core, how: Rotation) -> Result<(), ServerError> {
    let path = key_file(config)?;
    let _lock = lock(path)?;
    let mut ring = keyring(config)?;
    if how != Rotation::ResealOnly {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(ServerError::Random)?;
        if how == Rotation::Stage {
            let kid = ring.stage(key);
            write_keyring(path, &ring)?;
            key_event(&core, serde_json::json!({ "step": "staged", "kid": kid })).await;
            println!("countersign: staged master key {kid} in {} (it opens, it does not seal yet).", path.display());
            println!("Copy that file to every node, then run `countersign admin rotate-key` to make it current.");
            return Ok(());
        }
        let kid = ring.rotate(key);
        write_keyring(path, &ring)?;
        key_event(&core, serde_json::json!({ "step": "current", "kid": kid })).await;
        println!("countersign: master key {kid} is current in {}; older keys still open.", path.display());
        println!("waiting {} s for running servers to load it…", ROTATE_WAIT.as_secs());
        tokio::time::sleep(ROTATE_WAIT).await;
    }
    core.sealer.load(&ring);
    let done = core.reseal_all(RESEAL_BATCH).await.map_err(|e| ServerError::domain("", "re-sealing failed: ", e))?;
    let total: u64 = done.resealed.values().sum();
    key_event(&core, serde_json::json!({ "step": "resealed", "kid": ring.current().kid, "values": total })).await;
    println!("re-sealed {total} values under master key {}:", ring.current().kid);
    for (column, n) in &done.resealed {
        println!("  {column}: {n}");
    }
    for (column, n) in &done.unreadable {
        println!("  {column}: {n} under an old key cannot be opened (damaged?); left as they are");
    }
    for (column, n) in &done.remaining {
        println!(
            "  {column}: {n} were rewritten under an old key meanwhile; run `countersign admin rotate-key --reseal-only`"
        );
    }
    let old = ring.old_kids();
    if !old.is_empty() {
        println!(
            "old master keys {old:?} are kept to open what was not re-sealed; remove them with \
             `countersign admin retire-keys` once every node has this keyring."
        );
    }
    Ok(())
}

/// `countersign admin retire-keys`: remove the old keys from the keyring, refusing while
/// a stored value is sealed under one or a usable code is hashed under one.
pub async fn retire(config: &Config, core: Core) -> Result<(), ServerError> {
    let path = key_file(config)?;
    let _lock = lock(path)?;
    let mut ring = keyring(config)?;
    if ring.old_kids().is_empty() {
        println!("countersign: no old master key to retire (current: key {}).", ring.current().kid);
        return Ok(());
    }
    core.sealer.load(&ring);
    let now = core.clock.now();
    let use_ = core.old_key_use(now).await.map_err(|e| ServerError::domain("", "cannot check the old keys: ", e))?;
    if !use_.is_clear() {
        return Err(ServerError::Usage(still_in_use(&ring, &use_)));
    }
    let gone = ring.retire_old();
    write_keyring(path, &ring)?;
    key_event(&core, serde_json::json!({ "step": "retired", "kids": gone, "kid": ring.current().kid })).await;
    println!("countersign: retired master keys {gone:?}; key {} remains, in {}.", ring.current().kid, path.display());
    Ok(())
}

fn still_in_use(ring: &Keyring, use_: &OldKeyUse) -> String {
    let mut text = format!("cannot retire master keys {:?}: still in use:", ring.old_kids());
    for (column, n) in use_.sealed.iter().filter(|(_, n)| **n > 0) {
        text.push_str(&format!(" {n} values in {column};"));
    }
    if let Some(until) = use_.codes_usable_until {
        text.push_str(&format!(" {} codes hashed under them, usable until {};", use_.codes, until.to_rfc3339()));
    }
    text.push_str(
        " run `countersign admin rotate-key --reseal-only` for sealed values, wait for the codes to expire, \
         then try again",
    );
    text
}

/// A step of a rotation, in the audit log (`key_rotated`; key IDs only, never a key).
async fn key_event(core: &Core, details: serde_json::Value) {
    use countersign_core::audit::{AuditEvent, AuditKind};
    core.audit_or_log(AuditEvent::new(AuditKind::KeyRotated).details(details)).await;
}
