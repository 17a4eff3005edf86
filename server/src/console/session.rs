//! Console sessions: a random token in an `HttpOnly`, `SameSite=Strict` cookie, kept in this
//! process's memory with its CSRF token, ended after 15 idle minutes, at log-out, and when the
//! account is disabled or its password changes (checked against the store on every request, so
//! `central reviewer disable` from another process takes effect at once).
//!
//! Sessions are not data: a restart of `central` logs every reviewer out and loses nothing, and
//! no session secret is ever written to disk. A deployment with several `central` processes
//! behind one address needs sticky sessions (README).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use crate::util::{hex, random_bytes, sha256_hex};

/// Minutes of inactivity after which a console session ends.
pub const IDLE_SECS: i64 = 15 * 60;
/// Live sessions kept at most; beyond it the longest idle one ends first.
pub const MAX_SESSIONS: usize = 10_000;
pub const SESSION_COOKIE: &str = "console_session";
/// The log-in form's own CSRF token (there is no session yet to hold one).
pub const LOGIN_COOKIE: &str = "console_login";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub reviewer_id: i64,
    pub csrf: String,
    /// Milliseconds since the epoch, against the account's `changed_at`.
    pub started_at_ms: i64,
    last_seen: i64,
}

/// The console's per-process state.
#[derive(Debug, Default)]
pub struct Console {
    /// By the SHA-256 of the token, so that a memory dump holds no usable cookie.
    sessions: Mutex<HashMap<String, ConsoleSession>>,
    secure_cookies: AtomicBool,
    /// The public status page's lookups in the current second: (second, count).
    status_lookups: Mutex<(i64, u32)>,
}

/// Public status page lookups allowed per second for the whole server: enough for a province's
/// applicants checking their phones, far too few to try codes.
pub const STATUS_LOOKUPS_PER_SECOND: u32 = 20;

impl Console {
    /// Marks cookies `Secure`: the console is served over TLS.
    pub fn serve_over_tls(&self, tls: bool) {
        self.secure_cookies.store(tls, Ordering::Relaxed);
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, ConsoleSession>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a session and returns its cookie token.
    pub fn start(&self, reviewer_id: i64, now: i64) -> String {
        let token = hex(&random_bytes::<32>());
        let mut sessions = self.sessions();
        sessions.retain(|_, s| now - s.last_seen < IDLE_SECS);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            sha256_hex(token.as_bytes()),
            ConsoleSession {
                reviewer_id,
                csrf: hex(&random_bytes::<32>()),
                started_at_ms: crate::util::now_millis(),
                last_seen: now,
            },
        );
        token
    }

    /// The live session of `token`, its idle clock restarted; an idle one ends here.
    pub fn touch(&self, token: &str, now: i64) -> Option<ConsoleSession> {
        let key = sha256_hex(token.as_bytes());
        let mut sessions = self.sessions();
        let session = sessions.get_mut(&key)?;
        if now - session.last_seen >= IDLE_SECS {
            sessions.remove(&key);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Whether one more public status lookup fits in this second.
    pub fn allow_status_lookup(&self, now: i64) -> bool {
        let mut window = self
            .status_lookups
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if window.0 != now {
            *window = (now, 0);
        }
        window.1 += 1;
        window.1 <= STATUS_LOOKUPS_PER_SECOND
    }

    pub fn end(&self, token: &str) {
        self.sessions().remove(&sha256_hex(token.as_bytes()));
    }

    /// A `Set-Cookie` value for the console's paths.
    pub fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        let mut cookie = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure_cookies.load(Ordering::Relaxed) {
            cookie.push_str("; Secure");
        }
        cookie
    }
}

/// The value of cookie `name` in the request, if it is there once and well-formed (hex).
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned());
    let value = found.next()?;
    let well_formed =
        value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) && found.next().is_none();
    well_formed.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_session_ends_and_a_used_one_lives_on() {
        let console = Console::default();
        let token = console.start(7, 1000);
        assert!(console.touch(&token, 1000 + IDLE_SECS - 1).is_some());
        // Used a moment ago: the idle clock started again.
        assert!(console.touch(&token, 1000 + 2 * IDLE_SECS - 2).is_some());
        assert!(console.touch(&token, 1000 + 3 * IDLE_SECS).is_none());
        assert!(
            console.touch(&token, 1000 + 3 * IDLE_SECS).is_none(),
            "ended for good"
        );
    }

    #[test]
    fn a_session_ends_at_log_out_and_tokens_are_not_guessable_from_each_other() {
        let console = Console::default();
        let a = console.start(1, 0);
        let b = console.start(1, 0);
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        console.end(&a);
        assert!(console.touch(&a, 1).is_none());
        assert!(console.touch(&b, 1).is_some());
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_tls() {
        let console = Console::default();
        let plain = console.cookie(SESSION_COOKIE, "ab", None);
        assert_eq!(
            plain,
            "console_session=ab; Path=/console; HttpOnly; SameSite=Strict"
        );
        console.serve_over_tls(true);
        assert!(
            console
                .cookie(SESSION_COOKIE, "ab", None)
                .ends_with("; Secure")
        );
    }

    #[test]
    fn a_cookie_twice_or_malformed_is_no_cookie() {
        let token = "a".repeat(64);
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            format!("x=1; console_session={token}").parse().unwrap(),
        );
        assert_eq!(cookie_value(&headers, SESSION_COOKIE), Some(token.clone()));
        headers.append(COOKIE, format!("console_session={token}").parse().unwrap());
        assert_eq!(cookie_value(&headers, SESSION_COOKIE), None);
        let mut odd = HeaderMap::new();
        odd.insert(COOKIE, "console_session=../../etc".parse().unwrap());
        assert_eq!(cookie_value(&odd, SESSION_COOKIE), None);
    }
}
