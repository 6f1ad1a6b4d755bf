//! The recorder: turns numeric messages into rows, batched into one transaction per second
//! (or per `max_batch` rows, whichever comes first). Its queue is bounded; a full one makes
//! the caller wait (the publisher, with the embedded broker), up to a limit.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::store::{Reading, Store};

/// The recorder's tuning.
#[derive(Debug, Clone, Copy)]
pub struct RecorderOptions {
    /// Longest a reading waits before its transaction commits; bounds what a power cut loses.
    pub flush_interval: Duration,
    /// A batch this large commits at once.
    pub max_batch: usize,
    /// Samples waiting for the writer. When full, [`Recorder::record_paced`] waits for room
    /// (with the embedded broker, its publisher waits with it).
    pub queue: usize,
    /// Longest [`Recorder::record_paced`] waits for room before it drops the sample and
    /// counts it: a writer that long behind is stuck (a failing disk), and the broker must
    /// keep routing meanwhile. With the broker's pace limit it stays under rmqtt's 5 s
    /// session takeover.
    pub pace_limit: Duration,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions {
            flush_interval: Duration::from_secs(1),
            max_batch: 20_000,
            queue: 8_192,
            pace_limit: Duration::from_secs(1),
        }
    }
}

/// One message's numeric values.
#[derive(Debug)]
pub struct Sample {
    pub topic: String,
    pub ts_ms: i64,
    pub fields: Vec<(String, f64)>,
}

enum Msg {
    Sample(Sample),
    Flush(oneshot::Sender<()>),
}

/// Counters the recorder keeps.
#[derive(Debug, Default)]
pub struct RecorderStats {
    pub rows_written: AtomicU64,
    pub batches: AtomicU64,
    pub write_errors: AtomicU64,
    /// Samples dropped because the queue stayed full past the pace limit.
    pub dropped: AtomicU64,
    /// Samples that waited for room in the queue.
    pub paced: AtomicU64,
}

/// Handle to the recorder task. Dropping every handle and awaiting [`Recorder::finish`]
/// flushes what is pending.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    stats: Arc<RecorderStats>,
    pace_limit: Duration,
    /// Set when a sample waited the whole pace limit; until the queue is half empty again,
    /// samples that find it full are dropped at once instead of each waiting the limit.
    stuck: Arc<AtomicBool>,
}

/// Topics whose series ids the writer remembers.
const MAX_CACHED_TOPICS: usize = 50_000;

/// Rows kept for retry when the database refuses a write (disk full, say); past this the
/// oldest are dropped, so a broken disk cannot exhaust memory.
const MAX_RETRY_ROWS: usize = 1_000_000;

impl Recorder {
    /// Starts the writer task.
    pub fn start(store: Store, opts: RecorderOptions) -> (Recorder, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(opts.queue);
        let stats = Arc::new(RecorderStats::default());
        let task = tokio::spawn(run(store, opts, rx, stats.clone()));
        let pace_limit = opts.pace_limit;
        (
            Recorder {
                tx,
                stats,
                pace_limit,
                stuck: Arc::default(),
            },
            task,
        )
    }

    /// Queues a sample; waits when the writer is behind. Returns false once the recorder
    /// has stopped.
    pub async fn record(&self, sample: Sample) -> bool {
        self.tx.send(Msg::Sample(sample)).await.is_ok()
    }

    /// Queues a sample, waiting for room when the writer is a full queue behind, at most
    /// the pace limit; past it the sample is dropped and counted in `dropped`. Returns false
    /// once the recorder has stopped.
    pub async fn record_paced(&self, sample: Sample) -> bool {
        let sample = match self.tx.try_send(Msg::Sample(sample)) {
            Ok(()) => return true,
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
            Err(mpsc::error::TrySendError::Full(m)) => m,
        };
        if self.stuck.load(Ordering::Relaxed) {
            if self.tx.capacity() < self.tx.max_capacity() / 2 {
                return self.drop_sample();
            }
            self.stuck.store(false, Ordering::Relaxed);
        }
        self.stats.paced.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(self.pace_limit, self.tx.send(sample)).await {
            Ok(sent) => sent.is_ok(),
            Err(_) => {
                self.stuck.store(true, Ordering::Relaxed);
                self.drop_sample()
            }
        }
    }

