//! How a history answer is computed (`Plan`: source, bucket width, bounds) and the batch that
//! answers many series at once, as the Devices page's sparklines need: a few statements for any
//! number of series instead of one query (and one trip to sqlx's worker) each.

use std::collections::HashMap;

// Only placeholders are formatted into the SQL; every value is bound.
use sqlx::{AssertSqlSafe, Row};

use super::readings::retention_cutoff_ms;
use super::{History, Resolution, Result, Store, StoreError};

/// One series of a batch answer.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchHistory {
    /// Where its buckets start: the batch's `from`, or its first reading when fitted.
    pub from: i64,
    pub unit: Option<String>,
    pub history: History,
}

/// How one history answer is computed: from which source, in buckets of which width, over
/// which bounds in that source's own time unit (milliseconds for raw rows, seconds for rollups).
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    pub(super) resolution: Resolution,
    pub(super) width: i64,
    pub(super) lo: i64,
    pub(super) hi: i64,
}

impl Plan {
    /// The coarsest of hour rollups, minute rollups and raw readings (while still kept) that
    /// yields at least half the points asked for: reading fewer, pre-aggregated rows is what
    /// keeps a month or a year as fast as a day.
    pub(super) fn new(
        from: i64,
        to: i64,
        max_points: usize,
        raw_kept_since_ms: Option<i64>,
    ) -> Result<Plan> {
        if to <= from {
            return Err(StoreError::BadRange(format!(
                "'to' ({to}) must be after 'from' ({from})"
            )));
        }
        if !(2..=100_000).contains(&max_points) {
            return Err(StoreError::BadRange(format!(
                "max points must be between 2 and 100000, got {max_points}"
            )));
        }
        let span = to - from;
        let enough = |unit: i64| span / unit >= max_points as i64 / 2;
        let raw_available = raw_kept_since_ms.is_none_or(|since| since <= from * 1000);
        let (resolution, unit) = if enough(3600) {
            (Resolution::Hour, 3600)
        } else if enough(60) || !raw_available {
            (Resolution::Minute, 60)
        } else {
            (Resolution::Raw, 1)
        };
        // One bucket fewer than allowed, because aligning to multiples of the width can add
        // a partial bucket at the start.
        let width = round_up(
            (span + max_points as i64 - 2) / (max_points as i64 - 1),
            unit,
        );
        let (lo, hi) = match resolution {
            Resolution::Raw => (from * 1000, to * 1000),
            _ => (from - from.rem_euclid(unit), to),
        };
        Ok(Plan {
            resolution,
            width,
            lo,
            hi,
        })
    }
}

impl Resolution {
    /// One series' buckets: binds width, series id, and the plan's bounds.
    pub(super) fn sql(self) -> &'static str {
        match self {
            Resolution::Raw => {
                "SELECT (ts / 1000) / ?1 AS b, MIN(value), AVG(value), MAX(value) \
                 FROM readings WHERE series_id = ?2 AND ts >= ?3 AND ts < ?4 \
                 GROUP BY b ORDER BY b"
            }
            Resolution::Minute => {
                "SELECT bucket / ?1 AS b, MIN(min), SUM(sum) / SUM(count), MAX(max) \
                 FROM rollup_minute WHERE series_id = ?2 AND bucket >= ?3 AND bucket < ?4 \
                 GROUP BY b ORDER BY b"
            }
            Resolution::Hour => {
                "SELECT bucket / ?1 AS b, MIN(min), SUM(sum) / SUM(count), MAX(max) \
                 FROM rollup_hour WHERE series_id = ?2 AND bucket >= ?3 AND bucket < ?4 \
                 GROUP BY b ORDER BY b"
            }
        }
    }
}

type Bucket = (i64, Option<f64>, Option<f64>, Option<f64>);
/// A series of a batch that was recorded: its id, unit, plan and where its buckets start.
type Found = (i64, Option<String>, Plan, i64);

/// Buckets (index, min, avg, max) in ascending order as a `History`, with `None` in the
/// buckets between two that have readings.
pub(super) fn assemble(plan: &Plan, rows: impl Iterator<Item = Bucket>) -> History {
    let width = plan.width;
    let mut h = History {
        bucket_secs: width,
        resolution: plan.resolution,
        ts: Vec::new(),
        min: Vec::new(),
        avg: Vec::new(),
        max: Vec::new(),
    };
    let mut prev: Option<i64> = None;
    for (b, min, avg, max) in rows {
        if let Some(p) = prev {
            for gap in p + 1..b {
                h.ts.push(gap * width);
                h.min.push(None);
                h.avg.push(None);
                h.max.push(None);
            }
        }
        prev = Some(b);
        h.ts.push(b * width);
        h.min.push(min);
        h.avg.push(avg);
        h.max.push(max);
    }
    h
}

fn round_up(v: i64, unit: i64) -> i64 {
    ((v + unit - 1) / unit).max(1) * unit
}

