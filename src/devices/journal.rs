//! What the Topics page shows beyond a topic's last message: the messages before it (a ring
//! per topic, all rings within one byte budget), the retained message the broker holds for
//! a topic, and which topics changed since the live events last said.
//!
//! Memory: a ring keeps at most [`HISTORY_DEPTH`] messages of at most
//! [`HISTORY_PAYLOAD_BYTES`] each, and every kept message is counted at its cut payload plus
//! [`MESSAGE_OVERHEAD`], and every ring at the slots it has room for; when the count passes
//! [`HISTORY_BUDGET`] (16 MiB), rings are trimmed in turn, oldest message first, down to
//! their newest one, and a ring trimmed to a quarter of its room gives the rest back. One
//! message per topic for 20,000 topics is about 7 MB, so the budget always holds. The retained index keeps at
//! most [`MAX_RETAINED`] entries of about 300 bytes (a 128-byte preview).

use std::collections::{HashMap, HashSet, VecDeque};

use serde::Serialize;
use utoipa::ToSchema;

use super::model::TopicInfo;
use super::registry::{Map, Registry};

/// Messages kept per topic.
pub const HISTORY_DEPTH: usize = 20;
/// Bytes of each kept message's payload.
pub const HISTORY_PAYLOAD_BYTES: usize = 256;
/// What a kept message's payload costs besides its bytes (the allocation's own bookkeeping,
/// rounded up); the ring's slot for it is counted apart, as the ring's room.
pub const MESSAGE_OVERHEAD: usize = 64;
/// Bytes all topics' kept messages may take together.
pub const HISTORY_BUDGET: usize = 16 << 20;
/// Retained messages indexed; the broker's own limit is the real one.
pub const MAX_RETAINED: usize = 100_000;
/// Bytes of a retained message's payload shown in the retained view.
const PREVIEW_BYTES: usize = 128;
/// Topics remembered as changed before the next event just says "reload".
const MAX_CHANGED: usize = 2_000;

/// One message of a topic, as the hub received it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicMessage {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub qos: u8,
    /// The broker kept this message as the topic's retained one.
    pub retained: bool,
    /// Delivered from the broker's store when the hub subscribed, not published then.
    pub replay: bool,
    /// The payload, cut (lossy UTF-8).
    pub payload: String,
    /// Size of the payload before any cut.
    pub payload_bytes: usize,
}

/// A retained message the broker holds.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetainedInfo {
    pub topic: String,
    pub payload_bytes: usize,
    pub qos: u8,
    /// When it was published (Unix milliseconds), as far as the hub knows: the broker's
    /// own time for the embedded broker, else when the hub first heard it.
    pub since_ms: i64,
    /// The payload's start (lossy UTF-8).
    pub preview: String,
}

impl RetainedInfo {
    /// A retained message as the index keeps it: its payload's start, cut between characters.
    pub fn new(topic: String, payload: &[u8], qos: u8, since_ms: i64) -> RetainedInfo {
        RetainedInfo {
            topic,
            qos,
            payload_bytes: payload.len(),
            since_ms,
            preview: cut_utf8(payload, PREVIEW_BYTES),
        }
    }
}

struct Kept {
    at_ms: i64,
    qos: u8,
    retained: bool,
    replay: bool,
    payload: Box<str>,
    payload_bytes: usize,
}

impl Kept {
    fn cost(&self) -> usize {
        self.payload.len() + MESSAGE_OVERHEAD
    }
}

/// The rings, one per topic slot, within one budget.
pub(super) struct Histories {
    rings: Vec<VecDeque<Kept>>,
    free: Vec<usize>,
    bytes: usize,
    cursor: usize,
    budget: usize,
}

impl Histories {
    pub(super) fn new(budget: usize) -> Histories {
        Histories {
            rings: Vec::new(),
            free: Vec::new(),
            bytes: 0,
            cursor: 0,
            budget,
        }
    }

