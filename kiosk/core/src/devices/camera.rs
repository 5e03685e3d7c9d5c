//! The document camera as the booth opens it: a V4L2 device (`/dev/video0`,
//! `/dev/v4l/by-id/…`, `/dev/booth/camera`) or a folder of recorded frames (the demo's
//! emulated camera, a technician replaying what a camera captured).

use std::path::{Path, PathBuf};
use std::time::Duration;

use hardware::camera::page::{self, PageSettings};
use hardware::camera::{
    Camera, CameraConfig, FrameSource, OpenCameraError, ReplaySource, SourceError, V4l2Source,
};
use image::RgbImage;
use image::imageops::FilterType;
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

/// The longer side of a preview frame: enough for a villager to see the page lies right,
/// small enough to decode, scale and show a few times a second on the booth's CPU.
pub const PREVIEW_SIDE: u32 = 640;
/// At most this many preview frames a second: the rest of the booth keeps its CPU.
const PREVIEW_INTERVAL: Duration = Duration::from_millis(200);

/// What the camera worker was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Preview,
    Take,
    Stop,
}

/// What the camera worker saw, for the page that asked.
#[derive(Debug)]
pub enum CameraEvent {
    /// A live frame scaled to [`PREVIEW_SIDE`], and whether a page's edges are in it.
    Preview { frame: RgbImage, page_found: bool },
    /// The still, made into a page.
    Taken(Box<TakenPage>),
    /// Why there is no preview or page; the worker has stopped and waits to be asked again.
    Failed(CameraProblem),
}

/// The longer side of the page as the villager checks it on screen.
pub const CHECK_SIDE: u32 = 1000;

/// One photographed page as it is kept: the JPEG that is submitted, the page at screen size
/// for the villager to check, and the thumbnail listed under its material.
pub struct TakenPage {
    pub jpeg: Vec<u8>,
    pub on_screen: RgbImage,
    pub thumbnail: RgbImage,
    /// Whether the page's edges were found (the whole still was kept when not).
    pub page_found: bool,
}

impl std::fmt::Debug for TakenPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TakenPage({} bytes)", self.jpeg.len())
    }
}

/// Why the camera gave nothing, in terms a villager's screen can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraProblem {
    /// The camera cannot be opened or sends no frame: a technician is needed.
    Unavailable,
    /// The still could not be made into a page (a broken frame): take it again.
    NotAPage,
}

/// The document camera on a thread of its own: a live preview while a page shows one, a still
/// made into a page on request, and the device closed when nobody looks (another program, or
/// `kiosk hw camera`, may then use it). Events go to `report`, which must not block.
#[derive(Debug)]
pub struct CameraWorker {
    commands: std::sync::mpsc::Sender<Command>,
    path: PathBuf,
}

impl CameraWorker {
    pub fn start(
        path: PathBuf,
        report: impl Fn(CameraEvent) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (commands, inbox) = std::sync::mpsc::channel();
        let device = path.clone();
        std::thread::Builder::new()
            .name("document-camera".into())
            .spawn(move || work(&device, &inbox, &report))?;
        Ok(Self { commands, path })
    }

    /// Whether the configured camera's node (or recording) is there now. One `stat` of a
    /// device node, cheap enough for the UI thread as a flow starts: a booth whose camera is
    /// unplugged or broken offers no photographs rather than a camera step that cannot work.
    pub fn is_plugged_in(&self) -> bool {
        self.path.exists()
    }

    /// Live frames from now on, until [`Self::take`] or [`Self::stop`].
    pub fn preview(&self) {
        let _ = self.commands.send(Command::Preview);
    }

    /// A still as the next event (the preview stops).
    pub fn take(&self) {
        let _ = self.commands.send(Command::Take);
    }

    /// No more frames; the device is closed.
    pub fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
    }
}

type OpenCamera = Camera<Box<dyn FrameSource + Send>>;

fn work(path: &Path, inbox: &std::sync::mpsc::Receiver<Command>, report: &dyn Fn(CameraEvent)) {
    let mut camera: Option<OpenCamera> = None;
    let mut previewing = false;
    loop {
        // Waiting costs nothing while nobody looks; while previewing, only queued commands.
        let command = if previewing {
            match inbox.try_recv() {
                Ok(command) => Some(command),
                Err(std::sync::mpsc::TryRecvError::Empty) => None,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
            }
        } else {
            match inbox.recv() {
                Ok(command) => Some(command),
                Err(_) => return,
            }
        };
        match command {
            Some(Command::Stop) => {
                previewing = false;
                camera = None;
                continue;
            }
            Some(Command::Preview) => previewing = true,
            Some(Command::Take) => {
                previewing = false;
                let event = match opened(&mut camera, path) {
                    Some(open) => take(open),
                    None => CameraEvent::Failed(CameraProblem::Unavailable),
                };
                if matches!(event, CameraEvent::Failed(CameraProblem::Unavailable)) {
                    camera = None;
                }
                report(event);
                continue;
            }
            None => {}
        }
        let started = std::time::Instant::now();
        let frame = opened(&mut camera, path).map(|open| open.preview());
        match frame {
            Some(Ok(frame)) => match frame.to_rgb() {
                Ok(rgb) => {
                    let small = scaled_to(&rgb, PREVIEW_SIDE);
                    let page_found = hardware::camera::page::find_page(&small).is_some();
                    report(CameraEvent::Preview {
                        frame: small,
                        page_found,
                    });
                }
                // One broken frame in a stream is dropped; the next one is shown.
                Err(err) => tracing::debug!(%err, "camera preview frame dropped"),
            },
            Some(Err(err)) => {
                tracing::warn!(%err, "document camera stopped sending frames");
                camera = None;
                previewing = false;
                report(CameraEvent::Failed(CameraProblem::Unavailable));
            }
            None => {
                previewing = false;
                report(CameraEvent::Failed(CameraProblem::Unavailable));
            }
        }
        if let Some(rest) = PREVIEW_INTERVAL.checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

/// The open camera, opening it if needed; `None` (and the reason logged) when it cannot be.
fn opened<'a>(camera: &'a mut Option<OpenCamera>, path: &Path) -> Option<&'a mut OpenCamera> {
    if camera.is_none() {
        match open_camera(path) {
            Ok(open) => {
                tracing::info!(device = %path.display(), "document camera opened");
                *camera = Some(open);
            }
            Err(err) => {
                tracing::warn!(%err, "document camera unavailable");
                return None;
            }
        }
    }
    camera.as_mut()
}

