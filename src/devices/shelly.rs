//! Shelly. Gen2 and later (<https://shelly-api-docs.shelly.cloud/gen2/General/RPCChannels#mqtt>):
//! `<prefix>/status/<component>:<n>` carries a component's status (`switch:0` with `output`
//! and `apower`, `temperature:100` with `tC` and `tF`, `humidity:0` with `rh`),
//! `<prefix>/events/rpc` the same as `NotifyStatus` changes, `<prefix>/online` is
//! `true`/`false` (the last will); commands are JSON-RPC `Switch.Set` on `<prefix>/rpc`.
//! Gen1 (<https://shelly-api-docs.shelly.cloud/gen1/#shelly1-shelly1pm-mqtt>):
//! `shellies/<id>/relay/<n>` is `on`/`off`, commanded on `…/relay/<n>/command`;
//! `shellies/<id>/sensor/temperature` and `…/ext_temperature/<n>` are plain numbers in °C
//! (an H&T set to °F reports °F there, and says so nowhere on MQTT);
//! `shellies/<id>/online` is `true`/`false`; `shellies/announce` gives the model. Switch 0 is
//! the device; switches 1… are devices of their own, `shelly/<id>/<n>`.

use std::collections::HashSet;

use super::convention::{About, Convention, Fact, Route, What, fact, json, text};
use super::light::{LightRoute, LightState};
use super::payload::Unit;
use super::{Message, Quantity};

/// Prefixes remembered: a home has tens of Shellys.
const MAX_PREFIXES: usize = 4096;
/// Who the hub says it is in JSON-RPC requests; replies come back on `hearth/rpc`.
const RPC_SOURCE: &str = "hearth";

#[derive(Default)]
pub struct Shelly {
    /// Gen2 prefixes seen publishing a status topic.
    gen2: HashSet<String>,
}

fn device_id(id: &str, n: u32) -> String {
    if n == 0 {
        format!("shelly/{id}")
    } else {
        format!("shelly/{id}/{n}")
    }
}

/// A component name, `switch:0` → (`switch`, 0).
fn component(c: &str) -> Option<(&str, u32)> {
    let (kind, n) = c.split_once(':')?;
    Some((kind, n.parse().ok()?))
}

fn rpc_route(prefix: &str, n: u32) -> Route {
    let body = |on: bool| {
        serde_json::json!({
            "id": 1,
            "src": RPC_SOURCE,
            "method": "Switch.Set",
            "params": {"id": n, "on": on}
        })
        .to_string()
    };
    Route::Fixed(LightRoute::new(
        "shelly-rpc",
        format!("{prefix}/rpc"),
        &body(true),
        &body(false),
    ))
}

fn reading(id: &str, quantity: Quantity, field: String, value: f64, unit: Option<Unit>) -> Fact {
    fact(
        id,
        What::Reading {
            quantity,
            field,
            value,
            unit,
        },
    )
}

/// What a Gen2 component's status says; `path` is its place in the payload, for the series.
fn gen2_component(
    prefix: &str,
    name: &str,
    v: &serde_json::Value,
    path: &str,
    readings: bool,
    out: &mut Vec<Fact>,
) {
    let Some((kind, n)) = component(name) else {
        return;
    };
    let num = |k: &str| v.get(k).and_then(|x| x.as_f64());
    let field = |k: &str| format!("{path}{k}");
    match kind {
        "switch" => {
            let id = device_id(prefix, n);
            let state = v
                .get("output")
                .and_then(|o| o.as_bool())
                .map(|on| if on { LightState::On } else { LightState::Off });
            out.push(fact(
                &id,
                What::Light {
                    state,
                    route: rpc_route(prefix, n),
                },
            ));
            if readings && let Some(w) = num("apower") {
                out.push(reading(
                    &id,
                    Quantity::Power,
                    field("apower"),
                    w,
                    Some(Unit::Watt),
                ));
            }
        }
        _ if !readings => {}
        "temperature" => {
            let id = device_id(prefix, 0);
            if let Some(c) = num("tC") {
                out.push(reading(
                    &id,
                    Quantity::Temperature,
                    field("tC"),
                    c,
                    Some(Unit::Celsius),
                ));
            } else if let Some(f) = num("tF") {
                out.push(reading(
                    &id,
                    Quantity::Temperature,
                    field("tF"),
                    f,
                    Some(Unit::Fahrenheit),
                ));
            }
        }
        "humidity" => {
            if let Some(rh) = num("rh") {
                out.push(reading(
                    &device_id(prefix, 0),
                    Quantity::Humidity,
                    field("rh"),
                    rh,
                    Some(Unit::Percent),
                ));
            }
        }
        "devicepower" => {
            if let Some(p) = v
                .get("battery")
                .and_then(|b| b.get("percent"))
                .and_then(|p| p.as_f64())
            {
                out.push(reading(
                    &device_id(prefix, 0),
                    Quantity::Battery,
                    field("battery.percent"),
                    p,
                    Some(Unit::Percent),
                ));
            }
        }
        _ => {}
    }
}

