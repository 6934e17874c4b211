//! Clerk's browser bundles, which every FAPI host serves under `/npm/` as Clerk's CDN does
//! (docs/design/browser-bundles.md): `pins` (the one table of pinned versions and their
//! integrity), `npm` (fetching, verifying and unpacking into the cache; the tool behind
//! `orbit assets fetch`), `npm_config` (which registry, when `npm_registry` is not set: the one
//! npm is configured with), and here [`Bundles`], the server's view of the cache with its fetch
//! on first use. No HTTP serving here: `fapi/bundles.rs` answers the requests.

pub mod npm;
pub mod npm_config;
pub mod pins;

use npm::{Cache, FetchError, Outcome, Source};
use orbit_core::clock::Clock;
use pins::{Package, Pin, PINS};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How long a request for a bundle waits for the fetch it started (or joined) before it gets
/// 503; below clerk-js's own 15 s script timeout.
const FIRST_USE_WAIT: Duration = Duration::from_secs(10);
/// `Retry-After` while a fetch is still under way.
const FETCHING_RETRY_AFTER_SECS: u64 = 5;
/// After a failed fetch, no new one for this long, doubling per failure in a row up to
/// `MAX_BACKOFF_MS`: a flood of page views never becomes a flood of registry requests.
const FIRST_BACKOFF_MS: i64 = 30_000;
const MAX_BACKOFF_MS: i64 = 10 * 60_000;

/// What the server knows of each pin: in the cache, being fetched, or failed recently.
enum Slot {
    Installed,
    /// Resolves to whether the fetch succeeded.
    Fetching(watch::Receiver<Option<bool>>),
    Failed {
        retry_at_ms: i64,
        failures: u32,
    },
}

/// Why a bundle cannot be served now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// A fetch is under way and did not finish in time.
    Fetching { retry_after_secs: u64 },
    /// The last fetch failed (the log says why); the next is allowed in this many seconds.
    Failed { retry_after_secs: u64 },
}

/// The server's cache of browser bundles, fetching a missing pin on first use: one fetch at a
/// time per pin whatever the number of requests waiting for it, and none again for a while
/// after one failed.
pub struct Bundles {
    cache: Cache,
    source: Source,
    clock: Arc<dyn Clock>,
    slots: Mutex<HashMap<(Package, u64), Slot>>,
}

