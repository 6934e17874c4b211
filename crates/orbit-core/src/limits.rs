//! Abuse limits for sign-in (issue 2 §10, issue 8 §8).
//!
//! Every limit's state lives in the store, so that it holds across every node on one database
//! (docs/design/storage.md "Several nodes"); this module is the limits' arithmetic, as functions
//! over that state. Per client IP and per instance: token buckets (`RateLimit`). Per account:
//! failures are kept in the store, keyed by the normalised identifier whether or not
//! an account exists, so that a limit never tells an attacker which emails are registered, and by
//! source, so that a stranger's failures brake the stranger and not the owner
//! (docs/design/sessions-and-tokens.md "Abuse limits").

use crate::clock::{Millis, HOUR, MINUTE, SECOND};
use std::collections::BTreeMap;
use std::net::IpAddr;

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

/// The outcome of a limit: admitted, or refused with how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// Refused; worth trying again after this long.
    Wait(Millis),
}

/// Microseconds since the Unix epoch: the unit of a token bucket's theoretical arrival time, so
/// that rates such as 7000 a minute keep their precision.
pub type Micros = i64;

const MINUTE_US: Micros = MINUTE * 1000;

/// A token bucket (`burst` tokens, `per_minute` back each minute) as a generic cell rate
/// algorithm: its whole state is one number, the theoretical arrival time (`tat`) of the next
/// attempt, which the store keeps in one row per bucket and moves in one statement
/// (`LimitStore::take_token`). A take at `now` is admitted when `max(tat, now) - now` is at most
/// `tolerance`, and then moves `tat` to `max(tat, now) + interval`. So a fresh bucket admits
/// `burst` attempts at once and then one per `interval`, exactly like the bucket; a bucket whose
/// `tat` is at or before `now` is full, the same as no row at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Time for one token to come back.
    pub interval: Micros,
    /// `(burst - 1) * interval`: how far ahead of now `tat` may be for a take to pass.
    pub tolerance: Micros,
}

impl RateLimit {
    /// `burst` attempts at once, `per_minute` sustained; a zero counts as one (configuration
    /// refuses zeros).
    pub fn new(burst: u32, per_minute: u32) -> Self {
        let interval = (MINUTE_US / Micros::from(per_minute.max(1))).max(1);
        Self {
            interval,
            tolerance: interval.saturating_mul(Micros::from(burst.max(1) - 1)),
        }
    }

    /// One take on a bucket whose arrival time is `tat` (`None`: no row, a full bucket): the new
    /// arrival time, or how long to wait. What the store's statement does, as a function.
    pub fn take(&self, tat: Option<Micros>, now: Micros) -> Result<Micros, Millis> {
        let from = tat.map_or(now, |t| t.max(now));
        if from - now <= self.tolerance {
            Ok(from.saturating_add(self.interval))
        } else {
            Err(self.retry_after(from, now))
        }
    }

    /// How long a take refused by the arrival time `tat` waits: until `tat - tolerance`, at
    /// least a second (`Retry-After` counts whole seconds).
    pub fn retry_after(&self, tat: Micros, now: Micros) -> Millis {
        let wait_us = tat - self.tolerance - now;
        ((wait_us + 999).div_euclid(1000)).max(SECOND)
    }
}

impl SignInLimits {
    /// The bucket of one source (an IPv4 address or an IPv6 /64) of an instance.
    pub fn per_source_rate(&self) -> RateLimit {
        RateLimit::new(self.per_ip_burst, self.per_ip_per_minute)
    }

    /// The instance's ceiling, all sources together: its burst is its rate.
    pub fn per_instance_rate(&self) -> RateLimit {
        RateLimit::new(self.per_instance_per_minute, self.per_instance_per_minute)
    }
}

