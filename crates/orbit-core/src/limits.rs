//! Abuse limits for sign-in (issue 2 §10).
//!
//! Per client IP: an in-memory token bucket (a per-node limit is enough to slow a single source).
//! Per account: failures are kept in the store, keyed by the normalised identifier whether or not
//! an account exists, so that a limit never tells an attacker which emails are registered.

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
    /// Failed attempts per account in `account_burst_window` before a pause.
    pub per_account_burst: u32,
    pub account_burst_window: Millis,
    /// Failed attempts per account per hour, at most.
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

impl SignInLimits {
    /// Given the failure timestamps of the last hour (oldest first), how long until another
    /// attempt is allowed; `None` when it is allowed now.
    pub fn account_retry_after(
        &self,
        failures_last_hour: &[Millis],
        now: Millis,
    ) -> Option<Millis> {
        let n = failures_last_hour.len();
        let mut wait: Option<Millis> = None;
        if n >= self.per_account_per_hour as usize {
            let oldest_that_counts = failures_last_hour[n - self.per_account_per_hour as usize];
            wait = Some(oldest_that_counts + HOUR - now);
        }
        let window_start = now - self.account_burst_window;
        let recent: Vec<Millis> = failures_last_hour
            .iter()
            .copied()
            .filter(|t| *t > window_start)
            .collect();
        if self.per_account_burst > 0 && recent.len() >= self.per_account_burst as usize {
            let oldest = recent[recent.len() - self.per_account_burst as usize];
            let w = oldest + self.account_burst_window - now;
            wait = Some(wait.map_or(w, |x| x.max(w)));
        }
        wait.map(|w| w.max(SECOND))
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

    #[test]
    fn account_limits() {
        let lim = SignInLimits::default();
        let now = 10 * HOUR;
        assert_eq!(lim.account_retry_after(&[], now), None);
        let nine: Vec<Millis> = (0..9).map(|i| now - i * SECOND).rev().collect();
        assert_eq!(lim.account_retry_after(&nine, now), None);
        let ten: Vec<Millis> = (0..10).map(|i| now - i * SECOND).rev().collect();
        // The oldest of the ten was 9 s ago; it leaves the 5-minute window in 4 min 51 s.
        assert_eq!(
            lim.account_retry_after(&ten, now),
            Some(5 * MINUTE - 9 * SECOND)
        );
        // 100 failures spread over the hour (one every 30 s) hit the hourly cap.
        let hundred: Vec<Millis> = (0..100)
            .map(|i| now - HOUR + 30 * SECOND + i * 30 * SECOND)
            .collect();
        // The oldest counted failure was 59.5 minutes ago: 30 s to wait.
        assert_eq!(lim.account_retry_after(&hundred, now), Some(30 * SECOND));
        // 99 in the hour, none in the last 5 minutes: allowed.
        assert_eq!(lim.account_retry_after(&hundred[1..], now), None);
        let spread: Vec<Millis> = (0..99)
            .map(|i| now - HOUR + (i + 1) * 36 * SECOND)
            .collect();
        // One failure every 36 s: 9 in any 5 minutes, 99 in the hour: allowed.
        assert_eq!(lim.account_retry_after(&spread, now), None);
    }
}
