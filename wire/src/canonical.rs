//! The canonical serialisation a submission's `content_sha256` is computed over, shared by the
//! kiosk (which computes it when the submission enters the outbox) and the central server (which
//! recomputes and checks it).
//!
//! ```text
//! content_sha256 = lower-hex( SHA-256( UTF-8( canonical_json( {
//!     "application": <the request's "application" value, as sent>,
//!     "materials":   [ {"kind": K, "sha256": H}, ... ]   sorted by (K, H)
//! } ) ) ) )
//! ```
//!
//! `canonical_json` writes no whitespace, object members sorted by key (byte order of the UTF-8
//! key, which for the record's ASCII keys is RFC 8785's order), strings escaped as serde_json does
//! (only `"`, `\` and control characters; `\n`-style short escapes, otherwise `\u00xx`), numbers as
//! serde_json prints them (the record holds integers only), `true`, `false`, `null`.
//! The material bytes are covered through their `sha256`, which the server checks against the
//! decoded bytes separately; `bytes_base64` itself is not hashed, so base64 variants do not matter.

use serde_json::Value;

use sha2::{Digest, Sha256};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Writes `value` in canonical form.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            out.push_str(&value.to_string());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut keys: Vec<&String> = members.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write(&members[key], out);
            }
            out.push('}');
        }
    }
}

/// The content hash of a submission: `application` as sent and `(kind, sha256)` of each material.
pub fn content_sha256(application: &Value, materials: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = materials.iter().collect();
    sorted.sort();
    let materials: Vec<Value> = sorted
        .into_iter()
        .map(|(kind, sha256)| serde_json::json!({ "kind": kind, "sha256": sha256 }))
        .collect();
    let envelope = serde_json::json!({ "application": application, "materials": materials });
    sha256_hex(canonical_json(&envelope).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorted_compact_escaped() {
        let v = json!({"b": [1, "x\"\n"], "a": {"d": null, "c": true}, "é": "云南"});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":true,"d":null},"b":[1,"x\"\n"],"é":"云南"}"#
        );
    }

    /// A vector computed independently (Python's hashlib over the string below), for clients in
    /// other languages.
    #[test]
    fn known_vector() {
        let app = json!({"data": {"basic": {"name": "张三"}}});
        let materials = vec![
            ("photo".to_owned(), "0".repeat(64)),
            ("id_card_back".to_owned(), "1".repeat(64)),
        ];
        assert_eq!(
            content_sha256(&app, &materials),
            "e7fa351be89afbe7d79356233c563e87b598b4da7ecb66f8e9e12e4174aca62b"
        );
    }

    #[test]
    fn material_order_does_not_matter() {
        let app = json!({"data": {}});
        let a = vec![
            ("photo".into(), "1".into()),
            ("id_card_back".into(), "2".into()),
        ];
        let b = vec![a[1].clone(), a[0].clone()];
        assert_eq!(content_sha256(&app, &a), content_sha256(&app, &b));
        assert_ne!(content_sha256(&app, &a), content_sha256(&json!({}), &a));
    }
}
