//! What a DNS check of a production satellite does to it (docs/design/dns-verification.md
//! "Re-checks and suspension"): verification at first, then re-checks for as long as the
//! domain exists, a run of failures, suspension after the grace period, and restoration.

use crate::clock::{format_utc, Millis};
use crate::model::Domain;

/// Who asked for a check. A suspended domain is restored only by an operator: a domain that
/// lapsed may have changed hands, and its new owner can point the record at Orbit too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckedBy {
    /// The periodic check (`dns_check_interval_secs`).
    Timer,
    /// `orbit domain verify`.
    Operator,
}

/// The domain after a check at `now` whose lookup showed the CNAME pointing at the target
/// (`Ok`) or not, with the reason (`Err`). Every failure counts, a lookup that timed out or
/// failed as much as a wrong or missing record: the grace period absorbs outages, and a name
/// whose servers never answer must not stay verified on that account.
pub fn after_check(
    domain: &Domain,
    outcome: Result<(), String>,
    by: CheckedBy,
    now: Millis,
    grace: Millis,
) -> Domain {
    let checked = Domain {
        checked_at: Some(now),
        ..domain.clone()
    };
    match outcome {
        Ok(()) if domain.suspended_at.is_some() && by == CheckedBy::Timer => Domain {
            verification_error: Some(format!(
                "the CNAME record is right again; run `orbit domain verify {}` to restore the domain",
                domain.name
            )),
            ..checked
        },
        Ok(()) => Domain {
            verified: true,
            verification_error: None,
            dns_failures: 0,
            dns_failing_since: None,
            suspended_at: None,
            ..checked
        },
        // Never verified: there is nothing to suspend, only a reason to show.
        Err(reason) if !domain.verified && domain.suspended_at.is_none() => Domain {
            verification_error: Some(reason),
            ..checked
        },
        Err(reason) => {
            let since = domain.dns_failing_since.unwrap_or(now);
            let suspended_at = domain
                .suspended_at
                .or_else(|| (now - since >= grace).then_some(now));
            Domain {
                verified: suspended_at.is_none(),
                verification_error: Some(reason),
                dns_failures: domain.dns_failures.saturating_add(1),
                dns_failing_since: Some(since),
                suspended_at,
                ..checked
            }
        }
    }
}

/// A domain's DNS state as the operator sees it (`orbit domain list`, BAPI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsStatus {
    Verified,
    NotVerified {
        reason: String,
    },
    /// Verified, but the last `failures` re-checks failed; suspended at `suspends_at` unless one
    /// passes first.
    Failing {
        since: Millis,
        failures: u32,
        reason: String,
        suspends_at: Millis,
    },
    Suspended {
        at: Millis,
        since: Millis,
        reason: String,
        name: String,
    },
}

impl DnsStatus {
    pub fn of(d: &Domain, grace: Millis) -> Self {
        let reason = d.verification_error.clone().unwrap_or_default();
        let since = d.dns_failing_since.unwrap_or_default();
        match (d.suspended_at, d.verified) {
            (Some(at), _) => DnsStatus::Suspended {
                at,
                since,
                reason,
                name: d.name.clone(),
            },
            (None, true) if d.dns_failures > 0 => DnsStatus::Failing {
                since,
                failures: d.dns_failures,
                reason,
                suspends_at: since.saturating_add(grace),
            },
            (None, true) => DnsStatus::Verified,
            (None, false) => DnsStatus::NotVerified {
                reason: d
                    .verification_error
                    .clone()
                    .unwrap_or_else(|| "not checked yet".into()),
            },
        }
    }
}