/// The per-account ceiling, all sources together: once an account has `per_account_per_hour`
/// failures in the last hour, attempts on it are admitted one per `account_pace`. A source that
/// comes too early is given the next free slot and told how long to wait (`Retry-After`); the slot
/// stays its own for one pace, so however many sources an attacker brings, each later arrival
/// (the owner) waits a bounded time and then gets in, while guesses stay at one per pace.
///
/// This is the state of one account; the store keeps it per account and changes it under the
/// account's lock (`LimitStore::pace_account_attempt`), so the pace holds across every node.
/// The store's newest failure spaces the first slot when there is no state yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountPace {
    /// The first slot nobody holds.
    pub next_free: Millis,
    /// Slots handed out: source -> its time.
    pub held: BTreeMap<String, Millis>,
}

/// At most this many slots are held per account; later arrivals are told to come back when the
/// queue has moved on, without a slot.
pub const MAX_HELD_SLOTS: usize = 1000;

impl AccountPace {
    /// Admits an attempt from `source` under the ceiling, or says how long to wait.
    pub fn admit(
        &mut self,
        source: &str,
        newest_failure: Millis,
        pace: Millis,
        now: Millis,
    ) -> Admission {
        // A slot not used within a pace is given up.
        self.held.retain(|_, t| *t + pace > now);
        if let Some(slot) = self.held.get(source).copied() {
            if slot <= now {
                self.held.remove(source);
                return Admission::Admitted;
            }
            return Admission::Wait(slot - now);
        }
        let slot = self.next_free.max(newest_failure + pace).max(now);
        if slot <= now {
            self.next_free = now + pace;
            return Admission::Admitted;
        }
        if self.held.len() < MAX_HELD_SLOTS {
            self.held.insert(source.to_owned(), slot);
            self.next_free = slot + pace;
        }
        Admission::Wait((slot - now).max(SECOND))
    }

