//! `kiosk hw emulate {id-card|printer|scanner|camera}`: a device on a fresh pseudo-terminal
//! (the camera: a folder of frames), so every other `kiosk hw` command (and the booth itself) can
//! be tried with no hardware.
//!
//! The first line printed is `port: /dev/pts/N`. Lines typed on standard input control the
//! device while it runs (`help` lists them); it runs until Ctrl-C, `quit`, or SIGTERM, even when
//! standard input is closed.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use hardware::id_card::emulator::{
    self as reader_emulator, AfterRead, EmulatedCard, Fault as ReaderFault,
};
use hardware::id_card::samples;
use hardware::printer::PaperWidth;
use hardware::printer::emulator::{self as printer_emulator, Fault as PrinterFault};
use hardware::scanner::emulator::{self as scanner_emulator, CodeEncoding, Suffix};
use hardware::transport::Pty;

use super::parse_duration;

#[derive(Debug, clap::Subcommand)]
pub enum Emulate {
    /// A GA 467 ID card reader with a card on it (type `help` for place/remove/fault).
    IdCard(IdCardArgs),
    /// An ESC/POS receipt printer that saves each receipt as text and PNG.
    Printer(PrinterArgs),
    /// A serial QR scanner: every line typed on standard input is scanned.
    Scanner(ScannerArgs),
    /// A document camera over an A4 page with a red seal: its frames in a folder that
    /// `kiosk hw camera capture --device FOLDER` (and the booth) read (type `help`).
    Camera(CameraArgs),
}

/// Where the emulator is published.
#[derive(Debug, clap::Args)]
pub struct LinkArgs {
    /// Also publish the port under this name (like /dev/serial/by-id/…), removed on exit.
    #[arg(long)]
    link: Option<PathBuf>,
}

