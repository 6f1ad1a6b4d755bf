//! Tasmota (<https://tasmota.github.io/docs/MQTT/>): topics `<prefix>/<topic>/<command>`
//! with prefixes `cmnd`, `stat` and `tele` (or `<topic>/<prefix>/<command>`, the other
//! FullTopic people choose). `tele/<t>/SENSOR` carries every sensor's readings as nested JSON
//! with `TempUnit` at the top; `stat/<t>/POWER[n]` and `stat/<t>/RESULT` the relays' states
//! after a command, `tele/<t>/STATE` every TelePeriod; `tele/<t>/LWT` is `Online`/`Offline`.
//! Commands go to `cmnd/<t>/POWER[n]`. The retained `tasmota/discovery/<MAC>/config` gives
//! the device's name (`dn`), module (`md`), relay names (`fn`) and relays (`rl`). Relay 1 is
//! the device; relays 2… are devices of their own, `tasmota/<t>/<n>`.

use std::collections::HashMap;

use super::Message;
use super::convention::{About, Convention, Fact, Route, What, fact, json, named_readings, text};
use super::light::{LightRoute, LightState, parse_state};
use super::payload::Unit;

const PREFIXES: [&str; 3] = ["cmnd", "stat", "tele"];
/// Discovery configs remembered, by MAC; a home has tens of Tasmotas, not thousands.
const MAX_DEVICES: usize = 4096;

#[derive(Default)]
pub struct Tasmota {
    /// Topics by discovery MAC, for the `…/sensors` message that names no topic.
    macs: HashMap<String, String>,
}

/// A topic in Tasmota's layout.
struct Parsed<'t> {
    prefix: &'t str,
    topic: &'t str,
    command: &'t str,
    /// `<topic>/<prefix>/…` rather than `<prefix>/<topic>/…`.
    topic_first: bool,
}

fn parse(topic: &str) -> Option<Parsed<'_>> {
    let mut parts = topic.split('/');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || a.is_empty() || b.is_empty() || c.is_empty() {
        return None;
    }
    // Commands are upper case (`POWER`, `SENSOR`, `LWT`, `RESULT`), which keeps other
    // three-level topics (`<node>/status/…`) out.
    if !c.starts_with(|ch: char| ch.is_ascii_uppercase()) {
        return None;
    }
    if PREFIXES.contains(&a) {
        Some(Parsed {
            prefix: a,
            topic: b,
            command: c,
            topic_first: false,
        })
    } else if PREFIXES.contains(&b) {
        Some(Parsed {
            prefix: b,
            topic: a,
            command: c,
            topic_first: true,
        })
    } else {
        None
    }
}

/// The relay a `POWER`, `POWER1`… key names, 1-based.
fn relay(key: &str) -> Option<u8> {
    let n = key.strip_prefix("POWER")?;
    if n.is_empty() {
        return Some(1);
    }
    n.parse().ok().filter(|n| (1..=32).contains(n))
}

fn device_id(topic: &str, relay: u8) -> String {
    if relay <= 1 {
        format!("tasmota/{topic}")
    } else {
        format!("tasmota/{topic}/{relay}")
    }
}

fn route(p: &Parsed<'_>, key: &str) -> Route {
    let command_topic = if p.topic_first {
        format!("{}/cmnd/{key}", p.topic)
    } else {
        format!("cmnd/{}/{key}", p.topic)
    };
    Route::Fixed(LightRoute::new("tasmota", command_topic, "ON", "OFF"))
}

fn relay_fact(p: &Parsed<'_>, key: &str, state: Option<LightState>) -> Option<Fact> {
    let n = relay(key)?;
    Some(fact(
        &device_id(p.topic, n),
        What::Light {
            state,
            route: route(p, key),
        },
    ))
}

impl Tasmota {
    fn discovery(&mut self, mac: &str, kind: &str, m: &Message<'_>, out: &mut Vec<Fact>) {
        let Some(v) = json(m) else {
            if !m.payload.is_empty() {
                tracing::info!("{}: not a Tasmota discovery config (not JSON)", m.topic);
            }
            return;
        };
        if kind == "sensors" {
            if let Some(t) = self.macs.get(mac) {
                out.push(fact(&device_id(t, 1), What::Seen));
            }
            return;
        }
        let Some(t) = v
            .get("t")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
        else {
            tracing::info!(
                "{}: Tasmota discovery config without a topic (`t`)",
                m.topic
            );
            return;
        };
        if self.macs.len() < MAX_DEVICES || self.macs.contains_key(mac) {
            self.macs.insert(mac.to_string(), t.to_string());
        }
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let name = s("dn");
        let names: Vec<String> = v
            .get("fn")
            .and_then(|f| f.as_array())
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        out.push(fact(
            &device_id(t, 1),
            What::About(About {
                name: name.clone(),
                model: s("md"),
                ..About::default()
            }),
        ));
        let topic_first = s("ft").is_some_and(|ft| ft.starts_with("%topic%"));
        let relays: Vec<usize> = v
            .get("rl")
            .and_then(|r| r.as_array())
            .map(|a| {
                a.iter()
                    .enumerate()
                    // 1 a relay, 2 a light; 3 is a shutter's, which is no light.
                    .filter(|(i, x)| *i < 32 && matches!(x.as_u64(), Some(1 | 2)))
                    .map(|(i, _)| i + 1)
                    .collect()
            })
            .unwrap_or_default();
        let single = relays == [1];
        for n in relays {
            let p = Parsed {
                prefix: "cmnd",
                topic: t,
                command: "POWER",
                topic_first,
            };
            let key = if single {
                "POWER".to_string()
            } else {
                format!("POWER{n}")
            };
            let id = device_id(t, n as u8);
            if n > 1 {
                let own = names.get(n - 1).filter(|s| !s.is_empty()).cloned();
                let base = name.clone().unwrap_or_else(|| t.to_string());
                out.push(fact(
                    &id,
                    What::About(About {
                        name: Some(own.unwrap_or_else(|| format!("{base} {n}"))),
                        model: s("md"),
                        ..About::default()
                    }),
                ));
            }
            out.push(fact(
                &id,
                What::Light {
                    state: None,
                    route: route(&p, &key),
                },
            ));
            out.push(fact(&id, What::HasAvailability));
        }
    }
}

