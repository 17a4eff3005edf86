//! Spoken guidance for elder mode: a [`Synthesizer`] turns a prompt into audio, a [`SpeechCache`]
//! keeps each prompt's audio per engine and voice so it is synthesised once, and an [`AudioOut`]
//! plays it. [`Speaker`] runs them on a thread of its own: the UI hands it text and never waits.
//!
//! [`EspeakNg`] synthesises offline with espeak-ng (Debian's `espeak-ng`, Mandarin voice `cmn`);
//! [`Aplay`] plays through ALSA with `aplay` (Debian's `alsa-utils`) to a device the site names,
//! which in tests is ALSA's own file plugin. A better engine replaces `EspeakNg` behind the trait.

mod cache;
mod espeak;
mod pcm;
mod playback;
mod speaker;

pub use cache::SpeechCache;
pub use espeak::EspeakNg;
pub use pcm::Pcm;
pub use playback::Aplay;
pub use speaker::{Speaker, SpeakerStats, Utterance};

use thiserror::Error;

/// The voice of a prompt: the screen's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Voice {
    Mandarin,
    English,
}

/// Text to audio, offline.
pub trait Synthesizer: Send {
    /// The engine, its version and its settings. Part of the cache key, so a new engine, version
    /// or voice setting never plays audio made by the old one.
    fn identity(&self) -> &str;
    fn synthesize(&self, text: &str, voice: Voice) -> Result<Pcm, SpeechError>;
}

/// Somewhere audio is heard.
pub trait AudioOut: Send {
    /// Plays `pcm` to its end, or stops early once `interrupted` returns true.
    fn play(&mut self, pcm: &Pcm, interrupted: &dyn Fn() -> bool) -> Result<(), SpeechError>;
}

#[derive(Debug, Error)]
pub enum SpeechError {
    #[error("the speech engine {program} cannot be started: {source}")]
    EngineMissing {
        program: String,
        source: std::io::Error,
    },
    #[error("the speech engine failed: {0}")]
    Engine(String),
    #[error("the audio is not a WAV file this kiosk plays: {0}")]
    Wav(&'static str),
    #[error("no sound output: {0}")]
    NoOutput(String),
    #[error("the speech cache cannot be used: {0}")]
    Cache(#[source] std::io::Error),
}
