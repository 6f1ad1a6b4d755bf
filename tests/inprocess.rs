//! The hub as a library, one per test, observed from inside: devices grouped by topic,
//! external-broker mode against a real Mosquitto, the shutdown flush, history buckets over
//! fixture data, and the simulator's connections as Mosquitto logs them.

mod common;

use std::time::Duration;

use common::{Mosquitto, eventually, mosquitto_pub, mosquitto_pub_lines, within};
use hearth::{BrokerMode, Config, DeviceKind, Hub, Reading, Resolution, SimOptions, Store};

async fn start_hub(cfg: Config) -> Hub {
    let hub = within(30, "hub start", Hub::start(cfg))
        .await
        .expect("hub starts");
    assert!(
        hub.wait_connected(Duration::from_secs(20)).await,
        "hub client never subscribed"
    );
    hub
}

/// The seed's `home/<room>/<thing>` topics become devices grouped by room, with kinds
/// inferred from names, payloads and `…/set` siblings; a device of another convention with no
/// room comes last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_are_grouped_by_room() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(Config::ephemeral(dir.path())).await;
    let port = hub.listeners()[0].addr.port();
    for (t, m) in [
        ("home/livingroom/temperature", "21.5"),
        ("home/livingroom/light", "ON"),
        (
            "home/kitchen/climate",
            r#"{"temperature":19.5,"humidity":40}"#,
        ),
        ("home/kitchen/spot/set", "ON"),
        ("home/kitchen/spot", "ON"),
        ("home/hall/door", "open"),
        (
            "tele/tasmota_1/SENSOR",
            r#"{"DS18B20":{"Temperature":20.6}}"#,
        ),
    ] {
        mosquitto_pub(port, &["-t", t, "-m", m, "-q", "1"]);
    }
    let rooms = eventually(10, "7 topics seen", || {
        let api = hub.api().clone();
        async move { (api.topics().len() >= 7).then(|| api.devices()) }
    })
    .await;
    let summary: Vec<(String, Vec<(String, DeviceKind)>)> = rooms
        .iter()
        .map(|r| {
            (
                r.room.clone().unwrap_or_default(),
                r.devices
                    .iter()
                    .map(|d| (d.info.name.clone(), d.info.kind))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("hall".into(), vec![("door".into(), DeviceKind::Other)]),
            (
                "kitchen".into(),
                vec![
                    ("climate".into(), DeviceKind::Temperature),
                    ("spot".into(), DeviceKind::Light)
                ]
            ),
            (
                "livingroom".into(),
                vec![
                    ("light".into(), DeviceKind::Light),
                    ("temperature".into(), DeviceKind::Temperature)
                ]
            ),
            // A Tasmota says no room: it is listed unassigned, last.
            (
                String::new(),
                vec![("tasmota_1".into(), DeviceKind::Temperature)]
            ),
        ]
    );
    let kitchen = &rooms[1].devices;
    assert_eq!(kitchen[0].info.temperature, Some(19.5));
    assert_eq!(
        kitchen[1].info.command_topic.as_deref(),
        Some("home/kitchen/spot/set")
    );
    assert_eq!(
        rooms[2].devices[0].info.command_topic.as_deref(),
        Some("home/livingroom/light")
    );
    let raw = hub
        .registry
        .topic("tele/tasmota_1/SENSOR")
        .expect("raw topic kept");
    assert_eq!(raw.messages, 1);
    assert_eq!(raw.qos, 1);
    hub.shutdown().await;
}

