//! Abuse limits for sign-in (issue 2 §10, issue 8 §8).
//!
//! Per client IP: an in-memory token bucket (a per-node limit is enough to slow a single source).
//! Per account: failures are kept in the store, keyed by the normalised identifier whether or not
//! an account exists, so that a limit never tells an attacker which emails are registered, and by
//! source, so that a stranger's failures brake the stranger and not the owner
//! (docs/design/sessions-and-tokens.md "Abuse limits").

use crate::clock::{Millis, HOUR, MINUTE, SECOND};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// The source a per-IP limit counts: an IPv4 address, or the /64 of an IPv6 address (one
/// subscriber usually holds a whole /64, so per-address buckets would give an attacker 2^64 of
/// them). IPv4-mapped IPv6 addresses count as their IPv4 address; anything unparseable counts as
/// itself.
pub fn ip_source(client_ip: &str) -> String {
    match client_ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => client_ip.to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// Attempts a single IP may make in a burst.
    pub per_ip_burst: u32,
    /// Sustained attempts per IP per minute.
    pub per_ip_per_minute: u32,
    /// Sign-in and sign-up attempts per instance per minute, all sources together (also the
    /// burst): a ceiling that keeps password hashing from being saturated by many sources.
    pub per_instance_per_minute: u32,
    /// Failed attempts on one account from one source in `account_burst_window` before that
    /// source pauses (0: no per-source brake).
    pub per_account_burst: u32,
    pub account_burst_window: Millis,
    /// Failed attempts on one account from all sources in an hour before attempts on it are
    /// paced: one every `HOUR / per_account_per_hour`, whatever the source.
    pub per_account_per_hour: u32,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            per_ip_burst: 30,
            per_ip_per_minute: 30,
            per_instance_per_minute: 3000,
            per_account_burst: 10,
            account_burst_window: 5 * MINUTE,
            per_account_per_hour: 100,
        }
    }
}

/// A failed sign-in on an account: when, and from which source (`ip_source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSignIn {
    pub at: Millis,
    pub source: String,
}

impl SignInLimits {
    /// The per-source brake: given the account's failures of the last hour (oldest first), how
    /// long `source` must wait before another attempt on it; `None` when it may try now. Only
    /// `source`'s own failures count, so a stranger cannot lock the owner out.
    pub fn source_retry_after(
        &self,
        failures_last_hour: &[FailedSignIn],
        source: &str,
        now: Millis,
    ) -> Option<Millis> {
        if self.per_account_burst == 0 {
            return None;
        }
        let window_start = now - self.account_burst_window;
        let recent: Vec<Millis> = failures_last_hour
            .iter()
            .filter(|f| f.source == source && f.at > window_start)
            .map(|f| f.at)
            .collect();
        let burst = self.per_account_burst as usize;
        (recent.len() >= burst)
            .then(|| (recent[recent.len() - burst] + self.account_burst_window - now).max(SECOND))
    }

    /// Time between two admitted attempts on an account past its hourly ceiling.
    pub fn account_pace(&self) -> Millis {
        (HOUR / Millis::from(self.per_account_per_hour.max(1))).max(SECOND)
    }
}

/// The per-account ceiling, all sources together: once an account has `per_account_per_hour`
/// failures in the last hour, attempts on it are admitted one per `account_pace`. A source that
/// comes too early is given the next free slot and told how long to wait (`Retry-After`); the slot
/// stays its own for one pace, so however many sources an attacker brings, each later arrival
/// (the owner) waits a bounded time and then gets in, while guesses stay at one per pace.
/// In memory, per node, like the per-IP buckets; the store's newest failure spaces the first
/// slot after a restart.
#[derive(Debug, Default)]
pub struct AccountPacer {
    accounts: Mutex<HashMap<String, Paced>>,
}

#[derive(Debug, Default)]
struct Paced {
    /// The first slot nobody holds.
    next_free: Millis,
    /// Slots handed out: source -> its time.
    held: HashMap<String, Millis>,
}

/// At most this many slots are held per account; later arrivals are told to come back when the
/// queue has moved on, without a slot.
const MAX_HELD_SLOTS: usize = 1000;

