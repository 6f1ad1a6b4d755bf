//! Flow control, tried with real clients against a real `hearthd`: a QoS 1 or 2 publisher
//! whose subscriber stops reading is held back rather than having its messages dropped,
//! every message arrives once the subscriber reads again, a subscriber that never reads
//! holds publishers back only for the pace limit, and the recorder keeps every reading of a
//! burst larger than any of its queues.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{HubProcess, count_rows, eventually, listeners_off, open_db, within};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};

fn options(id: &str, port: u16) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(60));
    o
}

/// Polls until the CONNACK and the SUBACK of `filter` at `qos`.
async fn subscribed(client: &AsyncClient, el: &mut EventLoop, filter: &str, qos: QoS) {
    client.subscribe(filter, qos).await.unwrap();
    within(10, "SUBACK", async {
        loop {
            if let Event::Incoming(Packet::SubAck(_)) = el.poll().await.expect("subscriber") {
                return;
            }
        }
    })
    .await;
}

/// A subscriber to `filter` that acknowledges only when the test says (`client.ack`).
async fn manual_subscriber(
    id: &str,
    port: u16,
    filter: &str,
    qos: QoS,
) -> (AsyncClient, EventLoop) {
    let mut o = options(id, port);
    o.set_manual_acks(true);
    let (client, mut el) = AsyncClient::new(o, 100);
    subscribed(&client, &mut el, filter, qos).await;
    (client, el)
}

/// Waits until the broker has acknowledged `n` publishes counted by [`publisher`].
async fn all_acknowledged(acked: &AtomicUsize, n: usize, what: &str) {
    eventually(30, what, || {
        let a = acked.load(Ordering::Relaxed);
        async move { (a == n).then_some(()) }
    })
    .await;
}

