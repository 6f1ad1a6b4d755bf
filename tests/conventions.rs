//! Real devices, as their firmware documents them: each fixture under
//! `tests/fixtures/devices/` (naming its sources) is published to a real `hearthd` by a real
//! MQTT 3.1.1 client carrying the firmware's last will. The test then checks, through the
//! HTTP API, that the device is listed with its name, kind, room and units, that its
//! temperature is recorded and charted, that its light switches and is confirmed by the
//! firmware's own status reply, and that killing its connection turns it offline.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::api::{get, post};
use common::{HubProcess, eventually, within};
use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Packet, QoS};
use serde_json::Value;
use tokio::sync::mpsc;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/devices/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        v["sources"].as_array().is_some_and(|s| !s.is_empty()),
        "{name}: a fixture names its sources"
    );
    v
}

/// A payload as the fixture gives it: a string verbatim, anything else as compact JSON.
fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    }
}

/// `/api/devices/…` for a device id: the first level, then the rest percent-encoded.
fn device_path(id: &str) -> String {
    let (group, rest) = id.split_once('/').expect("a device id has a /");
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!("/api/devices/{}/{}", enc(group), enc(rest))
}

/// Whether a command the hub sent is what the fixture expects: a string exactly, an object
/// as a subset of the JSON sent.
fn command_matches(want: &Value, got: &str) -> bool {
    fn subset(want: &Value, got: &Value) -> bool {
        match (want, got) {
            (Value::Object(w), Value::Object(g)) => w
                .iter()
                .all(|(k, v)| g.get(k).is_some_and(|gv| subset(v, gv))),
            _ => want == got,
        }
    }
    match want {
        Value::String(s) => s == got,
        other => serde_json::from_str::<Value>(got).is_ok_and(|g| subset(other, &g)),
    }
}

/// The device: a connection with the firmware's client id and last will, its event loop in
/// a task of its own so the test can kill the connection without a DISCONNECT.
struct Device {
    client: AsyncClient,
    driver: tokio::task::JoinHandle<()>,
    commands: mpsc::UnboundedReceiver<(String, String)>,
    /// The command topic it subscribes to.
    listened: Option<String>,
    /// What it published on a topic it also subscribes to (the seed's same-topic light),
    /// which MQTT 3.1.1 delivers back to it: not a command.
    echoes: Echoes,
}

type Echoes = Arc<Mutex<HashMap<(String, String), usize>>>;

impl Device {
    async fn connect(hub: &HubProcess, f: &Value) -> Device {
        let id = f["client_id"].as_str().expect("client_id");
        let mut mo = MqttOptions::new(id, hub.mqtt.ip().to_string(), hub.mqtt.port());
        mo.set_keep_alive(Duration::from_secs(30));
        if let Value::Object(w) = &f["will"] {
            mo.set_last_will(LastWill::new(
                w["topic"].as_str().unwrap(),
                bytes(&w["payload"]),
                QoS::AtLeastOnce,
                w["retain"].as_bool().unwrap_or(false),
            ));
        }
        let (client, el) = AsyncClient::new(mo, 256);
        let (connected_tx, connected) = tokio::sync::oneshot::channel();
        let (tx, commands) = mpsc::unbounded_channel();
        let echoes = Echoes::default();
        let driver = tokio::spawn(drive(el, connected_tx, tx, echoes.clone()));
        within(10, "device connected", connected).await.unwrap();
        if let Some(t) = f["light"]["command_topic"].as_str() {
            client.subscribe(t, QoS::AtLeastOnce).await.unwrap();
        }
        Device {
            client,
            driver,
            commands,
            listened: f["light"]["command_topic"].as_str().map(str::to_string),
            echoes,
        }
    }

    async fn publish(&self, messages: &Value) {
        let listened = |t: &str| Some(t) == self.listened.as_deref();
        for m in messages.as_array().into_iter().flatten() {
            let topic = m["topic"].as_str().unwrap();
            if listened(topic) {
                let key = (
                    topic.to_string(),
                    String::from_utf8_lossy(&bytes(&m["payload"])).to_string(),
                );
                *self.echoes.lock().unwrap().entry(key).or_default() += 1;
            }
            self.client
                .publish(
                    m["topic"].as_str().unwrap(),
                    QoS::AtLeastOnce,
                    m["retain"].as_bool().unwrap_or(false),
                    bytes(&m["payload"]),
                )
                .await
                .unwrap();
        }
    }

