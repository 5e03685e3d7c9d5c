//! The county's rules and the types they speak in, pure and free of storage and HTTP: the
//! bottom layer. The store persists what these rules decide, the kiosk API and the staff pages
//! drive them; nothing here imports from `store`, `api` or `staff` (a test in
//! `tests/tests/e2e/architecture.rs` checks it).
//!
//! - [`access`]: staff roles, scopes, and the lockout and session rules.
//! - [`county_time`]: China Standard Time, the clock of every date and deadline.
//! - [`calendar`]: working days (holidays and exchanged weekend days) deadlines count in.
//! - [`review`]: the review chain as a state machine: who acts at which level, what each
//!   action does.
//! - [`ratings`]: 好差评 tallies for the dashboard, and the due date and steps of the follow-up
//!   every bad rating gets.
//! - [`limits`]: the longest value kept of anything that comes from outside.
//! - [`fleet`]: the kiosk record, and whether a booth is online, its paper and its alerts.
//! - [`releases`]: rollouts of booth releases: which booths each includes, each booth's
//!   target, progress, the automatic pause.
//! - [`catalog`]: the catalogue import file, the rule every published item meets, and how an
//!   import changes item versions.

pub mod access;
pub mod calendar;
pub mod catalog;
pub mod county_time;
pub mod fleet;
pub mod limits;
pub mod ratings;
pub mod releases;
pub mod review;
