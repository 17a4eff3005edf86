//! HTTPS for `central serve` and the hall's private certificate authority.
//!
//! The kiosks do not trust the public web PKI for the central server: hall IT makes a private
//! CA once (`central ca init`), gives its `ca.pem` to every kiosk (`server_ca`), and issues the
//! server's certificate from it (`central ca issue`). rustls with the aws-lc-rs provider is used
//! because reqwest on the kiosk side already compiles exactly that; a second provider (ring)
//! would double the crypto code in the workspace.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::client::danger::ServerCertVerifier as _;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;

/// The file names `central ca` writes in its directory.
pub const CA_CERT: &str = "ca.pem";
pub const CA_KEY: &str = "ca-key.pem";
pub const SERVER_CERT: &str = "server.pem";
pub const SERVER_KEY: &str = "server-key.pem";

/// The CA signs server certificates for this long; a hall renews by running `ca init` again
/// long before then.
const CA_VALIDITY_DAYS: i64 = 10 * 365;
/// Server certificates are reissued (`ca issue`) at least this often.
const SERVER_VALIDITY_DAYS: i64 = 2 * 365;
/// Kiosk clocks may lag; a certificate issued "now" must already be valid for them.
const BACKDATE: time::Duration = time::Duration::days(1);

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no PEM private key")]
    NoKey { path: PathBuf },
    #[error("the certificate and key do not make a usable TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("{0} exists already: a CA that kiosks pin is never overwritten; move it away first")]
    Exists(PathBuf),
    #[error("no CA in {0}: run `central ca init --dir` first")]
    NoCa(PathBuf),
    #[error("not a usable host name or IP address: {0}")]
    Host(String),
    #[error("at least one --host is needed")]
    NoHost,
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the issued certificate does not verify against {path}: {reason}")]
    Verify { path: PathBuf, reason: String },
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TlsError::NoCertificate {
            path: path.to_owned(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::NoKey {
        path: path.to_owned(),
    })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    // Named explicitly rather than taken from the process default, so the server never
    // depends on which crate happened to install a default first.
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The server side of TLS from a PEM certificate chain and its PEM private key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = certificates(cert)?;
    let key = private_key(key)?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // The router speaks HTTP/1.1 only; saying so lets clients that offer h2 settle at once.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The TLS handshake of one connection, given at most `timeout`; `None` (logged) when it
/// fails or takes longer, so a silent or slow client holds its connection slot no longer.
/// Each connection runs its own handshake, so one slow client never delays the others.
pub async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    timeout: Duration,
) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        // A kiosk with the wrong CA, a plain-HTTP client or a port scanner: worth a line for
        // hall IT, never fatal for the server.
        Ok(Err(e)) => {
            tracing::info!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::info!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// What `central ca init` / `ca issue` wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The CA's name carries a digest of its key, so the CAs of two halls never share a name and
/// `ca issue` can rebuild the issuer's name from the key alone (no X.509 parser needed).
fn ca_params(key: &KeyPair) -> CertificateParams {
    let mut params = CertificateParams::default();
    let digest = params.key_identifier(key);
    let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let mut name = DistinguishedName::new();
    name.push(
        DnType::OrganizationName,
        "Accountant information collection",
    );
    name.push(DnType::CommonName, format!("central private CA {short}"));
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + time::Duration::days(days);
}

/// Creates `dir` (0700) if needed.
fn make_dir(dir: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| TlsError::Write {
            path: dir.to_owned(),
            source,
        })
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees half a
/// key; `mode` is set at creation, so a private key is never readable by others, not even
/// briefly.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let err = |source| TlsError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("pem.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = crate::files::create_new_with_mode(&tmp, mode).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// `central ca init --dir DIR`: a new private CA in `DIR/ca.pem` and `DIR/ca-key.pem` (0600).
/// Refuses to replace an existing CA: every kiosk of the hall pins it.
pub fn ca_init(dir: &Path) -> Result<Written, TlsError> {
    let cert_path = dir.join(CA_CERT);
    let key_path = dir.join(CA_KEY);
    for path in [&cert_path, &key_path] {
        if path.exists() {
            return Err(TlsError::Exists(path.clone()));
        }
    }
    make_dir(dir)?;
    let key = KeyPair::generate()?;
    let mut params = ca_params(&key);
    validity(&mut params, CA_VALIDITY_DAYS);
    let cert = params.self_signed(&key)?;
    // The key first: a CA certificate without its key would block `ca init` and be useless.
    write_file(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
    write_file(&cert_path, cert.pem().as_bytes(), 0o644)?;
    Ok(Written {
        cert: cert_path,
        key: key_path,
    })
}

/// `central ca issue --dir DIR --host NAME_OR_IP...`: a server certificate for those names,
/// signed by the CA in `DIR`, in `DIR/server.pem` and `DIR/server-key.pem` (0600). Reissuing
/// (renewal, a new name) replaces both. The result is verified against `DIR/ca.pem` the way a
/// kiosk will, so a CA certificate that does not belong to the key is caught here.
pub fn ca_issue(dir: &Path, hosts: &[String]) -> Result<Written, TlsError> {
    if hosts.is_empty() {
        return Err(TlsError::NoHost);
    }
    let ca_cert_path = dir.join(CA_CERT);
    let ca_key_path = dir.join(CA_KEY);
    if !ca_key_path.exists() || !ca_cert_path.exists() {
        return Err(TlsError::NoCa(dir.to_owned()));
    }
    let ca_pem = String::from_utf8(read(&ca_key_path)?).map_err(|_| TlsError::NoKey {
        path: ca_key_path.clone(),
    })?;
    let ca_key = KeyPair::from_pem(&ca_pem).map_err(|_| TlsError::NoKey {
        path: ca_key_path.clone(),
    })?;
    let issuer = Issuer::new(ca_params(&ca_key), ca_key);

    let hosts: Vec<String> = hosts.iter().map(|h| h.trim().to_owned()).collect();
    // rustls's own parser decides what a kiosk will accept as a name; rcgen would take any
    // ASCII string.
    if let Some(bad) = hosts
        .iter()
        .find(|h| ServerName::try_from(h.as_str()).is_err())
    {
        return Err(TlsError::Host(bad.clone()));
    }
    let mut params =
        CertificateParams::new(hosts.clone()).map_err(|_| TlsError::Host(hosts.join(" ")))?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, hosts[0].clone());
    params.distinguished_name = name;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, SERVER_VALIDITY_DAYS);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;

    verify(&ca_cert_path, cert.der(), &hosts[0])?;
    let cert_path = dir.join(SERVER_CERT);
    let key_path = dir.join(SERVER_KEY);
    write_file(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
    write_file(&cert_path, cert.pem().as_bytes(), 0o644)?;
    Ok(Written {
        cert: cert_path,
        key: key_path,
    })
}

/// Checks `leaf` for `host` against the CA in `ca_path` with the same verifier a kiosk uses.
fn verify(ca_path: &Path, leaf: &CertificateDer<'_>, host: &str) -> Result<(), TlsError> {
    let failed = |reason: String| TlsError::Verify {
        path: ca_path.to_owned(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for cert in certificates(ca_path)? {
        roots.add(cert).map_err(|e| failed(e.to_string()))?;
    }
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| failed(e.to_string()))?;
    let name = ServerName::try_from(host.to_owned()).map_err(|e| failed(e.to_string()))?;
    verifier
        .verify_server_cert(leaf, &[], &name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_then_issue_then_load() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = ca_init(dir.path()).expect("ca init");
        assert!(matches!(ca_init(dir.path()), Err(TlsError::Exists(_))));
        let hosts = vec!["127.0.0.1".to_owned(), "central.hall.example".to_owned()];
        let server = ca_issue(dir.path(), &hosts).expect("ca issue");
        server_config(&server.cert, &server.key).expect("usable by the server");
        use std::os::unix::fs::PermissionsExt as _;
        for key in [&ca.key, &server.key] {
            let mode = std::fs::metadata(key).expect("key").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", key.display());
        }
    }

    #[test]
    fn issue_refuses_a_ca_certificate_of_another_key() {
        let ours = tempfile::tempdir().expect("temp dir");
        let theirs = tempfile::tempdir().expect("temp dir");
        ca_init(ours.path()).expect("ca init");
        ca_init(theirs.path()).expect("ca init");
        std::fs::copy(theirs.path().join(CA_CERT), ours.path().join(CA_CERT)).expect("copy");
        let hosts = vec!["127.0.0.1".to_owned()];
        assert!(matches!(
            ca_issue(ours.path(), &hosts),
            Err(TlsError::Verify { .. })
        ));
    }

    #[test]
    fn bad_input_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(matches!(
            ca_issue(dir.path(), &["x".to_owned()]),
            Err(TlsError::NoCa(_))
        ));
        ca_init(dir.path()).expect("ca init");
        assert!(matches!(ca_issue(dir.path(), &[]), Err(TlsError::NoHost)));
        assert!(matches!(
            ca_issue(dir.path(), &["not a name".to_owned()]),
            Err(TlsError::Host(_))
        ));
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "hello").expect("write");
        assert!(matches!(
            server_config(&junk, &dir.path().join(CA_KEY)),
            Err(TlsError::NoCertificate { .. })
        ));
    }
}
