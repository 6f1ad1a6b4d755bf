//! Topics as MQTT Explorer shows them: retained marks that say what the broker holds (set by
//! a live retained publish, cleared by an empty one, untouched by a plain one, replayed
//! after a restart with their age), each topic's last messages with their flags, publishing
//! through the hub's client (bad input refused with 400s), clearing a retained message (a
//! discovery config's device goes with it), the retained view's traps, `topics_changed`
//! coalesced, and an external Mosquitto.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::api::{Events, get, post};
use common::{
    HubProcess, Mosquitto, count_rows, eventually, mosquitto_pub, mosquitto_pub_lines,
    mosquitto_sub, open_db,
};
use hearth::{BrokerMode, Config, Hub, PublishRequest};
use serde_json::{Value, json};

/// Every topic's row in `/api/topics`, flattened.
async fn topics(http: SocketAddr) -> Vec<Value> {
    fn walk(nodes: &Value, out: &mut Vec<Value>) {
        for n in nodes.as_array().into_iter().flatten() {
            if !n["info"].is_null() {
                out.push(n["info"].clone());
            }
            walk(&n["children"], out);
        }
    }
    let (status, tree) = get(http, "/api/topics").await;
    assert_eq!(status, 200);
    let mut out = Vec::new();
    walk(&tree, &mut out);
    out
}

async fn topic(http: SocketAddr, name: &str) -> Option<Value> {
    topics(http).await.into_iter().find(|t| t["topic"] == name)
}

/// Waits until `name`'s row satisfies `pred`.
async fn topic_until(http: SocketAddr, name: &str, what: &str, pred: fn(&Value) -> bool) -> Value {
    eventually(
        10,
        what,
        || async move { topic(http, name).await.filter(pred) },
    )
    .await
}

