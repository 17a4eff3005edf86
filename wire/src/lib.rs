//! What the kiosk and the central server must agree on byte for byte.

pub mod canonical;
pub mod grant;
pub mod receipt;
