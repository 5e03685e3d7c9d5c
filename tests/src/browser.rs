//! A real browser for the staff pages: Debian's headless Chromium driven over WebDriver by a
//! `chromedriver` process this fixture starts on a free port and stops when dropped.
//!
//! `CHROMEDRIVER` and `CHROMIUM` override the binaries' paths (default: Debian's
//! `/usr/bin/chromedriver` and `/usr/bin/chromium`).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::booth::free_port;

/// A running chromedriver; the browser sessions it opens die with it.
#[derive(Debug)]
pub struct Driver {
    process: Child,
    pub url: String,
    profile: tempfile::TempDir,
}

fn binary(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

impl Driver {
    /// Starts chromedriver and waits until it accepts connections.
    pub fn start() -> Self {
        let driver = binary("CHROMEDRIVER", "/usr/bin/chromedriver");
        assert!(
            driver.exists(),
            "{} is missing: install Debian's chromium and chromium-driver \
             (apt-get install chromium chromium-driver), or set CHROMEDRIVER",
            driver.display()
        );
        let port = free_port();
        let process = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", driver.display()));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            process,
            url: format!("http://127.0.0.1:{port}"),
            profile: tempfile::tempdir().expect("browser profile dir"),
        }
    }

    /// A new headless desktop browser window of `width`×`height` CSS pixels, asking for
    /// Chinese pages as a county office PC does.
    pub async fn browser(&self, width: u32, height: u32) -> fantoccini::Client {
        self.session(width, height, None).await
    }

    /// A phone: Chromium's device emulation (a headless window cannot be narrower than
    /// 500 px), `width`×`height` CSS pixels.
    pub async fn phone(&self, width: u32, height: u32) -> fantoccini::Client {
        let metrics = serde_json::json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true },
            "userAgent": "Mozilla/5.0 (Linux; Android 14) Mobile",
        });
        self.session(width.max(500), height, Some(metrics)).await
    }

    async fn session(
        &self,
        width: u32,
        height: u32,
        mobile: Option<serde_json::Value>,
    ) -> fantoccini::Client {
        let chromium = binary("CHROMIUM", "/usr/bin/chromium");
        let profile = tempfile::tempdir_in(self.profile.path()).expect("profile");
        let profile = profile.keep();
        // Root in a container needs --no-sandbox; the network flags keep Chromium from calling
        // out (this machine has no internet) and from slowing every start.
        let mut capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "prefs": { "intl.accept_languages": "zh-CN,zh" },
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    "--force-device-scale-factor=1", "--lang=zh-CN",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
            }
        });
        if let Some(mobile) = mobile {
            capabilities["goog:chromeOptions"]["mobileEmulation"] = mobile;
        }
        let capabilities = match capabilities {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("an object literal"),
        };
        fantoccini::ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("open a Chromium session through {}: {e}", self.url))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Checks that the browser shows a picture and, with `UPDATE_SCREENSHOTS` set, saves it as
/// `docs/screenshots/NAME.png` for the README.
pub async fn screenshot(client: &fantoccini::Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("save screenshot");
    }
}
