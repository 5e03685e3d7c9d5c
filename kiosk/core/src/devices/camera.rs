//! The document camera as the booth opens it: a V4L2 device (`/dev/video0`,
//! `/dev/v4l/by-id/…`, `/dev/booth/camera`) or a folder of recorded frames (the demo's
//! emulated camera, a technician replaying what a camera captured).

use std::path::{Path, PathBuf};
use std::time::Duration;

use hardware::camera::{
    Camera, CameraConfig, FrameSource, OpenCameraError, ReplaySource, SourceError, V4l2Source,
};
use thiserror::Error;

/// A recorded camera sends a frame this often, like a camera at 10 frames a second.
pub const RECORDED_FRAME_INTERVAL: Duration = Duration::from_millis(100);

/// Why the camera could not be opened.
#[derive(Debug, Error)]
pub enum OpenError {
    #[error(transparent)]
    Device(#[from] OpenCameraError),
    #[error(transparent)]
    Recording(#[from] SourceError),
    #[error(
        "{0} does not exist: name the camera's /dev/video* node (see `kiosk hw camera list`) or a folder of recorded frames"
    )]
    Missing(PathBuf),
}

/// Opens the camera at `path`: a folder is a recording, anything else a V4L2 device.
pub fn open_camera(path: &Path) -> Result<Camera<Box<dyn FrameSource + Send>>, OpenError> {
    let source: Box<dyn FrameSource + Send> = if path.is_dir() {
        Box::new(ReplaySource::folder(path, RECORDED_FRAME_INTERVAL)?)
    } else if path.exists() {
        Box::new(V4l2Source::open(path)?)
    } else {
        return Err(OpenError::Missing(path.to_path_buf()));
    };
    Ok(Camera::new(source, CameraConfig::default()))
}
