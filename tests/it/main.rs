//! The kiosk's integration tests, in one binary: on 2 cores, linking a binary per file was most
//! of the test command's time. Each module is one area; `sync_support` and `ui_support` are the
//! shared set-ups (a real `central` on loopback, a kiosk window on Slint's testing backend).

mod sync_support;
mod ui_support;

mod cli;
mod console_to_kiosk;
mod receipt;
mod retention;
mod rules_blockers;
mod store;
mod sync_accounts;
mod sync_crash;
mod sync_delivery;
mod sync_end_to_end;
mod sync_limits;
mod sync_resume;
mod sync_session;
mod sync_tls;
mod translations;
mod ui_accessibility;
mod ui_capture;
mod ui_english;
mod ui_idcard;
mod ui_ime;
mod ui_journeys;
mod ui_receipt;
mod ui_staff;
mod ui_voice;
