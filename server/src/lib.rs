//! The reference central server of the accountant information-collection kiosks: device
//! enrolment, applicant accounts, idempotent submissions and review. See `README.md`.

pub mod api;
pub mod auth;
pub mod blobs;
pub mod canonical;
pub mod console;
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
    state.console.serve_over_tls(tls.is_some());
    listen::serve(listener, router(state), tls, limits, shutdown).await
}

/// The state of a server on the given store, SMS sender and blob store.
pub fn state(
    store: Arc<dyn store::Store>,
    sms: Arc<dyn sms::SmsSender>,
    blobs: Arc<dyn blobs::BlobStore>,
) -> AppState {
    AppState {
        store,
        sms,
        hashing: Arc::new(auth::HashingPool::for_this_machine()),
        decoding: Arc::new(material_check::DecodePool::for_machine()),
        blobs,
        uploading: blobs::Uploading::default(),
        console: Arc::new(console::Console::default()),
        faults: api::Faults::default(),
    }
}

/// Deletes, every `every`, the staged blobs older than `lifetime`: files a kiosk started or
/// finished uploading whose record never came. Runs until the runtime stops.
pub async fn collect_blob_garbage(
    blobs: Arc<dyn blobs::BlobStore>,
    lifetime: std::time::Duration,
    every: std::time::Duration,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let blobs = blobs.clone();
        let swept = tokio::task::spawn_blocking(move || {
            let cutoff = std::time::SystemTime::now()
                .checked_sub(lifetime)
                .unwrap_or(std::time::UNIX_EPOCH);
            blobs.remove_older_than(cutoff)
        })
        .await;
        match swept {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(removed = n, "unreferenced staged blobs removed"),
            Ok(Err(e)) => tracing::warn!(error = %e, "staged blobs not collected"),
            Err(e) => tracing::warn!(error = %e, "blob collector failed"),
        }
    }
}
