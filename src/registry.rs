//! Every topic the hub has seen, and the devices derived from them.
//!
//! Devices are not configured: the seed's `home/<room>/<thing>` makes a device `<thing>` in
//! room `<room>`, and its kind is inferred from the topic and what it publishes. Topics that
//! fit no convention stay visible in the raw topic list.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use utoipa::ToSchema;

use crate::commands::{Command, LightStatus};
use crate::payload;

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

/// A device derived from its topics.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
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
    /// For a light, its state as last reported.
    pub light: Option<LightStatus>,
    /// For a light, the latest command and its fate.
    pub last_command: Option<Command>,
}

/// A room and its devices, ordered by name.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub room: String,
    pub devices: Vec<Device>,
}

#[derive(Debug)]
struct Entry {
    info: TopicInfo,
    /// The last temperature this topic carried, and the field it came from.
    temperature: Option<f64>,
    temperature_field: String,
}

/// The registry. Cheap to clone; all clones share one map.
#[derive(Clone)]
pub struct Registry {
    /// A std mutex: every critical section is a map update with no await inside, much
    /// cheaper than an async lock on the per-message path.
    inner: Arc<Mutex<HashMap<String, Entry>>>,
    limits: RegistryLimits,
}

impl Registry {
    pub fn new(limits: RegistryLimits) -> Registry {
        Registry {
            inner: Arc::new(Mutex::new(HashMap::new())),
            limits,
        }
    }

    /// Records one message. `fields` are the payload's numeric values, already parsed.
    /// Returns the device whose state topic this is, if any.
    pub fn observe(
        &self,
        topic: &str,
        payload_bytes: &[u8],
        qos: u8,
        retained: bool,
        now_ms: i64,
        fields: &[(String, f64)],
    ) -> Option<DeviceRef> {
        let cut = payload_bytes.len().min(self.limits.max_payload_bytes);
        // Borrowed when the bytes are valid UTF-8: an update copies into the buffer the topic
        // already has instead of allocating per message.
        let text = String::from_utf8_lossy(&payload_bytes[..cut]);
        let truncated = cut < payload_bytes.len();
        let temperature = temperature_of(topic, fields);
        let mut map = self.inner.lock().expect("registry lock poisoned");
        if let Some(e) = map.get_mut(topic) {
            e.info.last_seen_ms = now_ms;
            e.info.messages += 1;
            e.info.qos = qos;
            e.info.retained = retained;
            e.info.last_payload.clear();
            e.info.last_payload.push_str(&text);
            e.info.payload_bytes = payload_bytes.len();
            e.info.truncated = truncated;
            if let Some((field, v)) = temperature {
                e.temperature = Some(v);
                if e.temperature_field != field {
                    e.temperature_field = field.to_string();
                }
            }
        } else {
            if map.len() >= self.limits.max_topics {
                evict_oldest(&mut map, self.limits.max_topics / 10 + 1);
            }
            map.insert(
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
                        payload_bytes: payload_bytes.len(),
                        truncated,
                    },
                    temperature: temperature.map(|(_, v)| v),
                    temperature_field: temperature.map(|(f, _)| f.to_string()).unwrap_or_default(),
                },
            );
        }
        let (room, thing, is_set) = parse_home_topic(topic)?;
        if is_set {
            return None;
        }
        let has_temperature = map.get(topic).is_some_and(|e| e.temperature.is_some());
        let has_set = map.contains_key(&format!("{topic}/set"));
        Some(DeviceRef {
            id: format!("{room}/{thing}"),
            kind: infer_kind(thing, has_temperature, has_set),
        })
    }

    /// Whether a message was seen on `topic`.
    pub fn seen(&self, topic: &str) -> bool {
        self.inner
            .lock()
            .expect("registry lock poisoned")
            .contains_key(topic)
    }

    /// One device by id (`<room>/<thing>`).
    pub fn device(&self, id: &str) -> Option<Device> {
        let (room, thing) = id.split_once('/')?;
        if room.is_empty() || thing.is_empty() || thing.contains('/') {
            return None;
        }
        let topic = format!("home/{id}");
        let map = self.inner.lock().expect("registry lock poisoned");
        let e = map.get(&topic)?;
        Some(make_device(&map, &topic, room, thing, e))
    }

    /// Number of topics known.
    pub fn topic_count(&self) -> usize {
        self.inner.lock().expect("registry lock poisoned").len()
    }

    /// Every topic, sorted.
    pub fn topics(&self) -> Vec<TopicInfo> {
        let map = self.inner.lock().expect("registry lock poisoned");
        let mut v: Vec<TopicInfo> = map.values().map(|e| e.info.clone()).collect();
        drop(map);
        v.sort_by(|a, b| a.topic.cmp(&b.topic));
        v
    }

    /// One topic.
    pub fn topic(&self, topic: &str) -> Option<TopicInfo> {
        self.inner
            .lock()
            .expect("registry lock poisoned")
            .get(topic)
            .map(|e| e.info.clone())
    }

    /// Devices grouped by room, rooms and devices sorted by name.
    pub fn rooms(&self) -> Vec<Room> {
        let map = self.inner.lock().expect("registry lock poisoned");
        let mut devices: BTreeMap<(&str, &str), Device> = BTreeMap::new();
        for (topic, e) in map.iter() {
            let Some((room, thing, false)) = parse_home_topic(topic) else {
                continue;
            };
            devices.insert((room, thing), make_device(&map, topic, room, thing, e));
        }
        let mut rooms: Vec<Room> = Vec::new();
        for ((room, _), d) in devices {
            match rooms.last_mut() {
                Some(r) if r.room == room => r.devices.push(d),
                _ => rooms.push(Room {
                    room: room.to_string(),
                    devices: vec![d],
                }),
            }
        }
        rooms
    }
}

