//! The hub: the parts wired together, started and stopped as one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{Api, BrokerLink, Parts};
use crate::auth::Access;
use crate::broker::{Broker, BrokerError, BrokerOptions};
use crate::commands::{CommandError, Tracker};
use crate::config::{BrokerMode, Config};
use crate::events::Bus;
use crate::ingest::{self, IngestOptions, Sinks};
use crate::mdns::{Mdns, Services};
use crate::recorder::{Recorder, RecorderOptions};
use crate::registry::{Registry, RegistryLimits};
use crate::sim::{self, SimOptions, SimStats};
use crate::store::{Store, StoreError};

/// Errors starting the hub.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("cannot create data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error("cannot start the command tracker: {0}")]
    Commands(#[from] CommandError),
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Http {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot load credentials and settings: {0}")]
    Access(#[from] sqlx::Error),
    #[error("cannot make the hub's TLS certificates: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot set up HTTPS: {0}")]
    Https(String),
    #[error("cannot save the access settings: {0}")]
    Settings(String),
    #[error("making the certificates failed: {0}")]
    CertTask(String),
}

/// A listener the hub serves, with its real address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerInfo {
    pub name: &'static str,
    pub addr: SocketAddr,
}

/// A running hub.
pub struct Hub {
    pub store: Store,
    pub registry: Registry,
    recorder: Recorder,
    recorder_task: JoinHandle<()>,
    broker: Option<Broker>,
    listeners: Vec<ListenerInfo>,
    shutdown: watch::Sender<bool>,
    ingest_task: JoinHandle<()>,
    connected: watch::Receiver<bool>,
    sim_task: Option<JoinHandle<Arc<SimStats>>>,
    retention_task: JoinHandle<()>,
    api: Api,
    tracker: Tracker,
    tracker_task: JoinHandle<()>,
    other_tasks: Vec<JoinHandle<()>>,
    mdns: Option<Mdns>,
}

impl Hub {
    /// Opens the store, starts the broker (unless an external one is configured), the hub's
    /// client, the recorder, retention and, with `demo`, the simulated home.
    pub async fn start(cfg: Config) -> Result<Hub, HubError> {
        std::fs::create_dir_all(&cfg.data_dir).map_err(|e| HubError::DataDir {
            path: cfg.data_dir.display().to_string(),
            source: e,
        })?;
        let store = Store::open(&cfg.db_path()).await?;
        let access = Access::load(store.pool().clone()).await?;
        if cfg.anonymous.is_some() || cfg.mdns.is_some() {
            let mut s = access.settings();
            s.anonymous = cfg.anonymous.unwrap_or(s.anonymous);
            s.mdns = cfg.mdns.unwrap_or(s.mdns);
            access
                .set_settings(s)
                .await
                .map_err(|e| HubError::Settings(e.to_string()))?;
        }
        let embedded = matches!(cfg.broker, BrokerMode::Embedded { .. });
        let wants_tls = cfg.https.is_some()
            || matches!(cfg.broker, BrokerMode::Embedded { mqtts, wss, .. } if mqtts.is_some() || wss.is_some());
        let tls = if wants_tls {
            let dir = cfg.data_dir.join("tls");
            Some(
                tokio::task::spawn_blocking(move || {
                    crate::tls::ensure(&dir, &crate::tls::local_names())
                })
                .await
                .map_err(|e| HubError::CertTask(e.to_string()))??,
            )
        } else {
            None
        };
        // Bound first, so a taken port fails the start before anything else runs.
        let http_listener = match cfg.http {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| HubError::Http { addr, source })?,
            ),
            None => None,
        };
        let https_listener = match (cfg.https, &tls) {
            (Some(addr), Some(files)) => Some((
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| HubError::Http { addr, source })?,
                crate::tls::server_config(files).map_err(HubError::Https)?,
            )),
            _ => None,
        };
        let (broker, mut listeners, client_host, client_port, public_host, public_port) =
            match &cfg.broker {
                BrokerMode::Embedded {
                    mqtt,
                    ws,
                    mqtts,
                    wss,
                } => {
                    let b = Broker::start(
                        BrokerOptions {
                            mqtt: *mqtt,
                            ws: *ws,
                            mqtts: *mqtts,
                            wss: *wss,
                            tls: tls.clone(),
                            access: access.clone(),
                            limits: cfg.limits,
                            sys_interval: cfg.sys_interval,
                        },
                        store.clone(),
                    )
                    .await?;
                    let mut l = vec![ListenerInfo {
                        name: "mqtt",
                        addr: b.mqtt_addr,
                    }];
                    for (name, addr) in [
                        ("mqtts", b.mqtts_addr),
                        ("ws", b.ws_addr),
                        ("wss", b.wss_addr),
                    ] {
                        if let Some(addr) = addr {
                            l.push(ListenerInfo { name, addr });
                        }
                    }
                    let internal = b.internal_addr;
                    let public = connectable(b.mqtt_addr);
                    (
                        Some(b),
                        l,
                        internal.ip().to_string(),
                        internal.port(),
                        public.ip().to_string(),
                        public.port(),
                    )
                }
                BrokerMode::External { host, port } => {
                    (None, vec![], host.clone(), *port, host.clone(), *port)
                }
            };

        let registry = Registry::new(RegistryLimits::default());
        let (recorder, recorder_task) = Recorder::start(
            store.clone(),
            RecorderOptions {
                flush_interval: cfg.flush_interval,
                ..RecorderOptions::default()
            },
        );
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (connected_tx, connected) = watch::channel(false);
        let ingest_opts = IngestOptions {
            host: client_host,
            port: client_port,
            client_id: format!("hearth-hub-{}", std::process::id()),
            max_packet_bytes: cfg.limits.max_packet_bytes,
            credentials: embedded
                .then(|| access.internal_credentials(crate::auth::HUB_USER))
                .flatten(),
        };
        let (client, eventloop) = ingest::client(&ingest_opts);
        let bus = Bus::default();
        let (tracker, tracker_task) = Tracker::start(
            store.clone(),
            client.clone(),
            connected.clone(),
            bus.clone(),
            cfg.command_timeout,
        )
        .await?;
        if let Some(l) = &http_listener {
            listeners.push(ListenerInfo {
                name: "http",
                addr: l.local_addr().map_err(|source| HubError::Http {
                    addr: cfg.http.expect("bound"),
                    source,
                })?,
            });
        }
        if let Some((l, _)) = &https_listener {
            listeners.push(ListenerInfo {
                name: "https",
                addr: l.local_addr().map_err(|source| HubError::Http {
                    addr: cfg.https.expect("bound"),
                    source,
                })?,
            });
        }
        let find = |name: &str| listeners.iter().find(|l| l.name == name).map(|l| l.addr);
        let mdns = embedded.then(|| {
            Mdns::new(Services {
                mqtt: find("mqtt"),
                mqtts: find("mqtts"),
                http: find("http"),
            })
        });
        let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let api = Api::new(Parts {
            registry: registry.clone(),
            store: store.clone(),
            recorder_stats: recorder.shared_stats(),
            tracker: tracker.clone(),
            bus,
            broker: match (&broker, &cfg.broker) {
                (Some(b), _) => BrokerLink::Embedded(b.handle.clone()),
                (None, BrokerMode::External { host, port }) => {
                    BrokerLink::External(format!("mqtt://{host}:{port}"))
                }
                (None, BrokerMode::Embedded { .. }) => unreachable!("embedded broker started"),
            },
            listeners: listeners.clone(),
            connected: connected.clone(),
            retention_days: cfg.retention_days,
            hub_received: received.clone(),
            access: access.clone(),
            tls: tls.clone(),
            mdns: mdns.clone(),
            public_host: cfg.public_host.clone(),
        });
        if let Some(m) = &mdns {
            let m = m.clone();
            let on = access.settings().mdns;
            // The daemon's start-up touches every interface; keep it off the runtime.
            tokio::task::spawn_blocking(move || m.set(on));
        }
        let ingest_task = tokio::spawn(ingest::run(
            ingest_opts,
            client,
            eventloop,
            Sinks {
                registry: registry.clone(),
                recorder: recorder.clone(),
                tracker: tracker.clone(),
                api: api.clone(),
                received,
            },
            shutdown_rx.clone(),
            connected_tx,
        ));
        let mut other_tasks = vec![tokio::spawn(api.clone().run_stats(shutdown_rx.clone()))];
        if let Some(l) = http_listener {
            other_tasks.push(tokio::spawn(crate::http::serve(
                l,
                crate::http::app(api.clone(), cfg.ui_dir.clone(), shutdown_rx.clone(), false),
                shutdown_rx.clone(),
            )));
        }
        if let Some((l, tls_cfg)) = https_listener {
            other_tasks.push(tokio::spawn(crate::http::serve_tls(
                l,
                tls_cfg,
                crate::http::app(api.clone(), cfg.ui_dir.clone(), shutdown_rx.clone(), true),
                shutdown_rx.clone(),
            )));
        }

        let retention_task = tokio::spawn(retention(
            store.clone(),
            cfg.retention_days,
            shutdown_rx.clone(),
        ));

        let sim_task = cfg.demo.then(|| {
            let opts = SimOptions {
                host: public_host,
                port: public_port,
                credentials: embedded
                    .then(|| access.internal_credentials(crate::auth::SIM_USER))
                    .flatten(),
                rooms: cfg.demo_rooms,
                interval: Duration::from_secs(2),
                ..SimOptions::default()
            };
            tokio::spawn(sim::run(opts, shutdown_rx.clone()))
        });

        Ok(Hub {
            store,
            registry,
            recorder,
            recorder_task,
            broker,
            listeners,
            shutdown,
            ingest_task,
            connected,
            sim_task,
            retention_task,
            api,
            tracker,
            tracker_task,
            other_tasks,
            mdns,
        })
    }

    /// The core API over this hub.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// The listeners the hub serves: the embedded broker's (none with an external broker)
    /// and the HTTP API's.
    pub fn listeners(&self) -> &[ListenerInfo] {
        &self.listeners
    }

    /// Waits until the hub's client is subscribed to its broker, or `timeout` passes.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut c = self.connected.clone();
        tokio::time::timeout(timeout, c.wait_for(|v| *v))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Clients connected to the embedded broker right now.
    pub fn broker_connections(&self) -> Option<isize> {
        self.broker.as_ref().map(|b| b.connections())
    }

    /// Commits every reading received so far.
    pub async fn flush(&self) {
        self.recorder.flush().await;
    }

    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Stops the simulator and the hub's client, commits pending readings, closes the
    /// database and stops the broker.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Some(m) = self.mdns.clone() {
            let _ = tokio::task::spawn_blocking(move || m.set(false)).await;
        }
        if let Some(t) = self.sim_task {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.ingest_task).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.retention_task).await;
        for t in self.other_tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        self.tracker.close();
        if tokio::time::timeout(Duration::from_secs(10), self.tracker_task)
            .await
            .is_err()
        {
            tracing::error!("the command log did not finish writing within 10 s");
        }
        drop(self.recorder);
        if tokio::time::timeout(Duration::from_secs(30), self.recorder_task)
            .await
            .is_err()
        {
            tracing::error!("the recorder did not finish flushing within 30 s");
        }
        if let Some(b) = &self.broker {
            b.flush_retained().await;
        }
        self.store.close().await;
        if let Some(b) = self.broker {
            b.stop();
        }
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

/// Purges raw readings past retention at start and then hourly.
async fn retention(store: Store, days: u32, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = crate::stopped(&mut shutdown) => return,
            _ = tick.tick() => {
                let cutoff = crate::store::retention_cutoff_ms(days);
                match store.purge_readings_before(cutoff).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("retention: removed {n} readings older than {days} days"),
                    Err(e) => tracing::warn!("retention purge failed: {e}"),
                }
            }
        }
    }
}
