//! Clean-up of state whose time is over, run periodically by the server.

use super::Orbit;
use crate::clock::HOUR;
use crate::error::Result;

impl Orbit {
    /// Deletes expired pending syncs, sync tokens and handshake nonces. Returns how many.
    pub async fn prune_expired_handshakes(&self) -> Result<u64> {
        Ok(self.store.prune_handshakes(self.now()).await?)
    }

    /// Forgets failed sign-ins older than the hour `sign_in` counts. Returns how many.
    pub async fn prune_failed_sign_ins(&self) -> Result<u64> {
        Ok(self.store.prune_failed_sign_ins(self.now() - HOUR).await?)
    }
}