/// With `--broker`, no embedded broker starts and the same client records from an existing
/// broker (Debian Mosquitto here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_broker_mode_records_from_mosquitto() {
    let mosq = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::ephemeral(dir.path());
    cfg.broker = BrokerMode::External {
        host: "127.0.0.1".into(),
        port: mosq.port,
    };
    let hub = start_hub(cfg).await;
    assert!(
        hub.listeners()
            .iter()
            .all(|l| l.name == "http" || l.name == "https"),
        "an embedded broker started: {:?}",
        hub.listeners()
    );
    assert_eq!(hub.broker_connections(), None);
    for v in ["20.5", "21.0", "21.5"] {
        mosquitto_pub(
            mosq.port,
            &["-t", "home/attic/temperature", "-m", v, "-q", "1"],
        );
    }
    eventually(10, "three readings seen", || {
        let r = hub.registry.clone();
        async move {
            r.topic("home/attic/temperature")
                .filter(|t| t.messages == 3)
                .map(|_| ())
        }
    })
    .await;
    hub.flush().await;
    let id = hub
        .store
        .find_series("home/attic/temperature", "")
        .await
        .unwrap()
        .expect("series");
    assert_eq!(hub.store.count_readings(id).await.unwrap(), 3);
    let now = hearth::now_ms() / 1000;
    let h = hub
        .api()
        .history("home/attic/temperature", "", now - 3600, now + 60, 100)
        .await
        .unwrap()
        .history;
    assert_eq!(
        h.min.iter().flatten().cloned().fold(f64::MAX, f64::min),
        20.5
    );
    assert_eq!(
        h.max.iter().flatten().cloned().fold(f64::MIN, f64::max),
        21.5
    );
    hub.shutdown().await;
}

/// Readings received but not yet committed are committed by the shutdown that SIGINT and
/// SIGTERM trigger in `hearthd`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_commits_pending_readings() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::ephemeral(dir.path());
    cfg.flush_interval = Duration::from_secs(3600);
    let db = cfg.db_path();
    let hub = start_hub(cfg).await;
    let port = hub.listeners()[0].addr.port();
    let lines: Vec<String> = (0..500).map(|i| i.to_string()).collect();
    mosquitto_pub_lines(port, "home/lab/temperature", &lines);
    eventually(20, "500 readings received", || {
        let r = hub.registry.clone();
        async move {
            r.topic("home/lab/temperature")
                .filter(|t| t.messages == 500)
                .map(|_| ())
        }
    })
    .await;
    let rec = hub.recorder().stats();
    assert_eq!(
        rec.rows_written.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "rows were committed before shutdown; the test proves nothing"
    );
    hub.shutdown().await;
    let store = Store::open(&db).await.unwrap();
    let id = store
        .find_series("home/lab/temperature", "")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.count_readings(id).await.unwrap(), 500);
}

async fn fixture_store() -> Store {
    let store = Store::open_in_memory().await.unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/readings.csv"
    ))
    .unwrap();
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let id = store.series_id(f[0], f[1]).await.unwrap();
        rows.push(Reading {
            series_id: id,
            ts_ms: f[2].parse().unwrap(),
            value: f[3].parse().unwrap(),
        });
    }
    store.insert_readings(&rows).await.unwrap();
    store
}

