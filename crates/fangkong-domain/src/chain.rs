//! The hash chain that makes history tamper-evident (Principle 2).
//!
//! Every entry of an append-only log (report versions, audit entries) stores
//! `hash = SHA-256(previous hash ‖ canonical content)`. Changing, removing or
//! reordering any entry changes every hash after it, so walking the log and
//! recomputing finds the first entry that no longer fits.

use std::fmt;

use sha2::{Digest, Sha256};

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The "previous hash" of the first entry of a chain.
    pub const GENESIS: Hash = Hash([0; 32]);

    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        Some(Hash(bytes.try_into().ok()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", &self.to_hex()[..12])
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The hash of an entry whose canonical content is `content`, following `prev`.
pub fn link(prev: &Hash, content: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev.0);
    h.update(content);
    Hash(h.finalize().into())
}

/// Where a chain walk stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry fits; `entries` were checked.
    Intact { entries: u64 },
    /// The entry with sequence number `seq` does not fit the chain.
    Broken { seq: i64, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_depend_on_the_previous_hash_and_the_content() {
        let a = link(&Hash::GENESIS, b"one");
        let b = link(&a, b"two");
        assert_ne!(a, b);
        assert_eq!(b, link(&link(&Hash::GENESIS, b"one"), b"two"));
        assert_ne!(b, link(&link(&Hash::GENESIS, b"One"), b"two"));
        assert_eq!(a.to_hex().len(), 64);
    }
}
