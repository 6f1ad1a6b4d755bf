//! Shared by the benchmarks: start Hearth and Mosquitto side by side, a lean raw-socket MQTT
//! 3.1.1 load generator (so the client is never the bottleneck and is the same for both
//! brokers), and small statistics helpers.

#![allow(dead_code)]

/// The integration tests' helpers: Mosquitto on a free port, RSS, and the like.
#[path = "../../tests/common/mod.rs"]
pub mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Semaphore;

/// A broker under test.
pub struct Broker {
    pub name: &'static str,
    pub addr: SocketAddr,
    process: Process,
    pub data_dir: Option<PathBuf>,
    _tmp: tempfile::TempDir,
}

enum Process {
    Hearth(Child),
    Mosquitto(common::Mosquitto),
}

impl Broker {
    /// `hearthd` from this build, recorder on, in a temp data folder; HEARTH_BENCH_ARGS
    /// adds flags (e.g. "--max-inflight 128") for experiments.
    pub fn hearth(extra: &[&str]) -> Broker {
        let tmp = tempfile::tempdir().unwrap();
        let env_args = std::env::var("HEARTH_BENCH_ARGS").unwrap_or_default();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hearthd"))
            .args(["--data-dir", tmp.path().to_str().unwrap()])
            .args([
                "--mqtt-listen",
                "127.0.0.1:0",
                "--ws-listen",
                "off",
                "--http-listen",
                "off",
                "--mqtts-listen",
                "off",
                "--wss-listen",
                "off",
                "--https-listen",
                "off",
                "--mdns",
                "off",
                "--log",
                "error",
            ])
            .args(["--max-connections", "5000"])
            .args(extra)
            .args(env_args.split_whitespace())
            .stdout(Stdio::piped())
            .spawn()
            .expect("hearthd");
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut addr = None;
        for line in out.lines() {
            let line = line.unwrap();
            if let Some(a) = line.strip_prefix("mqtt listening on ") {
                addr = Some(a.parse().unwrap());
            }
            if line.starts_with("data folder") {
                break;
            }
        }
        Broker {
            name: "hearth",
            addr: addr.expect("hearthd listener"),
            process: Process::Hearth(child),
            data_dir: Some(tmp.path().to_path_buf()),
            _tmp: tmp,
        }
    }

    /// Debian's Mosquitto with its defaults, bound to loopback.
    pub fn mosquitto() -> Broker {
        let m = common::Mosquitto::start();
        Broker {
            name: "mosquitto",
            addr: ([127, 0, 0, 1], m.port).into(),
            process: Process::Mosquitto(m),
            data_dir: None,
            _tmp: tempfile::tempdir().unwrap(),
        }
    }

    pub fn pid(&self) -> u32 {
        match &self.process {
            Process::Hearth(c) => c.id(),
            Process::Mosquitto(m) => m.pid(),
        }
    }

    /// Resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }

    pub fn db_path(&self) -> Option<PathBuf> {
        self.data_dir.as_ref().map(|d| d.join("hearth.db"))
    }

    /// SIGTERM and wait (Hearth flushes its recorder on the way out).
    pub fn stop(mut self) {
        let Process::Hearth(child) = &mut self.process else {
            return;
        };
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let t = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if t.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Process::Hearth(child) = &mut self.process {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

use common::rss_kib;

fn varint(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            return;
        }
    }
}

fn packet(first: u8, body: &[u8], out: &mut Vec<u8>) {
    out.push(first);
    varint(body.len(), out);
    out.extend_from_slice(body);
}

pub fn publish(topic: &str, payload: &[u8], qos: u8, pid: u16, out: &mut Vec<u8>) {
    let mut b = Vec::with_capacity(topic.len() + payload.len() + 4);
    b.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    b.extend_from_slice(topic.as_bytes());
    if qos > 0 {
        b.extend_from_slice(&pid.to_be_bytes());
    }
    b.extend_from_slice(payload);
    packet(0x30 | (qos << 1), &b, out);
}

/// An MQTT 3.1.1 connection, CONNECT/CONNACK done.
pub async fn connect(addr: SocketAddr, id: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).unwrap();
    let mut b = Vec::new();
    b.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 0]);
    b.extend_from_slice(&(id.len() as u16).to_be_bytes());
    b.extend_from_slice(id.as_bytes());
    let mut out = Vec::new();
    packet(0x10, &b, &mut out);
    s.write_all(&out).await.unwrap();
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).await.unwrap();
    assert_eq!(ack, [0x20, 2, 0, 0], "CONNACK refused for {id}");
    s
}

/// Subscribes `s` to `filter` at `qos` and waits for the SUBACK.
pub async fn subscribe(s: &mut TcpStream, filter: &str, qos: u8) {
    let mut b = vec![0, 1];
    b.extend_from_slice(&(filter.len() as u16).to_be_bytes());
    b.extend_from_slice(filter.as_bytes());
    b.push(qos);
    let mut out = Vec::new();
    packet(0x82, &b, &mut out);
    s.write_all(&out).await.unwrap();
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
        loop {
            if buf.len() < i + 2 {
                break;
            }
            let (mut len, mut j, mut shift) = (0usize, i + 1, 0);
            let complete = loop {
                let Some(&b) = buf.get(j) else { break false };
                len |= ((b & 0x7f) as usize) << shift;
                shift += 7;
                j += 1;
                if b & 0x80 == 0 {
                    break true;
                }
            };
            if !complete || buf.len() < j + len {
                break;
            }
            let first = buf[i];
            if first >> 4 == 3 {
                let body = &buf[j..j + len];
                let tl = u16::from_be_bytes([body[0], body[1]]) as usize;
                let qos = (first >> 1) & 3;
                let mut p = 2 + tl;
                if qos > 0 {
                    acks.extend_from_slice(&[0x40, 2, body[p], body[p + 1]]);
                    p += 2;
                }
                on_publish(&body[p..]);
                count += 1;
                last = Instant::now();
            }
            i = j + len;
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
    let _ = w.write_all(&[0xe0, 0]).await;
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
