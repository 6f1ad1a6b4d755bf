//! Recorder and store benchmarks. Prints figures; asserts nothing about timing.
//! `cargo bench --bench store [-- history|persist|memory]`.
//!
//! - persist: readings committed per second through the recorder into a SQLite file.
//! - history: chart queries (≤ 1,000 points) over one sensor with a year at one reading per
//!   10 s: a day, 30 days and a year.
//! - memory: `hearthd` fed by 500 device connections at 100,000 readings/s until
//!   HEARTH_BENCH_READINGS (default 10,000,000) readings at HEARTH_BENCH_RATE per second
//!   (default 100,000); RSS sampled during and after.

#[path = "support/mod.rs"]
mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hearth::{Reading, Recorder, RecorderOptions, Sample, Store};
use support::{Broker, connect, quantile, rows_in};
use tokio::io::AsyncWriteExt;

async fn persist() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db")).await.unwrap();
    let (rec, task) = Recorder::start(store.clone(), RecorderOptions::default());
    let n: u64 = 2_000_000;
    let start = Instant::now();
    for i in 0..n {
        rec.record(Sample {
            topic: format!("home/dev{}/temperature", i % 500),
            ts_ms: 1_700_000_000_000 + i as i64,
            fields: vec![(String::new(), (i % 300) as f64 / 10.0)],
        })
        .await;
    }
    rec.flush().await;
    let secs = start.elapsed().as_secs_f64();
    let written = rec.stats().rows_written.load(Ordering::Relaxed);
    println!("## Readings persisted (recorder → SQLite file, WAL, synchronous=FULL)\n");
    println!(
        "{written} readings from 500 series in {secs:.2} s: **{:.0} readings/s** sustained \
         ({} transactions)\n",
        written as f64 / secs,
        rec.stats().batches.load(Ordering::Relaxed)
    );
    drop(rec);
    task.await.unwrap();
}

async fn history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let store = Store::open(&path).await.unwrap();
    let id = store
        .series_id("home/livingroom/temperature", "")
        .await
        .unwrap();
    let year: i64 = 365 * 86_400;
    let t0: i64 = 1_700_000_000 - 1_700_000_000 % 86_400;
    let n = year / 10;
    let start = Instant::now();
    let mut batch = Vec::with_capacity(20_000);
    for i in 0..n {
        batch.push(Reading {
            series_id: id,
            ts_ms: (t0 + i * 10) * 1000,
            value: 20.0 + ((i as f64) / 500.0).sin() * 3.0,
        });
        if batch.len() == 20_000 {
            store.insert_readings(&batch).await.unwrap();
            batch.clear();
        }
    }
    store.insert_readings(&batch).await.unwrap();
    let load = start.elapsed().as_secs_f64();
    println!("## History queries (one sensor, one reading per 10 s for a year)\n");
    println!(
        "Loaded {n} readings in {load:.1} s ({:.0} readings/s with rollups).\n",
        n as f64 / load
    );
    println!("| range | points | source | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    let end = t0 + year;
    for (name, from) in [
        ("1 day", end - 86_400),
        ("30 days", end - 30 * 86_400),
        ("1 year", t0),
    ] {
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..30 {
            let t = Instant::now();
            let h = store.history(id, from, end, 1000, None).await.unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            last = Some(h);
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let h = last.unwrap();
        println!(
            "| {name} | {} | {:?} | {:.2} | {:.2} |",
            h.ts.len(),
            h.resolution,
            quantile(&times, 0.5),
            quantile(&times, 0.99)
        );
    }
    // A second connection to the same file, as any SQLite reader would open it.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let t = Instant::now();
    let raw: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT (ts / 1000) / 31536 AS b, MIN(value), AVG(value), \
         MAX(value) FROM readings WHERE series_id = ? GROUP BY b)",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    println!(
        "\nFor comparison, the same year bucketed from raw rows: {raw} buckets in {:.0} ms.\n",
        t.elapsed().as_secs_f64() * 1000.0
    );
}

