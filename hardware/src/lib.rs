//! Devices of the kiosk.
//!
//! * [`idcard`]: the second-generation ID card reader (SAM protocol over a serial port), its
//!   card-data parser and a simulator that speaks the same protocol on a pseudo-terminal.
//! * [`camera`]: the front and document cameras (V4L2 through nokhwa) and a simulated camera that
//!   plays image files.

pub mod camera;
pub mod idcard;