impl Convention for Tasmota {
    fn name(&self) -> &'static str {
        "tasmota"
    }

    fn observe(&mut self, m: &Message<'_>, fields: &[(String, f64)], out: &mut Vec<Fact>) -> bool {
        if let Some(rest) = m.topic.strip_prefix("tasmota/discovery/") {
            let mut parts = rest.split('/');
            if let (Some(mac), Some(kind), None) = (parts.next(), parts.next(), parts.next()) {
                self.discovery(mac, kind, m, out);
                return true;
            }
            return false;
        }
        let Some(p) = parse(m.topic) else {
            return false;
        };
        let id = device_id(p.topic, 1);
        match (p.prefix, p.command) {
            // Commands are the hub's or another controller's, not the device speaking.
            ("cmnd", _) => {}
            ("tele", "LWT") => match text(m) {
                Some("Online") => out.push(fact(&id, What::Available(true))),
                Some("Offline") => out.push(fact(&id, What::Available(false))),
                other => {
                    tracing::info!(
                        "{}: LWT '{}' is not Online/Offline",
                        m.topic,
                        other.unwrap_or("?")
                    );
                    out.push(fact(&id, What::HasAvailability));
                }
            },
            ("tele", "SENSOR") => {
                let unit = json(m)
                    .as_ref()
                    .and_then(|v| v.get("TempUnit"))
                    .and_then(|u| u.as_str())
                    .and_then(Unit::parse);
                // Only the sensors' own readings; the chip's `ESP32.Temperature` is not the room's.
                let own: Vec<(String, f64)> = fields
                    .iter()
                    .filter(|(f, _)| !f.starts_with("ESP32.") && !f.starts_with("Global."))
                    .cloned()
                    .collect();
                out.extend(named_readings(&id, &own, unit));
                out.push(fact(&id, What::Seen));
            }
            ("tele", "STATE") | ("stat", "RESULT") => {
                if let Some(serde_json::Value::Object(o)) = json(m) {
                    for (k, v) in &o {
                        if let Some(s) = v.as_str()
                            && let Some(f) = relay_fact(&p, k, Some(parse_state(s.as_bytes())))
                        {
                            out.push(f);
                        }
                    }
                }
                out.push(fact(&id, What::Seen));
            }
            ("stat", cmd) if relay(cmd).is_some() => {
                out.extend(relay_fact(&p, cmd, Some(parse_state(m.payload))));
            }
            _ => out.push(fact(&id, What::Seen)),
        }
        true
    }

    fn owner(&self, topic: &str) -> Option<String> {
        parse(topic).map(|p| device_id(p.topic, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::convention::message as msg;

    #[test]
    fn layouts_and_relays() {
        let p = parse("stat/plug/POWER2").unwrap();
        assert_eq!(
            (p.prefix, p.topic, p.command, p.topic_first),
            ("stat", "plug", "POWER2", false)
        );
        let p = parse("plug/tele/SENSOR").unwrap();
        assert!(p.topic_first && p.topic == "plug");
        for other in ["esp/status/x", "tele/plug", "tele/plug/SENSOR/x", "a/b/c"] {
            assert!(parse(other).is_none(), "{other}");
        }
        assert_eq!(relay("POWER"), Some(1));
        assert_eq!(relay("POWER3"), Some(3));
        assert_eq!(relay("POWER99"), None);
        assert_eq!(relay("POWERX"), None);
    }

    #[test]
    fn a_relay_reply_and_fahrenheit() {
        let mut t = Tasmota::default();
        let mut out = Vec::new();
        assert!(t.observe(
            &msg("stat/plug/RESULT", r#"{"POWER2":"ON"}"#),
            &[],
            &mut out
        ));
        let Some(Fact {
            device,
            what:
                What::Light {
                    state,
                    route: Route::Fixed(r),
                },
            ..
        }) = out.first()
        else {
            panic!("{out:?}")
        };
        assert_eq!(device, "tasmota/plug/2");
        assert_eq!(*state, Some(LightState::On));
        assert_eq!(r.command_topic, "cmnd/plug/POWER2");
        out.clear();
        let f = vec![("AM2301.Temperature".to_string(), 68.0)];
        t.observe(
            &msg(
                "tele/plug/SENSOR",
                r#"{"AM2301":{"Temperature":68.0},"TempUnit":"F"}"#,
            ),
            &f,
            &mut out,
        );
        assert!(matches!(
            out[0].what,
            What::Reading {
                unit: Some(Unit::Fahrenheit),
                ..
            }
        ));
    }
}
