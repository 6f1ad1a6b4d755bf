//! Light commands end to end: a real `hearthd`, lights that are the simulator or test
//! clients on real MQTT connections, commands through the HTTP API and their fate read from
//! the `/api/events` WebSocket, the command log and, independently, `mosquitto_sub`.

mod common;

use std::process::{Command as Process, Stdio};
use std::time::Duration;

use common::api::{Events, get, light, switch, wait_light};
use common::{HubProcess, eventually, mosquitto_pub, mosquitto_sub};
use serde_json::Value;

fn id_of(cmd: &Value) -> i64 {
    cmd["id"].as_i64().expect("command id")
}

fn outcomes(fate: &[Value]) -> Vec<&str> {
    fate.iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect()
}

/// `hearth-sim` against the hub, killed when dropped.
struct Sim(std::process::Child);

impl Sim {
    fn start(hub: &HubProcess, extra: &[&str]) -> Sim {
        let url = format!("mqtt://{}", hub.mqtt);
        let mut p = Process::new(env!("CARGO_BIN_EXE_hearth-sim"));
        p.args(["--broker", &url]);
        if !extra.contains(&"--interval") {
            p.args(["--interval", "10s"]);
        }
        Sim(p
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("hearth-sim"))
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `hearthd --demo`: in both conventions a switch is pending, then confirmed with the
/// simulated light's reply and a latency; the light's state follows, and the light itself
/// (its retained status, read by Mosquitto's client) did switch.
#[tokio::test]
async fn demo_lights_confirm_in_both_conventions() {
    let hub = HubProcess::start(&["--demo", "--demo-flavor", "seed", "--demo-rooms", "2"]);
    let http = hub.http.unwrap();
    let same = wait_light(http, "livingroom/light").await;
    assert_eq!(same["commandConvention"], "same-topic");
    assert_eq!(same["commandTopic"], "home/livingroom/light");
    let set = wait_light(http, "kitchen/light").await;
    assert_eq!(set["commandConvention"], "set-topic");
    assert_eq!(set["commandTopic"], "home/kitchen/light/set");

    let mut ev = Events::open(http, Some("command_updated,light_state")).await;
    for (light, state) in [
        ("livingroom/light", "ON"),
        ("kitchen/light", "ON"),
        ("kitchen/light", "OFF"),
    ] {
        let cmd = switch(http, light, state).await;
        assert_eq!(cmd["outcome"], "pending", "{cmd}");
        assert_eq!(cmd["light"], light);
        let fate = ev.command_fate(id_of(&cmd), 10).await;
        assert_eq!(outcomes(&fate), ["pending", "confirmed"], "{fate:?}");
        let done = &fate[1];
        assert_eq!(done["reply"], state);
        assert_eq!(done["replyState"], state.to_lowercase());
        assert!(done["latencyMs"].as_f64().unwrap() > 0.0, "{done}");
        let ls = ev
            .until(5, "light_state after the reply", |e| {
                e["type"] == "light_state" && e["light"] == light
            })
            .await;
        assert_eq!(ls["state"], state.to_lowercase());
        assert_eq!(ls["source"], "reply");
    }

    let port = hub.port();
    let status = tokio::task::spawn_blocking(move || {
        mosquitto_sub(port, 5, &["-t", "home/kitchen/light", "-C", "1"])
    })
    .await
    .unwrap();
    assert_eq!(status, ["OFF"]);

    let (st, log) = get(http, "/api/devices/kitchen/light/commands").await;
    assert_eq!(st, 200);
    let log: Vec<(&str, &str, &str)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["origin"].as_str().unwrap(),
                c["payload"].as_str().unwrap_or(""),
                c["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        log,
        [("hub", "OFF", "confirmed"), ("hub", "ON", "confirmed")]
    );
    let (_, d) = get(http, "/api/devices/kitchen/light").await;
    assert_eq!(d["light"]["state"], "off");
    assert_eq!(d["lastCommand"]["outcome"], "confirmed");
}

/// `hearth-sim --drop-replies 1`: lights obey but never reply, so commands time out.
#[tokio::test]
async fn commands_time_out_without_a_reply() {
    let hub = HubProcess::start(&["--command-timeout", "600ms"]);
    let http = hub.http.unwrap();
    let _sim = Sim::start(&hub, &["--rooms", "2", "--drop-replies", "1"]);
    let mut ev = Events::open(http, Some("command_updated")).await;
    for light in ["livingroom/light", "kitchen/light"] {
        wait_light(http, light).await;
        let cmd = switch(http, light, "ON").await;
        let fate = ev.command_fate(id_of(&cmd), 10).await;
        assert_eq!(outcomes(&fate), ["pending", "timed_out"], "{fate:?}");
        assert_eq!(fate[1]["reply"], Value::Null);
        assert!(
            fate[1]["detail"].as_str().unwrap().contains("600 ms"),
            "{}",
            fate[1]
        );
    }
    // The log has it too, once the hub has stored it.
    let (_, log) = get(http, "/api/devices/kitchen/light/commands?limit=1").await;
    assert_eq!(log[0]["outcome"], "timed_out");
}

/// A newer command to the same light supersedes a pending one; the light's late reply to
/// the older command is not taken as a mismatch of the newer.
#[tokio::test]
async fn a_newer_command_supersedes_a_pending_one() {
    let hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    let _sim = Sim::start(&hub, &["--rooms", "1", "--reply-delay", "300ms"]);
    wait_light(http, "livingroom/light").await;
    let mut ev = Events::open(http, Some("command_updated")).await;
    let first = switch(http, "livingroom/light", "ON").await;
    let second = switch(http, "livingroom/light", "OFF").await;
    let fate = ev.command_fate(id_of(&first), 5).await;
    assert_eq!(outcomes(&fate), ["pending", "superseded"]);
    assert_eq!(
        fate[1]["detail"],
        format!("superseded by command {}", id_of(&second))
    );
    let fate = ev.command_fate(id_of(&second), 5).await;
    assert_eq!(outcomes(&fate), ["pending", "confirmed"], "{fate:?}");
    assert_eq!(fate[1]["reply"], "OFF");
}

/// A light that replies with the opposite state is a mismatch, not a confirmation; one that
/// replies with something unreadable leaves the command pending until it times out, with
/// the raw reply kept and the state shown as unknown.
#[tokio::test]
async fn mismatched_and_unreadable_replies() {
    let hub = HubProcess::start(&["--command-timeout", "800ms"]);
    let http = hub.http.unwrap();
    let _stuck = light(
        hub.mqtt,
        "stuck-light",
        "home/den/light",
        "home/den/light/set",
        "OFF",
        |_| Some("OFF".into()),
    )
    .await;
    let _odd = light(
        hub.mqtt,
        "odd-light",
        "home/den/lamp",
        "home/den/lamp/set",
        "OFF",
        |_| Some("dim".into()),
    )
    .await;
    let den = wait_light(http, "den/light").await;
    assert_eq!(den["commandConvention"], "set-topic");
    wait_light(http, "den/lamp").await;
    let mut ev = Events::open(http, Some("command_updated")).await;

    let cmd = switch(http, "den/light", "ON").await;
    let fate = ev.command_fate(id_of(&cmd), 5).await;
    assert_eq!(outcomes(&fate), ["pending", "mismatch"]);
    assert_eq!(fate[1]["reply"], "OFF");
    assert_eq!(fate[1]["replyState"], "off");
    assert!(fate[1]["latencyMs"].as_f64().is_some());

    let cmd = switch(http, "den/lamp", "ON").await;
    let fate = ev.command_fate(id_of(&cmd), 5).await;
    assert_eq!(outcomes(&fate), ["pending", "timed_out"]);
    assert_eq!(fate[1]["reply"], "dim");
    assert_eq!(fate[1]["replyState"], "unknown");
    let (_, lamp) = get(http, "/api/devices/den/lamp").await;
    assert_eq!(lamp["light"]["state"], "unknown");
    assert_eq!(lamp["light"]["payload"], "dim");
}

/// A status change with no command pending (a wall switch, a phone) updates the light and
/// is logged once as an external change; a status repeating the known state is not.
#[tokio::test]
async fn a_change_nobody_commanded_is_external() {
    let hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    let _light = light(
        hub.mqtt,
        "hall-light",
        "home/hall/light",
        "home/hall/light",
        "OFF",
        |c| Some(c.to_string()),
    )
    .await;
    wait_light(http, "hall/light").await;
    let mut ev = Events::open(http, Some("command_updated,light_state")).await;
    let port = hub.port();
    // Another controller switches the light on the seed's same topic; the light echoes it.
    tokio::task::spawn_blocking(move || {
        mosquitto_pub(port, &["-t", "home/hall/light", "-m", "ON", "-q", "1"])
    })
    .await
    .unwrap();
    let ext = ev
        .until(5, "external change logged", |e| {
            e["type"] == "command_updated" && e["light"] == "hall/light"
        })
        .await;
    assert_eq!(ext["origin"], "external");
    assert_eq!(ext["outcome"], "external");
    assert_eq!(ext["reply"], "ON");
    let ls = ev
        .until(5, "light_state", |e| e["type"] == "light_state")
        .await;
    assert_eq!(
        (&ls["state"], &ls["source"]),
        (&"on".into(), &"external".into())
    );

    let log = eventually(5, "the echo and the log settle", || async {
        let (_, d) = get(http, "/api/devices/hall/light").await;
        let (_, log) = get(http, "/api/devices/hall/light/commands").await;
        (d["light"]["state"] == "on").then_some(log)
    })
    .await;
    let entries: Vec<(&str, &str)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["origin"].as_str().unwrap(), c["reply"].as_str().unwrap()))
        .collect();
    assert_eq!(entries, [("external", "ON")]);
}

