//! `kiosk hw camera`: the document camera — list the cameras, capture one page to a file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use hardware::camera::page::{self, PageSettings};
use hardware::camera::{PixelFormat, list_cameras};
use kiosk_core::devices::camera::open_camera;

#[derive(Debug, clap::Subcommand)]
pub enum CameraCmd {
    /// List the video capture devices and the modes the booth can use.
    List,
    /// Take one still, find the page, flatten it and write it as a 200 dpi JPEG.
    Capture(Capture),
}

#[derive(Debug, clap::Args)]
pub struct Capture {
    /// The camera: /dev/video0, /dev/booth/camera, or a folder of recorded frames.
    #[arg(long, default_value = "/dev/video0")]
    device: PathBuf,
    /// Where the page goes; its thumbnail is written beside it (NAME.thumb.jpg).
    #[arg(long, default_value = "page.jpg")]
    out: PathBuf,
    /// Also keep the camera's still exactly as it came (JPEG for MJPEG, .yuyv for YUYV).
    #[arg(long)]
    raw: Option<PathBuf>,
}

impl CameraCmd {
    pub fn run(&self) -> anyhow::Result<()> {
        match self {
            CameraCmd::List => list(),
            CameraCmd::Capture(capture) => capture.run(),
        }
    }
}

fn list() -> anyhow::Result<()> {
    let cameras = list_cameras().context("listing /dev for video devices")?;
    if cameras.is_empty() {
        println!(
            "no camera found: plug in the document camera (its node appears as /dev/video*), or check `dmesg` for uvcvideo"
        );
        return Ok(());
    }
    for camera in cameras {
        let modes: Vec<String> = camera.modes.iter().map(ToString::to_string).collect();
        println!(
            "{:<16} {} ({}, {}): {}",
            camera.path.display(),
            camera.card,
            camera.driver,
            camera.bus,
            modes.join(", ")
        );
    }
    Ok(())
}

impl Capture {
    fn run(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut camera = open_camera(&self.device)?;
        let frame = camera.capture()?;
        let captured = started.elapsed();
        println!(
            "captured {} {}×{} ({} KB) from {} in {:.2} s",
            frame.format.fourcc(),
            frame.width,
            frame.height,
            frame.bytes.len() / 1024,
            camera.name(),
            captured.as_secs_f64()
        );
        if let Some(raw) = &self.raw {
            let raw = match frame.format {
                PixelFormat::Mjpeg => raw.clone(),
                PixelFormat::Yuyv => raw.with_file_name(format!(
                    "{}-{}x{}.yuyv",
                    raw.file_stem().unwrap_or_default().to_string_lossy(),
                    frame.width,
                    frame.height
                )),
            };
            write(&raw, &frame.bytes)?;
            println!("kept the still as {}", raw.display());
        }
        let processing = Instant::now();
        let still = frame
            .to_rgb()
            .with_context(|| format!("{} sent a still", camera.name()))?;
        let page = page::process(&still, &PageSettings::default())?;
        match page.outline {
            Some(quad) => {
                let corners: Vec<String> = quad
                    .0
                    .iter()
                    .map(|(x, y)| format!("({x:.0}, {y:.0})"))
                    .collect();
                println!("page found at {}", corners.join(" "));
            }
            None => println!(
                "no page edges found (is the page on the dark mat, all of it in view?): kept the whole still"
            ),
        }
        write(&self.out, &page.jpeg.bytes)?;
        let thumbnail = self.out.with_extension("thumb.jpg");
        write(&thumbnail, &page.thumbnail)?;
        println!(
            "wrote {} ({}×{}, {} KB, quality {}) and {} in {:.2} s",
            self.out.display(),
            page.jpeg.width,
            page.jpeg.height,
            page.jpeg.bytes.len() / 1024,
            page.jpeg.quality,
            thumbnail.display(),
            processing.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
