//! A small in-memory cache whose entries expire. Time is a parameter (`Millis` from the
//! `Clock`), so expiry is tested with explicit times.

use crate::clock::Millis;
use std::collections::HashMap;
use std::sync::RwLock;

/// A map from string keys to values that are fresh until a moment, holding at most `capacity`
/// entries. A poisoned lock reads as an empty cache and ignores writes: a cache miss only costs
/// a read from the store.
#[derive(Debug)]
pub struct TtlCache<V> {
    ttl: Millis,
    capacity: usize,
    entries: RwLock<HashMap<String, Entry<V>>>,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    /// Fresh while `now < until`.
    until: Millis,
}

impl<V: Clone> TtlCache<V> {
    /// A cache whose `insert` keeps values `ttl`, holding at most `capacity` entries.
    pub fn new(ttl: Millis, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The value of `key` if it is still fresh at `now`.
    pub fn get(&self, key: &str, now: Millis) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let entry = entries.get(key)?;
        (now < entry.until).then(|| entry.value.clone())
    }

    /// Keeps `value` for `key` until `now + ttl`.
    pub fn insert(&self, key: String, value: V, now: Millis) {
        self.insert_until(key, value, now, now.saturating_add(self.ttl));
    }

    /// Keeps `value` for `key` until `until` (exclusive). When the cache is full, entries that
    /// have expired at `now` go first, then those that expire soonest.
    pub fn insert_until(&self, key: String, value: V, now: Millis, until: Millis) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if !entries.contains_key(&key) && entries.len() >= self.capacity {
            make_room(&mut entries, self.capacity, now);
        }
        entries.insert(key, Entry { value, until });
    }

    pub fn remove(&self, key: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(key);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }

    /// Entries held, fresh or not.
    pub fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops the entries expired at `now`; if the cache is still full, the quarter of `capacity`
/// that expires soonest (at least one entry), so a full cache is not swept on every insert.
/// `capacity` is at least 1.
fn make_room<V>(entries: &mut HashMap<String, Entry<V>>, capacity: usize, now: Millis) {
    entries.retain(|_, e| now < e.until);
    if entries.len() < capacity {
        return;
    }
    let target = capacity - (capacity / 4).max(1);
    let excess = entries.len() - target;
    let mut untils: Vec<Millis> = entries.values().map(|e| e.until).collect();
    let (_, &mut cutoff, _) = untils.select_nth_unstable(excess - 1);
    // Entries expiring strictly before the cutoff all go; ties at the cutoff go until enough
    // room is made.
    let mut ties = excess - untils.iter().filter(|&&u| u < cutoff).count();
    entries.retain(|_, e| {
        if e.until < cutoff {
            false
        } else if e.until == cutoff && ties > 0 {
            ties -= 1;
            false
        } else {
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(capacity: usize) -> TtlCache<&'static str> {
        TtlCache::new(100, capacity)
    }

    #[test]
    fn fresh_until_the_ttl_has_passed() {
        let c = cache(10);
        c.insert("k".into(), "v", 1_000);
        assert_eq!(c.get("k", 1_000), Some("v"));
        assert_eq!(c.get("k", 1_099), Some("v"));
        assert_eq!(c.get("k", 1_100), None);
        assert_eq!(c.get("other", 1_000), None);
    }

    #[test]
    fn insert_until_sets_the_expiry() {
        let c = cache(10);
        c.insert_until("k".into(), "v", 1_000, 1_030);
        assert_eq!(c.get("k", 1_029), Some("v"));
        assert_eq!(c.get("k", 1_030), None);
        // Replacing a value replaces its expiry.
        c.insert("k".into(), "w", 1_030);
        assert_eq!(c.get("k", 1_129), Some("w"));
    }

    #[test]
    fn zero_ttl_never_serves() {
        let c: TtlCache<u8> = TtlCache::new(0, 10);
        c.insert("k".into(), 1, 5);
        assert_eq!(c.get("k", 5), None);
    }

    #[test]
    fn remove_and_clear() {
        let c = cache(10);
        c.insert("a".into(), "1", 0);
        c.insert("b".into(), "2", 0);
        c.remove("a");
        assert_eq!(c.get("a", 0), None);
        assert_eq!(c.get("b", 0), Some("2"));
        c.remove("missing");
        assert_eq!(c.len(), 1);
        c.clear();
        assert_eq!(c.get("b", 0), None);
        assert!(c.is_empty());
    }

    #[test]
    fn never_holds_more_than_its_capacity() {
        let c: TtlCache<i64> = TtlCache::new(1_000_000, 8);
        for i in 0..100 {
            c.insert(format!("k{i}"), i, i);
            assert!(c.len() <= 8, "{} entries after {i}", c.len());
        }
        // The newest entry is always kept.
        assert_eq!(c.get("k99", 100), Some(99));
    }

    /// Fills a cache of capacity 4 with `(key, until)` entries at time 0, then inserts `"new"`
    /// at `now`. Returns how many entries it holds then, and which keys are fresh, sorted.
    fn overflow(entries: &[(&'static str, Millis)], now: Millis) -> (usize, Vec<&'static str>) {
        let c = cache(4);
        for &(key, until) in entries {
            c.insert_until(key.into(), key, 0, until);
        }
        c.insert("new".into(), "new", now);
        let keys = entries.iter().map(|&(key, _)| key).chain(["new"]);
        let mut fresh: Vec<_> = keys.filter(|&k| c.get(k, now) == Some(k)).collect();
        fresh.sort_unstable();
        (c.len(), fresh)
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first() {
        let entries = [("old1", 10), ("old2", 20), ("live1", 500), ("live2", 400)];
        assert_eq!(overflow(&entries, 100), (3, vec!["live1", "live2", "new"]));
    }

    #[test]
    fn a_full_cache_of_fresh_entries_drops_those_expiring_soonest() {
        // A quarter of the capacity was freed: "b" went, everything else stays.
        let entries = [("a", 400), ("b", 100), ("c", 300), ("d", 200)];
        assert_eq!(overflow(&entries, 50), (4, vec!["a", "c", "d", "new"]));
    }

    #[test]
    fn replacing_a_key_in_a_full_cache_evicts_nothing() {
        let c = cache(2);
        c.insert("a".into(), "1", 0);
        c.insert("b".into(), "2", 0);
        c.insert("a".into(), "3", 1);
        assert_eq!(c.get("a", 1), Some("3"));
        assert_eq!(c.get("b", 1), Some("2"));
    }

    #[test]
    fn ties_at_the_cutoff_evict_only_what_is_needed() {
        let c = cache(8);
        for i in 0..8 {
            c.insert(format!("k{i}"), "v", 0);
        }
        c.insert("new".into(), "v", 1);
        // A quarter of 8 freed (2 dropped) before the new entry came in.
        assert_eq!(c.len(), 7);
        assert_eq!(c.get("new", 1), Some("v"));
    }

    #[test]
    fn zero_capacity_holds_nothing() {
        let c = cache(0);
        c.insert("k".into(), "v", 0);
        assert!(c.is_empty());
        assert_eq!(c.get("k", 0), None);
    }
}
