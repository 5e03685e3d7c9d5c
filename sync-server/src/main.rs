//! `sync-server`: the county server binary (a thin shell over the `sync_server` library).

fn main() {
    eprintln!("sync-server: not built yet; the kiosk API arrives with the sync issue");
    std::process::exit(2);
}
