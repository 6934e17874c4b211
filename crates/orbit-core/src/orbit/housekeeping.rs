//! Clean-up of state whose time is over, run periodically by the server.

use super::Orbit;
use crate::clock::{Millis, DAY, HOUR};
use crate::error::{Error, Result};
use crate::satellite::DEV_BROWSER_IDLE_LIFETIME;
use crate::store::{Readiness, RoundGuard};

/// How long a client without a live session or development browser is kept after its last
/// change (a sign-out, a session's end): a browser signed out for a day starts over with a new
/// client when it signs in again.
pub const CLIENT_IDLE_LIFETIME: Millis = DAY;

/// The cluster-wide rounds a server node runs periodically (`Orbit::try_round`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// `Orbit::prune_expired`.
    Pruning,
    /// `Orbit::recheck_satellites`.
    DnsChecks,
}

impl Round {
    fn lock_name(self) -> &'static str {
        match self {
            Round::Pruning => "orbit round: pruning",
            Round::DnsChecks => "orbit round: DNS checks",
        }
    }
}

impl Orbit {
    /// Claims `round` for this node unless another node sharing the database works it now
    /// (`None`); the round is this node's until the guard is dropped. So of several nodes, one
    /// prunes and one checks DNS at a time, not every node (docs/design/storage.md).
    pub async fn try_round(&self, round: Round) -> Result<Option<Box<dyn RoundGuard>>> {
        Ok(self.store.try_round(round.lock_name()).await?)
    }

    /// Whether the database answers and its migrations are applied (`/ready`).
    pub async fn readiness(&self) -> Result<Readiness> {
        Ok(self.store.readiness().await?)
    }

    /// Runs every prune below, each even when another fails; returns the failures by what they
    /// prune, for the caller to report.
    pub async fn prune_expired(&self) -> Vec<(&'static str, Error)> {
        let outcomes = [
            ("handshake state", self.prune_expired_handshakes().await),
            ("failed sign-ins", self.prune_failed_sign_ins().await),
            ("rate limits", self.prune_limits().await),
            ("development browsers", self.prune_dev_browsers().await),
            // After the development browsers, whose clients it keeps.
            ("clients", self.prune_clients().await),
            ("pending sign-ups", self.prune_pending_sign_ups().await),
            ("sign-in attempts", self.prune_sign_ins().await),
            ("operator sessions", self.prune_operator_state().await),
        ];
        outcomes
            .into_iter()
            .filter_map(|(what, r)| r.err().map(|e| (what, e)))
            .collect()
    }

    /// Deletes expired pending syncs, sync tokens and handshake nonces. Returns how many.
    pub async fn prune_expired_handshakes(&self) -> Result<u64> {
        Ok(self.store.prune_handshakes(self.now()).await?)
    }

    /// Deletes development browsers unused for `DEV_BROWSER_IDLE_LIFETIME`. Returns how many.
    pub async fn prune_dev_browsers(&self) -> Result<u64> {
        Ok(self
            .store
            .prune_dev_browsers(self.now() - DEV_BROWSER_IDLE_LIFETIME)
            .await?)
    }

    /// Deletes clients (with their tokens and ended sessions) that have no live session or
    /// development browser and were untouched for `CLIENT_IDLE_LIFETIME`. Returns how many.
    pub async fn prune_clients(&self) -> Result<u64> {
        let now = self.now();
        Ok(self
            .store
            .prune_clients(now - CLIENT_IDLE_LIFETIME, now)
            .await?)
    }

    /// Forgets the rate limits' state that limits nothing any more: token buckets full again,
    /// account paces drained. Returns how many rows.
    pub async fn prune_limits(&self) -> Result<u64> {
        Ok(self.store.prune_limits(self.now()).await?)
    }

    /// Forgets failed sign-ins older than the hour `sign_in` counts. Returns how many.
    pub async fn prune_failed_sign_ins(&self) -> Result<u64> {
        Ok(self.store.prune_failed_sign_ins(self.now() - HOUR).await?)
    }
}