    /// Ends the connection as a power cut does: no DISCONNECT, so the will is published.
    fn kill(self) {
        self.driver.abort();
    }
}

async fn drive(
    mut el: EventLoop,
    connected: tokio::sync::oneshot::Sender<()>,
    commands: mpsc::UnboundedSender<(String, String)>,
    echoes: Echoes,
) {
    let mut connected = Some(connected);
    loop {
        match el.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if let Some(tx) = connected.take() {
                    let _ = tx.send(());
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let key = (
                    p.topic.clone(),
                    String::from_utf8_lossy(&p.payload).to_string(),
                );
                let mut e = echoes.lock().unwrap();
                match e.get_mut(&key) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => {
                        let _ = commands.send(key);
                    }
                }
            }
            Ok(_) => {}
            Err(e) => panic!("device connection: {e}"),
        }
    }
}

/// Whether the device as listed matches what the fixture expects.
fn listed_as_expected(want: &Value, got: &Value) -> Result<(), String> {
    for key in ["name", "kind", "room", "manufacturer", "model"] {
        if let Some(w) = want.get(key)
            && w != &got[key]
        {
            return Err(format!("{key}: want {w}, got {}", got[key]));
        }
    }
    if let Value::Object(t) = &want["temperature"] {
        for (k, g) in [
            ("value", &got["temperature"]),
            ("unit", &got["temperatureUnit"]),
            ("topic", &got["temperatureTopic"]),
            ("field", &got["temperatureField"]),
        ] {
            let w = &t[k];
            let same = match (w.as_f64(), g.as_f64()) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                _ => w == g,
            };
            if !same {
                return Err(format!("temperature {k}: want {w}, got {g}"));
            }
        }
    }
    if let Value::Object(h) = &want["humidity"] {
        let got_h = got["readings"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["quantity"] == "humidity"));
        if got_h.map(|r| &r["value"]) != Some(&h["value"]) {
            return Err(format!("humidity: want {h:?}, got {got_h:?}"));
        }
    }
    if let Some(a) = want["availability"].as_str()
        && got["availability"]["state"] != a
    {
        return Err(format!(
            "availability: want {a}, got {}",
            got["availability"]
        ));
    }
    Ok(())
}

