//! Readings: series, multi-row inserts with their minute and hour rollups, history queries
//! over the coarsest source that answers them, and retention.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::history::{Plan, assemble};
use super::{Result, Store};

/// One numeric reading of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub series_id: i64,
    /// Unix milliseconds.
    pub ts_ms: i64,
    pub value: f64,
}

/// A series as listed to callers.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeriesInfo {
    pub id: i64,
    pub topic: String,
    pub field: String,
}

/// Where a history answer was computed from.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Resolution {
    Raw,
    Minute,
    Hour,
}

/// A history answer in the columnar shape uPlot takes: `ts` ascending in Unix seconds (the
/// start of each bucket) and one entry per bucket in `min`, `avg` and `max`; `None` marks a
/// bucket with no readings between two that have some (a gap the chart should not bridge).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub bucket_secs: i64,
    pub resolution: Resolution,
    pub ts: Vec<i64>,
    pub min: Vec<Option<f64>>,
    pub avg: Vec<Option<f64>>,
    pub max: Vec<Option<f64>>,
}

/// Rows per multi-row INSERT: 3 bound values a row keeps this well under SQLite's limit of
/// 32,766 variables, and large statements are what make batched inserts fast (one statement
/// per row crosses to sqlx's worker thread each time).
const INSERT_CHUNK: usize = 1000;

#[derive(Default, Clone, Copy)]
struct Agg {
    count: i64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Agg {
    fn add(&mut self, v: f64) {
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count += 1;
        self.sum += v;
    }
}

impl Store {
    /// Returns the id of the series (topic, field), creating it if new.
    pub async fn series_id(&self, topic: &str, field: &str) -> Result<i64> {
        sqlx::query("INSERT INTO series (topic, field) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(topic)
            .bind(field)
            .execute(&self.pool)
            .await?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM series WHERE topic = ? AND field = ?")
            .bind(topic)
            .bind(field)
            .fetch_one(&self.pool)
            .await?;
        Ok(id)
    }

    /// Looks a series up without creating it.
    pub async fn find_series(&self, topic: &str, field: &str) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM series WHERE topic = ? AND field = ?")
                .bind(topic)
                .bind(field)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Every series, ordered by topic then field.
    pub async fn list_series(&self) -> Result<Vec<SeriesInfo>> {
        let rows = sqlx::query("SELECT id, topic, field FROM series ORDER BY topic, field")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| SeriesInfo {
                id: r.get(0),
                topic: r.get(1),
                field: r.get(2),
            })
            .collect())
    }

