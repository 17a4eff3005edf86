//! Development mode only: materials attached from image files in a folder, until the cameras
//! land. Each file goes through the same checks and compression as a capture.
//!
//! The folder holds `<kind>.jpg` or `<kind>.png` (kind as in `MaterialKind::key`, e.g.
//! `photo.jpg`, `id_card_front.png`), or falls back to `photo.*` and `document.*`.

use std::path::PathBuf;

use kiosk_domain::MaterialLimits;
use kiosk_domain::catalog::MaterialKind;

use crate::app::session::{Captured, MaterialSource};

pub struct FolderMaterials {
    dir: PathBuf,
    limits: MaterialLimits,
}

impl FolderMaterials {
    pub fn new(dir: impl Into<PathBuf>, limits: MaterialLimits) -> Self {
        FolderMaterials {
            dir: dir.into(),
            limits,
        }
    }

    fn find(&self, kind: MaterialKind) -> Option<PathBuf> {
        let fallback = if kind == MaterialKind::Photo {
            "photo"
        } else {
            "document"
        };
        [kind.key(), fallback]
            .iter()
            .flat_map(|stem| {
                ["jpg", "jpeg", "png"].map(|ext| self.dir.join(format!("{stem}.{ext}")))
            })
            .find(|p| p.is_file())
    }
}

impl MaterialSource for FolderMaterials {
    fn capture(&mut self, kind: MaterialKind) -> Result<Captured, String> {
        let path = self
            .find(kind)
            .ok_or_else(|| format!("no file for {} in {}", kind.key(), self.dir.display()))?;
        let input = crate::media_cli::read_limited(&path).map_err(|e| e.to_string())?;
        let (max, min) = if kind == MaterialKind::Photo {
            (
                self.limits.photo_max_bytes as usize,
                Some(self.limits.photo_min_bytes_exclusive as usize + 1),
            )
        } else {
            (self.limits.other_max_bytes as usize, None)
        };
        let (bytes, report) = kiosk_media::compress_file(&input, max, min).map_err(|e| e.en())?;
        Ok(Captured {
            bytes,
            width: report.width,
            height: report.height,
        })
    }
}
