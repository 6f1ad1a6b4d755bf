//! The embedded broker's MQTT semantics, driven over real sockets against a `hearthd` per
//! test: delivered QoS, QoS 2 exactly once across DUP retransmits, keepalive 0, retained
//! messages across a restart, last will, persistent sessions and session expiry, `$SYS`,
//! `$` in inner topic levels (Homie), WebSocket, and both protocol versions on one port.

mod common;

use std::time::Duration;

use common::raw::{self, Connect, Raw};
use common::{HubProcess, mosquitto_pub, mosquitto_sub, within};

/// A message is delivered at the lower of the publish QoS and the subscription QoS.
#[tokio::test]
async fn delivered_qos_is_the_minimum_of_publish_and_subscription() {
    let hub = HubProcess::start(&[]);
    within(30, "min qos", async {
        for v5 in [false, true] {
            for sub_qos in 0..=2u8 {
                for pub_qos in 0..=2u8 {
                    let id = format!("minqos-sub-{v5}-{sub_qos}-{pub_qos}");
                    let topic = format!("t/minqos/{v5}/{sub_qos}/{pub_qos}");
                    let c = Connect::version(v5, &id);
                    let (mut sub, _) = Raw::handshake(hub.mqtt, &c).await;
                    sub.send(&raw::subscribe(v5, 1, &topic, sub_qos)).await;
                    let ack = sub.recv_kind(raw::SUBACK).await;
                    assert_eq!(*ack.body.last().unwrap(), sub_qos);

                    let pid = format!("minqos-pub-{v5}-{sub_qos}-{pub_qos}");
                    let (mut p, _) = Raw::handshake(hub.mqtt, &Connect::v311(&pid)).await;
                    p.send(&raw::publish(false, &topic, b"x", pub_qos, 7, false, false))
                        .await;
                    let got = sub.recv_kind(raw::PUBLISH).await;
                    assert_eq!(
                        got.qos(),
                        sub_qos.min(pub_qos),
                        "v5={v5} sub={sub_qos} pub={pub_qos}"
                    );
                    assert_eq!(got.publish(v5).2, b"x");
                }
            }
        }
    })
    .await;
}

/// A QoS 2 PUBLISH retransmitted with DUP before PUBREL is answered with PUBREC and
/// delivered once; the next message is released by its own PUBREL, not one late.
#[tokio::test]
async fn qos2_is_exactly_once_across_dup_retransmits() {
    let hub = HubProcess::start(&[]);
    within(30, "qos2 dup", async {
        let (mut sub, _) = Raw::handshake(hub.mqtt, &Connect::v311("q2-sub")).await;
        sub.send(&raw::subscribe(false, 1, "t/q2", 2)).await;
        sub.recv_kind(raw::SUBACK).await;

        let (mut p, _) = Raw::handshake(hub.mqtt, &Connect::v311("q2-pub")).await;
        p.send(&raw::publish(false, "t/q2", b"first", 2, 1, false, false))
            .await;
        assert_eq!(p.recv_kind(raw::PUBREC).await.pid(), 1);
        p.send(&raw::publish(false, "t/q2", b"first", 2, 1, true, false))
            .await;
        assert_eq!(p.recv_kind(raw::PUBREC).await.pid(), 1);
        p.send(&raw::ack(raw::PUBREL, 1)).await;
        assert_eq!(p.recv_kind(raw::PUBCOMP).await.pid(), 1);

        p.send(&raw::publish(false, "t/q2", b"second", 2, 2, false, false))
            .await;
        assert_eq!(p.recv_kind(raw::PUBREC).await.pid(), 2);
        p.send(&raw::ack(raw::PUBREL, 2)).await;
        assert_eq!(p.recv_kind(raw::PUBCOMP).await.pid(), 2);

        let mut payloads = Vec::new();
        let mut completed = 0;
        while completed < 2 {
            let m = sub.recv().await.expect("connection closed");
            match m.kind() {
                raw::PUBLISH => {
                    assert_eq!(m.qos(), 2);
                    let (_, pid, payload) = m.publish(false);
                    payloads.push(payload);
                    sub.send(&raw::ack(raw::PUBREC, pid.unwrap())).await;
                }
                raw::PUBREL => {
                    sub.send(&raw::ack(raw::PUBCOMP, m.pid())).await;
                    completed += 1;
                }
                _ => panic!("unexpected {m:?}"),
            }
        }
        assert_eq!(payloads, vec![b"first".to_vec(), b"second".to_vec()]);
        assert!(
            sub.recv_within(Duration::from_millis(500)).await.is_err(),
            "a duplicate was delivered"
        );
    })
    .await;
}

