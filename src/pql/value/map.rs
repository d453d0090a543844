//! Objects: [`Map`], the fields being built, and [`Object`], the shared immutable form a
//! [`Value::Object`] holds. Both keep fields in document order (D6.12) and are built for lookups on
//! data much larger than the CPU caches.
//!
//! Profiles and events are small objects (typically 3–15 fields) read millions of times, so a
//! lookup must touch as little memory as possible. An [`Object`] is one allocation: reference
//! count, length, optional index and the `(key, value)` pairs, contiguous, behind a thin pointer.
//! A lookup scans the pairs comparing key lengths first (kept inline in the pair), then key
//! pointers (keys are interned, see [`super::intern`], so the compiler's path steps and decoded
//! keys share one allocation), and only then bytes — bytes of interned keys, which stay hot in the
//! cache because every object shares them. Compiled paths also remember where each field was
//! last found ([`Object::get_hinted`]): objects of one shape then cost one comparison and touch
//! one cache line of fields. Objects above [`INDEXED_ABOVE`] fields
//! (segment-membership maps, large tenant namespaces) also carry a hash index from key to
//! position.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rustc_hash::FxBuildHasher;
use triomphe::ThinArc;

use super::Value;

/// Objects with more fields than this get a hash index; smaller ones are scanned.
pub const INDEXED_ABOVE: usize = 16;

type Index = HashMap<Arc<str>, u32, FxBuildHasher>;

/// An object's fields, in document order. Inserting an existing key replaces its value in place.
#[derive(Clone, Default)]
pub struct Map {
    entries: Vec<(Arc<str>, Value)>,
    index: Option<Box<Index>>,
}

/// Whether the stored key `k` is `name`: length, then identity, then bytes.
#[inline]
fn key_is(k: &str, name: &str) -> bool {
    k.len() == name.len() && (std::ptr::eq(k.as_ptr(), name.as_ptr()) || k == name)
}

/// The position of `name` among unindexed entries. Keys are unique, so when `name` is the
/// interned copy (a compiled path step) the first pass finds its field by identity alone, never
/// comparing bytes of same-length neighbours (`eventType` and `timestamp`); bytes are compared
/// only when identity found nothing and some key has the right length.
#[inline]
fn scan(entries: &[(Arc<str>, Value)], name: &str) -> Option<usize> {
    let mut same_length = false;
    for (i, (k, _)) in entries.iter().enumerate() {
        if k.len() == name.len() {
            if std::ptr::eq(k.as_ptr(), name.as_ptr()) {
                return Some(i);
            }
            same_length = true;
        }
    }
    if !same_length {
        return None;
    }
    entries.iter().position(|(k, _)| key_is(k, name))
}

/// The position of field `name` among `entries`.
#[inline]
fn find(entries: &[(Arc<str>, Value)], index: Option<&Index>, name: &str) -> Option<usize> {
    match index {
        // The hot path: a short scan over the inline key lengths.
        None => scan(entries, name),
        Some(index) => index.get(name).map(|&i| i as usize),
    }
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    pub fn with_capacity(n: usize) -> Map {
        Map {
            entries: Vec::with_capacity(n),
            index: None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, name: &str) -> Option<usize> {
        find(&self.entries, self.index.as_deref(), name)
    }

    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.position(name).map(|i| &self.entries[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Sets field `key`: a new key goes last, an existing one keeps its place. Returns the value
    /// it replaces.
    pub fn insert(&mut self, key: Arc<str>, value: Value) -> Option<Value> {
        if let Some(i) = self.position(&key) {
            return Some(std::mem::replace(&mut self.entries[i].1, value));
        }
        let at = self.entries.len();
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), at as u32);
        }
        self.entries.push((key, value));
        if self.index.is_none() && self.entries.len() > INDEXED_ABOVE {
            self.build_index();
        }
        None
    }

    fn build_index(&mut self) {
        let mut index = Index::with_capacity_and_hasher(self.entries.len() * 2, FxBuildHasher);
        for (i, (k, _)) in self.entries.iter().enumerate() {
            index.insert(k.clone(), i as u32);
        }
        self.index = Some(Box::new(index));
    }

    /// The fields in document order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Arc<str>> + DoubleEndedIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value> + DoubleEndedIterator {
        self.entries.iter().map(|(_, v)| v)
    }
}

/// An object's fields, frozen and shared: cloning is a reference-count increment.
#[derive(Clone)]
pub struct Object(ThinArc<Option<Box<Index>>, (Arc<str>, Value)>);

impl From<Map> for Object {
    fn from(map: Map) -> Object {
        Object(ThinArc::from_header_and_iter(
            map.index,
            map.entries.into_iter(),
        ))
    }
}

impl Default for Object {
    fn default() -> Object {
        Object::from(Map::new())
    }
}

