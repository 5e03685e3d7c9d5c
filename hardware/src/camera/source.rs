//! Where frames come from: the trait every camera driver is generic over, and the replay source
//! that plays recorded frames back (unit tests, the demo's emulated camera).

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use super::frame::{Frame, FrameError, PixelFormat};

/// A stream of frames from one camera.
pub trait FrameSource {
    /// The next frame, waiting at most `timeout`; [`SourceError::Silent`] when none came.
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, SourceError>;

    /// What the source is, for messages: a device path, a recording's folder.
    fn name(&self) -> String;
}

impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, SourceError> {
        (**self).next_frame(timeout)
    }

    fn name(&self) -> String {
        (**self).name()
    }
}

/// Why no frame came.
#[derive(Debug, Error)]
pub enum SourceError {
    #[error("{name} sent no frame for {waited:?}: is the camera's cable in and its lamp on?")]
    Silent { name: String, waited: Duration },
    #[error("{name} went away: reconnect the camera and try again")]
    Gone {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name} sent a frame that is not a picture")]
    BadFrame {
        name: String,
        #[source]
        source: FrameError,
    },
    #[error("{name} cannot be read")]
    Io {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{name} holds no recorded frames (*.jpg, *.jpeg, *.yuyv): record some or choose another folder"
    )]
    NoRecording { name: String },
}

/// Recorded frames played back in a loop, the way a camera streams the same scene. A folder
/// source re-reads the folder when it changes, so a page swapped under the emulated camera is
/// seen by the next frame.
#[derive(Debug)]
pub struct ReplaySource {
    frames: Vec<Frame>,
    next: usize,
    folder: Option<Folder>,
}

#[derive(Debug)]
struct Folder {
    path: PathBuf,
    stamp: Option<std::time::SystemTime>,
    interval: Duration,
}

impl ReplaySource {
    /// Plays `frames` in order, forever.
    pub fn new(frames: Vec<Frame>) -> ReplaySource {
        ReplaySource {
            frames,
            next: 0,
            folder: None,
        }
    }

    /// Plays the frames recorded in `folder`, in file name order: `*.jpg`/`*.jpeg` are MJPEG
    /// frames (their size read from the JPEG header), `W×H.yuyv` files YUYV frames. A frame
    /// arrives every `interval`, as from a camera at that rate.
    pub fn folder(folder: &Path, interval: Duration) -> Result<ReplaySource, SourceError> {
        let mut source = ReplaySource {
            frames: Vec::new(),
            next: 0,
            folder: Some(Folder {
                path: folder.to_path_buf(),
                stamp: None,
                interval,
            }),
        };
        source.reload()?;
        if source.frames.is_empty() {
            return Err(SourceError::NoRecording {
                name: source.name(),
            });
        }
        Ok(source)
    }

    fn reload(&mut self) -> Result<(), SourceError> {
        let Some(folder) = &mut self.folder else {
            return Ok(());
        };
        let name = folder.path.display().to_string();
        let io = |source| SourceError::Io {
            name: name.clone(),
            source,
        };
        let stamp = std::fs::metadata(&folder.path)
            .and_then(|m| m.modified())
            .map_err(io)?;
        if folder.stamp == Some(stamp) {
            return Ok(());
        }
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&folder.path)
            .map_err(io)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect();
        paths.sort();
        let mut frames = Vec::new();
        for path in paths {
            let extension = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default()
                .to_ascii_lowercase();
            let format = match extension.as_str() {
                "jpg" | "jpeg" => PixelFormat::Mjpeg,
                "yuyv" => PixelFormat::Yuyv,
                _ => continue,
            };
            // A file being written is skipped until the folder changes again.
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let bad = |source| SourceError::BadFrame {
                name: path.display().to_string(),
                source,
            };
            let frame = match format {
                PixelFormat::Mjpeg => {
                    let (width, height) =
                        jpeg_size(&bytes).ok_or_else(|| bad(FrameError::NotJpeg))?;
                    Frame::mjpeg(width, height, &bytes).map_err(bad)?
                }
                PixelFormat::Yuyv => {
                    let (width, height) = yuyv_size(&path).ok_or_else(|| bad(FrameError::Empty))?;
                    Frame {
                        width,
                        height,
                        format,
                        bytes,
                    }
                }
            };
            frames.push(frame);
        }
        folder.stamp = Some(stamp);
        self.frames = frames;
        self.next = 0;
        Ok(())
    }
}

