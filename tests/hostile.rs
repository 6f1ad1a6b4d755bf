//! Misbehaving clients are refused or disconnected, with the protocol's reason code where
//! it has one, while a well-behaved client keeps publishing and receiving throughout.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::raw::{self, Connect, Raw};
use common::{HubProcess, eventually, within};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};

/// A client that publishes to itself every 20 ms and counts the round trips it sees.
struct GoodClient {
    round_trips: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl GoodClient {
    fn start(port: u16) -> GoodClient {
        let round_trips = Arc::new(AtomicU64::new(0));
        let counter = round_trips.clone();
        let task = tokio::spawn(async move {
            let mut mo = MqttOptions::new("good-client", "127.0.0.1", port);
            mo.set_keep_alive(Duration::from_secs(5));
            let (client, mut ev) = AsyncClient::new(mo, 100);
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let _ = client.try_publish("t/good", QoS::AtLeastOnce, false, "ping");
                    }
                    e = ev.poll() => match e {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            let _ = client.subscribe("t/good", QoS::AtLeastOnce).await;
                        }
                        Ok(Event::Incoming(Packet::Publish(_))) => {
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            }
        });
        GoodClient { round_trips, task }
    }

    /// Fails unless at least 10 more round trips complete within 15 s.
    async fn assert_working(&self, after: &str) {
        let start = self.round_trips.load(Ordering::Relaxed);
        eventually(
            15,
            &format!("good client still served after {after}"),
            || {
                let now = self.round_trips.load(Ordering::Relaxed);
                async move { (now >= start + 10).then_some(()) }
            },
        )
        .await;
    }
}

impl Drop for GoodClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The hub under attack, with low limits so they are reached quickly.
fn hub() -> HubProcess {
    HubProcess::start(&[
        "--max-connections",
        "30",
        "--max-packet-bytes",
        "4096",
        "--max-queued-messages",
        "100",
    ])
}

/// Two connections with the same client id containing '/': each gets a CONNACK, the later
/// one takes the session over, and the id stays usable.
#[tokio::test]
async fn slash_client_id_connecting_twice() {
    let hub = hub();
    let good = GoodClient::start(hub.port());
    good.assert_working("start").await;
    within(60, "slash ids", async {
        for v5 in [false, true] {
            let c = Connect::version(v5, "kitchen/sensor/1");
            let mut a = Raw::connect(hub.mqtt).await;
            let mut b = Raw::connect(hub.mqtt).await;
            a.send(&c.encode()).await;
            b.send(&c.encode()).await;
            assert_eq!(a.recv().await.expect("CONNACK").kind(), raw::CONNACK);
            assert_eq!(b.recv().await.expect("CONNACK").kind(), raw::CONNACK);
            drop((a, b));
            let (mut r, _) = Raw::retry_handshake(hub.mqtt, &c).await;
            r.send(&raw::subscribe(v5, 1, "kitchen/#", 0)).await;
            r.recv_kind(raw::SUBACK).await;
        }
    })
    .await;
    good.assert_working("slash client ids").await;
}

/// More sessions than the limit: the excess is refused with "server unavailable" (3.1.1
/// return code 3; MQTT 5 reason 0x97 quota exceeded or 0x88/0x89), the others stay up, and
/// once the storm passes new clients connect again.
#[tokio::test]
async fn connection_storm_beyond_the_limit() {
    let hub = hub();
    let good = GoodClient::start(hub.port());
    good.assert_working("start").await;
    within(90, "storm", async {
        let mut held = Vec::new();
        let mut refused = Vec::new();
        for i in 0..60 {
            let id = format!("storm-{i}");
            let v5 = i % 2 == 1;
            let c = Connect::version(v5, &id);
            let mut r = Raw::connect(hub.mqtt).await;
            r.send(&c.encode()).await;
            match r.recv().await {
                Some(p) => {
                    let (_, code) = p.connack();
                    if code == 0 {
                        held.push(r);
                    } else {
                        refused.push((v5, code));
                    }
                }
                None => refused.push((v5, 255)),
            }
        }
        assert!(
            !refused.is_empty(),
            "no connection was refused past the limit"
        );
        assert!(
            held.len() <= 30,
            "{} sessions accepted past a limit of 30",
            held.len()
        );
        for (v5, code) in &refused {
            if *v5 {
                assert!(
                    [0x97, 0x88, 0x89].contains(code),
                    "v5 refusal code {code:#x}"
                );
            } else {
                assert_eq!(*code, 3, "3.1.1 refusal code");
            }
        }
        // A reconnect storm on one id: connect and drop as fast as possible.
        for _ in 0..200 {
            let mut r = Raw::connect(hub.mqtt).await;
            let _ = r.try_send(&Connect::v311("flapper").encode()).await;
        }
        drop(held);
        let c = Connect::v311("after-storm");
        Raw::retry_handshake(hub.mqtt, &c).await;
    })
    .await;
    good.assert_working("connection storm").await;
}

