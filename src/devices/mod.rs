//! Topics and devices: every topic the hub has seen, and the devices recognised in them.
//!
//! Devices are not configured. Each new topic is offered to the [`Convention`]s; the one that
//! recognises it names the device it belongs to (the seed's `home/<room>/<thing>` makes device
//! `<thing>` in room `<room>`), and its kind follows from its name and what it publishes.
//! Topics that fit no convention stay visible in the raw topic list. The registry describes
//! devices on its own ([`DeviceInfo`]); what the hub's commands add to a light is the API's.
//!
//! Also here: what a payload says ([`numeric_fields`]) and what a light's status says
//! ([`parse_state`]), and how lights take commands ([`LightRoute`]).

mod convention;
mod home;
mod light;
mod payload;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use utoipa::ToSchema;

pub use convention::{Convention, Place};
pub use light::{CommandConvention, LightRoute, LightState, TopicProbe};
pub use payload::numeric_fields;

/// Limits that keep the registry's memory bounded whatever devices publish.
#[derive(Debug, Clone, Copy)]
pub struct RegistryLimits {
    /// Most topics kept; past it, the least recently seen tenth is forgotten.
    pub max_topics: usize,
    /// Bytes of each topic's last payload kept for display.
    pub max_payload_bytes: usize,
}

impl Default for RegistryLimits {
    fn default() -> Self {
        RegistryLimits {
            max_topics: 20_000,
            max_payload_bytes: 512,
        }
    }
}

/// What the registry knows about one topic.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicInfo {
    pub topic: String,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub messages: u64,
    pub qos: u8,
    pub retained: bool,
    /// The last payload, cut to the registry's limit (lossy UTF-8).
    pub last_payload: String,
    /// Size of the last payload before any cut.
    pub payload_bytes: usize,
    pub truncated: bool,
}

/// Kinds of device the hub recognises.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeviceKind {
    Temperature,
    Light,
    Other,
}

/// A device as its topics describe it.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    /// `<room>/<thing>`, unique.
    pub id: String,
    pub room: String,
    pub name: String,
    pub kind: DeviceKind,
    /// Where the device publishes its readings or its status.
    pub state_topic: String,
    /// Where commands go (lights), by the light's convention.
    pub command_topic: Option<String>,
    /// The light's command convention (`same-topic`, `set-topic`).
    pub convention: Option<String>,
    pub last_seen_ms: i64,
    /// The last payload on the state topic, as text.
    pub last_payload: String,
    /// For a temperature sensor, its last temperature.
    pub temperature: Option<f64>,
    /// The series the temperature is recorded under: the JSON field (`temperature`,
    /// `DS18B20.Temperature`), empty for a plain number.
    pub temperature_field: Option<String>,
}

/// One message as the broker delivered it.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: u8,
    /// Set on the broker's replay of a retained message (retain-as-published is off).
    pub retained: bool,
}

/// What one message told about a device.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    /// The device's id.
    pub device: String,
    pub kind: DeviceKind,
    /// For a light, the state its status says.
    pub light: Option<LightState>,
}

/// Why a device cannot be switched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DevicesError {
    #[error("no device '{0}'")]
    NoDevice(String),
    #[error("device '{0}' is not a light")]
    NotALight(String),
}

/// Which topics clients subscribe to specifically: the broker knows, the registry does not.
pub type Listening = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A topic's entry, with its device when it is a device's state topic.
struct Entry {
    info: TopicInfo,
    device: Option<Box<Slot>>,
}

/// What the registry keeps of a device, on its state topic's entry.
struct Slot {
    convention: &'static dyn Convention,
    id: String,
    room: String,
    name: String,
    /// The last temperature the state topic carried, and the field it came from.
    temperature: Option<f64>,
    temperature_field: String,
}

