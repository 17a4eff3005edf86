//! Spoken guidance in elder mode: which prompt belongs to what is on the screen, what to say
//! when the screen changes, 重听, and the staff's volume and on/off. The speech thread
//! (`kiosk_hardware::speech::Speaker`) is told what to say and never waited for.

use kiosk_domain::guidance::{self, Cue, Prompt};
use kiosk_hardware::speech::{Utterance, Voice};

use super::*;
use crate::store::VoiceSettings;

/// What this visit last said, to say only what changed.
#[derive(Debug, Default)]
pub struct Spoken {
    /// The prompt of the screen (page, dialog or camera stage) last said.
    pub(super) screen: Option<Prompt>,
    /// The banner last said, by its number (a banner said again is a new one).
    banner: u64,
    countdown: bool,
    /// The last prompt handed to the voice, of any kind.
    pub last: Option<Prompt>,
}

/// A step of the staff's volume buttons, in percent.
pub const VOLUME_STEP: u8 = 10;

/// The voice of the screen's language.
fn voice_of(lang: Lang) -> Voice {
    match lang {
        Lang::Zh => Voice::Mandarin,
        Lang::En => Voice::English,
    }
}

/// What the voice does after a change.
#[derive(Debug, PartialEq, Eq)]
enum Speech {
    Nothing,
    Say(Vec<Prompt>),
    Stop,
}

impl Session {
    /// What is on the screen, for the voice. Dialogs and the camera come before the page under
    /// them; the countdown before everything.
    pub fn voice_cue(&self) -> Cue {
        if self.visit.countdown.is_some() {
            return Cue::IdleWarning {
                seconds: IDLE_COUNTDOWN_SECS as u16,
            };
        }
        if let Some(capture) = &self.visit.capture {
            let photo = capture.kind == MaterialKind::Photo;
            return match (&capture.stage, photo) {
                (CaptureStage::Live, true) => Cue::PhotoLive,
                (CaptureStage::Live, false) => Cue::PageLive,
                (CaptureStage::Countdown(_), _) => Cue::PhotoCountdown,
                (CaptureStage::Processing, _) => Cue::Processing,
                (CaptureStage::Review { .. }, true) => Cue::PhotoReview,
                (CaptureStage::Review { .. }, false) => Cue::PageReview,
                (CaptureStage::Rejected(_), _) => Cue::PhotoRejected,
                (CaptureStage::PlaceCorners { .. }, _) => Cue::PlaceCorners,
                (CaptureStage::Failed(_), _) => Cue::CaptureFailed,
            };
        }
        match &self.visit.overlay {
            Some(Overlay::Picker { .. }) => return Cue::Picker,
            Some(Overlay::Date { .. }) => return Cue::DatePicker,
            Some(Overlay::StaffPin { .. }) => return Cue::StaffPin,
            None => {}
        }
        match self.visit.screen {
            Screen::Welcome => Cue::Welcome,
            Screen::Step(Step::Account) => match self.visit.account_mode {
                AccountMode::LogIn => Cue::Step(Step::Account),
                AccountMode::Register => Cue::Register,
                AccountMode::BindPhone => Cue::BindPhone,
                AccountMode::ForgotPassword => Cue::ForgotPassword,
            },
            // Not `can_print_receipt`: the page keeps its prompt while a receipt is printing.
            Screen::Step(Step::Review)
                if self.visit.receipt.is_some() && self.services.printer.is_some() =>
            {
                Cue::ReviewWithReceipt
            }
            Screen::Step(step) => Cue::Step(step),
        }
    }

    /// The prompt of what is on the screen now.
    pub fn screen_prompt(&self) -> Prompt {
        guidance::prompt(self.voice_cue())
    }

    /// Whether the kiosk speaks now: elder mode, voice on, and a speech engine.
    pub fn speaks(&self) -> bool {
        self.elder && self.voice.enabled && self.services.speaker.is_some()
    }

    /// Says what changed on the screen since the last call: a new countdown, a new notice, a
    /// new screen. Called after every touch and tick.
    pub fn speak_changes(&mut self) {
        if !self.elder {
            self.visit.spoken = Spoken::default();
            return;
        }
        let speech = self.changes_to_say();
        if let Speech::Say(prompts) = &speech {
            self.visit.spoken.last = prompts.last().cloned();
        }
        self.perform(speech);
    }

