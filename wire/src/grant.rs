//! The applicant's grant on one submission: an HMAC-SHA256, made once on the kiosk while the
//! applicant's session is live, over the submission's idempotency key and content hash.
//!
//! The session token itself never leaves the kiosk's memory after log-in and is never stored.
//! Both ends derive the signing key from it the same way; the server stores only that key
//! (beside the token's SHA-256, by which it finds the session). A grant therefore proves that
//! whoever made it held the applicant's session, and keeps proving it after the session has
//! expired: a kiosk that was offline for a day still delivers what the applicant submitted.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Domain separation: this key signs grants and nothing else.
const SIGNING_KEY_LABEL: &[u8] = b"kiosk-submission-grant-key-v1\0";
const GRANT_LABEL: &str = "kiosk-submission-grant-v1";

/// The key a session signs grants with, in lowercase hex (what the server stores).
pub fn signing_key_hex(session_token: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(SIGNING_KEY_LABEL);
    digest.update(session_token.as_bytes());
    crate::canonical::hex(&digest.finalize())
}

fn mac(
    signing_key_hex: &str,
    session_id: &str,
    idempotency_key: &str,
    content_sha256: &str,
) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(signing_key_hex.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(
        format!("{GRANT_LABEL}\n{session_id}\n{idempotency_key}\n{content_sha256}").as_bytes(),
    );
    mac
}

/// The grant the kiosk sends with a submission, in lowercase hex.
pub fn sign(
    session_token: &str,
    session_id: &str,
    idempotency_key: &str,
    content_sha256: &str,
) -> String {
    let mac = mac(
        &signing_key_hex(session_token),
        session_id,
        idempotency_key,
        content_sha256,
    );
    crate::canonical::hex(&mac.finalize().into_bytes())
}

/// Whether `grant_hex` is the grant of this submission by the session whose stored key is
/// `signing_key_hex`. Constant time in the grant's bytes.
pub fn verify(
    signing_key_hex: &str,
    session_id: &str,
    idempotency_key: &str,
    content_sha256: &str,
    grant_hex: &str,
) -> bool {
    let Some(grant) = unhex(grant_hex) else {
        return false;
    };
    mac(signing_key_hex, session_id, idempotency_key, content_sha256)
        .verify_slice(&grant)
        .is_ok()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const HASH: &str = "a3f1c0d5e2b4a6c8e0f2a4c6e8b0d2f4a6c8e0f2b4d6f8a0c2e4b6d8f0a2c4e6";

    #[test]
    fn a_grant_verifies_against_the_stored_key_only_for_its_submission() {
        let grant = sign("token-1", "ses_1", KEY, HASH);
        let stored = signing_key_hex("token-1");
        assert!(verify(&stored, "ses_1", KEY, HASH, &grant));
        assert!(!verify(&stored, "ses_2", KEY, HASH, &grant));
        assert!(!verify(&stored, "ses_1", "another-key-of-16", HASH, &grant));
        let other_hash = HASH.replace('a', "b");
        assert!(!verify(&stored, "ses_1", KEY, &other_hash, &grant));
        assert!(!verify(
            &signing_key_hex("token-2"),
            "ses_1",
            KEY,
            HASH,
            &grant
        ));
        assert!(!verify(&stored, "ses_1", KEY, HASH, "zz"));
        assert!(!verify(&stored, "ses_1", KEY, HASH, &grant[..62]));
    }

    #[test]
    fn the_stored_key_is_not_the_token_nor_its_lookup_hash() {
        let stored = signing_key_hex("token-1");
        let lookup = crate::canonical::sha256_hex(b"token-1");
        assert_ne!(stored, lookup);
        assert!(!stored.contains("token-1"));
    }
}
