//! The master keyring as text (docs/security.md, "Keys and rotation"): the keys secrets
//! are sealed under, each with a key ID, one of them current. Pure data: reading and
//! writing the file is the server's business.
//!
//! The text has one key per line, `<id> <state> <key>`: a decimal key ID (1, 2, …, never
//! reused), `current` (seals and opens; exactly one) or `open` (opens only: an old key
//! not yet retired, or a new one staged on every node before it becomes current), and
//! the 32-byte key in base64url. `#` starts a comment. A text that is one bare key (the
//! single master key file of earlier versions) is that key as ID 1, current.

use countersign_proto::{b64u_decode, b64u_encode};

/// What a key in the ring is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Seals new values, and opens.
    Current,
    /// Opens only.
    Open,
}

impl KeyState {
    /// The word in the keyring text.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Current => "current",
            KeyState::Open => "open",
        }
    }
}

/// One master key and its ID.
#[derive(Clone)]
pub struct KeyEntry {
    /// The key ID, carried by every value sealed under the key.
    pub kid: u32,
    /// Whether it seals.
    pub state: KeyState,
    key: [u8; 32],
}

impl KeyEntry {
    /// The key's bytes.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyEntry({} {}, <key>)", self.kid, self.state.as_str())
    }
}

/// The master keys, in key-ID order, exactly one current.
#[derive(Debug, Clone)]
pub struct Keyring {
    entries: Vec<KeyEntry>,
}

/// The comment at the top of a written keyring.
const HEADER: &str = "# countersign master keyring (docs/security.md, \"Keys and rotation\").\n\
# One key per line: <key id> <current|open> <32-byte key, base64url>. Keep this file\n\
# mode 0600 and backed up: stored secrets cannot be read without these keys.\n";

impl Keyring {
    /// A ring of one key, ID 1, current: what a single master key is.
    pub fn single(key: [u8; 32]) -> Keyring {
        Keyring { entries: vec![KeyEntry { kid: 1, state: KeyState::Current, key }] }
    }

    /// Read a keyring text, or a bare key (ID 1). The error says what is wrong, never
    /// with key material.
    pub fn parse(text: &str) -> Result<Keyring, String> {
        let lines: Vec<&str> =
            text.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty()).collect();
        if let [one] = lines.as_slice()
            && !one.contains(char::is_whitespace)
        {
            return Ok(Keyring::single(decode_key(one).ok_or("the master key is not 32 bytes in base64url")?));
        }
        let mut entries = Vec::new();
        for (n, line) in lines.iter().enumerate() {
            let at = n + 1;
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [kid, state, key] = parts.as_slice() else {
                return Err(format!("keyring entry {at}: expected `<key id> <current|open> <key>`"));
            };
            let kid: u32 = kid
                .parse()
                .ok()
                .filter(|k| *k > 0)
                .ok_or_else(|| format!("keyring entry {at}: the key id must be a positive number"))?;
            let state = match *state {
                "current" => KeyState::Current,
                "open" => KeyState::Open,
                _ => return Err(format!("keyring entry {at}: the state must be `current` or `open`")),
            };
            let key =
                decode_key(key).ok_or_else(|| format!("keyring entry {at}: the key is not 32 bytes in base64url"))?;
            if entries.iter().any(|e: &KeyEntry| e.kid == kid) {
                return Err(format!("keyring: key id {kid} appears twice"));
            }
            entries.push(KeyEntry { kid, state, key });
        }
        let ring = Keyring::from_entries(entries)?;
        Ok(ring)
    }

    fn from_entries(mut entries: Vec<KeyEntry>) -> Result<Keyring, String> {
        entries.sort_by_key(|e| e.kid);
        match entries.iter().filter(|e| e.state == KeyState::Current).count() {
            1 => Ok(Keyring { entries }),
            0 => Err("keyring: no key is `current`".into()),
            _ => Err("keyring: more than one key is `current`".into()),
        }
    }

    /// The keyring text (with a header comment), as [`Keyring::parse`] reads it.
    pub fn to_text(&self) -> String {
        let mut out = HEADER.to_owned();
        for e in &self.entries {
            out.push_str(&format!("{} {} {}\n", e.kid, e.state.as_str(), b64u_encode(&e.key)));
        }
        out
    }

    /// Every key, in key-ID order.
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }

    /// The key that seals.
    pub fn current(&self) -> &KeyEntry {
        // from_entries and every change keep exactly one current entry.
        self.entries.iter().find(|e| e.state == KeyState::Current).unwrap_or(&self.entries[0])
    }

    /// Old keys: those before the current one. They open values not yet re-sealed.
    pub fn old_kids(&self) -> Vec<u32> {
        let cur = self.current().kid;
        self.entries.iter().filter(|e| e.kid < cur).map(|e| e.kid).collect()
    }

    /// A key staged after the current one (added with [`Keyring::stage`]), if any.
    pub fn staged(&self) -> Option<u32> {
        let cur = self.current().kid;
        self.entries.iter().rev().find(|e| e.kid > cur).map(|e| e.kid)
    }

    fn next_kid(&self) -> u32 {
        self.entries.iter().map(|e| e.kid).max().unwrap_or(0) + 1
    }

    /// Add `key` as a new key that opens but does not seal yet (so that every node has
    /// it before it is used); its ID.
    pub fn stage(&mut self, key: [u8; 32]) -> u32 {
        let kid = self.next_kid();
        self.entries.push(KeyEntry { kid, state: KeyState::Open, key });
        kid
    }

    /// Make the newest staged key current, or else add `key` as the new current key;
    /// the former current key stays, to open. The new current key's ID.
    pub fn rotate(&mut self, key: [u8; 32]) -> u32 {
        let kid = match self.staged() {
            Some(k) => k,
            None => self.stage(key),
        };
        for e in &mut self.entries {
            e.state = if e.kid == kid { KeyState::Current } else { KeyState::Open };
        }
        kid
    }

    /// Remove the old keys (a staged key stays); the IDs removed.
    pub fn retire_old(&mut self) -> Vec<u32> {
        let old = self.old_kids();
        self.entries.retain(|e| !old.contains(&e.kid));
        old
    }
}

