//! A camera running on its own thread. Every frame is converted to RGBA there (the UI thread only
//! copies the newest one into an image), and the newest frame is kept for the still.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use kiosk_hardware::camera::{CameraError, CameraFrame, CameraSpec, PixelFormat};
use kiosk_media::{Frame, FrameFormat, frame_to_rgba};

/// One converted frame.
#[derive(Debug, PartialEq, Eq)]
pub struct RgbaFrame {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl RgbaFrame {
    pub fn from_rgb(img: &kiosk_media::RgbImage) -> Self {
        RgbaFrame {
            width: img.width(),
            height: img.height(),
            rgba: img.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        }
    }

    /// The frame without its alpha channel, for the photo and page pipelines.
    pub fn to_rgb(&self) -> kiosk_media::RgbImage {
        let rgb = self
            .rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        kiosk_media::RgbImage::from_raw(self.width, self.height, rgb)
            .unwrap_or_else(|| kiosk_media::RgbImage::new(1, 1))
    }
}

#[derive(Default)]
struct Slot {
    /// The preview of the newest frame, not yet shown.
    fresh: Option<Arc<RgbaFrame>>,
    /// The newest frame at full size, shown or not.
    newest: Option<Arc<RgbaFrame>>,
    error: Option<Arc<CameraError>>,
    frames: u64,
}

/// A running camera; dropping it stops the camera (its light goes off).
pub struct CameraFeed {
    slot: Arc<Mutex<Slot>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn media_format(f: PixelFormat) -> FrameFormat {
    match f {
        PixelFormat::Yuyv => FrameFormat::Yuyv,
        PixelFormat::Rgb24 => FrameFormat::Rgb24,
        PixelFormat::Mjpeg => FrameFormat::Mjpeg,
    }
}

/// Converts one device frame to RGBA.
pub fn convert(frame: &CameraFrame) -> Result<RgbaFrame, String> {
    let mut rgba = Vec::new();
    let (width, height) = frame_to_rgba(
        &Frame {
            format: media_format(frame.format),
            width: frame.width,
            height: frame.height,
            stride: 0,
            data: &frame.data,
        },
        &mut rgba,
    )
    .map_err(|e| e.en())?;
    Ok(RgbaFrame {
        width,
        height,
        rgba,
    })
}

/// Wider frames are shrunk for the preview (the still keeps every pixel): a 5 MP document
/// camera would otherwise have the UI thread copy and scale 20 MB per frame.
pub const PREVIEW_MAX_WIDTH: u32 = 1280;

/// The frame shrunk by a whole factor (averaging each block) to at most `PREVIEW_MAX_WIDTH`.
pub fn preview_of(frame: &RgbaFrame) -> Option<RgbaFrame> {
    let factor = frame.width.div_ceil(PREVIEW_MAX_WIDTH);
    if factor <= 1 {
        return None;
    }
    let (w, h) = (frame.width / factor, frame.height / factor);
    let stride = frame.width as usize * 4;
    let f = factor as usize;
    let area = (f * f) as u32;
    let mut rgba = Vec::with_capacity(w as usize * h as usize * 4);
    for y in 0..h as usize {
        for x in 0..w as usize {
            let mut sum = [0u32; 4];
            for dy in 0..f {
                let row = (y * f + dy) * stride + x * f * 4;
                for px in frame.rgba[row..row + f * 4].chunks_exact(4) {
                    for (s, &v) in sum.iter_mut().zip(px) {
                        *s += u32::from(v);
                    }
                }
            }
            rgba.extend(sum.map(|s| (s / area) as u8));
        }
    }
    Some(RgbaFrame {
        width: w,
        height: h,
        rgba,
    })
}

/// Consecutive broken frames after which the camera counts as failed.
const MAX_BAD_FRAMES: u32 = 30;

fn run(spec: CameraSpec, slot: Arc<Mutex<Slot>>, stop: Arc<AtomicBool>) {
    // A panic elsewhere must not stop the preview: the slot holds only plain data, so a poisoned
    // lock is taken over rather than propagated.
    let fail = |e: CameraError| {
        tracing::warn!(error = %e, "camera failed");
        slot.lock().unwrap_or_else(PoisonError::into_inner).error = Some(Arc::new(e));
    };
    let mut camera = match spec.open() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let mut bad = 0;
    while !stop.load(Ordering::Relaxed) {
        let frame = match camera.grab() {
            Ok(f) => f,
            Err(e) => return fail(e),
        };
        match convert(&frame) {
            Ok(rgba) => {
                bad = 0;
                let rgba = Arc::new(rgba);
                let preview = preview_of(&rgba).map_or_else(|| Arc::clone(&rgba), Arc::new);
                let mut s = slot.lock().unwrap_or_else(PoisonError::into_inner);
                s.fresh = Some(preview);
                s.newest = Some(rgba);
                s.frames += 1;
            }
            Err(reason) => {
                // MJPEG cameras send a damaged frame now and then: skip it, give up on a run.
                bad += 1;
                tracing::debug!(%reason, "camera frame skipped");
                if bad >= MAX_BAD_FRAMES {
                    return fail(CameraError::Stream(reason));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

impl CameraFeed {
    /// Opens the camera on a new thread and starts converting frames.
    pub fn start(spec: CameraSpec) -> CameraFeed {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (slot, stop) = (Arc::clone(&slot), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("camera".into())
                .spawn(move || run(spec, slot, stop))
                .map_err(|e| tracing::error!(error = %e, "cannot start the camera thread"))
                .ok()
        };
        CameraFeed { slot, stop, thread }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The preview of the newest frame, if not yet taken.
    pub fn take_fresh(&self) -> Option<Arc<RgbaFrame>> {
        self.slot().fresh.take()
    }

    /// The newest frame (for the still).
    pub fn newest(&self) -> Option<Arc<RgbaFrame>> {
        self.slot().newest.clone()
    }

    /// Why the camera stopped, if it did.
    pub fn error(&self) -> Option<Arc<CameraError>> {
        self.slot().error.clone()
    }

    /// Frames converted so far.
    pub fn frames(&self) -> u64 {
        self.slot().frames
    }
}

impl Drop for CameraFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn wait_for(feed: &CameraFeed, what: impl Fn(&CameraFeed) -> bool) {
        let start = Instant::now();
        while !what(feed) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "camera feed timed out"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn frames_from_a_simulated_camera_arrive_converted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frame.png");
        image::RgbImage::from_pixel(6, 4, image::Rgb([200, 10, 30]))
            .save(&path)
            .unwrap();
        let feed = CameraFeed::start(CameraSpec::Files { path, fps: 0 });
        wait_for(&feed, |f| f.frames() >= 3);
        let frame = feed.take_fresh().expect("a fresh frame");
        assert_eq!((frame.width, frame.height), (6, 4));
        assert_eq!(&frame.rgba[..4], &[200, 10, 30, 255]);
        let still = feed.newest().unwrap().to_rgb();
        assert_eq!(still.get_pixel(5, 3).0, [200, 10, 30]);
        assert!(feed.error().is_none());
    }

    #[test]
    fn a_missing_camera_reports_its_error() {
        let feed = CameraFeed::start(CameraSpec::Device {
            path: "/dev/kiosk/absent-camera".into(),
            width: 1280,
            height: 720,
            fps: 30,
        });
        wait_for(&feed, |f| f.error().is_some());
        assert!(matches!(
            feed.error().as_deref(),
            Some(CameraError::NotFound(_))
        ));
        assert!(feed.take_fresh().is_none());
    }

    #[test]
    fn wide_frames_are_averaged_down_for_the_preview() {
        let frame = RgbaFrame {
            width: 2592,
            height: 6,
            rgba: (0..2592 * 6)
                .flat_map(|i| {
                    let v = if i % 2 == 0 { 0 } else { 90 };
                    [v, v, v, 255]
                })
                .collect(),
        };
        let preview = preview_of(&frame).expect("shrunk");
        assert_eq!((preview.width, preview.height), (864, 2));
        // Each 3x3 block holds 0 and 90 in a checkered row pattern: its average is 30 or 60.
        assert!(
            preview
                .rgba
                .chunks_exact(4)
                .all(|p| p[0] == 30 || p[0] == 60),
            "averaged"
        );
        assert!(
            preview_of(&RgbaFrame {
                width: 1280,
                height: 1,
                rgba: vec![0; 1280 * 4]
            })
            .is_none()
        );
    }

    #[test]
    fn yuyv_frames_convert() {
        // One grey pixel pair: Y=126, U=V=128 is mid grey in BT.601 limited range.
        let frame = CameraFrame {
            format: PixelFormat::Yuyv,
            width: 2,
            height: 1,
            data: vec![126, 128, 126, 128],
        };
        let rgba = convert(&frame).unwrap();
        assert_eq!(rgba.rgba.len(), 8);
        assert!(rgba.rgba[0].abs_diff(128) <= 3, "{:?}", rgba.rgba);
    }

    #[test]
    fn a_broken_mjpeg_frame_is_an_error_not_a_panic() {
        let frame = CameraFrame {
            format: PixelFormat::Mjpeg,
            width: 640,
            height: 480,
            data: vec![0xff, 0xd8, 0xff, 0x00],
        };
        assert!(convert(&frame).is_err());
    }
}
