//! Light command round trip through the hub. Prints figures; asserts nothing about timing.
//! `cargo bench --bench commands`.
//!
//! `hearthd --demo` (this build) with simulated lights that reply at once, in both
//! conventions. One command at a time: the time from sending `POST .../switch` to reading
//! the `confirmed` event on `/api/events` over a kept-alive HTTP connection and one
//! WebSocket, HEARTH_BENCH_COMMANDS commands (default 10,000) after 500 to warm up.

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;

use support::common::HubProcess;
use support::common::api::{Events, wait_light};
use support::quantile;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::var("HEARTH_BENCH_COMMANDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let hub = HubProcess::start(&["--demo", "--demo-flavor", "seed", "--demo-rooms", "4"]);
    let http = hub.http.expect("http listener");
    let lights = [
        "livingroom/light",
        "kitchen/light",
        "bedroom/light",
        "office/light",
    ];
    for l in lights {
        wait_light(http, l).await;
    }
    let client = reqwest::Client::new();
    let mut ev = Events::open(http, Some("command_updated")).await;
    let mut state = [false; 4];
    let mut round_trips = Vec::with_capacity(n);
    let mut hub_latency = Vec::with_capacity(n);
    let mut not_confirmed = 0;
    let warmup = 500;
    let started = Instant::now();
    for i in 0..warmup + n {
        let k = i % lights.len();
        state[k] = !state[k];
        let t0 = Instant::now();
        let r = client
            .post(format!("http://{http}/api/devices/{}/switch", lights[k]))
            .json(&serde_json::json!({ "state": if state[k] { "ON" } else { "OFF" } }))
            .send()
            .await
            .expect("switch");
        assert_eq!(r.status().as_u16(), 202);
        let cmd: serde_json::Value = r.json().await.unwrap();
        let id = cmd["id"].as_i64().unwrap();
        let done = loop {
            let e = ev.next(10).await.expect("events");
            if e["id"] == id && e["outcome"] != "pending" {
                break e;
            }
        };
        let rt = t0.elapsed().as_secs_f64() * 1000.0;
        if i < warmup {
            continue;
        }
        if done["outcome"] != "confirmed" {
            not_confirmed += 1;
            continue;
        }
        round_trips.push(rt);
        hub_latency.push(done["latencyMs"].as_f64().unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    round_trips.sort_by(f64::total_cmp);
    hub_latency.sort_by(f64::total_cmp);
    println!("## Light command round trip (HTTP POST → confirmed event on the WebSocket)\n");
    println!(
        "{n} commands one at a time over 4 simulated lights (2 same-topic, 2 …/set), replying at once; {:.0} commands/s\n",
        (warmup + n) as f64 / secs
    );
    println!("| measured | p50 | p90 | p99 | max |");
    println!("|---|---|---|---|---|");
    for (name, v) in [
        ("HTTP request → confirmed event (client side)", &round_trips),
        (
            "command published → reply received (hub's latencyMs)",
            &hub_latency,
        ),
    ] {
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            quantile(v, 0.5),
            quantile(v, 0.9),
            quantile(v, 0.99),
            v.last().copied().unwrap_or(0.0)
        );
    }
    println!("\nnot confirmed: {not_confirmed} of {n}; target: p99 ≤ 5 ms on loopback");
}
