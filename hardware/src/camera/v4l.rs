//! A V4L2 camera through nokhwa. The device is named by path; udev symlinks are resolved to the
//! `/dev/videoN` node because nokhwa's V4L2 backend opens devices by index.

use std::path::{Path, PathBuf};

use nokhwa::utils::{
    CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};

use super::{Camera, CameraError, CameraFrame, PixelFormat};

/// The formats the kiosk converts itself, in order of preference for the preview.
const WANTED: [FrameFormat; 3] = [FrameFormat::MJPEG, FrameFormat::YUYV, FrameFormat::RAWRGB];

pub struct V4lCamera {
    camera: nokhwa::Camera,
    path: PathBuf,
}

/// The `N` of `/dev/videoN` behind `path` (after following symlinks).
pub fn device_index(path: &Path) -> Result<u32, CameraError> {
    let real = std::fs::canonicalize(path).map_err(|_| CameraError::NotFound(path.into()))?;
    real.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("video"))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            CameraError::NotACamera(
                path.into(),
                format!("{} is not /dev/videoN", real.display()),
            )
        })
}

impl V4lCamera {
    pub fn open(path: &Path, width: u32, height: u32, fps: u32) -> Result<Self, CameraError> {
        let index = device_index(path)?;
        let wanted = CameraFormat::new(Resolution::new(width, height), FrameFormat::MJPEG, fps);
        let request = RequestedFormat::with_formats(RequestedFormatType::Closest(wanted), &WANTED);
        let mut camera = nokhwa::Camera::new(CameraIndex::Index(index), request)
            .map_err(|e| CameraError::Open(path.into(), e.to_string()))?;
        camera
            .open_stream()
            .map_err(|e| CameraError::Open(path.into(), e.to_string()))?;
        let format = camera.camera_format();
        tracing::info!(
            width = format.width(),
            height = format.height(),
            fps = format.frame_rate(),
            format = %format.format(),
            "camera opened"
        );
        Ok(V4lCamera {
            camera,
            path: path.into(),
        })
    }
}

fn pixel_format(f: FrameFormat) -> Result<PixelFormat, CameraError> {
    match f {
        FrameFormat::MJPEG => Ok(PixelFormat::Mjpeg),
        FrameFormat::YUYV => Ok(PixelFormat::Yuyv),
        FrameFormat::RAWRGB => Ok(PixelFormat::Rgb24),
        other => Err(CameraError::UnsupportedFormat(other.to_string())),
    }
}

impl Camera for V4lCamera {
    fn grab(&mut self) -> Result<CameraFrame, CameraError> {
        let buffer = self
            .camera
            .frame()
            .map_err(|e| CameraError::Stream(format!("{}: {e}", self.path.display())))?;
        let resolution = buffer.resolution();
        Ok(CameraFrame {
            format: pixel_format(buffer.source_frame_format())?,
            width: resolution.width(),
            height: resolution.height(),
            data: buffer.buffer().to_vec(),
        })
    }
}

impl Drop for V4lCamera {
    fn drop(&mut self) {
        if let Err(e) = self.camera.stop_stream() {
            tracing::warn!(error = %e, "stopping the camera stream failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_device_is_not_found() {
        let err = V4lCamera::open(Path::new("/dev/kiosk/no-such-camera"), 1280, 720, 30)
            .err()
            .expect("must fail");
        assert!(matches!(err, CameraError::NotFound(_)), "{err}");
        assert_eq!(err.zh(), "未找到摄像头，请联系工作人员");
    }

    #[test]
    fn a_node_that_is_not_video_is_refused_before_opening() {
        let err = V4lCamera::open(Path::new("/dev/null"), 1280, 720, 30)
            .err()
            .expect("must fail");
        assert!(matches!(err, CameraError::NotACamera(..)), "{err}");
    }

    #[test]
    fn symlinks_resolve_to_the_video_index() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("video7");
        std::fs::write(&node, b"").unwrap();
        let link = dir.path().join("camera");
        std::os::unix::fs::symlink(&node, &link).unwrap();
        assert_eq!(device_index(&link).unwrap(), 7);
    }

    #[test]
    fn a_video_node_that_is_no_device_fails_to_open_with_a_clear_error() {
        // A file named like a V4L2 node reaches nokhwa, which must fail (no such index or not a
        // device) without panicking.
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("video250");
        std::fs::write(&node, b"").unwrap();
        let err = V4lCamera::open(&node, 640, 480, 30)
            .err()
            .expect("must fail");
        assert!(matches!(err, CameraError::Open(..)), "{err}");
    }

    #[test]
    fn only_formats_the_kiosk_converts_are_accepted() {
        assert_eq!(pixel_format(FrameFormat::YUYV).unwrap(), PixelFormat::Yuyv);
        assert_eq!(
            pixel_format(FrameFormat::MJPEG).unwrap(),
            PixelFormat::Mjpeg
        );
        assert!(pixel_format(FrameFormat::NV12).is_err());
    }
}
