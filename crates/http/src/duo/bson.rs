//! BSON documents (bsonspec.org) from JSON values, for Duo Unix 1.x's `/rest/v1/*.bson`
//! answers: strings, 32- or 64-bit integers, doubles, booleans, null, documents, arrays.

use serde_json::Value;

/// `value` (an object) as a BSON document; other values are wrapped as `{"": value}`.
pub fn document(value: &Value) -> Vec<u8> {
    match value {
        Value::Object(map) => doc(map.iter().map(|(k, v)| (k.as_str(), v))),
        other => doc([("", other)].into_iter()),
    }
}

fn doc<'a>(items: impl Iterator<Item = (&'a str, &'a Value)>) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in items {
        element(&mut body, k, v);
    }
    body.push(0);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&i32::try_from(body.len() + 4).unwrap_or(i32::MAX).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn cstring(out: &mut Vec<u8>, s: &str) {
    // A key cannot hold NUL: it would end early.
    out.extend(s.bytes().filter(|b| *b != 0));
    out.push(0);
}

fn element(out: &mut Vec<u8>, key: &str, v: &Value) {
    match v {
        Value::String(s) => {
            out.push(0x02);
            cstring(out, key);
            out.extend_from_slice(&i32::try_from(s.len() + 1).unwrap_or(i32::MAX).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                if let Ok(small) = i32::try_from(i) {
                    out.push(0x10);
                    cstring(out, key);
                    out.extend_from_slice(&small.to_le_bytes());
                } else {
                    out.push(0x12);
                    cstring(out, key);
                    out.extend_from_slice(&i.to_le_bytes());
                }
            } else {
                out.push(0x01);
                cstring(out, key);
                out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_le_bytes());
            }
        }
        Value::Bool(b) => {
            out.push(0x08);
            cstring(out, key);
            out.push(u8::from(*b));
        }
        Value::Null => {
            out.push(0x0A);
            cstring(out, key);
        }
        Value::Object(map) => {
            out.push(0x03);
            cstring(out, key);
            out.extend(doc(map.iter().map(|(k, v)| (k.as_str(), v))));
        }
        Value::Array(items) => {
            out.push(0x04);
            cstring(out, key);
            let keys: Vec<String> = (0..items.len()).map(|i| i.to_string()).collect();
            out.extend(doc(keys.iter().map(String::as_str).zip(items.iter())));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn the_bsonspec_examples_encode_byte_for_byte() {
        // bsonspec.org/faq.html: {"hello": "world"}.
        assert_eq!(
            document(&json!({"hello": "world"})),
            b"\x16\x00\x00\x00\x02hello\x00\x06\x00\x00\x00world\x00\x00".to_vec()
        );
        // {"BSON": ["awesome", 5.05, 1986]}.
        assert_eq!(
            document(&json!({"BSON": ["awesome", 5.05, 1986]})),
            b"\x31\x00\x00\x00\x04BSON\x00\x26\x00\x00\x00\x020\x00\x08\x00\x00\x00awesome\x00\x011\x00\x33\x33\x33\x33\x33\x33\x14\x40\x102\x00\xc2\x07\x00\x00\x00\x00"
                .to_vec()
        );
    }

    #[test]
    fn a_duo_failure_has_an_int32_code() {
        let d = document(&json!({"stat": "FAIL", "code": 40103, "message": "x"}));
        let len = i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize;
        assert_eq!(len, d.len());
        let at = d.windows(5).position(|w| w == b"code\x00").unwrap();
        assert_eq!(d[at - 1], 0x10, "int32");
        assert_eq!(i32::from_le_bytes([d[at + 5], d[at + 6], d[at + 7], d[at + 8]]), 40103);
    }
}