/// A device a message belonged to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRef {
    pub id: String,
    pub kind: DeviceKind,
}

fn make_device(
    map: &HashMap<String, Entry>,
    topic: &str,
    room: &str,
    thing: &str,
    e: &Entry,
) -> Device {
    let has_set = map.contains_key(&format!("{topic}/set"));
    Device {
        id: format!("{room}/{thing}"),
        room: room.to_string(),
        name: thing.to_string(),
        kind: infer_kind(thing, e.temperature.is_some(), has_set),
        state_topic: topic.to_string(),
        command_topic: None,
        convention: None,
        last_seen_ms: e.info.last_seen_ms,
        last_payload: e.info.last_payload.clone(),
        temperature: e.temperature,
        temperature_field: e.temperature.map(|_| e.temperature_field.clone()),
        light: None,
        last_command: None,
    }
}

/// `home/<room>/<thing>` → (room, thing, false); `home/<room>/<thing>/set` → (…, true).
fn parse_home_topic(topic: &str) -> Option<(&str, &str, bool)> {
    let mut parts = topic.split('/');
    if parts.next()? != "home" {
        return None;
    }
    let room = parts.next().filter(|s| !s.is_empty())?;
    let thing = parts.next().filter(|s| !s.is_empty())?;
    match (parts.next(), parts.next()) {
        (None, _) => Some((room, thing, false)),
        (Some("set"), None) => Some((room, thing, true)),
        _ => None,
    }
}

fn infer_kind(thing: &str, has_temperature: bool, has_set: bool) -> DeviceKind {
    let t = thing.to_ascii_lowercase();
    if t == "temperature" || t == "temp" || has_temperature {
        DeviceKind::Temperature
    } else if t == "light" || t == "lamp" || has_set {
        DeviceKind::Light
    } else {
        DeviceKind::Other
    }
}

/// The temperature in a message: the plain number on a `…/temperature` or `…/temp` topic,
/// or a temperature-named JSON field.
fn temperature_of<'a>(topic: &str, fields: &'a [(String, f64)]) -> Option<(&'a str, f64)> {
    let last = topic
        .rsplit('/')
        .next()
        .unwrap_or(topic)
        .to_ascii_lowercase();
    let named = last == "temperature" || last == "temp";
    fields.iter().find_map(|(f, v)| {
        ((f.is_empty() && named) || payload::is_temperature_field(f)).then_some((f.as_str(), *v))
    })
}

fn evict_oldest(map: &mut HashMap<String, Entry>, n: usize) {
    let mut by_age: Vec<(i64, String)> = map
        .iter()
        .map(|(k, e)| (e.info.last_seen_ms, k.clone()))
        .collect();
    by_age.sort_unstable();
    for (_, k) in by_age.into_iter().take(n) {
        map.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observe(r: &Registry, topic: &str, payload: &str, now: i64) {
        let f = payload::numeric_fields(payload.as_bytes());
        r.observe(topic, payload.as_bytes(), 1, false, now, &f);
    }

    #[test]
    fn seed_topics_make_devices_grouped_by_room() {
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

        let rooms = r.rooms();
        let names: Vec<&str> = rooms.iter().map(|r| r.room.as_str()).collect();
        assert_eq!(names, vec!["hall", "kitchen", "livingroom"]);
        let hall = &rooms[0].devices;
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
        assert!(r.seen("home/hall/ceiling/set"));
        assert_eq!(hall[3].temperature, Some(3.0));
        assert_eq!(hall[3].temperature_field.as_deref(), Some("temp"));
        assert_eq!(rooms[2].devices[1].temperature_field.as_deref(), Some(""));
        assert_eq!(hall[0].temperature_field, None);
        assert_eq!(rooms[1].devices[0].temperature, Some(19.0));
        assert_eq!(rooms[2].devices[0].kind, DeviceKind::Light);
        assert_eq!(rooms[2].devices[1].temperature, Some(21.5));
        // Every topic, device or not, is in the raw list.
        assert_eq!(r.topics().len(), 10);
    }

    #[test]
    fn topic_stats_and_truncation() {
        let r = Registry::new(RegistryLimits {
            max_topics: 10,
            max_payload_bytes: 4,
        });
        r.observe("a", b"hello world", 2, true, 10, &[]);
        r.observe("a", b"hi", 0, false, 20, &[]);
        let t = r.topic("a").unwrap();
        assert_eq!(t.first_seen_ms, 10);
        assert_eq!(t.last_seen_ms, 20);
        assert_eq!(t.messages, 2);
        assert_eq!((t.qos, t.retained, t.truncated), (0, false, false));
        r.observe("a", b"hello world", 2, true, 30, &[]);
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
            r.observe(&format!("t/{i}"), b"1", 0, false, i, &[]);
        }
        assert!(r.topic_count() <= 1000);
        // The most recent survive.
        assert!(r.topic("t/19999").is_some());
        assert!(r.topic("t/0").is_none());
    }
}
