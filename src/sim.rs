//! A simulated home: per room, a temperature sensor doing a random walk around a base value
//! and a light that obeys ON/OFF and replies with its status.
//!
//! Even-numbered rooms speak the seed's same-topic convention (command and status both on
//! `home/<room>/light`); odd-numbered rooms the `…/set` convention (command on
//! `home/<room>/light/set`, status on `home/<room>/light`). Same-topic lights subscribe with
//! MQTT 5 `noLocal`, so a light never hears its own status and cannot loop on it.
//! Temperature is a plain number in even rooms and JSON with humidity in odd rooms.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, RetainForwardRule};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
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
    let (client, eventloop) = AsyncClient::new(mo, 64);
    // The event loop gets a task of its own: `EventLoop::poll` is not cancel-safe while it
    // connects, so racing it against the ticker in one `select!` dropped half-made
    // connections, and the reconnect that followed collided with the broker's cleanup of the
    // first one under the same client id.
    let (incoming_tx, mut incoming) = tokio::sync::mpsc::channel::<Packet>(64);
    let online = Arc::new(AtomicBool::new(false));
    let driver = tokio::spawn(drive(
        eventloop,
        incoming_tx,
        online.clone(),
        shutdown.clone(),
        room.clone(),
    ));
    let mut light_on = false;
    let mut temp = base;
    let mut ticker = tokio::time::interval(opts.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (reply_tx, mut reply_rx) = tokio::sync::mpsc::channel::<bool>(64);
    loop {
        tokio::select! {
            _ = crate::stopped(&mut shutdown) => break,
            _ = ticker.tick() => {
                // A sensor that cannot reach the broker loses its reading, as a real one does.
                if !online.load(Ordering::Relaxed) {
                    continue;
                }
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
            Some(packet) = incoming.recv() => match packet {
                Packet::ConnAck(_) => {
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
                    // A sensor reports as soon as it is on the network.
                    ticker.reset_immediately();
                }
                Packet::Publish(p) if p.topic == command_topic.as_bytes() => {
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
                _ => {}
            }
        }
    }
    // The driver sends the DISCONNECT, so the broker ends the session cleanly; a broker that
    // is already gone gets no more than a moment.
    drop(incoming);
    let _ = client.try_disconnect();
    let abort = driver.abort_handle();
    if tokio::time::timeout(Duration::from_secs(1), driver)
        .await
        .is_err()
    {
        abort.abort();
    }
}

/// Polls one light's MQTT connection, passing CONNACKs and PUBLISHes on, and reconnecting
/// half a second after a failure, until the connection's DISCONNECT is sent or, once the
/// simulator stops, the connection fails.
async fn drive(
    mut eventloop: EventLoop,
    incoming: tokio::sync::mpsc::Sender<Packet>,
    online: Arc<AtomicBool>,
    mut shutdown: watch::Receiver<bool>,
    room: String,
) {
    // Said once per outage, not every half second.
    let mut reachable = true;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(p @ (Packet::ConnAck(_) | Packet::Publish(_)))) => {
                if matches!(p, Packet::ConnAck(_)) {
                    online.store(true, Ordering::Relaxed);
                    if !reachable {
                        tracing::info!("sim {room}: connected again");
                        reachable = true;
                    }
                }
                // Fails only once the room has stopped listening; the DISCONNECT is still due.
                let _ = incoming.send(p).await;
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
            Ok(_) => {}
            Err(e) => {
                online.store(false, Ordering::Relaxed);
                if *shutdown.borrow() {
                    break;
                }
                if reachable {
                    tracing::warn!("sim {room}: {e}; retrying every 0.5 s");
                    reachable = false;
                }
                tokio::select! {
                    _ = crate::stopped(&mut shutdown) => break,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }
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