    /// Writes a batch of readings and folds them into the minute and hour rollups, all in one
    /// transaction: either the whole batch is stored or none of it is.
    pub async fn insert_readings(&self, readings: &[Reading]) -> Result<()> {
        if readings.is_empty() {
            return Ok(());
        }
        let mut minutes: HashMap<(i64, i64), Agg> = HashMap::new();
        let mut hours: HashMap<(i64, i64), Agg> = HashMap::new();
        for r in readings {
            let secs = r.ts_ms.div_euclid(1000);
            minutes
                .entry((r.series_id, secs - secs.rem_euclid(60)))
                .or_default()
                .add(r.value);
            hours
                .entry((r.series_id, secs - secs.rem_euclid(3600)))
                .or_default()
                .add(r.value);
        }

        let mut tx = self.pool.begin().await?;
        for chunk in readings.chunks(INSERT_CHUNK) {
            let mut qb: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO readings (series_id, ts, value) ");
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(r.series_id)
                    .push_bind(r.ts_ms)
                    .push_bind(r.value);
            });
            // Only the full chunk's statement is kept prepared: every other length is its own
            // statement, and caching each (sqlx keeps 100 per connection) grew the hub by tens
            // of MB over ten minutes of readings.
            qb.build()
                .persistent(chunk.len() == INSERT_CHUNK)
                .execute(&mut *tx)
                .await?;
        }
        for (table, aggs) in [("rollup_minute", &minutes), ("rollup_hour", &hours)] {
            let rows: Vec<_> = aggs.iter().collect();
            for chunk in rows.chunks(INSERT_CHUNK / 2) {
                let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
                    "INSERT INTO {table} (series_id, bucket, count, sum, min, max) "
                ));
                qb.push_values(chunk, |mut b, ((sid, bucket), a)| {
                    b.push_bind(*sid)
                        .push_bind(*bucket)
                        .push_bind(a.count)
                        .push_bind(a.sum)
                        .push_bind(a.min)
                        .push_bind(a.max);
                });
                qb.push(
                    " ON CONFLICT (series_id, bucket) DO UPDATE SET \
                     count = count + excluded.count, sum = sum + excluded.sum, \
                     min = MIN(min, excluded.min), max = MAX(max, excluded.max)",
                );
                qb.build()
                    .persistent(chunk.len() == INSERT_CHUNK / 2)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes raw readings older than `cutoff_ms`. Rollups are kept.
    pub async fn purge_readings_before(&self, cutoff_ms: i64) -> Result<u64> {
        let mut total = 0;
        // In slices, so a large purge never holds the write lock for long.
        loop {
            let n = sqlx::query(
                "DELETE FROM readings WHERE rowid IN \
                 (SELECT rowid FROM readings WHERE ts < ? LIMIT 50000)",
            )
            .bind(cutoff_ms)
            .execute(&self.pool)
            .await?
            .rows_affected();
            total += n;
            if n < 50000 {
                return Ok(total);
            }
        }
    }

    /// Number of raw readings stored for a series.
    pub async fn count_readings(&self, series_id: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM readings WHERE series_id = ?")
                .bind(series_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// History of one series over `[from, to)` (Unix seconds) in at most `max_points`
    /// buckets, aligned to multiples of their width. The source is the coarsest of hour
    /// rollups, minute rollups and raw readings (while still kept) that yields at least half
    /// the points asked for, so a year costs about as much as a day.
    pub async fn history(
        &self,
        series_id: i64,
        from: i64,
        to: i64,
        max_points: usize,
        raw_kept_since_ms: Option<i64>,
    ) -> Result<History> {
        let plan = Plan::new(from, to, max_points, raw_kept_since_ms)?;
        let rows = sqlx::query(plan.resolution.sql())
            .bind(plan.width)
            .bind(series_id)
            .bind(plan.lo)
            .bind(plan.hi)
            .fetch_all(&self.pool)
            .await?;
        Ok(assemble(
            &plan,
            rows.iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))),
        ))
    }

    /// History of the series (topic, field), or `None` when nothing was ever recorded for
    /// it. Raw readings older than `retention_days` are taken as gone.
    pub async fn history_of(
        &self,
        topic: &str,
        field: &str,
        from: i64,
        to: i64,
        max_points: usize,
        retention_days: u32,
    ) -> Result<Option<History>> {
        let Some(id) = self.find_series(topic, field).await? else {
            return Ok(None);
        };
        self.history(
            id,
            from,
            to,
            max_points,
            Some(retention_cutoff_ms(retention_days)),
        )
        .await
        .map(Some)
    }
}

