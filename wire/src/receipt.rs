//! The code on the applicant's receipt, which the QR carries to the public status page
//! (`/s/{code}`).
//!
//! The kiosk prints the receipt the moment a submission is saved, often before it has reached
//! the server; the server must then know the same code without taking the kiosk's word for it.
//! So neither end draws the code: both derive it from the applicant session's signing key (the
//! key the submission's grant is made with, `crate::grant`) and the submission's idempotency
//! key. Only a holder of the applicant's session could make it, so it cannot be guessed or
//! chosen, and an offline kiosk prints the code the server will answer to.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Crockford's base 32 (no I, L, O, U): a code read aloud or typed from paper is not mistaken.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Letters of a code: 20 x 5 = 100 bits.
pub const LEN: usize = 20;

const RECEIPT_LABEL: &str = "kiosk-receipt-code-v1";

/// The receipt code of a submission, from the session's stored signing key (the server's side).
pub fn code(signing_key_hex: &str, session_id: &str, idempotency_key: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(signing_key_hex.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(format!("{RECEIPT_LABEL}\n{session_id}\n{idempotency_key}").as_bytes());
    let digest = mac.finalize().into_bytes();
    // The first 100 bits, five at a time.
    (0..LEN)
        .map(|i| {
            let bit = i * 5;
            let pair = u16::from_be_bytes([digest[bit / 8], digest[bit / 8 + 1]]);
            let five = (pair >> (11 - bit % 8)) & 31;
            char::from(ALPHABET[usize::from(five)])
        })
        .collect()
}

/// The same code from the session token, which only the kiosk holds (the kiosk's side).
pub fn code_for_session(session_token: &str, session_id: &str, idempotency_key: &str) -> String {
    code(
        &crate::grant::signing_key_hex(session_token),
        session_id,
        idempotency_key,
    )
}

/// Whether `s` has the shape of a receipt code.
pub fn is_code(s: &str) -> bool {
    s.len() == LEN && s.bytes().all(|b| ALPHABET.contains(&b))
}

/// The public status page of a code on a server whose base URL is `server` (no trailing `/`
/// needed).
pub fn status_url(server: &str, code: &str) -> String {
    format!("{}/s/{code}", server.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_derive_the_same_code_and_nobody_else_can() {
        let kiosk = code_for_session("token-1", "ses_1", "key-0123456789abcdef");
        let server = code(
            &crate::grant::signing_key_hex("token-1"),
            "ses_1",
            "key-0123456789abcdef",
        );
        assert_eq!(kiosk, server);
        assert!(is_code(&kiosk), "{kiosk}");
        for other in [
            code_for_session("token-2", "ses_1", "key-0123456789abcdef"),
            code_for_session("token-1", "ses_2", "key-0123456789abcdef"),
            code_for_session("token-1", "ses_1", "key-0123456789abcdeF"),
        ] {
            assert_ne!(other, kiosk);
        }
    }

    #[test]
    fn codes_use_every_letter_of_the_alphabet_and_no_other() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..400 {
            let c = code_for_session("token", "ses", &format!("key-{i:016}"));
            assert!(is_code(&c));
            seen.extend(c.bytes());
        }
        assert_eq!(seen.len(), 32);
        assert!(
            !is_code("0123456789ABCDEFGHIJ"),
            "I is not a letter of codes"
        );
        assert!(!is_code("0123456789ABCDEFGHJ"), "too short");
        assert_eq!(
            status_url("https://central.example/", "0123456789ABCDEFGHJK"),
            "https://central.example/s/0123456789ABCDEFGHJK"
        );
    }
}