fn take(camera: &mut OpenCamera) -> CameraEvent {
    let still = match camera.capture() {
        Ok(frame) => frame,
        Err(err) => {
            tracing::warn!(%err, "document camera sent no still");
            return CameraEvent::Failed(CameraProblem::Unavailable);
        }
    };
    let page = still
        .to_rgb()
        .map_err(|err| err.to_string())
        .and_then(|rgb| page::process(&rgb, &PageSettings::default()).map_err(|e| e.to_string()));
    let page = match page {
        Ok(page) => page,
        Err(err) => {
            tracing::warn!(%err, "the still is not a page");
            return CameraEvent::Failed(CameraProblem::NotAPage);
        }
    };
    let decoded = hardware::camera::frame::decode_jpeg(&page.thumbnail).and_then(|thumbnail| {
        hardware::camera::frame::decode_jpeg(&page.jpeg.bytes).map(|whole| (thumbnail, whole))
    });
    let (thumbnail, whole) = match decoded {
        Ok(decoded) => decoded,
        Err(err) => {
            tracing::warn!(%err, "the page just encoded does not decode");
            return CameraEvent::Failed(CameraProblem::NotAPage);
        }
    };
    // Sizes only: the page itself is personal data.
    tracing::info!(
        bytes = page.jpeg.bytes.len(),
        page_found = page.outline.is_some(),
        "document camera took a page"
    );
    CameraEvent::Taken(Box::new(TakenPage {
        jpeg: page.jpeg.bytes,
        on_screen: scaled_to(&whole, CHECK_SIDE),
        thumbnail,
        page_found: page.outline.is_some(),
    }))
}

/// `image` scaled so its longer side is at most `side` (never enlarged).
fn scaled_to(image: &RgbImage, side: u32) -> RgbImage {
    let (width, height) = image.dimensions();
    let longer = width.max(height);
    if longer <= side {
        return image.clone();
    }
    let scale = f64::from(side) / f64::from(longer);
    let to = |n: u32| ((f64::from(n) * scale).round() as u32).max(1);
    image::imageops::resize(image, to(width), to(height), FilterType::Triangle)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use hardware::camera::DocumentScene;
    use hardware::camera::emulator::publish;

    use super::*;

    const PATIENCE: Duration = Duration::from_secs(30);

    fn worker_on(folder: &Path) -> (CameraWorker, mpsc::Receiver<CameraEvent>) {
        let (sender, events) = mpsc::channel();
        let worker = CameraWorker::start(folder.to_path_buf(), move |event| {
            let _ = sender.send(event);
        })
        .expect("the camera thread starts");
        (worker, events)
    }

    #[test]
    fn a_preview_shows_the_page_small_and_a_take_makes_it_a_page() {
        let folder = tempfile::tempdir().unwrap();
        let scene = DocumentScene::a4_on_desk(1600, 1200, 1);
        publish(folder.path(), &scene.mjpeg_frame(90)).unwrap();
        let (camera, events) = worker_on(folder.path());

        camera.preview();
        let Ok(CameraEvent::Preview { frame, page_found }) = events.recv_timeout(PATIENCE) else {
            panic!("a preview frame");
        };
        assert_eq!(
            frame.dimensions(),
            (PREVIEW_SIDE, 480),
            "scaled, not cropped"
        );
        assert!(page_found, "the page on the desk is found");

        camera.take();
        let taken = loop {
            match events.recv_timeout(PATIENCE).expect("the still") {
                CameraEvent::Preview { .. } => continue,
                CameraEvent::Taken(taken) => break taken,
                CameraEvent::Failed(problem) => panic!("{problem:?}"),
            }
        };
        assert!(taken.page_found);
        assert!(taken.jpeg.starts_with(&[0xFF, 0xD8]), "a JPEG");
        assert!(taken.jpeg.len() <= 500_000, "{} bytes", taken.jpeg.len());
        let (w, h) = taken.thumbnail.dimensions();
        assert!(w < h && h <= 240, "an upright A4 thumbnail: {w}×{h}");
        assert_eq!(taken.on_screen.height(), CHECK_SIDE);
        assert!(
            events.recv_timeout(Duration::from_millis(600)).is_err(),
            "no preview after the still until asked"
        );
    }

    #[test]
    fn a_missing_camera_is_reported_and_asked_again_later() {
        let folder = tempfile::tempdir().unwrap();
        let gone = folder.path().join("camera");
        let (camera, events) = worker_on(&gone);
        camera.preview();
        assert!(matches!(
            events.recv_timeout(PATIENCE),
            Ok(CameraEvent::Failed(CameraProblem::Unavailable))
        ));

        // Plugged in (here: the recording appears), the next request finds it.
        std::fs::create_dir(&gone).unwrap();
        publish(
            &gone,
            &DocumentScene::a4_on_desk(800, 600, 1).mjpeg_frame(90),
        )
        .unwrap();
        camera.take();
        assert!(matches!(
            events.recv_timeout(PATIENCE),
            Ok(CameraEvent::Taken(_))
        ));
    }
}
