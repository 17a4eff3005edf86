//! Taking a material with a camera: the stages the applicant goes through. The camera, the still
//! and the processing live in the glue (`glue::capture`); this file only decides what happens
//! next and stores the accepted file.

use kiosk_media::Point;

use super::*;

/// Seconds counted down before the ID photo is taken.
pub const PHOTO_COUNTDOWN: u8 = 3;

#[derive(Debug, Clone, PartialEq)]
pub enum CaptureStage {
    /// The live picture with the guide; the applicant taps "拍照".
    Live,
    /// 3-2-1 before the photo is taken.
    Countdown(u8),
    /// The still is being checked and compressed.
    Processing,
    /// The file is ready: the applicant uses it or retakes.
    Review { width: u32, height: u32 },
    /// The photo failed its checks: what to change, one catalogue key per line.
    Rejected(Vec<String>),
    /// No page was found on the still: the applicant drags its four corners (still pixels).
    PlaceCorners {
        width: u32,
        height: u32,
        corners: [Point; 4],
    },
    /// The camera or the pipeline failed.
    Failed(Message),
}

/// One capture in progress. Part of the [`Visit`], so a wipe ends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    pub kind: MaterialKind,
    pub stage: CaptureStage,
    /// The accepted file, until the applicant confirms it.
    pub file: Option<Vec<u8>>,
    /// The page this capture takes the place of ("重拍" on the summary); `None` adds a page.
    pub replaces: Option<usize>,
}

/// What the glue must do after a capture action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CaptureAction {
    Nothing,
    /// Take the still from the newest frame and process it.
    TakeStill,
    /// Process the same still again with the applicant's corners.
    UseCorners([Point; 4]),
}

impl Session {
    /// Whether materials are taken with the cameras.
    pub fn has_cameras(&self) -> bool {
        self.services.cameras.is_some()
    }

    /// "拍摄" on a material: opens the camera screen.
    pub fn open_capture(&mut self, kind: MaterialKind) {
        self.open_capture_for(kind, None);
    }

    /// The camera screen for a file that takes the place of page `replaces`, if given.
    pub(super) fn open_capture_for(&mut self, kind: MaterialKind, replaces: Option<usize>) {
        self.activity();
        self.visit.banner = None;
        self.visit.capture = Some(Capture {
            kind,
            stage: CaptureStage::Live,
            file: None,
            replaces,
        });
    }

    fn stage(&self) -> Option<&CaptureStage> {
        self.visit.capture.as_ref().map(|c| &c.stage)
    }

    fn set_stage(&mut self, stage: CaptureStage) {
        if let Some(c) = self.visit.capture.as_mut() {
            c.stage = stage;
        }
    }

    /// "拍照": the photo counts down, a page is taken at once.
    pub fn capture_shoot(&mut self) -> CaptureAction {
        self.activity();
        let Some(capture) = self.visit.capture.as_ref() else {
            return CaptureAction::Nothing;
        };
        if capture.stage != CaptureStage::Live {
            return CaptureAction::Nothing;
        }
        if capture.kind == MaterialKind::Photo {
            self.set_stage(CaptureStage::Countdown(PHOTO_COUNTDOWN));
            CaptureAction::Nothing
        } else {
            self.set_stage(CaptureStage::Processing);
            CaptureAction::TakeStill
        }
    }

    /// One second of the countdown has passed.
    pub fn capture_tick(&mut self) -> CaptureAction {
        match self.stage() {
            Some(CaptureStage::Countdown(n)) if *n > 1 => {
                let n = n - 1;
                self.set_stage(CaptureStage::Countdown(n));
                CaptureAction::Nothing
            }
            Some(CaptureStage::Countdown(_)) => {
                self.set_stage(CaptureStage::Processing);
                CaptureAction::TakeStill
            }
            _ => CaptureAction::Nothing,
        }
    }

    /// The pipeline's answer for the still.
    pub fn capture_processed(&mut self, outcome: crate::capture::process::Outcome) {
        use crate::capture::process::Outcome;
        let Some(capture) = self.visit.capture.as_mut() else {
            return;
        };
        if capture.stage != CaptureStage::Processing {
            return;
        }
        capture.stage = match outcome {
            Outcome::Accepted {
                jpeg,
                width,
                height,
                ..
            } => {
                capture.file = Some(jpeg);
                CaptureStage::Review { width, height }
            }
            Outcome::Rejected { advice } => CaptureStage::Rejected(advice),
            Outcome::PlaceCorners {
                width,
                height,
                suggested,
            } => CaptureStage::PlaceCorners {
                width,
                height,
                corners: suggested,
            },
            Outcome::Failed(message) => CaptureStage::Failed(message),
        };
    }