fn decode_key(text: &str) -> Option<[u8; 32]> {
    b64u_decode(text.trim()).ok().and_then(|b| <[u8; 32]>::try_from(b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_key_is_key_one() {
        let ring = Keyring::parse(&format!("{}\n", b64u_encode(&[7; 32]))).unwrap();
        assert_eq!(ring.entries().len(), 1);
        assert_eq!((ring.current().kid, ring.current().key()), (1, &[7; 32]));
        assert!(Keyring::parse("AAAA").is_err());
        assert!(Keyring::parse("").is_err());
    }

    #[test]
    fn text_round_trip_and_rotation() {
        let mut ring = Keyring::single([1; 32]);
        assert_eq!(ring.rotate([2; 32]), 2);
        assert_eq!(ring.old_kids(), vec![1]);
        let text = ring.to_text();
        assert!(text.starts_with("# countersign master keyring"));
        assert!(text.contains("\n1 open ") && text.contains("\n2 current "));
        let back = Keyring::parse(&text).unwrap();
        assert_eq!(back.current().kid, 2);
        assert_eq!(back.entries()[0].key(), &[1; 32]);
        // Staged: opens, does not seal; the next rotation promotes it, not a new key.
        let mut ring = back;
        assert_eq!(ring.stage([3; 32]), 3);
        assert_eq!((ring.current().kid, ring.staged()), (2, Some(3)));
        assert_eq!(ring.rotate([9; 32]), 3);
        assert_eq!(ring.current().key(), &[3; 32]);
        assert_eq!(ring.old_kids(), vec![1, 2]);
        assert_eq!(ring.retire_old(), vec![1, 2]);
        assert_eq!(ring.entries().len(), 1);
        // IDs are never reused: the next is after the highest.
        assert_eq!(ring.rotate([4; 32]), 4);
    }

    #[test]
    fn bad_keyrings_are_refused_without_key_material() {
        let k = b64u_encode(&[5; 32]);
        for (text, says) in [
            (format!("1 open {k}\n2 open {k}"), "no key is `current`"),
            (format!("1 current {k}\n2 current {k}"), "more than one"),
            (format!("1 current {k}\n1 open {k}"), "appears twice"),
            (format!("0 current {k}"), "positive number"),
            (format!("1 seal {k}"), "`current` or `open`"),
            ("1 current AAAA".to_owned(), "not 32 bytes"),
            (format!("1 current {k} extra"), "expected"),
        ] {
            let e = Keyring::parse(&text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
            assert!(!e.contains(&k));
        }
        let ring = Keyring::parse(&format!("# c\n\n2 current {k} # the new one\n")).unwrap();
        assert_eq!(ring.current().kid, 2);
        assert!(!format!("{ring:?}").contains(&k));
    }
}
