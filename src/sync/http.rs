//! The kiosk's HTTP client for the central server, built in one place for the sync worker and
//! the account service, and what its connection failures mean.
//!
//! With `server_ca` configured the client trusts that CA and nothing else: neither the built-in
//! web PKI nor the operating system's roots, so a certificate bought or forged from any public
//! CA is refused. Without it, an `https://` server is checked against the system's roots.

use std::path::{Path, PathBuf};

use thiserror::Error;

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
