//! Capturing materials with the cameras, outside the UI: [`feed`] runs a camera on its own
//! thread and converts frames for the preview; [`process`] turns a still into the checked,
//! compressed file. The Slint glue (`app::glue::capture`) only moves their results to the screen.

pub mod feed;
pub mod process;

use std::path::Path;

use kiosk_domain::catalog::MaterialKind;
use kiosk_hardware::camera::CameraSpec;

/// Front camera: 720p is plenty for a 295x413 crop and converts well within a frame period.
const FRONT: (u32, u32, u32) = (1280, 720, 30);
/// Document camera: 5 MP gives an A4 page about 1900 px tall, above the 1754 px of 150 dpi.
const DOCUMENT: (u32, u32, u32) = (2592, 1944, 15);
/// Frame rate of a simulated camera.
const SIMULATED_FPS: u32 = 15;

/// The two cameras of a kiosk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cameras {
    pub front: CameraSpec,
    pub document: CameraSpec,
}

/// A device node opens the V4L2 driver; an image file or a folder of images opens the
/// simulated camera (development and tests).
pub fn spec_for(path: &Path, (width, height, fps): (u32, u32, u32)) -> CameraSpec {
    if path.is_dir() || path.is_file() {
        CameraSpec::Files {
            path: path.into(),
            fps: SIMULATED_FPS,
        }
    } else {
        CameraSpec::Device {
            path: path.into(),
            width,
            height,
            fps,
        }
    }
}

impl Cameras {
    pub fn from_paths(front: &Path, document: &Path) -> Cameras {
        Cameras {
            front: spec_for(front, FRONT),
            document: spec_for(document, DOCUMENT),
        }
    }

    /// The camera that takes `kind`.
    pub fn for_kind(&self, kind: MaterialKind) -> &CameraSpec {
        if kind == MaterialKind::Photo {
            &self.front
        } else {
            &self.document
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_play_in_the_simulator_and_nodes_open_the_driver() {
        let dir = tempfile::tempdir().unwrap();
        let cams = Cameras::from_paths(dir.path(), Path::new("/dev/kiosk/doccam"));
        assert!(matches!(
            cams.for_kind(MaterialKind::Photo),
            CameraSpec::Files { .. }
        ));
        assert!(matches!(
            cams.for_kind(MaterialKind::QualificationCertificate),
            CameraSpec::Device { width: 2592, .. }
        ));
    }
}