impl AccountPacer {
    /// Admits an attempt on `account` from `source` under the ceiling, or says how long to wait.
    pub fn admit(
        &self,
        account: &str,
        source: &str,
        newest_failure: Millis,
        pace: Millis,
        now: Millis,
    ) -> Result<(), Millis> {
        let mut accounts = match self.accounts.lock() {
            Ok(a) => a,
            Err(poisoned) => poisoned.into_inner(),
        };
        if accounts.len() > 10_000 {
            // Forget accounts whose queue has drained so memory stays bounded.
            accounts.retain(|_, p| p.next_free > now || p.held.values().any(|t| t + pace > now));
        }
        let p = accounts.entry(account.to_owned()).or_default();
        // A slot not used within a pace is given up.
        p.held.retain(|_, t| *t + pace > now);
        if let Some(slot) = p.held.get(source).copied() {
            if slot <= now {
                p.held.remove(source);
                return Ok(());
            }
            return Err(slot - now);
        }
        let slot = p.next_free.max(newest_failure + pace).max(now);
        if slot <= now {
            p.next_free = now + pace;
            return Ok(());
        }
        if p.held.len() < MAX_HELD_SLOTS {
            p.held.insert(source.to_owned(), slot);
            p.next_free = slot + pace;
        }
        Err((slot - now).max(SECOND))
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Millis,
}

/// Token buckets keyed by a string (the client IP).
#[derive(Debug)]
pub struct KeyedRateLimiter {
    burst: f64,
    per_ms: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl KeyedRateLimiter {
    pub fn new(burst: u32, per_minute: u32) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_ms: f64::from(per_minute) / MINUTE as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; on refusal returns how long until one is available.
    pub fn check(&self, key: &str, now: Millis) -> Result<(), Millis> {
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        if buckets.len() > 100_000 {
            // Forget full buckets so memory stays bounded under a spray of addresses.
            let (burst, per_ms) = (self.burst, self.per_ms);
            buckets.retain(|_, b| b.tokens + (now - b.updated) as f64 * per_ms < burst);
        }
        let b = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = (now - b.updated).max(0) as f64;
        b.tokens = (b.tokens + elapsed * self.per_ms).min(self.burst);
        b.updated = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else if self.per_ms <= 0.0 {
            Err(HOUR)
        } else {
            Err((((1.0 - b.tokens) / self.per_ms).ceil() as Millis).max(SECOND))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_sources_are_their_slash_64() {
        for (ip, source) in [
            ("192.0.2.7", "192.0.2.7"),
            ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
            ("::1", "0:0:0:0::/64"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("not an ip", "not an ip"),
        ] {
            assert_eq!(ip_source(ip), source, "{ip}");
        }
    }

    #[test]
    fn bucket_refills() {
        let l = KeyedRateLimiter::new(3, 60);
        assert!(l.check("ip", 0).is_ok());
        assert!(l.check("ip", 0).is_ok());
        assert!(l.check("ip", 0).is_ok());
        let wait = l.check("ip", 0).unwrap_err();
        assert_eq!(wait, SECOND);
        assert!(l.check("other", 0).is_ok());
        assert!(l.check("ip", SECOND).is_ok());
        assert!(l.check("ip", SECOND).is_err());
    }

    fn failures(list: &[(Millis, &str)]) -> Vec<FailedSignIn> {
        list.iter()
            .map(|(at, source)| FailedSignIn {
                at: *at,
                source: (*source).to_owned(),
            })
            .collect()
    }

    #[test]
    fn the_per_source_brake_counts_only_that_source() {
        let lim = SignInLimits::default();
        let now = 10 * HOUR;
        assert_eq!(lim.source_retry_after(&[], "a", now), None);
        let ten: Vec<(Millis, &str)> = (0..10).map(|i| (now - (9 - i) * SECOND, "a")).collect();
        // The oldest of the ten was 9 s ago; it leaves the 5-minute window in 4 min 51 s.
        assert_eq!(
            lim.source_retry_after(&failures(&ten), "a", now),
            Some(5 * MINUTE - 9 * SECOND)
        );
        // Another source is not braked by "a"'s failures.
        assert_eq!(lim.source_retry_after(&failures(&ten), "b", now), None);
        // Nine of "b"'s own among them: still allowed; the tenth brakes it.
        let mut mixed = ten.clone();
        mixed.extend((0..9).map(|_| (now - SECOND, "b")));
        assert_eq!(lim.source_retry_after(&failures(&mixed), "b", now), None);
        mixed.push((now, "b"));
        assert!(lim
            .source_retry_after(&failures(&mixed), "b", now)
            .is_some());
        // Failures older than the window do not count.
        let old: Vec<(Millis, &str)> = (0..10).map(|i| (now - 6 * MINUTE - i, "a")).collect();
        assert_eq!(lim.source_retry_after(&failures(&old), "a", now), None);
        let off = SignInLimits {
            per_account_burst: 0,
            ..lim
        };
        assert_eq!(off.source_retry_after(&failures(&ten), "a", now), None);
    }

    #[test]
    fn the_pacer_spaces_attempts_and_keeps_each_arrival_its_slot() {
        let pacer = AccountPacer::default();
        let pace = SignInLimits::default().account_pace();
        assert_eq!(pace, 36 * SECOND);
        let t0 = 10 * HOUR;
        // The newest failure was just now: the first slot is one pace later.
        assert_eq!(pacer.admit("acct", "x1", t0, pace, t0), Err(pace));
        // Every other source queues behind it, one pace apart.
        assert_eq!(pacer.admit("acct", "x2", t0, pace, t0), Err(2 * pace));
        assert_eq!(pacer.admit("acct", "owner", t0, pace, t0), Err(3 * pace));
        // Asking again does not move a source back in the queue.
        assert_eq!(
            pacer.admit("acct", "owner", t0, pace, t0 + SECOND),
            Err(3 * pace - SECOND)
        );
        // Early is refused, on time is admitted, once.
        assert_eq!(pacer.admit("acct", "x1", t0, pace, t0 + pace - 1), Err(1));
        assert_eq!(pacer.admit("acct", "x1", t0, pace, t0 + pace), Ok(()));
        // x2 never comes back: its slot lapses after a pace; the owner keeps theirs.
        assert_eq!(
            pacer.admit("acct", "owner", t0 + pace, pace, t0 + 3 * pace),
            Ok(())
        );
        // A newcomer gets the first slot after everything handed out.
        assert_eq!(
            pacer.admit("acct", "x3", t0 + 3 * pace, pace, t0 + 3 * pace),
            Err(pace)
        );
        // Other accounts are not paced by this one.
        assert_eq!(pacer.admit("other", "x1", 0, pace, t0), Ok(()));
        // A free slot in the past is taken at once.
        assert_eq!(pacer.admit("idle", "o", t0 - 2 * pace, pace, t0), Ok(()));
        assert_eq!(
            pacer.admit("idle", "o2", t0 - 2 * pace, pace, t0),
            Err(pace)
        );
    }
}