    /// A slot for a new topic.
    pub(super) fn slot(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.rings.push(VecDeque::new());
            self.rings.len() - 1
        })
    }

    /// Frees a forgotten topic's slot.
    pub(super) fn release(&mut self, slot: usize) {
        let ring = &mut self.rings[slot];
        let room = room(ring);
        let freed: usize = ring.drain(..).map(|k| k.cost()).sum();
        ring.shrink_to_fit();
        self.bytes -= freed + room - self::room(ring);
        self.free.push(slot);
    }

    pub(super) fn push(
        &mut self,
        slot: usize,
        at_ms: i64,
        qos: u8,
        (retained, replay): (bool, bool),
        payload: &[u8],
    ) {
        let cut = cut_utf8(payload, HISTORY_PAYLOAD_BYTES);
        let k = Kept {
            at_ms,
            qos,
            retained,
            replay,
            payload: cut.into(),
            payload_bytes: payload.len(),
        };
        let ring = &mut self.rings[slot];
        let before = room(ring);
        // Room for the full depth at once, and the oldest out before the newest comes in, so
        // a full ring holds exactly its depth rather than the next power of two.
        if ring.len() >= HISTORY_DEPTH
            && let Some(old) = ring.pop_front()
        {
            self.bytes -= old.cost();
        }
        if ring.len() + 1 > ring.capacity() {
            ring.reserve_exact((ring.len() * 2).clamp(4, HISTORY_DEPTH) - ring.len());
        }
        self.bytes += k.cost();
        ring.push_back(k);
        self.bytes = self.bytes + room(ring) - before;
        self.trim();
    }

    /// Takes the oldest message of ring after ring until the budget holds again; every
    /// ring keeps its newest message.
    fn trim(&mut self) {
        let mut idle = 0;
        while self.bytes > self.budget && idle < self.rings.len() {
            self.cursor = (self.cursor + 1) % self.rings.len();
            let ring = &mut self.rings[self.cursor];
            if ring.len() > 1
                && let Some(old) = ring.pop_front()
            {
                self.bytes -= old.cost();
                if ring.len() * 4 <= ring.capacity() {
                    let before = room(ring);
                    ring.shrink_to(ring.len());
                    self.bytes -= before - room(ring);
                }
                idle = 0;
            } else {
                idle += 1;
            }
        }
    }

    /// A topic's messages, oldest first.
    pub(super) fn messages(&self, slot: usize) -> Vec<TopicMessage> {
        self.rings[slot]
            .iter()
            .map(|k| TopicMessage {
                at_ms: k.at_ms,
                qos: k.qos,
                retained: k.retained,
                replay: k.replay,
                payload: k.payload.to_string(),
                payload_bytes: k.payload_bytes,
            })
            .collect()
    }

    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// What a ring's slots take, used or not.
fn room(ring: &VecDeque<Kept>) -> usize {
    ring.capacity() * std::mem::size_of::<Kept>()
}