/// Fixture: two days of 5-minute readings with a 6-hour gap on day one (hours 6–12), and
/// an hour of a JSON sensor with two fields.
const DAY0: i64 = 1_699_920_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_buckets_over_fixture_data() {
    let store = fixture_store().await;
    let lr = store
        .find_series("home/livingroom/temperature", "")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.count_readings(lr).await.unwrap(), 504);

    // Two days in 48 points: hourly buckets from the hour rollup, the gap as nulls.
    let h = store
        .history(lr, DAY0, DAY0 + 2 * 86_400, 49, None)
        .await
        .unwrap();
    assert_eq!(h.resolution, Resolution::Hour);
    assert_eq!(h.ts.len(), 48);
    assert_eq!(h.ts[0], DAY0);
    for hour in 0..48 {
        let empty = (6..12).contains(&hour);
        assert_eq!(h.avg[hour].is_none(), empty, "hour {hour}");
    }
    // Each full hour holds 12 readings; min ≤ avg ≤ max.
    for i in (0..48).filter(|i| !(6..12).contains(i)) {
        let (lo, av, hi) = (h.min[i].unwrap(), h.avg[i].unwrap(), h.max[i].unwrap());
        assert!(lo <= av && av <= hi, "bucket {i}: {lo} {av} {hi}");
    }

    // One hour in at most 1,000 points: 4-second buckets from raw rows, 12 of them holding
    // a reading, nulls between.
    let h = store
        .history(lr, DAY0, DAY0 + 3600, 1000, None)
        .await
        .unwrap();
    assert_eq!(h.resolution, Resolution::Raw);
    assert_eq!(h.bucket_secs, 4);
    let points: Vec<f64> = h.avg.iter().flatten().cloned().collect();
    assert_eq!(points.len(), 12);
    assert_eq!(h.min.iter().flatten().count(), 12);

    // Entirely inside the gap: nothing.
    let h = store
        .history(lr, DAY0 + 7 * 3600, DAY0 + 11 * 3600, 100, None)
        .await
        .unwrap();
    assert!(h.ts.is_empty());

    // A range before any data, and a year: empty, and answered from hour rollups.
    let h = store
        .history(lr, DAY0 - 86_400 * 365, DAY0 - 86_400, 1000, None)
        .await
        .unwrap();
    assert!(h.ts.is_empty());
    let h = store
        .history(lr, DAY0 - 86_400 * 180, DAY0 + 86_400 * 185, 1000, None)
        .await
        .unwrap();
    assert_eq!(h.resolution, Resolution::Hour);
    assert!(h.ts.len() <= 1000 && !h.ts.is_empty());

    // JSON fields are separate series.
    let hum = store
        .find_series("home/kitchen/climate", "humidity")
        .await
        .unwrap()
        .unwrap();
    let h = store
        .history(hum, DAY0, DAY0 + 3600, 2, None)
        .await
        .unwrap();
    assert_eq!(h.min, vec![Some(40.0)]);
    assert_eq!(h.max, vec![Some(44.0)]);
    assert_eq!(h.avg, vec![Some(42.0)]);
}

/// Each simulated device connects once and stays connected. Its MQTT event loop used to be
/// dropped mid-connect when a reading fell due, so a device connected twice in a row and the
/// second CONNECT raced the broker's cleanup of the first under the same client id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_devices_connect_once_each() {
    let logs = tempfile::tempdir().unwrap();
    // Mosquitto started as root writes its log as the `mosquitto` user.
    std::fs::set_permissions(
        logs.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let log = logs.path().join("mosquitto.log");
    let mosq = Mosquitto::start_with(&format!("log_dest file {}\nlog_type notice", log.display()));
    let rooms = 20;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let opts = SimOptions {
        port: mosq.port,
        rooms,
        interval: Duration::from_millis(100),
        client_prefix: "once".into(),
        ..SimOptions::default()
    };
    let run = tokio::spawn(hearth::simulate(opts, stopped));
    let connects = |text: &str, room: &str| {
        let needle = format!(" as once-{room} ");
        text.lines().filter(|l| l.contains(&needle)).count()
    };
    eventually(20, "every simulated device connected", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        async move {
            (0..rooms)
                .all(|i| connects(&text, &hearth::room_name(i)) > 0)
                .then_some(())
        }
    })
    .await;
    // A second connection followed the first within milliseconds; give it ample time.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.send(true).unwrap();
    let stats = within(10, "simulator stops", run).await.unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    for i in 0..rooms {
        let room = hearth::room_name(i);
        assert_eq!(
            connects(&text, &room),
            1,
            "once-{room} connected more than once:\n{text}"
        );
    }
    assert!(
        stats.readings.load(std::sync::atomic::Ordering::Relaxed) >= rooms as u64,
        "some rooms published no reading"
    );
    // Each device said goodbye with a DISCONNECT instead of dropping its connection (which
    // Mosquitto would log as "closed its connection"). Mosquitto logs it a moment later.
    eventually(10, "every device disconnected cleanly", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        async move {
            let clean = text
                .lines()
                .filter(|l| l.contains("Client once-") && l.contains(" disconnected."))
                .count();
            (clean == rooms).then_some(())
        }
    })
    .await;
}
