//! The reference central server of the accountant information-collection kiosks: device
//! enrolment, applicant accounts, idempotent submissions and review. See `README.md`.

pub mod api;
pub mod auth;
pub mod canonical;
pub mod material_check;
pub mod postgres;
pub mod review;
pub mod sms;
pub mod sqlite;
pub mod store;
pub mod tls;
pub mod util;

use std::sync::Arc;

pub use api::{AppState, router};

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves the API over TLS (`tls::server_config`) on `listener` until `shutdown` completes.
/// Connections are handed to the router only once their handshake has succeeded.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(tls::TlsListener::new(listener, tls), router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The state of a server on the given store and SMS sender.
pub fn state(store: Arc<dyn store::Store>, sms: Arc<dyn sms::SmsSender>) -> AppState {
    AppState { store, sms }
}