impl Bundles {
    pub fn new(cache: Cache, source: Source, clock: Arc<dyn Clock>) -> Self {
        Bundles {
            cache,
            source,
            clock,
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// One line for `orbit serve`'s banner: whether every pin is cached, and what to do if not.
    pub fn status_line(&self) -> String {
        let missing: Vec<String> = PINS
            .iter()
            .filter(|p| !self.cache.is_installed(p))
            .map(|p| p.id())
            .collect();
        if missing.is_empty() {
            format!(
                "Browser bundles: {} cached in {}",
                PINS.iter().map(|p| p.id()).collect::<Vec<_>>().join(", "),
                self.cache.root().display()
            )
        } else {
            let fallback = match &self.source {
                Source::Registry(_) => {
                    format!("they are fetched from {} on first use", self.source)
                }
                Source::Directory(_) => {
                    format!("they are unpacked from {} on first use", self.source)
                }
            };
            format!(
                "Browser bundles: {} not cached; run `orbit assets fetch` (or set assets_dir for an air-gapped server), else {fallback}",
                missing.join(", ")
            )
        }
    }

    /// The `dist/` directory of `pin` in the cache, fetching the pin first if it is missing
    /// (and no fetch failed in the last backoff period).
    pub async fn dist(self: &Arc<Self>, pin: &'static Pin) -> Result<PathBuf, Unavailable> {
        let key = (pin.package, pin.major);
        let mut rx = {
            let slots = self.lock();
            match slots.get(&key) {
                Some(Slot::Installed) => return Ok(self.cache.dist(pin)),
                Some(Slot::Fetching(rx)) => Some(rx.clone()),
                _ => None,
            }
        };
        if rx.is_none() {
            // `orbit assets fetch` or another node may have filled the cache meanwhile.
            let cache = self.cache.clone();
            let on_disk = tokio::task::spawn_blocking(move || cache.is_installed(pin))
                .await
                .unwrap_or(false);
            let mut slots = self.lock();
            rx = match slots.get(&key) {
                _ if on_disk => {
                    slots.insert(key, Slot::Installed);
                    return Ok(self.cache.dist(pin));
                }
                Some(Slot::Installed) => return Ok(self.cache.dist(pin)),
                Some(Slot::Fetching(rx)) => Some(rx.clone()),
                Some(Slot::Failed { retry_at_ms, .. }) if self.clock.now_ms() < *retry_at_ms => {
                    return Err(Unavailable::Failed {
                        retry_after_secs: secs_until(*retry_at_ms, self.clock.now_ms()),
                    });
                }
                previous => {
                    let failures = match previous {
                        Some(Slot::Failed { failures, .. }) => *failures,
                        _ => 0,
                    };
                    let (tx, rx) = watch::channel(None);
                    slots.insert(key, Slot::Fetching(rx.clone()));
                    // Spawned: a client that goes away does not cancel the fetch.
                    tokio::spawn(self.clone().fetch(pin, failures, tx));
                    Some(rx)
                }
            };
        }
        let Some(mut rx) = rx else {
            return Err(Unavailable::Fetching {
                retry_after_secs: FETCHING_RETRY_AFTER_SECS,
            });
        };
        let outcome = tokio::time::timeout(FIRST_USE_WAIT, rx.wait_for(Option::is_some))
            .await
            .map(|r| r.map(|done| *done));
        match outcome {
            Ok(Ok(Some(true))) => Ok(self.cache.dist(pin)),
            Ok(_) => {
                let slots = self.lock();
                let retry_after_secs = match slots.get(&key) {
                    Some(Slot::Failed { retry_at_ms, .. }) => {
                        secs_until(*retry_at_ms, self.clock.now_ms())
                    }
                    _ => FETCHING_RETRY_AFTER_SECS,
                };
                Err(Unavailable::Failed { retry_after_secs })
            }
            Err(_) => Err(Unavailable::Fetching {
                retry_after_secs: FETCHING_RETRY_AFTER_SECS,
            }),
        }
    }

    /// The fetch on first use, after `failures` failed ones in a row: logs its failure once
    /// per streak (later ones at debug level) and backs off before the next.
    async fn fetch(
        self: Arc<Self>,
        pin: &'static Pin,
        failures: u32,
        done: watch::Sender<Option<bool>>,
    ) {
        let id = pin.id();
        tracing::info!(bundle = %id, source = %self.source, "fetching a browser bundle on first use");
        let result: Result<Outcome, FetchError> = self
            .cache
            .install(pin, &self.source, &mut |step| {
                tracing::debug!(bundle = %id, "{step}");
            })
            .await;
        let ok = result.is_ok();
        {
            let mut slots = self.lock();
            let key = (pin.package, pin.major);
            match result {
                Ok(_) => {
                    tracing::info!(bundle = %id, dir = %self.cache.dir(pin).display(), "browser bundle cached");
                    slots.insert(key, Slot::Installed);
                }
                Err(e) => {
                    let failures = failures.saturating_add(1);
                    let backoff = FIRST_BACKOFF_MS
                        .saturating_mul(1i64 << failures.saturating_sub(1).min(10))
                        .min(MAX_BACKOFF_MS);
                    if failures == 1 {
                        tracing::warn!(
                            bundle = %id,
                            "cannot fetch a browser bundle: {e}. Pages that load it fail until `orbit assets fetch` succeeds or assets_dir holds it; next attempt on first use in {} s at the earliest",
                            backoff / 1000
                        );
                    } else {
                        tracing::debug!(bundle = %id, failures, "fetch failed again: {e}");
                    }
                    slots.insert(
                        key,
                        Slot::Failed {
                            retry_at_ms: self.clock.now_ms().saturating_add(backoff),
                            failures,
                        },
                    );
                }
            }
        }
        let _ = done.send(Some(ok));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Package, u64), Slot>> {
        // The map stays consistent whatever panicked while holding it.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn secs_until(at_ms: i64, now_ms: i64) -> u64 {
    u64::try_from((at_ms - now_ms + 999) / 1000)
        .unwrap_or(0)
        .max(1)
}
