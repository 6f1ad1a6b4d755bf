//! The registry: topics as they are seen, and the devices the conventions' facts describe.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::convention::{self, Convention, Route, owner_of};
use super::convention::{ask, offer};
use super::journal::{Changes, HISTORY_BUDGET, Histories, RetainedIndex, evict_oldest};
use super::light::{self, LightRoute, TopicProbe};
use super::model::{DeviceInfo, DeviceKind, Quantity, TopicInfo, natural_cmp};
use super::record::{Device, Devices, ago, apply, availability, check_naming};
use super::{DevicesError, Listening, Message, RegistryLimits, Sighting};

/// The household's choices for one device; `None` keeps what the device says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Naming {
    pub name: Option<String>,
    /// `Some(None)` says: no room, whatever the device suggests.
    pub room: Option<Option<String>>,
}

impl Naming {
    /// Whether the names are ones the registry takes: 1 to 100 characters, none a control.
    pub fn check(&self) -> Result<(), DevicesError> {
        check_naming(self)
    }
}

/// Whose a topic is: the convention that recognised it, or none as of a generation of what
/// the conventions know.
#[derive(Clone, Copy)]
enum Claim {
    By { convention: usize, generation: u64 },
    Nobody { generation: u64 },
}

pub(super) struct Entry {
    pub(super) info: TopicInfo,
    claim: Claim,
    /// Its message ring in `Map::histories`.
    pub(super) slot: usize,
    /// The last message was the broker's replay of a retained one.
    replayed: bool,
}

pub(super) struct Map {
    pub(super) topics: HashMap<String, Entry>,
    pub(super) devices: Devices,
    conventions: Vec<Box<dyn Convention>>,
    /// Bumped when a convention learns something, so unclaimed topics are offered again.
    generation: u64,
    namings: HashMap<String, Naming>,
    pub(super) histories: Histories,
    pub(super) retained: RetainedIndex,
    pub(super) changes: Changes,
}

/// The registry. Cheap to clone; all clones share one map.
#[derive(Clone)]
pub struct Registry {
    /// A std mutex: every critical section is a map update with no await inside, much
    /// cheaper than an async lock on the per-message path.
    inner: Arc<Mutex<Map>>,
    limits: RegistryLimits,
    listening: Listening,
}

/// The registry's map answering the seed layout's questions about `…/set` topics.
struct Probe<'a> {
    topics: &'a HashMap<String, Entry>,
    listening: &'a Listening,
}

impl TopicProbe for Probe<'_> {
    fn seen(&self, topic: &str) -> bool {
        self.topics.contains_key(topic)
    }
    fn listened(&self, topic: &str) -> bool {
        (self.listening)(topic)
    }
}

impl Registry {
    /// An empty registry; no topic counts as listened to until [`Registry::with_listening`].
    pub fn new(limits: RegistryLimits) -> Registry {
        Registry {
            inner: Arc::new(Mutex::new(Map {
                topics: HashMap::new(),
                devices: Devices::new(),
                conventions: convention::all(),
                generation: 0,
                namings: HashMap::new(),
                histories: Histories::new(HISTORY_BUDGET),
                retained: RetainedIndex::default(),
                changes: Changes::default(),
            })),
            limits,
            listening: Arc::new(|_| false),
        }
    }

