//! The submission's canonical content hash, shared with the central server (crate `kiosk-wire`).

pub use kiosk_wire::canonical::*;
