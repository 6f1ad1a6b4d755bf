//! What the Topics page's live feed costs: 10,000 messages a second over 500 topics for
//! 5 s into a hub, with and without a `topics_changed` listener; prints the hub's CPU time,
//! the events and their sizes, the history's reach and the resident memory. Asserts nothing
//! about timing. `cargo bench --bench topics`.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use support::common::{HubProcess, listeners_off};
use support::{connect, publish};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

const RATE: u64 = 10_000;
const SECS: u64 = 5;
const TOPICS: usize = 500;
const CONNECTIONS: usize = 10;

/// The process's user + system CPU time, in clock ticks (10 ms).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Publishes RATE msg/s over TOPICS topics for SECS seconds, paced every 10 ms.
async fn load(hub: &HubProcess, round: &str) {
    let per_conn = TOPICS / CONNECTIONS;
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let mut s = connect(hub.mqtt, &format!("bench-{round}-{c}")).await;
        let round = round.to_string();
        tasks.push(tokio::spawn(async move {
            let per_tick = RATE / CONNECTIONS as u64 / 100;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut out = Vec::new();
            let mut i = 0u64;
            for _ in 0..SECS * 100 {
                tick.tick().await;
                out.clear();
                for _ in 0..per_tick {
                    let topic = format!("bench/{round}/c{c}/t{}", i as usize % per_conn);
                    let mut p = format!("{{\"value\":{i}}}").into_bytes();
                    p.resize(100, b' ');
                    publish(&topic, &p, 0, 0, &mut out);
                    i += 1;
                }
                s.write_all(&out).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = listeners_off(&["--mqtt-listen", "--http-listen"]);
    args.extend(["--log", "error"]);
    let hub = HubProcess::start(&args);
    let http = hub.http.expect("http listener");
    tokio::time::sleep(Duration::from_secs(1)).await;

    for listening in [false, true] {
        let round = if listening { "listened" } else { "alone" };
        let ws = if listening {
            let (ws, _) = tokio_tungstenite::connect_async(format!(
                "ws://{http}/api/events?types=topics_changed"
            ))
            .await
            .expect("events");
            Some(ws)
        } else {
            None
        };
        let reader = ws.map(|mut ws| {
            tokio::spawn(async move {
                let (mut n, mut bytes, mut most_rows) = (0u64, 0u64, 0usize);
                let end = Instant::now() + Duration::from_secs(SECS + 2);
                while let Ok(Some(Ok(m))) = tokio::time::timeout_at(end.into(), ws.next()).await {
                    if let Message::Text(t) = m {
                        n += 1;
                        bytes += t.len() as u64;
                        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                        most_rows = most_rows.max(v["topics"].as_array().map_or(0, |a| a.len()));
                    }
                }
                (n, bytes, most_rows)
            })
        });
        let cpu0 = cpu_ticks(hub.pid);
        let t0 = Instant::now();
        load(&hub, round).await;
        // Let the hub finish what is queued.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let cpu = (cpu_ticks(hub.pid) - cpu0) as f64 / 100.0;
        let wall = t0.elapsed().as_secs_f64();
        println!(
            "{round:>8}: {} msgs in {wall:.1} s; hub CPU {cpu:.2} s ({:.0} % of one core)",
            RATE * SECS,
            100.0 * cpu / wall
        );
        if let Some(r) = reader {
            let (n, bytes, most) = r.await.unwrap();
            println!(
                "          topics_changed: {n} events ({:.1}/s), {:.0} kB in all, at most {most} rows in one",
                n as f64 / wall,
                bytes as f64 / 1024.0
            );
        }
    }
    let r = reqwest::get(format!(
        "http://{http}/api/topics/messages?topic=bench/listened/c0/t0"
    ))
    .await
    .unwrap();
    let kept: Vec<serde_json::Value> = r.json().await.unwrap();
    println!(
        "history: {} messages kept for one topic; hub RSS {} MiB after {} topics",
        kept.len(),
        hub.rss_kib() / 1024,
        2 * TOPICS
    );
}