    /// The same registry, asking `listening` which topics clients subscribe to.
    pub fn with_listening(mut self, listening: Listening) -> Registry {
        self.listening = listening;
        self
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Map> {
        self.inner.lock().expect("registry lock poisoned")
    }

    /// Records one message, received at `now_ms`, under one lock. `fields` are the payload's
    /// numeric values, already parsed. Says what it told about devices, if anything.
    pub fn observe(
        &self,
        m: Message<'_>,
        now_ms: i64,
        fields: &[(String, f64)],
    ) -> Option<Sighting> {
        let mut map = self.lock();
        let map = &mut *map;
        let claim = self.record_topic(map, &m, now_ms, fields);
        let generation = map.generation;
        let mut facts = Vec::new();
        let by = match claim {
            Claim::Nobody { generation: g } if g == generation => return None,
            Claim::By {
                convention,
                generation: g,
            } if g == generation => {
                if ask(&mut map.conventions, convention, &m, fields, &mut facts) {
                    Some(convention)
                } else {
                    facts.clear();
                    offer(&mut map.conventions, &m, fields, &mut facts)
                }
            }
            _ => offer(&mut map.conventions, &m, fields, &mut facts),
        };
        if let Some(i) = by
            && map.conventions[i].learned()
        {
            map.generation += 1;
        }
        let entry = map.topics.get_mut(m.topic).expect("recorded above");
        entry.claim = match by {
            Some(convention) => Claim::By {
                convention,
                generation,
            },
            None => Claim::Nobody { generation },
        };
        let convention = map.conventions[by?].name();
        if let Some(d) = owner_of(&facts)
            && entry.info.device.as_deref() != Some(d)
        {
            entry.info.device = Some(d.to_string());
        }
        let mut seen = Sighting::default();
        for f in facts {
            apply(&mut map.devices, convention, &m, now_ms, f, &mut seen);
        }
        if let Some(i) = by {
            for topic in map.conventions[i].replay() {
                replay(map, &topic, &mut seen);
            }
        }
        (!seen.devices.is_empty()).then_some(seen)
    }

    /// Updates the topic's entry, making it when new, and says whose it is.
    fn record_topic(
        &self,
        map: &mut Map,
        m: &Message<'_>,
        now_ms: i64,
        fields: &[(String, f64)],
    ) -> Claim {
        let cut = m.payload.len().min(self.limits.max_payload_bytes);
        // Borrowed when the bytes are valid UTF-8: an update copies into the buffer the topic
        // already has instead of allocating per message.
        let text = String::from_utf8_lossy(&m.payload[..cut]);
        let truncated = cut < m.payload.len();
        let same_fields = |have: &[String]| {
            have.len() == fields.len() && have.iter().zip(fields).all(|(a, (b, _))| a == b)
        };
        let held = if m.retained || m.kept {
            map.retained
                .note(m.topic, m.payload, m.qos, m.retained, now_ms)
        } else {
            map.retained.holds(m.topic)
        };
        map.changes.touch(m.topic);
        let flags = (m.retained || m.kept, m.retained);
        if let Some(e) = map.topics.get_mut(m.topic) {
            map.histories.push(e.slot, now_ms, m.qos, flags, m.payload);
            e.replayed = m.retained;
            let i = &mut e.info;
            i.last_seen_ms = now_ms;
            i.messages += 1;
            i.qos = m.qos;
            i.retained = held;
            i.last_payload.clear();
            i.last_payload.push_str(&text);
            i.payload_bytes = m.payload.len();
            i.truncated = truncated;
            if !fields.is_empty() && !same_fields(&i.fields) {
                i.fields = fields.iter().map(|(f, _)| f.clone()).collect();
            }
            return e.claim;
        }
        if map.topics.len() >= self.limits.max_topics {
            evict_oldest(map, self.limits.max_topics / 10 + 1);
        }
        let claim = Claim::Nobody {
            generation: u64::MAX,
        };
        let slot = map.histories.slot();
        map.histories.push(slot, now_ms, m.qos, flags, m.payload);
        map.topics.insert(
            m.topic.to_string(),
            Entry {
                info: TopicInfo {
                    topic: m.topic.to_string(),
                    first_seen_ms: now_ms,
                    last_seen_ms: now_ms,
                    messages: 1,
                    qos: m.qos,
                    retained: held,
                    last_payload: text.into_owned(),
                    payload_bytes: m.payload.len(),
                    truncated,
                    fields: fields.iter().map(|(f, _)| f.clone()).collect(),
                    device: None,
                },
                claim,
                slot,
                replayed: m.retained,
            },
        );
        claim
    }

    /// One device by id.
    pub fn device(&self, id: &str) -> Option<DeviceInfo> {
        self.device_at(id, crate::now_ms())
    }

    /// One device by id, its availability judged at `now_ms`.
    pub fn device_at(&self, id: &str, now_ms: i64) -> Option<DeviceInfo> {
        let map = self.lock();
        let d = map.devices.get(id)?;
        Some(self.describe(&map, id, d, now_ms))
    }

    /// Every device, sorted by room (unassigned last) and then by name.
    pub fn devices(&self) -> Vec<DeviceInfo> {
        self.devices_at(crate::now_ms())
    }

    /// Every device, availability judged at `now_ms`.
    pub fn devices_at(&self, now_ms: i64) -> Vec<DeviceInfo> {
        let map = self.lock();
        let mut v: Vec<DeviceInfo> = map
            .devices
            .iter()
            .map(|(id, d)| self.describe(&map, id, d, now_ms))
            .collect();
        drop(map);
        fn text(s: &Option<String>) -> &str {
            s.as_deref().unwrap_or_default()
        }
        v.sort_by(|a, b| {
            (a.room.is_none().cmp(&b.room.is_none()))
                .then_with(|| natural_cmp(text(&a.room), text(&b.room)))
                .then_with(|| natural_cmp(&a.name, &b.name))
                .then_with(|| a.id.cmp(&b.id))
        });
        v
    }

    /// Whether `id` is a light the registry knows, whatever its availability.
    pub fn check_light(&self, id: &str) -> Result<(), DevicesError> {
        let map = self.lock();
        match map.devices.get(id) {
            None => Err(DevicesError::NoDevice(id.to_string())),
            Some(d) if d.light.is_none() => Err(DevicesError::NotALight(id.to_string())),
            Some(_) => Ok(()),
        }
    }

    /// How the light `id` takes commands, decided once per call. A light whose availability
    /// says offline is not commanded.
    pub fn light_route(&self, id: &str) -> Result<LightRoute, DevicesError> {
        let map = self.lock();
        let d = map
            .devices
            .get(id)
            .ok_or_else(|| DevicesError::NoDevice(id.to_string()))?;
        let light = d
            .light
            .as_ref()
            .ok_or_else(|| DevicesError::NotALight(id.to_string()))?;
        if let Some((false, since, topic, payload)) = &d.available {
            return Err(DevicesError::Offline {
                name: name_of(&map, id, d),
                why: format!(
                    "{topic} said '{payload}' {} ago",
                    ago(crate::now_ms() - since)
                ),
            });
        }
        Ok(match &light.route {
            Route::Fixed(r) => r.clone(),
            Route::Detect => {
                let state = light.state_topic.as_deref().unwrap_or(id);
                light::detect(state, &self.probe(&map))
            }
        })
    }

    /// Records the household's name and room for a device (which need not be seen yet).
    pub fn set_naming(&self, id: &str, naming: Naming) -> Result<(), DevicesError> {
        check_naming(&naming)?;
        let mut map = self.lock();
        if naming == Naming::default() {
            map.namings.remove(id);
        } else {
            map.namings.insert(id.to_string(), naming);
        }
        Ok(())
    }

    /// The household's naming of a device, as recorded.
    pub fn naming(&self, id: &str) -> Naming {
        self.lock().namings.get(id).cloned().unwrap_or_default()
    }

    /// Number of topics known.
    pub fn topic_count(&self) -> usize {
        self.lock().topics.len()
    }

    /// Topics that are no device's: no convention recognised them, or one did but they name
    /// no device (a bridge's own state).
    pub fn unclaimed_count(&self) -> usize {
        self.lock()
            .topics
            .values()
            .filter(|e| e.info.device.is_none())
            .count()
    }

    /// Every topic, sorted.
    pub fn topics(&self) -> Vec<TopicInfo> {
        let map = self.lock();
        let mut v: Vec<TopicInfo> = map.topics.values().map(|e| e.info.clone()).collect();
        drop(map);
        v.sort_by(|a, b| a.topic.cmp(&b.topic));
        v
    }

    /// One topic.
    pub fn topic(&self, topic: &str) -> Option<TopicInfo> {
        self.lock().topics.get(topic).map(|e| e.info.clone())
    }

    fn probe<'a>(&'a self, map: &'a Map) -> Probe<'a> {
        Probe {
            topics: &map.topics,
            listening: &self.listening,
        }
    }

    fn describe(&self, map: &Map, id: &str, d: &Device, now_ms: i64) -> DeviceInfo {
        let naming = map.namings.get(id);
        let room = match naming.and_then(|n| n.room.clone()) {
            Some(chosen) => chosen,
            None => d.about.room.clone(),
        };
        let route = d.light.as_ref().map(|l| match &l.route {
            Route::Fixed(r) => r.clone(),
            Route::Detect => {
                light::detect(l.state_topic.as_deref().unwrap_or(id), &self.probe(map))
            }
        });
        let temperature = d
            .readings
            .iter()
            .find(|r| r.quantity == Quantity::Temperature);
        let kind = if d.light.is_some() {
            DeviceKind::Light
        } else if temperature.is_some() {
            DeviceKind::Temperature
        } else {
            DeviceKind::Other
        };
        let state_topic = d
            .light
            .as_ref()
            .and_then(|l| l.state_topic.clone())
            .or_else(|| temperature.map(|t| t.topic.clone()))
            .or_else(|| d.readings.first().map(|r| r.topic.clone()))
            .or_else(|| d.topics.first().cloned())
            .unwrap_or_default();
        let last_payload = map
            .topics
            .get(&state_topic)
            .map(|e| e.info.last_payload.clone())
            .unwrap_or_default();
        DeviceInfo {
            id: id.to_string(),
            name: name_of(map, id, d),
            room,
            customised: naming.is_some(),
            convention: d.convention.to_string(),
            manufacturer: d.about.manufacturer.clone(),
            model: d.about.model.clone(),
            kind,
            readings: d.readings.clone(),
            state_topic,
            command_topic: route.as_ref().map(|r| r.command_topic.clone()),
            command_convention: route.map(|r| r.convention.to_string()),
            availability: availability(d, now_ms),
            last_seen_ms: d.last_seen_ms,
            last_payload,
            temperature: temperature.map(|t| t.value),
            temperature_unit: temperature.and_then(|t| t.unit),
            temperature_topic: temperature.map(|t| t.topic.clone()),
            temperature_field: temperature.map(|t| t.field.clone()),
        }
    }
}

/// Offers a topic's last message again, when it was kept whole, to the conventions. What it
/// says of lights is not news to the tracker: it was heard before.
fn replay(map: &mut Map, topic: &str, seen: &mut Sighting) {
    let Some(e) = map.topics.get(topic) else {
        return;
    };
    if e.info.truncated || e.info.payload_bytes == 0 {
        return;
    }
    let (payload, at, qos, retained) = (
        e.info.last_payload.clone(),
        e.info.last_seen_ms,
        e.info.qos,
        e.replayed,
    );
    let m = Message {
        topic,
        payload: payload.as_bytes(),
        qos,
        retained,
        kept: false,
    };
    let fields = super::payload::numeric_fields(m.payload);
    let mut facts = Vec::new();
    let generation = map.generation;
    let Some(i) = offer(&mut map.conventions, &m, &fields, &mut facts) else {
        return;
    };
    if let Some(e) = map.topics.get_mut(topic) {
        e.claim = Claim::By {
            convention: i,
            generation,
        };
        if let Some(d) = owner_of(&facts) {
            e.info.device = Some(d.to_string());
        }
    }
    let convention = map.conventions[i].name();
    let mut replayed = Sighting::default();
    for f in facts {
        apply(&mut map.devices, convention, &m, at, f, &mut replayed);
    }
    for d in replayed.devices {
        if !seen.devices.contains(&d) {
            seen.devices.push(d);
        }
    }
    seen.units.extend(replayed.units);
}

fn name_of(map: &Map, id: &str, d: &Device) -> String {
    map.namings
        .get(id)
        .and_then(|n| n.name.clone())
        .or_else(|| d.about.name.clone())
        .unwrap_or_else(|| id.rsplit('/').next().unwrap_or(id).to_string())
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
