//! Booth keys derived from the run's seed and the booth's index, so a later run signs as the
//! same booths without a key file. Anyone with the seed can sign as these booths: that is why
//! loadgen enrolls into test stores only, never over a county's network.

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

/// The ed25519 key of booth `index` under `seed`.
pub fn booth_key(seed: &str, index: u32) -> SigningKey {
    let digest = Sha256::new()
        .chain_update(b"loadgen-booth-key-v1\0")
        .chain_update((seed.len() as u64).to_be_bytes())
        .chain_update(seed.as_bytes())
        .chain_update(index.to_be_bytes())
        .finalize();
    SigningKey::from_bytes(&digest.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_index_give_the_same_key_and_nothing_else_does() {
        let key = |seed, index| booth_key(seed, index).verifying_key().to_bytes();
        assert_eq!(key("a", 1), key("a", 1));
        assert_ne!(key("a", 1), key("a", 2));
        assert_ne!(key("a", 1), key("b", 1));
        // The seed's length is hashed in: "a" + index 0x31… cannot collide with "a1" + index.
        assert_ne!(key("a", 0x3100_0000), key("a1", 0));
    }
}
