//! Cameras: the front camera for the ID photo and the document camera (高拍仪) for certificates.
//!
//! A [`Camera`] hands out raw frames in the format the device sends; converting them for the
//! preview and the photo pipeline is the kiosk's job (`kiosk-media`), done off the UI thread.
//! [`v4l::V4lCamera`] drives a real V4L2 device through nokhwa; [`sim::SimulatedCamera`] plays
//! image files, for development and tests.

pub mod sim;
pub mod v4l;

use std::path::PathBuf;

use thiserror::Error;

/// How the bytes of a [`CameraFrame`] are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// Packed Y0 U Y1 V (YUY2), BT.601 limited range: what UVC cameras send uncompressed.
    Yuyv,
    /// Packed R G B, tightly packed rows.
    Rgb24,
    /// One JPEG image per frame: what document cameras send at high resolutions.
    Mjpeg,
}

/// One frame as the device delivered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraFrame {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

#[derive(Debug, Error)]
pub enum CameraError {
    #[error("camera {0} not found")]
    NotFound(PathBuf),
    #[error("{0} is not a video capture device: {1}")]
    NotACamera(PathBuf, String),
    #[error("camera {0} is busy or cannot be opened: {1}")]
    Open(PathBuf, String),
    #[error("camera stopped delivering frames: {0}")]
    Stream(String),
    #[error("the camera sends only formats the kiosk cannot show ({0})")]
    UnsupportedFormat(String),
    #[error("no images (.jpg, .jpeg, .png) in {0}")]
    NoImages(PathBuf),
    #[error("cannot use image {0}: {1}")]
    BadImage(PathBuf, String),
}

impl CameraError {
    /// Plain Chinese for the applicant and hall staff.
    pub fn zh(&self) -> &'static str {
        match self {
            CameraError::NotFound(_) | CameraError::NotACamera(..) => {
                "未找到摄像头，请联系工作人员"
            }
            CameraError::Open(..) => "摄像头正被占用或无法打开，请联系工作人员",
            CameraError::Stream(_) => "摄像头画面中断，请稍后重试或联系工作人员",
            CameraError::UnsupportedFormat(_) => "摄像头格式不受支持，请联系工作人员",
            CameraError::NoImages(_) | CameraError::BadImage(..) => {
                "模拟摄像头没有可用的图片，请联系工作人员"
            }
        }
    }
}

/// A source of frames. Implementations may block until the next frame is due.
pub trait Camera {
    fn grab(&mut self) -> Result<CameraFrame, CameraError>;
}

/// Which camera to open and how: plain data, so it can be sent to the thread that owns the
/// camera (nokhwa's handles must stay on the thread that opened them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CameraSpec {
    /// A V4L2 device (`/dev/videoN` or a udev symlink such as `/dev/kiosk/camera`).
    Device {
        path: PathBuf,
        width: u32,
        height: u32,
        fps: u32,
    },
    /// Plays an image file, or every image of a folder in name order, in a loop.
    Files { path: PathBuf, fps: u32 },
}

impl CameraSpec {
    /// Opens the camera on the calling thread.
    pub fn open(&self) -> Result<Box<dyn Camera>, CameraError> {
        match self {
            CameraSpec::Device {
                path,
                width,
                height,
                fps,
            } => Ok(Box::new(v4l::V4lCamera::open(path, *width, *height, *fps)?)),
            CameraSpec::Files { path, fps } => {
                Ok(Box::new(sim::SimulatedCamera::open(path, *fps)?))
            }
        }
    }
}