/// Keepalive 0 ("no keepalive") is accepted in both versions, and such a client is not
/// disconnected for silence.
#[tokio::test]
async fn keepalive_zero_is_accepted() {
    let hub = HubProcess::start(&[]);
    within(30, "keepalive 0", async {
        for v5 in [false, true] {
            let id = format!("ka0-{v5}");
            let mut c = Connect::version(v5, &id);
            c.keepalive = 0;
            let (mut r, _) = Raw::handshake(hub.mqtt, &c).await;
            assert!(r.recv_within(Duration::from_secs(2)).await.is_err());
            r.send(&raw::subscribe(v5, 3, "t/ka0", 0)).await;
            r.recv_kind(raw::SUBACK).await;
        }
    })
    .await;
}

/// Retained messages survive a restart (kept in the hub's SQLite file); an empty retained
/// payload deletes one for good.
#[tokio::test]
async fn retained_messages_survive_a_restart() {
    let hub = HubProcess::start(&[]);
    mosquitto_pub(
        hub.port(),
        &["-t", "home/hall/light", "-m", "ON", "-r", "-q", "1"],
    );
    mosquitto_pub(
        hub.port(),
        &["-t", "home/ghost/light", "-m", "ON", "-r", "-q", "1"],
    );
    mosquitto_pub(
        hub.port(),
        &["-t", "home/ghost/light", "-r", "-n", "-q", "1"],
    );
    let hub = hub.restart();
    let lines = mosquitto_sub(hub.port(), 3, &["-t", "home/#", "-v"]);
    assert_eq!(lines, vec!["home/hall/light ON".to_string()]);
    // And the same through MQTT 5.
    let lines = mosquitto_sub(
        hub.port(),
        3,
        &["-V", "5", "-t", "home/+/light", "-v", "-C", "1"],
    );
    assert_eq!(lines, vec!["home/hall/light ON".to_string()]);
}

/// A client that vanishes without DISCONNECT has its will published; one that disconnects
/// cleanly does not.
#[tokio::test]
async fn last_will_is_sent_on_unclean_disconnect() {
    let hub = HubProcess::start(&[]);
    within(30, "will", async {
        let (mut sub, _) = Raw::handshake(hub.mqtt, &Connect::v311("will-watch")).await;
        sub.send(&raw::subscribe(false, 1, "home/+/status", 1))
            .await;
        sub.recv_kind(raw::SUBACK).await;

        for v5 in [false, true] {
            let clean_id = format!("will-clean-{v5}");
            let mut c = Connect::version(v5, &clean_id);
            c.will = Some(("home/porch/status", b"offline", 1, false));
            let (mut clean, _) = Raw::handshake(hub.mqtt, &c).await;
            clean.send(&raw::disconnect()).await;
            drop(clean);
            let vanish_id = format!("will-vanish-{v5}");
            c.client_id = &vanish_id;
            let (vanishing, _) = Raw::handshake(hub.mqtt, &c).await;
            drop(vanishing);
            let m = sub.recv_kind(raw::PUBLISH).await;
            assert_eq!(m.publish(false).0, "home/porch/status");
            assert_eq!(m.publish(false).2, b"offline");
            if let (_, Some(pid), _) = m.publish(false) {
                sub.send(&raw::ack(raw::PUBACK, pid)).await;
            }
        }
        if let Ok(extra) = sub.recv_within(Duration::from_millis(500)).await {
            panic!(
                "unexpected extra message {:?}",
                extra.map(|p| p.publish(false))
            );
        }
    })
    .await;
}

