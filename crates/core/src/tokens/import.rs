//! Importing hardware tokens (docs/tokens.md, "Importing hardware tokens"): CSV rows
//! `serial,type,seed_hex,digits,period_or_counter,algorithm`, read one line at a time,
//! each checked (an error names its line and column, never the seed) and its seed sealed
//! at once, then inserted all or none.
//!
//! Two forms feed the same [`TokenImport`]: the JSON body (`{"format": "csv", "data":
//! "…"}`, up to [`MAX_JSON_IMPORT`] tokens, bounded by the JSON body limit) and a
//! `text/csv` body streamed by the HTTP layer line by line (up to [`MAX_STREAMED_IMPORT`]
//! tokens). Only the parsed tokens are kept, never the file: the insert happens after the
//! last line, in one short transaction, so no transaction waits on a slow upload.

use std::collections::HashMap;

use super::{ImportInput, Token, TokenKind, TokenState, check_shape};
use crate::clock::Timestamp;
use crate::error::{CoreError, Entity};
use crate::random;
use crate::service::Core;
use crate::store::StoreError;
use crate::tokens::oath::Algorithm;

/// Most tokens one JSON import holds.
pub const MAX_JSON_IMPORT: usize = 10_000;
/// Most tokens one streamed (`text/csv`) import holds.
pub const MAX_STREAMED_IMPORT: usize = 200_000;
/// Longest line of an import, in bytes (a row with a 64-byte seed is about 230).
pub const MAX_LINE: usize = 1024;

/// The six columns, in order.
const COLUMNS: [&str; 6] = ["serial", "type", "seed_hex", "digits", "period_or_counter", "algorithm"];

/// Which form the rows came in: it decides how an error names its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportForm {
    /// `{"format": "csv", "data": "…"}`: the field is `data.lineN` (as it always was).
    Json,
    /// A `text/csv` body: the field is `lineN.column` (`lineN` for the row as a whole).
    Csv,
}

/// An import in progress: the tokens of the lines read so far, checked and sealed.
pub struct TokenImport<'a> {
    core: &'a Core,
    tenant_id: String,
    now: Timestamp,
    form: ImportForm,
    max: usize,
    line: usize,
    tokens: Vec<Token>,
    /// Serial → the line that named it, to refuse a serial twice in one file.
    serials: HashMap<String, usize>,
}

impl std::fmt::Debug for TokenImport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the tokens: their sealed seeds are nobody's business in a log.
        f.debug_struct("TokenImport").field("line", &self.line).field("tokens", &self.tokens.len()).finish()
    }
}

impl Core {
    /// Start importing tokens into the tenant named by `domain`.
    pub async fn begin_token_import(&self, domain: &str, form: ImportForm) -> Result<TokenImport<'_>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let max = match form {
            ImportForm::Json => MAX_JSON_IMPORT,
            ImportForm::Csv => MAX_STREAMED_IMPORT,
        };
        Ok(TokenImport {
            core: self,
            tenant_id: tenant.id,
            now: self.clock.now(),
            form,
            max,
            line: 0,
            tokens: Vec::new(),
            serials: HashMap::new(),
        })
    }

    /// Import hardware tokens from a JSON body (admin API): all or none; the number
    /// imported. The streamed `text/csv` form feeds [`Core::begin_token_import`] itself.
    pub async fn import_tokens(&self, domain: &str, input: ImportInput) -> Result<usize, CoreError> {
        let mut import = self.begin_token_import(domain, ImportForm::Json).await?;
        if input.format != "csv" {
            return Err(CoreError::invalid("format", "format must be csv"));
        }
        for line in input.data.lines() {
            import.line(line)?;
        }
        import.finish().await
    }
}

