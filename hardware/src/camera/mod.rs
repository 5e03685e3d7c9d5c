//! The document camera (高拍仪): a USB UVC camera over the page, through V4L2.
//!
//! Map of the module:
//! - [`frame`]: the codec: one frame's bytes (MJPEG, with or without Huffman tables; YUYV) to
//!   RGB pixels, with typed errors for cut-off and foreign frames.
//! - [`source`]: [`FrameSource`], the stream of frames every driver is generic over, and
//!   [`ReplaySource`], which plays recorded frames back.
//! - [`v4l2`]: a real camera through `/dev/video*` (UVC cameras, the kernel's `vivid`):
//!   listing, choosing the mode, streaming with a timeout.
//! - [`driver`]: [`Camera`]: stills (after the camera settles) and preview frames.
//! - [`page`]: from a still to the page as a villager's material: the page's edges found,
//!   perspective and skew corrected, a 200 dpi colour JPEG and a thumbnail.
//! - [`emulator`]: a printed page with a red seal on a desk, in perspective, as the camera's
//!   MJPEG or YUYV frames.

pub mod driver;
pub mod emulator;
pub mod frame;
pub mod page;
pub mod source;
pub mod v4l2;

pub use driver::{Camera, CameraConfig};
pub use emulator::DocumentScene;
pub use frame::{Frame, FrameError, PixelFormat};
pub use source::{FrameSource, ReplaySource, SourceError};
pub use v4l2::{CameraInfo, Mode, OpenCameraError, V4l2Source, describe_camera, list_cameras};