impl Shelly {
    fn gen2(&mut self, m: &Message<'_>, out: &mut Vec<Fact>) -> bool {
        if let Some((prefix, name)) = m.topic.rsplit_once("/status/")
            && !prefix.is_empty()
            && !name.contains('/')
            && (component(name).is_some() || matches!(name, "sys" | "wifi" | "cloud" | "mqtt"))
        {
            if self.gen2.len() < MAX_PREFIXES {
                self.gen2.insert(prefix.to_string());
            }
            let id = device_id(prefix, 0);
            out.push(fact(&id, What::Seen));
            match json(m) {
                Some(v) if v.is_object() => gen2_component(prefix, name, &v, "", true, out),
                _ => tracing::info!("{}: a Shelly status that is not a JSON object", m.topic),
            }
            return true;
        }
        let Some((prefix, last)) = m.topic.rsplit_once('/') else {
            return false;
        };
        let known = self.gen2.contains(prefix);
        match last {
            "rpc" if prefix.ends_with("/events") => {
                let prefix = &prefix[..prefix.len() - "/events".len()];
                let Some(v) = json(m) else {
                    return false;
                };
                if !v.get("method").is_some_and(|x| x.is_string()) {
                    return false;
                }
                out.push(fact(&device_id(prefix, 0), What::Seen));
                if let Some(serde_json::Value::Object(params)) = v.get("params")
                    && matches!(
                        v["method"].as_str(),
                        Some("NotifyStatus" | "NotifyFullStatus")
                    )
                {
                    // A device that publishes its status topics has its readings there; its
                    // notifications still carry a switch's change.
                    let readings = !self.gen2.contains(prefix);
                    for (name, status) in params {
                        let path = format!("params.{name}.");
                        gen2_component(prefix, name, status, &path, readings, out);
                    }
                }
                true
            }
            // Requests to the device, and the replies to the hub's own.
            "rpc" if known || prefix == RPC_SOURCE => true,
            "online"
                if known
                    || prefix
                        .rsplit('/')
                        .next()
                        .is_some_and(|l| l.starts_with("shelly")) =>
            {
                let id = device_id(prefix, 0);
                match text(m) {
                    Some("true") => out.push(fact(&id, What::Available(true))),
                    Some("false") => out.push(fact(&id, What::Available(false))),
                    _ => out.push(fact(&id, What::HasAvailability)),
                }
                true
            }
            _ => false,
        }
    }
}

