//! Credentials of kiosks and reviewers, applicant passwords and sessions.
//!
//! A credential token is `ck1.<id>.<secret>`: `id` is 16 hex digits naming the row, `secret` is
//! 256 random bits in hex. The server keeps only SHA-256 of the secret (a fast hash is enough for
//! a 256-bit random value; argon2 is for human passwords) and compares in constant time.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::store::{AuditEntry, Credential, Role, Store, StoreResult};
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

/// Enrols a kiosk, or a reviewer of one finance bureau (`bureau`; `None`: the province).
/// `actor` is who enrols, for the audit log.
pub fn enrol(
    store: &dyn Store,
    name: &str,
    role: Role,
    bureau: Option<u32>,
    actor: &str,
    now: i64,
) -> StoreResult<Enrolled> {
    let id = hex(&random_bytes::<8>());
    let secret = hex(&random_bytes::<32>());
    let scope = match (role, bureau) {
        (Role::Reviewer, Some(code)) => format!("bureau {code}"),
        (Role::Reviewer, None) => "province".to_owned(),
        (Role::Device, _) => "device".to_owned(),
    };
    store.insert_credential(
        &Credential {
            id: id.clone(),
            name: name.to_owned(),
            role,
            secret_sha256: sha256_hex(secret.as_bytes()),
            revoked: false,
            bureau: bureau.filter(|_| role == Role::Reviewer),
        },
        &AuditEntry::new(actor, &format!("enrol {}", role.as_str()), &id, &scope, now),
    )?;
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

/// The server is at its bound for password hashing: the request is answered `503`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password hashing is at its bound")]
pub struct Busy;

/// Bounds argon2id work: each hash holds 19 MiB for tens of milliseconds, so unbounded parallel
/// log-ins would take the server's memory. At most `permits` run at once; at most
/// `max_waiting` more wait for a permit; beyond that a request is refused at once with [`Busy`].
pub struct HashingPool {
    permits: usize,
    max_waiting: usize,
    state: std::sync::Mutex<PoolState>,
    freed: std::sync::Condvar,
}

#[derive(Default)]
struct PoolState {
    running: usize,
    waiting: usize,
}

/// How long a request waits for a hashing permit before it is answered `503`.
const HASHING_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl HashingPool {
    pub fn new(permits: usize, max_waiting: usize) -> HashingPool {
        HashingPool {
            permits: permits.max(1),
            max_waiting,
            state: std::sync::Mutex::new(PoolState::default()),
            freed: std::sync::Condvar::new(),
        }
    }

    /// One permit per core, and up to 32 waiting per permit.
    pub fn for_this_machine() -> HashingPool {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        HashingPool::new(cores, cores * 32)
    }

    pub fn permits(&self) -> usize {
        self.permits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        // Two counters, consistent after any panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `work` under a permit. Blocking: call it from the blocking pool.
    pub fn run<T>(&self, work: impl FnOnce() -> T) -> Result<T, Busy> {
        let mut state = self.lock();
        if state.running >= self.permits {
            if state.waiting >= self.max_waiting {
                return Err(Busy);
            }
            state.waiting += 1;
            let deadline = std::time::Instant::now() + HASHING_WAIT;
            while state.running >= self.permits {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    state.waiting -= 1;
                    return Err(Busy);
                }
                state = self
                    .freed
                    .wait_timeout(state, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            state.waiting -= 1;
        }
        state.running += 1;
        drop(state);
        struct Release<'a>(&'a HashingPool);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.lock().running -= 1;
                self.0.freed.notify_one();
            }
        }
        let _release = Release(self);
        Ok(work())
    }

    pub fn verify(&self, password: &str, phc: &str) -> Result<bool, Busy> {
        self.run(|| verify_password(password, phc))
    }

    /// A new argon2id hash under a permit.
    pub fn hash(
        &self,
        password: &str,
    ) -> Result<Result<String, argon2::password_hash::Error>, Busy> {
        self.run(|| hash_password(password))
    }
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
        let e = enrol(&store, "hall-1", Role::Device, None, "cli:test", 1).unwrap();
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
    fn the_hashing_pool_refuses_beyond_its_queue() {
        let pool = std::sync::Arc::new(HashingPool::new(1, 1));
        let (hold, release) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        let busy = pool.clone();
        let holder = std::thread::spawn(move || {
            busy.run(|| {
                started.send(()).unwrap();
                release.recv().unwrap();
            })
        });
        running.recv().unwrap();
        let waiter_pool = pool.clone();
        let waiter = std::thread::spawn(move || waiter_pool.run(|| 7));
        // Wait until the second caller is queued, then a third is refused at once.
        while pool.lock().waiting == 0 {
            std::thread::yield_now();
        }
        assert_eq!(pool.run(|| 8), Err(Busy));
        hold.send(()).unwrap();
        assert_eq!(holder.join().unwrap(), Ok(()));
        assert_eq!(waiter.join().unwrap(), Ok(7));
        assert_eq!(pool.run(|| 9), Ok(9));
    }

    #[test]
    fn passwords() {
        let h = hash_password("abc12345").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("abc12345", &h));
        assert!(!verify_password("abc12346", &h));
    }
}
