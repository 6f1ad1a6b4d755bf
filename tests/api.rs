//! The HTTP + WebSocket API of a real `hearthd`: every error status with its JSON body, the
//! OpenAPI document against the endpoints, events in order, slow and stuck WebSocket
//! clients; and, in-process against Mosquitto, a command the broker refuses.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use common::api::{Events, get, post, switch, wait_light};
use common::{HubProcess, Mosquitto, mosquitto_pub, mosquitto_pub_lines, open_db, within};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only code and message: {body}"
    );
}

async fn raw(
    http: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Vec<u8>,
    ct: Option<&str>,
) -> (u16, Value) {
    let mut req =
        reqwest::Client::new().request(method.parse().unwrap(), format!("http://{http}{path}"));
    if let Some(ct) = ct {
        req = req.header("content-type", ct);
    }
    let r = req.body(body).send().await.expect("request");
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// A hub with a den light (status OFF) and a den temperature sensor (20.5), the light seen.
async fn den() -> (HubProcess, SocketAddr) {
    let hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    for (topic, payload) in [("home/den/light", "OFF"), ("home/den/temperature", "20.5")] {
        mosquitto_pub(hub.port(), &["-t", topic, "-m", payload, "-q", "1"]);
    }
    wait_light(http, "den/light").await;
    // The recorder writes in batches: the error checks below need the reading stored.
    common::eventually(10, "den temperature recorded", || async {
        let (st, _) = get(http, "/api/history?topic=home/den/temperature").await;
        (st == 200).then_some(())
    })
    .await;
    (hub, http)
}

/// Every error the API gives is `{code, message}` with the right status, and a failure
/// inside the hub says nothing of its internals.
#[tokio::test]
async fn errors_have_status_and_json_body() {
    let (hub, http) = den().await;

    let (s, b) = get(http, "/api/devices/nowhere/lamp").await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = post(
        http,
        "/api/devices/nowhere/lamp/switch",
        &json!({"state": "ON"}),
    )
    .await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = get(http, "/api/commands/999999").await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = get(http, "/api/history?topic=home/none").await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = get(http, "/api/no/such/thing").await;
    assert_error(s, &b, 404, "no_route");

    let sw = "/api/devices/den/light/switch";
    for (body, content_type, status, code) in [
        (&b"{\"state\": "[..], "application/json", 400, "bad_json"),
        (b"[1,2]", "application/json", 400, "bad_json"),
        (
            b"{\"state\":\"ON\",\"x\":1}",
            "application/json",
            400,
            "bad_json",
        ),
        (
            b"{\"state\":\"ON\"}",
            "text/plain",
            415,
            "unsupported_media_type",
        ),
    ] {
        let (s, b) = raw(http, "POST", sw, body.to_vec(), Some(content_type)).await;
        assert_error(s, &b, status, code);
    }
    let (s, b) = post(http, sw, &json!({"state": "BRIGHT"})).await;
    assert_error(s, &b, 400, "bad_state");
    let big = format!("{{\"state\":\"{}\"}}", "O".repeat(100_000));
    let (s, b) = raw(http, "POST", sw, big.into_bytes(), Some("application/json")).await;
    assert_error(s, &b, 413, "payload_too_large");
    let (s, b) = post(
        http,
        "/api/devices/den/temperature/switch",
        &json!({"state": "ON"}),
    )
    .await;
    assert_error(s, &b, 400, "not_a_light");

    let (s, b) = get(
        http,
        "/api/history?topic=home/den/temperature&from=100&to=50",
    )
    .await;
    assert_error(s, &b, 400, "bad_range");
    let (s, b) = get(http, "/api/history?topic=home/den/temperature&points=0").await;
    assert_error(s, &b, 400, "bad_range");
    // Times far past the year 9999 would overflow the store's milliseconds.
    let (s, b) = get(
        http,
        "/api/history?topic=home/den/temperature&from=-9223372036854775808&to=9223372036854775807",
    )
    .await;
    assert_error(s, &b, 400, "bad_range");
    let (s, b) = get(
        http,
        "/api/history?topic=home/den/temperature&from=yesterday",
    )
    .await;
    assert_error(s, &b, 400, "bad_query");
    let (s, b) = get(http, "/api/history").await;
    assert_error(s, &b, 400, "bad_query");
    let (s, b) = get(http, "/api/commands/twelve").await;
    assert_error(s, &b, 400, "bad_path");
    let (s, b) = get(http, "/api/devices/den/light/commands?limit=0").await;
    assert_error(s, &b, 400, "bad_limit");
    let (s, b) = get(http, "/api/events").await;
    assert_error(s, &b, 400, "websocket_required");
    let (s, b) = get(http, "/api/events?types=gossip").await;
    assert_error(s, &b, 400, "bad_query");

    let (s, b) = raw(http, "DELETE", "/api/devices", vec![], None).await;
    assert_error(s, &b, 405, "method_not_allowed");
    let (s, b) = raw(http, "GET", sw, vec![], None).await;
    assert_error(s, &b, 405, "method_not_allowed");
    let (s, b) = raw(http, "PUT", "/api/broker", vec![], None).await;
    assert_error(s, &b, 405, "method_not_allowed");

    // No dashboard is built for this hub: `/` says so rather than serving nothing.
    let (s, b) = get(http, "/").await;
    assert_error(s, &b, 404, "no_dashboard");

    // A page from another site may not open the events stream.
    let req = tokio_tungstenite::tungstenite::http::Request::builder()
        .uri(format!("ws://{http}/api/events"))
        .header("Host", http.to_string())
        .header("Origin", "https://evil.example")
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .body(())
        .unwrap();
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
        other => panic!("cross-origin events stream not refused: {other:?}"),
    }

    // An internal failure (the log's table gone from under the hub) is a 500 that reveals
    // nothing; the hub goes on serving.
    let db = open_db(&hub.db_path()).await;
    sqlx::query("DROP TABLE commands")
        .execute(&db)
        .await
        .unwrap();
    let (s, b) = get(http, "/api/devices/den/light/commands").await;
    assert_error(s, &b, 500, "internal");
    let m = b["message"].as_str().unwrap();
    assert!(
        !m.contains("commands") && !m.contains("table") && !m.contains("sql"),
        "{m}"
    );
    let (s, _) = get(http, "/api/devices").await;
    assert_eq!(s, 200);
}