/// In the same-topic convention the hub publishes on the light's own status topic; with
/// nothing there to reply, its own command must not confirm itself: it times out, and the
/// hub never even received it (MQTT 5 noLocal), though other subscribers did.
#[tokio::test]
async fn the_hubs_own_command_is_never_the_reply() {
    let hub = HubProcess::start(&["--command-timeout", "700ms"]);
    let http = hub.http.unwrap();
    let port = hub.port();
    mosquitto_pub(
        port,
        &["-t", "home/attic/light", "-m", "OFF", "-r", "-q", "1"],
    );
    let attic = wait_light(http, "attic/light").await;
    assert_eq!(attic["commandConvention"], "same-topic");
    let watcher = tokio::task::spawn_blocking(move || {
        mosquitto_sub(port, 5, &["-t", "home/attic/light", "-C", "2", "-q", "1"])
    });
    // The watcher's subscription must be in place before the command goes out.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ev = Events::open(http, Some("command_updated")).await;
    let cmd = switch(http, "attic/light", "ON").await;
    let fate = ev.command_fate(id_of(&cmd), 5).await;
    assert_eq!(outcomes(&fate), ["pending", "timed_out"]);
    assert_eq!(watcher.await.unwrap(), ["OFF", "ON"]);
    let (_, tree) = get(http, "/api/topics").await;
    let home = tree
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "home")
        .unwrap();
    let light = &home["children"][0]["children"][0];
    assert_eq!(light["path"], "home/attic/light");
    assert_eq!(light["info"]["messages"], 1);
    assert_eq!(light["info"]["lastPayload"], "OFF");
}

