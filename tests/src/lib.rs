//! Shared fixtures for the end-to-end tests in `tests/tests/`, which run the real `kiosk`
//! binary against device emulators on pseudo-terminals (and, later, the sync server).
