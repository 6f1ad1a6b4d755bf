//! The reading path: what the hub hears goes to the registry (one lock; a second, for the
//! device's description, only when someone listens to the events), a light's status to the
//! tracker, the live events to whoever listens, and numeric values to the recorder. Only the
//! recorder may wait, for room in its queue: with the embedded broker this runs in the
//! publisher's task, so a burst larger than the queue paces its publishers instead of being
//! dropped.

use async_trait::async_trait;

use crate::api::Api;
use crate::commands::Tracker;
use crate::devices::{Message, Registry, numeric_fields};
use crate::ingest::{Report, Sink};
use crate::recorder::{Recorder, Sample};

pub(super) struct Intake {
    pub(super) registry: Registry,
    pub(super) tracker: Tracker,
    pub(super) recorder: Recorder,
    pub(super) api: Api,
}

#[async_trait]
impl Sink for Intake {
    async fn message(&self, m: Message<'_>) -> bool {
        let now = crate::now_ms();
        let fields = numeric_fields(m.payload);
        if let Some(s) = self.registry.observe(m, now, &fields) {
            for (light, state) in &s.lights {
                self.tracker
                    .on_status(light, m.topic, *state, m.payload, m.retained, now);
            }
            for (topic, field, unit) in s.units {
                self.api.remember_unit(topic, field, unit);
            }
            // After the tracker, so the view shows a light's command as this reply settled it.
            if self.api.has_listeners() {
                let urgent = !s.lights.is_empty();
                for id in &s.devices {
                    self.api.device_changed(id, urgent, now);
                }
            }
        }
        // A delivered message with the retain flag is a replay from the broker's store
        // (retain-as-published is off): it was recorded when first published.
        if fields.is_empty() || m.retained {
            return true;
        }
        self.api.announce_readings(m.topic, now, &fields);
        let sample = Sample {
            topic: m.topic.to_string(),
            ts_ms: now,
            fields,
        };
        self.recorder.record_paced(sample).await
    }

    fn report(&self, r: Report) {
        match r {
            Report::Sent(pkid) => self.tracker.on_sent(pkid),
            Report::Acked {
                pkid,
                reason,
                reason_name,
            } => self.tracker.on_puback(pkid, reason, &reason_name),
            Report::LinkLost => self.tracker.on_disconnect(),
        }
    }
}
