//! The county sync server: the HTTP API booths (kiosks) enroll with and sync to, and the store
//! behind it (embedded SQLite by default, behind a trait a PostgreSQL store can implement).
//!
//! The crate in layers, each importing only from those below it:
//! - [`domain`] (bottom): the county's rules and the types they speak in (roles and scopes,
//!   county time, working days, the review chain, ratings, fleet alerts, catalogue checks),
//!   pure, importing nothing from the layers above.
//! - [`store`]: the [`store::Store`] trait and its SQLite backend; depends on [`domain`] only.
//! - [`api`]: the kiosk API (route table, signatures, nonces, body limits, error bodies,
//!   enrollment codes, rate limits, metrics, OpenAPI) and [`staff`]: the county staff's web app
//!   under `/staff` (accounts, review, content, fleet, audit), server-rendered HTML.
//! - [`gate`]: a bounded place to work (places, a bounded queue, a wait limit), under staff
//!   password checks and the booth API's admission ([`api::admission`]).
//! - [`shared`]: the replay memory and guessing limits, in memory for one process or in
//!   PostgreSQL for several instances on one database.
//! - [`state`]: [`state::AppState`], what every handler shares; [`settings`]: limits and
//!   timeouts; [`app`]: [`app::app`] joins both route sets into the axum `Router` (for
//!   `oneshot` tests) and layers the cross-cutting middleware.
//! - [`server`] (top): [`server::run`] binds nothing itself: it serves a given listener until a
//!   shutdown future resolves, finishing in-flight requests. The binary and the tests use it;
//!   [`connections`]: the connection loop under it (a deadline on request heads, a cap on
//!   connections, accept failures waited out); [`tls`]: HTTPS for `serve` (rustls);
//!   [`data_dir`]: where the server keeps its files; [`key_file`]: the keys personal data is
//!   sealed with, kept apart from them; [`release_keys`]: the release public keys uploads are
//!   checked against; [`release_shelf`]: where verified release bundles are kept;
//!   [`release_upload`]: taking in an uploaded bundle (verify, keep, record); [`files`]: where
//!   submissions' files (photographed pages) are kept, an object store.
//!
//! Personal data (names, ID numbers, addresses, phone numbers, free text) is stored because the
//! county needs it, sealed ([`store::sealing`]), and never logged: log lines carry submission
//! ids, kiosk ids, receipt numbers, outcomes and latencies only.

pub mod api;
pub mod app;
pub mod connections;
pub mod data_dir;
pub mod domain;
pub mod files;
pub mod gate;
pub mod key_file;
pub mod phone_upload;
pub mod release_keys;
pub mod release_shelf;
pub mod release_upload;
pub mod server;
pub mod settings;
pub mod shared;
pub mod staff;
pub mod state;
pub mod store;
pub mod tls;
