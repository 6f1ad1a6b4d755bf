//! The broker page: the broker's state and message rates, sent as `broker_stats` every second.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use super::{Api, BrokerLink, Event};

/// A listener with its address, as shown on the Broker page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// `mqtt`, `ws`, `http`.
    pub name: String,
    pub address: String,
}

/// The broker's state.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokerStatus {
    /// `embedded`, or `external` with `externalBroker` set.
    pub mode: String,
    pub external_broker: Option<String>,
    /// Whether the hub's own client is connected and subscribed.
    pub hub_connected: bool,
    /// Clients connected (embedded broker only; includes the hub's own client).
    pub clients: Option<i64>,
    /// Publishes received per second, over the last five seconds.
    pub messages_in_per_sec: f64,
    /// Messages delivered to subscribers per second (embedded broker only).
    pub messages_out_per_sec: Option<f64>,
    pub messages_in_total: u64,
    pub messages_out_total: Option<u64>,
    pub messages_dropped_total: Option<u64>,
    pub listeners: Vec<Listener>,
    pub topics: usize,
    /// Topics no device convention recognises: in the topic list, not on a device.
    pub unclaimed_topics: usize,
    pub pending_commands: usize,
    /// Clients of the live events (WebSocket streams, the desktop window).
    pub event_listeners: usize,
    pub readings_stored: u64,
    /// Readings the recorder could not keep up with.
    pub readings_dropped: u64,
    pub uptime_secs: u64,
}

/// Counter samples of the last few seconds: rates over a window, so devices reporting
/// every few seconds do not show as a rate jumping between zero and a burst.
#[derive(Default)]
pub(super) struct Rates {
    samples: VecDeque<(Instant, u64, u64)>,
    in_per_sec: f64,
    out_per_sec: f64,
}

const RATE_WINDOW: usize = 5;

impl Rates {
    fn add(&mut self, now: Instant, received: u64, delivered: u64) {
        self.samples.push_back((now, received, delivered));
        if self.samples.len() > RATE_WINDOW + 1 {
            self.samples.pop_front();
        }
        if let (Some(&(t0, in0, out0)), true) = (self.samples.front(), self.samples.len() > 1) {
            let secs = now.duration_since(t0).as_secs_f64().max(1e-3);
            self.in_per_sec = received.saturating_sub(in0) as f64 / secs;
            self.out_per_sec = delivered.saturating_sub(out0) as f64 / secs;
        }
    }
}

/// Message counters: (received, delivered, dropped), delivered and dropped for the embedded
/// broker only.
struct Counters {
    received: u64,
    delivered: Option<u64>,
    dropped: Option<u64>,
}

impl Api {
    fn counters(&self) -> Counters {
        let link = &self.parts().link;
        match &link.broker {
            BrokerLink::Embedded(b) => {
                let c = &b.counters;
                Counters {
                    received: c.received.load(Ordering::Relaxed),
                    delivered: Some(c.delivered.load(Ordering::Relaxed)),
                    dropped: Some(c.dropped.load(Ordering::Relaxed)),
                }
            }
            BrokerLink::External(_) => Counters {
                received: link.received.load(Ordering::Relaxed),
                delivered: None,
                dropped: None,
            },
        }
    }

    /// The broker's state, with message rates over the last five seconds.
    pub fn broker_status(&self) -> BrokerStatus {
        let p = self.parts();
        let (in_per_sec, out_per_sec) = {
            let r = self.inner.rates.lock().expect("rates lock poisoned");
            (r.in_per_sec, r.out_per_sec)
        };
        let c = self.counters();
        let embedded = self.embedded();
        let external = match &p.link.broker {
            BrokerLink::External(url) => Some(url.clone()),
            BrokerLink::Embedded(_) => None,
        };
        BrokerStatus {
            mode: if embedded.is_some() {
                "embedded"
            } else {
                "external"
            }
            .to_string(),
            external_broker: external,
            hub_connected: *p.link.connected.borrow(),
            clients: embedded.map(|b| b.connections() as i64),
            messages_in_per_sec: in_per_sec,
            messages_out_per_sec: embedded.map(|_| out_per_sec),
            messages_in_total: c.received,
            messages_out_total: c.delivered,
            messages_dropped_total: c.dropped,
            listeners: p
                .reach
                .listeners
                .iter()
                .map(|l| Listener {
                    name: l.name.to_string(),
                    address: l.addr.to_string(),
                })
                .collect(),
            topics: p.registry.topic_count(),
            unclaimed_topics: p.registry.unclaimed_count(),
            pending_commands: p.tracker.pending_count(),
            event_listeners: p.bus.listener_count(),
            readings_stored: p.recorder.rows_written.load(Ordering::Relaxed),
            readings_dropped: p.recorder.dropped.load(Ordering::Relaxed),
            uptime_secs: self.inner.started.elapsed().as_secs(),
        }
    }

    /// Samples rates and sends `broker_stats` every second until `shutdown`.
    pub async fn run_stats(self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = crate::stopped(&mut shutdown) => return,
                _ = tick.tick() => {
                    let c = self.counters();
                    self.inner
                        .rates
                        .lock()
                        .expect("rates lock poisoned")
                        .add(Instant::now(), c.received, c.delivered.unwrap_or(0));
                    self.parts().bus.send_with(|| Event::BrokerStats(self.broker_status()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_over_the_window() {
        let mut r = Rates::default();
        let t = Instant::now();
        r.add(t, 0, 0);
        assert_eq!(r.in_per_sec, 0.0);
        for s in 1..=10u64 {
            r.add(t + Duration::from_secs(s), s * 100, s * 300);
        }
        // The last five seconds: 500 in, 1500 out.
        assert_eq!(r.in_per_sec, 100.0);
        assert_eq!(r.out_per_sec, 300.0);
        assert_eq!(r.samples.len(), RATE_WINDOW + 1);
    }
}