    /// The camera stopped or could not be opened.
    pub fn capture_camera_failed(&mut self, message: Message) {
        if self.visit.capture.is_some() {
            self.set_stage(CaptureStage::Failed(message));
        }
    }

    /// The camera reported `reason` (a catalogue key). It matters only while the applicant
    /// looks at the live picture; `true` when it ended that, and the camera is to be let go.
    pub fn capture_camera_error(&mut self, reason: &'static str) -> bool {
        if !self.capture_is_live() {
            return false;
        }
        self.capture_camera_failed(Message::new(reason));
        true
    }

    /// A still was asked for and the camera had given no frame yet.
    pub fn capture_still_missing(&mut self) {
        self.capture_camera_failed(Message::new("没有拍到画面，请点“重拍”再试一次"));
    }

    /// The still could not be handed to the pipeline (no thread could start).
    pub fn capture_processing_not_started(&mut self) {
        self.capture_camera_failed(Message::new("处理照片失败，请重拍"));
    }

    /// Whether the camera screen shows the live picture (also during the countdown).
    pub fn capture_is_live(&self) -> bool {
        matches!(
            self.stage(),
            Some(CaptureStage::Live | CaptureStage::Countdown(_))
        )
    }

    /// Whether the photo's countdown runs (the glue ticks it every second).
    pub fn capture_is_counting(&self) -> bool {
        matches!(self.stage(), Some(CaptureStage::Countdown(_)))
    }

    /// Whether the still is needed again: the applicant places its corners, then it is
    /// processed once more. Otherwise it is forgotten as soon as its outcome is in.
    pub fn capture_keeps_still(&self) -> bool {
        matches!(self.stage(), Some(CaptureStage::PlaceCorners { .. }))
    }

    /// The camera of the material being taken, while the camera screen is open.
    pub fn capture_camera(&self) -> Option<&kiosk_hardware::camera::CameraSpec> {
        let capture = self.visit.capture.as_ref()?;
        Some(self.services.cameras.as_ref()?.for_kind(capture.kind))
    }

    /// A corner handle was dragged to (`x`, `y`) in still pixels.
    pub fn capture_move_corner(&mut self, index: usize, x: f64, y: f64) {
        self.activity();
        if let Some(Capture {
            stage:
                CaptureStage::PlaceCorners {
                    width,
                    height,
                    corners,
                },
            ..
        }) = self.visit.capture.as_mut()
            && let Some(corner) = corners.get_mut(index)
        {
            *corner = Point::new(
                x.clamp(0.0, f64::from(*width)),
                y.clamp(0.0, f64::from(*height)),
            );
        }
    }

    /// "确认四角": processes the still again with the applicant's corners.
    pub fn capture_confirm_corners(&mut self) -> CaptureAction {
        self.activity();
        let Some(CaptureStage::PlaceCorners { corners, .. }) = self.stage() else {
            return CaptureAction::Nothing;
        };
        let corners = *corners;
        self.set_stage(CaptureStage::Processing);
        CaptureAction::UseCorners(corners)
    }

    /// "重拍": back to the live picture.
    pub fn capture_retake(&mut self) {
        self.activity();
        if let Some(c) = self.visit.capture.as_mut() {
            c.file = None;
            c.stage = CaptureStage::Live;
        }
    }

    /// "返回": closes the camera screen without keeping anything.
    pub fn capture_close(&mut self) {
        self.activity();
        self.visit.capture = None;
    }

    /// "使用这张": stores the file with the draft and closes the camera screen.
    pub fn capture_accept(&mut self) {
        self.activity();
        let Some(capture) = self.visit.capture.take() else {
            return;
        };
        let (CaptureStage::Review { width, height }, Some(bytes)) = (capture.stage, capture.file)
        else {
            return;
        };
        self.store_material(
            capture.kind,
            Captured {
                bytes,
                width,
                height,
            },
            capture.replaces,
        );
    }

    /// "清空重拍" on a material with files: removes them (from the draft and the store), so a
    /// wrong page can be taken again.
    pub fn clear_material(&mut self, kind: MaterialKind) {
        self.activity();
        let files = self
            .visit
            .app
            .data()
            .materials
            .get(&kind)
            .cloned()
            .unwrap_or_default();
        if files.is_empty() {
            return;
        }
        self.edit(|d| {
            d.materials.remove(&kind);
        });
        if self.visit.app.data().materials.contains_key(&kind) {
            return; // locked: nothing removed
        }
        self.save_draft();
        for file in files {
            if let Err(e) = self.services.store.delete_material(&file.blob_id) {
                tracing::warn!(error = %e, "deleting a removed material file failed");
            }
        }
        self.say(Tone::Info, Message::new("已清空，请重新拍摄"));
    }
}
