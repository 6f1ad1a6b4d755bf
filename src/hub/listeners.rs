//! The hub's two sides facing the network: the dashboard's listeners (`Web`) and the MQTT
//! side (`Mqtt`: the embedded broker with its retained messages in the store, or an external
//! broker's address).

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::HubError;
use crate::access::Access;
use crate::api::{Api, BrokerLink, Link, ListenerInfo};
use crate::broker::{Broker, BrokerOptions, RetainedChange, RetainedStore};
use crate::config::{BrokerMode, Config};
use crate::devices::{Listening, RetainedInfo};
use crate::ingest::{Ingest, IngestOptions, Source};
use crate::store::{RetainOp, Store};
use crate::tls::TlsFiles;

/// The dashboard's listeners, bound.
pub(super) struct Web {
    http: Option<TcpListener>,
    https: Option<(TcpListener, rustls::ServerConfig)>,
    pub(super) listeners: Vec<ListenerInfo>,
}

impl Web {
    pub(super) async fn bind(cfg: &Config, tls: Option<&TlsFiles>) -> Result<Web, HubError> {
        let mut listeners = Vec::new();
        let mut bind = async |name, addr: SocketAddr| {
            let failed = |source| HubError::Http { addr, source };
            let l = TcpListener::bind(addr).await.map_err(failed)?;
            let addr = l.local_addr().map_err(failed)?;
            listeners.push(ListenerInfo { name, addr });
            Ok::<_, HubError>(l)
        };
        let http = match cfg.http {
            Some(addr) => Some(bind("http", addr).await?),
            None => None,
        };
        let https = match (cfg.https, tls) {
            (Some(addr), Some(files)) => Some((
                bind("https", addr).await?,
                crate::tls::server_config(files).map_err(HubError::Https)?,
            )),
            _ => None,
        };
        Ok(Web {
            http,
            https,
            listeners,
        })
    }

    pub(super) fn serve(
        self,
        api: &Api,
        cfg: &Config,
        stop: &watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        let app = |secure| crate::http::app(api.clone(), cfg.ui_dir.clone(), stop.clone(), secure);
        let mut tasks = Vec::new();
        if let Some(l) = self.http {
            tasks.push(tokio::spawn(crate::http::serve(
                l,
                app(false),
                stop.clone(),
            )));
        }
        if let Some((l, tls)) = self.https {
            let serve = crate::http::serve_tls(l, tls, app(true), stop.clone());
            tasks.push(tokio::spawn(serve));
        }
        tasks
    }
}

/// The MQTT side: the embedded broker (or the external one's address), where the hub's
/// client and the simulator connect, and the broker's listeners.
pub(super) struct Mqtt {
    pub(super) broker: Option<Broker>,
    link: BrokerLink,
    /// Where the simulator connects, like any device.
    pub(super) public: (String, u16),
    pub(super) listeners: Vec<ListenerInfo>,
}

impl Mqtt {
    pub(super) async fn start(
        cfg: &Config,
        store: &Store,
        access: &Access,
        tls: &Option<TlsFiles>,
    ) -> Result<Mqtt, HubError> {
        let (mqtt, ws, mqtts, wss) = match &cfg.broker {
            BrokerMode::External { host, port } => {
                return Ok(Mqtt {
                    broker: None,
                    link: BrokerLink::External(format!("mqtt://{host}:{port}")),
                    public: (host.clone(), *port),
                    listeners: vec![],
                });
            }
            BrokerMode::Embedded {
                mqtt,
                ws,
                mqtts,
                wss,
            } => (*mqtt, *ws, *mqtts, *wss),
        };
        let b = Broker::start(BrokerOptions {
            mqtt,
            ws,
            mqtts,
            wss,
            tls: tls.clone(),
            access: access.clone(),
            limits: cfg.limits,
            sys_interval: cfg.sys_interval,
            retained: Box::new(StoreRetained(store.clone())),
        })
        .await?;
        let listeners = [
            ("mqtt", Some(b.mqtt_addr)),
            ("mqtts", b.mqtts_addr),
            ("ws", b.ws_addr),
            ("wss", b.wss_addr),
        ]
        .into_iter()
        .filter_map(|(name, addr)| Some(ListenerInfo { name, addr: addr? }))
        .collect();
        let public = connectable(b.mqtt_addr);
        Ok(Mqtt {
            link: BrokerLink::Embedded(b.handle.clone()),
            public: (public.ip().to_string(), public.port()),
            listeners,
            broker: Some(b),
        })
    }

    /// The retained messages the embedded broker holds, with its own times, so ages
    /// survive a restart (an external broker does not say).
    pub(super) async fn retained(&self) -> Vec<RetainedInfo> {
        let BrokerLink::Embedded(b) = &self.link else {
            return Vec::new();
        };
        b.retained_messages()
            .await
            .into_iter()
            .map(|m| RetainedInfo::new(m.topic, &m.payload, m.qos, m.created_ms))
            .collect()
    }

    /// Which topics clients listen on, as the registry asks it.
    pub(super) fn listening(&self) -> Listening {
        match &self.link {
            BrokerLink::Embedded(b) => {
                let b = b.clone();
                Arc::new(move |topic| b.listened(topic))
            }
            BrokerLink::External(_) => Arc::new(|_| false),
        }
    }

    /// The hub's link to its broker, for the Broker page.
    pub(super) fn link(&self, ingest: &Ingest) -> Link {
        Link {
            broker: self.link.clone(),
            connected: ingest.connected(),
            received: ingest.received(),
        }
    }

    /// Internal credentials are for the embedded broker only.
    pub(super) fn credentials(&self, access: &Access, user: &str) -> Option<(String, String)> {
        self.broker
            .as_ref()
            .and_then(|_| access.internal_credentials(user))
    }

    /// Where the hub hears its messages: the embedded broker in-process, or an MQTT client
    /// of the external one.
    pub(super) fn ingest_source(&self, cfg: &Config) -> Source {
        match &self.link {
            BrokerLink::Embedded(b) => Source::Embedded(b.clone()),
            BrokerLink::External(_) => Source::Mqtt(IngestOptions {
                host: self.public.0.clone(),
                port: self.public.1,
                client_id: format!("hearth-hub-{}", std::process::id()),
                max_packet_bytes: cfg.limits.max_packet_bytes,
                credentials: None,
            }),
        }
    }
}

/// The embedded broker's retained messages, kept in the store.
struct StoreRetained(Store);

#[async_trait]
impl RetainedStore for StoreRetained {
    async fn load(&self) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        Ok(self.0.load_retained().await?)
    }

    async fn write(&self, changes: &[RetainedChange]) -> anyhow::Result<()> {
        let ops: Vec<RetainOp> = changes
            .iter()
            .map(|c| match &c.message {
                Some(blob) => RetainOp::Put {
                    topic: c.topic.clone(),
                    blob: blob.clone(),
                    at_ms: c.at_ms,
                },
                None => RetainOp::Delete(c.topic.clone()),
            })
            .collect();
        Ok(self.0.write_retained(&ops).await?)
    }
}

/// An address a local client can connect to: a wildcard listen address becomes loopback.
fn connectable(addr: SocketAddr) -> SocketAddr {
    let mut a = addr;
    if a.ip().is_unspecified() {
        a.set_ip(if a.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    a
}