/// A persistent session keeps its subscription and queues QoS 1 messages while offline;
/// in MQTT 5 the session ends when its expiry interval passes.
#[tokio::test]
async fn persistent_sessions_and_session_expiry() {
    let hub = HubProcess::start(&[]);
    within(60, "sessions", async {
        // MQTT 3.1.1, clean session = 0.
        let mut c = Connect::v311("persist-311");
        c.clean = false;
        let (mut s, _) = Raw::handshake(hub.mqtt, &c).await;
        s.send(&raw::subscribe(false, 1, "t/persist/311", 1)).await;
        s.recv_kind(raw::SUBACK).await;
        s.send(&raw::disconnect()).await;
        drop(s);
        let (mut p, _) = Raw::handshake(hub.mqtt, &Connect::v311("persist-pub")).await;
        p.send(&raw::publish(
            false,
            "t/persist/311",
            b"queued",
            1,
            1,
            false,
            false,
        ))
        .await;
        p.recv_kind(raw::PUBACK).await;
        let (mut s, present) = Raw::retry_handshake(hub.mqtt, &c).await;
        assert!(present, "3.1.1 session was not kept");
        let m = s.recv_kind(raw::PUBLISH).await;
        assert_eq!(m.publish(false).2, b"queued");

        // MQTT 5, session expiry 2 s.
        let mut c = Connect::v5("persist-5");
        c.clean = false;
        c.session_expiry = Some(2);
        let (mut s, _) = Raw::handshake(hub.mqtt, &c).await;
        s.send(&raw::subscribe(true, 1, "t/persist/5", 1)).await;
        s.recv_kind(raw::SUBACK).await;
        s.send(&raw::disconnect()).await;
        drop(s);
        p.send(&raw::publish(
            false,
            "t/persist/5",
            b"kept",
            1,
            2,
            false,
            false,
        ))
        .await;
        p.recv_kind(raw::PUBACK).await;
        let (mut s, present) = Raw::retry_handshake(hub.mqtt, &c).await;
        assert!(present, "v5 session ended before its expiry");
        assert_eq!(s.recv_kind(raw::PUBLISH).await.publish(true).2, b"kept");
        s.send(&raw::disconnect()).await;
        drop(s);
        // The expiry is the behaviour under test: wait past it.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let (_s, present) = Raw::retry_handshake(hub.mqtt, &c).await;
        assert!(!present, "v5 session outlived its expiry interval");
    })
    .await;
}

/// `$SYS` topics report client events and broker statistics.
#[tokio::test]
async fn sys_topics_are_published() {
    let hub = HubProcess::start(&["--sys-interval", "1"]);
    within(30, "$SYS", async {
        let (mut sub, _) = Raw::handshake(hub.mqtt, &Connect::v311("sys-watch")).await;
        sub.send(&raw::subscribe(false, 1, "$SYS/brokers/+/stats", 0))
            .await;
        sub.recv_kind(raw::SUBACK).await;
        let m = sub.recv_kind(raw::PUBLISH).await;
        let (topic, _, payload) = m.publish(false);
        assert!(topic.starts_with("$SYS/brokers/"), "{topic}");
        let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert!(v["connections.count"].as_i64().unwrap() >= 1, "{v}");
        // `#` does not match `$SYS` topics (MQTT-4.7.2-1).
        let lines = mosquitto_sub(hub.port(), 2, &["-t", "#", "-v"]);
        assert!(lines.iter().all(|l| !l.starts_with("$SYS")), "{lines:?}");
    })
    .await;
}

