//! A simulated home: per room, one device on one MQTT connection, with a temperature (and
//! humidity) sensor doing a random walk around a base value and a light that obeys commands
//! and replies with its status.
//!
//! Each room speaks one device convention, a [`Flavor`], as the team's guide
//! `device-conventions.md` lists them and the firmware's own documentation (named in each
//! flavor's file) specifies: `seed` (the hub's own `home/<room>/…` convention), `tasmota`, `z2m`
//! (Zigbee2MQTT), `shelly` (Gen2 RPC in even rooms, Gen1 in odd ones), `esphome`, `homie`
//! (v4 in even rooms, v5 in odd ones), `ha` (Home Assistant MQTT discovery), or `mixed` (room
//! `i` speaks [`FLAVORS`]`[i % 7]`). A flavor is a [`Device`]: what it publishes and how it
//! reads a command; this file owns the connection, the timers and the statistics, so every
//! flavor reconnects, honours `reply_delay` and `drop_replies` and says goodbye the same way.
//! The connection carries the flavor's last will, so a killed simulator turns its devices
//! offline as a real power cut does.

mod device;
mod esphome;
mod ha;
mod homie;
mod seed;
mod shelly;
mod tasmota;
mod z2m;

use device::{Device, Heard, Msg, Reading, Reply};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, LastWill, Packet, RetainForwardRule};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The device convention a simulated room speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Flavor {
    /// The hub's own `home/<room>/…` convention.
    #[default]
    Seed,
    Tasmota,
    /// Zigbee2MQTT.
    Z2m,
    /// Shelly Gen2+ (even rooms) and Gen1 (odd rooms).
    Shelly,
    Esphome,
    /// Homie 4 (even rooms) and Homie 5 (odd rooms).
    Homie,
    /// Home Assistant MQTT discovery.
    Ha,
    /// Room `i` speaks `FLAVORS[i % 7]`.
    Mixed,
}

/// Every single convention, in the order `mixed` hands them to rooms.
pub const FLAVORS: [Flavor; 7] = [
    Flavor::Seed,
    Flavor::Tasmota,
    Flavor::Z2m,
    Flavor::Shelly,
    Flavor::Esphome,
    Flavor::Homie,
    Flavor::Ha,
];

impl Flavor {
    const NAMES: [(Flavor, &'static str); 8] = [
        (Flavor::Seed, "seed"),
        (Flavor::Tasmota, "tasmota"),
        (Flavor::Z2m, "z2m"),
        (Flavor::Shelly, "shelly"),
        (Flavor::Esphome, "esphome"),
        (Flavor::Homie, "homie"),
        (Flavor::Ha, "ha"),
        (Flavor::Mixed, "mixed"),
    ];

    /// The convention room `index` speaks.
    pub fn for_room(self, index: usize) -> Flavor {
        match self {
            Flavor::Mixed => FLAVORS[index % FLAVORS.len()],
            f => f,
        }
    }
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = Self::NAMES.iter().find(|(v, _)| v == self).map(|(_, n)| *n);
        f.write_str(name.unwrap_or("?"))
    }
}

impl std::str::FromStr for Flavor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == wanted)
            .map(|(v, _)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::NAMES.iter().map(|(_, n)| *n).collect();
                format!("unknown flavor '{s}'; expected one of {}", names.join(", "))
            })
    }
}

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
    /// The device convention(s) the rooms speak.
    pub flavor: Flavor,
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
            flavor: Flavor::Seed,
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

/// The light states the seed's lights understand as a command.
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

