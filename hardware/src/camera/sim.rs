//! The simulated camera: plays an image file, or every image of a folder in name order, in a
//! loop, at a steady frame rate. The README's run command and the UI tests use it in place of
//! the front and document cameras.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Camera, CameraError, CameraFrame, PixelFormat};

/// Frames larger than this are refused when loading, so a stray huge file cannot exhaust memory.
const MAX_PIXELS: u64 = 40_000_000;

pub struct SimulatedCamera {
    frames: Vec<CameraFrame>,
    next: usize,
    period: Option<Duration>,
    due: Option<Instant>,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
}

fn load(path: &Path) -> Result<CameraFrame, CameraError> {
    let bad = |e: String| CameraError::BadImage(path.into(), e);
    let reader = image::ImageReader::open(path)
        .map_err(|e| bad(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| bad(e.to_string()))?;
    let (w, h) = reader.into_dimensions().map_err(|e| bad(e.to_string()))?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(bad(format!("{w}x{h} is too large")));
    }
    let img = image::ImageReader::open(path)
        .map_err(|e| bad(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| bad(e.to_string()))?
        .decode()
        .map_err(|e| bad(e.to_string()))?
        .into_rgb8();
    Ok(CameraFrame {
        format: PixelFormat::Rgb24,
        width: img.width(),
        height: img.height(),
        data: img.into_raw(),
    })
}

impl SimulatedCamera {
    /// `fps` 0 hands out frames as fast as they are asked for.
    pub fn open(path: &Path, fps: u32) -> Result<Self, CameraError> {
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|_| CameraError::NotFound(path.into()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_image(p))
                .collect();
            files.sort();
            files
        } else if path.is_file() {
            vec![path.to_path_buf()]
        } else {
            return Err(CameraError::NotFound(path.into()));
        };
        if files.is_empty() {
            return Err(CameraError::NoImages(path.into()));
        }
        let frames = files
            .iter()
            .map(|f| load(f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_frames(frames, fps))
    }

    /// A camera that plays the given frames.
    pub fn from_frames(frames: Vec<CameraFrame>, fps: u32) -> Self {
        SimulatedCamera {
            frames,
            next: 0,
            period: (fps > 0).then(|| Duration::from_secs(1) / fps),
            due: None,
        }
    }
}

impl Camera for SimulatedCamera {
    fn grab(&mut self) -> Result<CameraFrame, CameraError> {
        if self.frames.is_empty() {
            return Err(CameraError::Stream("no frames".into()));
        }
        if let Some(period) = self.period {
            let now = Instant::now();
            let due = self.due.unwrap_or(now);
            if due > now {
                std::thread::sleep(due - now);
            }
            // Never run ahead to catch up after a stall: a real camera drops frames instead.
            self.due = Some(due.max(now) + period);
        }
        let frame = self.frames[self.next].clone();
        self.next = (self.next + 1) % self.frames.len();
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, w: u32, h: u32, shade: u8) {
        image::RgbImage::from_pixel(w, h, image::Rgb([shade, shade, shade]))
            .save(path)
            .unwrap();
    }

    #[test]
    fn a_folder_plays_in_name_order_and_loops() {
        let dir = tempfile::tempdir().unwrap();
        write_png(&dir.path().join("b.png"), 4, 3, 20);
        write_png(&dir.path().join("a.png"), 4, 3, 10);
        std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
        let mut cam = SimulatedCamera::open(dir.path(), 0).unwrap();
        let shades: Vec<u8> = (0..3).map(|_| cam.grab().unwrap().data[0]).collect();
        assert_eq!(shades, [10, 20, 10]);
        let frame = cam.grab().unwrap();
        assert_eq!(
            (frame.format, frame.width, frame.height),
            (PixelFormat::Rgb24, 4, 3)
        );
        assert_eq!(frame.data.len(), 4 * 3 * 3);
    }

    #[test]
    fn frames_are_paced_at_the_frame_rate() {
        let frame = CameraFrame {
            format: PixelFormat::Rgb24,
            width: 1,
            height: 1,
            data: vec![0; 3],
        };
        let mut cam = SimulatedCamera::from_frames(vec![frame], 50);
        let start = Instant::now();
        for _ in 0..6 {
            cam.grab().unwrap();
        }
        // Five periods of 20 ms must have passed; a generous upper bound keeps this behavioural.
        assert!(
            start.elapsed() >= Duration::from_millis(100),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn missing_empty_and_corrupt_sources_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            SimulatedCamera::open(&dir.path().join("nope"), 0),
            Err(CameraError::NotFound(_))
        ));
        assert!(matches!(
            SimulatedCamera::open(dir.path(), 0),
            Err(CameraError::NoImages(_))
        ));
        let corrupt = dir.path().join("broken.jpg");
        std::fs::write(&corrupt, b"\xff\xd8\xff\xe0 truncated").unwrap();
        let err = SimulatedCamera::open(&corrupt, 0).err().expect("must fail");
        assert!(matches!(err, CameraError::BadImage(..)), "{err}");
        assert_eq!(err.zh(), "模拟摄像头没有可用的图片，请联系工作人员");
    }

    #[test]
    fn the_spec_opens_the_simulator() {
        let dir = tempfile::tempdir().unwrap();
        write_png(&dir.path().join("page.png"), 8, 8, 200);
        let spec = crate::camera::CameraSpec::Files {
            path: dir.path().join("page.png"),
            fps: 0,
        };
        let mut cam = spec.open().unwrap();
        assert_eq!(cam.grab().unwrap().width, 8);
    }
}
