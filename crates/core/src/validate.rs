//! Syntax rules for the identifiers and contact data the API accepts.
//!
//! Each check returns `Err(message)` with a sentence for the caller; the operations turn
//! that into [`crate::CoreError::Invalid`] with the field's name.

/// serde `deserialize_with` for a field that is a JSON object kept as a [`serde_json::Value`]
/// (CDDC, a WebAuthn response): any other JSON type is refused while the body is read,
/// so the caller gets `422 invalid_value` naming the field, as the API description says.
pub fn json_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<serde_json::Value, D::Error> {
    use serde::Deserialize;
    let v = serde_json::Value::deserialize(d)?;
    if v.is_object() { Ok(v) } else { Err(serde::de::Error::invalid_type(unexpected(&v), &"a JSON object")) }
}

/// [`json_object`] for an optional field: `null` or absent is `None`.
pub fn optional_json_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    use serde::Deserialize;
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) if v.is_object() => Ok(Some(v)),
        Some(v) => Err(serde::de::Error::invalid_type(unexpected(&v), &"a JSON object")),
    }
}

fn unexpected(v: &serde_json::Value) -> serde::de::Unexpected<'static> {
    use serde::de::Unexpected;
    match v {
        serde_json::Value::Null => Unexpected::Unit,
        serde_json::Value::Bool(b) => Unexpected::Bool(*b),
        serde_json::Value::Number(_) => Unexpected::Other("number"),
        serde_json::Value::String(_) => Unexpected::Other("string"),
        serde_json::Value::Array(_) => Unexpected::Seq,
        serde_json::Value::Object(_) => Unexpected::Map,
    }
}

/// A DNS-style domain name: dot-separated labels of `a-z0-9-`, each 1–63 characters and
/// not starting or ending with `-`, 253 characters at most. Expects lower case.
pub fn domain(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 253 {
        return Err("domain must be 1 to 253 characters".into());
    }
    for label in s.split('.') {
        let ok_chars = label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if label.is_empty() || label.len() > 63 || !ok_chars || label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "domain must be dot-separated labels of a-z, 0-9 and '-', e.g. example.com (got {:?})",
                truncate(s)
            ));
        }
    }
    Ok(())
}

/// A user ID: 1–128 characters of `A-Za-z0-9._-+`.
pub fn user_id(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'));
    if ok { Ok(()) } else { Err("userID must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '-' and '+'".into()) }
}

/// An E.164 phone number: `+`, then 2–15 digits, the first not `0`.
pub fn phone(s: &str) -> Result<(), String> {
    let digits = s.strip_prefix('+').unwrap_or("");
    let ok = (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    if ok { Ok(()) } else { Err("phone must be in E.164 form, e.g. +15550100".into()) }
}

/// An email address: `local@domain`, local part 1–64 printable ASCII characters without
/// spaces or `@`, a valid domain (case-insensitive), 254 characters in all at most.
pub fn email(s: &str) -> Result<(), String> {
    let bad = || Err("email must be an address like alice@example.com".into());
    if s.len() > 254 {
        return bad();
    }
    let Some((local, dom)) = s.rsplit_once('@') else {
        return bad();
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.bytes().all(|b| b.is_ascii_graphic() && b != b'@')
        && !local.starts_with('.')
        && !local.ends_with('.');
    if !local_ok || !dom.contains('.') || domain(&dom.to_ascii_lowercase()).is_err() {
        return bad();
    }
    Ok(())
}

/// A language tag such as `en` or `pt-BR`: 2–35 characters of letters, digits and `-`,
/// starting with a letter, no empty subtags.
pub fn locale(s: &str) -> Result<(), String> {
    let ok = (2..=35).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.split('-').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok { Ok(()) } else { Err("locale must be a language tag such as en or pt-BR".into()) }
}

/// The name of a front door's client or integration (RADIUS clients, Duo integrations):
/// 1–64 characters, no control characters; trimmed.
pub fn short_name(s: &str) -> Result<&str, crate::error::CoreError> {
    let name = s.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(crate::error::CoreError::invalid(
            "name",
            "name must be 1 to 64 characters without control characters",
        ));
    }
    Ok(name)
}

/// A display name for a key or token: 1–100 characters, no control characters.
pub fn name(s: &str) -> Result<(), String> {
    let ok = !s.trim().is_empty() && s.chars().count() <= 100 && !s.chars().any(char::is_control);
    if ok { Ok(()) } else { Err("name must be 1 to 100 characters without control characters".into()) }
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn domains() {
        for ok in ["example.com", "a", "xn--bcher-kva.de", "a-b.c-d.e", "localhost"] {
            assert!(domain(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Example.com", "-a.com", "a-.com", "a..com", ".a", "a.", "a_b.com", "é.com"] {
            assert!(domain(bad).is_err(), "{bad}");
        }
        assert!(domain(&format!("{}.com", "a".repeat(63))).is_ok());
        assert!(domain(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(domain(&["a"; 127].join(".")).is_ok()); // 253 characters
        assert!(domain(&format!("{}.aa", ["a"; 126].join("."))).is_err()); // 254
    }

    #[test]
    fn phones() {
        for ok in ["+15550100", "+441632960961", "+12", "+123456789012345"] {
            assert!(phone(ok).is_ok(), "{ok}");
        }
        for bad in ["", "+", "15550100", "+0123", "+1", "+1234567890123456", "+1 555 0100", "+1-555"] {
            assert!(phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for ok in ["alice@example.com", "a.b+c@Sub.Example.org", "x@a.io"] {
            assert!(email(ok).is_ok(), "{ok}");
        }
        for bad in ["", "alice", "alice@", "@example.com", "a b@example.com", "alice@localhost", "a@@b.com", ".a@b.com"]
        {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_ids_and_locales() {
        assert!(user_id("alice").is_ok());
        assert!(user_id("a.b_c-d+e9").is_ok());
        for bad in ["", "a@b", "a b", "a/b", "ä"] {
            assert!(user_id(bad).is_err(), "{bad}");
        }
        assert!(user_id(&"a".repeat(129)).is_err());
        for ok in ["en", "pt-BR", "zh-Hant-TW"] {
            assert!(locale(ok).is_ok(), "{ok}");
        }
        for bad in ["", "e", "1en", "en-", "en--US", "en_US"] {
            assert!(locale(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        // The validators are total: any string gets an answer, never a panic.
        #[test]
        fn validators_never_panic(s in ".{0,300}") {
            let _ = (domain(&s), user_id(&s), phone(&s), email(&s), locale(&s), name(&s));
        }

        // Whatever a validator accepts is safe to embed in `userID@domain` and paths.
        #[test]
        fn accepted_ids_have_no_separators(s in "[a-zA-Z0-9._+@/ -]{0,40}") {
            if user_id(&s).is_ok() {
                prop_assert!(!s.contains('@') && !s.contains('/') && !s.contains(' '));
            }
            if domain(&s).is_ok() {
                prop_assert!(!s.contains('@') && !s.contains('/') && !s.contains(' '));
            }
        }

        #[test]
        fn e164_digits_accepted(n in 10u64..999_999_999_999_999u64) {
            let s = format!("+{n}");
            prop_assert!(phone(&s).is_ok());
        }
    }
}
