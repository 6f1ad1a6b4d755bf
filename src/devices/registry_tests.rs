use super::*;
use crate::devices::Presence;
use crate::devices::payload::Unit;
use crate::devices::{LightState, numeric_fields};

fn msg<'a>(topic: &'a str, payload: &'a [u8], qos: u8, retained: bool) -> Message<'a> {
    Message {
        topic,
        payload,
        qos,
        retained,
        kept: false,
    }
}

fn observe(r: &Registry, topic: &str, payload: &str, now: i64) -> Option<Sighting> {
    let f = numeric_fields(payload.as_bytes());
    r.observe(msg(topic, payload.as_bytes(), 1, false), now, &f)
}

fn registry() -> Registry {
    Registry::new(RegistryLimits::default())
}

#[test]
fn seed_topics_make_devices_sorted_by_room() {
    let r = registry();
    observe(&r, "home/livingroom/temperature", "21.5", 1);
    observe(&r, "home/kitchen/temperature", "{\"temperature\":19}", 2);
    observe(&r, "home/livingroom/light", "ON", 3);
    observe(&r, "home/hall/lamp", "OFF", 4);
    observe(&r, "home/hall/ceiling", "OFF", 5);
    observe(&r, "home/hall/ceiling/set", "ON", 6);
    observe(&r, "home/hall/sensor", "{\"temp\":3,\"humidity\":1}", 7);
    observe(&r, "home/hall/door", "open", 8);
    observe(&r, "bench/x", "1", 9);
    observe(&r, "home/toolong/a/b", "1", 10);

    let devices = r.devices_at(11);
    let rooms: Vec<&str> = devices.iter().map(|d| d.room.as_deref().unwrap()).collect();
    assert_eq!(
        rooms,
        vec![
            "hall",
            "hall",
            "hall",
            "hall",
            "kitchen",
            "livingroom",
            "livingroom"
        ]
    );
    let hall = &devices[..4];
    let kinds: Vec<(&str, DeviceKind)> = hall.iter().map(|d| (d.name.as_str(), d.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            ("ceiling", DeviceKind::Light),
            ("door", DeviceKind::Other),
            ("lamp", DeviceKind::Light),
            ("sensor", DeviceKind::Temperature),
        ]
    );
    assert_eq!(r.device_at("hall/ceiling", 11).as_ref(), Some(&hall[0]));
    assert_eq!(hall[0].state_topic, "home/hall/ceiling");
    assert_eq!(r.device("hall/ceiling/set"), None);
    assert_eq!(hall[3].temperature, Some(3.0));
    assert_eq!(hall[3].temperature_field.as_deref(), Some("temp"));
    assert_eq!(hall[3].readings.len(), 2, "temperature and humidity");
    assert_eq!(devices[6].temperature_field.as_deref(), Some(""));
    assert_eq!(devices[6].temperature_unit, Some(Unit::Celsius));
    assert_eq!(hall[0].temperature_field, None);
    assert_eq!(devices[4].temperature, Some(19.0));
    assert_eq!(devices[5].kind, DeviceKind::Light);
    assert_eq!(devices[5].convention, "home");
    // Every topic, device or not, is in the raw list; two are no device's.
    assert_eq!(r.topics().len(), 10);
    assert_eq!(r.unclaimed_count(), 2);
    assert_eq!(
        r.topic("home/hall/ceiling/set").unwrap().device.as_deref(),
        Some("hall/ceiling")
    );
}

#[test]
fn a_sighting_names_the_device_and_a_lights_state() {
    let r = registry().with_listening(Arc::new(|t| t == "home/hall/lamp/set"));
    let s = observe(&r, "home/hall/lamp", "ON", 5).unwrap();
    assert_eq!(s.devices, vec!["hall/lamp".to_string()]);
    assert_eq!(s.lights, vec![("hall/lamp".to_string(), LightState::On)]);
    let info = r.device("hall/lamp").unwrap();
    assert_eq!(info.command_topic.as_deref(), Some("home/hall/lamp/set"));
    assert_eq!(info.command_convention.as_deref(), Some("set-topic"));
    // A command on the `/set` topic is no status.
    let s = observe(&r, "home/hall/lamp/set", "OFF", 6).unwrap();
    assert!(s.lights.is_empty());
    let s = observe(&r, "home/hall/temp", "20.5", 7).unwrap();
    assert!(s.lights.is_empty());
    assert_eq!(
        s.units,
        vec![("home/hall/temp".into(), String::new(), Unit::Celsius)]
    );
    // The unit is news only once.
    assert!(
        observe(&r, "home/hall/temp", "20.6", 8)
            .unwrap()
            .units
            .is_empty()
    );
    assert_eq!(r.light_route("hall/lamp").unwrap().convention, "set-topic");
    assert_eq!(
        r.light_route("hall/temp"),
        Err(DevicesError::NotALight("hall/temp".into()))
    );
    assert_eq!(
        r.light_route("hall/none"),
        Err(DevicesError::NoDevice("hall/none".into()))
    );
    // Topics no convention claims cost one lookup after the first.
    assert_eq!(observe(&r, "bench/1", "1", 9), None);
    assert_eq!(observe(&r, "bench/1", "1", 10), None);
}

