//! The kiosk's HTTP client for the central server, built in one place for the sync worker and
//! the account service, and what its connection failures mean.
//!
//! With `server_ca` configured the client trusts that CA and nothing else: neither the built-in
//! web PKI nor the operating system's roots, so a certificate bought or forged from any public
//! CA is refused. Without it, an `https://` server is checked against the system's roots.

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

/// The largest answer body the kiosk reads from the server. Its answers are small JSON (the
/// largest, `/v1/accounts/me` with the latest collection, is a few KB: material files stay on
/// the server); anything larger is a fault of the server or of something in between, and is
/// not read into memory.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// The longest wait a server's `Retry-After` may ask for; longer asks are cut to this, so a
/// broken or hostile value neither parks a submission for years nor overflows the arithmetic of
/// the next attempt's time.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// An answer that could not be had whole.
#[derive(Debug, Error)]
pub enum BodyError {
    /// Over the limit (by its `Content-Length`, or as it streamed in): not read further.
    #[error("answer larger than {limit} bytes, not read")]
    TooLarge { limit: usize },
    /// No answer, or the connection failed while reading it ([`classify`] says why).
    #[error("{}", classify(.0))]
    Transport(reqwest::Error),
}

/// Reads the body of `response`, at most `limit` bytes: chunk by chunk, stopping (and dropping
/// the connection) as soon as it would go over, so a huge answer is never held in memory.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|declared| declared > limit as u64)
    {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        let needed = body.len() + chunk.len();
        if needed > limit {
            return Err(BodyError::TooLarge { limit });
        }
        // Grows as a Vec does, but never past the limit.
        if needed > body.capacity() {
            let grown = needed.max(body.capacity() * 2).min(limit);
            body.reserve_exact(grown - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The wait a `Retry-After` value asks for, at most [`MAX_RETRY_AFTER`]: delay-seconds (any
/// number of digits) or an HTTP date (IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`)
/// relative to `now`. `None` for anything else.
pub fn retry_after(value: &str, now: time::OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds still mean "a very long time".
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822)
            .ok()?;
        Duration::try_from(at - now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Where the central server is and which CA the kiosk trusts for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The base URL, without a trailing slash.
    pub url: String,
    /// The private CA the server's certificate must chain to (PEM); `None`: the system roots.
    pub ca: Option<PathBuf>,
}

impl Endpoint {
    pub fn new(url: &str, ca: Option<&Path>) -> Endpoint {
        Endpoint {
            url: url.trim().trim_end_matches('/').to_owned(),
            ca: ca.map(Path::to_owned),
        }
    }
}

/// A bare URL: the system roots (tests and plain-HTTP development).
impl From<&str> for Endpoint {
    fn from(url: &str) -> Endpoint {
        Endpoint::new(url, None)
    }
}

// No `From<String>`: callers lend their URL, and clippy would otherwise ask every `&url` call
// site to give it away.
impl From<&String> for Endpoint {
    fn from(url: &String) -> Endpoint {
        Endpoint::new(url, None)
    }
}

/// A server CA file that cannot be used. Shown to hall IT at start, in both languages like the
/// other configuration errors.
#[derive(Debug, Error)]
pub enum CaError {
    #[error(
        "无法读取服务器 CA 证书文件 {path}：{source} / cannot read the server CA file {path}: {source}"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "服务器 CA 证书文件 {path} 中没有可用的 PEM 证书 / the server CA file {path} holds no usable PEM certificate"
    )]
    NotPem { path: PathBuf },
}

/// Reads the CA certificates in `path` (PEM, one or more) and checks that they can serve as
/// trust anchors, so a wrong file is found at start and not at the first upload.
pub fn load_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, CaError> {
    let not_pem = || CaError::NotPem {
        path: path.to_owned(),
    };
    let pem = std::fs::read(path).map_err(|source| CaError::Read {
        path: path.to_owned(),
        source,
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| not_pem())?;
    if certs.is_empty() {
        return Err(not_pem());
    }
    // reqwest parses the DER only when a client is built; a throw-away client does that now.
    reqwest::Client::builder()
        .tls_certs_only(certs.clone())
        .build()
        .map_err(|_| not_pem())?;
    Ok(certs)
}

/// Finishes `builder` (timeouts and pooling are the caller's) with the endpoint's trust.
pub fn client(
    builder: reqwest::ClientBuilder,
    endpoint: &Endpoint,
) -> Result<reqwest::Client, String> {
    // A redirect is never followed: a 301/302 would turn the PUT of a submission into a GET of
    // somewhere else, and its answer into a false acknowledgement.
    let builder = builder.redirect(reqwest::redirect::Policy::none());
    let builder = match &endpoint.ca {
        Some(ca) => builder.tls_certs_only(load_ca(ca).map_err(|e| e.to_string())?),
        None => builder,
    };
    builder.build().map_err(|e| e.to_string())
}

/// Why a request got no answer. Everything here means "the server is unreachable now" and is
/// retried; the TLS cases are kept apart so hall IT can tell a certificate problem from a
/// network one in the logs and in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server's certificate was refused (wrong CA, expired, wrong name), or the server
    /// refused ours; the text is rustls's, e.g. "invalid peer certificate: UnknownIssuer".
    Certificate(String),
    /// TLS failed otherwise, e.g. an `https://` URL pointing at a plain-HTTP port.
    Tls(String),
    Timeout,
    Connect,
    Lost,
}

impl Failure {
    pub fn is_tls(&self) -> bool {
        matches!(self, Failure::Certificate(_) | Failure::Tls(_))
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Certificate(why) => write!(f, "TLS certificate refused: {why}"),
            Failure::Tls(why) => write!(f, "TLS handshake failed: {why}"),
            Failure::Timeout => f.write_str("timeout"),
            Failure::Connect => f.write_str("cannot connect"),
            Failure::Lost => f.write_str("connection lost"),
        }
    }
}

/// Classifies a failed request. Error texts carry no request data: no URL path, no body.
pub fn classify(error: &reqwest::Error) -> Failure {
    if let Some(tls) = rustls_error(error) {
        use rustls::AlertDescription as A;
        let certificate = match tls {
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => true,
            rustls::Error::AlertReceived(alert) => matches!(
                alert,
                A::BadCertificate
                    | A::UnsupportedCertificate
                    | A::CertificateRevoked
                    | A::CertificateExpired
                    | A::CertificateUnknown
                    | A::UnknownCA
                    | A::CertificateRequired
            ),
            _ => false,
        };
        return match certificate {
            true => Failure::Certificate(tls.to_string()),
            false => Failure::Tls(tls.to_string()),
        };
    }
    if error.is_timeout() {
        Failure::Timeout
    } else if error.is_connect() {
        Failure::Connect
    } else {
        Failure::Lost
    }
}

/// Logs a TLS failure once per failed request, distinctly from plain unreachability.
pub fn log_tls_failure(failure: &Failure, context: &'static str) {
    match failure {
        Failure::Certificate(why) => tracing::warn!(
            %why,
            context,
            "TLS certificate problem with the central server: check the kiosk's server_ca and \
             the server's certificate (central ca issue)"
        ),
        Failure::Tls(why) => tracing::warn!(
            %why,
            context,
            "TLS problem with the central server: is the server URL's scheme and port right?"
        ),
        _ => {}
    }
}

/// The rustls error somewhere in `error`'s chain. `io::Error::source` skips the error an
/// `io::Error` wraps (which is where tokio-rustls puts it), so that link is followed by hand.
fn rustls_error(error: &reqwest::Error) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_non_pem_ca_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.pem");
        assert!(matches!(load_ca(&missing), Err(CaError::Read { .. })));
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").expect("write");
        let error = load_ca(&junk).expect_err("not PEM");
        assert!(matches!(error, CaError::NotPem { .. }));
        let shown = error.to_string();
        assert!(
            shown.contains("服务器 CA") && shown.contains("server CA"),
            "{shown}"
        );
        let bad_der = dir.path().join("bad.pem");
        std::fs::write(
            &bad_der,
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        assert!(matches!(load_ca(&bad_der), Err(CaError::NotPem { .. })));
    }

    #[test]
    fn retry_after_is_seconds_or_a_date_and_never_over_the_maximum() {
        let now = time::macros::datetime!(2026-11-28 08:00:00 UTC);
        assert_eq!(retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        for huge in [
            "18446744073709551615",
            "99999999999999999999999999",
            "3153600000",
        ] {
            assert_eq!(retry_after(huge, now), Some(MAX_RETRY_AFTER), "{huge}");
        }
        assert_eq!(
            retry_after("Sat, 28 Nov 2026 08:02:00 GMT", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after("Sat, 28 Nov 2026 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            Some(MAX_RETRY_AFTER)
        );
        for junk in ["", "-5", "1.5", "soon"] {
            assert_eq!(retry_after(junk, now), None, "{junk:?}");
        }
    }

    #[test]
    fn endpoints_from_urls() {
        assert_eq!(
            Endpoint::from("https://central.example/ "),
            Endpoint {
                url: "https://central.example".into(),
                ca: None
            }
        );
    }
}
