//! The argon2 pool: a bounded number of hashes at a time, each on a blocking thread with a
//! reused working memory, and a bounded queue in front of it.

use super::Orbit;
use crate::error::{Error, Result};
use crate::password::{HashMemory, PasswordHasher, Verification};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, TryAcquireError};

/// Hashes that may wait for a permit, per permit. With argon2's default cost (tens of
/// milliseconds a hash) this keeps the wait of a request that gets in under a second; beyond it
/// the request is shed at once with 503 and `Retry-After` instead of joining an ever longer
/// queue (a flood from many sources would otherwise delay every honest sign-in without bound).
const QUEUED_PER_PERMIT: usize = 8;

/// Seconds a shed request is told to wait.
const SHED_RETRY_AFTER_SECS: u64 = 1;

pub(super) struct HashPool {
    /// argon2 runs at most this many at a time: each takes `memory_kib` of RAM, and more
    /// parallel hashes than cores only add memory, not throughput.
    permits: Arc<Semaphore>,
    /// One argon2 working memory per permit, kept between hashes.
    memory: Arc<Mutex<Vec<HashMemory>>>,
    /// Requests waiting for a permit now, at most `max_waiting`.
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

impl HashPool {
    pub(super) fn new(parallelism: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(parallelism)),
            memory: Arc::new(Mutex::new(Vec::new())),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: parallelism * QUEUED_PER_PERMIT,
        }
    }

    /// A permit now, or a place in the bounded queue, or `Overloaded`.
    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => return Ok(permit),
            Err(TryAcquireError::Closed) => return Err(Error::Internal("hash pool closed".into())),
            Err(TryAcquireError::NoPermits) => {}
        }
        let _place =
            QueuePlace::take(&self.waiting, self.max_waiting).ok_or(Error::Overloaded {
                retry_after_secs: SHED_RETRY_AFTER_SECS,
            })?;
        self.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(e.to_string()))
    }
}

/// One place in the queue, given back when dropped (also when the request is cancelled).
struct QueuePlace(Arc<AtomicUsize>);

impl QueuePlace {
    fn take(waiting: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(waiting.clone()))
    }
}

impl Drop for QueuePlace {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Orbit {
    /// Runs `f` on a blocking thread with an argon2 permit and a pooled working memory.
    async fn with_hash_memory<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher, &mut HashMemory) -> T + Send + 'static,
    ) -> Result<T> {
        let permit = self.hash_pool.permit().await?;
        let hasher = self.hasher.clone();
        let pool = self.hash_pool.memory.clone();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_queue_is_bounded_and_places_come_back() {
        let pool = HashPool::new(1);
        let held = pool.permit().await.expect("the one permit");
        // Fill the queue: each waiter holds its place while it waits.
        let mut waiters = Vec::new();
        for _ in 0..QUEUED_PER_PERMIT {
            let permits = pool.permits.clone();
            let place = QueuePlace::take(&pool.waiting, pool.max_waiting).expect("a place");
            waiters.push(tokio::spawn(async move {
                let _place = place;
                permits.acquire_owned().await.map(drop)
            }));
        }
        assert_eq!(pool.waiting.load(Ordering::Acquire), QUEUED_PER_PERMIT);
        match pool.permit().await {
            Err(Error::Overloaded { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("a full queue must shed, got {:?}", other.map(drop)),
        }
        drop(held);
        for w in waiters {
            w.await.expect("waiter ran").expect("waiter got a permit");
        }
        assert_eq!(
            pool.waiting.load(Ordering::Acquire),
            0,
            "places are given back"
        );
        let _permit = pool
            .permit()
            .await
            .expect("a permit once the queue drained");
    }
}