/// Builds the device room `index` simulates.
fn device(flavor: Flavor, index: usize, z2m_devices: &Bytes) -> Box<dyn Device> {
    let room = room_name(index);
    let even = index.is_multiple_of(2);
    match flavor.for_room(index) {
        Flavor::Tasmota => Box::new(tasmota::Tasmota::new(index, room)),
        Flavor::Z2m => Box::new(z2m::Z2m::new(index, room, z2m_devices.clone())),
        Flavor::Shelly if even => Box::new(shelly::Gen2::new(index)),
        Flavor::Shelly => Box::new(shelly::Gen1::new(index)),
        Flavor::Esphome => Box::new(esphome::EspHome::new(index, room)),
        Flavor::Homie if even => Box::new(homie::Homie4::new(room)),
        Flavor::Homie => Box::new(homie::Homie5::new(index, room)),
        Flavor::Ha => Box::new(ha::Ha::new(index, room)),
        Flavor::Seed | Flavor::Mixed => Box::new(seed::Seed::new(index, room)),
    }
}

/// Runs the simulated home until `shutdown` turns true.
pub async fn run(opts: SimOptions, shutdown: watch::Receiver<bool>) -> Arc<SimStats> {
    let stats = Arc::new(SimStats::default());
    // Zigbee2MQTT's inventory lists every device of the network, so each simulated bridge
    // publishes the same list: built once, shared by reference.
    let z2m_rooms: Vec<usize> = (0..opts.rooms)
        .filter(|&i| opts.flavor.for_room(i) == Flavor::Z2m)
        .collect();
    let z2m_devices = if z2m_rooms.is_empty() {
        Bytes::new()
    } else {
        z2m::bridge_devices(&z2m_rooms)
    };
    let mut set = JoinSet::new();
    for i in 0..opts.rooms {
        let dev = device(opts.flavor, i, &z2m_devices);
        set.spawn(run_room(
            opts.clone(),
            i,
            dev,
            stats.clone(),
            shutdown.clone(),
        ));
    }
    while set.join_next().await.is_some() {}
    stats
}

