//! Credentials of kiosks and reviewers, applicant passwords and sessions.
//!
//! A credential token is `ck1.<id>.<secret>`: `id` is 16 hex digits naming the row, `secret` is
//! 256 random bits in hex. The server keeps only SHA-256 of the secret (a fast hash is enough for
//! a 256-bit random value; argon2 is for human passwords) and compares in constant time.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::store::{Credential, Role, Store, StoreResult};
use crate::util::{constant_time_eq, hex, random_bytes, sha256_hex};

const TOKEN_PREFIX: &str = "ck1";

/// A freshly enrolled credential; `token` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub token: String,
}

/// Enrols a kiosk or a reviewer.
pub fn enrol(store: &dyn Store, name: &str, role: Role, now: i64) -> StoreResult<Enrolled> {
    let id = hex(&random_bytes::<8>());
    let secret = hex(&random_bytes::<32>());
    store.insert_credential(
        &Credential {
            id: id.clone(),
            name: name.to_owned(),
            role,
            secret_sha256: sha256_hex(secret.as_bytes()),
            revoked: false,
        },
        now,
    )?;
    store.audit("admin", &format!("enrol {}", role.as_str()), &id, "ok", now)?;
    Ok(Enrolled {
        token: format!("{TOKEN_PREFIX}.{id}.{secret}"),
        id,
        name: name.to_owned(),
        role,
    })
}

/// Checks a bearer token; the credential when it is valid and not revoked.
pub fn authenticate(store: &dyn Store, token: &str) -> StoreResult<Option<Credential>> {
    let mut parts = token.split('.');
    let (Some(TOKEN_PREFIX), Some(id), Some(secret), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    if id.len() != 16 || secret.len() != 64 {
        return Ok(None);
    }
    let Some(credential) = store.credential(id)? else {
        return Ok(None);
    };
    let presented = sha256_hex(secret.as_bytes());
    let valid = constant_time_eq(presented.as_bytes(), credential.secret_sha256.as_bytes());
    Ok((valid && !credential.revoked).then_some(credential))
}

/// An argon2id PHC string (argon2 0.5 defaults: m = 19 MiB, t = 2, p = 1).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash to verify against when the account does not exist, so that timing does not tell.
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-password-1").unwrap_or_default())
}

/// A new applicant session token and the hash to store.
pub fn new_session_token() -> (String, String) {
    let token = hex(&random_bytes::<32>());
    let hash = sha256_hex(token.as_bytes());
    (token, hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::SqliteStore;

    #[test]
    fn enrol_then_authenticate() {
        let store = SqliteStore::in_memory().unwrap();
        let e = enrol(&store, "hall-1", Role::Device, 1).unwrap();
        let c = authenticate(&store, &e.token).unwrap().unwrap();
        assert_eq!((c.id.as_str(), c.role), (e.id.as_str(), Role::Device));
        let last = if e.token.ends_with('0') { '1' } else { '0' };
        let bad = format!("{}{last}", &e.token[..e.token.len() - 1]);
        assert!(authenticate(&store, &bad).unwrap().is_none());
        assert!(authenticate(&store, "nonsense").unwrap().is_none());
        assert!(
            !c.secret_sha256
                .contains(e.token.rsplit('.').next().unwrap())
        );
    }

    #[test]
    fn passwords() {
        let h = hash_password("abc12345").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("abc12345", &h));
        assert!(!verify_password("abc12346", &h));
    }
}
