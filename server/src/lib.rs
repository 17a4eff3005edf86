//! The reference central server of the accountant information-collection kiosks: device
//! enrolment, applicant accounts, idempotent submissions and review. See `README.md`.

pub mod api;
pub mod auth;
pub mod canonical;
pub mod files;
pub mod listen;
pub mod material_check;
pub mod memory;
pub mod postgres;
pub mod review;
pub mod sms;
pub mod sqlite;
pub mod store;
pub mod tls;
pub mod util;

use std::sync::Arc;

pub use api::{AppState, router};
pub use listen::Limits;

/// Serves the API on `listener` with the default [`Limits`] until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, None, Limits::default(), shutdown).await
}

/// Serves the API over TLS (`tls::server_config`) on `listener` with the default [`Limits`]
/// until `shutdown` completes. Connections are handed to the router only once their handshake
/// has succeeded.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Some(tls), Limits::default(), shutdown).await
}

/// Serves the API on `listener`, over TLS when `tls` is given, within `limits`, until
/// `shutdown` completes; returns once the connections still open have finished.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve(listener, router(state), tls, limits, shutdown).await
}

/// The state of a server on the given store and SMS sender.
pub fn state(store: Arc<dyn store::Store>, sms: Arc<dyn sms::SmsSender>) -> AppState {
    AppState {
        store,
        sms,
        hashing: Arc::new(auth::HashingPool::for_this_machine()),
        decoding: Arc::new(material_check::DecodePool::for_machine()),
    }
}
