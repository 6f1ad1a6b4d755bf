//! A device's record in the registry, and how the conventions' facts change it: names,
//! readings with their units, a light and its route, availability and how often it reports.

use std::collections::BTreeMap;

use super::convention::{About, Fact, Route, What};
use super::model::{Availability, Presence, Reading};
use super::registry::Naming;
use super::{DevicesError, Message, Sighting};

/// A device keeps at most this many topics; more are still recorded, not listed with it.
const MAX_DEVICE_TOPICS: usize = 64;
/// And at most this many series of readings (a Tasmota with several sensors has a few).
const MAX_DEVICE_SERIES: usize = 16;
/// Devices kept at once; past it, the least recently seen tenth is forgotten (a device a
/// message names need not have a topic of its own, so topic eviction alone cannot bound them).
pub(crate) const MAX_DEVICES: usize = 10_000;

/// Devices by id, ordered so a device's channels (`tasmota/plug/2`) follow it.
pub(super) type Devices = BTreeMap<String, Device>;
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
    /// The topics it reported on (not its descriptions or its availability).
    pub(super) topics: Vec<String>,
    /// Whether it has reported anything itself, beyond a description.
    pub(super) reported: bool,
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
    // Known only from a description (a retained discovery config): nothing says it is there.
    if d.has_availability || !d.reported {
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
    devices: &mut Devices,
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
    if !devices.contains_key(&id) {
        if devices.len() >= MAX_DEVICES {
            forget_oldest(devices, MAX_DEVICES / 10 + 1);
        }
        tracing::debug!("{}: device {id} ({convention})", topic);
        // A channel made after its device's availability was heard (a discovery config after
        // the retained last will) starts as its device is.
        let available = ancestors(&id)
            .find_map(|a| devices.get(a))
            .and_then(|p| p.available.clone());
        devices.insert(
            id.clone(),
            Device {
                convention,
                about: About::default(),
                readings: Vec::new(),
                light: None,
                has_availability: available.is_some(),
                available,
                first_seen_ms: now_ms,
                last_seen_ms: now_ms,
                usual_gap_ms: None,
                topics: Vec::new(),
                reported: false,
            },
        );
    }
    let d = devices.get_mut(&id).expect("inserted above");
    // Seen is what the device itself said: not its last will (the broker's), nor a retained
    // description replayed at the hub's start.
    let reported = match &what {
        What::Seen | What::Reading { .. } | What::Available(true) => true,
        What::Light { state, .. } => state.is_some(),
        _ => false,
    };
    if reported {
        d.reported = true;
    }
    if reported && now_ms > d.last_seen_ms {
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
    if reported && d.topics.len() < MAX_DEVICE_TOPICS && !d.topics.iter().any(|t| t == topic) {
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
            // One reading per series: a device with two thermometers keeps both, and the
            // first heard stays its temperature.
            let full = d.readings.len() >= MAX_DEVICE_SERIES;
            let known = d
                .readings
                .iter_mut()
                .find(|r| r.topic == topic && r.field == field);
            if known.as_ref().is_none_or(|r| r.unit != unit)
                && let Some(u) = unit
            {
                seen.units.push((topic.to_string(), field.clone(), u));
            }
            match known {
                Some(k) => {
                    k.quantity = quantity;
                    k.value = value;
                    k.unit = unit;
                    k.ts_ms = now_ms;
                }
                None if !full => d.readings.push(Reading {
                    quantity,
                    value,
                    unit,
                    topic: topic.to_string(),
                    field,
                    ts_ms: now_ms,
                }),
                None => {}
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
                // A state remembered from an earlier message (a Homie value a description
                // now explains) is not this message's reply to a command.
                if topic == m.topic {
                    seen.lights.push((id.clone(), s));
                }
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
    devices: &mut Devices,
    id: &str,
    online: bool,
    topic: &str,
    payload: String,
    now_ms: i64,
    seen: &mut Sighting,
) {
    let prefix = format!("{id}/");
    let channels = devices
        .range_mut(id.to_string()..)
        .take_while(|(did, _)| *did == id || did.starts_with(&prefix));
    for (did, d) in channels {
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

/// The ids a device id's channel could belong to, nearest first (`a/b/c` → `a/b`, `a`).
fn ancestors(id: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(id.rsplit_once('/').map(|(a, _)| a), |a| {
        a.rsplit_once('/').map(|(p, _)| p)
    })
}

/// Forgets the `n` least recently seen devices.
fn forget_oldest(devices: &mut Devices, n: usize) {
    let mut by_age: Vec<(i64, String)> = devices
        .iter()
        .map(|(id, d)| (d.last_seen_ms, id.clone()))
        .collect();
    by_age.sort_unstable();
    for (_, id) in by_age.into_iter().take(n) {
        devices.remove(&id);
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
        if t.is_empty() || t.chars().count() > 100 || t.chars().any(char::is_control) {
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