/// 50 lights switched at once, half in each convention: every command is confirmed exactly
/// once, after exactly one pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_lights_switched_at_once_each_confirm_once() {
    let hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    let _sim = Sim::start(&hub, &["--rooms", "50", "--interval", "60s"]);
    let lights = eventually(20, "50 lights listed", || async {
        let (_, rooms) = get(http, "/api/devices").await;
        let lights: Vec<(String, String)> = rooms
            .as_array()?
            .iter()
            .flat_map(|r| r["devices"].as_array().unwrap().iter())
            .filter(|d| d["kind"] == "light")
            .map(|d| {
                (
                    d["id"].as_str().unwrap().to_string(),
                    d["commandConvention"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        // The convention is detected live: a `…/set` light counts as one once the broker
        // holds its subscription to `…/set`.
        let set = lights.iter().filter(|(_, c)| c == "set-topic").count();
        (lights.len() == 50 && set == 25).then_some(lights)
    })
    .await;

    let mut ev = Events::open(http, Some("command_updated")).await;
    let sends = lights.iter().map(|(id, _)| switch(http, id, "ON"));
    let cmds = futures_util::future::join_all(sends).await;
    let ids: std::collections::HashSet<i64> = cmds.iter().map(id_of).collect();
    assert_eq!(ids.len(), 50);
    let mut seen: std::collections::HashMap<i64, Vec<String>> = Default::default();
    let mut confirmed = 0;
    while confirmed < 50 {
        let e = ev
            .until(15, "all 50 confirmed", |e| e["type"] == "command_updated")
            .await;
        let id = id_of(&e);
        assert!(ids.contains(&id), "an event for a command nobody sent: {e}");
        let o = e["outcome"].as_str().unwrap().to_string();
        if o == "confirmed" {
            confirmed += 1;
        }
        seen.entry(id).or_default().push(o);
    }
    // Nothing more arrives for these commands.
    if let Some(e) = ev.next(1).await {
        panic!("an event after every command was confirmed: {e}");
    }
    for (id, o) in &seen {
        assert_eq!(o, &["pending", "confirmed"], "command {id}");
    }
}
