//! Addresses that keep failing (logins, pairing codes, tokens) are slowed down: after a few
//! free failures their attempts take turns, the gap doubling with each further failure up to
//! a limit, so opening many connections at once gains nothing. This PC's loopback is never
//! slowed: every local process shares it, the hub's own client among them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed attempts from one address before answers slow down.
const FREE_FAILURES: u32 = 5;
/// Longest an answer to a failing address is held back.
const MAX_DELAY: Duration = Duration::from_secs(10);
/// An address's failures are forgotten after this long without one.
const FAILURE_MEMORY: Duration = Duration::from_secs(15 * 60);
/// Addresses remembered before the forgotten ones are swept out.
const MAX_ADDRESSES: usize = 10_000;

struct Failures {
    count: u32,
    last: Instant,
    /// When this address's next attempt may be answered.
    next: Instant,
}

/// Failures by address.
#[derive(Default)]
pub(super) struct Throttle {
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

/// Whether failures from an address slow it down. Not for this PC: one misconfigured local
/// script must not hold the others back.
fn throttled(p: IpAddr) -> bool {
    !p.is_loopback()
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Failures>> {
        self.failures.lock().expect("failures lock")
    }

    /// How long this attempt waits for its turn, reserving the turn after it.
    fn delay(&self, peer: Option<IpAddr>) -> Duration {
        let Some(p) = peer.filter(|p| throttled(*p)) else {
            return Duration::ZERO;
        };
        let mut f = self.lock();
        let Some(entry) = f.get_mut(&p) else {
            return Duration::ZERO;
        };
        if entry.last.elapsed() > FAILURE_MEMORY {
            f.remove(&p);
            return Duration::ZERO;
        }
        let over = entry.count.saturating_sub(FREE_FAILURES);
        if over == 0 {
            return Duration::ZERO;
        }
        let step =
            (Duration::from_millis(100) * 2u32.saturating_pow(over.min(10) - 1)).min(MAX_DELAY);
        let now = Instant::now();
        let turn = entry.next.max(now);
        entry.next = turn + step;
        turn - now
    }

    /// Waits for this address's turn.
    pub(super) async fn slow_down(&self, peer: Option<IpAddr>) {
        let d = self.delay(peer);
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }

    pub(super) fn record_failure(&self, peer: Option<IpAddr>) {
        let Some(p) = peer.filter(|p| throttled(*p)) else {
            return;
        };
        let mut f = self.lock();
        if f.len() > MAX_ADDRESSES {
            f.retain(|_, v| v.last.elapsed() < FAILURE_MEMORY);
        }
        let e = f.entry(p).or_insert(Failures {
            count: 0,
            last: Instant::now(),
            next: Instant::now(),
        });
        e.count = e.count.saturating_add(1);
        e.last = Instant::now();
    }

    /// A success: the address's failures are forgotten.
    pub(super) fn forget(&self, peer: Option<IpAddr>) {
        if let Some(p) = peer {
            self.lock().remove(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{lan, local};
    use super::*;

    #[test]
    fn failures_slow_an_address_down() {
        let t = Throttle::default();
        for _ in 0..FREE_FAILURES {
            t.record_failure(lan());
        }
        assert_eq!(t.delay(lan()), Duration::ZERO);
        t.record_failure(lan());
        // Attempts take turns 100 ms apart: the first waits for nothing, the next for a step,
        // the one after for two, however many arrive at once.
        let near = |d: Duration, ms: u64| {
            d.abs_diff(Duration::from_millis(ms)) < Duration::from_millis(20)
        };
        assert!(near(t.delay(lan()), 0));
        assert!(near(t.delay(lan()), 100));
        assert!(near(t.delay(lan()), 200));
        t.record_failure(lan());
        assert!(
            near(t.delay(lan()), 300),
            "the step doubles from the reserved turn on"
        );
        assert!(near(t.delay(lan()), 500));
        for _ in 0..20 {
            t.record_failure(lan());
        }
        let d = t.delay(lan());
        assert!(near(t.delay(lan()) - d, MAX_DELAY.as_millis() as u64));
        for _ in 0..20 {
            t.record_failure(local());
        }
        assert_eq!(
            t.delay(local()),
            Duration::ZERO,
            "this PC is never slowed down"
        );
        // A success forgets the address's failures.
        t.forget(lan());
        assert_eq!(t.delay(lan()), Duration::ZERO);
    }
}