/// Gen1: everything under `shellies/`.
fn gen1(m: &Message<'_>, fields: &[(String, f64)], out: &mut Vec<Fact>) -> bool {
    let Some(rest) = m.topic.strip_prefix("shellies/") else {
        return false;
    };
    if rest == "announce" {
        if let Some(v) = json(m)
            && let Some(id) = v.get("id").and_then(|i| i.as_str())
        {
            out.push(fact(
                &device_id(id, 0),
                What::About(About {
                    model: v.get("model").and_then(|x| x.as_str()).map(str::to_string),
                    manufacturer: Some("Shelly".into()),
                    ..About::default()
                }),
            ));
        }
        return true;
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let plain = fields.iter().find(|(f, _)| f.is_empty()).map(|(_, v)| *v);
    let id = device_id(parts[0], 0);
    match parts[1..] {
        ["online"] => match text(m) {
            Some("true") => out.push(fact(&id, What::Available(true))),
            Some("false") => out.push(fact(&id, What::Available(false))),
            _ => out.push(fact(&id, What::HasAvailability)),
        },
        [kind @ ("relay" | "light"), n] => {
            let Ok(n) = n.parse::<u32>() else {
                return false;
            };
            let state = match text(m) {
                Some("on") => LightState::On,
                Some("off") => LightState::Off,
                _ => LightState::Unknown,
            };
            out.push(fact(
                &device_id(parts[0], n),
                What::Light {
                    state: Some(state),
                    route: Route::Fixed(LightRoute::new(
                        "shelly",
                        format!("shellies/{}/{kind}/{n}/command", parts[0]),
                        "on",
                        "off",
                    )),
                },
            ));
        }
        [_, _, "command"] => {}
        ["relay", n, "power"] => {
            if let (Ok(n), Some(w)) = (n.parse::<u32>(), plain) {
                out.push(reading(
                    &device_id(parts[0], n),
                    Quantity::Power,
                    String::new(),
                    w,
                    Some(Unit::Watt),
                ));
            }
        }
        // `ext_temperature_f/<n>` repeats `ext_temperature/<n>` in °F: one series is enough.
        ["sensor", "temperature"] | ["ext_temperature", _] if plain.is_some() => {
            out.push(reading(
                &id,
                Quantity::Temperature,
                String::new(),
                plain.expect("checked"),
                Some(Unit::Celsius),
            ));
        }
        ["sensor", q @ ("humidity" | "battery")] if plain.is_some() => {
            let quantity = if q == "humidity" {
                Quantity::Humidity
            } else {
                Quantity::Battery
            };
            out.push(reading(
                &id,
                quantity,
                String::new(),
                plain.expect("checked"),
                Some(Unit::Percent),
            ));
        }
        _ => out.push(fact(&id, What::Seen)),
    }
    true
}

impl Convention for Shelly {
    fn name(&self) -> &'static str {
        "shelly"
    }

    fn observe(&mut self, m: &Message<'_>, fields: &[(String, f64)], out: &mut Vec<Fact>) -> bool {
        gen1(m, fields, out) || self.gen2(m, out)
    }

    fn owner(&self, topic: &str) -> Option<String> {
        if let Some(rest) = topic.strip_prefix("shellies/") {
            return rest.split('/').next().map(|id| device_id(id, 0));
        }
        let (prefix, name) = topic.rsplit_once("/status/")?;
        component(name)?;
        Some(device_id(prefix, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::convention::message as msg;

    #[test]
    fn gen2_notify_status_confirms_a_switch() {
        let mut s = Shelly::default();
        let mut out = Vec::new();
        let p = r#"{"src":"shellyplus1pm-a1","dst":"shellyplus1pm-a1/events","method":"NotifyStatus","params":{"ts":1.0,"switch:0":{"id":0,"output":true},"temperature:100":{"id":100,"tF":70.5}}}"#;
        assert!(s.observe(&msg("shellyplus1pm-a1/events/rpc", p), &[], &mut out));
        let light = out
            .iter()
            .find_map(|f| match &f.what {
                What::Light {
                    state,
                    route: Route::Fixed(r),
                } => Some((state, r)),
                _ => None,
            })
            .unwrap();
        assert_eq!(*light.0, Some(LightState::On));
        assert!(light.1.payload(false).contains(r#""on":false"#));
        assert!(out.iter().any(|f| matches!(&f.what, What::Reading { field, unit: Some(Unit::Fahrenheit), .. } if field == "params.temperature:100.tF")));
        assert!(s.observe(&msg("shellyplus1pm-a1/online", "false"), &[], &mut out));
        assert!(!s.observe(&msg("other/online", "false"), &[], &mut Vec::new()));
        assert!(!s.observe(&msg("x/events/rpc", "not json"), &[], &mut Vec::new()));
    }

    #[test]
    fn gen1_relays_and_sensors() {
        let mut s = Shelly::default();
        let mut out = Vec::new();
        assert!(s.observe(&msg("shellies/shelly1-AB/relay/1", "on"), &[], &mut out));
        assert_eq!(out[0].device, "shelly/shelly1-AB/1");
        out.clear();
        let f = vec![(String::new(), 21.5)];
        assert!(s.observe(
            &msg("shellies/ht-1/sensor/temperature", "21.5"),
            &f,
            &mut out
        ));
        assert!(matches!(
            out[0].what,
            What::Reading {
                quantity: Quantity::Temperature,
                ..
            }
        ));
    }
}
