//! Topics and recorded history.

use std::collections::BTreeMap;

use serde::Serialize;
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
