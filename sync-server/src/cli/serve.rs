//! `sync-server serve [--listen ADDR] [--log-format compact|json] [--follow-up-days N]`.
//!
//! Prints `listening on http://ADDR` on stdout once the store is open and the socket bound
//! (with the real port when `--listen` asks for port 0), then serves until SIGINT/SIGTERM.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use sync_server::server;
use sync_server::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Compact,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// How log lines on stderr look.
    #[arg(long, value_enum, default_value_t = LogFormat::Compact)]
    log_format: LogFormat,
    /// Working days staff have to call back and fix a 不满意/非常不满意 rating.
    #[arg(long, value_name = "N", default_value_t = sync_server::ratings::DEFAULT_FOLLOW_UP_DAYS)]
    follow_up_days: u32,
}

impl Args {
    pub fn json_logs(&self) -> bool {
        self.log_format == LogFormat::Json
    }

    pub async fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(&self.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}: pick a free address with --listen",
                    self.listen
                )
            })?;
        let address = listener.local_addr()?;
        let settings = Settings {
            follow_up_days: self.follow_up_days,
            ..Settings::default()
        };
        let state = server::open_state(data_dir, settings).await?;
        tracing::info!(data_dir = %data_dir.display(), server_id = state.server_id(), "store open");
        println!("listening on http://{address}");
        std::io::stdout().flush()?;
        server::serve(listener, state, server::shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(())
    }
}