impl LinkArgs {
    fn pty(&self) -> anyhow::Result<Pty> {
        let pty = Pty::open().map_err(|e| anyhow::anyhow!("cannot open a pseudo-terminal: {e}"))?;
        Ok(match &self.link {
            Some(link) => pty
                .with_link(link)
                .map_err(|e| anyhow::anyhow!("cannot create the link {}: {e}", link.display()))?,
            None => pty,
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct IdCardArgs {
    /// The card on the reader at start: resident, permit, foreign or foreign-2023.
    #[arg(long, default_value = "resident", conflicts_with_all = ["card_file", "empty"])]
    card: String,
    /// Load the card from a TOML or JSON file instead (see hardware/tests/fixtures/id_card/).
    #[arg(long)]
    card_file: Option<PathBuf>,
    /// Start with no card on the reader.
    #[arg(long)]
    empty: bool,
    /// A fault: none, no-card, removed-mid-read, bad-checksum, sam-not-authorised,
    /// sam-self-test, sam:<hex>, slow:<800ms>, noise, garbage, silent.
    #[arg(long, default_value = "none")]
    fault: ReaderFault,
    /// After a read, does `find` see the same card again (still-found) or not until it is
    /// lifted (no-card-until-lifted, most readers)?
    #[arg(long, default_value = "no-card-until-lifted")]
    after_read: AfterRead,
    #[command(flatten)]
    link: LinkArgs,
}

#[derive(Debug, clap::Args)]
pub struct PrinterArgs {
    /// Paper width in millimetres: 58 or 80.
    #[arg(long, default_value = "58")]
    width: PaperWidth,
    /// Where each receipt is saved as receipt-NNNN.txt and receipt-NNNN.png.
    #[arg(long, default_value = "receipts")]
    out: PathBuf,
    /// A status fault: none, paper-end, near-end, cover-open, offline.
    #[arg(long, default_value = "none")]
    fault: PrinterFault,
    /// Do not answer status requests (like many /dev/usb/lp printers).
    #[arg(long)]
    silent: bool,
    #[command(flatten)]
    link: LinkArgs,
}

#[derive(Debug, clap::Args)]
pub struct ScannerArgs {
    /// Sent after each code: cr, lf, crlf or none.
    #[arg(long, default_value = "crlf")]
    suffix: Suffix,
    /// How codes are encoded: utf8 or gb18030.
    #[arg(long, default_value = "utf8")]
    encoding: CodeEncoding,
    /// A code to scan at start (repeatable).
    #[arg(long = "code")]
    codes: Vec<String>,
    /// Scan the --code codes again every this long (e.g. 2s), for demos.
    #[arg(long, value_parser = parse_duration)]
    every: Option<Duration>,
    /// Pause between bytes, to mimic a slow line (e.g. 2ms).
    #[arg(long, value_parser = parse_duration, default_value = "0ms")]
    per_byte: Duration,
    #[command(flatten)]
    link: LinkArgs,
}

impl Emulate {
    pub fn run(&self) -> anyhow::Result<()> {
        let (tx, lines) = mpsc::channel::<Control>();
        forward_stdin(tx.clone());
        let stop = tx;
        ctrlc::set_handler(move || {
            let _ = stop.send(Control::Quit);
        })?;
        match self {
            Self::IdCard(args) => args.run(&lines),
            Self::Printer(args) => args.run(&lines),
            Self::Scanner(args) => args.run(&lines),
            Self::Camera(args) => args.run(&lines),
        }
    }
}

enum Control {
    Line(String),
    Quit,
}

/// Reads control lines on a thread; at end of input the emulator keeps running.
fn forward_stdin(tx: mpsc::Sender<Control>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.send(Control::Line(line.trim().to_owned())).is_err() {
                break;
            }
        }
    });
}

fn announce(path: &Path, link: Option<&Path>, what: &str, controls: &str) {
    println!("port: {}", path.display());
    if let Some(link) = link {
        println!("link: {}", link.display());
    }
    println!("{what} emulator running; {controls}; Ctrl-C stops it");
}

/// Runs `handle` on each control line until `quit`, Ctrl-C or SIGTERM; `tick` runs in between.
fn control_loop(
    lines: &mpsc::Receiver<Control>,
    mut handle: impl FnMut(&str) -> anyhow::Result<()>,
    mut tick: impl FnMut(),
) {
    loop {
        match lines.recv_timeout(Duration::from_millis(100)) {
            Ok(Control::Quit) => return,
            Ok(Control::Line(line)) if line == "quit" || line == "exit" => return,
            Ok(Control::Line(line)) if line.is_empty() => {}
            Ok(Control::Line(line)) => match handle(&line) {
                Ok(()) => println!("ok: {line}"),
                Err(err) => println!("error: {err}"),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Only the Ctrl-C handler's sender is left after stdin closed; wait for it.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(Duration::from_millis(100))
            }
        }
        tick();
    }
}

#[derive(Debug, clap::Args)]
pub struct CameraArgs {
    /// The folder its frames are published in (created; the camera's "device").
    #[arg(long)]
    folder: PathBuf,
    /// The frame size, e.g. 2592x1944 (5 MP, a common document camera).
    #[arg(long, default_value = "2592x1944", value_parser = parse_size)]
    size: (u32, u32),
    /// Send YUYV frames instead of MJPEG (what `vivid` and small webcams send).
    #[arg(long)]
    yuyv: bool,
    /// The page under the camera at start; 0 is the empty mat.
    #[arg(long, default_value_t = 1)]
    page: u32,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', '×'])
        .ok_or_else(|| format!("`{text}` is not a size: write WIDTHxHEIGHT, e.g. 2592x1944"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| (160..=8192).contains(&n))
    };
    match (parse(w), parse(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(format!("`{text}`: each side must be 160 to 8192 pixels")),
    }
}

impl CameraArgs {
    fn publish(&self, page: u32) -> anyhow::Result<()> {
        use hardware::camera::emulator::{DocumentScene, publish};
        let (w, h) = self.size;
        let mut scene = DocumentScene::a4_on_desk(w, h, page.max(1));
        scene.page = (page > 0).then_some(page);
        let frame = if self.yuyv {
            scene.yuyv_frame()
        } else {
            scene.mjpeg_frame(85)
        };
        publish(&self.folder, &frame)?;
        Ok(())
    }

