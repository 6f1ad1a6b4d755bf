//! Broker benchmarks, Hearth (recorder on) and Debian Mosquitto side by side: each scenario
//! runs three times per broker, interleaved (Hearth, Mosquitto, Hearth, …), each run on a
//! fresh broker, and prints medians of msg/s, QoS 1 loss, publish → subscriber latency
//! p50/p99, the broker's CPU-seconds per 100,000 delivered messages and its peak RSS. Then
//! headless start-up, and a home-like soak of Hearth: 500 devices at 1 msg/s (QoS 1, numeric),
//! the dashboard's events stream open, one light command per second, RSS every minute.
//! Prints figures; asserts nothing about timing. `cargo bench --bench broker [-- NAME]`, NAME
//! one of `throughput`, `startup`, `soak`; HEARTH_SOAK_SECS sets the soak's length (600).

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::common::HubProcess;
use support::common::api::{Events, light, wait_light};
use support::{
    Broker, connect, cpu_secs, drain, flood, median, peak_rss_kib, quantile, rows_in, subscribe,
};

/// A payload that is the time it was sent, in ns since `epoch`, padded to 100 bytes: a
/// number, so Hearth's recorder stores every message, and the subscriber's latency sample.
fn stamped(epoch: Instant) -> Vec<u8> {
    let mut p = format!("{}", epoch.elapsed().as_nanos()).into_bytes();
    p.resize(100, b' ');
    p
}

#[derive(Clone, Copy)]
struct Scenario {
    name: &'static str,
    qos: u8,
    pubs: usize,
    subs: usize,
    per_pub: u64,
    /// Messages per second per publisher; `None` as fast as the broker takes them.
    rate: Option<u64>,
}

/// A scenario at full speed.
const fn full(name: &'static str, qos: u8, pubs: usize, subs: usize, per_pub: u64) -> Scenario {
    Scenario {
        name,
        qos,
        pubs,
        subs,
        per_pub,
        rate: None,
    }
}

const SCENARIOS: [Scenario; 7] = [
    full("1→1", 0, 1, 1, 100_000),
    full("10→1", 0, 10, 1, 10_000),
    full("1→10", 0, 1, 10, 20_000),
    full("1→1", 1, 1, 1, 100_000),
    full("10→1", 1, 10, 1, 10_000),
    full("1→10", 1, 1, 10, 20_000),
    Scenario {
        rate: Some(1000),
        ..full("1,000 msg/s", 1, 1, 1, 10_000)
    },
];

/// One run's figures.
#[derive(Clone, Copy, Default)]
struct Run {
    rate: f64,
    loss_pct: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_per_100k: f64,
    peak_rss_mib: f64,
}

/// Publishes `n` messages at `per_sec`, QoS `qos`, reading (and discarding) the acks.
async fn paced(
    s: tokio::net::TcpStream,
    topic: String,
    qos: u8,
    n: u64,
    per_sec: u64,
    epoch: Instant,
) {
    let (mut r, mut w) = s.into_split();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 1 << 16];
        while matches!(r.read(&mut buf).await, Ok(k) if k > 0) {}
    });
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / per_sec));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut out = Vec::new();
    for i in 0..n {
        tick.tick().await;
        out.clear();
        support::publish(
            &topic,
            &stamped(epoch),
            qos,
            (i % 60_000 + 1) as u16,
            &mut out,
        );
        if w.write_all(&out).await.is_err() {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    reader.abort();
}

async fn run(b: &Broker, sc: Scenario) -> Run {
    let tag = format!("q{}p{}s{}", sc.qos, sc.pubs, sc.subs);
    let filter = format!("home/{tag}/+");
    let per_sub = sc.per_pub * sc.pubs as u64;
    let epoch = Instant::now();
    let mut sub_tasks = Vec::new();
    for i in 0..sc.subs {
        let mut s = connect(b.addr, &format!("{tag}-sub{i}")).await;
        subscribe(&mut s, &filter, sc.qos).await;
        let (r, w) = s.into_split();
        sub_tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_sub as usize);
            let (n, last) = drain(r, w, per_sub, Duration::from_secs(3), |p| {
                let now = epoch.elapsed().as_nanos() as f64;
                if let Some(sent) = std::str::from_utf8(p)
                    .ok()
                    .and_then(|t| t.trim().parse::<f64>().ok())
                {
                    lat.push((now - sent) / 1000.0);
                }
            })
            .await;
            (n, last, lat)
        }));
    }
    let mut pub_conns = Vec::new();
    for i in 0..sc.pubs {
        pub_conns.push(connect(b.addr, &format!("{tag}-pub{i}")).await);
    }
    let cpu0 = cpu_secs(b.pid());
    let start = Instant::now();
    for (i, s) in pub_conns.into_iter().enumerate() {
        let topic = format!("home/{tag}/sensor{i}");
        match sc.rate {
            Some(r) => tokio::spawn(paced(s, topic, sc.qos, sc.per_pub, r, epoch)),
            // The stamp is taken as the flood starts: latency here is mostly queueing.
            None => tokio::spawn(flood(s, topic, stamped(epoch), sc.qos, sc.per_pub, 100)),
        };
    }
    let mut delivered = 0;
    let mut last = start;
    let mut lat = Vec::new();
    for t in sub_tasks {
        let (n, l, mut v) = t.await.unwrap();
        delivered += n;
        last = last.max(l);
        lat.append(&mut v);
    }
    // What the broker still does for these messages (Hearth commits its readings each second).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let cpu = cpu_secs(b.pid()) - cpu0;
    lat.sort_by(f64::total_cmp);
    let expected = per_sub * sc.subs as u64;
    Run {
        rate: delivered as f64 / last.duration_since(start).as_secs_f64().max(1e-6),
        loss_pct: 100.0 * (1.0 - delivered as f64 / expected as f64),
        p50_us: quantile(&lat, 0.5),
        p99_us: quantile(&lat, 0.99),
        cpu_per_100k: cpu / delivered.max(1) as f64 * 100_000.0,
        peak_rss_mib: peak_rss_kib(b.pid()) as f64 / 1024.0,
    }
}