    fn drop_sample(&self) -> bool {
        let n = self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        if n.is_power_of_two() {
            tracing::warn!("the recorder is stuck: {} readings dropped so far", n + 1);
        }
        true
    }

    /// Commits everything queued before this call.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// The counters, shared: holding them does not keep the recorder running.
    pub fn shared_stats(&self) -> Arc<RecorderStats> {
        self.stats.clone()
    }

    pub fn stats(&self) -> &RecorderStats {
        &self.stats
    }
}

struct Writer {
    store: Store,
    /// Series ids by topic then field, so a lookup borrows instead of allocating a key.
    series: HashMap<String, HashMap<String, i64>>,
    pending: Vec<Reading>,
    stats: Arc<RecorderStats>,
}

impl Writer {
    async fn add(&mut self, s: Sample) {
        for (field, value) in s.fields {
            let known = self
                .series
                .get(s.topic.as_str())
                .and_then(|f| f.get(&field));
            let id = match known {
                Some(id) => *id,
                None => match self.store.series_id(&s.topic, &field).await {
                    Ok(id) => {
                        // Topics are unbounded in number (any client may invent them); the
                        // cache is not. Starting over costs one lookup per series.
                        if self.series.len() >= MAX_CACHED_TOPICS {
                            self.series.clear();
                        }
                        self.series
                            .entry(s.topic.clone())
                            .or_default()
                            .insert(field, id);
                        id
                    }
                    Err(e) => {
                        self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::error!("cannot create series for {}: {e}", s.topic);
                        continue;
                    }
                },
            };
            self.pending.push(Reading {
                series_id: id,
                ts_ms: s.ts_ms,
                value,
            });
        }
    }

    async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match self.store.insert_readings(&self.pending).await {
            Ok(()) => {
                self.stats
                    .rows_written
                    .fetch_add(self.pending.len() as u64, Ordering::Relaxed);
                self.stats.batches.fetch_add(1, Ordering::Relaxed);
                self.pending.clear();
            }
            Err(e) => {
                self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    "writing {} readings failed, will retry: {e}",
                    self.pending.len()
                );
                if self.pending.len() > MAX_RETRY_ROWS {
                    let excess = self.pending.len() - MAX_RETRY_ROWS;
                    tracing::error!("dropping the {excess} oldest unwritten readings");
                    self.pending.drain(..excess);
                }
            }
        }
    }
}