#[test]
fn fahrenheit_from_a_unit_field() {
    let r = registry();
    observe(
        &r,
        "home/porch/climate",
        r#"{"temperature":68.0,"unit":"F"}"#,
        1,
    );
    let d = r.device("porch/climate").unwrap();
    assert_eq!(
        (d.temperature, d.temperature_unit),
        (Some(68.0), Some(Unit::Fahrenheit))
    );
    assert_eq!(d.kind, DeviceKind::Temperature);
}

#[test]
fn availability_offline_refuses_commands_and_reaches_channels() {
    let r = registry();
    observe(&r, "stat/plug/POWER", "ON", 1);
    observe(&r, "stat/plug/POWER2", "OFF", 1);
    assert_eq!(
        r.device_at("tasmota/plug", 2).unwrap().availability.state,
        Presence::Online
    );
    observe(&r, "tele/plug/LWT", "Offline", 3_000);
    for id in ["tasmota/plug", "tasmota/plug/2"] {
        let d = r.device_at(id, 4_000).unwrap();
        assert_eq!(d.availability.state, Presence::Offline, "{id}");
        assert_eq!(d.availability.since_ms, Some(3_000));
        assert_eq!(d.availability.topic.as_deref(), Some("tele/plug/LWT"));
        assert!(matches!(
            r.light_route(id),
            Err(DevicesError::Offline { .. })
        ));
    }
    observe(&r, "tele/plug/LWT", "Online", 5_000);
    let route = r.light_route("tasmota/plug").unwrap();
    assert_eq!(
        (route.command_topic.as_str(), route.payload(true)),
        ("cmnd/plug/POWER", "ON")
    );
}

#[test]
fn silent_only_after_several_usual_intervals() {
    let r = registry();
    for i in 0..4 {
        observe(&r, "home/attic/temperature", "10", i * 300_000);
    }
    // A light that reports only when switched is never silent.
    observe(&r, "home/attic/light", "OFF", 0);
    let at = |ms| {
        r.device_at("attic/temperature", ms)
            .unwrap()
            .availability
            .state
    };
    assert_eq!(at(900_000 + 600_000), Presence::Online);
    assert_eq!(at(900_000 + 1_000_000), Presence::Silent);
    let light = r.device_at("attic/light", 100_000_000).unwrap();
    assert_eq!(light.availability.state, Presence::Online);
}

/// Issue 12, item 3: the rule before was "quiet for 5 minutes = silent", which greyed out every
/// light that reports only when switched, even one switched a moment after its last report.
#[test]
fn a_light_switched_now_and_then_is_never_silent() {
    let r = registry();
    // Switched four times a minute apart (so it has a usual interval), then left alone a day.
    for (i, state) in ["ON", "OFF", "ON", "OFF"].iter().enumerate() {
        observe(&r, "home/porch/light", state, i as i64 * 60_000);
    }
    for quiet_ms in [5 * 60_000 + 1, 3_600_000, 86_400_000] {
        let d = r.device_at("porch/light", 180_000 + quiet_ms).unwrap();
        assert_eq!(
            d.availability.state,
            Presence::Online,
            "after {quiet_ms} ms"
        );
    }
    // A sensor reporting every 10 minutes is not silent 6 minutes after its last reading.
    for i in 0..3 {
        observe(&r, "home/porch/temperature", "12", i * 600_000);
    }
    let at = |ms| {
        r.device_at("porch/temperature", ms)
            .unwrap()
            .availability
            .state
    };
    assert_eq!(at(1_200_000 + 360_000), Presence::Online);
    assert_eq!(at(1_200_000 + 1_900_000), Presence::Silent);
}

