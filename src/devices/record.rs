//! A device's record in the registry, and how the conventions' facts change it: names,
//! readings with their units, a light and its route, availability and how often it reports.

use std::collections::HashMap;

use super::convention::{About, Fact, Route, What};
use super::model::{Availability, Presence, Reading};
use super::registry::Naming;
use super::{DevicesError, Message, Sighting};

/// A device keeps at most this many topics; more are still recorded, not listed with it.
const MAX_DEVICE_TOPICS: usize = 64;
/// A device with no availability topic is silent after this many of its usual intervals…
const SILENT_INTERVALS: i64 = 3;
/// …and never sooner than this, so a burst of quick messages does not make it silent.
const SILENT_FLOOR_MS: i64 = 60_000;

pub(super) struct Light {
    pub(super) route: Route,
    /// Where its status arrives.
    pub(super) state_topic: Option<String>,
}

pub(super) struct Device {
    pub(super) convention: &'static str,
    pub(super) about: About,
    pub(super) readings: Vec<Reading>,
    pub(super) light: Option<Light>,
    /// Online or offline as its availability topic last said, and since when, from what.
    pub(super) available: Option<(bool, i64, String, String)>,
    pub(super) has_availability: bool,
    pub(super) first_seen_ms: i64,
    pub(super) last_seen_ms: i64,
    /// A moving average of the time between its messages, for "silent".
    pub(super) usual_gap_ms: Option<i64>,
    pub(super) topics: Vec<String>,
}

/// What the device's availability is at `now_ms`.
pub(super) fn availability(d: &Device, now_ms: i64) -> Availability {
    if let Some((online, since, topic, payload)) = &d.available {
        return Availability {
            state: if *online {
                Presence::Online
            } else {
                Presence::Offline
            },
            since_ms: Some(*since),
            topic: Some(topic.clone()),
            payload: Some(payload.clone()),
        };
    }
    if d.has_availability {
        return Availability {
            state: Presence::Unknown,
            since_ms: Some(d.first_seen_ms),
            topic: None,
            payload: None,
        };
    }
    // A light that reports only when switched has no usual interval to miss: only devices
    // that report readings go silent.
    let silent = !d.readings.is_empty()
        && d.usual_gap_ms.is_some_and(|gap| {
            now_ms - d.last_seen_ms > (gap * SILENT_INTERVALS).max(SILENT_FLOOR_MS)
        });
    Availability {
        state: if silent {
            Presence::Silent
        } else {
            Presence::Online
        },
        since_ms: Some(if silent {
            d.last_seen_ms
        } else {
            d.first_seen_ms
        }),
        topic: None,
        payload: None,
    }
}

/// Applies one fact from a message of `convention`.
pub(super) fn apply(
    devices: &mut HashMap<String, Device>,
    convention: &'static str,
    m: &Message<'_>,
    now_ms: i64,
    f: Fact,
    seen: &mut Sighting,
) {
    let Fact {
        device: id,
        what,
        topic,
    } = f;
    let topic = topic.as_deref().unwrap_or(m.topic);
    if what == What::Remove {
        if devices.remove(&id).is_some() {
            seen.devices.push(id);
        }
        return;
    }
    let d = devices.entry(id.clone()).or_insert_with(|| {
        tracing::debug!("{}: device {id} ({convention})", topic);
        Device {
            convention,
            about: About::default(),
            readings: Vec::new(),
            light: None,
            available: None,
            has_availability: false,
            first_seen_ms: now_ms,
            last_seen_ms: now_ms,
            usual_gap_ms: None,
            topics: Vec::new(),
        }
    });
    if now_ms > d.last_seen_ms {
        let gap = now_ms - d.last_seen_ms;
        // Messages of one burst (a Tasmota's SENSOR and STATE) are one report.
        if gap > 1000 {
            d.usual_gap_ms = Some(match d.usual_gap_ms {
                None => gap,
                Some(g) => (g * 7 + gap * 3) / 10,
            });
        }
        d.last_seen_ms = now_ms;
    }
    if d.topics.len() < MAX_DEVICE_TOPICS && !d.topics.iter().any(|t| t == topic) {
        d.topics.push(topic.to_string());
    }
    match what {
        What::Seen | What::Remove => {}
        What::About(a) => {
            let b = &mut d.about;
            for (have, new) in [
                (&mut b.name, a.name),
                (&mut b.room, a.room),
                (&mut b.manufacturer, a.manufacturer),
                (&mut b.model, a.model),
            ] {
                if new.is_some() {
                    *have = new;
                }
            }
        }
        What::Reading {
            quantity,
            field,
            value,
            unit,
        } => {
            let known = d.readings.iter_mut().find(|r| r.quantity == quantity);
            let new_unit = match &known {
                Some(r) => r.unit != unit || r.topic != topic || r.field != field,
                None => true,
            };
            if new_unit && let Some(u) = unit {
                seen.units.push((topic.to_string(), field.clone(), u));
            }
            let r = Reading {
                quantity,
                value,
                unit,
                topic: topic.to_string(),
                field,
                ts_ms: now_ms,
            };
            match known {
                Some(k) => *k = r,
                None => {
                    d.readings.push(r);
                    d.readings.sort_by_key(|r| r.quantity);
                }
            }
        }
        What::Light { state, route } => {
            let l = d.light.get_or_insert(Light {
                route: route.clone(),
                state_topic: None,
            });
            l.route = route;
            if l.state_topic.is_none()
                && let Some(status) = topic.strip_suffix("/set")
                && state.is_none()
            {
                l.state_topic = Some(status.to_string());
            }
            if let Some(s) = state {
                if l.state_topic.as_deref() != Some(topic) {
                    l.state_topic = Some(topic.to_string());
                }
                seen.lights.push((id.clone(), s));
            }
        }
        What::HasAvailability => d.has_availability = true,
        What::Available(online) => {
            let payload = String::from_utf8_lossy(m.payload)
                .chars()
                .take(64)
                .collect();
            set_available(devices, &id, online, topic, payload, now_ms, seen);
        }
    }
    if !seen.devices.contains(&id) {
        seen.devices.push(id);
    }
}

/// Availability holds for the device and for the channels it has as devices of their own
/// (`tasmota/plug/2` of `tasmota/plug`).
fn set_available(
    devices: &mut HashMap<String, Device>,
    id: &str,
    online: bool,
    topic: &str,
    payload: String,
    now_ms: i64,
    seen: &mut Sighting,
) {
    let prefix = format!("{id}/");
    for (did, d) in devices.iter_mut() {
        if did != id && !did.starts_with(&prefix) {
            continue;
        }
        d.has_availability = true;
        let since = match &d.available {
            Some((was, since, ..)) if *was == online => *since,
            _ => now_ms,
        };
        d.available = Some((online, since, topic.to_string(), payload.clone()));
        if did != id && !seen.devices.contains(did) {
            seen.devices.push(did.clone());
        }
    }
}

/// A duration as people say it: `40 s`, `12 min`, `3 h`, `2 d`.
pub(super) fn ago(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

pub(super) fn check_naming(n: &Naming) -> Result<(), DevicesError> {
    let ok = |s: &str, what: &str| {
        let t = s.trim();
        if t.is_empty() || t.len() > 100 || t.chars().any(char::is_control) {
            Err(DevicesError::BadNaming(format!(
                "a {what} is 1 to 100 characters, with no control characters"
            )))
        } else {
            Ok(())
        }
    };
    if let Some(name) = &n.name {
        ok(name, "name")?;
    }
    if let Some(Some(room)) = &n.room {
        ok(room, "room")?;
    }
    Ok(())
}