/// The start of `b` up to `max` bytes, as text (lossy), never cutting a character in two.
fn cut_utf8(b: &[u8], max: usize) -> String {
    let mut end = b.len().min(max);
    if let Err(e) = std::str::from_utf8(&b[..end])
        && e.error_len().is_none()
    {
        end = e.valid_up_to();
    }
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// The retained messages the broker holds, by topic.
#[derive(Default)]
pub(super) struct RetainedIndex {
    held: HashMap<String, RetainedInfo>,
}

impl RetainedIndex {
    /// A retained message on `topic` (a replay, or published to be kept); an empty one
    /// clears. Says whether the topic holds one now.
    pub(super) fn note(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: u8,
        replay: bool,
        now_ms: i64,
    ) -> bool {
        if payload.is_empty() {
            self.held.remove(topic);
            return false;
        }
        // A replay of what is already known keeps its time: the broker kept it since then.
        if let Some(h) = self.held.get_mut(topic) {
            if !(replay && h.payload_bytes == payload.len()) {
                h.since_ms = now_ms;
            }
            h.payload_bytes = payload.len();
            h.qos = qos;
            h.preview = cut_utf8(payload, PREVIEW_BYTES);
            return true;
        }
        if self.held.len() >= MAX_RETAINED {
            return false;
        }
        self.held.insert(
            topic.to_string(),
            RetainedInfo {
                topic: topic.to_string(),
                payload_bytes: payload.len(),
                qos,
                since_ms: now_ms,
                preview: cut_utf8(payload, PREVIEW_BYTES),
            },
        );
        true
    }

    /// What the broker said it holds (its own times).
    pub(super) fn seed(&mut self, all: Vec<RetainedInfo>) {
        for r in all.into_iter().take(MAX_RETAINED) {
            self.held.insert(r.topic.clone(), r);
        }
    }

    pub(super) fn holds(&self, topic: &str) -> bool {
        self.held.contains_key(topic)
    }

    pub(super) fn all(&self) -> Vec<RetainedInfo> {
        self.held.values().cloned().collect()
    }
}

/// Topics changed since the last look, kept only while someone watches.
#[derive(Default)]
pub(super) struct Changes {
    pub(super) watching: bool,
    topics: HashSet<String>,
    overflow: bool,
}

impl Changes {
    pub(super) fn touch(&mut self, topic: &str) {
        if !self.watching || self.overflow || self.topics.contains(topic) {
            return;
        }
        if self.topics.len() >= MAX_CHANGED {
            self.overflow = true;
            self.topics.clear();
        } else {
            self.topics.insert(topic.to_string());
        }
    }

    /// The changed topics, or `None` when too many changed to say which.
    pub(super) fn take(&mut self) -> Option<Vec<String>> {
        if std::mem::take(&mut self.overflow) {
            return None;
        }
        Some(self.topics.drain().collect())
    }
}

/// The Topics page's questions of the registry, under its one lock.
impl Registry {
    /// A topic's last messages, oldest first; `None` for a topic not known.
    pub fn messages(&self, topic: &str) -> Option<Vec<TopicMessage>> {
        let map = self.lock();
        map.topics
            .get(topic)
            .map(|e| map.histories.messages(e.slot))
    }

    /// Every retained message the broker holds, as far as the hub knows.
    pub fn retained(&self) -> Vec<RetainedInfo> {
        self.lock().retained.all()
    }

    /// Takes what the broker says it holds, with its own times (before the replays come).
    pub fn seed_retained(&self, all: Vec<RetainedInfo>) {
        let mut map = self.lock();
        map.retained.seed(all);
        let Map {
            topics, retained, ..
        } = &mut *map;
        for e in topics.values_mut() {
            e.info.retained = retained.holds(&e.info.topic);
        }
    }

    /// Starts or stops noting which topics change (only worth it while someone listens).
    pub fn watch_changes(&self, on: bool) {
        self.lock().changes.watching = on;
    }

    /// The topics changed since the last call, or `None` when too many changed to say.
    pub fn take_changes(&self) -> Option<Vec<TopicInfo>> {
        let mut map = self.lock();
        let changed = map.changes.take()?;
        Some(
            changed
                .iter()
                .filter_map(|t| map.topics.get(t).map(|e| e.info.clone()))
                .collect(),
        )
    }
}

/// Forgets the `n` least recently seen topics, and devices left with no topic.
pub(super) fn evict_oldest(map: &mut Map, n: usize) {
    let mut by_age: Vec<(i64, String)> = map
        .topics
        .iter()
        .map(|(k, e)| (e.info.last_seen_ms, k.clone()))
        .collect();
    by_age.sort_unstable();
    for (_, k) in by_age.into_iter().take(n) {
        let Some(e) = map.topics.remove(&k) else {
            continue;
        };
        map.histories.release(e.slot);
        if let Some(id) = e.info.device
            && let Some(d) = map.devices.get_mut(&id)
        {
            d.topics.retain(|t| *t != k);
            if d.topics.is_empty() {
                map.devices.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_keep_the_last_messages_within_the_budget() {
        let slot = std::mem::size_of::<Kept>();
        let budget = 10 * (100 + MESSAGE_OVERHEAD) + HISTORY_DEPTH * slot;
        let mut h = Histories::new(budget);
        let a = h.slot();
        for i in 0..30u8 {
            h.push(a, i as i64, 0, (false, false), &[b'x'; 100]);
        }
        // The budget allows ten of these and a full ring's room.
        let m = h.messages(a);
        assert_eq!(m.len(), 10);
        assert_eq!(m.last().unwrap().at_ms, 29);
        let b = h.slot();
        for i in 0..5 {
            h.push(b, i, 1, (true, false), &[b'y'; 100]);
        }
        assert!(h.bytes() <= budget);
        assert_eq!(h.messages(b).last().unwrap().at_ms, 4);
        h.release(a);
        let ring_b = &h.rings[b];
        assert_eq!(
            h.bytes(),
            ring_b.len() * (100 + MESSAGE_OVERHEAD) + ring_b.capacity() * slot
        );
        assert_eq!(
            h.rings[a].capacity(),
            0,
            "a forgotten topic's ring gives its room back"
        );
    }

    #[test]
    fn depth_and_cut() {
        let mut h = Histories::new(HISTORY_BUDGET);
        let a = h.slot();
        for i in 0..25 {
            h.push(a, i, 2, (false, false), "é".repeat(200).as_bytes());
        }
        let m = h.messages(a);
        assert_eq!(m.len(), HISTORY_DEPTH);
        assert_eq!(
            h.rings[a].capacity(),
            HISTORY_DEPTH,
            "a full ring has no spare room"
        );
        assert_eq!(m[0].at_ms, 5);
        // 128 two-byte characters fit in 256 bytes, and none is cut in two.
        assert_eq!(m[0].payload.chars().count(), 128);
        assert_eq!(m[0].payload_bytes, 400);
    }

    #[test]
    fn retained_index_follows_sets_and_clears() {
        let mut r = RetainedIndex::default();
        assert!(r.note("a", b"on", 1, true, 10));
        assert!(r.note("a", b"on", 1, true, 20));
        assert_eq!(
            r.all()[0].since_ms,
            10,
            "a replay of the same message keeps its time"
        );
        assert!(r.note("a", b"off", 1, false, 30));
        assert_eq!(r.all()[0].since_ms, 30);
        assert!(!r.note("a", b"", 0, false, 40));
        assert!(!r.holds("a"));
    }

    #[test]
    fn changes_only_while_watched_and_bounded() {
        let mut c = Changes::default();
        c.touch("a");
        assert_eq!(c.take(), Some(vec![]));
        c.watching = true;
        c.touch("a");
        c.touch("a");
        assert_eq!(c.take(), Some(vec!["a".to_string()]));
        for i in 0..=MAX_CHANGED {
            c.touch(&i.to_string());
        }
        assert_eq!(c.take(), None);
        assert_eq!(c.take(), Some(vec![]));
    }
}