impl Store {
    /// Histories of many series (topic, field) over `[from, to)` (Unix seconds), each in at
    /// most `max_points` buckets, in the order asked; `None` for a series never recorded.
    /// With `fit`, each series starts at its first raw reading in the range, so a sensor that
    /// began recording an hour ago fills its buckets with that hour instead of one dot in a day.
    /// At most four statements whatever the count: one finds the series, their units and first
    /// readings, then one per source (raw, minute or hour rollups) reads every series it serves.
    pub async fn histories(
        &self,
        series: &[(String, String)],
        from: i64,
        to: i64,
        max_points: usize,
        retention_days: u32,
        fit: bool,
    ) -> Result<Vec<Option<BatchHistory>>> {
        let kept_since = Some(retention_cutoff_ms(retention_days));
        // Checked before any query, so a bad range is refused even for unknown series.
        Plan::new(from, to, max_points, kept_since)?;
        if series.is_empty() {
            return Ok(Vec::new());
        }
        let values = placeholders(series.len(), 3, 2);
        let first = if fit {
            "(SELECT MIN(r.ts) FROM readings r WHERE r.series_id = s.id AND r.ts >= ?1 AND r.ts < ?2)"
        } else {
            "NULL"
        };
        let sql = format!(
            "WITH q(i, topic, field) AS (VALUES {values}) \
             SELECT q.i, s.id, u.unit, {first} FROM q \
             LEFT JOIN series s ON s.topic = q.topic AND s.field = q.field \
             LEFT JOIN series_units u ON u.topic = q.topic AND u.field = q.field"
        );
        // One statement per batch size: not kept prepared (see `insert_readings`).
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .persistent(false)
            .bind(from * 1000)
            .bind(to * 1000);
        for (i, (topic, field)) in series.iter().enumerate() {
            query = query.bind(i as i64).bind(topic).bind(field);
        }
        let mut found: Vec<Option<Found>> = vec![None; series.len()];
        for row in query.fetch_all(&self.pool).await? {
            let i: i64 = row.get(0);
            let Some(id) = row.get::<Option<i64>, _>(1) else {
                continue;
            };
            let first_ms: Option<i64> = row.get(3);
            let start = first_ms.map_or(from, |ms| from.max(ms.div_euclid(1000)));
            let plan = Plan::new(start, to, max_points, kept_since)?;
            found[i as usize] = Some((id, row.get(2), plan, start));
        }
        let mut buckets: HashMap<usize, Vec<Bucket>> = HashMap::new();
        for resolution in [Resolution::Raw, Resolution::Minute, Resolution::Hour] {
            let these: Vec<(usize, i64, Plan)> = found
                .iter()
                .enumerate()
                .filter_map(|(i, f)| f.as_ref().map(|(id, _, p, _)| (i, *id, *p)))
                .filter(|(_, _, p)| p.resolution == resolution)
                .collect();
            if these.is_empty() {
                continue;
            }
            let sql = format!(
                "WITH q(i, id, w, lo, hi) AS (VALUES {}) {}",
                placeholders(these.len(), 5, 0),
                resolution.batch_sql()
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).persistent(false);
            for (i, id, p) in &these {
                query = query
                    .bind(*i as i64)
                    .bind(*id)
                    .bind(p.width)
                    .bind(p.lo)
                    .bind(p.hi);
            }
            for row in query.fetch_all(&self.pool).await? {
                let i: i64 = row.get(0);
                buckets.entry(i as usize).or_default().push((
                    row.get(1),
                    row.get(2),
                    row.get(3),
                    row.get(4),
                ));
            }
        }
        Ok(found
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                f.map(|(_, unit, plan, start)| BatchHistory {
                    from: start,
                    unit,
                    history: assemble(&plan, buckets.remove(&i).unwrap_or_default().into_iter()),
                })
            })
            .collect())
    }
}

impl Resolution {
    /// Every series of a batch that this source serves, given `q(i, id, w, lo, hi)`.
    fn batch_sql(self) -> &'static str {
        match self {
            Resolution::Raw => {
                "SELECT q.i, (r.ts / 1000) / q.w AS b, MIN(r.value), AVG(r.value), MAX(r.value) \
                 FROM q JOIN readings r ON r.series_id = q.id AND r.ts >= q.lo AND r.ts < q.hi \
                 GROUP BY q.i, b ORDER BY q.i, b"
            }
            Resolution::Minute => {
                "SELECT q.i, r.bucket / q.w AS b, MIN(r.min), SUM(r.sum) / SUM(r.count), MAX(r.max) \
                 FROM q JOIN rollup_minute r ON r.series_id = q.id AND r.bucket >= q.lo AND r.bucket < q.hi \
                 GROUP BY q.i, b ORDER BY q.i, b"
            }
            Resolution::Hour => {
                "SELECT q.i, r.bucket / q.w AS b, MIN(r.min), SUM(r.sum) / SUM(r.count), MAX(r.max) \
                 FROM q JOIN rollup_hour r ON r.series_id = q.id AND r.bucket >= q.lo AND r.bucket < q.hi \
                 GROUP BY q.i, b ORDER BY q.i, b"
            }
        }
    }
}

/// `(?a, ?b, …), (…)`: `rows` tuples of `width` numbered parameters after the first `skip`.
fn placeholders(rows: usize, width: usize, skip: usize) -> String {
    (0..rows)
        .map(|r| {
            let cols: Vec<String> = (0..width)
                .map(|c| format!("?{}", skip + r * width + c + 1))
                .collect();
            format!("({})", cols.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
