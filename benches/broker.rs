//! Broker benchmarks, Hearth (recorder on) and Debian Mosquitto side by side in one run:
//! throughput for QoS 0 and 1 with 100-byte payloads in 1→1, 10→1 and 1→10, publish →
//! subscriber latency at 1,000 msg/s, and headless start-up time. Prints figures; asserts
//! nothing about timing. `cargo bench --bench broker`.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{Broker, connect, drain, flood, quantile, subscribe};

/// A numeric payload padded to 100 bytes, so Hearth's recorder stores every message.
fn payload(value: f64) -> Vec<u8> {
    let mut p = format!("{value}").into_bytes();
    p.resize(100, b' ');
    p
}

struct Outcome {
    rate: f64,
    delivered: u64,
    expected: u64,
}

async fn throughput(b: &Broker, qos: u8, pubs: usize, subs: usize, per_pub: u64) -> Outcome {
    let tag = format!("q{qos}p{pubs}s{subs}");
    let filter = format!("home/{tag}/+");
    let expected = per_pub * pubs as u64;
    let mut sub_tasks = Vec::new();
    for i in 0..subs {
        let mut s = connect(b.addr, &format!("{tag}-sub{i}")).await;
        subscribe(&mut s, &filter, qos).await;
        let (r, w) = s.into_split();
        sub_tasks.push(tokio::spawn(drain(
            r,
            w,
            expected,
            Duration::from_secs(3),
            |_| {},
        )));
    }
    let mut pub_conns = Vec::new();
    for i in 0..pubs {
        pub_conns.push(connect(b.addr, &format!("{tag}-pub{i}")).await);
    }
    let start = Instant::now();
    for (i, s) in pub_conns.into_iter().enumerate() {
        tokio::spawn(flood(
            s,
            format!("home/{tag}/sensor{i}"),
            payload(21.5),
            qos,
            per_pub,
            100,
        ));
    }
    let mut delivered = 0;
    let mut last = start;
    for t in sub_tasks {
        let (n, l) = t.await.unwrap();
        delivered += n;
        last = last.max(l);
    }
    let secs = last.duration_since(start).as_secs_f64().max(1e-6);
    Outcome {
        rate: delivered as f64 / secs,
        delivered,
        expected: expected * subs as u64,
    }
}

async fn latency(b: &Broker, secs: u64) -> (f64, f64) {
    let epoch = Instant::now();
    let mut s = connect(b.addr, "lat-sub").await;
    subscribe(&mut s, "home/latency/+", 1).await;
    let (r, w) = s.into_split();
    let n = secs * 1000;
    let sub = tokio::spawn(async move {
        let mut samples = Vec::with_capacity(n as usize);
        drain(r, w, n, Duration::from_secs(3), |p| {
            let now = epoch.elapsed().as_nanos() as f64;
            if let Some(sent) = std::str::from_utf8(p)
                .ok()
                .and_then(|t| t.trim().parse::<f64>().ok())
            {
                samples.push((now - sent) / 1000.0);
            }
        })
        .await;
        samples
    });
    let p = connect(b.addr, "lat-pub").await;
    let (_r, mut w) = p.into_split();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut out = Vec::new();
    for i in 0..n {
        tick.tick().await;
        out.clear();
        let ns = epoch.elapsed().as_nanos() as f64;
        support::publish(
            "home/latency/t",
            &payload(ns),
            1,
            (i % 60000 + 1) as u16,
            &mut out,
        );
        use tokio::io::AsyncWriteExt;
        w.write_all(&out).await.unwrap();
    }
    let mut samples = sub.await.unwrap();
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (quantile(&samples, 0.5), quantile(&samples, 0.99))
}

/// Spawn to first CONNACK, median of `runs`.
fn startup_ms(runs: usize) -> f64 {
    let mut v = Vec::new();
    for _ in 0..runs {
        let tmp = tempfile::tempdir().unwrap();
        let port = support::common::free_port();
        let mqtt = format!("127.0.0.1:{port}");
        // A first start: the CA and server certificate are made too (mqtts is on).
        let keep = ["--mqtt-listen", "--http-listen", "--mqtts-listen"];
        let on = [&mqtt, "127.0.0.1:0", "127.0.0.1:0"];
        let t = Instant::now();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hearthd"))
            .args(["--data-dir", tmp.path().to_str().unwrap()])
            .args(keep.iter().zip(on).flat_map(|(flag, addr)| [*flag, addr]))
            .args(support::common::listeners_off(&keep))
            .args(["--mdns", "off", "--log", "error"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let ms = rt.block_on(async {
            loop {
                if let Ok(Ok(mut s)) = tokio::time::timeout(
                    Duration::from_millis(200),
                    tokio::net::TcpStream::connect(("127.0.0.1", port)),
                )
                .await
                {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let connect = [
                        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 0, 0, 1, b's',
                    ];
                    if s.write_all(&connect).await.is_ok() {
                        let mut ack = [0u8; 4];
                        if s.read_exact(&mut ack).await.is_ok() && ack[3] == 0 {
                            return t.elapsed().as_secs_f64() * 1000.0;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        let _ = child.kill();
        let _ = child.wait();
        v.push(ms);
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    quantile(&v, 0.5)
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let want = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let rt = tokio::runtime::Runtime::new().unwrap();

    if want("throughput") {
        println!("## Broker throughput (messages delivered per second, 100-byte payloads)\n");
        println!(
            "| scenario | QoS | Hearth msg/s | Mosquitto msg/s | ratio | Hearth loss | Mosquitto loss |"
        );
        println!("|---|---|---|---|---|---|---|");
        for qos in [0u8, 1] {
            for (pubs, subs, per_pub) in [(1, 1, 100_000), (10, 1, 10_000), (1, 10, 20_000)] {
                let h = Broker::hearth(&[]);
                let hr = rt.block_on(throughput(&h, qos, pubs, subs, per_pub));
                drop(h);
                let m = Broker::mosquitto();
                let mr = rt.block_on(throughput(&m, qos, pubs, subs, per_pub));
                drop(m);
                let loss = |o: &Outcome| {
                    format!(
                        "{:.1} %",
                        100.0 * (1.0 - o.delivered as f64 / o.expected as f64)
                    )
                };
                println!(
                    "| {pubs}→{subs} | {qos} | {:.0} | {:.0} | {:.2}× | {} | {} |",
                    hr.rate,
                    mr.rate,
                    hr.rate / mr.rate,
                    loss(&hr),
                    loss(&mr)
                );
            }
        }
        println!();
    }

    if want("latency") {
        let h = Broker::hearth(&[]);
        let (h50, h99) = rt.block_on(latency(&h, 5));
        drop(h);
        let m = Broker::mosquitto();
        let (m50, m99) = rt.block_on(latency(&m, 5));
        drop(m);
        println!("## Publish → subscriber latency, QoS 1 at 1,000 msg/s for 5 s\n");
        println!("| broker | p50 µs | p99 µs |");
        println!("|---|---|---|");
        println!("| Hearth | {h50:.0} | {h99:.0} |");
        println!("| Mosquitto | {m50:.0} | {m99:.0} |");
        println!("\np99 ratio Hearth/Mosquitto: {:.2}\n", h99 / m99);
    }

    if want("startup") {
        println!(
            "## Headless start to first CONNACK (median of 5): {:.0} ms\n",
            startup_ms(5)
        );
    }
}