/// Medians of each figure over the runs.
fn medians(runs: &[Run]) -> Run {
    let m = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
    Run {
        rate: m(|r| r.rate),
        loss_pct: m(|r| r.loss_pct),
        p50_us: m(|r| r.p50_us),
        p99_us: m(|r| r.p99_us),
        cpu_per_100k: m(|r| r.cpu_per_100k),
        peak_rss_mib: m(|r| r.peak_rss_mib),
    }
}

fn throughput(rt: &tokio::runtime::Runtime) {
    println!(
        "## Broker: Hearth (H, recorder on) and Mosquitto (M), medians of 3 interleaved runs\n"
    );
    println!(
        "100-byte numeric payloads; QoS 1 publishers keep 100 unacknowledged; loss is of QoS 1 (and 0) messages accepted but never delivered.\n"
    );
    println!(
        "| scenario | QoS | H msg/s | M msg/s | ratio | loss H / M | p50 µs H / M | p99 µs H / M | CPU-s per 100k H / M | peak RSS MiB H / M |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut hearth_peak: f64 = 0.0;
    for sc in SCENARIOS {
        let (mut h, mut m) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            let b = Broker::hearth(&[]);
            h.push(rt.block_on(run(&b, sc)));
            drop(b);
            let b = Broker::mosquitto();
            m.push(rt.block_on(run(&b, sc)));
            drop(b);
        }
        hearth_peak = h.iter().map(|r| r.peak_rss_mib).fold(hearth_peak, f64::max);
        let (h, m) = (medians(&h), medians(&m));
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.2}× | {:.1} % / {:.1} % | {:.0} / {:.0} | {:.0} / {:.0} | {:.2} / {:.2} | {:.1} / {:.1} |",
            sc.name,
            sc.qos,
            h.rate,
            m.rate,
            h.rate / m.rate,
            h.loss_pct,
            m.loss_pct,
            h.p50_us,
            m.p50_us,
            h.p99_us,
            m.p99_us,
            h.cpu_per_100k,
            m.cpu_per_100k,
            h.peak_rss_mib,
            m.peak_rss_mib,
        );
    }
    println!("\nHearth's highest peak RSS in any run: {hearth_peak:.1} MiB\n");
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
    median(v)
}

