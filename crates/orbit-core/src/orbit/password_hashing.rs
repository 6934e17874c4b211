//! The argon2 pool: a bounded number of hashes at a time, each on a blocking thread with a
//! reused working memory, and a bounded queue in front of it.

use super::Orbit;
use crate::error::{Error, Result};
use crate::password::{HashMemory, PasswordHasher, Verification};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// Hashes that may wait for a permit, per permit. With argon2's default cost (tens of
/// milliseconds a hash) this keeps the wait of a request that gets in under a second; beyond it
/// the request is shed at once with 503 and `Retry-After` instead of joining an ever longer
/// queue (a flood from many sources would otherwise delay every honest sign-in without bound).
const QUEUED_PER_PERMIT: usize = 8;

/// Seconds a shed request is told to wait.
const SHED_RETRY_AFTER_SECS: u64 = 1;

/// Who a hash is for. Known devices (a browser that signed in to the account before) have a
/// lane of their own when the shared one is full, so an owner is not shed with the flood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lane {
    Anyone,
    KnownDevice,
}

/// One queue in front of a set of permits: at most `max_waiting` wait, the rest are shed.
struct Queue {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

impl Queue {
    fn new(permits: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: permits * QUEUED_PER_PERMIT,
        }
    }

    fn try_now(&self) -> Result<Option<OwnedSemaphorePermit>> {
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => Ok(Some(permit)),
            Err(TryAcquireError::Closed) => Err(Error::Internal("hash pool closed".into())),
            Err(TryAcquireError::NoPermits) => Ok(None),
        }
    }

    /// A place in the queue, then a permit; `Overloaded` when the queue is full.
    async fn wait(&self) -> Result<OwnedSemaphorePermit> {
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

pub(super) struct HashPool {
    /// argon2 runs at most this many at a time for anyone: each takes `memory_kib` of RAM, and
    /// more parallel hashes than cores only add memory, not throughput.
    shared: Queue,
    /// One more permit, for known devices only, when the shared queue is busy.
    known_devices: Queue,
    /// One argon2 working memory per permit, kept between hashes.
    memory: Arc<Mutex<Vec<HashMemory>>>,
}

impl HashPool {
    pub(super) fn new(parallelism: usize) -> Self {
        Self {
            shared: Queue::new(parallelism),
            known_devices: Queue::new(1),
            memory: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A shared permit now; else a place in the lane's bounded queue (known devices have
    /// their own); else `Overloaded`.
    async fn permit(&self, lane: Lane) -> Result<OwnedSemaphorePermit> {
        if let Some(permit) = self.shared.try_now()? {
            return Ok(permit);
        }
        match lane {
            Lane::Anyone => self.shared.wait().await,
            Lane::KnownDevice => self.known_devices.wait().await,
        }
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
        lane: Lane,
        f: impl FnOnce(&PasswordHasher, &mut HashMemory) -> T + Send + 'static,
    ) -> Result<T> {
        let permit = self.hash_pool.permit(lane).await?;
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
        self.with_hash_memory(Lane::Anyone, move |hasher, memory| {
            hasher.hash_with(&password, random.as_ref(), memory)
        })
        .await?
        .map_err(|e| Error::Internal(e.to_string()))
    }

    pub(super) async fn verify_password(
        &self,
        lane: Lane,
        password: String,
        phc: Option<String>,
    ) -> Result<Verification> {
        self.with_hash_memory(lane, move |hasher, memory| match phc {
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
        let held = pool.permit(Lane::Anyone).await.expect("the one permit");
        // Fill the queue: each waiter holds its place while it waits.
        let shared = &pool.shared;
        let mut waiters = Vec::new();
        for _ in 0..QUEUED_PER_PERMIT {
            let permits = shared.permits.clone();
            let place = QueuePlace::take(&shared.waiting, shared.max_waiting).expect("a place");
            waiters.push(tokio::spawn(async move {
                let _place = place;
                permits.acquire_owned().await.map(drop)
            }));
        }
        assert_eq!(shared.waiting.load(Ordering::Acquire), QUEUED_PER_PERMIT);
        match pool.permit(Lane::Anyone).await {
            Err(Error::Overloaded { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("a full queue must shed, got {:?}", other.map(drop)),
        }
        // A known device still gets its own lane's permit, once at a time.
        let known = pool
            .permit(Lane::KnownDevice)
            .await
            .expect("the known-device lane");
        assert!(pool.known_devices.try_now().unwrap().is_none());
        drop(known);
        drop(held);
        for w in waiters {
            w.await.expect("waiter ran").expect("waiter got a permit");
        }
        assert_eq!(
            shared.waiting.load(Ordering::Acquire),
            0,
            "places are given back"
        );
        let _permit = pool
            .permit(Lane::Anyone)
            .await
            .expect("a permit once the queue drained");
    }
}
