//! Shared by the benchmarks: start Hearth and Mosquitto side by side, a lean raw-socket MQTT
//! 3.1.1 load generator (so the client is never the bottleneck and is the same for both
//! brokers), and small statistics helpers.

#![allow(dead_code)]

/// The integration tests' helpers: Mosquitto on a free port, RSS, and the like.
#[path = "../../tests/common/mod.rs"]
pub mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Semaphore;

use common::raw;
use common::{HubProcess, listeners_off, rss_kib};

/// A broker under test.
pub struct Broker {
    pub name: &'static str,
    pub addr: SocketAddr,
    process: Process,
}

enum Process {
    Hearth(Box<HubProcess>),
    Mosquitto(common::Mosquitto),
}

impl Broker {
    /// `hearthd` from this build, recorder on, MQTT its only listener, in a temp data
    /// folder; HEARTH_BENCH_ARGS adds flags (e.g. "--max-inflight 128") for experiments.
    pub fn hearth(extra: &[&str]) -> Broker {
        let env_args = std::env::var("HEARTH_BENCH_ARGS").unwrap_or_default();
        let mut args = listeners_off(&["--mqtt-listen"]);
        args.extend(["--log", "error", "--max-connections", "5000"]);
        args.extend(extra);
        args.extend(env_args.split_whitespace());
        let hub = HubProcess::start(&args);
        Broker {
            name: "hearth",
            addr: hub.mqtt,
            process: Process::Hearth(Box::new(hub)),
        }
    }

    /// Debian's Mosquitto with its defaults, bound to loopback.
    pub fn mosquitto() -> Broker {
        let m = common::Mosquitto::start();
        Broker {
            name: "mosquitto",
            addr: ([127, 0, 0, 1], m.port).into(),
            process: Process::Mosquitto(m),
        }
    }

    pub fn pid(&self) -> u32 {
        match &self.process {
            Process::Hearth(h) => h.pid,
            Process::Mosquitto(m) => m.pid(),
        }
    }

    /// Resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }

    pub fn db_path(&self) -> Option<PathBuf> {
        match &self.process {
            Process::Hearth(h) => Some(h.db_path()),
            Process::Mosquitto(_) => None,
        }
    }

    /// SIGTERM and wait (Hearth flushes its recorder on the way out).
    pub fn stop(mut self) {
        if let Process::Hearth(h) = &mut self.process {
            h.stop_with("TERM");
        }
    }
}

/// Encodes a 3.1.1 PUBLISH into `out`.
pub fn publish(topic: &str, payload: &[u8], qos: u8, pid: u16, out: &mut Vec<u8>) {
    raw::Publish {
        v5: false,
        topic,
        payload,
        qos,
        pid,
        dup: false,
        retain: false,
    }
    .encode_into(out);
}

/// An MQTT 3.1.1 connection, CONNECT/CONNACK done.
pub async fn connect(addr: SocketAddr, id: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).unwrap();
    s.write_all(&raw::Connect::v311(id).encode()).await.unwrap();
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).await.unwrap();
    assert_eq!(ack, [0x20, 2, 0, 0], "CONNACK refused for {id}");
    s
}

/// Subscribes `s` to `filter` at `qos` and waits for the SUBACK.
pub async fn subscribe(s: &mut TcpStream, filter: &str, qos: u8) {
    s.write_all(&raw::subscribe(false, 1, filter, qos))
        .await
        .unwrap();
    let mut ack = [0u8; 5];
    s.read_exact(&mut ack).await.unwrap();
    assert_eq!(ack[0], 0x90);
}

/// Reads packets, calling `on_publish(payload)` for each PUBLISH and acking QoS 1, until
/// `expected` arrived or nothing came for `idle`. Returns (count, time of the last one).
pub async fn drain(
    mut r: OwnedReadHalf,
    mut w: OwnedWriteHalf,
    expected: u64,
    idle: Duration,
    mut on_publish: impl FnMut(&[u8]),
) -> (u64, Instant) {
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 1 << 16];
    let mut count = 0u64;
    let mut last = Instant::now();
    let mut acks = Vec::new();
    while count < expected {
        let n = match tokio::time::timeout(idle, r.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut i = 0;
        while let Some((first, range)) = raw::frame(&buf[i..]) {
            if first >> 4 == 3 {
                let body = &buf[i + range.start..i + range.end];
                let tl = u16::from_be_bytes([body[0], body[1]]) as usize;
                let qos = (first >> 1) & 3;
                let mut p = 2 + tl;
                if qos > 0 {
                    acks.extend_from_slice(&raw::ack(
                        raw::PUBACK,
                        u16::from_be_bytes([body[p], body[p + 1]]),
                    ));
                    p += 2;
                }
                on_publish(&body[p..]);
                count += 1;
                last = Instant::now();
            }
            i += range.end;
        }
        buf.drain(..i);
        if !acks.is_empty() {
            if w.write_all(&acks).await.is_err() {
                break;
            }
            acks.clear();
        }
    }
    (count, last)
}

/// Publishes `n` messages of `payload` on `topic` at `qos`; QoS 1 keeps at most `window`
/// unacknowledged (like a real client's inflight limit).
pub async fn flood(s: TcpStream, topic: String, payload: Vec<u8>, qos: u8, n: u64, window: usize) {
    let (mut r, mut w) = s.into_split();
    let permits = Arc::new(Semaphore::new(window));
    let acked = Arc::new(AtomicU64::new(0));
    let reader = if qos > 0 {
        let permits = permits.clone();
        let acked = acked.clone();
        Some(tokio::spawn(async move {
            let mut buf = vec![0u8; 1 << 16];
            let mut carry = 0usize;
            while acked.load(Ordering::Relaxed) < n {
                let k = match r.read(&mut buf[carry..]).await {
                    Ok(0) | Err(_) => return,
                    Ok(k) => k,
                };
                let total = carry + k;
                // PUBACKs are 4 bytes each.
                let whole = total / 4;
                acked.fetch_add(whole as u64, Ordering::Relaxed);
                permits.add_permits(whole);
                carry = total % 4;
                buf.copy_within(whole * 4..total, 0);
            }
        }))
    } else {
        None
    };
    const BATCH: u64 = 64;
    let mut sent = 0u64;
    let mut pid: u16 = 0;
    let mut out = Vec::with_capacity(BATCH as usize * (payload.len() + topic.len() + 8));
    while sent < n {
        let k = BATCH.min(n - sent);
        if qos > 0 {
            permits.acquire_many(k as u32).await.unwrap().forget();
        }
        out.clear();
        for _ in 0..k {
            pid = pid.wrapping_add(1).max(1);
            publish(&topic, &payload, qos, pid, &mut out);
        }
        if w.write_all(&out).await.is_err() {
            return;
        }
        sent += k;
    }
    if let Some(r) = reader {
        let _ = tokio::time::timeout(Duration::from_secs(30), r).await;
    }
    let _ = w.write_all(&raw::disconnect()).await;
}

/// CPU seconds (user and system) a process has used so far.
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    // Clock ticks are 100 per second on Linux.
    f.iter().sum::<f64>() / 100.0
}

/// The most resident memory a process has had, in KiB (VmHWM).
pub fn peak_rss_kib(pid: u32) -> u64 {
    common::proc_status_kib(pid, "VmHWM")
}

/// The median of unsorted values.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    quantile(&v, 0.5)
}

/// The value at quantile `q` of sorted samples.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Opens the hub's database for counting.
pub async fn rows_in(db: &Path) -> i64 {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM readings")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}
