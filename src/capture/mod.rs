//! Capturing materials with the cameras, outside the UI: [`feed`] runs a camera on its own
//! thread and converts frames for the preview; [`process`] turns a still into the checked,
//! compressed file. The Slint glue (`app::glue::capture`) only moves their results to the screen.

pub mod feed;
pub mod process;

use std::path::Path;

use kiosk_domain::catalog::MaterialKind;
use kiosk_hardware::camera::CameraSpec;

use crate::config::{CameraMode, Devices};

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
pub fn spec_for(path: &Path, mode: CameraMode) -> CameraSpec {
    if path.is_dir() || path.is_file() {
        CameraSpec::Files {
            path: path.into(),
            fps: SIMULATED_FPS,
        }
    } else {
        CameraSpec::Device {
            path: path.into(),
            width: mode.width,
            height: mode.height,
            fps: mode.fps,
        }
    }
}

impl Cameras {
    pub fn from_config(devices: &Devices) -> Cameras {
        Cameras {
            front: spec_for(&devices.camera, devices.camera_mode),
            document: spec_for(&devices.doccam, devices.doccam_mode),
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
        let cams = Cameras::from_config(&Devices {
            camera: dir.path().into(),
            ..Devices::default()
        });
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
