//! The wire format between kiosks and the county sync server: versioned request and response
//! types (serde, JSON), the request-signing scheme and the error body. Shared by `kiosk` and
//! `sync-server` so both sides compile against one definition. Filled by the sync issue.
