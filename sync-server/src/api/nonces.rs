//! Replay memory: each `(kiosk, nonce)` is accepted once within
//! `sync_protocol::signing::NONCE_TTL_SECS`.
//!
//! Kept in memory, not in the store: remembering a nonce on disk would turn every feed read
//! into a write. What a restart forgets: a request captured in the last ten minutes could be
//! replayed once right after a restart, while its timestamp is still within the ±300 s
//! window. That buys an attacker nothing: submissions are idempotent by id (a replay is a
//! `duplicate`), a heartbeat replay rewrites the same report, and feeds are reads. A
//! deployment with several server processes would move this behind the store trait.

use std::collections::HashMap;
use std::sync::Mutex;

use sync_protocol::signing::NONCE_TTL_SECS;

/// Forget expired nonces after this many insertions, so the sweep costs O(1) amortised.
const SWEEP_EVERY: usize = 4096;

#[derive(Debug, Default)]
pub struct NonceCache {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// `(kiosk id, nonce)` → Unix second after which it may be forgotten.
    seen: HashMap<(String, String), i64>,
    inserted_since_sweep: usize,
}

impl NonceCache {
    /// Records the nonce; `false` when it was already used and not yet expired.
    pub fn first_use(&self, kiosk_id: &str, nonce: &str, now_secs: i64) -> bool {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (kiosk_id.to_owned(), nonce.to_owned());
        if state.seen.get(&key).is_some_and(|until| *until > now_secs) {
            return false;
        }
        state.seen.insert(key, now_secs + NONCE_TTL_SECS);
        state.inserted_since_sweep += 1;
        if state.inserted_since_sweep >= SWEEP_EVERY {
            state.seen.retain(|_, until| *until > now_secs);
            state.inserted_since_sweep = 0;
        }
        true
    }

    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .seen
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_used_once_per_kiosk_until_it_expires() {
        let cache = NonceCache::default();
        assert!(cache.first_use("k1", "n1", 1000));
        assert!(!cache.first_use("k1", "n1", 1000 + NONCE_TTL_SECS - 1));
        assert!(cache.first_use("k2", "n1", 1000));
        assert!(cache.first_use("k1", "n1", 1000 + NONCE_TTL_SECS));
    }
}