impl TokenImport<'_> {
    /// The error for `column` (or the whole row) of the current line.
    fn bad(&self, column: Option<&str>, message: &str) -> CoreError {
        let n = self.line;
        match (self.form, column) {
            (ImportForm::Json, Some(c)) => CoreError::invalid(format!("data.line{n}"), format!("{c}: {message}")),
            (ImportForm::Json, None) => CoreError::invalid(format!("data.line{n}"), message.to_owned()),
            (ImportForm::Csv, Some(c)) => {
                CoreError::invalid(format!("line{n}.{c}"), format!("line {n}, {c}: {message}"))
            }
            (ImportForm::Csv, None) => CoreError::invalid(format!("line{n}"), format!("line {n}: {message}")),
        }
    }

    /// The next line of the file (without its line break). An empty line, and a first
    /// line starting with `serial` (a header), add nothing.
    pub fn line(&mut self, text: &str) -> Result<(), CoreError> {
        self.line += 1;
        if text.len() > MAX_LINE {
            return Err(self.bad(None, &format!("a line is at most {MAX_LINE} bytes")));
        }
        let text = text.trim();
        if text.is_empty() || (self.line == 1 && text.to_ascii_lowercase().starts_with("serial")) {
            return Ok(());
        }
        if self.tokens.len() >= self.max {
            return Err(self.bad(None, &format!("at most {} tokens per import", self.max)));
        }
        let cols: Vec<&str> = text.split(',').map(str::trim).collect();
        let [serial, kind, seed, digits, moving, alg] = cols[..] else {
            return Err(self.bad(None, &format!("six columns: {}", COLUMNS.join(","))));
        };
        let serial_ok = !serial.is_empty()
            && serial.len() <= 64
            && serial.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !serial_ok {
            return Err(self.bad(Some("serial"), "the serial is 1 to 64 letters, digits, '-' or '_'"));
        }
        if let Some(first) = self.serials.get(serial) {
            return Err(self.bad(Some("serial"), &format!("the serial is on line {first} already")));
        }
        let kind = TokenKind::from_stored(kind).ok_or_else(|| self.bad(Some("type"), "type must be totp or hotp"))?;
        // The seed is never echoed, whatever is wrong with it.
        let seed_bytes = hex::decode(seed).map_err(|_| self.bad(Some("seed_hex"), "the seed must be hexadecimal"))?;
        if !(10..=64).contains(&seed_bytes.len()) {
            return Err(self.bad(Some("seed_hex"), "the seed must be 10 to 64 bytes"));
        }
        let digits: u32 = digits.parse().map_err(|_| self.bad(Some("digits"), "digits must be a number"))?;
        let moving: i64 =
            moving.parse().map_err(|_| self.bad(Some("period_or_counter"), "period_or_counter must be a number"))?;
        let algorithm = Algorithm::from_stored(&alg.to_ascii_uppercase())
            .ok_or_else(|| self.bad(Some("algorithm"), "algorithm must be SHA1, SHA256 or SHA512"))?;
        let (period, moving) = match kind {
            TokenKind::Totp => {
                (u32::try_from(moving).map_err(|_| self.bad(Some("period_or_counter"), "bad period"))?, -1)
            }
            TokenKind::Hotp if moving >= 0 => (30, moving),
            TokenKind::Hotp => return Err(self.bad(Some("period_or_counter"), "the counter cannot be negative")),
        };
        check_shape(digits, period).map_err(|e| match e {
            CoreError::Invalid { field, message } => {
                let column = if field == "digits" { "digits" } else { "period_or_counter" };
                self.bad(Some(column), &message)
            }
            other => other,
        })?;
        let core = self.core;
        self.serials.insert(serial.to_owned(), self.line);
        self.tokens.push(Token {
            id: random::new_id(&*core.random)?,
            tenant_id: self.tenant_id.clone(),
            user_pk: None,
            serial: serial.to_owned(),
            kind,
            algorithm,
            digits,
            period,
            moving,
            secret: core.sealer.seal(&*core.random, &hex::encode(&seed_bytes))?,
            state: TokenState::Active,
            failures: 0,
            created_at: self.now,
            updated_at: self.now,
        });
        Ok(())
    }

    /// Lines read so far.
    pub fn lines(&self) -> usize {
        self.line
    }

    /// Insert every token read, all or none; how many. A file without a token is refused
    /// (naming `data` for JSON, `body` for CSV); a serial the tenant has is `409 token_exists`.
    pub async fn finish(self) -> Result<usize, CoreError> {
        if self.tokens.is_empty() {
            let field = if self.form == ImportForm::Json { "data" } else { "body" };
            return Err(CoreError::invalid(field, format!("1 to {} tokens per import", self.max)));
        }
        match self.core.store.insert_tokens(&self.tokens).await {
            Ok(()) => Ok(self.tokens.len()),
            Err(StoreError::Conflict) => Err(CoreError::Exists(Entity::Token)),
            Err(e) => Err(e.into()),
        }
    }
}
