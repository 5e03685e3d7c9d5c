//! The county sync server: the HTTP API kiosks enroll with and sync to, the staff web pages,
//! and the store behind a trait (embedded SQLite by default). Filled by the sync issue.
