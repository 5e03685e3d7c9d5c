//! `kiosk technician-pin [PIN]`: set the PIN that opens technician mode on the touchscreen
//! (4 to 12 digits). Without PIN, it is read from the first line of standard input, so it
//! need not appear in the shell's history. Prints `technician PIN set`.

use std::io::BufRead;
use std::path::Path;

use anyhow::Context;
use kiosk_core::store::technician_pin::TechnicianPin;

use super::open_store;

#[derive(Debug, clap::Args)]
pub struct SetPin {
    /// The new PIN (4 to 12 digits); read from standard input when left out.
    pin: Option<String>,
}

impl SetPin {
    pub fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let typed = match &self.pin {
            Some(pin) => pin.clone(),
            None => {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("cannot read the PIN from standard input")?;
                line
            }
        };
        let pin = TechnicianPin::parse(&typed)?;
        open_store(data_dir)?.set_technician_pin(&pin)?;
        println!("technician PIN set");
        Ok(())
    }
}