async fn memory() {
    let total: u64 = std::env::var("HEARTH_BENCH_READINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let devices = 500usize;
    let rate: u64 = std::env::var("HEARTH_BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let hub = Broker::hearth(&[]);
    let idle_rss = hub.rss_kib();
    let mut conns = Vec::with_capacity(devices);
    for i in 0..devices {
        conns.push(connect(hub.addr, &format!("dev{i}")).await.into_split().1);
    }
    let after_connect_rss = hub.rss_kib();
    // 50 tasks of 10 device connections; every tick each connection sends its share. The
    // tick is 10 ms, or longer when each device sends less than one message per 10 ms.
    let tick_ms = (1000 * devices as u64 / rate).max(10);
    let per_tick = (rate * tick_ms / 1000 / devices as u64).max(1);
    let ticks = total / (per_tick * devices as u64);
    let start = Instant::now();
    let mut tasks = Vec::new();
    let mut it = conns.into_iter().enumerate().peekable();
    while it.peek().is_some() {
        let group: Vec<_> = it.by_ref().take(10).collect();
        tasks.push(tokio::spawn(async move {
            let mut group = group;
            let mut tick = tokio::time::interval(Duration::from_millis(tick_ms));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut out = Vec::new();
            for k in 0..ticks {
                tick.tick().await;
                for (i, w) in group.iter_mut() {
                    out.clear();
                    for j in 0..per_tick {
                        let v = format!("{:.1}", 18.0 + ((k + j) % 80) as f64 / 10.0);
                        support::publish(
                            &format!("home/dev{i}/temperature"),
                            v.as_bytes(),
                            0,
                            0,
                            &mut out,
                        );
                    }
                    let _ = w.write_all(&out).await;
                }
            }
        }));
    }
    let pid = hub.pid();
    let sampler = tokio::spawn(async move {
        let mut peak = 0u64;
        let mut samples = Vec::new();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let r = support::common::rss_kib(pid);
            if r == 0 {
                break;
            }
            peak = peak.max(r);
            samples.push(r);
            if samples.len() > 100_000 {
                break;
            }
        }
        (peak, samples)
    });
    for t in tasks {
        t.await.unwrap();
    }
    let sent = ticks * per_tick * devices as u64;
    let send_secs = start.elapsed().as_secs_f64();
    let during = hub.rss_kib();
    let db = hub.db_path().unwrap();
    // Wait for the recorder to catch up (no new rows for 3 s).
    let mut last = -1;
    let mut stable = 0;
    while stable < 3 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let n = rows_in(&db).await;
        stable = if n == last { stable + 1 } else { 0 };
        last = n;
    }
    let persisted = last as u64;
    let persist_secs = start.elapsed().as_secs_f64() - 3.0;
    let after = hub.rss_kib();
    let db_mb = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    hub.stop();
    let (peak, samples) = sampler.await.unwrap();
    let half = samples.len() / 2;
    let second_half_max = samples[half..].iter().copied().max().unwrap_or(0);
    let first_half_max = samples[..half].iter().copied().max().unwrap_or(0);
    println!("## Hub memory with {devices} devices\n");
    println!(
        "{sent} readings sent at {:.0}/s over {send_secs:.0} s; {persisted} persisted \
         ({:.2} % lost), {:.0} readings/s end to end; database {db_mb:.0} MB.\n",
        sent as f64 / send_secs,
        100.0 * (1.0 - persisted as f64 / sent as f64),
        persisted as f64 / persist_secs,
    );
    println!("| moment | RSS MiB |");
    println!("|---|---|");
    println!("| idle, just started | {:.1} |", idle_rss as f64 / 1024.0);
    println!(
        "| {devices} devices connected | {:.1} |",
        after_connect_rss as f64 / 1024.0
    );
    println!("| peak under load | {:.1} |", peak as f64 / 1024.0);
    println!(
        "| max, first half of the run | {:.1} |",
        first_half_max as f64 / 1024.0
    );
    println!(
        "| max, second half of the run | {:.1} |",
        second_half_max as f64 / 1024.0
    );
    println!("| end of load | {:.1} |", during as f64 / 1024.0);
    println!(
        "| after {persisted} readings stored | {:.1} |\n",
        after as f64 / 1024.0
    );
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let want = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let rt = tokio::runtime::Runtime::new().unwrap();
    if want("persist") {
        rt.block_on(persist());
    }
    if want("history") {
        rt.block_on(history());
    }
    if want("memory") {
        rt.block_on(memory());
    }
}