#[derive(Default)]
struct Map {
    topics: HashMap<String, Entry>,
    /// State topics by device id.
    ids: HashMap<String, String>,
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

/// The registry's map answering a convention's questions.
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
            inner: Arc::default(),
            limits,
            listening: Arc::new(|_| false),
        }
    }

    /// The same registry, asking `listening` which topics clients subscribe to.
    pub fn with_listening(mut self, listening: Listening) -> Registry {
        self.listening = listening;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Map> {
        self.inner.lock().expect("registry lock poisoned")
    }

    /// Records one message, received at `now_ms`, under one lock. `fields` are the payload's
    /// numeric values, already parsed. When the topic is a device's state topic, says which
    /// device, its kind and, for a light, the state its status says.
    pub fn observe(
        &self,
        m: Message<'_>,
        now_ms: i64,
        fields: &[(String, f64)],
    ) -> Option<Sighting> {
        let Message {
            topic,
            payload,
            qos,
            retained,
        } = m;
        let cut = payload.len().min(self.limits.max_payload_bytes);
        // Borrowed when the bytes are valid UTF-8: an update copies into the buffer the topic
        // already has instead of allocating per message.
        let text = String::from_utf8_lossy(&payload[..cut]);
        let truncated = cut < payload.len();
        let mut map = self.lock();
        let map = &mut *map;
        match map.topics.get_mut(topic) {
            Some(e) => {
                let i = &mut e.info;
                i.last_seen_ms = now_ms;
                i.messages += 1;
                i.qos = qos;
                i.retained = retained;
                i.last_payload.clear();
                i.last_payload.push_str(&text);
                i.payload_bytes = payload.len();
                i.truncated = truncated;
                e.device.as_ref()?;
            }
            None => {
                if map.topics.len() >= self.limits.max_topics {
                    evict_oldest(map, self.limits.max_topics / 10 + 1);
                }
                let device = new_slot(topic);
                if let Some(s) = &device {
                    map.ids.insert(s.id.clone(), topic.to_string());
                }
                let is_device = device.is_some();
                map.topics.insert(
                    topic.to_string(),
                    Entry {
                        info: TopicInfo {
                            topic: topic.to_string(),
                            first_seen_ms: now_ms,
                            last_seen_ms: now_ms,
                            messages: 1,
                            qos,
                            retained,
                            last_payload: text.into_owned(),
                            payload_bytes: payload.len(),
                            truncated,
                        },
                        device,
                    },
                );
                if !is_device {
                    return None;
                }
            }
        }
        // Only a device's messages get here: the rest of the hub's topics cost one lookup.
        let entry = map.topics.get_mut(topic).expect("recorded above");
        let slot = entry.device.as_deref_mut()?;
        if let Some((field, v)) = slot.convention.temperature(topic, fields) {
            slot.temperature = Some(v);
            if slot.temperature_field != field {
                slot.temperature_field = field.to_string();
            }
        }
        let slot = map.topics[topic].device.as_deref().expect("checked above");
        let probe = self.probe(map);
        let kind = slot.kind(topic, &probe);
        Some(Sighting {
            device: slot.id.clone(),
            kind,
            light: (kind == DeviceKind::Light).then(|| slot.convention.light_state(payload)),
        })
    }

    /// One device by id.
    pub fn device(&self, id: &str) -> Option<DeviceInfo> {
        let map = self.lock();
        let entry = map.topics.get(map.ids.get(id)?)?;
        Some(self.describe(&map, entry))
    }

    /// Every device, sorted by room and then by name.
    pub fn devices(&self) -> Vec<DeviceInfo> {
        let map = self.lock();
        let mut v: Vec<DeviceInfo> = map
            .topics
            .values()
            .filter(|e| e.device.is_some())
            .map(|e| self.describe(&map, e))
            .collect();
        drop(map);
        v.sort_by(|a, b| (&a.room, &a.name).cmp(&(&b.room, &b.name)));
        v
    }

    /// How the light `id` takes commands, decided once per call.
    pub fn light_route(&self, id: &str) -> Result<LightRoute, DevicesError> {
        let map = self.lock();
        let no_device = || DevicesError::NoDevice(id.to_string());
        let topic = map.ids.get(id).ok_or_else(no_device)?;
        let entry = map.topics.get(topic).ok_or_else(no_device)?;
        let slot = entry.device.as_deref().ok_or_else(no_device)?;
        let probe = self.probe(&map);
        let kind = slot.kind(topic, &probe);
        if kind != DeviceKind::Light {
            return Err(DevicesError::NotALight(id.to_string()));
        }
        Ok(slot.convention.light_route(topic, &probe))
    }

    /// Number of topics known.
    pub fn topic_count(&self) -> usize {
        self.lock().topics.len()
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

    fn describe(&self, map: &Map, entry: &Entry) -> DeviceInfo {
        let slot = entry.device.as_deref().expect("a device's entry");
        let topic = &entry.info.topic;
        let probe = self.probe(map);
        let kind = slot.kind(topic, &probe);
        let route = (kind == DeviceKind::Light).then(|| slot.convention.light_route(topic, &probe));
        DeviceInfo {
            id: slot.id.clone(),
            room: slot.room.clone(),
            name: slot.name.clone(),
            kind,
            state_topic: topic.clone(),
            command_topic: route.as_ref().map(|r| r.command_topic.clone()),
            convention: route.map(|r| r.convention.to_string()),
            last_seen_ms: entry.info.last_seen_ms,
            last_payload: entry.info.last_payload.clone(),
            temperature: slot.temperature,
            temperature_field: slot.temperature.map(|_| slot.temperature_field.clone()),
        }
    }
}

impl Slot {
    /// The device's kind, by its convention, from what is known now.
    fn kind(&self, state_topic: &str, probe: &Probe) -> DeviceKind {
        let has_temperature = self.temperature.is_some();
        self.convention
            .kind(&self.name, state_topic, has_temperature, probe)
    }
}

/// The device on a state topic first seen now, if a convention recognises one.
fn new_slot(topic: &str) -> Option<Box<Slot>> {
    match convention::recognise(topic)? {
        (convention, Place::State { room, name }) => {
            tracing::debug!(
                "{topic}: device {room}/{name} ({} convention)",
                convention.name()
            );
            Some(Box::new(Slot {
                convention,
                id: format!("{room}/{name}"),
                room: room.to_string(),
                name: name.to_string(),
                temperature: None,
                temperature_field: String::new(),
            }))
        }
        (_, Place::Command) => None,
    }
}

fn evict_oldest(map: &mut Map, n: usize) {
    let mut by_age: Vec<(i64, String)> = map
        .topics
        .iter()
        .map(|(k, e)| (e.info.last_seen_ms, k.clone()))
        .collect();
    by_age.sort_unstable();
    for (_, k) in by_age.into_iter().take(n) {
        if let Some(Entry {
            device: Some(slot), ..
        }) = map.topics.remove(&k)
            && map.ids.get(&slot.id) == Some(&k)
        {
            map.ids.remove(&slot.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<'a>(topic: &'a str, payload: &'a [u8], qos: u8, retained: bool) -> Message<'a> {
        Message {
            topic,
            payload,
            qos,
            retained,
        }
    }

    fn observe(r: &Registry, topic: &str, payload: &str, now: i64) {
        let f = numeric_fields(payload.as_bytes());
        r.observe(msg(topic, payload.as_bytes(), 1, false), now, &f);
    }

    #[test]
    fn seed_topics_make_devices_sorted_by_room() {
        let r = Registry::new(RegistryLimits::default());
        observe(&r, "home/livingroom/temperature", "21.5", 1);
        observe(&r, "home/kitchen/temperature", "{\"temperature\":19}", 2);
        observe(&r, "home/livingroom/light", "ON", 3);
        observe(&r, "home/hall/lamp", "OFF", 4);
        observe(&r, "home/hall/ceiling", "OFF", 5);
        observe(&r, "home/hall/ceiling/set", "ON", 6);
        observe(&r, "home/hall/sensor", "{\"temp\":3,\"humidity\":1}", 7);
        observe(&r, "home/hall/door", "open", 8);
        observe(&r, "tele/tasmota_1/SENSOR", "{}", 9);
        observe(&r, "home/toolong/a/b", "1", 10);

        let devices = r.devices();
        let rooms: Vec<&str> = devices.iter().map(|d| d.room.as_str()).collect();
        assert_eq!(
            rooms,
            vec![
                "hall",
                "hall",
                "hall",
                "hall",
                "kitchen",
                "livingroom",
                "livingroom"
            ]
        );
        let hall = &devices[..4];
        let kinds: Vec<(&str, DeviceKind)> =
            hall.iter().map(|d| (d.name.as_str(), d.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("ceiling", DeviceKind::Light),
                ("door", DeviceKind::Other),
                ("lamp", DeviceKind::Light),
                ("sensor", DeviceKind::Temperature),
            ]
        );
        assert_eq!(r.device("hall/ceiling").as_ref(), Some(&hall[0]));
        assert_eq!(r.device("hall/ceiling/set"), None);
        assert_eq!(r.device("nowhere/lamp"), None);
        assert!(r.topic("home/hall/ceiling/set").is_some());
        assert_eq!(hall[3].temperature, Some(3.0));
        assert_eq!(hall[3].temperature_field.as_deref(), Some("temp"));
        assert_eq!(devices[6].temperature_field.as_deref(), Some(""));
        assert_eq!(hall[0].temperature_field, None);
        assert_eq!(devices[4].temperature, Some(19.0));
        assert_eq!(devices[5].kind, DeviceKind::Light);
        assert_eq!(devices[6].temperature, Some(21.5));
        // Every topic, device or not, is in the raw list.
        assert_eq!(r.topics().len(), 10);
    }

    #[test]
    fn a_sighting_names_the_device_and_a_lights_state() {
        let r = Registry::new(RegistryLimits::default())
            .with_listening(Arc::new(|t| t == "home/hall/lamp/set"));
        let s = r
            .observe(msg("home/hall/lamp", b"ON", 1, false), 5, &[])
            .unwrap();
        assert_eq!(
            (s.device.as_str(), s.kind, s.light),
            ("hall/lamp", DeviceKind::Light, Some(LightState::On))
        );
        let info = r.device("hall/lamp").unwrap();
        assert_eq!(info.command_topic.as_deref(), Some("home/hall/lamp/set"));
        assert_eq!(info.convention.as_deref(), Some("set-topic"));
        let set = msg("home/hall/lamp/set", b"OFF", 1, false);
        assert_eq!(r.observe(set, 6, &[]), None);
        let f = numeric_fields(b"20.5");
        let s = r
            .observe(msg("home/hall/temp", b"20.5", 0, false), 7, &f)
            .unwrap();
        assert_eq!((s.kind, s.light), (DeviceKind::Temperature, None));
        assert_eq!(r.light_route("hall/lamp").unwrap().convention, "set-topic");
        assert_eq!(
            r.light_route("hall/temp"),
            Err(DevicesError::NotALight("hall/temp".into()))
        );
        assert_eq!(
            r.light_route("hall/none"),
            Err(DevicesError::NoDevice("hall/none".into()))
        );
    }

    #[test]
    fn topic_stats_and_truncation() {
        let r = Registry::new(RegistryLimits {
            max_topics: 10,
            max_payload_bytes: 4,
        });
        r.observe(msg("a", b"hello world", 2, true), 10, &[]);
        r.observe(msg("a", b"hi", 0, false), 20, &[]);
        let t = r.topic("a").unwrap();
        assert_eq!(t.first_seen_ms, 10);
        assert_eq!(t.last_seen_ms, 20);
        assert_eq!(t.messages, 2);
        assert_eq!((t.qos, t.retained, t.truncated), (0, false, false));
        r.observe(msg("a", b"hello world", 2, true), 30, &[]);
        let t = r.topic("a").unwrap();
        assert_eq!(t.last_payload, "hell");
        assert_eq!(t.payload_bytes, 11);
        assert!(t.truncated && t.retained);
    }

    #[test]
    fn topic_count_stays_bounded() {
        let r = Registry::new(RegistryLimits {
            max_topics: 1000,
            max_payload_bytes: 16,
        });
        for i in 0..20_000 {
            r.observe(msg(&format!("home/r{i}/t"), b"1", 0, false), i, &[]);
        }
        assert!(r.topic_count() <= 1000);
        // The most recent survive, and a forgotten topic's device goes with it.
        assert!(r.topic("home/r19999/t").is_some());
        assert!(r.topic("home/r0/t").is_none());
        assert_eq!(r.device("r0/t"), None);
        assert!(r.device("r19999/t").is_some());
        assert!(r.devices().len() <= 1000);
    }
}
