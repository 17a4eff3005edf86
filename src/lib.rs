//! The kiosk application: configuration, the encrypted local store, and (in later modules) media,
//! sync, input and the Slint glue. The rules themselves live in the `kiosk-domain` crate.

pub mod accounts;
pub mod app;
pub mod capture;
pub mod config;
pub mod dev_materials;
pub mod hardening;
pub mod idcard;
pub mod logging;
pub mod media_cli;
pub mod receipt;
pub mod speech;
pub mod store;
pub mod sync;
pub mod systemd;
pub mod walkthrough;