impl FrameSource for ReplaySource {
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, SourceError> {
        self.reload()?;
        let Some(frame) = self.frames.get(self.next % self.frames.len().max(1)) else {
            std::thread::sleep(timeout);
            return Err(SourceError::Silent {
                name: self.name(),
                waited: timeout,
            });
        };
        if let Some(folder) = &self.folder {
            if folder.interval > timeout {
                std::thread::sleep(timeout);
                return Err(SourceError::Silent {
                    name: self.name(),
                    waited: timeout,
                });
            }
            std::thread::sleep(folder.interval);
        }
        self.next = self.next.wrapping_add(1);
        Ok(frame.clone())
    }

    fn name(&self) -> String {
        match &self.folder {
            Some(folder) => format!("the recorded camera {}", folder.path.display()),
            None => "the recorded camera".to_owned(),
        }
    }
}

/// A JPEG's width and height from its start-of-frame header.
pub fn jpeg_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            return None;
        }
        let marker = bytes[at + 1];
        let length = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let header = bytes.get(at + 5..at + 9)?;
            let height = u32::from(u16::from_be_bytes([header[0], header[1]]));
            let width = u32::from(u16::from_be_bytes([header[2], header[3]]));
            return Some((width, height));
        }
        at += 2 + length;
    }
    None
}

/// `640x480.yuyv` (or `page-640x480.yuyv`) → 640 × 480.
fn yuyv_size(path: &Path) -> Option<(u32, u32)> {
    let stem = path.file_stem()?.to_str()?;
    let size = stem.rsplit(['-', '_']).next()?;
    let (width, height) = size.split_once(['x', '×'])?;
    Some((width.parse().ok()?, height.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_folder_plays_in_name_order_and_follows_a_swapped_page() {
        let dir = tempfile::tempdir().expect("tempdir");
        let jpeg = |shade: u8, width: u32| {
            let image = image::RgbImage::from_pixel(width, 8, image::Rgb([shade; 3]));
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new(&mut out)
                .encode_image(&image)
                .expect("encode");
            out
        };
        std::fs::write(dir.path().join("b.jpg"), jpeg(200, 24)).expect("write");
        std::fs::write(dir.path().join("a.jpg"), jpeg(10, 16)).expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not a frame").expect("write");
        let mut source = ReplaySource::folder(dir.path(), Duration::ZERO).expect("source");
        let widths: Vec<u32> = (0..3)
            .map(|_| {
                source
                    .next_frame(Duration::from_secs(1))
                    .expect("frame")
                    .width
            })
            .collect();
        assert_eq!(widths, [16, 24, 16]);

        std::fs::remove_file(dir.path().join("a.jpg")).expect("remove");
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("c.jpg"), jpeg(100, 32)).expect("write");
        // The folder's time stamp has a coarse clock on some file systems: touch it for sure.
        let later = std::time::SystemTime::now() + Duration::from_secs(2);
        std::fs::File::open(dir.path())
            .and_then(|f| f.set_modified(later))
            .expect("touch the folder");
        let frame = source.next_frame(Duration::from_secs(1)).expect("frame");
        assert_eq!(frame.width, 24);
    }

    #[test]
    fn an_empty_folder_names_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = ReplaySource::folder(dir.path(), Duration::ZERO).unwrap_err();
        assert!(
            error.to_string().contains("holds no recorded frames"),
            "{error}"
        );
    }
}
