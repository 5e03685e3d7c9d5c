//! The document camera driver: stills and preview frames from any [`FrameSource`].

use std::time::Duration;

use super::frame::Frame;
use super::source::{FrameSource, SourceError};

/// How the driver waits for a camera.
#[derive(Debug, Clone, Copy)]
pub struct CameraConfig {
    /// The longest wait for one frame before the camera counts as silent.
    pub frame_timeout: Duration,
    /// Frames dropped after opening, before the first still: a UVC camera's exposure and white
    /// balance settle over its first frames, which come out dark or tinted.
    pub settle_frames: u32,
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig {
            frame_timeout: Duration::from_secs(3),
            settle_frames: 5,
        }
    }
}

/// A document camera over a frame source.
#[derive(Debug)]
pub struct Camera<S> {
    source: S,
    config: CameraConfig,
    /// Frames seen since opening, up to `settle_frames`: a preview shown first settles the
    /// camera, so the still after it is not delayed.
    frames_seen: u32,
}

impl<S: FrameSource> Camera<S> {
    pub fn new(source: S, config: CameraConfig) -> Camera<S> {
        Camera {
            source,
            config,
            frames_seen: 0,
        }
    }

    /// The next frame, for the live preview.
    pub fn preview(&mut self) -> Result<Frame, SourceError> {
        let frame = self.source.next_frame(self.config.frame_timeout)?;
        self.frames_seen = self.frames_seen.saturating_add(1);
        Ok(frame)
    }

    /// A still of the page: a frame taken after the camera has settled.
    pub fn capture(&mut self) -> Result<Frame, SourceError> {
        while self.frames_seen < self.config.settle_frames {
            self.source.next_frame(self.config.frame_timeout)?;
            self.frames_seen += 1;
        }
        self.source.next_frame(self.config.frame_timeout)
    }

    /// What the camera is, for messages.
    pub fn name(&self) -> String {
        self.source.name()
    }

    /// The frame source back.
    pub fn into_inner(self) -> S {
        self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::frame::PixelFormat;
    use crate::camera::source::ReplaySource;

    fn numbered(n: u32) -> Frame {
        Frame {
            width: 2 + 2 * n,
            height: 1,
            format: PixelFormat::Yuyv,
            bytes: vec![0; (2 + 2 * n) as usize * 2],
        }
    }

    /// Ten numbered frames from a camera that settles over its first three.
    fn settling_in_three() -> Camera<ReplaySource> {
        let frames = (0..10).map(numbered).collect();
        Camera::new(
            ReplaySource::new(frames),
            CameraConfig {
                frame_timeout: Duration::from_millis(10),
                settle_frames: 3,
            },
        )
    }

    #[test]
    fn the_first_still_waits_for_the_camera_to_settle_and_later_ones_do_not() {
        let mut camera = settling_in_three();
        assert_eq!(camera.capture().expect("still").width, numbered(3).width);
        assert_eq!(camera.capture().expect("still").width, numbered(4).width);
        assert_eq!(camera.preview().expect("frame").width, numbered(5).width);
    }

    #[test]
    fn previews_shown_first_settle_the_camera() {
        let mut camera = settling_in_three();
        for n in 0..3 {
            assert_eq!(camera.preview().expect("frame").width, numbered(n).width);
        }
        assert_eq!(camera.capture().expect("still").width, numbered(3).width);
    }

    #[test]
    fn a_silent_camera_is_named_with_how_long_it_was_waited_for() {
        let mut camera = Camera::new(
            ReplaySource::new(Vec::new()),
            CameraConfig {
                frame_timeout: Duration::from_millis(5),
                settle_frames: 0,
            },
        );
        let error = camera.capture().unwrap_err();
        assert!(matches!(error, SourceError::Silent { .. }), "{error}");
        assert!(error.to_string().contains("sent no frame"), "{error}");
    }
}