impl Object {
    fn entries(&self) -> &[(Arc<str>, Value)] {
        &self.0.slice
    }

    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// The value of field `name`.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&Value> {
        let entries = self.entries();
        find(entries, self.0.header.header.as_deref(), name).map(|i| &entries[i].1)
    }

    /// [`Object::get`] starting at position `*hint`, and leaving there the position found.
    /// Objects of one shape (the events of one source) keep each field at the same position, so
    /// with the interned key a lookup is usually one comparison and one cache line. The hint is
    /// only a guess: any value gives the right answer.
    #[inline]
    pub fn get_hinted(&self, name: &str, hint: &AtomicU32) -> Option<&Value> {
        let entries = self.entries();
        let guess = hint.load(Ordering::Relaxed) as usize;
        if let Some((k, v)) = entries.get(guess)
            && std::ptr::eq(k.as_ptr(), name.as_ptr())
            && k.len() == name.len()
        {
            return Some(v);
        }
        let i = find(entries, self.0.header.header.as_deref(), name)?;
        if i != guess {
            hint.store(i as u32, Ordering::Relaxed);
        }
        Some(&entries[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The fields in document order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries().iter())
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Arc<str>> + DoubleEndedIterator {
        self.entries().iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value> + DoubleEndedIterator {
        self.entries().iter().map(|(_, v)| v)
    }

    /// A copy of the fields to build on.
    pub fn to_map(&self) -> Map {
        Map {
            entries: self.entries().to_vec(),
            index: self.0.header.header.clone(),
        }
    }
}

impl<'m> IntoIterator for &'m Object {
    type Item = (&'m Arc<str>, &'m Value);
    type IntoIter = Iter<'m>;

    fn into_iter(self) -> Iter<'m> {
        self.iter()
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Iterator over the fields of a [`Map`] or an [`Object`], in document order.
pub struct Iter<'m>(std::slice::Iter<'m, (Arc<str>, Value)>);

impl<'m> Iterator for Iter<'m> {
    type Item = (&'m Arc<str>, &'m Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl<'m> IntoIterator for &'m Map {
    type Item = (&'m Arc<str>, &'m Value);
    type IntoIter = Iter<'m>;

    fn into_iter(self) -> Iter<'m> {
        self.iter()
    }
}

impl FromIterator<(Arc<str>, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (Arc<str>, Value)>>(iter: I) -> Map {
        let iter = iter.into_iter();
        let mut map = Map::with_capacity(iter.size_hint().0);
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn keeps_document_order_and_replaces_in_place() {
        let mut m = Map::new();
        assert!(m.insert(key("z"), Value::Int(1)).is_none());
        m.insert(key("a"), Value::Int(2));
        let old = m.insert(key("z"), Value::Int(3));
        assert!(matches!(old, Some(Value::Int(1))));
        let keys: Vec<&str> = m.keys().map(|k| &**k).collect();
        assert_eq!(keys, ["z", "a"]);
        assert!(matches!(m.get("z"), Some(Value::Int(3))));
        assert!(m.get("y").is_none());
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn large_maps_are_indexed_and_agree_with_a_scan() {
        let mut m = Map::new();
        for i in 0..100 {
            m.insert(Arc::from(format!("k{i}")), Value::Int(i));
        }
        m.insert(key("k7"), Value::Int(-7));
        assert!(m.index.is_some());
        assert_eq!(m.len(), 100);
        for i in 0..100 {
            let want = if i == 7 { -7 } else { i };
            assert!(matches!(m.get(&format!("k{i}")), Some(Value::Int(v)) if *v == want));
        }
        assert!(m.get("k100").is_none());
        let o = Object::from(m);
        for i in 0..100 {
            let want = if i == 7 { -7 } else { i };
            assert!(matches!(o.get(&format!("k{i}")), Some(Value::Int(v)) if *v == want));
        }
        assert!(o.get("k100").is_none());
        let order: Vec<String> = o.keys().take(3).map(|k| k.to_string()).collect();
        assert_eq!(order, ["k0", "k1", "k2"]);
    }

    #[test]
    fn hinted_lookups_follow_the_shape_and_survive_wrong_hints() {
        use crate::pql::value::intern;
        let (a, b, c) = (intern("a"), intern("b"), intern("c"));
        let shape = |keys: &[&Arc<str>]| {
            let mut m = Map::new();
            for (i, k) in keys.iter().enumerate() {
                m.insert((*k).clone(), Value::Int(i as i64));
            }
            Object::from(m)
        };
        let abc = shape(&[&a, &b, &c]);
        let cab = shape(&[&c, &a, &b]);
        let hint = AtomicU32::new(0);
        assert!(matches!(abc.get_hinted(&b, &hint), Some(Value::Int(1))));
        assert_eq!(hint.load(Ordering::Relaxed), 1);
        assert!(matches!(abc.get_hinted(&b, &hint), Some(Value::Int(1))));
        assert!(matches!(cab.get_hinted(&b, &hint), Some(Value::Int(2))));
        assert_eq!(hint.load(Ordering::Relaxed), 2);
        assert!(shape(&[&a]).get_hinted(&b, &hint).is_none());
        hint.store(99, Ordering::Relaxed);
        assert!(matches!(abc.get_hinted("c", &hint), Some(Value::Int(2))));
        assert!(matches!(
            cab.get_hinted(&String::from("c"), &hint),
            Some(Value::Int(0))
        ));
    }

    #[test]
    fn equal_keys_in_different_allocations_match() {
        let mut m = Map::new();
        m.insert(key("eventType"), Value::Int(1));
        m.insert(key("timestamp"), Value::Int(2));
        let probe = String::from("timestamp");
        assert!(matches!(m.get(&probe), Some(Value::Int(2))));
        let o = Object::from(m);
        assert!(matches!(o.get(&probe), Some(Value::Int(2))));
        assert_eq!(o.len(), 2);
        assert!(Object::default().is_empty());
    }
}
