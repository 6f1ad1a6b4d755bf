//! What the Devices page of a home of many devices needs from a real `hearthd`: the household's
//! favourites (stored, shared by every client, kept across a restart, bounded) and every
//! sparkline's history from one batched request (in order, the same buckets as one series'
//! history, fitted to a new sensor's readings, bounded), with clear errors for bad requests.

mod common;

use std::net::SocketAddr;

use common::api::{get, post};
use common::{HubProcess, eventually, mosquitto_pub};
use serde_json::{Value, json};

async fn send(http: SocketAddr, method: &str, path: &str, body: Option<Vec<u8>>) -> (u16, Value) {
    let mut req =
        reqwest::Client::new().request(method.parse().unwrap(), format!("http://{http}{path}"));
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    let r = req.send().await.expect("request");
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn assert_error(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["code"], code, "{}", got.1);
    assert!(got.1["message"].as_str().is_some_and(|m| !m.is_empty()));
}

/// Publishes `home/<room>/temperature` readings and waits until each is recorded.
async fn sensors(hub: &HubProcess, rooms: &[&str]) {
    let http = hub.http.unwrap();
    for room in rooms {
        let topic = format!("home/{room}/temperature");
        mosquitto_pub(hub.port(), &["-t", &topic, "-m", "20.5", "-q", "1"]);
        mosquitto_pub(hub.port(), &["-t", &topic, "-m", "21.5", "-q", "1"]);
    }
    for room in rooms {
        let path = format!("/api/history?topic=home/{room}/temperature&points=10");
        eventually(10, "readings recorded", || async {
            let (st, b) = get(http, &path).await;
            let n: usize = b["history"]["ts"].as_array().map_or(0, |a| a.len());
            (st == 200 && n > 0).then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn favourites_are_the_households_and_outlive_a_restart() {
    let hub = HubProcess::start(&[]);
    sensors(&hub, &["attic", "hall"]).await;
    let http = hub.http.unwrap();

    assert_eq!(get(http, "/api/favourites").await, (200, json!([])));
    let (st, list) = send(http, "PUT", "/api/favourites/hall/temperature", None).await;
    assert_eq!((st, list), (200, json!(["hall/temperature"])));
    let (_, list) = send(http, "PUT", "/api/favourites/attic/temperature", None).await;
    assert_eq!(list, json!(["hall/temperature", "attic/temperature"]));
    // Starring twice changes nothing.
    let (_, list) = send(http, "PUT", "/api/favourites/hall/temperature", None).await;
    assert_eq!(list, json!(["hall/temperature", "attic/temperature"]));

    // Only a device the hub knows can be starred; anything can be unstarred.
    assert_error(
        &send(http, "PUT", "/api/favourites/nowhere/thing", None).await,
        404,
        "not_found",
    );
    assert_eq!(
        send(http, "DELETE", "/api/favourites/nowhere/thing", None).await,
        (200, json!(["hall/temperature", "attic/temperature"]))
    );
    assert_error(
        &send(http, "POST", "/api/favourites/hall/temperature", None).await,
        405,
        "method_not_allowed",
    );

    let hub = hub.restart();
    let http = hub.http.unwrap();
    assert_eq!(
        get(http, "/api/favourites").await,
        (200, json!(["hall/temperature", "attic/temperature"])),
        "stored, not in memory"
    );
    let (_, list) = send(http, "DELETE", "/api/favourites/hall/temperature", None).await;
    assert_eq!(list, json!(["attic/temperature"]));
}

#[tokio::test]
async fn sparklines_come_from_one_batch() {
    let hub = HubProcess::start(&[]);
    let rooms = ["r1", "r2", "r3"];
    sensors(&hub, &rooms).await;
    let http = hub.http.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (from, to) = (now - 86_400, now + 1);

    let mut series: Vec<Value> = rooms
        .iter()
        .map(|r| json!({"topic": format!("home/{r}/temperature")}))
        .collect();
    series.insert(1, json!({"topic": "home/none/temperature", "field": ""}));
    let (st, answer) = post(
        http,
        "/api/history/batch",
        &json!({"from": from, "to": to, "points": 48, "series": series}),
    )
    .await;
    assert_eq!(st, 200, "{answer}");
    let answer = answer.as_array().unwrap();
    assert_eq!(answer.len(), 4, "one answer per series, in order");
    assert_eq!(answer[1], Value::Null, "never recorded");
    for (i, room) in [(0, "r1"), (2, "r2"), (3, "r3")] {
        let a = &answer[i];
        assert_eq!(a["topic"], format!("home/{room}/temperature"));
        // The same buckets as asking for the series alone.
        let (st, one) = get(
            http,
            &format!("/api/history?topic=home/{room}/temperature&from={from}&to={to}&points=48"),
        )
        .await;
        assert_eq!(st, 200);
        assert_eq!(a, &one, "batch and single history agree");
        assert_eq!(a["history"]["resolution"], "hour");
    }

    // Fitted: a sensor that began a moment ago spans its own readings in fine buckets.
    let (st, fitted) = post(
        http,
        "/api/history/batch",
        &json!({"from": from, "to": to, "points": 48, "fit": true,
                "series": [{"topic": "home/r1/temperature"}, {"topic": "home/none/temperature"}]}),
    )
    .await;
    assert_eq!(st, 200, "{fitted}");
    let f = &fitted[0];
    let start = f["from"].as_i64().unwrap();
    assert!(
        start > from + 86_000 && start <= now,
        "starts at its first reading: {f}"
    );
    assert_eq!(f["history"]["resolution"], "raw", "{f}");
    assert!(f["history"]["bucketSecs"].as_i64().unwrap() <= 2, "{f}");
    let avg: Vec<f64> = f["history"]["avg"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    assert!(
        !avg.is_empty() && avg.iter().all(|v| (20.5..=21.5).contains(v)),
        "{f}"
    );
    assert_eq!(fitted[1], Value::Null);

    // Bounded, with errors that say why.
    let many: Vec<Value> = (0..501)
        .map(|i| json!({"topic": format!("t/{i}")}))
        .collect();
    assert_error(
        &post(http, "/api/history/batch", &json!({"series": many})).await,
        400,
        "bad_batch",
    );
    assert_error(
        &post(http, "/api/history/batch", &json!({"series": []})).await,
        400,
        "bad_batch",
    );
    let one = json!([{"topic": "home/r1/temperature"}]);
    assert_error(
        &post(
            http,
            "/api/history/batch",
            &json!({"points": 1001, "series": one}),
        )
        .await,
        400,
        "bad_range",
    );
    assert_error(
        &post(
            http,
            "/api/history/batch",
            &json!({"from": 10, "to": 5, "series": one}),
        )
        .await,
        400,
        "bad_range",
    );
    assert_error(
        &post(
            http,
            "/api/history/batch",
            &json!({"from": i64::MIN, "to": i64::MAX, "series": one}),
        )
        .await,
        400,
        "bad_range",
    );
    assert_error(
        &post(
            http,
            "/api/history/batch",
            &json!({"series": one, "extra": 1}),
        )
        .await,
        400,
        "bad_json",
    );
    assert_error(
        &post(
            http,
            "/api/history/batch",
            &json!({"series": [{"field": "x"}]}),
        )
        .await,
        400,
        "bad_json",
    );
    assert_error(
        &send(
            http,
            "POST",
            "/api/history/batch",
            Some(b"{\"series\": [".to_vec()),
        )
        .await,
        400,
        "bad_json",
    );
    // 500 series with 300-character topics pass (over the API's usual 16 KiB body limit)…
    let long: Vec<Value> = (0..500)
        .map(|i| json!({"topic": format!("home/{}/{i}", "x".repeat(300))}))
        .collect();
    let (st, a) = post(http, "/api/history/batch", &json!({"series": long})).await;
    assert_eq!(st, 200, "{a}");
    assert_eq!(a.as_array().unwrap().len(), 500);
    // …and a body past 256 KiB is refused before it is read.
    let huge = format!(
        "{{\"series\": [{{\"topic\": \"{}\"}}]}}",
        "y".repeat(300 * 1024)
    );
    assert_error(
        &send(http, "POST", "/api/history/batch", Some(huge.into_bytes())).await,
        413,
        "payload_too_large",
    );
}

/// A paired phone stars devices and reads sparklines as the PC does (the favourites are the
/// household's, so the PC sees the phone's star); a browser on the LAN that is not paired
/// gets neither.
#[tokio::test]
async fn a_paired_phone_shares_the_favourites_and_the_batch() {
    let hub = HubProcess::start(&[]);
    sensors(&hub, &["study"]).await;
    let http = hub.http.unwrap();
    let lan = |method: &str, path: &str, token: Option<&str>, body: Option<Value>| {
        let mut r = reqwest::Client::new()
            .request(method.parse().unwrap(), format!("http://{http}{path}"))
            .header("Host", format!("hearth.test:{}", http.port()));
        if let Some(t) = token {
            r = r.header("Cookie", format!("hearth_token={t}"));
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send()
    };
    let batch = json!({"series": [{"topic": "home/study/temperature"}]});
    let r = lan("PUT", "/api/favourites/study/temperature", None, None)
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "not paired");
    let r = lan("POST", "/api/history/batch", None, Some(batch.clone()))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "not paired");

    let (st, p) = post(http, "/api/phones/pairing", &json!(null)).await;
    assert_eq!(st, 200, "{p}");
    let code = p["url"].as_str().unwrap().split("code=").nth(1).unwrap();
    let r = lan("POST", "/api/pair", None, Some(json!({"code": code})))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("hearth_token=")
        .unwrap()
        .to_string();

    let r = lan(
        "PUT",
        "/api/favourites/study/temperature",
        Some(&token),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        get(http, "/api/favourites").await,
        (200, json!(["study/temperature"])),
        "the PC sees the phone's star"
    );
    let r = lan("POST", "/api/history/batch", Some(&token), Some(batch))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a[0]["topic"], "home/study/temperature");
}