async fn run_fixture(name: &str) {
    let f = fixture(name);
    let hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    let mut device = Device::connect(&hub, &f).await;
    device.publish(&f["publish"]).await;

    for want in f["devices"].as_array().expect("devices") {
        let id = want["id"].as_str().unwrap();
        eventually(
            10,
            &format!("{name}: {id} listed as the fixture says"),
            || async {
                let (st, got) = get(http, &device_path(id)).await;
                match listed_as_expected(want, &got) {
                    Ok(()) if st == 200 => Some(()),
                    Ok(()) => None,
                    Err(e) => {
                        eprintln!("{name} {id}: {e}");
                        None
                    }
                }
            },
        )
        .await;
        if let Value::Object(t) = &want["temperature"] {
            // Recorded and charted: the series' history answers, in the device's unit.
            let q = format!(
                "/api/history?topic={}&field={}",
                urlish(t["topic"].as_str().unwrap()),
                urlish(t["field"].as_str().unwrap())
            );
            let h = eventually(
                10,
                &format!("{name}: {id} temperature recorded"),
                || async {
                    let (st, h) = get(http, &q).await;
                    // The unit is stored beside the readings, a moment after the first.
                    (st == 200 && !h["unit"].is_null()).then_some(h)
                },
            )
            .await;
            assert_eq!(h["unit"], t["unit"], "{name}: history unit");
        }
    }

    if let Value::Object(light) = &f["light"] {
        let id = light["device"].as_str().unwrap();
        for (state, cmd_key, reply_key) in [
            ("ON", "on_command", "on_reply"),
            ("OFF", "off_command", "off_reply"),
        ] {
            let (st, cmd) = post(
                http,
                &format!("{}/switch", device_path(id)),
                &serde_json::json!({ "state": state }),
            )
            .await;
            assert_eq!(st, 202, "{name}: switch {state}: {cmd}");
            assert_eq!(cmd["outcome"], "pending", "{name}: {cmd}");
            let (topic, payload) =
                within(10, "the command reaches the device", device.commands.recv())
                    .await
                    .expect("a command");
            assert_eq!(topic, light["command_topic"].as_str().unwrap(), "{name}");
            assert!(
                command_matches(&light[cmd_key], &payload),
                "{name}: sent {payload}, the firmware expects {}",
                light[cmd_key]
            );
            device.publish(&light[reply_key]).await;
            let cid = cmd["id"].as_i64().unwrap();
            let done = eventually(10, &format!("{name}: {state} confirmed"), || async {
                let (_, c) = get(http, &format!("/api/commands/{cid}")).await;
                (c["outcome"] != "pending").then_some(c)
            })
            .await;
            assert_eq!(done["outcome"], "confirmed", "{name}: {done}");
        }
    }

    if let Some(id) = f["offline_device"].as_str() {
        device.kill();
        eventually(
            10,
            &format!("{name}: {id} offline by its last will"),
            || async {
                let (_, d) = get(http, &device_path(id)).await;
                (d["availability"]["state"] == "offline").then_some(())
            },
        )
        .await;
        let (_, d) = get(http, &device_path(id)).await;
        assert_eq!(
            d["availability"]["topic"], f["will"]["topic"],
            "{name}: the will's topic is named"
        );
        if f["light"]["device"] == id {
            let (st, e) = post(
                http,
                &format!("{}/switch", device_path(id)),
                &serde_json::json!({ "state": "ON" }),
            )
            .await;
            assert_eq!(
                (st, e["code"].as_str()),
                (409, Some("device_offline")),
                "{name}: {e}"
            );
        }
        // A bridge whose will took its devices offline brings them back when it returns.
        if let Value::Object(back) = &f["back_online"] {
            let payload = String::from_utf8(bytes(&back["payload"])).unwrap();
            let mut args = vec![
                "-t",
                back["topic"].as_str().unwrap(),
                "-q",
                "1",
                "-m",
                &payload,
            ];
            if back["retain"] == true {
                args.push("-r");
            }
            common::mosquitto_pub(hub.port(), &args);
            eventually(10, &format!("{name}: {id} online again"), || async {
                let (_, d) = get(http, &device_path(id)).await;
                (d["availability"]["state"] == "online").then_some(())
            })
            .await;
        }
    }
}

/// A query value with the few characters topics and fields use that a URL does not allow.
fn urlish(s: &str) -> String {
    s.replace('%', "%25")
        .replace('#', "%23")
        .replace('&', "%26")
        .replace('+', "%2B")
        .replace(' ', "%20")
}

macro_rules! fixtures {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                run_fixture($file).await;
            }
        )*
    };
}

fixtures! {
    seed_same_topic => "home",
    seed_set_topic => "home-set",
    seed_fahrenheit => "home-fahrenheit",
    tasmota => "tasmota",
    tasmota_fahrenheit => "tasmota-fahrenheit",
    zigbee2mqtt => "z2m",
    zigbee2mqtt_other_base_and_1x_availability => "z2m-legacy",
    shelly_gen2 => "shelly-gen2",
    shelly_gen1 => "shelly-gen1",
    esphome => "esphome",
    homie4 => "homie4",
    homie5 => "homie5",
    home_assistant_entity_discovery => "ha-entity",
    home_assistant_device_discovery => "ha-device",
}

