//! The key interner: every object key decoded from JSON and every field name in a compiled path
//! is one shared `Arc<str>` per distinct string, process-wide.
//!
//! Field names repeat across millions of profiles and events (`eventType`, `timestamp`), so
//! sharing them saves memory and, more importantly, makes a map lookup of a compiled path step a
//! length and pointer comparison (see [`super::map`]); when bytes must be compared, they are the
//! shared copy, which stays in the cache.
//!
//! The table is bounded ([`MAX_KEYS`] keys of at most [`MAX_KEY_LEN`] bytes): keys beyond it
//! (unusually long ones, or a flood of distinct map keys) are simply not shared, which costs
//! speed, never correctness — lookups fall back to comparing bytes. It is a read-mostly
//! `RwLock`: after warm-up every call takes only the read lock.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use rustc_hash::FxBuildHasher;

/// The most distinct keys the interner holds.
pub const MAX_KEYS: usize = 1 << 16;
/// Longer keys are never interned.
pub const MAX_KEY_LEN: usize = 128;

static KEYS: LazyLock<RwLock<HashSet<Arc<str>, FxBuildHasher>>> =
    LazyLock::new(|| RwLock::new(HashSet::with_hasher(FxBuildHasher)));

/// The shared copy of `s` (a fresh one when the table is full or `s` too long).
pub fn intern(s: &str) -> Arc<str> {
    if s.len() > MAX_KEY_LEN {
        return Arc::from(s);
    }
    // A poisoned lock still holds a consistent set (inserting cannot half-fail): keep using it.
    if let Some(k) = KEYS.read().unwrap_or_else(PoisonError::into_inner).get(s) {
        return k.clone();
    }
    let mut keys = KEYS.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(k) = keys.get(s) {
        return k.clone();
    }
    let k: Arc<str> = Arc::from(s);
    if keys.len() < MAX_KEYS {
        keys.insert(k.clone());
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_string_same_allocation() {
        let a = intern("eventType");
        let b = intern(&String::from("eventType"));
        assert!(Arc::ptr_eq(&a, &b));
        let long = "x".repeat(MAX_KEY_LEN + 1);
        assert!(!Arc::ptr_eq(&intern(&long), &intern(&long)));
        assert_eq!(&*intern(&long), long);
    }
}