async fn messages(http: SocketAddr, name: &str) -> Vec<Value> {
    let (status, body) = get(http, &format!("/api/topics/messages?topic={name}")).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

async fn delete(http: SocketAddr, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .delete(format!("http://{http}{path}"))
        .send()
        .await
        .expect("DELETE");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn retained_report(http: SocketAddr) -> Value {
    let (status, body) = get(http, "/api/topics/retained").await;
    assert_eq!(status, 200);
    body
}

/// What the broker replays to a new subscriber of `topic`, by `mosquitto_sub`.
fn broker_retains(port: u16, topic: &str) -> Vec<String> {
    mosquitto_sub(port, 1, &["-t", topic, "--retained-only", "-C", "1"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_marks_say_what_the_broker_holds() {
    let hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    let port = hub.port();
    mosquitto_pub(port, &["-t", "t/kept", "-m", "1", "-r", "-q", "1"]);
    mosquitto_pub(port, &["-t", "t/plain", "-m", "x", "-q", "1"]);
    let kept = topic_until(http, "t/kept", "t/kept seen", |t| t["messages"] == 1).await;
    assert_eq!(
        kept["retained"], true,
        "a live retained publish marks: {kept}"
    );
    assert_eq!(kept["qos"], 1);
    let plain = topic_until(http, "t/plain", "t/plain seen", |_| true).await;
    assert_eq!(plain["retained"], false, "{plain}");

    // A plain message leaves the kept one where it is: the broker still holds "1".
    mosquitto_pub(port, &["-t", "t/kept", "-m", "2", "-q", "0"]);
    let kept = topic_until(http, "t/kept", "second message", |t| t["messages"] == 2).await;
    assert_eq!(kept["retained"], true, "{kept}");
    assert_eq!(broker_retains(port, "t/kept"), ["1"]);
    let m = messages(http, "t/kept").await;
    let flags: Vec<_> = m
        .iter()
        .map(|m| {
            (
                m["payload"].clone(),
                m["retained"].clone(),
                m["qos"].clone(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            (json!("1"), json!(true), json!(1)),
            (json!("2"), json!(false), json!(0))
        ]
    );

    // A retained reading published live is a reading, not a replay: it is recorded.
    mosquitto_pub(port, &["-t", "home/attic/temperature", "-m", "21.5", "-r"]);
    eventually(10, "the retained reading recorded", || async move {
        let (s, h) = get(http, "/api/history?topic=home/attic/temperature").await;
        (s == 200).then_some(h)
    })
    .await;

    // The ages come from the broker and survive a restart; what it replays then is marked
    // as a replay, and replays are not recorded again.
    let before = retained_report(http).await;
    let since = |r: &Value| {
        r["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["topic"] == "t/kept")
            .map(|m| m["sinceMs"].clone())
    };
    assert!(since(&before).is_some(), "{before}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let hub = hub.restart();
    let http = hub.http.unwrap();
    let port = hub.port();
    let kept = topic_until(http, "t/kept", "t/kept replayed", |_| true).await;
    assert_eq!(kept["retained"], true);
    let m = messages(http, "t/kept").await;
    assert_eq!(
        (&m[0]["replay"], &m[0]["retained"]),
        (&json!(true), &json!(true))
    );
    // The broker's time and the hub's receipt differ by a millisecond or so; a time reset
    // by the restart would be over a second later.
    let (a, b) = (
        since(&retained_report(http).await)
            .unwrap()
            .as_i64()
            .unwrap(),
        since(&before).unwrap().as_i64().unwrap(),
    );
    assert!(
        (a - b).abs() < 500,
        "since {b} before the restart, {a} after"
    );
    assert!(
        topic(http, "t/plain").await.is_none(),
        "a plain message is not replayed"
    );
    topic_until(http, "home/attic/temperature", "reading replayed", |_| true).await;
    // The recorder commits within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let db = open_db(&hub.db_path()).await;
    assert_eq!(
        count_rows(&db, "home/attic/temperature", "").await,
        1,
        "the replay was recorded again"
    );

    // An empty retained publish clears, and the mark goes.
    mosquitto_pub(port, &["-t", "t/kept", "-n", "-r"]);
    topic_until(http, "t/kept", "mark cleared", |t| t["retained"] == false).await;
    assert!(broker_retains(port, "t/kept").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_messages_are_kept_twenty_deep() {
    let hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    let lines: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
    mosquitto_pub_lines(hub.port(), "t/busy", &lines);
    topic_until(http, "t/busy", "30 messages", |t| t["messages"] == 30).await;
    let m = messages(http, "t/busy").await;
    let payloads: Vec<_> = m.iter().map(|m| m["payload"].as_str().unwrap()).collect();
    let want: Vec<String> = (10..30).map(|i| format!("m{i}")).collect();
    assert_eq!(payloads, want);
    assert!(m.iter().all(|m| m["qos"] == 1 && m["retained"] == false));
    assert!(
        m.windows(2)
            .all(|w| w[0]["atMs"].as_i64() <= w[1]["atMs"].as_i64())
    );
    // A long payload is cut, its size kept.
    let big = "x".repeat(10_000);
    mosquitto_pub(hub.port(), &["-t", "t/big", "-m", &big]);
    topic_until(http, "t/big", "t/big seen", |_| true).await;
    let m = messages(http, "t/big").await;
    assert_eq!(m[0]["payloadBytes"], 10_000);
    assert_eq!(m[0]["payload"].as_str().unwrap().len(), 256);
    let (status, body) = get(http, "/api/topics/messages?topic=never/seen").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, _) = get(http, "/api/topics/messages").await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_checks_its_input_and_the_hub_hears_it() {
    let hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    let port = hub.port();
    let bad = [
        (
            json!({"topic": "home/+/light", "payload": "x"}),
            "bad_topic",
        ),
        (json!({"topic": "home/#", "payload": "x"}), "bad_topic"),
        (
            json!({"topic": "$SYS/broker/uptime", "payload": "x"}),
            "bad_topic",
        ),
        (json!({"topic": "", "payload": "x"}), "bad_topic"),
        (
            json!({"topic": "a".repeat(65_536), "payload": "x"}),
            "bad_topic",
        ),
        (json!({"topic": "a/b", "payload": "x", "qos": 3}), "bad_qos"),
        (
            json!({"topic": "a/b", "payload": "x".repeat(256 * 1024 + 1)}),
            "payload_too_large",
        ),
        (json!({"topic": "a/b", "qos": -1}), "bad_json"),
        (json!({"topic": "a/b", "retained": true}), "bad_json"),
        (json!({"payload": "x"}), "bad_json"),
    ];
    for (body, code) in bad {
        let (status, answer) = post(http, "/api/publish", &body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["code"], code, "{answer}");
        assert!(!answer["message"].as_str().unwrap().is_empty());
    }
    let r = reqwest::Client::new()
        .post(format!("http://{http}/api/publish"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // A good one reaches other clients, and the hub hears its own message live.
    let mut events = Events::open(http, Some("topics_changed")).await;
    let sub = tokio::task::spawn_blocking(move || {
        mosquitto_sub(
            port,
            10,
            &["-t", "from/page", "-q", "2", "-C", "1", "-F", "%t %p %q %r"],
        )
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, answer) = post(
        http,
        "/api/publish",
        &json!({"topic": "from/page", "payload": "héllo", "qos": 2, "retain": true}),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(sub.await.unwrap(), ["from/page héllo 2 0"]);
    let e = events
        .until(10, "from/page in topics_changed", |e| {
            e["topics"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["topic"] == "from/page"))
        })
        .await;
    let row = e["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "from/page")
        .unwrap();
    assert_eq!((&row["retained"], &row["qos"]), (&json!(true), &json!(2)));
    assert_eq!(broker_retains(port, "from/page"), ["héllo"]);
    let m = messages(http, "from/page").await;
    assert_eq!(
        (&m[0]["payload"], &m[0]["retained"]),
        (&json!("héllo"), &json!(true))
    );

    // Many messages, few events: they are coalesced.
    let lines: Vec<String> = (0..2000).map(|i| i.to_string()).collect();
    let started = std::time::Instant::now();
    mosquitto_pub_lines(port, "t/fast", &lines);
    let mut changes = 0;
    loop {
        let e = events.next(10).await.expect("topics_changed");
        changes += 1;
        let row = e["topics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["topic"] == "t/fast");
        if row.is_some_and(|r| r["messages"] == 2000) {
            break;
        }
    }
    let quarter_seconds = started.elapsed().as_millis() / 250 + 2;
    assert!(
        changes as u128 <= quarter_seconds,
        "{changes} events for 2000 messages in {:?}",
        started.elapsed()
    );
    println!(
        "2000 messages: {changes} topics_changed events in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_retained_messages_and_the_traps() {
    let hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    let port = hub.port();
    // A retained command switches its light at every boot.
    mosquitto_pub(port, &["-t", "home/hall/light/set", "-m", "ON", "-r"]);
    // A discovery config describes a device that is never seen.
    let config = json!({
        "name": "Ghost plug",
        "unique_id": "ghost_plug_1",
        "state_topic": "ghost/plug/state",
        "command_topic": "ghost/plug/set",
    })
    .to_string();
    mosquitto_pub(
        port,
        &[
            "-t",
            "homeassistant/switch/ghost_plug/config",
            "-m",
            &config,
            "-r",
        ],
    );
    let big = "y".repeat(70_000);
    mosquitto_pub(port, &["-t", "t/huge", "-m", &big, "-r"]);
    mosquitto_pub(port, &["-t", "t/fine", "-m", "ok", "-r"]);
    let report = eventually(10, "four retained messages", || async move {
        Some(retained_report(http).await).filter(|r| r["count"] == 4)
    })
    .await;
    let row = |t: &str| {
        report["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["topic"] == t)
            .cloned()
            .unwrap()
    };
    let kinds = |r: Value| -> Vec<String> {
        r["traps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["kind"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(kinds(row("home/hall/light/set")), ["retained_command"]);
    assert_eq!(kinds(row("t/huge")), ["large"]);
    assert!(kinds(row("t/fine")).is_empty());
    assert_eq!(row("t/huge")["payloadBytes"], 70_000);
    assert_eq!(report["flagged"], 2);
    assert_eq!(
        report["bytes"].as_u64().unwrap(),
        (2 + config.len() + 70_000 + 2) as u64
    );
    assert!(
        report["messages"][3]["traps"]
            .as_array()
            .unwrap()
            .is_empty(),
        "flagged ones come first"
    );

    // The ghost is a device until its config is cleared.
    let ghost = || async move {
        let (_, rooms) = get(http, "/api/devices").await;
        rooms
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["devices"].as_array().unwrap().clone())
            .any(|d| d["name"] == "Ghost plug")
    };
    eventually(10, "the ghost listed", || async move {
        ghost().await.then_some(())
    })
    .await;
    for t in [
        "homeassistant/switch/ghost_plug/config",
        "home/hall/light/set",
    ] {
        let (status, body) = delete(http, &format!("/api/topics/retained?topic={t}")).await;
        assert_eq!(status, 202, "{body}");
    }
    eventually(10, "the ghost gone", || async move {
        (!ghost().await).then_some(())
    })
    .await;
    topic_until(http, "home/hall/light/set", "mark gone", |t| {
        t["retained"] == false
    })
    .await;
    assert!(broker_retains(port, "home/hall/light/set").is_empty());
    let report = eventually(10, "two left", || async move {
        Some(retained_report(http).await).filter(|r| r["count"] == 2)
    })
    .await;
    assert_eq!(report["flagged"], 1);
    let (status, body) = delete(http, "/api/topics/retained?topic=a/%23").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_topic")));
    let (status, _) = delete(http, "/api/topics/retained").await;
    assert_eq!(status, 400);
}

/// With an external broker the hub cannot ask the broker what it sets: replays mark, an
/// empty message clears, and publishing and clearing work through the same client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_mosquitto_marks_replays_and_clears() {
    let mosq = Mosquitto::start();
    mosquitto_pub(mosq.port, &["-t", "ext/kept", "-m", "on", "-r"]);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::ephemeral(dir.path());
    cfg.broker = BrokerMode::External {
        host: "127.0.0.1".into(),
        port: mosq.port,
    };
    let hub = Hub::start(cfg).await.expect("hub starts");
    let api = hub.api().clone();
    eventually(10, "ext/kept replayed", || {
        let api = api.clone();
        async move {
            api.topics()
                .into_iter()
                .find(|t| t.topic == "ext/kept" && t.retained)
        }
    })
    .await;
    let m = api.topic_messages("ext/kept").unwrap();
    assert!(m[0].replay && m[0].retained);
    eventually(10, "the hub's client connected", || {
        let api = api.clone();
        async move {
            api.publish(&PublishRequest {
                topic: "ext/page".into(),
                payload: "1".into(),
                qos: 1,
                retain: true,
            })
            .ok()
        }
    })
    .await;
    assert_eq!(broker_retains(mosq.port, "ext/page"), ["1"]);
    api.clear_retained("ext/kept").unwrap();
    eventually(10, "ext/kept cleared", || {
        let api = api.clone();
        async move {
            api.topics()
                .into_iter()
                .find(|t| t.topic == "ext/kept" && !t.retained)
        }
    })
    .await;
    assert!(broker_retains(mosq.port, "ext/kept").is_empty());
    assert_eq!(api.retained_report().count, 1);
    hub.shutdown().await;
}