#[test]
fn the_households_names_win() {
    let r = registry();
    observe(&r, "zigbee2mqtt/hall/lamp", r#"{"state":"ON"}"#, 1);
    let d = r.device("z2m/hall/lamp").unwrap();
    assert_eq!((d.name.as_str(), d.room.as_deref()), ("lamp", Some("hall")));
    r.set_naming(
        "z2m/hall/lamp",
        Naming {
            name: Some("Reading lamp".into()),
            room: Some(None),
        },
    )
    .unwrap();
    observe(&r, "zigbee2mqtt/hall/lamp", r#"{"state":"OFF"}"#, 2);
    let d = r.device("z2m/hall/lamp").unwrap();
    assert_eq!((d.name.as_str(), d.room.as_deref()), ("Reading lamp", None));
    assert!(d.customised);
    for bad in ["", "  ", "a\nb", &"x".repeat(101)] {
        let n = Naming {
            name: Some(bad.to_string()),
            room: None,
        };
        assert!(matches!(
            r.set_naming("z2m/hall/lamp", n),
            Err(DevicesError::BadNaming(_))
        ));
    }
}

#[test]
fn discovery_describes_another_conventions_device() {
    let r = registry();
    observe(&r, "esp-hall/sensor/temperature/state", "70.1", 1);
    let cfg = r#"{"name":"Temperature","stat_t":"esp-hall/sensor/temperature/state","unit_of_meas":"°F","dev_cla":"temperature","uniq_id":"t1","dev":{"ids":["e1"],"name":"Hall node","sa":"Hall"}}"#;
    observe(
        &r,
        "homeassistant/sensor/esp-hall/temperature/config",
        cfg,
        2,
    );
    observe(&r, "esp-hall/sensor/temperature/state", "70.2", 3);
    let d = r.device("esphome/esp-hall").unwrap();
    assert_eq!(d.temperature_unit, Some(Unit::Fahrenheit));
    assert_eq!(
        (d.name.as_str(), d.room.as_deref()),
        ("Hall node", Some("Hall"))
    );
    assert_eq!(r.devices().len(), 1, "{:?}", r.devices());
}

#[test]
fn topic_stats_and_truncation() {
    let r = Registry::new(RegistryLimits {
        max_topics: 10,
        max_payload_bytes: 4,
    });
    r.observe(msg("a", b"hello world", 2, true), 10, &[]);
    r.observe(msg("a", b"hi", 0, false), 20, &[]);
    let t = r.topic("a").unwrap();
    assert_eq!(t.first_seen_ms, 10);
    assert_eq!(t.last_seen_ms, 20);
    assert_eq!(t.messages, 2);
    // The broker still holds the replayed message: a message without the flag keeps it.
    assert_eq!((t.qos, t.retained, t.truncated), (0, true, false));
    r.observe(msg("a", b"hello world", 2, true), 30, &[]);
    let t = r.topic("a").unwrap();
    assert_eq!(t.last_payload, "hell");
    assert_eq!(t.payload_bytes, 11);
    assert!(t.truncated && t.retained);
}

#[test]
fn topic_count_stays_bounded() {
    let r = Registry::new(RegistryLimits {
        max_topics: 1000,
        max_payload_bytes: 16,
    });
    for i in 0..20_000 {
        r.observe(msg(&format!("home/r{i}/t"), b"1", 0, false), i, &[]);
    }
    assert!(r.topic_count() <= 1000);
    // The most recent survive, and a forgotten topic's device goes with it.
    assert!(r.topic("home/r19999/t").is_some());
    assert!(r.topic("home/r0/t").is_none());
    assert_eq!(r.device("r0/t"), None);
    assert!(r.device("r19999/t").is_some());
    assert!(r.devices().len() <= 1000);
}

#[test]
fn two_thermometers_keep_their_series_and_units_are_news_once() {
    let r = registry();
    let p = r#"{"SI7021":{"Temperature":21.0,"Humidity":40},"DS18B20":{"Temperature":55.5},"TempUnit":"C"}"#;
    let s = observe(&r, "tele/boiler/SENSOR", p, 1).unwrap();
    assert_eq!(s.units.len(), 3, "{:?}", s.units);
    for t in 2..5 {
        let s = observe(&r, "tele/boiler/SENSOR", p, t).unwrap();
        assert!(
            s.units.is_empty(),
            "no store write per message: {:?}",
            s.units
        );
    }
    let d = r.device("tasmota/boiler").unwrap();
    let temps: Vec<&str> = d
        .readings
        .iter()
        .filter(|x| x.quantity == Quantity::Temperature)
        .map(|x| x.field.as_str())
        .collect();
    assert_eq!(temps.len(), 2);
    // The first heard stays the device's temperature.
    assert_eq!(d.temperature_field.as_deref(), Some(temps[0]));
}

#[test]
fn a_channel_made_after_the_will_starts_offline() {
    let r = registry();
    observe(&r, "tele/dual/LWT", "Offline", 1);
    observe(&r, "stat/dual/POWER2", "OFF", 2);
    let d = r.device_at("tasmota/dual/2", 3).unwrap();
    assert_eq!(d.availability.state, Presence::Offline);
    assert!(matches!(
        r.light_route("tasmota/dual/2"),
        Err(DevicesError::Offline { .. })
    ));
}

#[test]
fn a_device_known_only_from_its_description_is_unknown_not_online() {
    let r = registry();
    let cfg = r#"{"name":"Attic","stat_t":"attic/t","dev_cla":"temperature","dev":{"ids":["a1"],"name":"Attic"}}"#;
    observe(&r, "homeassistant/sensor/a1/config", cfg, 1);
    let d = r.device_at("ha/a1", 2).unwrap();
    assert_eq!(d.availability.state, Presence::Unknown);
    assert_eq!(d.last_payload, "", "not the config as its state");
    observe(&r, "attic/t", "12.5", 3);
    let d = r.device_at("ha/a1", 4).unwrap();
    assert_eq!(
        (d.availability.state, d.temperature),
        (Presence::Online, Some(12.5))
    );
}

#[test]
fn a_flood_of_channel_devices_stays_bounded() {
    let r = registry();
    let all: String = (1..=32).map(|i| format!("\"POWER{i}\":\"ON\",")).collect();
    let p = format!("{{{}\"x\":1}}", all);
    for i in 0..1_000 {
        observe(&r, &format!("stat/x{i}/RESULT"), &p, i);
    }
    assert!(r.devices().len() <= crate::devices::record::MAX_DEVICES);
}

#[test]
fn a_topic_belongs_to_the_device_it_names_not_to_a_list() {
    let r = registry();
    observe(
        &r,
        "tele/dual/STATE",
        r#"{"POWER1":"ON","POWER2":"OFF"}"#,
        1,
    );
    assert_eq!(
        r.topic("tele/dual/STATE").unwrap().device.as_deref(),
        Some("tasmota/dual")
    );
    let list = r#"[{"friendly_name":"a","definition":{"model":"m","vendor":"v","exposes":[]}},{"friendly_name":"b"}]"#;
    observe(&r, "zigbee2mqtt/bridge/devices", list, 2);
    assert_eq!(r.topic("zigbee2mqtt/bridge/devices").unwrap().device, None);
    assert!(r.device("z2m/a").is_some() && r.device("z2m/b").is_some());
}

#[test]
fn retained_mark_follows_the_broker_and_messages_are_kept() {
    let r = Registry::new(RegistryLimits::default());
    let kept = |topic, payload: &'static [u8]| Message {
        kept: true,
        ..msg(topic, payload, 1, false)
    };
    r.watch_changes(true);
    r.observe(msg("a", b"1", 0, false), 10, &[]);
    assert!(
        !r.topic("a").unwrap().retained,
        "published without the flag"
    );
    r.observe(kept("a", b"2"), 20, &[]);
    assert!(r.topic("a").unwrap().retained, "kept by the broker");
    r.observe(msg("a", b"3", 0, false), 30, &[]);
    assert!(
        r.topic("a").unwrap().retained,
        "a plain message leaves the kept one"
    );
    assert_eq!(r.retained()[0].since_ms, 20);
    r.observe(kept("a", b""), 40, &[]);
    assert!(
        !r.topic("a").unwrap().retained,
        "an empty retained message clears"
    );
    assert!(r.retained().is_empty());
    let m = r.messages("a").unwrap();
    let flags: Vec<_> = m
        .iter()
        .map(|m| (m.at_ms, m.retained, m.payload.as_str()))
        .collect();
    assert_eq!(
        flags,
        [
            (10, false, "1"),
            (20, true, "2"),
            (30, false, "3"),
            (40, true, "")
        ]
    );
    let changed = r.take_changes().unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].messages, 4);
    assert!(r.messages("b").is_none());
}

#[test]
fn forgotten_topics_free_their_messages() {
    let r = Registry::new(RegistryLimits {
        max_topics: 10,
        max_payload_bytes: 16,
    });
    for i in 0..100 {
        r.observe(msg(&format!("t/{i}"), &[b'x'; 100], 0, false), i, &[]);
    }
    assert!(r.topic_count() <= 10);
    assert!(r.messages("t/0").is_none());
    assert_eq!(r.messages("t/99").unwrap().len(), 1);
}