/// Devices that publish nonsense: malformed discovery configs, templates the hub cannot
/// evaluate, unknown Homie datatypes, a Zigbee2MQTT device list of 5,000 entries, payloads
/// that lie about their types. Each gets a logged reason, the device or its topic is still
/// listed, and the hub keeps answering.
#[tokio::test]
async fn bad_device_input_is_logged_and_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("hub.log");
    let wrap = format!("exec \"$@\" 2>>{}", log.display());
    let hub = HubProcess::start_wrapped(tmp.path(), &["--log", "info"], &["sh", "-c", &wrap, "sh"]);
    let http = hub.http.unwrap();
    let port = hub.port();
    let publish = |topic: &str, payload: &str| {
        common::mosquitto_pub(port, &["-t", topic, "-m", payload, "-r", "-q", "1"]);
    };
    publish("homeassistant/sensor/bad1/config", "{not json");
    publish("homeassistant/device/bad2/config", r#"{"cmps":7}"#);
    publish(
        "homeassistant/sensor/bad3/config",
        r#"{"stat_t":5,"dev":"a string"}"#,
    );
    publish(
        "homeassistant/sensor/lab/config",
        r#"{"stat_t":"lab/t1","val_tpl":"{{ value_json.t * 1.8 + 32 }}","dev_cla":"temperature","dev":{"ids":["lab1"],"name":"Lab sensor"}}"#,
    );
    publish("lab/t1", r#"{"t":21}"#);
    publish("homie/weird/$name", "Weird");
    publish("homie/weird/n/p/$datatype", "quaternion");
    publish("homie/weird/n/p", "1,2,3,4");
    publish("homie/weird/n/temperature/$datatype", "float");
    publish("homie/weird/n/temperature/$unit", "°C");
    publish("homie/weird/n/temperature", "warm");
    let list: Vec<String> = (0..5000)
        .map(|i| {
            format!(
                r#"{{"ieee_address":"0x{i:016x}","friendly_name":"device {i}","type":"EndDevice","definition":{{"model":"M{i}","vendor":"V","exposes":[]}}}}"#
            )
        })
        .collect();
    let file = tmp.path().join("devices.json");
    std::fs::write(&file, format!("[{}]", list.join(","))).unwrap();
    common::mosquitto_pub(
        port,
        &[
            "-t",
            "zigbee2mqtt/bridge/devices",
            "-f",
            file.to_str().unwrap(),
            "-r",
            "-q",
            "1",
        ],
    );
    publish("zigbee2mqtt/device 42", "not json");
    publish(
        "zigbee2mqtt/device 43",
        r#"{"temperature":"hot","state":5}"#,
    );
    publish(
        "tele/liar/SENSOR",
        r#"{"DS18B20":{"Temperature":"twenty"}}"#,
    );
    publish("stat/liar/POWER", "MAYBE");
    publish("tele/liar/LWT", "Sleepy");
    publish("shellyplus-x/status/switch:0", "[1,2]");
    publish("node1/sensor/temperature/state", "NaN");
    publish("node1/light/l/state", "{broken");

    let expect = [
        ("ha/lab1", "Lab sensor"),
        ("homie/weird", "Weird"),
        ("z2m/device 42", "device 42"),
        ("z2m/device 43", "device 43"),
        ("tasmota/liar", "liar"),
        ("shelly/shellyplus-x", "shellyplus-x"),
        ("esphome/node1", "node1"),
    ];
    for (id, name) in expect {
        let d = eventually(10, &format!("{id} listed"), || async {
            let (st, d) = get(http, &device_path(id)).await;
            (st == 200).then_some(d)
        })
        .await;
        assert_eq!(d["name"], name, "{id}");
    }
    let d = eventually(10, "the 5,000-entry list read", || async {
        let (_, d) = get(http, &device_path("z2m/device 43")).await;
        (d["model"] == "M43").then_some(d)
    })
    .await;
    // Every listed device appears, before it reports.
    let (st, _) = get(http, &device_path("z2m/device 4999")).await;
    assert_eq!(st, 200);
    // A `state` that is a number and a temperature that is a word are neither.
    assert_eq!(
        (d["kind"].as_str(), d["readings"].as_array().map(Vec::len)),
        (Some("other"), Some(0)),
        "{d}"
    );
    let (_, d) = get(http, &device_path("ha/lab1")).await;
    assert!(
        d["temperature"].is_null(),
        "no value from a template it cannot evaluate: {d}"
    );
    let (_, d) = get(http, &device_path("tasmota/liar")).await;
    assert_eq!(d["availability"]["state"], "unknown", "{d}");
    for t in [
        "homeassistant/sensor/bad1/config",
        "homeassistant/device/bad2/config",
    ] {
        let (_, topics) = get(http, "/api/topics").await;
        let flat = topics.to_string();
        assert!(flat.contains(t), "{t} is in the topic list");
    }
    let text = eventually(10, "every reason logged", || async {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        [
            "bad1/config: discovery config is not a JSON object",
            "bad2/config: device config without components",
            "is not a field path",
            "unknown Homie datatype 'quaternion'",
            "'warm' is not a number",
            "zigbee2mqtt/bridge/devices: 5000 devices listed",
            "zigbee2mqtt/device 42: a Zigbee2MQTT state that is not a JSON object",
            "tele/liar/LWT: LWT 'Sleepy' is not Online/Offline",
            "node1/sensor/temperature/state: a sensor state that is not a number",
            "a Shelly status that is not a JSON object",
        ]
        .iter()
        .filter(|w| !text.contains(*w))
        .inspect(|w| eprintln!("not logged yet: {w}"))
        .count()
        .eq(&0)
        .then_some(text)
    })
    .await;
    assert!(!text.contains("panicked"), "{text}");
    let (st, _) = get(http, "/api/broker").await;
    assert_eq!(st, 200, "the hub still answers");
}

/// A device renamed and moved to a room from the API keeps that name and room through its
/// own messages and a restart; bad names are refused; `null` restores the device's own.
#[tokio::test]
async fn names_and_rooms_survive_restarts() {
    let hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    let port = hub.port();
    let publish = |topic: &str, payload: &str| {
        common::mosquitto_pub(port, &["-t", topic, "-m", payload, "-r", "-q", "1"]);
    };
    publish("homie/desk/$name", "Desk");
    publish("homie/desk/$state", "ready");
    let path = device_path("homie/desk");
    eventually(10, "homie/desk listed", || async {
        let (st, _) = get(http, &path).await;
        (st == 200).then_some(())
    })
    .await;
    let patch = |body: Value| {
        let url = format!("http://{http}{path}");
        async move {
            let r = reqwest::Client::new()
                .patch(url)
                .json(&body)
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            (st, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (st, d) = patch(serde_json::json!({"name": "Study desk", "room": "Study"})).await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(
        (d["name"].as_str(), d["room"].as_str()),
        (Some("Study desk"), Some("Study"))
    );
    assert_eq!(d["customised"], true);
    for bad in [
        serde_json::json!({"name": ""}),
        serde_json::json!({"name": "x".repeat(101)}),
        serde_json::json!({"room": "a\u{7}b"}),
        serde_json::json!({"colour": "red"}),
        serde_json::json!({"name": 5}),
    ] {
        let (st, e) = patch(bad.clone()).await;
        assert_eq!(st, 400, "{bad}: {e}");
    }
    publish("homie/desk/$name", "Desk again");
    let hub = hub.restart();
    let http = hub.http.unwrap();
    let d = eventually(10, "homie/desk back after a restart", || async {
        let (st, d) = get(http, &path).await;
        (st == 200).then_some(d)
    })
    .await;
    assert_eq!(
        (d["name"].as_str(), d["room"].as_str()),
        (Some("Study desk"), Some("Study"))
    );
    let r = reqwest::Client::new()
        .patch(format!("http://{http}{path}"))
        .json(&serde_json::json!({"name": null, "room": ""}))
        .send()
        .await
        .unwrap();
    let d: Value = r.json().await.unwrap();
    assert_eq!(
        (d["name"].as_str(), d["room"].as_str()),
        (Some("Desk again"), None)
    );
    let (st, _) = {
        let r = reqwest::Client::new()
            .patch(format!("http://{http}{}", device_path("homie/nobody")))
            .json(&serde_json::json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), ())
    };
    assert_eq!(st, 404);
}
