//! Who may read the files that hold secrets (docs/security.md, "Files and permissions").
//! The server creates them private — the data directory 0700, the SQLite database and
//! the master key file 0600 (SQLite gives its -wal and -shm files the database's mode) —
//! and warns at startup about existing ones that group or others can read.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::sqlite_path;

/// The files of `config` that hold secrets and exist: the SQLite database with its -wal
/// and -shm files, and the master key file.
pub fn secret_files(config: &Config) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(db) = sqlite_path(&config.database_url) {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            files.push(PathBuf::from(name));
        }
    }
    if config.master_key.is_none() {
        files.push(PathBuf::from(&config.master_key_file));
    }
    files.retain(|f| f.exists());
    files
}

/// The mode bits of `path` that give group or others access, if any.
pub fn loose_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The warning for a file that group or others can read.
pub fn loose_warning(path: &Path, mode: u32) -> String {
    format!(
        "countersign: WARNING: {} can be read by other users (mode {mode:04o}) and holds secrets \
         (activation and one-time code hashes, sealed credentials, or the master key); run: chmod 600 {}",
        path.display(),
        path.display()
    )
}

/// Warn on standard error about every secret-holding file group or others can read.
pub fn warn_loose_modes(config: &Config) {
    for file in secret_files(config) {
        if let Some(mode) = loose_mode(&file) {
            eprintln!("{}", loose_warning(&file, mode));
            tracing::warn!(file = %file.display(), mode = format!("{mode:04o}"), "a file holding secrets is readable by group or others");
        }
    }
}