    fn changes_to_say(&mut self) -> Speech {
        let countdown = self.visit.countdown.is_some();
        let was_counting = std::mem::replace(&mut self.visit.spoken.countdown, countdown);
        if countdown {
            if was_counting {
                return Speech::Nothing;
            }
            return Speech::Say(vec![self.screen_prompt()]);
        }
        let mut prompts = Vec::new();
        if self.visit.banner_number != self.visit.spoken.banner {
            self.visit.spoken.banner = self.visit.banner_number;
            if let Some(banner) = &self.visit.banner {
                prompts.push(guidance::notice(&banner.message));
            }
        }
        let screen = self.screen_prompt();
        if self.visit.spoken.screen.as_ref() != Some(&screen) {
            self.visit.spoken.screen = Some(screen.clone());
            prompts.push(screen);
        }
        match (prompts.is_empty(), was_counting) {
            // The applicant touched the screen during the warning: it has no more to say.
            (true, true) => Speech::Stop,
            (true, false) => Speech::Nothing,
            (false, _) => Speech::Say(prompts),
        }
    }

    fn perform(&self, speech: Speech) {
        let Some(speaker) = self.services.speaker.as_ref() else {
            return;
        };
        match speech {
            Speech::Nothing => {}
            Speech::Stop => speaker.stop(),
            Speech::Say(prompts) if self.speaks() => {
                let voice = voice_of(self.lang);
                let utterances = prompts
                    .iter()
                    .map(|p| Utterance {
                        text: p.text(self.lang),
                        voice,
                    })
                    .collect();
                speaker.say(utterances, self.voice.volume);
            }
            Speech::Say(_) => {}
        }
    }

    /// "重听": the notice on the screen, if any, and the screen's prompt again.
    pub fn repeat_prompt(&mut self) {
        self.activity();
        let mut prompts = Vec::new();
        if let Some(banner) = &self.visit.banner {
            prompts.push(guidance::notice(&banner.message));
        }
        prompts.push(self.screen_prompt());
        self.perform(Speech::Say(prompts));
    }

    /// Elder mode on or off. Turned on, the screen is said at once; off, the voice stops.
    pub fn set_elder(&mut self, elder: bool) {
        self.activity();
        self.elder = elder;
        self.visit.spoken = Spoken::default();
        // What is on the screen now is not news: on, only the screen is said, not an old notice.
        self.visit.spoken.banner = self.visit.banner_number;
        if !elder {
            self.perform(Speech::Stop);
        }
    }

    /// Staff mode: voice on or off for every visit from now on.
    pub fn staff_set_voice(&mut self, enabled: bool) {
        self.change_voice(VoiceSettings {
            enabled,
            ..self.voice
        });
    }

    /// Staff mode: louder (`up`) or softer by one step.
    pub fn staff_change_volume(&mut self, up: bool) {
        let volume = if up {
            self.voice.volume.saturating_add(VOLUME_STEP).min(100)
        } else {
            self.voice.volume.saturating_sub(VOLUME_STEP)
        };
        self.change_voice(VoiceSettings {
            volume,
            ..self.voice
        });
    }

    fn change_voice(&mut self, settings: VoiceSettings) {
        self.activity();
        if !self.visit.staff_panel {
            return;
        }
        if let Err(e) = self.services.store.set_voice_settings(settings) {
            tracing::error!(error = %e, "saving the voice settings failed");
            self.say(Tone::Error, Message::new(e.message_zh()));
            return;
        }
        self.voice = settings;
        tracing::info!(
            audit = "staff-mode",
            enabled = settings.enabled,
            volume = settings.volume,
            "voice settings changed"
        );
        if let Some(speaker) = &self.services.speaker {
            if settings.enabled {
                // Staff hear the new level at once.
                speaker.say(
                    vec![Utterance {
                        text: guidance::prompt(Cue::Welcome).text(self.lang),
                        voice: voice_of(self.lang),
                    }],
                    settings.volume,
                );
            } else {
                speaker.stop();
            }
        }
    }
}
