//! The server's integration tests, in one binary: on 2 cores, linking a binary per file was most
//! of the test command's time. Each module is one area. `common` is the shared set-up (a real
//! server on either store, a small HTTP client, invented applicants, a log capture) that the
//! benches include too; `browser` drives a real Chromium, for the console's pages only.
//!
//! The modules share one process and run at once, so none of them changes what is the process's
//! (its umask, the global log subscriber) or measures it (RSS): those run in a child process
//! (`common::run_alone`) or capture per thread (`common::logs`).

mod browser;
mod common;

mod accounts;
mod blobs;
mod browser_smoke;
mod cli;
mod console;
mod console_browser;
mod delivery_order;
mod file_modes;
mod health_auth;
mod log_privacy;
mod material_check;
mod memory;
mod slowloris;
mod store;
mod submissions;
mod tls;
mod trust;
