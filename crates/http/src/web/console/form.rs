//! What a console form shows back: the values (as saved, or as posted when the server
//! refused them) and the server's error beside the field it names
//! (templates/console/fields.html renders the fields).

use super::{Fields, field_of};
use crate::error::ApiError;

/// A form's values and the error of its last submission.
#[derive(Default)]
pub(crate) struct Entered {
    values: Fields,
    field: Option<String>,
    error: Option<String>,
}

impl Entered {
    pub(crate) fn new(values: Fields) -> Entered {
        Entered { values, field: None, error: None }
    }

    /// The same values with the server's refusal.
    pub(crate) fn failed(mut self, e: &ApiError) -> Entered {
        self.field = field_of(e);
        self.error = Some(e.message.clone());
        self
    }

    /// The same values with the server's refusal, shown beside `field`.
    pub(crate) fn failed_at(mut self, e: &ApiError, field: String) -> Entered {
        self.field = Some(field);
        self.error = Some(e.message.clone());
        self
    }

    /// How many numbered rows `prefix.N` the values hold (the highest N plus one).
    pub(crate) fn rows(&self, prefix: &str) -> usize {
        let numbers = self.values.keys().filter_map(|k| k.strip_prefix(prefix)?.parse::<usize>().ok());
        numbers.map(|n| n + 1).max().unwrap_or(0)
    }

    /// The value of `key` (empty when absent).
    pub(crate) fn value(&self, key: &str) -> &str {
        self.values.get(key).map_or("", String::as_str)
    }

    /// Whether the checkbox `key` is ticked.
    pub(crate) fn checked(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// The error to show beside `key`, if it is that field's.
    pub(crate) fn error_for(&self, key: &str) -> Option<&str> {
        self.error.as_deref().filter(|_| self.field.as_deref() == Some(key))
    }

    /// The error no field among `keys` shows (shown at the top of the form).
    pub(crate) fn other_error(&self, keys: &[&str]) -> Option<&str> {
        self.error.as_deref().filter(|_| !self.field.as_deref().is_some_and(|f| keys.contains(&f)))
    }
}

/// The trimmed value of `key`, `None` when empty.
pub(crate) fn opt(f: &Fields, key: &str) -> Option<String> {
    f.get(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A comma- or line-separated list.
pub(crate) fn list(f: &Fields, key: &str) -> Vec<String> {
    f.get(key)
        .map(|v| v.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}
