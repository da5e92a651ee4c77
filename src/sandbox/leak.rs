//! The `leak` fault: while it is set, the process allocates that many bytes per second,
//! writes to every page so they become resident, and keeps them, which is what a memory
//! leak looks like from outside. Clearing the fault stops the growth but, as with a real
//! leak, only a restart gives the memory back. Growth stops at [`LEAK_CAP`].

use crate::faults::Faults;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Most memory the leak will ever hold: enough for any drill, short of taking the host down.
pub(crate) const LEAK_CAP: u64 = 2 << 30;

/// Small steps make the growth look continuous to a sampler that polls every second.
const STEP: Duration = Duration::from_millis(100);

/// The leaked memory; held by the server state so it lives as long as the sandbox.
#[derive(Debug, Default)]
pub(crate) struct Leak {
    chunks: Mutex<Vec<Vec<u8>>>,
    total: AtomicU64,
}

impl Leak {
    pub fn bytes(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Allocates and touches up to `want` bytes, never past the cap; returns how many it
    /// took. A failed allocation takes nothing rather than aborting the process.
    fn grow(&self, want: u64) -> u64 {
        let room = LEAK_CAP.saturating_sub(self.bytes());
        let Ok(n) = usize::try_from(want.min(room)) else {
            return 0;
        };
        if n == 0 {
            return 0;
        }
        let mut chunk: Vec<u8> = Vec::new();
        if chunk.try_reserve_exact(n).is_err() {
            tracing::warn!(bytes = n, "The leak fault could not allocate more memory.");
            return 0;
        }
        // A non-zero fill writes every page; zeroed memory could stay unmapped.
        chunk.resize(n, 0xA5);
        let mut chunks = self.chunks.lock().unwrap_or_else(|e| e.into_inner());
        chunks.push(chunk);
        self.total.fetch_add(n as u64, Ordering::Relaxed);
        n as u64
    }
}

/// Grows `leak` at the rate the current faults ask for until `shutdown`.
pub(crate) async fn run(faults: watch::Receiver<Faults>, leak: &Leak, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(STEP);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last = Instant::now();
    // Fractions of a byte carried between steps, so slow rates still add up exactly.
    let mut owed = 0.0_f64;
    let mut capped = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            now = ticks.tick() => {
                let rate = faults.borrow().leak_per_second();
                let elapsed = now.saturating_duration_since(last).as_secs_f64();
                last = now;
                if rate == 0 || capped {
                    owed = 0.0;
                    continue;
                }
                owed += rate as f64 * elapsed;
                let want = owed.floor();
                owed -= want;
                leak.grow(want as u64);
                if leak.bytes() >= LEAK_CAP {
                    capped = true;
                    tracing::warn!(bytes = leak.bytes(), "The leak fault reached its cap and stops growing.");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_respects_the_cap() {
        let leak = Leak::default();
        assert_eq!(leak.grow(10_000), 10_000);
        assert_eq!(leak.bytes(), 10_000);
        leak.total.store(LEAK_CAP - 5, Ordering::Relaxed);
        assert_eq!(leak.grow(10_000), 5);
        assert_eq!(leak.grow(10_000), 0);
    }

    #[tokio::test]
    async fn grows_only_while_the_fault_is_set() {
        let (tx, rx) = watch::channel(Faults::default());
        let leak = Leak::default();
        let stop = CancellationToken::new();
        let stopper = stop.clone();
        let drill = async {
            tokio::time::sleep(Duration::from_millis(250)).await;
            assert_eq!(leak.bytes(), 0, "no fault, no growth");
            tx.send_replace(Faults::parse_flags(&["leak=10MB".into()]).unwrap());
            tokio::time::sleep(Duration::from_millis(450)).await;
            let grown = leak.bytes();
            assert!(grown >= 1_000_000, "grew {grown} bytes");
            tx.send_replace(Faults::default());
            tokio::time::sleep(Duration::from_millis(250)).await;
            let settled = leak.bytes();
            tokio::time::sleep(Duration::from_millis(250)).await;
            assert_eq!(
                leak.bytes(),
                settled,
                "stops once cleared, keeps what it took"
            );
            stopper.cancel();
        };
        tokio::join!(run(rx, &leak, stop), drill);
    }
}
