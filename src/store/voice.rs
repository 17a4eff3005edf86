//! The spoken guidance's settings, as hall staff leave them: kept across visits and restarts.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, now_unix};

/// Whether elder mode speaks, and how loud (percent of the synthesised level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceSettings {
    pub enabled: bool,
    pub volume: u8,
}

impl Store {
    /// What staff set last, or `None` if they never changed it.
    pub fn voice_settings(&self) -> Result<Option<VoiceSettings>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT enabled, volume FROM voice_settings WHERE id = 1",
                [],
                |r| {
                    Ok(VoiceSettings {
                        enabled: r.get::<_, i64>(0)? == 1,
                        volume: r.get::<_, i64>(1)?.clamp(0, 100) as u8,
                    })
                },
            )
            .optional()?)
    }

    pub fn set_voice_settings(&mut self, settings: VoiceSettings) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO voice_settings (id, enabled, volume, updated_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET enabled = ?1, volume = ?2, updated_at = ?3",
            params![
                i64::from(settings.enabled),
                i64::from(settings.volume.min(100)),
                now_unix()
            ],
        )?;
        Ok(())
    }
}