/// The Unix ms before which raw readings are past a retention of `days`.
pub fn retention_cutoff_ms(days: u32) -> i64 {
    crate::now_ms() - days as i64 * 86_400_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    async fn store_with(series: &str, points: &[(i64, f64)]) -> (Store, i64) {
        let s = Store::open_in_memory().await.unwrap();
        let id = s.series_id(series, "").await.unwrap();
        let rows: Vec<Reading> = points
            .iter()
            .map(|&(ts_ms, value)| Reading {
                series_id: id,
                ts_ms,
                value,
            })
            .collect();
        s.insert_readings(&rows).await.unwrap();
        (s, id)
    }

    #[tokio::test]
    async fn series_ids_are_stable() {
        let s = Store::open_in_memory().await.unwrap();
        let a = s.series_id("home/a/temperature", "").await.unwrap();
        let b = s.series_id("home/a/temperature", "humidity").await.unwrap();
        assert_ne!(a, b);
        assert_eq!(s.series_id("home/a/temperature", "").await.unwrap(), a);
        assert_eq!(
            s.find_series("home/a/temperature", "humidity")
                .await
                .unwrap(),
            Some(b)
        );
        assert_eq!(s.find_series("nope", "").await.unwrap(), None);
        assert_eq!(s.list_series().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn raw_buckets_have_min_avg_max_and_gaps() {
        // Readings at 0 s, 1 s (bucket 0) and 5 s (bucket 5 with width 1 s... use width 2).
        let (s, id) = store_with("t", &[(0, 1.0), (1_000, 3.0), (2_000, 10.0), (8_000, 4.0)]).await;
        // 10 s in at most 6 points → width 2 s, raw.
        let h = s.history(id, 0, 10, 6, None).await.unwrap();
        assert_eq!(h.resolution, Resolution::Raw);
        assert_eq!(h.bucket_secs, 2);
        assert_eq!(h.ts, vec![0, 2, 4, 6, 8]);
        assert_eq!(h.min, vec![Some(1.0), Some(10.0), None, None, Some(4.0)]);
        assert_eq!(h.avg, vec![Some(2.0), Some(10.0), None, None, Some(4.0)]);
        assert_eq!(h.max, vec![Some(3.0), Some(10.0), None, None, Some(4.0)]);
    }

    #[tokio::test]
    async fn empty_range_is_empty() {
        let (s, id) = store_with("t", &[(0, 1.0)]).await;
        let h = s.history(id, 100, 200, 10, None).await.unwrap();
        assert!(h.ts.is_empty() && h.min.is_empty() && h.avg.is_empty() && h.max.is_empty());
        let h = s
            .history(id, 10_000_000, 100_000_000, 10, None)
            .await
            .unwrap();
        assert!(h.ts.is_empty());
    }

    #[tokio::test]
    async fn bad_ranges_are_refused() {
        let (s, id) = store_with("t", &[(0, 1.0)]).await;
        assert!(matches!(
            s.history(id, 10, 10, 10, None).await,
            Err(StoreError::BadRange(_))
        ));
        assert!(matches!(
            s.history(id, 10, 5, 10, None).await,
            Err(StoreError::BadRange(_))
        ));
        assert!(matches!(
            s.history(id, 0, 10, 1, None).await,
            Err(StoreError::BadRange(_))
        ));
    }

    #[tokio::test]
    async fn rollups_answer_long_ranges_like_raw_would() {
        // Two days of one reading a minute, value = minute index.
        let pts: Vec<(i64, f64)> = (0..2 * 1440).map(|m| (m * 60_000, m as f64)).collect();
        let (s, id) = store_with("t", &pts).await;
        // Two days in 48 points → width 1 h (rounded up), from the hour rollup.
        let h = s.history(id, 0, 2 * 86_400, 49, None).await.unwrap();
        assert_eq!(h.resolution, Resolution::Hour);
        assert_eq!(h.bucket_secs, 3600);
        assert_eq!(h.ts.len(), 48);
        assert_eq!(h.min[1], Some(60.0));
        assert_eq!(h.max[1], Some(119.0));
        assert_eq!(h.avg[1], Some(89.5));
        // Six hours in 100 points → width 4 min from the minute rollup.
        let h = s.history(id, 0, 6 * 3600, 100, None).await.unwrap();
        assert_eq!(h.resolution, Resolution::Minute);
        assert_eq!(h.bucket_secs, 240);
        assert_eq!(h.ts.len(), 90);
        assert_eq!(h.min[0], Some(0.0));
        assert_eq!(h.max[0], Some(3.0));
        assert!(h.ts.len() <= 100);
    }

    #[tokio::test]
    async fn long_ranges_use_the_coarsest_rollup_that_fills_half_the_points() {
        let (s, id) = store_with("t", &[(0, 1.0)]).await;
        let month = 30 * 86_400;
        let h = s.history(id, 0, month, 1000, None).await.unwrap();
        assert_eq!((h.resolution, h.bucket_secs), (Resolution::Hour, 3600));
        let h = s.history(id, 0, 86_400, 1000, None).await.unwrap();
        assert_eq!((h.resolution, h.bucket_secs), (Resolution::Minute, 120));
        let h = s.history(id, 0, 3600, 1000, None).await.unwrap();
        assert_eq!((h.resolution, h.bucket_secs), (Resolution::Raw, 4));
    }

    #[tokio::test]
    async fn rollups_merge_across_batches() {
        let (s, id) = store_with("t", &[(0, 5.0), (10_000, 7.0)]).await;
        s.insert_readings(&[Reading {
            series_id: id,
            ts_ms: 20_000,
            value: 1.0,
        }])
        .await
        .unwrap();
        let h = s.history(id, 0, 3600, 2, None).await.unwrap();
        assert_eq!(h.resolution, Resolution::Hour);
        assert_eq!(h.min, vec![Some(1.0)]);
        assert_eq!(h.max, vec![Some(7.0)]);
        assert_eq!(h.avg, vec![Some(13.0 / 3.0)]);
    }

    #[tokio::test]
    async fn purge_keeps_rollups() {
        let (s, id) = store_with("t", &[(0, 5.0), (120_000, 7.0)]).await;
        assert_eq!(s.purge_readings_before(60_000).await.unwrap(), 1);
        assert_eq!(s.count_readings(id).await.unwrap(), 1);
        // Raw readings before the cutoff are gone, so a fine-grained request falls back to
        // minute rollups that still cover them.
        let h = s.history(id, 0, 180, 60, Some(120_000)).await.unwrap();
        assert_eq!(h.resolution, Resolution::Minute);
        assert_eq!(h.ts, vec![0, 60, 120]);
        assert_eq!(h.avg, vec![Some(5.0), None, Some(7.0)]);
    }
}
