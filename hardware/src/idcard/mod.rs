//! Second-generation ID card reader (GA/T 467 "SAM" protocol), see
//! `shared/spec/idcard-reader-protocol.md`.
//!
//! Layers, bottom up: [`frame`] (framing, streaming decoder), [`command`] and [`status`]
//! (commands, SW3), [`card`] (text block and read payloads), [`photo`] (WLT photo behind a
//! trait), [`driver`] (one reader on a serial port), [`poller`] (the polling thread and its
//! events) and [`sim`] (a simulator on a pseudo-terminal).
//!
//! Privacy: nothing here logs card content; `Debug` of [`CardData`] masks personal fields.

pub mod card;
pub mod command;
pub mod driver;
pub mod frame;
pub mod photo;
pub mod poller;
pub mod sim;
pub mod status;

pub use card::{CardData, CardError, CardType, Gender};
pub use command::{BaudRate, Command, Response};
pub use driver::{IdCardReader, PresenceProbe, ReaderConfig, ReaderError};
pub use frame::{DecodeError, Decoder};
pub use photo::{BgrImage, PhotoDecoder, PhotoError, UnavailablePhotoDecoder};
pub use poller::{
    CardReaderDevice, IdCardService, PollerHandle, ReaderEvent, ScriptedCardReader, spawn_poller,
};
pub use sim::{Fault, FaultKind, SimConfig, SimState, Simulator};
pub use status::Sw3;
