//! Devices of the kiosk.
//!
//! * [`idcard`]: the second-generation ID card reader (SAM protocol over a serial port), its
//!   card-data parser and a simulator that speaks the same protocol on a pseudo-terminal.

pub mod idcard;
