//! Devices of the kiosk.
//!
//! * [`idcard`]: the second-generation ID card reader (SAM protocol over a serial port), its
//!   card-data parser and a simulator that speaks the same protocol on a pseudo-terminal.
//! * [`camera`]: the front and document cameras (V4L2 through nokhwa) and a simulated camera that
//!   plays image files.
//! * [`printer`]: the receipt printer (ESC/POS over a serial line) and a simulator that
//!   interprets what it receives.
//! * [`speech`]: spoken guidance: espeak-ng synthesis, a cache of each prompt's audio and ALSA
//!   playback, on a thread of its own.

pub mod camera;
pub mod idcard;
pub mod printer;
pub mod speech;
