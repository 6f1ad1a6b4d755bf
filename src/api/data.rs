//! Topics and recorded history.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Api, ApiError, MAX_POINTS};
use crate::devices::TopicInfo;
use crate::store::History;

/// A node of the topic tree: one level of a topic, with the topic's details when a
/// message was published at exactly this level.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicNode {
    /// This level's name.
    pub name: String,
    /// The full topic up to this level.
    pub path: String,
    /// Messages on this topic and every topic below it.
    pub messages: u64,
    pub info: Option<TopicInfo>,
    #[schema(no_recursion)]
    pub children: Vec<TopicNode>,
}

/// A history answer with what it is the history of.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesHistory {
    pub topic: String,
    pub field: String,
    /// Unix seconds, inclusive.
    pub from: i64,
    /// Unix seconds, exclusive.
    pub to: i64,
    /// The unit the values are in (`°C`, `°F`, `%`, `W`), when the device said.
    pub unit: Option<String>,
    pub history: History,
}

/// Many series' histories in one request (the Devices page's sparklines).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryBatch {
    /// Start, Unix seconds, inclusive [default: 24 hours before `to`].
    pub from: Option<i64>,
    /// End, Unix seconds, exclusive [default: now].
    pub to: Option<i64>,
    /// At most this many buckets per series (2–1000) [default: 48].
    pub points: Option<usize>,
    /// Each series starts at its first reading in the range, so a sensor recording for an
    /// hour fills its buckets with that hour rather than one dot in a day [default: false].
    #[serde(default)]
    pub fit: bool,
    /// The series, at most 500.
    pub series: Vec<SeriesKey>,
}

/// One series: a topic and the JSON field ("" for a plain number).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesKey {
    pub topic: String,
    #[serde(default)]
    pub field: String,
}

/// The most series one batch may ask for.
pub const MAX_BATCH_SERIES: usize = 500;
/// The most buckets per series a batch may ask for.
pub const MAX_BATCH_POINTS: usize = 1000;

impl Api {
    /// Every topic seen, flat and sorted.
    pub fn topics(&self) -> Vec<TopicInfo> {
        self.parts().registry.topics()
    }

    /// Every topic seen, as a tree of levels.
    pub fn topic_tree(&self) -> Vec<TopicNode> {
        build_tree(self.parts().registry.topics())
    }

    /// History of one series over `[from, to)` Unix seconds in at most `points` buckets.
    pub async fn history(
        &self,
        topic: &str,
        field: &str,
        from: i64,
        to: i64,
        points: usize,
    ) -> Result<SeriesHistory, ApiError> {
        if points == 0 || points > MAX_POINTS {
            return Err(ApiError::bad_request(
                "bad_range",
                format!("points must be between 1 and {MAX_POINTS}"),
            ));
        }
        check_times(from, to)?;
        let p = self.parts();
        let h = p
            .store
            .history_of(topic, field, from, to, points, p.retention_days)
            .await?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no readings recorded for topic '{topic}' field '{field}'"
                ))
            })?;
        Ok(SeriesHistory {
            topic: topic.to_string(),
            field: field.to_string(),
            from,
            to,
            unit: p.store.unit(topic, field).await?,
            history: h,
        })
    }
}

/// The last second of the year 9999: the store works in milliseconds, and a time past this
/// (or before 1970) is a mistake, not a range to compute with.
const LATEST_SECS: i64 = 253_402_300_799;

fn check_times(from: i64, to: i64) -> Result<(), ApiError> {
    if (0..=LATEST_SECS).contains(&from) && (0..=LATEST_SECS).contains(&to) {
        return Ok(());
    }
    Err(ApiError::bad_request(
        "bad_range",
        format!(
            "from and to are Unix seconds from 0 (1970) to {LATEST_SECS} (9999), not {from} and {to}"
        ),
    ))
}

impl Api {
    /// Histories of many series in the order asked: `None` for a series never recorded.
    pub async fn history_batch(
        &self,
        b: HistoryBatch,
    ) -> Result<Vec<Option<SeriesHistory>>, ApiError> {
        if b.series.is_empty() || b.series.len() > MAX_BATCH_SERIES {
            return Err(ApiError::bad_request(
                "bad_batch",
                format!(
                    "a batch asks for 1 to {MAX_BATCH_SERIES} series, not {}; split it",
                    b.series.len()
                ),
            ));
        }
        let points = b.points.unwrap_or(48);
        if !(2..=MAX_BATCH_POINTS).contains(&points) {
            return Err(ApiError::bad_request(
                "bad_range",
                format!("points must be between 2 and {MAX_BATCH_POINTS} in a batch"),
            ));
        }
        let to = b.to.unwrap_or_else(|| crate::now_ms() / 1000 + 1);
        let from = b.from.unwrap_or(to.saturating_sub(86_400));
        check_times(from, to)?;
        let keys: Vec<(String, String)> =
            b.series.into_iter().map(|k| (k.topic, k.field)).collect();
        let p = self.parts();
        let answers = p
            .store
            .histories(&keys, from, to, points, p.retention_days, b.fit)
            .await?;
        Ok(keys
            .into_iter()
            .zip(answers)
            .map(|((topic, field), a)| {
                a.map(|a| SeriesHistory {
                    topic,
                    field,
                    from: a.from,
                    to,
                    unit: a.unit,
                    history: a.history,
                })
            })
            .collect())
    }
}

fn build_tree(topics: Vec<TopicInfo>) -> Vec<TopicNode> {
    #[derive(Default)]
    struct N {
        info: Option<TopicInfo>,
        children: BTreeMap<String, N>,
    }
    let mut root = N::default();
    for t in topics {
        let mut n = &mut root;
        for level in t.topic.split('/') {
            n = n.children.entry(level.to_string()).or_default();
        }
        n.info = Some(t);
    }
    fn convert(map: BTreeMap<String, N>, prefix: Option<&str>) -> Vec<TopicNode> {
        map.into_iter()
            .map(|(name, n)| {
                let path = match prefix {
                    Some(p) => format!("{p}/{name}"),
                    None => name.clone(),
                };
                let children = convert(n.children, Some(&path));
                let messages = n.info.as_ref().map_or(0, |i| i.messages)
                    + children.iter().map(|c| c.messages).sum::<u64>();
                TopicNode {
                    name,
                    path,
                    messages,
                    info: n.info,
                    children,
                }
            })
            .collect()
    }
    convert(root.children, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(topic: &str, messages: u64) -> TopicInfo {
        TopicInfo {
            topic: topic.into(),
            first_seen_ms: 0,
            last_seen_ms: 0,
            messages,
            qos: 0,
            retained: false,
            last_payload: String::new(),
            payload_bytes: 0,
            truncated: false,
            fields: Vec::new(),
            device: None,
        }
    }

    #[test]
    fn tree_of_levels_with_counts() {
        let tree = build_tree(vec![
            info("home/hall/light", 2),
            info("home/hall/light/set", 1),
            info("home/kitchen/temperature", 5),
            info("/leading", 1),
        ]);
        assert_eq!(tree.len(), 2);
        assert_eq!((tree[0].name.as_str(), tree[0].path.as_str()), ("", ""));
        assert_eq!(tree[0].children[0].path, "/leading");
        let home = &tree[1];
        assert_eq!((home.path.as_str(), home.messages), ("home", 8));
        let light = &home.children[0].children[0];
        assert_eq!(light.path, "home/hall/light");
        assert_eq!(light.messages, 3);
        assert_eq!(light.info.as_ref().unwrap().messages, 2);
        assert_eq!(light.children[0].path, "home/hall/light/set");
    }
}
