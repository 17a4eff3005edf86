//! The submission's canonical content hash, shared with the kiosk (crate `kiosk-wire`).

pub use kiosk_wire::canonical::*;
