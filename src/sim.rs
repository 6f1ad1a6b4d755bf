//! A simulated home: per room, a temperature sensor doing a random walk around a base value
//! and a light that obeys ON/OFF and replies with its status.
//!
//! Even-numbered rooms speak the seed's same-topic convention (command and status both on
//! `home/<room>/light`); odd-numbered rooms the `…/set` convention (command on
//! `home/<room>/light/set`, status on `home/<room>/light`). Same-topic lights subscribe with
//! MQTT 5 `noLocal`, so a light never hears its own status and cannot loop on it.
//! Temperature is a plain number in even rooms and JSON with humidity in odd rooms.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, RetainForwardRule};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the simulated home behaves.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub host: String,
    pub port: u16,
    pub rooms: usize,
    /// Time between two readings of one sensor.
    pub interval: Duration,
    /// Time a light takes to reply to a command.
    pub reply_delay: Duration,
    /// Share of commands a light obeys without replying (0.0–1.0).
    pub drop_replies: f64,
    /// Prefix of the simulator's client ids, unique per simulator.
    pub client_prefix: String,
    /// Username and password, when the broker wants them.
    pub credentials: Option<(String, String)>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            host: "127.0.0.1".into(),
            port: 1883,
            rooms: 3,
            interval: Duration::from_secs(5),
            reply_delay: Duration::ZERO,
            drop_replies: 0.0,
            client_prefix: format!("hearth-sim-{}", std::process::id()),
            credentials: None,
        }
    }
}

/// What the simulator did.
#[derive(Debug, Default)]
pub struct SimStats {
    pub readings: AtomicU64,
    pub commands: AtomicU64,
    pub replies: AtomicU64,
}

const ROOM_NAMES: [&str; 8] = [
    "livingroom",
    "kitchen",
    "bedroom",
    "office",
    "bathroom",
    "hall",
    "garage",
    "nursery",
];

/// The name of room `i`: a real room name for the first few, then `room<i+1>`.
pub fn room_name(i: usize) -> String {
    ROOM_NAMES
        .get(i)
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("room{}", i + 1))
}

/// The light states the simulator understands as a command.
pub fn parse_command(payload: &[u8], current: bool) -> Option<bool> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    match text.to_ascii_lowercase().as_str() {
        "on" | "1" | "true" => return Some(true),
        "off" | "0" | "false" => return Some(false),
        "toggle" => return Some(!current),
        _ => {}
    }
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    match v.get("state")?.as_str()?.to_ascii_lowercase().as_str() {
        "on" => Some(true),
        "off" => Some(false),
        "toggle" => Some(!current),
        _ => None,
    }
}

/// Runs the simulated home until `shutdown` turns true.
pub async fn run(opts: SimOptions, shutdown: watch::Receiver<bool>) -> Arc<SimStats> {
    let stats = Arc::new(SimStats::default());
    let mut set = JoinSet::new();
    for i in 0..opts.rooms {
        set.spawn(run_room(opts.clone(), i, stats.clone(), shutdown.clone()));
    }
    while set.join_next().await.is_some() {}
    stats
}

async fn run_room(
    opts: SimOptions,
    index: usize,
    stats: Arc<SimStats>,
    mut shutdown: watch::Receiver<bool>,
) {
    let room = room_name(index);
    let same_topic = index.is_multiple_of(2);
    let status_topic = format!("home/{room}/light");
    let command_topic = if same_topic {
        status_topic.clone()
    } else {
        format!("{status_topic}/set")
    };
    let temp_topic = if same_topic {
        format!("home/{room}/temperature")
    } else {
        format!("home/{room}/climate")
    };
    let base = 19.0 + (index % 5) as f64;

    let mut mo = MqttOptions::new(
        format!("{}-{room}", opts.client_prefix),
        opts.host.clone(),
        opts.port,
    );
    mo.set_keep_alive(Duration::from_secs(30));
    if let Some((u, p)) = &opts.credentials {
        mo.set_credentials(u.clone(), p.clone());
    }
    // A light replies at once, as one small packet: no Nagle delay.
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    mo.set_network_options(net);
    let (client, mut eventloop) = AsyncClient::new(mo, 64);
    let mut light_on = false;
    let mut temp = base;
    let mut ticker = tokio::time::interval(opts.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (reply_tx, mut reply_rx) = tokio::sync::mpsc::channel::<bool>(64);
    loop {
        tokio::select! {
            _ = crate::stopped(&mut shutdown) => break,
            _ = ticker.tick() => {
                let step: f64 = rand::rng().random_range(-0.2..=0.2);
                temp = (temp + step).clamp(base - 3.0, base + 3.0);
                let t = (temp * 10.0).round() / 10.0;
                let payload = if same_topic {
                    format!("{t}")
                } else {
                    let h: f64 = rand::rng().random_range(35.0..55.0);
                    format!("{{\"temperature\":{t},\"humidity\":{:.0}}}", h)
                };
                if client.try_publish(&temp_topic, QoS::AtLeastOnce, false, payload).is_ok() {
                    stats.readings.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(on) = reply_rx.recv() => {
                let status = if on { "ON" } else { "OFF" };
                if client.publish(&status_topic, QoS::AtLeastOnce, true, status).await.is_ok() {
                    stats.replies.fetch_add(1, Ordering::Relaxed);
                }
            }
            ev = eventloop.poll() => match ev {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let filter = Filter {
                        path: command_topic.clone(),
                        qos: QoS::AtLeastOnce,
                        nolocal: true,
                        preserve_retain: false,
                        // A retained status must not replay as a command at boot.
                        retain_forward_rule: RetainForwardRule::Never,
                    };
                    let _ = client.subscribe_many([filter]).await;
                    let status = if light_on { "ON" } else { "OFF" };
                    let _ = client.publish(&status_topic, QoS::AtLeastOnce, true, status).await;
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == command_topic.as_bytes() => {
                    let Some(on) = parse_command(&p.payload, light_on) else {
                        tracing::debug!("{room} light ignores {:?}", String::from_utf8_lossy(&p.payload));
                        continue;
                    };
                    stats.commands.fetch_add(1, Ordering::Relaxed);
                    light_on = on;
                    if opts.drop_replies > 0.0 && rand::rng().random_bool(opts.drop_replies.min(1.0)) {
                        continue;
                    }
                    if opts.reply_delay.is_zero() {
                        // Not through a zero sleep: tokio's timer would round it up to the
                        // next millisecond tick.
                        let _ = reply_tx.try_send(on);
                        continue;
                    }
                    let tx = reply_tx.clone();
                    let delay = opts.reply_delay;
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = tx.send(on).await;
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("sim {room}: {e}");
                    tokio::select! {
                        _ = crate::stopped(&mut shutdown) => break,
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        }
    }
    let _ = client.try_disconnect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        for (p, want) in [
            ("ON", Some(true)),
            ("off", Some(false)),
            ("1", Some(true)),
            ("false", Some(false)),
            ("{\"state\":\"ON\"}", Some(true)),
            ("TOGGLE", Some(true)),
            ("dim", None),
            ("{\"state\":3}", None),
        ] {
            assert_eq!(parse_command(p.as_bytes(), false), want, "{p}");
        }
    }

    #[test]
    fn room_names_are_unique() {
        let names: std::collections::HashSet<String> = (0..100).map(room_name).collect();
        assert_eq!(names.len(), 100);
    }
}
