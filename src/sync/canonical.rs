//! The submission's content hash, as the central server defines it (`server/README.md`,
//! "Canonical hash"): SHA-256 over a canonical JSON form of
//! `{"application": A, "materials": [{"kind": K, "sha256": H}, ...] sorted by (K, H)}`.
//!
//! Canonical JSON: no whitespace, object members sorted by key (byte order), strings escaped as
//! serde_json escapes them, integers in decimal. Written here again rather than shared with the
//! server crate so the kiosk does not depend on the server; the test vector below is the one the
//! server pins, so the two cannot drift apart unnoticed.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Writes `value` in canonical form.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut entries: Vec<(&String, &Value)> = members.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, member)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // serde_json's own string escaping.
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_value(member, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

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

/// `content_sha256` of a submission: the application value as sent and `(kind key, sha256)` of
/// every uploaded file.
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
        let v = json!({"b": [1, "x\"\n\u{1}"], "a": {"d": null, "c": true}, "é": "云南"});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":true,"d":null},"b":[1,"x\"\n\u0001"],"é":"云南"}"#
        );
    }

    /// The vector pinned by the server's `canonical::tests::known_vector` and its README.
    #[test]
    fn the_servers_test_vector() {
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
    fn material_order_does_not_matter_but_content_does() {
        let app = json!({"data": {}});
        let a = vec![
            ("photo".to_owned(), "1".repeat(64)),
            ("id_card_back".to_owned(), "2".repeat(64)),
        ];
        let b = vec![a[1].clone(), a[0].clone()];
        assert_eq!(content_sha256(&app, &a), content_sha256(&app, &b));
        assert_ne!(content_sha256(&app, &a), content_sha256(&json!({}), &a));
    }
}
