//! Talking to the hub's HTTP API and its events WebSocket, and a light the test controls.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, RetainForwardRule};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// GET `path`, returning the status and the JSON body.
pub async fn get(http: SocketAddr, path: &str) -> (u16, Value) {
    let r = reqwest::get(format!("http://{http}{path}"))
        .await
        .expect("GET");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// POST a JSON body.
pub async fn post(http: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{http}{path}"))
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Switches a light through the API; returns the command the hub answered with.
pub async fn switch(http: SocketAddr, light: &str, state: &str) -> Value {
    let (status, body) = post(
        http,
        &format!("/api/devices/{light}/switch"),
        &serde_json::json!({ "state": state }),
    )
    .await;
    assert_eq!(status, 202, "switch {light} {state}: {body}");
    body
}

/// An open `/api/events` stream.
pub struct Events {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Events {
    /// Opens `/api/events` with an optional `?types=` filter.
    pub async fn open(http: SocketAddr, types: Option<&str>) -> Events {
        let q = types.map(|t| format!("?types={t}")).unwrap_or_default();
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{http}/api/events{q}"))
            .await
            .expect("events WebSocket");
        Events { ws }
    }

    /// The next event, or `None` once the stream ends or `secs` pass.
    pub async fn next(&mut self, secs: u64) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let m = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            match m.ok()? {
                Message::Text(t) => return Some(serde_json::from_str(&t).expect("event JSON")),
                Message::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// The next message of any kind, close frames included.
    pub async fn next_message(&mut self, secs: u64) -> Option<Message> {
        tokio::time::timeout(Duration::from_secs(secs), self.ws.next())
            .await
            .ok()??
            .ok()
    }

    /// Skips events until one satisfies `pred`; fails the test after `secs` seconds.
    pub async fn until(&mut self, secs: u64, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now()).as_secs() + 1;
            match self.next(left).await {
                Some(v) if pred(&v) => return v,
                Some(_) if Instant::now() < deadline => {}
                _ => panic!("no event within {secs} s: {what}"),
            }
        }
    }

    /// Every `command_updated` event for command `id` until one that is not pending.
    pub async fn command_fate(&mut self, id: i64, secs: u64) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let e = self
                .until(secs, &format!("command {id} updates"), |e| {
                    e["type"] == "command_updated" && e["id"] == id
                })
                .await;
            let done = e["outcome"] != "pending";
            seen.push(e);
            if done {
                return seen;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.send(Message::Close(None)).await;
    }
}

/// How a test light answers a command payload: `Some(status)` to reply, `None` to stay quiet.
pub type Reply = fn(&str) -> Option<String>;

/// A light the test controls: subscribed (MQTT 5, noLocal) to its command topic, it first
/// publishes `initial` on its status topic and then answers each command as `reply` says.
pub async fn light(
    mqtt: SocketAddr,
    id: &str,
    status_topic: &str,
    command_topic: &str,
    initial: &str,
    reply: Reply,
) -> tokio::task::JoinHandle<()> {
    let mut mo = MqttOptions::new(id, mqtt.ip().to_string(), mqtt.port());
    mo.set_keep_alive(Duration::from_secs(30));
    // Without it the reply waits behind the command's PUBACK for the broker's delayed ACK
    // (Nagle's algorithm): 40 ms a command, the client's doing, not the hub's.
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    mo.set_network_options(net);
    let (client, mut el) = AsyncClient::new(mo, 64);
    let status = status_topic.to_string();
    let command = command_topic.to_string();
    let initial = initial.to_string();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let f = Filter {
                        path: command.clone(),
                        qos: QoS::AtLeastOnce,
                        nolocal: true,
                        preserve_retain: false,
                        retain_forward_rule: RetainForwardRule::Never,
                    };
                    client.subscribe_many([f]).await.unwrap();
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    client
                        .publish(&status, QoS::AtLeastOnce, false, initial.clone())
                        .await
                        .unwrap();
                }
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == command.as_bytes() => {
                    let text = String::from_utf8_lossy(&p.payload).to_string();
                    if let Some(r) = reply(&text) {
                        client
                            .publish(&status, QoS::AtLeastOnce, false, r)
                            .await
                            .unwrap();
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    super::within(10, "test light ready", ready_rx)
        .await
        .expect("light task");
    task
}

/// Waits until the hub lists `light` as a light.
pub async fn wait_light(http: SocketAddr, light: &str) -> Value {
    super::eventually(10, &format!("{light} listed as a light"), || async {
        let (st, d) = get(http, &format!("/api/devices/{light}")).await;
        (st == 200 && d["kind"] == "light").then_some(d)
    })
    .await
}