/// A PUBLISH larger than the limit disconnects its sender (MQTT 5: DISCONNECT 0x95 when
/// sent); nobody receives the payload.
#[tokio::test]
async fn oversized_payload_disconnects_the_sender() {
    let hub = hub();
    let good = GoodClient::start(hub.port());
    good.assert_working("start").await;
    within(30, "oversized", async {
        let (mut watcher, _) = Raw::handshake(hub.mqtt, &Connect::v311("big-watch")).await;
        watcher.send(&raw::subscribe(false, 1, "t/big", 0)).await;
        watcher.recv_kind(raw::SUBACK).await;
        for v5 in [false, true] {
            let id = format!("big-{v5}");
            let c = Connect::version(v5, &id);
            let (mut r, _) = Raw::handshake(hub.mqtt, &c).await;
            let big = vec![b'x'; 8192];
            let _ = r
                .try_send(&raw::publish(v5, "t/big", &big, 1, 1, false, false))
                .await;
            match r.recv().await {
                None => {}
                Some(p) if p.kind() == raw::DISCONNECT => {
                    assert!(v5, "DISCONNECT sent to a 3.1.1 client");
                    assert_eq!(p.body.first().copied(), Some(0x95), "{p:?}");
                }
                Some(p) => panic!("oversized publish was answered with {p:?}"),
            }
        }
        assert!(
            watcher
                .recv_within(Duration::from_millis(500))
                .await
                .is_err(),
            "the oversized payload was delivered"
        );
    })
    .await;
    good.assert_working("oversized payloads").await;
}

/// Malformed bytes close the connection (or get a CONNACK refusal) and harm nobody else.
#[tokio::test]
async fn malformed_packets_are_refused() {
    let hub = hub();
    let good = GoodClient::start(hub.port());
    good.assert_working("start").await;
    within(60, "malformed", async {
        let bad_protocol = {
            let mut c = Connect::v311("badproto").encode();
            c[4] = b'X'; // "MXTT"
            c
        };
        let bad_level = {
            let mut c = Connect::v311("badlevel").encode();
            c[8] = 9; // protocol level 9
            c
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "http request",
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            ),
            ("random bytes", vec![0xff; 64]),
            (
                "bad remaining length",
                vec![0x10, 0xff, 0xff, 0xff, 0xff, 0x7f],
            ),
            ("bad protocol name", bad_protocol),
            ("bad protocol level", bad_level),
            (
                "publish before connect",
                raw::publish(false, "t", b"x", 0, 0, false, false),
            ),
        ];
        for (what, bytes) in cases {
            let mut r = Raw::connect(hub.mqtt).await;
            let _ = r.try_send(&bytes).await;
            match r.recv_within(Duration::from_secs(15)).await {
                Ok(None) => {}
                Ok(Some(p)) if p.kind() == raw::CONNACK => {
                    assert_ne!(p.connack().1, 0, "{what}: accepted");
                }
                Ok(Some(p)) => panic!("{what}: answered with {p:?}"),
                Err(()) => panic!("{what}: connection left open"),
            }
        }
        // After a valid CONNECT: a reserved packet type and a PUBLISH with QoS 3.
        for (what, bytes) in [
            ("reserved packet type", vec![0x00, 0x00]),
            (
                "qos 3 publish",
                vec![0x36, 0x05, 0x00, 0x01, b't', 0x00, 0x01],
            ),
        ] {
            // One client id per case: reusing one right after the broker closed it can hit
            // rmqtt's reconnect race (see ARCHITECTURE.md).
            let (mut r, _) = Raw::handshake(hub.mqtt, &Connect::v311(what)).await;
            r.send(&bytes).await;
            match r.recv_within(Duration::from_secs(15)).await {
                Ok(None) => {}
                Ok(Some(p)) => panic!("{what}: answered with {p:?}"),
                Err(()) => panic!("{what}: connection left open"),
            }
        }
    })
    .await;
    good.assert_working("malformed packets").await;
}

/// Connections that send nothing, or a CONNECT cut short, hold a socket each: rmqtt 0.24
/// applies no timeout before the first packet is decoded (see ARCHITECTURE.md). They must
/// not block anyone else.
#[tokio::test]
async fn silent_and_truncated_connections_do_not_block_others() {
    let hub = hub();
    let good = GoodClient::start(hub.port());
    good.assert_working("start").await;
    within(60, "half-open", async {
        let mut idle = Vec::new();
        for i in 0..100 {
            let mut r = Raw::connect(hub.mqtt).await;
            if i % 2 == 0 {
                r.send(&Connect::v311("trunc").encode()[..8]).await;
            }
            idle.push(r);
        }
        good.assert_working("100 half-open connections").await;
        Raw::retry_handshake(hub.mqtt, &Connect::v5("beside-half-open")).await;
    })
    .await;
}

/// A subscriber that never reads while a publisher floods its topic: its queue is bounded
/// (the hub's memory stays bounded) and everyone else is served.
#[tokio::test]
async fn slow_reader_does_not_stall_others() {
    let mut hub = hub();
    let good = GoodClient::start(hub.port());
    good.assert_working("start").await;
    let before = hub.rss_kib();
    within(120, "slow reader", async {
        let (mut slow, _) = Raw::handshake(hub.mqtt, &Connect::v311("slow-reader")).await;
        slow.send(&raw::subscribe(false, 1, "t/flood", 1)).await;
        slow.recv_kind(raw::SUBACK).await;
        // From here on `slow` never reads again.
        let (mut p, _) = Raw::handshake(hub.mqtt, &Connect::v311("flooder")).await;
        let payload = vec![b'f'; 2000];
        let mut batch = Vec::new();
        for i in 0..20_000u32 {
            batch.extend(raw::publish(false, "t/flood", &payload, 0, 0, false, false));
            if i % 500 == 499 {
                if !p.try_send(&batch).await {
                    break;
                }
                batch.clear();
            }
        }
        good.assert_working("a 40 MB flood to a slow reader").await;
        drop(slow);
    })
    .await;
    assert!(hub.is_running());
    let after = hub.rss_kib();
    // 40 MB were sent to a reader that took none of it: the queue limit (100 messages) must
    // have dropped nearly all of it rather than buffering it.
    assert!(
        after < before + 64 * 1024,
        "hub memory grew from {before} KiB to {after} KiB"
    );
}
