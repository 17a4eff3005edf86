//! Face detection with `rustface` (SeetaFace frontal model, embedded; see `model/README.md`).
//!
//! Detection runs on a grey copy whose long side is at most [`DETECT_MAX_SIDE`] pixels; boxes are
//! mapped back to the input's coordinates.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use image::RgbImage;
use image::imageops::FilterType;
use rustface::{ImageData, Model};
use serde::Serialize;
use tracing::debug;

use crate::error::{MediaError, Result};

/// The detection copy's long side, in pixels.
pub const DETECT_MAX_SIDE: u32 = 640;

static MODEL_BYTES: &[u8] = include_bytes!("../model/seeta_fd_frontal_v1.0.bin");
static MODEL: OnceLock<std::result::Result<Model, String>> = OnceLock::new();

/// A detected face, in the coordinates of the image given to [`detect_faces`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FaceBox {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub score: f64,
}

impl FaceBox {
    pub fn centre_x(&self) -> f64 {
        self.x + self.width / 2.0
    }

    pub fn centre_y(&self) -> f64 {
        self.y + self.height / 2.0
    }
}

fn model() -> Result<&'static Model> {
    MODEL
        .get_or_init(|| rustface::read_model(MODEL_BYTES).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| MediaError::FaceDetector(format!("model: {e}")))
}

/// Detects frontal faces, largest first.
pub fn detect_faces(img: &RgbImage) -> Result<Vec<FaceBox>> {
    let (w, h) = img.dimensions();
    if w < 40 || h < 40 {
        return Ok(Vec::new());
    }
    let scale = (f64::from(DETECT_MAX_SIDE) / f64::from(w.max(h))).min(1.0);
    let (sw, sh) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    let gray = if scale < 1.0 {
        crate::ops::gray(&crate::ops::resize(img, sw, sh, FilterType::Triangle))
    } else {
        crate::ops::gray(img)
    };
    let model = model()?.clone();
    // Faces smaller than 7 % of the short side cannot make an ID photo anyway; a larger minimum
    // also makes detection faster.
    let min_face = ((f64::from(sw.min(sh)) * 0.07) as u32).max(20);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut detector = rustface::create_detector_with_model(model);
        detector.set_min_face_size(min_face);
        detector.set_score_thresh(2.0);
        detector.set_pyramid_scale_factor(0.8);
        detector.set_slide_window_step(4, 4);
        detector.detect(&ImageData::new(gray.as_raw(), sw, sh))
    }))
    .map_err(|_| MediaError::FaceDetector("detector panicked".into()))?;

    let (fx, fy) = (f64::from(w) / f64::from(sw), f64::from(h) / f64::from(sh));
    let mut faces: Vec<FaceBox> = result
        .iter()
        .map(|f| {
            let b = f.bbox();
            FaceBox {
                x: f64::from(b.x()) * fx,
                y: f64::from(b.y()) * fy,
                width: f64::from(b.width()) * fx,
                height: f64::from(b.height()) * fy,
                score: f.score(),
            }
        })
        .collect();
    faces.sort_by(|a, b| (b.width * b.height).total_cmp(&(a.width * a.height)));
    debug!(count = faces.len(), ?faces, "faces detected");
    Ok(faces)
}
