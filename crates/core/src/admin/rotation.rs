//! Master-key rotation (docs/security.md, "Keys and rotation"): re-seal every stored
//! secret under the current key while the server serves, and tell whether anything still
//! depends on the old keys before they are retired. The keyring itself (where keys live,
//! how servers learn of a new one) is the server's business; this works on whatever
//! ring [`Core::sealer`] holds.

use std::collections::BTreeMap;

use crate::clock::Timestamp;
use crate::error::CoreError;
use crate::seal::{mac_kid, mac_prefix, sealed_kid, sealed_prefix};
use crate::service::Core;
use crate::store::SealedColumn;

/// Rows read per query while re-sealing.
pub const RESEAL_BATCH: u32 = 200;
/// Passes over a column at most: a pass after the first only finds values written
/// under an old key meanwhile (by a server that had not loaded the new key yet) or whose
/// conditional update lost to a concurrent write.
const MAX_PASSES: u32 = 5;

/// What a re-sealing run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Values re-sealed, by `table.column`.
    pub resealed: BTreeMap<&'static str, u64>,
    /// Values under an old key that could not be opened (damaged, or under a key this
    /// keyring lacks), by `table.column`: left as they are.
    pub unreadable: BTreeMap<&'static str, u64>,
    /// Values still under an old key after the last pass (written meanwhile), by
    /// `table.column`: run again.
    pub remaining: BTreeMap<&'static str, u64>,
}

/// What still depends on keys other than the current one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OldKeyUse {
    /// Values sealed under another key, by `table.column`.
    pub sealed: BTreeMap<&'static str, u64>,
    /// Codes (one-time codes of pending sessions, activation codes) still usable and
    /// hashed under another key.
    pub codes: u64,
    /// When the last of those codes stops being usable.
    pub codes_usable_until: Option<Timestamp>,
}

impl OldKeyUse {
    /// Whether nothing depends on an old key: they can be retired.
    pub fn is_clear(&self) -> bool {
        self.sealed.values().all(|n| *n == 0) && self.codes == 0
    }
}

/// The sealed values in a stored value: the value itself, or a JSON column's strings.
fn sealed_in(column: SealedColumn, value: &str) -> Vec<String> {
    if !column.is_json() {
        return sealed_kid(value).map(|_| vec![value.to_owned()]).unwrap_or_default();
    }
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) if sealed_kid(s).is_some() => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            serde_json::Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(value) {
        walk(&v, &mut out);
    }
    out
}

impl Core {
    /// The stored value with every value sealed under another key than the current one
    /// sealed again under the current key; `None` when nothing is to change.
    fn resealed(&self, column: SealedColumn, value: &str) -> Result<Option<String>, CoreError> {
        let current = self.sealer.current_kid();
        let mut out = value.to_owned();
        let mut changed = false;
        for old in sealed_in(column, value) {
            if sealed_kid(&old) == Some(current) {
                continue;
            }
            let new = self.sealer.seal(&*self.random, &self.sealer.open(&old)?)?;
            out = if column.is_json() { out.replace(&format!("\"{old}\""), &format!("\"{new}\"")) } else { new };
            changed = true;
        }
        Ok(changed.then_some(out))
    }

    /// Seal every stored secret under another key than the current one again under the
    /// current key, in batches of `batch` rows, each row with a conditional update (only
    /// if it still holds the value read), so that writes made meanwhile are never lost.
    /// Runs while the server serves.
    pub async fn reseal_all(&self, batch: u32) -> Result<Resealed, CoreError> {
        let prefix = sealed_prefix(self.sealer.current_kid());
        let mut report = Resealed::default();
        for column in SealedColumn::ALL {
            let mut pass = 0;
            loop {
                pass += 1;
                let (mut pending, mut after) = (0u64, String::new());
                loop {
                    let rows = self.store.sealed_rows(column, &prefix, &after, batch.max(1)).await?;
                    let Some(last) = rows.last() else { break };
                    after = last.key.clone();
                    for row in rows {
                        let new = match self.resealed(column, &row.value) {
                            Ok(Some(new)) => new,
                            Ok(None) => continue,
                            Err(e) => {
                                tracing::warn!(column = column.name(), row = %row.key, error = %e,
                                    "a sealed value under an old key cannot be opened; left as it is");
                                *report.unreadable.entry(column.name()).or_default() += 1;
                                continue;
                            }
                        };
                        if self.store.replace_sealed(column, &row.key, &row.value, &new).await? {
                            *report.resealed.entry(column.name()).or_default() += 1;
                        } else {
                            pending += 1;
                        }
                    }
                }
                if pending == 0 || pass >= MAX_PASSES {
                    if pending > 0 {
                        report.remaining.insert(column.name(), pending);
                    }
                    break;
                }
            }
        }
        Ok(report)
    }

    /// What still depends on keys other than the current one: sealed values (readable or
    /// not) and codes still usable at `now` hashed under them.
    pub async fn old_key_use(&self, now: Timestamp) -> Result<OldKeyUse, CoreError> {
        let current = self.sealer.current_kid();
        let prefix = sealed_prefix(current);
        let mut use_ = OldKeyUse::default();
        for column in SealedColumn::ALL {
            let mut after = String::new();
            loop {
                let rows = self.store.sealed_rows(column, &prefix, &after, RESEAL_BATCH).await?;
                let Some(last) = rows.last() else { break };
                after = last.key.clone();
                let old = rows
                    .iter()
                    .filter(|r| sealed_in(column, &r.value).iter().any(|v| sealed_kid(v) != Some(current)))
                    .count();
                if old > 0 {
                    *use_.sealed.entry(column.name()).or_default() += old as u64;
                }
            }
        }
        if current != 1 {
            for (hash, until) in self.store.live_code_hashes(now, &mac_prefix(current)).await? {
                if mac_kid(&hash).is_some_and(|k| k != current) {
                    use_.codes += 1;
                    use_.codes_usable_until = use_.codes_usable_until.max(Some(until));
                }
            }
        }
        Ok(use_)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_are_found_in_plain_and_json_columns() {
        assert_eq!(sealed_in(SealedColumn::Tokens, "v1.AAAA"), vec!["v1.AAAA"]);
        assert!(sealed_in(SealedColumn::Outbox, "{\"to\":\"v1.x\"}").is_empty(), "plain JSON payloads are not sealed");
        let cfg = r#"{"secret":"v2.3.BBBB","endpoints":[{"url":"https://rp/v1.0","password":"v1.CCCC"}],"n":null}"#;
        let mut found = sealed_in(SealedColumn::TenantCallbacks, cfg);
        found.sort();
        assert_eq!(found, vec!["v1.CCCC", "v2.3.BBBB"]);
    }
}