    /// From when on this state limits nothing (no slot to keep free, every held slot given up),
    /// so forgetting it changes no answer: the store prunes it then.
    pub fn drained_at(&self, pace: Millis) -> Millis {
        self.held
            .values()
            .map(|t| t + pace)
            .fold(self.next_free, Millis::max)
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

    /// Takes from one bucket of `limit` at each time in `at` (ms), in order; what each got.
    fn takes(limit: RateLimit, tat: &mut Option<Micros>, at: &[Millis]) -> Vec<Result<(), Millis>> {
        at.iter()
            .map(|&t| {
                limit.take(*tat, t * 1000).map(|next| {
                    *tat = Some(next);
                })
            })
            .collect()
    }

    #[test]
    fn bucket_refills() {
        let l = RateLimit::new(3, 60);
        let mut ip = None;
        assert_eq!(
            takes(l, &mut ip, &[0, 0, 0, 0]),
            [Ok(()), Ok(()), Ok(()), Err(SECOND)]
        );
        let mut other = None;
        assert_eq!(takes(l, &mut other, &[0]), [Ok(())]);
        assert_eq!(takes(l, &mut ip, &[SECOND, SECOND]), [Ok(()), Err(SECOND)]);
        // Half a second early: told the rest, rounded up to the whole second Retry-After says.
        assert_eq!(takes(l, &mut ip, &[2 * SECOND - 500]), [Err(SECOND)]);
        // Refused takes cost nothing; after a quiet minute the burst is back.
        assert_eq!(
            takes(l, &mut ip, &[2 * SECOND, MINUTE, MINUTE, MINUTE, MINUTE]),
            [Ok(()), Ok(()), Ok(()), Ok(()), Err(SECOND)]
        );
        // A bucket whose arrival time has passed is full: the same as no row.
        let full = RateLimit::new(3, 60).take(Some(5_000), 9_000_000);
        assert_eq!(full, RateLimit::new(3, 60).take(None, 9_000_000));
    }

    #[test]
    fn slow_rates_and_odd_rates_keep_their_interval() {
        // 7000 a minute is 8571 us apart, not the 8 ms a millisecond clock would round to.
        assert_eq!(RateLimit::new(1, 7000).interval, 8571);
        let l = RateLimit::new(1, 1);
        let mut tat = None;
        assert_eq!(takes(l, &mut tat, &[0, 0]), [Ok(()), Err(MINUTE)]);
        assert_eq!(
            takes(l, &mut tat, &[MINUTE - 1, MINUTE]),
            [Err(SECOND), Ok(())]
        );
        // Zeros (refused by the configuration) count as one.
        assert_eq!(RateLimit::new(0, 0), RateLimit::new(1, 1));
    }

    /// The token bucket the GCRA stands for, in whole microseconds of tokens (one token is
    /// `interval` of them), so the comparison is exact.
    struct Bucket {
        tokens: Micros,
        updated: Micros,
    }

    proptest::proptest! {
        /// Every admission and every wait of `RateLimit` is the token bucket's with the same
        /// burst and rate.
        #[test]
        fn the_gcra_is_the_token_bucket(
            burst in 1u32..40,
            per_minute in 1u32..100_000,
            gaps in proptest::collection::vec(0i64..5_000, 1..200),
        ) {
            let limit = RateLimit::new(burst, per_minute);
            let full = limit.interval * Micros::from(burst);
            let mut bucket = Bucket { tokens: full, updated: 0 };
            let mut tat = None;
            let mut now = 0;
            for gap in gaps {
                now += gap * 1000;
                bucket.tokens = (bucket.tokens + (now - bucket.updated)).min(full);
                bucket.updated = now;
                let expected = if bucket.tokens >= limit.interval {
                    bucket.tokens -= limit.interval;
                    Ok(())
                } else {
                    let wait_us = limit.interval - bucket.tokens;
                    Err(((wait_us + 999) / 1000).max(SECOND))
                };
                let got = limit.take(tat, now).map(|next| tat = Some(next));
                proptest::prop_assert_eq!(got, expected, "at {} us", now);
            }
        }
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

    /// The pacing states of several accounts, as the store keeps them.
    #[derive(Default)]
    struct Accounts(std::collections::HashMap<&'static str, AccountPace>);

    impl Accounts {
        fn admit(
            &mut self,
            account: &'static str,
            source: &str,
            newest_failure: Millis,
            pace: Millis,
            now: Millis,
        ) -> Result<(), Millis> {
            match self
                .0
                .entry(account)
                .or_default()
                .admit(source, newest_failure, pace, now)
            {
                Admission::Admitted => Ok(()),
                Admission::Wait(wait) => Err(wait),
            }
        }
    }

    #[test]
    fn the_pacer_spaces_attempts_and_keeps_each_arrival_its_slot() {
        let mut pacer = Accounts::default();
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

    #[test]
    fn a_drained_pace_answers_like_no_state() {
        let pace = 36 * SECOND;
        let t0 = 10 * HOUR;
        let mut state = AccountPace::default();
        assert_eq!(state.admit("x1", t0, pace, t0), Admission::Wait(pace));
        assert_eq!(state.admit("x2", t0, pace, t0), Admission::Wait(2 * pace));
        // x2's slot is at t0 + 2 pace and is kept for a pace; the next free one is t0 + 3 pace.
        let drained = state.drained_at(pace);
        assert_eq!(drained, t0 + 3 * pace);
        for (source, newest) in [("x1", t0), ("new", t0), ("new", drained - pace / 2)] {
            let mut kept = state.clone();
            let mut forgotten = AccountPace::default();
            assert_eq!(
                kept.admit(source, newest, pace, drained),
                forgotten.admit(source, newest, pace, drained),
                "{source} at the drain"
            );
        }
        // Before it drains, the state still limits: forgetting it would admit.
        let mut kept = state.clone();
        let before = drained - SECOND;
        assert_eq!(kept.admit("new", t0, pace, before), Admission::Wait(SECOND));
        assert_eq!(
            AccountPace::default().admit("new", t0, pace, before),
            Admission::Admitted
        );
        assert_eq!(AccountPace::default().drained_at(pace), 0);
    }

    #[test]
    fn held_slots_are_bounded() {
        let pace = SECOND;
        let mut state = AccountPace::default();
        for i in 0..MAX_HELD_SLOTS + 10 {
            assert!(matches!(
                state.admit(&format!("s{i}"), 0, pace, 0),
                Admission::Wait(_)
            ));
        }
        assert_eq!(state.held.len(), MAX_HELD_SLOTS);
    }
}
