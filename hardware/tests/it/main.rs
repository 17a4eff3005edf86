//! The device layer's integration tests, one binary: the reader over pseudo-terminals, its simulator
//! and the poller; the receipt printer and its simulator; speech through espeak-ng and ALSA.

mod common;

mod card;
mod driver_sim;
mod poller;
mod printer;
mod proptests;
mod protocol;
mod sim_binary;
mod sim_model;
mod speech;
