//! A real camera through the kernel's V4L2 interface (`/dev/video*`): UVC document cameras, and
//! the kernel's virtual camera `vivid` in the booth VM's tests.
//!
//! The negotiation a document camera needs: MJPEG at its largest frame size when it offers
//! MJPEG (that is where its full resolution is), otherwise YUYV at its largest.

use std::path::{Path, PathBuf};
use std::time::Duration;

use linuxvideo::format::{FrameSizes, PixFormat, PixelFormat as Fourcc};
use linuxvideo::stream::ReadStream;
use linuxvideo::{BufType, CapabilityFlags, Device};
use thiserror::Error;

use super::frame::{Frame, FrameError, PixelFormat};
use super::source::{FrameSource, SourceError};

/// What a technician sees of one camera in `kiosk hw camera list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    pub path: PathBuf,
    /// The device's name as its driver gives it ("HD USB Camera", "vivid").
    pub card: String,
    pub driver: String,
    pub bus: String,
    /// Every format this crate can take, with the largest size the camera offers in it.
    pub modes: Vec<Mode>,
}

/// One format at one size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}×{}", self.format.fourcc(), self.width, self.height)
    }
}

/// Why a camera could not be opened.
#[derive(Debug, Error)]
pub enum OpenCameraError {
    #[error("{path} cannot be opened: is the camera plugged in, and is this user in group video?")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a video capture device (a codec, an output or metadata node): choose another /dev/video*"
    )]
    NotCapture { path: PathBuf },
    #[error(
        "{path} offers neither MJPEG nor YUYV (it offers {offered}): this camera is not supported"
    )]
    NoUsableFormat { path: PathBuf, offered: String },
    #[error("{path} refused to start capturing: is another program using the camera?")]
    Start {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Every video capture device under `/dev`, with its usable modes; devices that cannot be
/// opened or capture nothing usable are left out.
pub fn list_cameras() -> std::io::Result<Vec<CameraInfo>> {
    let mut cameras = Vec::new();
    for device in linuxvideo::list()? {
        let Ok(device) = device else { continue };
        let Ok(path) = device.path() else { continue };
        if let Ok(info) = describe(&device, &path)
            && !info.modes.is_empty()
        {
            cameras.push(info);
        }
    }
    cameras.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(cameras)
}

/// Describes the camera at `path`.
pub fn describe_camera(path: &Path) -> Result<CameraInfo, OpenCameraError> {
    let device = Device::open(path).map_err(|source| OpenCameraError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    describe(&device, path)
}

fn describe(device: &Device, path: &Path) -> Result<CameraInfo, OpenCameraError> {
    let open_error = |source| OpenCameraError::Open {
        path: path.to_path_buf(),
        source,
    };
    let capabilities = device.capabilities().map_err(open_error)?;
    if !capabilities
        .device_capabilities()
        .contains(CapabilityFlags::VIDEO_CAPTURE)
    {
        return Err(OpenCameraError::NotCapture {
            path: path.to_path_buf(),
        });
    }
    let mut modes = Vec::new();
    for format in device.formats(BufType::VIDEO_CAPTURE) {
        let Ok(format) = format else { continue };
        let fourcc = format.pixel_format();
        let ours = match fourcc {
            f if f == Fourcc::MJPG || f == Fourcc::JPEG => PixelFormat::Mjpeg,
            f if f == Fourcc::YUYV => PixelFormat::Yuyv,
            _ => continue,
        };
        let Ok(sizes) = device.frame_sizes(fourcc) else {
            continue;
        };
        let (width, height) = largest(&sizes);
        if width > 0 && height > 0 && !modes.iter().any(|m: &Mode| m.format == ours) {
            modes.push(Mode {
                format: ours,
                width,
                height,
            });
        }
    }
    Ok(CameraInfo {
        path: path.to_path_buf(),
        card: capabilities.card().to_owned(),
        driver: capabilities.driver().to_owned(),
        bus: capabilities.bus_info().to_owned(),
        modes,
    })
}

fn largest(sizes: &FrameSizes) -> (u32, u32) {
    match sizes {
        FrameSizes::Discrete(list) => list
            .iter()
            .map(|s| (s.width(), s.height()))
            .max_by_key(|&(w, h)| u64::from(w) * u64::from(h))
            .unwrap_or((0, 0)),
        FrameSizes::Stepwise(s) | FrameSizes::Continuous(s) => (s.max_width(), s.max_height()),
    }
}

/// The mode a document camera is opened in: MJPEG at its largest, else YUYV at its largest.
pub fn preferred_mode(info: &CameraInfo) -> Option<Mode> {
    let by = |format| info.modes.iter().find(|m| m.format == format).copied();
    by(PixelFormat::Mjpeg).or_else(|| by(PixelFormat::Yuyv))
}

/// A streaming V4L2 camera.
pub struct V4l2Source {
    path: PathBuf,
    mode: Mode,
    /// Bytes from one row's start to the next in a YUYV buffer (rows may be padded).
    stride: usize,
    stream: ReadStream,
}

impl std::fmt::Debug for V4l2Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V4l2Source")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl V4l2Source {
    /// Opens the camera at `path` in its preferred mode and starts streaming.
    pub fn open(path: &Path) -> Result<V4l2Source, OpenCameraError> {
        let info = describe_camera(path)?;
        let mode = preferred_mode(&info).ok_or_else(|| OpenCameraError::NoUsableFormat {
            path: path.to_path_buf(),
            offered: offered_formats(path),
        })?;
        let device = Device::open(path).map_err(|source| OpenCameraError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let fourcc = match mode.format {
            PixelFormat::Mjpeg => Fourcc::MJPG,
            PixelFormat::Yuyv => Fourcc::YUYV,
        };
        let start = |source| OpenCameraError::Start {
            path: path.to_path_buf(),
            source,
        };
        let capture = device
            .video_capture(PixFormat::new(mode.width, mode.height, fourcc))
            .map_err(start)?;
        // The driver may adjust the size it agreed to; frames are checked against what it says.
        let agreed = capture.format();
        let mode = Mode {
            format: mode.format,
            width: agreed.width(),
            height: agreed.height(),
        };
        let stride = agreed.bytes_per_line() as usize;
        let stream = capture.into_stream().map_err(start)?;
        Ok(V4l2Source {
            path: path.to_path_buf(),
            mode,
            stride,
            stream,
        })
    }

    /// The format and size the camera agreed to.
    pub fn mode(&self) -> Mode {
        self.mode
    }
}

/// A frame's rows without the padding a driver may put after each.
fn unpadded_rows(buffer: &[u8], row: usize, stride: usize) -> Vec<u8> {
    if stride <= row {
        return buffer.to_vec();
    }
    buffer
        .chunks(stride)
        .flat_map(|line| &line[..row.min(line.len())])
        .copied()
        .collect()
}

fn offered_formats(path: &Path) -> String {
    let Ok(device) = Device::open(path) else {
        return "nothing readable".to_owned();
    };
    let names: Vec<String> = device
        .formats(BufType::VIDEO_CAPTURE)
        .filter_map(Result::ok)
        .map(|f| f.pixel_format().to_string())
        .collect();
    if names.is_empty() {
        "no formats".to_owned()
    } else {
        names.join(", ")
    }
}

impl FrameSource for V4l2Source {
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, SourceError> {
        let name = self.name();
        let timespec = rustix::event::Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        let mut fds = [rustix::event::PollFd::new(
            &self.stream,
            rustix::event::PollFlags::IN,
        )];
        let ready =
            rustix::event::poll(&mut fds, Some(&timespec)).map_err(|e| SourceError::Io {
                name: name.clone(),
                source: e.into(),
            })?;
        if ready == 0 {
            return Err(SourceError::Silent {
                name,
                waited: timeout,
            });
        }
        let revents = fds[0].revents();
        if revents.intersects(rustix::event::PollFlags::ERR | rustix::event::PollFlags::HUP) {
            return Err(SourceError::Gone {
                name,
                source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
            });
        }
        let (mode, stride) = (self.mode, self.stride);
        let frame = self
            .stream
            .dequeue(|buffer| {
                Ok(match mode.format {
                    PixelFormat::Mjpeg => Frame::mjpeg(mode.width, mode.height, &buffer),
                    PixelFormat::Yuyv => Ok(Frame {
                        width: mode.width,
                        height: mode.height,
                        format: PixelFormat::Yuyv,
                        bytes: unpadded_rows(&buffer, mode.width as usize * 2, stride),
                    }),
                })
            })
            .map_err(|source| match source.raw_os_error() {
                Some(libc::ENODEV) => SourceError::Gone {
                    name: name.clone(),
                    source,
                },
                _ => SourceError::Io {
                    name: name.clone(),
                    source,
                },
            })?;
        frame.map_err(|source: FrameError| SourceError::BadFrame { name, source })
    }

    fn name(&self) -> String {
        format!("the camera {}", self.path.display())
    }
}
