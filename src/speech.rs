//! The kiosk's voice from its configuration: espeak-ng, the prompt cache in the data folder,
//! ALSA playback. Without espeak-ng the kiosk works silently and says why in the journal.

use kiosk_hardware::speech::{Aplay, EspeakNg, Speaker, SpeechCache};

use crate::config::Config;
use crate::store::VoiceSettings;

/// Starts the speech thread, or `None` (logged) when the kiosk has no speech engine.
pub fn start(config: &Config) -> Option<Speaker> {
    let engine = match EspeakNg::new(&config.speech.espeak) {
        Ok(engine) => engine,
        Err(e) => {
            tracing::warn!(error = %e, "no speech engine; elder mode is silent");
            return None;
        }
    };
    let cache = SpeechCache::open(config.data_dir.join("speech"))
        .map_err(|e| tracing::warn!(error = %e, "spoken prompts are not cached"))
        .ok();
    let output = Aplay::new(&config.speech.aplay, config.speech.device.clone());
    Some(Speaker::start(Box::new(engine), Box::new(output), cache))
}

/// The voice's settings until hall staff change them.
pub fn default_settings(config: &Config) -> VoiceSettings {
    VoiceSettings {
        enabled: config.speech.enabled,
        volume: config.speech.volume.min(100),
    }
}