async fn run_room(
    opts: SimOptions,
    index: usize,
    mut dev: Box<dyn Device>,
    stats: Arc<SimStats>,
    mut shutdown: watch::Receiver<bool>,
) {
    let room = room_name(index);
    let base = 19.0 + (index % 5) as f64;
    let base_humidity = 40.0 + (index % 4) as f64 * 3.0;

    let mut mo = MqttOptions::new(
        dev.client_id(&opts.client_prefix),
        opts.host.clone(),
        opts.port,
    );
    mo.set_keep_alive(Duration::from_secs(30));
    if let Some((u, p)) = &opts.credentials {
        mo.set_credentials(u.clone(), p.clone());
    }
    if let Some(w) = dev.will() {
        let will = LastWill::new(
            w.topic,
            w.payload.to_vec(),
            QoS::AtLeastOnce,
            w.retain,
            None,
        );
        mo.set_last_will(will);
    }
    // A light replies at once, as one small packet: no Nagle delay.
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    mo.set_network_options(net);
    // Room for a whole burst of Homie attributes at connect next to replies.
    let (client, eventloop) = AsyncClient::new(mo, 128);
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
    let mut now = Reading {
        temperature: base,
        humidity: base_humidity,
    };
    let mut ticker = tokio::time::interval(opts.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (reply_tx, mut reply_rx) = tokio::sync::mpsc::channel::<Reply>(64);
    loop {
        tokio::select! {
            _ = crate::stopped(&mut shutdown) => break,
            _ = ticker.tick() => {
                // A sensor that cannot reach the broker loses its reading, as a real one does.
                if !online.load(Ordering::Relaxed) {
                    continue;
                }
                let mut rng = rand::rng();
                let step: f64 = rng.random_range(-0.2..=0.2);
                now.temperature = (now.temperature + step).clamp(base - 3.0, base + 3.0);
                let step: f64 = rng.random_range(-0.8..=0.8);
                now.humidity = (now.humidity + step).clamp(base_humidity - 10.0, base_humidity + 10.0);
                // Never waits: a reading that finds the queue full is lost, not late.
                let sent = dev.reading(now, light_on).into_iter().fold(true, |ok, m| {
                    ok & client.try_publish(m.topic, QoS::AtLeastOnce, m.retain, m.payload).is_ok()
                });
                if sent {
                    stats.readings.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(reply) = reply_rx.recv() => {
                if publish(&client, dev.status(&reply)).await {
                    stats.replies.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(packet) = incoming.recv() => match packet {
                Packet::ConnAck(_) => {
                    let filters = dev.commands().into_iter().map(|path| Filter {
                        path,
                        qos: QoS::AtLeastOnce,
                        // A same-topic light must not hear its own status as a command.
                        nolocal: true,
                        preserve_retain: false,
                        // A retained status must not replay as a command at boot.
                        retain_forward_rule: RetainForwardRule::Never,
                    });
                    let _ = client.subscribe_many(filters).await;
                    publish(&client, dev.at_connect(light_on, now)).await;
                    // A sensor reports as soon as it is on the network.
                    ticker.reset_immediately();
                }
                Packet::Publish(p) => {
                    let topic = String::from_utf8_lossy(&p.topic);
                    match dev.command(&topic, &p.payload, light_on) {
                        None => tracing::debug!(
                            "{room} device ignores {:?} on {topic}",
                            String::from_utf8_lossy(&p.payload)
                        ),
                        Some(Heard::Answer(msgs)) => {
                            publish(&client, msgs).await;
                        }
                        Some(Heard::Switch { on, rpc }) => {
                            stats.commands.fetch_add(1, Ordering::Relaxed);
                            let reply = Reply { on, was_on: light_on, rpc };
                            light_on = on;
                            if opts.drop_replies > 0.0
                                && rand::rng().random_bool(opts.drop_replies.min(1.0))
                            {
                                continue;
                            }
                            if opts.reply_delay.is_zero() {
                                // Not through a zero sleep: tokio's timer would round it up
                                // to the next millisecond tick.
                                let _ = reply_tx.try_send(reply);
                                continue;
                            }
                            let tx = reply_tx.clone();
                            let delay = opts.reply_delay;
                            tokio::spawn(async move {
                                tokio::time::sleep(delay).await;
                                let _ = tx.send(reply).await;
                            });
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // The driver sends the goodbye and the DISCONNECT, so the broker ends the session
    // cleanly; a broker that is already gone gets no more than a moment.
    drop(incoming);
    if online.load(Ordering::Relaxed) {
        for m in dev.at_shutdown(light_on) {
            let _ = client.try_publish(m.topic, QoS::AtLeastOnce, m.retain, m.payload);
        }
    }
    let _ = client.try_disconnect();
    let abort = driver.abort_handle();
    if tokio::time::timeout(Duration::from_secs(1), driver)
        .await
        .is_err()
    {
        abort.abort();
    }
}

/// Queues `msgs` in order; true when all were queued.
async fn publish(client: &AsyncClient, msgs: Vec<Msg>) -> bool {
    let mut ok = true;
    for m in msgs {
        ok &= client
            .publish(m.topic, QoS::AtLeastOnce, m.retain, m.payload)
            .await
            .is_ok();
    }
    ok
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
    fn room_names_are_unique() {
        let names: std::collections::HashSet<String> = (0..100).map(room_name).collect();
        assert_eq!(names.len(), 100);
    }

    #[test]
    fn mixed_covers_every_flavor() {
        let seen: std::collections::HashSet<Flavor> =
            (0..7).map(|i| Flavor::Mixed.for_room(i)).collect();
        assert_eq!(seen.len(), 7);
        assert!(FLAVORS.iter().all(|f| seen.contains(f)));
        // And every flavor's room builds a device with a client id of its own.
        let ids: std::collections::HashSet<String> = (0..14)
            .map(|i| device(Flavor::Mixed, i, &Bytes::new()).client_id("p"))
            .collect();
        assert_eq!(ids.len(), 14);
    }

    #[test]
    fn flavor_names_round_trip() {
        for (f, name) in Flavor::NAMES {
            assert_eq!(name.parse::<Flavor>(), Ok(f));
            assert_eq!(f.to_string(), name);
        }
        assert!("zigbee".parse::<Flavor>().unwrap_err().contains("z2m"));
        assert_eq!(SimOptions::default().flavor, Flavor::Seed);
    }
}
