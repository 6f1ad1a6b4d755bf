//! The hub's live events bus: one broadcast channel fanned out to every listener (WebSocket
//! clients, the desktop window). A listener that falls more than the channel's capacity
//! behind loses events and is told so (`Lagged`); it never slows the hub. What the events are
//! is the API's business (`api::Event`); the bus carries any type.

use std::sync::Arc;

use tokio::sync::broadcast;

/// Events a listener may fall behind by before it is cut off.
pub const BUS_CAPACITY: usize = 8192;

/// The event bus. Cheap to clone.
pub struct Bus<E> {
    tx: broadcast::Sender<Arc<E>>,
}

impl<E> Clone for Bus<E> {
    fn clone(&self) -> Self {
        Bus {
            tx: self.tx.clone(),
        }
    }
}

impl<E> Default for Bus<E> {
    fn default() -> Self {
        Bus::new(BUS_CAPACITY)
    }
}

impl<E> Bus<E> {
    pub fn new(capacity: usize) -> Bus<E> {
        Bus {
            tx: broadcast::channel(capacity).0,
        }
    }

    /// Sends the event `make` builds, building it only when someone listens.
    pub fn send_with(&self, make: impl FnOnce() -> E) {
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(Arc::new(make()));
        }
    }

    /// How many listen.
    pub fn listener_count(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Whether anyone listens.
    pub fn has_listeners(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<E>> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_built_without_listeners() {
        let bus: Bus<u32> = Bus::new(4);
        bus.send_with(|| unreachable!("no listener"));
        let mut rx = bus.subscribe();
        assert_eq!(bus.listener_count(), 1);
        bus.send_with(|| 7);
        assert_eq!(*rx.try_recv().unwrap(), 7);
    }

    #[test]
    fn a_slow_listener_lags_and_the_sender_never_waits() {
        let bus: Bus<u32> = Bus::new(2);
        let mut rx = bus.subscribe();
        for i in 0..5 {
            bus.send_with(|| i);
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(3))
        ));
    }
}
