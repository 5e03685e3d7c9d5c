//! Replay memory: each `(kiosk, nonce)` is accepted once for as long as its signature's
//! `created` could be accepted (`created + MAX_SKEW_SECS`, inclusive), at most
//! `sync_protocol::signing::NONCE_TTL_SECS` after it was first seen.
//!
//! The retention is keyed on `created`, not on when the request arrived: a request signed
//! 300 s ahead of the server's clock is accepted for 600 s, and remembering it for 600 s from
//! its first use would forget it in the very second its `created` is still accepted.
//!
//! Behind [`Nonces`], in two forms:
//! - [`NonceCache`], in memory, for one server process (the SQLite store): remembering a nonce
//!   on disk would turn every feed read into a write. What a restart forgets: a request
//!   captured in the last ten minutes could be replayed once right after a restart, while its
//!   timestamp is still within the ±300 s window. That buys an attacker nothing: submissions
//!   are idempotent by id (a replay is a `duplicate`), a heartbeat replay rewrites the same
//!   report, and feeds are reads.
//! - `crate::shared::postgres::PgNonces`, for several processes on one PostgreSQL database: a
//!   nonce remembered by one instance only would be accepted once more by every other.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::StoreFuture;

/// Forget expired nonces after this many insertions, so the sweep costs O(1) amortised.
const SWEEP_EVERY: usize = 4096;

/// The replay memory every instance of the server consults. An error means the nonce could
/// not be checked: the request must be refused (accepting it could accept a replay).
pub trait Nonces: Send + Sync + std::fmt::Debug {
    /// Records the nonce, to be remembered through `remember_until` (inclusive: the last
    /// second its signature is accepted, `ParsedSignature::accepted_until`); `false` when it
    /// was already used and is still remembered at `now_secs`.
    fn first_use<'a>(
        &'a self,
        kiosk_id: &'a str,
        nonce: &'a str,
        remember_until: i64,
        now_secs: i64,
    ) -> StoreFuture<'a, bool>;
}

#[derive(Debug, Default)]
pub struct NonceCache {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// `(kiosk id, nonce)` → the last Unix second it must still be refused at.
    seen: HashMap<(String, String), i64>,
    inserted_since_sweep: usize,
}

impl NonceCache {
    /// Records the nonce, to be remembered through `remember_until` (inclusive: the last
    /// second its signature is accepted, `ParsedSignature::accepted_until`); `false` when it
    /// was already used and is still remembered at `now_secs`.
    pub fn first_use(
        &self,
        kiosk_id: &str,
        nonce: &str,
        remember_until: i64,
        now_secs: i64,
    ) -> bool {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (kiosk_id.to_owned(), nonce.to_owned());
        if state.seen.get(&key).is_some_and(|until| *until >= now_secs) {
            return false;
        }
        state.seen.insert(key, remember_until);
        state.inserted_since_sweep += 1;
        if state.inserted_since_sweep >= SWEEP_EVERY {
            state.seen.retain(|_, until| *until >= now_secs);
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

impl Nonces for NonceCache {
    fn first_use<'a>(
        &'a self,
        kiosk_id: &'a str,
        nonce: &'a str,
        remember_until: i64,
        now_secs: i64,
    ) -> StoreFuture<'a, bool> {
        let first = Self::first_use(self, kiosk_id, nonce, remember_until, now_secs);
        Box::pin(std::future::ready(Ok(first)))
    }
}

#[cfg(test)]
mod tests {
    use sync_protocol::signing::{self, MAX_SKEW_SECS, RequestParts};

    use super::*;

    const CREATED: i64 = 1_000_000;

    fn signed(created: i64) -> signing::ParsedSignature {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let parts = RequestParts {
            method: "GET",
            path: "/api/v1/feeds/catalog",
            query: "",
            body: b"",
        };
        let headers = signing::sign(&key, "k1", &parts, created, "n0nce-0123");
        signing::parse(
            Some(&headers.content_digest),
            Some(&headers.signature_input),
            Some(&headers.signature),
        )
        .unwrap()
    }

    /// What the server does with a request at `now`: the time check, then the nonce.
    fn accepted(cache: &NonceCache, signature: &signing::ParsedSignature, now: i64) -> bool {
        signature.check_time(now).is_ok()
            && cache.first_use("k1", &signature.nonce, signature.accepted_until(), now)
    }

    #[test]
    fn a_nonce_is_used_once_per_kiosk_while_remembered() {
        let cache = NonceCache::default();
        assert!(cache.first_use("k1", "n1", 1300, 1000));
        assert!(!cache.first_use("k1", "n1", 1300, 1300), "the last second");
        assert!(cache.first_use("k2", "n1", 1300, 1000));
        assert!(
            cache.first_use("k1", "n1", 1600, 1301),
            "forgotten after it"
        );
    }

    #[test]
    fn a_request_is_accepted_once_at_every_pair_of_first_use_and_replay_times() {
        // The finding: first used with `created` 300 s ahead, replayed at exactly +600 s.
        let signature = signed(CREATED);
        let cache = NonceCache::default();
        assert!(accepted(&cache, &signature, CREATED - MAX_SKEW_SECS));
        assert!(!accepted(&cache, &signature, CREATED + MAX_SKEW_SECS));

        let window = CREATED - MAX_SKEW_SECS..=CREATED + MAX_SKEW_SECS;
        for first in [
            *window.start(),
            window.start() + 1,
            CREATED,
            window.end() - 1,
            *window.end(),
        ] {
            let cache = NonceCache::default();
            assert!(accepted(&cache, &signature, first), "first use at {first}");
            for replay in first..=window.end() + 2 {
                assert!(
                    !accepted(&cache, &signature, replay),
                    "first used at {first}, replayed at {replay}"
                );
            }
        }
    }

    #[test]
    fn the_sweep_keeps_what_is_still_accepted() {
        let cache = NonceCache::default();
        assert!(cache.first_use("k1", "kept", 5000, 4000));
        for i in 0..SWEEP_EVERY {
            assert!(cache.first_use("k1", &format!("n{i}"), 4000, 4000));
        }
        assert!(!cache.first_use("k1", "kept", 5000, 5000));
    }
}