/// One device: a reading a second at QoS 1, counting the broker's PUBACKs.
async fn device(addr: std::net::SocketAddr, i: usize, until: Instant, acked: Arc<AtomicU64>) {
    let s = connect(addr, &format!("soak-dev{i}")).await;
    let (mut r, mut w) = s.into_split();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        let mut carry = 0;
        loop {
            let k = match r.read(&mut buf[carry..]).await {
                Ok(0) | Err(_) => return,
                Ok(k) => k,
            };
            // PUBACKs are 4 bytes each.
            let total = carry + k;
            acked.fetch_add((total / 4) as u64, Ordering::Relaxed);
            carry = total % 4;
            buf.copy_within(total - carry..total, 0);
        }
    });
    // Devices spread over the second, as real ones drift apart.
    tokio::time::sleep(Duration::from_millis((i as u64 * 1000 / 500) % 1000)).await;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let topic = format!("home/soak{i}/temperature");
    let mut out = Vec::new();
    let mut pid: u16 = 0;
    while Instant::now() < until {
        tick.tick().await;
        pid = pid.wrapping_add(1).max(1);
        out.clear();
        let v = format!("{:.1}", 20.0 + (pid % 50) as f64 / 10.0);
        support::publish(&topic, v.as_bytes(), 1, pid, &mut out);
        if w.write_all(&out).await.is_err() {
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    reader.abort();
}

fn soak(rt: &tokio::runtime::Runtime, secs: u64) {
    let mut args = support::common::listeners_off(&["--mqtt-listen", "--http-listen"]);
    args.extend(["--log", "error", "--max-connections", "5000"]);
    let hub = HubProcess::start(&args);
    let (mqtt, http, pid) = (hub.mqtt, hub.http.unwrap(), hub.pid);
    println!(
        "## Soak: 500 devices at 1 msg/s (QoS 1), events stream open, a light command a second, {secs} s\n"
    );
    let (rss, trips, acked) = rt.block_on(async {
        let _light = light(
            mqtt,
            "soak-light",
            "home/soaklight/light",
            "home/soaklight/light/set",
            "OFF",
            |c| Some(c.to_string()),
        )
        .await;
        wait_light(http, "soaklight/light").await;
        let until = Instant::now() + Duration::from_secs(secs);
        let acked = Arc::new(AtomicU64::new(0));
        for i in 0..500 {
            tokio::spawn(device(mqtt, i, until, acked.clone()));
        }
        let client = reqwest::Client::new();
        // The dashboard: every event, read as it comes, on its own connection.
        let mut dashboard = Events::open(http, None).await;
        let seen = Arc::new(AtomicU64::new(0));
        let counted = seen.clone();
        tokio::spawn(async move {
            while dashboard.next(30).await.is_some() {
                counted.fetch_add(1, Ordering::Relaxed);
            }
        });
        // The commands' fate on a second one, so the round trip is the hub's, not the time
        // this client takes to parse the readings queued before it.
        let mut ev = Events::open(http, Some("command_updated")).await;
        let mut rss = vec![support::common::rss_kib(pid)];
        let mut trips = Vec::new();
        let mut on = false;
        let started = Instant::now();
        let mut next_minute = started + Duration::from_secs(60);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        while Instant::now() < until {
            tick.tick().await;
            on = !on;
            let t0 = Instant::now();
            let r = client
                .post(format!("http://{http}/api/devices/soaklight/light/switch"))
                .json(&serde_json::json!({ "state": if on { "ON" } else { "OFF" } }))
                .send()
                .await
                .expect("switch");
            let id = r.json::<serde_json::Value>().await.unwrap()["id"]
                .as_i64()
                .unwrap();
            loop {
                let e = ev.next(10).await.expect("events");
                if e["type"] == "command_updated" && e["id"] == id && e["outcome"] != "pending" {
                    if e["outcome"] == "confirmed" {
                        trips.push(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                    break;
                }
            }
            if Instant::now() >= next_minute {
                rss.push(support::common::rss_kib(pid));
                next_minute += Duration::from_secs(60);
            }
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        println!(
            "events the dashboard read: {}\n",
            seen.load(Ordering::Relaxed)
        );
        (rss, trips, acked.load(Ordering::Relaxed))
    });
    let db = hub.db_path();
    let peak = peak_rss_kib(pid);
    let mut hub = hub;
    hub.stop_with("TERM");
    // The light's status replies are not readings; everything else stored is a device's.
    let stored = rt.block_on(rows_in(&db));
    let mut t = trips.clone();
    t.sort_by(f64::total_cmp);
    println!("| minute | RSS MiB |\n|---|---|");
    for (i, k) in rss.iter().enumerate() {
        println!("| {i} | {:.1} |", *k as f64 / 1024.0);
    }
    let after_first: Vec<u64> = rss.iter().skip(1).copied().collect();
    let (lo, hi) = (
        after_first.iter().min().copied().unwrap_or(0) as f64,
        after_first.iter().max().copied().unwrap_or(0) as f64,
    );
    println!(
        "\nreadings acknowledged {acked}, stored {stored}, lost {}; peak RSS {:.1} MiB; RSS from minute 1 on within {:.1} % of its lowest",
        acked as i64 - stored,
        peak as f64 / 1024.0,
        if lo > 0.0 {
            (hi - lo) / lo * 100.0
        } else {
            0.0
        }
    );
    println!(
        "commands confirmed {} of {}: round trip p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n",
        t.len(),
        secs,
        quantile(&t, 0.5),
        quantile(&t, 0.99),
        t.last().copied().unwrap_or(0.0)
    );
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let want = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let rt = tokio::runtime::Runtime::new().unwrap();
    if want("throughput") {
        throughput(&rt);
    }
    if want("startup") {
        println!(
            "## Headless start to first CONNACK (median of 5): {:.0} ms\n",
            startup_ms(5)
        );
    }
    if want("soak") {
        let secs = std::env::var("HEARTH_SOAK_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600);
        soak(&rt, secs);
    }
}
