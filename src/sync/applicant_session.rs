//! The logged-in applicant's session with the central server, held in the visit only.
//!
//! Its token authenticates account calls (`X-Applicant-Session`) and signs the grant on each
//! submission (`kiosk_wire::grant`), which the outbox keeps instead of the token, so that a
//! submission queued while the kiosk is offline is still delivered after the session ended.

use zeroize::Zeroizing;

#[derive(Clone, PartialEq, Eq)]
pub struct ApplicantSession {
    /// The server's public name of the session (named in grants and audit rows).
    pub session_id: String,
    /// The secret; wiped from memory when the last copy is dropped.
    pub token: Zeroizing<String>,
    /// The version of the applicant's latest submission on the server when the session began
    /// (0 for none): what the applicant submits in this session is the next version, so that
    /// an older one still queued on another kiosk cannot replace it.
    pub latest_version: i64,
}

impl ApplicantSession {
    pub fn new(session_id: &str, token: &str) -> ApplicantSession {
        ApplicantSession {
            session_id: session_id.to_owned(),
            token: Zeroizing::new(token.to_owned()),
            latest_version: 0,
        }
    }

    /// The version of a submission made in this session.
    pub fn next_version(&self) -> i64 {
        self.latest_version.saturating_add(1)
    }
}

impl std::fmt::Debug for ApplicantSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplicantSession")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}