impl std::fmt::Display for DnsStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DnsStatus::Verified => f.write_str("verified"),
            DnsStatus::NotVerified { reason } => write!(f, "not verified: {reason}"),
            DnsStatus::Failing {
                since,
                failures,
                reason,
                suspends_at,
            } => write!(
                f,
                "verified, but DNS checks fail since {} ({failures} in a row): {reason}; suspended at {} unless fixed",
                format_utc(*since),
                format_utc(*suspends_at)
            ),
            DnsStatus::Suspended {
                at,
                since,
                reason,
                name,
            } => write!(
                f,
                "suspended since {} (DNS checks fail since {}): {reason}. Once the record is right, run `orbit domain verify {name}`",
                format_utc(*at),
                format_utc(*since)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::HOUR;

    const GRACE: Millis = 72 * HOUR;
    const T0: Millis = 1_800_000_000_000;

    fn satellite(verified: bool) -> Domain {
        Domain {
            id: "dmn_s".into(),
            instance_id: "ins".into(),
            name: "sat.test".into(),
            is_satellite: true,
            fapi_host: Some("clerk.sat.test".into()),
            verified,
            ..Domain::default()
        }
    }

    fn fail() -> Result<(), String> {
        Err("clerk.sat.test does not exist in DNS (NXDOMAIN)".into())
    }

    /// Runs `steps` (hours after T0, outcome, who) from `start`; returns the domain after each.
    fn run(start: Domain, steps: &[(i64, bool, CheckedBy)]) -> Vec<Domain> {
        let mut d = start;
        let mut out = Vec::new();
        for &(hours, pass, by) in steps {
            let outcome = if pass { Ok(()) } else { fail() };
            d = after_check(&d, outcome, by, T0 + hours * HOUR, GRACE);
            out.push(d.clone());
        }
        out
    }

    use CheckedBy::{Operator as Op, Timer as T};

    /// (verified, failures, failing since (hours), suspended at (hours)) after each step.
    type Row = (bool, u32, Option<i64>, Option<i64>);

    fn check(start: Domain, steps: &[(i64, bool, CheckedBy)], expected: &[Row]) {
        let got: Vec<Row> = run(start, steps)
            .iter()
            .map(|d| {
                (
                    d.verified,
                    d.dns_failures,
                    d.dns_failing_since.map(|t| (t - T0) / HOUR),
                    d.suspended_at.map(|t| (t - T0) / HOUR),
                )
            })
            .collect();
        assert_eq!(got, expected, "{steps:?}");
    }

    #[test]
    fn rules() {
        // Never verified: failures are reasons, not a run; a pass verifies.
        check(
            satellite(false),
            &[(0, false, T), (100, false, T), (101, true, T)],
            &[
                (false, 0, None, None),
                (false, 0, None, None),
                (true, 0, None, None),
            ],
        );
        // Failures within the grace period count; a pass clears them.
        check(
            satellite(true),
            &[(0, false, T), (71, false, T), (72, true, T), (80, false, T)],
            &[
                (true, 1, Some(0), None),
                (true, 2, Some(0), None),
                (true, 0, None, None),
                (true, 1, Some(80), None),
            ],
        );
        // The first failure at or past the grace period suspends; it stays suspended through
        // more failures and through passes seen by the timer; the operator restores it.
        check(
            satellite(true),
            &[
                (0, false, T),
                (72, false, T),
                (73, false, Op),
                (74, true, T),
                (75, true, Op),
            ],
            &[
                (true, 1, Some(0), None),
                (false, 2, Some(0), Some(72)),
                (false, 3, Some(0), Some(72)),
                (false, 3, Some(0), Some(72)),
                (true, 0, None, None),
            ],
        );
        // An operator's failing check is a failure like any other; a grace of 0 suspends at once.
        let d = after_check(&satellite(true), fail(), Op, T0, 0);
        assert_eq!((d.verified, d.suspended_at), (false, Some(T0)));
    }

    #[test]
    fn status_says_why() {
        let steps = [(0, false, T), (1, false, T), (80, false, T), (81, true, T)];
        let after = run(satellite(true), &steps);
        let shown: Vec<String> = after
            .iter()
            .map(|d| DnsStatus::of(d, GRACE).to_string())
            .collect();
        assert!(
            shown[1].starts_with("verified, but DNS checks fail since 2027-01-15 08:00 UTC (2 in a row): clerk.sat.test does not exist")
                && shown[1].ends_with("suspended at 2027-01-18 08:00 UTC unless fixed"),
            "{}",
            shown[1]
        );
        assert!(
            shown[2].starts_with("suspended since 2027-01-18 16:00 UTC (DNS checks fail since 2027-01-15 08:00 UTC): clerk.sat.test does not exist"),
            "{}",
            shown[2]
        );
        assert!(
            shown[3].contains("record is right again; run `orbit domain verify sat.test`"),
            "{}",
            shown[3]
        );
        assert_eq!(
            DnsStatus::of(&satellite(false), GRACE).to_string(),
            "not verified: not checked yet"
        );
        assert_eq!(
            DnsStatus::of(&satellite(true), GRACE).to_string(),
            "verified"
        );
    }
}