/// Publishes `n` messages numbered from 0 on its own task; returns how many the broker has
/// acknowledged so far (PUBACK, or PUBCOMP for QoS 2).
fn publisher(id: &str, port: u16, topic: &str, qos: QoS, n: usize) -> Arc<AtomicUsize> {
    let mut o = options(id, port);
    // MQTT 3.1.1 has no Receive Maximum: the broker's window (max-inflight, 32) is the limit.
    o.set_inflight(32);
    let (client, mut el) = AsyncClient::new(o, 1000);
    let acked = Arc::new(AtomicUsize::new(0));
    let a = acked.clone();
    tokio::spawn(async move {
        loop {
            let e = match el.poll().await {
                Ok(e) => e,
                Err(e) => panic!("publisher {e:?}"),
            };
            if let Event::Incoming(Packet::PubAck(_) | Packet::PubComp(_)) = e {
                a.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let topic = topic.to_string();
    tokio::spawn(async move {
        for i in 0..n {
            client
                .publish(&topic, qos, false, i.to_string())
                .await
                .unwrap();
        }
        // Kept open: a dropped client ends its event loop before its last QoS 0 messages leave.
        std::future::pending::<()>().await;
    });
    acked
}

/// A subscriber that takes messages without acknowledging them for 2 s, then
/// acknowledges those and every later one, until it holds `n` distinct messages.
async fn stalled_subscriber_gets_everything(qos: QoS) {
    const N: usize = 3000;
    let hub = HubProcess::start(&listeners_off(&["--mqtt-listen"]));
    let port = hub.mqtt.port();
    let (sub, mut sel) = manual_subscriber("slow-reader", port, "flow/t", qos).await;
    let acked = publisher("fast-writer", port, "flow/t", qos, N);

    let mut held = Vec::new();
    let mut seen = HashSet::new();
    // Shorter than the pace limit (3 s), past which it would be taken for stalled.
    let stall = tokio::time::sleep(Duration::from_secs(2));
    tokio::pin!(stall);
    loop {
        tokio::select! {
            _ = &mut stall => break,
            e = sel.poll() => {
                if let Event::Incoming(Packet::Publish(p)) = e.expect("subscriber") {
                    seen.insert(p.payload.clone());
                    held.push(p);
                }
            }
        }
    }
    let during = acked.load(Ordering::Relaxed);
    // The broker sends at most max-inflight (32) unacknowledged, then queues up to 1000.
    assert!(
        during < N && held.len() <= 32,
        "the publisher was not held back: {during} of {N} acknowledged, {} delivered unacknowledged",
        held.len()
    );
    for p in held.drain(..) {
        sub.ack(&p).await.unwrap();
    }
    within(60, "every message delivered", async {
        while seen.len() < N {
            if let Event::Incoming(Packet::Publish(p)) = sel.poll().await.expect("subscriber") {
                seen.insert(p.payload.clone());
                sub.ack(&p).await.unwrap();
            }
        }
    })
    .await;
    all_acknowledged(&acked, N, "every publish acknowledged").await;
    let expected: HashSet<_> = (0..N).map(|i| bytes::Bytes::from(i.to_string())).collect();
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos1_publisher_waits_for_a_stalled_subscriber_and_nothing_is_lost() {
    stalled_subscriber_gets_everything(QoS::AtLeastOnce).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos2_publisher_waits_for_a_stalled_subscriber_and_nothing_is_lost() {
    stalled_subscriber_gets_everything(QoS::ExactlyOnce).await;
}

/// A subscriber that never acknowledges holds a publisher back for the pace limit once, then
/// no more: one stuck client cannot stop a house's sensors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_reads_holds_publishers_only_for_the_pace_limit() {
    const N: usize = 3000;
    let mut flags = listeners_off(&["--mqtt-listen"]);
    flags.extend(["--pace-limit", "1"]);
    let hub = HubProcess::start(&flags);
    let port = hub.mqtt.port();
    let (sub, mut sel) =
        manual_subscriber("stuck-reader", port, "flow/stuck", QoS::AtLeastOnce).await;
    tokio::spawn(async move { while sel.poll().await.is_ok() {} });
    let acked = publisher("steady-writer", port, "flow/stuck", QoS::AtLeastOnce, N);
    all_acknowledged(
        &acked,
        N,
        "every publish acknowledged past the stuck reader",
    )
    .await;
    drop(sub);
}

/// 100,000 readings from four clients at once, QoS 0 and 1, faster than the recorder's queue
/// of 8,192 drains: every one is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorder_keeps_every_reading_of_a_burst_larger_than_its_queues() {
    const EACH: usize = 25_000;
    let hub = HubProcess::start(&listeners_off(&["--mqtt-listen"]));
    let port = hub.mqtt.port();
    let qos = [
        QoS::AtMostOnce,
        QoS::AtMostOnce,
        QoS::AtLeastOnce,
        QoS::AtLeastOnce,
    ];
    for (i, q) in qos.into_iter().enumerate() {
        let topic = format!("home/burst{i}/temperature");
        publisher(&format!("burst-{i}"), port, &topic, q, EACH);
    }
    let db = open_db(&hub.db_path()).await;
    for i in 0..qos.len() {
        let topic = format!("home/burst{i}/temperature");
        eventually(120, "every reading of the burst stored", || {
            let (db, topic) = (&db, &topic);
            async move {
                let n = count_rows(db, topic, "").await;
                (n as usize >= EACH).then_some(n)
            }
        })
        .await;
        assert_eq!(count_rows(&db, &topic, "").await as usize, EACH, "{topic}");
    }
}

/// A client's own queue does not drain while it waits, so a publisher never waits for its
/// own full queue (an automation that subscribes to `#` and publishes commands).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_never_waits_for_its_own_queue() {
    let mut flags = listeners_off(&["--mqtt-listen"]);
    flags.extend(["--pace-limit", "3"]);
    let hub = HubProcess::start(&flags);
    let port = hub.mqtt.port();
    let (me, mut mel) = manual_subscriber("automation", port, "auto/#", QoS::AtLeastOnce).await;
    // Its queue fills with a sensor's messages it does not acknowledge.
    let sensor = publisher("auto-sensor", port, "auto/sensor", QoS::AtLeastOnce, 2000);
    eventually(
        30,
        "the sensor held back by the automation's full queue",
        || {
            let a = sensor.load(Ordering::Relaxed);
            async move { (a > 500).then_some(()) }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    me.publish("auto/command", QoS::AtLeastOnce, false, "ON")
        .await
        .unwrap();
    // Well within the pace limit: it did not wait for its own queue.
    within(1, "the automation's own publish acknowledged", async {
        loop {
            if let Event::Incoming(Packet::PubAck(_)) = mel.poll().await.expect("automation") {
                return;
            }
        }
    })
    .await;
}

/// Ten QoS 1 publishers flooding one subscriber that reads as fast as it can: rmqtt routes
/// through an unbounded channel before the subscriber's queue, so pacing on the queue's
/// length alone let a quarter of the messages be dropped here; none is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_publishers_flooding_one_subscriber_lose_nothing() {
    const EACH: usize = 3000;
    let hub = HubProcess::start(&listeners_off(&["--mqtt-listen"]));
    let port = hub.mqtt.port();
    let (sub, mut sel) = AsyncClient::new(options("fan-in", port), 100);
    subscribed(&sub, &mut sel, "fan/+", QoS::AtLeastOnce).await;
    for i in 0..10 {
        publisher(
            &format!("fan-{i}"),
            port,
            &format!("fan/{i}"),
            QoS::AtLeastOnce,
            EACH,
        );
    }
    let mut seen = HashSet::new();
    within(120, "every message of ten publishers", async {
        while seen.len() < 10 * EACH {
            if let Event::Incoming(Packet::Publish(p)) = sel.poll().await.expect("subscriber") {
                seen.insert((p.topic.clone(), p.payload.clone()));
            }
        }
    })
    .await;
}
