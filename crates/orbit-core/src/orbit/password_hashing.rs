//! The argon2 pool: a bounded number of hashes at a time, each on a blocking thread with a
//! reused working memory.

use super::Orbit;
use crate::error::{Error, Result};
use crate::password::{HashMemory, PasswordHasher, Verification};

impl Orbit {
    /// Runs `f` on a blocking thread with an argon2 permit and a pooled working memory.
    async fn with_hash_memory<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher, &mut HashMemory) -> T + Send + 'static,
    ) -> Result<T> {
        let permit = self
            .hash_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let hasher = self.hasher.clone();
        let pool = self.hash_memory.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let taken = pool.lock().ok().and_then(|mut p| p.pop());
            let mut memory = taken.unwrap_or_else(|| hasher.new_memory());
            let out = f(&hasher, &mut memory);
            if let Ok(mut p) = pool.lock() {
                p.push(memory);
            }
            out
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))
    }

    pub(super) async fn hash_password(&self, password: String) -> Result<String> {
        let random = self.random.clone();
        self.with_hash_memory(move |hasher, memory| {
            hasher.hash_with(&password, random.as_ref(), memory)
        })
        .await?
        .map_err(|e| Error::Internal(e.to_string()))
    }

    pub(super) async fn verify_password(
        &self,
        password: String,
        phc: Option<String>,
    ) -> Result<Verification> {
        self.with_hash_memory(move |hasher, memory| match phc {
            Some(phc) => hasher.verify_with(&password, &phc, memory),
            None => hasher.verify_dummy_with(&password, memory),
        })
        .await
    }
}