    fn run(&self, lines: &mpsc::Receiver<Control>) -> anyhow::Result<()> {
        self.publish(self.page)?;
        println!("camera: {}", self.folder.display());
        println!(
            "document camera emulator running; type `page N` to place page N, `remove` to take it away; Ctrl-C stops it"
        );
        control_loop(
            lines,
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["page", n] => self.publish(
                    n.parse()
                        .map_err(|_| anyhow::anyhow!("`{n}` is not a page number"))?,
                ),
                ["remove"] => self.publish(0),
                _ => anyhow::bail!("unknown command `{line}`: page N, remove, quit"),
            },
            || {},
        );
        Ok(())
    }
}

fn load_card(name_or_path: &str) -> anyhow::Result<EmulatedCard> {
    let path = Path::new(name_or_path);
    if path.extension().is_some() && path.exists() {
        return Ok(EmulatedCard::load(path)?);
    }
    Ok(EmulatedCard::new(samples::by_name(name_or_path)?)?)
}

impl IdCardArgs {
    fn run(&self, lines: &mpsc::Receiver<Control>) -> anyhow::Result<()> {
        let card = match (&self.card_file, self.empty) {
            (_, true) => None,
            (Some(path), false) => Some(EmulatedCard::load(path)?),
            (None, false) => Some(load_card(&self.card)?),
        };
        let config = reader_emulator::EmulatorConfig {
            card,
            fault: self.fault,
            after_read: self.after_read,
            ..Default::default()
        };
        let emulator = reader_emulator::spawn_on_pty(self.link.pty()?, config)?;
        let path = emulator
            .path()
            .expect("a pty emulator has a path")
            .to_owned();
        announce(
            &path,
            emulator.link(),
            "ID card reader",
            "type `place [resident|permit|foreign|foreign-2023|FILE]`, `remove`, `fault NAME`",
        );
        control_loop(
            lines,
            |line| {
                let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
                match verb {
                    "place" => emulator.place(load_card(if rest.is_empty() {
                        "resident"
                    } else {
                        rest.trim()
                    })?),
                    "remove" => emulator.remove(),
                    "fault" => emulator.set_fault(rest.parse()?),
                    "help" => println!(
                        "place [resident|permit|foreign|foreign-2023|FILE] | remove | fault NAME | quit"
                    ),
                    _ => anyhow::bail!("unknown control `{verb}`: type help"),
                }
                Ok(())
            },
            || {},
        );
        emulator.stop();
        Ok(())
    }
}

impl PrinterArgs {
    fn run(&self, lines: &mpsc::Receiver<Control>) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.out).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the receipt folder {}: {e}",
                self.out.display()
            )
        })?;
        let config = printer_emulator::EmulatorConfig {
            width: self.width,
            output_dir: Some(self.out.clone()),
            link: self.link.link.clone(),
            fault: self.fault,
            silent: self.silent,
        };
        let emulator = printer_emulator::spawn(config)?;
        announce(
            emulator.path(),
            emulator.link(),
            &format!("{} receipt printer", self.width),
            &format!(
                "receipts go to {}; type `fault NAME`, `silent on|off`",
                self.out.display()
            ),
        );
        let mut reported = 0;
        control_loop(
            lines,
            |line| {
                let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
                match (verb, rest.trim()) {
                    ("fault", name) => emulator.set_fault(name.parse()?),
                    ("silent", "on") => emulator.set_silent(true),
                    ("silent", "off") => emulator.set_silent(false),
                    ("help", _) => println!(
                        "fault none|paper-end|near-end|cover-open|offline | silent on|off | quit"
                    ),
                    _ => anyhow::bail!("unknown control `{line}`: type help"),
                }
                Ok(())
            },
            || {
                let files = emulator.written_files();
                for file in &files[reported..] {
                    println!("receipt: {}", file.display());
                }
                reported = files.len();
            },
        );
        emulator.stop()?;
        Ok(())
    }
}

impl ScannerArgs {
    fn run(&self, lines: &mpsc::Receiver<Control>) -> anyhow::Result<()> {
        let config = scanner_emulator::EmulatorConfig {
            suffix: self.suffix,
            encoding: self.encoding,
            per_byte: self.per_byte,
            link: self.link.link.clone(),
            codes: self.codes.clone(),
            ..Default::default()
        };
        let emulator = scanner_emulator::spawn(config)?;
        announce(
            emulator.path(),
            emulator.link(),
            "QR scanner",
            "type a line to scan it",
        );
        let mut next_round = self.every.map(|every| std::time::Instant::now() + every);
        control_loop(
            lines,
            |line| Ok(emulator.scan(line)?),
            || {
                if let (Some(at), Some(every)) = (next_round, self.every)
                    && std::time::Instant::now() >= at
                {
                    for code in &self.codes {
                        let _ = emulator.scan(code);
                    }
                    next_round = Some(at + every);
                }
            },
        );
        emulator.stop()?;
        Ok(())
    }
}