async fn run(
    store: Store,
    opts: RecorderOptions,
    mut rx: mpsc::Receiver<Msg>,
    stats: Arc<RecorderStats>,
) {
    let mut w = Writer {
        store,
        series: HashMap::new(),
        pending: Vec::with_capacity(opts.max_batch),
        stats,
    };
    let mut deadline: Option<Instant> = None;
    loop {
        let msg = match deadline {
            Some(d) => match tokio::time::timeout_at(d, rx.recv()).await {
                Ok(m) => m,
                Err(_) => {
                    w.flush().await;
                    deadline =
                        (!w.pending.is_empty()).then(|| Instant::now() + opts.flush_interval);
                    continue;
                }
            },
            None => rx.recv().await,
        };
        match msg {
            Some(Msg::Sample(s)) => {
                w.add(s).await;
                if w.pending.len() >= opts.max_batch {
                    w.flush().await;
                }
                deadline = match (deadline, w.pending.is_empty()) {
                    (_, true) => None,
                    (Some(d), false) => Some(d),
                    (None, false) => Some(Instant::now() + opts.flush_interval),
                };
            }
            Some(Msg::Flush(done)) => {
                w.flush().await;
                let _ = done.send(());
                deadline = None;
            }
            None => {
                w.flush().await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn samples_become_rows_on_flush() {
        let store = Store::open_in_memory().await.unwrap();
        let (rec, task) = Recorder::start(store.clone(), RecorderOptions::default());
        assert!(
            rec.record(Sample {
                topic: "home/a/temperature".into(),
                ts_ms: 1000,
                fields: vec![(String::new(), 21.5)],
            })
            .await
        );
        rec.record(Sample {
            topic: "home/a/climate".into(),
            ts_ms: 2000,
            fields: vec![("temperature".into(), 20.0), ("humidity".into(), 40.0)],
        })
        .await;
        rec.flush().await;
        assert_eq!(rec.stats().rows_written.load(Ordering::Relaxed), 3);
        let id = store
            .find_series("home/a/climate", "humidity")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(store.count_readings(id).await.unwrap(), 1);
        drop(rec);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_full_queue_waits_for_room_then_drops_past_the_pace_limit() {
        let opts = RecorderOptions {
            queue: 4,
            pace_limit: Duration::from_millis(50),
            ..Default::default()
        };
        let sample = |i| Sample {
            topic: "t".into(),
            ts_ms: i,
            fields: vec![(String::new(), 1.0)],
        };
        // A writer that never takes anything.
        let (tx, _rx) = mpsc::channel(opts.queue);
        let rec = Recorder {
            tx,
            stats: Arc::default(),
            pace_limit: opts.pace_limit,
            stuck: Arc::default(),
        };
        for i in 0..10 {
            assert!(rec.record_paced(sample(i)).await);
        }
        // The first to find it full waits the limit; the rest are dropped at once.
        assert_eq!(rec.stats().paced.load(Ordering::Relaxed), 1);
        assert_eq!(rec.stats().dropped.load(Ordering::Relaxed), 6);

        let store = Store::open_in_memory().await.unwrap();
        let (rec, task) = Recorder::start(store.clone(), opts);
        let many = (0..1000).map(|i| rec.record_paced(sample(i)));
        for sent in futures_util::future::join_all(many).await {
            assert!(sent);
        }
        assert!(
            rec.stats().paced.load(Ordering::Relaxed) > 0,
            "1000 samples through a queue of 4"
        );
        assert_eq!(rec.stats().dropped.load(Ordering::Relaxed), 0);
        drop(rec);
        task.await.unwrap();
        let id = store.find_series("t", "").await.unwrap().unwrap();
        assert_eq!(store.count_readings(id).await.unwrap(), 1000);
    }

    #[tokio::test]
    async fn closing_flushes_pending_rows() {
        let store = Store::open_in_memory().await.unwrap();
        let opts = RecorderOptions {
            flush_interval: Duration::from_secs(3600),
            ..Default::default()
        };
        let (rec, task) = Recorder::start(store.clone(), opts);
        for i in 0..100 {
            rec.record(Sample {
                topic: "t".into(),
                ts_ms: i,
                fields: vec![(String::new(), i as f64)],
            })
            .await;
        }
        drop(rec);
        task.await.unwrap();
        let id = store.find_series("t", "").await.unwrap().unwrap();
        assert_eq!(store.count_readings(id).await.unwrap(), 100);
    }

    #[tokio::test]
    async fn rows_commit_without_a_full_batch_or_an_explicit_flush() {
        let store = Store::open_in_memory().await.unwrap();
        let opts = RecorderOptions {
            flush_interval: Duration::from_millis(100),
            ..Default::default()
        };
        let (rec, _task) = Recorder::start(store.clone(), opts);
        rec.record(Sample {
            topic: "t".into(),
            ts_ms: 1,
            fields: vec![(String::new(), 1.0)],
        })
        .await;
        tokio::time::timeout(Duration::from_secs(10), async {
            while rec.stats().rows_written.load(Ordering::Relaxed) == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the interval flush never committed");
    }
}
