//! A sleep with microsecond precision inside the async runtime, for the open model's
//! arrivals: tokio's own timer rounds up to whole milliseconds, which at 10,000 arrivals a
//! second would send them in bursts up to a millisecond late. On Linux the runtime's event
//! loop waits on a timerfd (an hrtimer, which no timer slack delays), so the dispatcher is
//! one more task beside the workers: no thread of its own to wake, and no hand-over between
//! threads for every arrival. Elsewhere it falls back to tokio's timer.

use std::time::Duration;

pub struct PreciseTimer {
    #[cfg(target_os = "linux")]
    fd: Option<tokio::io::unix::AsyncFd<Fd>>,
}

/// The timerfd as the runtime's `AsyncFd` takes it.
#[cfg(target_os = "linux")]
struct Fd(nix::sys::timerfd::TimerFd);

#[cfg(target_os = "linux")]
impl std::os::fd::AsRawFd for Fd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd as _;
        self.0.as_fd().as_raw_fd()
    }
}

impl PreciseTimer {
    /// A timer on this runtime; where a timerfd cannot be made, tokio's timer is used.
    pub fn new() -> PreciseTimer {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::timerfd::{ClockId, TimerFd, TimerFlags};
            let fd = TimerFd::new(
                ClockId::CLOCK_MONOTONIC,
                TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
            )
            .ok()
            // SAFETY: `Fd` owns the timerfd (an OwnedFd inside TimerFd), which stays open
            // and is the same descriptor until the AsyncFd holding it is dropped.
            .and_then(|t| unsafe { tokio::io::unix::AsyncFd::register(Fd(t)) }.ok());
            PreciseTimer { fd }
        }
        #[cfg(not(target_os = "linux"))]
        PreciseTimer {}
    }

    /// Sleeps `d` (at least a microsecond).
    pub async fn sleep(&self, d: Duration) {
        let d = d.max(Duration::from_micros(1));
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.fd {
            use nix::sys::time::TimeSpec;
            use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};
            let armed = fd.get_ref().0.set(
                Expiration::OneShot(TimeSpec::from_duration(d)),
                TimerSetTimeFlags::empty(),
            );
            if armed.is_ok() {
                loop {
                    let Ok(mut ready) = fd.readable().await else {
                        break;
                    };
                    // The expiry count; WouldBlock means the readiness was stale.
                    match ready.try_io(|f| {
                        nix::unistd::read(&f.get_ref().0, &mut [0u8; 8])
                            .map_err(std::io::Error::from)
                    }) {
                        Ok(_) => return,
                        Err(_stale) => continue,
                    }
                }
            }
        }
        tokio::time::sleep(d).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn it_sleeps_at_least_as_long_as_asked_and_again() {
        let timer = PreciseTimer::new();
        for micros in [1u64, 300, 2_000] {
            let t = std::time::Instant::now();
            timer.sleep(Duration::from_micros(micros)).await;
            assert!(t.elapsed() >= Duration::from_micros(micros), "{micros} µs");
        }
    }
}