/// Every documented operation exists and answers, every `$ref` resolves, and the document
/// parses as OpenAPI 3.1.
#[tokio::test]
async fn openapi_document_is_valid_and_complete() {
    let (_hub, http) = den().await;
    let cmd = switch(http, "den/light", "ON").await;

    let text = reqwest::get(format!("http://{http}/api/openapi.json"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let spec = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);
    let doc: Value = serde_json::from_str(&text).unwrap();

    // Every $ref points at a schema the document defines.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("local schema ref");
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "unresolved {r}"
        );
    }
    for name in [
        "Event",
        "Command",
        "Device",
        "Room",
        "ApiError",
        "BrokerStatus",
        "SeriesHistory",
        "TopicNode",
    ] {
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "schema {name} missing"
        );
    }

    // The documented operations are exactly the API's, and each one answers.
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            ops.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let expected: BTreeSet<String> = [
        "GET /api/devices",
        "GET /api/devices/{group}/{rest}",
        "PATCH /api/devices/{group}/{rest}",
        "POST /api/devices/{group}/{rest}/switch",
        "GET /api/devices/{group}/{rest}/commands",
        "GET /api/preferences",
        "PUT /api/preferences",
        "GET /api/commands/{id}",
        "GET /api/topics",
        "GET /api/topics/messages",
        "GET /api/topics/retained",
        "DELETE /api/topics/retained",
        "POST /api/publish",
        "GET /api/history",
        "POST /api/history/batch",
        "GET /api/favourites",
        "PUT /api/favourites/{group}/{rest}",
        "DELETE /api/favourites/{group}/{rest}",
        "GET /api/broker",
        "GET /api/events",
        "GET /api/openapi.json",
        "GET /api/access",
        "GET /api/access/settings",
        "PUT /api/access/settings",
        "GET /api/access/credentials",
        "POST /api/access/credentials",
        "DELETE /api/access/credentials/{id}",
        "POST /api/access/credentials/{id}/revoke",
        "PUT /api/access/credentials/{id}/rules",
        "PUT /api/access/anonymous-rules",
        "POST /api/access/test",
        "GET /api/phones",
        "POST /api/phones/pairing",
        "POST /api/phones/{id}/revoke",
        "POST /api/phones/mqtt",
        "POST /api/pair",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(ops, expected);
    let id = cmd["id"].as_i64().unwrap();
    for op in &ops {
        let (method, path) = op.split_once(' ').unwrap();
        let path = path
            .replace("{group}", "den")
            .replace("{rest}", "light")
            .replace("{id}", &id.to_string())
            .replace("/api/history", "/api/history?topic=home/den/temperature")
            .replace("?topic=home/den/temperature/batch", "/batch");
        let (status, body) = match method {
            "POST" => post(http, &path, &json!({"state": "OFF"})).await,
            "GET" => get(http, &path).await,
            m => {
                let r = reqwest::Client::new()
                    .request(m.parse().unwrap(), format!("http://{http}{path}"))
                    .json(&json!({"state": "OFF"}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json().await.unwrap_or(Value::Null))
            }
        };
        let documented =
            doc["paths"][op.split_once(' ').unwrap().1][method.to_lowercase()]["responses"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>();
        // The events endpoint answers a plain GET with its documented 400.
        assert!(
            documented.contains(&status.to_string()),
            "{op} answered {status} (documented: {documented:?}): {body}"
        );
        assert_ne!(body["code"], "no_route", "{op}");
    }
}

/// Events arrive in the order they happened: readings of one topic in publish order, and
/// each command's pending before its outcome; the broker's stats come every second.
#[tokio::test]
async fn events_arrive_in_order() {
    let hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    mosquitto_pub(
        hub.port(),
        &["-t", "home/den/light", "-m", "OFF", "-q", "1"],
    );
    let _light = common::api::light(
        hub.mqtt,
        "den-light",
        "home/den/light",
        "home/den/light/set",
        "OFF",
        |c| Some(c.to_string()),
    )
    .await;
    wait_light(http, "den/light").await;
    let mut ev = Events::open(http, None).await;
    let lines: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    let port = hub.port();
    tokio::task::spawn_blocking(move || mosquitto_pub_lines(port, "lab/counter", &lines))
        .await
        .unwrap();
    let mut values = Vec::new();
    let mut kinds = BTreeSet::new();
    while values.len() < 200 {
        let e = ev.next(10).await.expect("events keep coming");
        kinds.insert(e["type"].as_str().unwrap().to_string());
        if e["type"] == "reading" && e["topic"] == "lab/counter" {
            values.push(e["value"].as_f64().unwrap() as i64);
        }
    }
    assert_eq!(values, (0..200).collect::<Vec<_>>());

    let mut ids = Vec::new();
    for i in 0..20 {
        let cmd = switch(http, "den/light", if i % 2 == 0 { "ON" } else { "OFF" }).await;
        ids.push(cmd["id"].as_i64().unwrap());
        let fate = ev.command_fate(*ids.last().unwrap(), 5).await;
        let o: Vec<&str> = fate
            .iter()
            .map(|e| e["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(o, ["pending", "confirmed"]);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let stats = ev
        .until(3, "broker_stats", |e| e["type"] == "broker_stats")
        .await;
    // The light; the hub hears its broker in-process and is no client of it.
    assert!(stats["clients"].as_i64().unwrap() >= 1, "{stats}");
    assert!(stats["messagesInTotal"].as_u64().unwrap() >= 200, "{stats}");
    assert!(
        stats["listeners"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == "http")
    );
}

/// A sensor reporting 20 times in a second costs a listener 20 `reading` events but at most
/// two `device_updated` (one at once, the rest folded into one a second later, carrying the
/// last value); a light's state change is announced at once.
#[tokio::test]
async fn device_updates_are_folded_per_second_but_a_light_is_told_at_once() {
    let (hub, http) = den().await;
    let port = hub.port();
    let mut ev = Events::open(http, Some("reading,device_updated")).await;
    let lines: Vec<String> = (0..20).map(|i| format!("{}", 20 + i)).collect();
    tokio::task::spawn_blocking(move || mosquitto_pub_lines(port, "home/den/temperature", &lines))
        .await
        .unwrap();
    let (mut readings, mut updates, mut last_value) = (0, 0, None);
    while let Some(e) = ev.next(3).await {
        if e["type"] == "reading" && e["topic"] == "home/den/temperature" {
            readings += 1;
        } else if e["type"] == "device_updated" && e["id"] == "den/temperature" {
            updates += 1;
            last_value = Some(e["readings"].clone());
        }
    }
    assert_eq!(readings, 20);
    assert!(
        (1..=2).contains(&updates),
        "{updates} device_updated for 20 readings"
    );
    assert!(
        last_value.as_ref().unwrap().to_string().contains("39"),
        "the last update carries the last value: {last_value:?}"
    );

    let mut ev = Events::open(http, Some("device_updated")).await;
    for state in ["ON", "OFF", "ON"] {
        mosquitto_pub(port, &["-t", "home/den/light", "-m", state, "-q", "1"]);
        let e = ev
            .until(1, "the light's update", |e| e["id"] == "den/light")
            .await;
        assert_eq!(e["light"]["state"], state.to_lowercase(), "{e}");
    }
}

/// A client that reads too slowly is sent a close frame (1008) and dropped; one that stops
/// reading altogether is dropped; neither holds back the hub or another client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_stuck_event_clients_are_dropped() {
    let hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    let mut good = Events::open(http, Some("reading")).await;
    let mut slow = Events::open(http, Some("reading")).await;
    let stuck = Events::open(http, Some("reading")).await;

    // Far more readings than the hub buffers per client (8,192 events), each message with a
    // ~500-byte payload.
    let n = 60_000;
    let port = hub.port();
    let flood = tokio::task::spawn_blocking(move || {
        let lines: Vec<String> = (0..n)
            .map(|i| format!("{{\"temperature\":{i},\"pad\":\"{}\"}}", "x".repeat(450)))
            .collect();
        mosquitto_pub_lines(port, "home/lab/sensor", &lines);
    });
    let reader = tokio::spawn(async move {
        let mut got = 0;
        while got < n {
            match good.next(30).await {
                Some(e) if e["topic"] == "home/lab/sensor" => got += 1,
                Some(_) => {}
                None => break,
            }
        }
        got
    });
    // The slow client reads one event every 2 ms while the flood runs: it falls behind by
    // more than the hub keeps per client and is sent a close frame saying so.
    let closed = within(120, "the slow client is closed", async {
        loop {
            match slow.next_message(30).await {
                Some(Message::Close(f)) => break f,
                None => break None,
                Some(_) => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        }
    })
    .await
    .expect("a close frame with a reason");
    assert_eq!(closed.code, CloseCode::Policy);
    assert!(closed.reason.contains("too slow"), "{}", closed.reason);
    within(180, "the flood", flood).await.unwrap();
    assert_eq!(within(120, "the good client", reader).await.unwrap(), n);

    // The stuck client never reads: the hub drops it (the good one is closed by now too).
    common::eventually(30, "the stuck client dropped", || async {
        let (_, b) = get(http, "/api/broker").await;
        (b["eventListeners"] == 0).then_some(())
    })
    .await;
    drop(stuck);
}

/// A command the broker refuses (an ACL on an external Mosquitto: PUBACK 0x87) fails at
/// once with the broker's reason, through the core API in-process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_command_fails() {
    use hearth::{BrokerMode, Config, Outcome};
    let dir = tempfile::tempdir().unwrap();
    let acl = dir.path().join("acl");
    // Anonymous clients (the hub) may read everything and write statuses only; the device
    // ("dev") may write anything.
    std::fs::write(
        &acl,
        "topic read #\ntopic write home/+/light\nuser dev\ntopic readwrite #\n",
    )
    .unwrap();
    let mosq = Mosquitto::start_with(&format!("acl_file {}", acl.display()));
    let mut cfg = Config::ephemeral(dir.path());
    cfg.broker = BrokerMode::External {
        host: "127.0.0.1".into(),
        port: mosq.port,
    };
    cfg.http = None;
    let hub = within(30, "hub start", hearth::Hub::start(cfg))
        .await
        .unwrap();
    assert!(hub.wait_connected(Duration::from_secs(20)).await);
    let api = hub.api().clone();
    for t in ["home/den/light", "home/den/light/set"] {
        mosquitto_pub(mosq.port, &["-u", "dev", "-t", t, "-m", "OFF", "-q", "1"]);
    }
    common::eventually(10, "den light seen", || {
        let api = api.clone();
        async move {
            api.device("den/light")
                .ok()
                .filter(|d| d.info.command_convention.as_deref() == Some("set-topic"))
        }
    })
    .await;
    let mut rx = api.subscribe();
    let cmd = api.switch_light("den/light", true).unwrap();
    assert_eq!(cmd.outcome, Outcome::Pending);
    let done = within(5, "the refusal", async {
        loop {
            if let hearth::Event::CommandUpdated(c) = &*rx.recv().await.unwrap()
                && c.id == cmd.id
                && c.outcome != Outcome::Pending
            {
                break c.clone();
            }
        }
    })
    .await;
    assert_eq!(done.outcome, Outcome::Failed, "{done:?}");
    assert!(done.detail.as_deref().unwrap().contains("0x87"), "{done:?}");
    assert_eq!(api.broker_status().mode, "external");
    hub.shutdown().await;
}

/// With a built dashboard, `/` serves it, a client-side route gets the page itself, assets
/// come with their types, and `/api` stays the API.
#[tokio::test]
async fn the_built_dashboard_is_served_at_the_root() {
    let ui = tempfile::tempdir().unwrap();
    std::fs::write(
        ui.path().join("index.html"),
        "<!doctype html><title>Hearth</title>",
    )
    .unwrap();
    std::fs::create_dir(ui.path().join("assets")).unwrap();
    std::fs::write(ui.path().join("assets/app.js"), "console.log(1)").unwrap();
    let hub = HubProcess::start(&["--ui-dir", ui.path().to_str().unwrap()]);
    let http = hub.http.unwrap();
    for path in ["/", "/devices/livingroom/light"] {
        let r = reqwest::get(format!("http://{http}{path}")).await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert!(
            r.text().await.unwrap().contains("<title>Hearth</title>"),
            "{path}"
        );
    }
    let r = reqwest::get(format!("http://{http}/assets/app.js"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    let (s, b) = get(http, "/api/nothing").await;
    assert_error(s, &b, 404, "no_route");
    let (s, _) = get(http, "/api/devices").await;
    assert_eq!(s, 200);
}