/// A `$` at the start of an inner level is ordinary (only a leading `$` is reserved,
/// MQTT-4.7.2-1): Homie's `homie/dev/$state` is accepted as a publish, a retained message
/// and a last will, and delivered to `homie/#`, `homie/+/$state` and `homie/dev/+`, as
/// Mosquitto does; `#` still does not match `$SYS`.
#[tokio::test]
async fn dollar_in_inner_levels_is_an_ordinary_topic() {
    let hub = HubProcess::start(&["--sys-interval", "1"]);
    let port = hub.port();
    within(30, "inner $", async {
        // Retained, from an independent client: a late subscriber gets it.
        mosquitto_pub(
            port,
            &["-t", "homie/dev/$state", "-m", "init", "-r", "-q", "1"],
        );
        for filter in ["homie/#", "homie/+/$state", "homie/dev/+", "+/dev/$state"] {
            let got = mosquitto_sub(port, 2, &["-t", filter, "-v", "-C", "1"]);
            assert_eq!(got, vec!["homie/dev/$state init"], "{filter}");
        }
        // Live, in both protocol versions, over a subscription with `$` in the filter.
        let (mut sub, _) = Raw::handshake(hub.mqtt, &Connect::v5("dollar-watch")).await;
        sub.send(&raw::subscribe(true, 1, "homie/+/$state", 1))
            .await;
        let ack = sub.recv_kind(raw::SUBACK).await;
        assert_eq!(ack.body.last(), Some(&1), "granted QoS 1");
        // The retained `init` arrives first.
        let m = sub.recv_kind(raw::PUBLISH).await;
        ack_publish(&mut sub, &m, true).await;
        for v5 in [false, true] {
            let id = format!("homie-dev-{v5}");
            let mut c = Connect::version(v5, &id);
            c.will = Some(("homie/dev/$state", b"lost", 1, true));
            let (mut dev, _) = Raw::handshake(hub.mqtt, &c).await;
            dev.send(&raw::publish(
                v5,
                "homie/dev/$state",
                b"ready",
                1,
                7,
                false,
                true,
            ))
            .await;
            dev.recv_kind(raw::PUBACK).await;
            let m = sub.recv_kind(raw::PUBLISH).await;
            assert_eq!(m.publish(true).0, "homie/dev/$state");
            assert_eq!(m.publish(true).2, b"ready");
            ack_publish(&mut sub, &m, true).await;
            // The connection ends without DISCONNECT: the will is published, and retained.
            drop(dev);
            let m = sub.recv_kind(raw::PUBLISH).await;
            assert_eq!(m.publish(true).2, b"lost", "the will");
            ack_publish(&mut sub, &m, true).await;
        }
        let got = mosquitto_sub(port, 2, &["-t", "homie/dev/$state", "-v", "-C", "1"]);
        assert_eq!(got, vec!["homie/dev/$state lost"], "the will was retained");
        // A leading `$` stays reserved.
        let lines = mosquitto_sub(port, 2, &["-t", "#", "-v"]);
        assert!(lines.iter().all(|l| !l.starts_with("$SYS")), "{lines:?}");
        assert!(
            lines.iter().any(|l| l == "homie/dev/$state lost"),
            "{lines:?}"
        );
        let lines = mosquitto_sub(port, 2, &["-t", "+/brokers/#", "-v"]);
        assert!(lines.is_empty(), "{lines:?}");
    })
    .await;
}

async fn ack_publish(c: &mut Raw, m: &raw::Packet, v5: bool) {
    if let (_, Some(pid), _) = m.publish(v5) {
        c.send(&raw::ack(raw::PUBACK, pid)).await;
    }
}

/// MQTT over WebSocket, both protocol versions, with the `mqtt` subprotocol.
#[tokio::test]
async fn websocket_listener_speaks_both_versions() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let hub = HubProcess::start(&[]);
    let ws = hub.ws.expect("ws listener");
    within(30, "websocket", async {
        for v5 in [false, true] {
            let mut req = format!("ws://{ws}/mqtt").into_client_request().unwrap();
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
            let (mut conn, _) = tokio_tungstenite::connect_async(req).await.unwrap();
            let id = format!("ws-{v5}");
            let c = Connect::version(v5, &id);
            conn.send(Message::binary(c.encode())).await.unwrap();
            let Some(Ok(Message::Binary(b))) = conn.next().await else {
                panic!("no CONNACK over WebSocket");
            };
            assert_eq!(b[0] >> 4, raw::CONNACK);
            assert_eq!(b[3], 0, "CONNACK refused: {b:?}");
            conn.send(Message::binary(raw::subscribe(v5, 1, "home/ws/+", 0)))
                .await
                .unwrap();
            let Some(Ok(Message::Binary(b))) = conn.next().await else {
                panic!("no SUBACK over WebSocket");
            };
            assert_eq!(b[0] >> 4, raw::SUBACK);
            mosquitto_pub(hub.port(), &["-t", "home/ws/temperature", "-m", "20"]);
            let Some(Ok(Message::Binary(b))) = conn.next().await else {
                panic!("no PUBLISH over WebSocket");
            };
            assert_eq!(b[0] >> 4, raw::PUBLISH);
            assert!(b.ends_with(b"20"));
        }
    })
    .await;
}

/// MQTT 3.1.1 and 5 clients talk to each other on the same port.
#[tokio::test]
async fn both_versions_share_one_port() {
    let hub = HubProcess::start(&[]);
    within(30, "mixed versions", async {
        let (mut s5, _) = Raw::handshake(hub.mqtt, &Connect::v5("mixed-5")).await;
        s5.send(&raw::subscribe(true, 1, "t/mixed", 1)).await;
        s5.recv_kind(raw::SUBACK).await;
        mosquitto_pub(
            hub.port(),
            &["-V", "311", "-t", "t/mixed", "-m", "from-311"],
        );
        assert_eq!(
            s5.recv_kind(raw::PUBLISH).await.publish(true).2,
            b"from-311"
        );
    })
    .await;
}
