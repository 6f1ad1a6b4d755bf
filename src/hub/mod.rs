//! The hub: the parts wired together, started and stopped as one. `Hub::start` runs named
//! phases (store, access, certificates, listeners, broker, the core parts, the tasks);
//! `intake` is the reading path the hub's client feeds.

mod intake;
mod listeners;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::access::{Access, AccessError, SIM_USER};
use crate::api::{self, Api, ListenerInfo, Parts, Reach};
use crate::broker::{Broker, BrokerError};
use crate::commands::{CommandError, Tracker};
use crate::config::{BrokerMode, Config};
use crate::devices::{Registry, RegistryLimits};
use crate::events::Bus;
use crate::ingest::Ingest;
use crate::mdns::{Mdns, Services};
use crate::recorder::{Recorder, RecorderOptions};
use crate::sim::{self, SimOptions, SimStats};
use crate::store::{Store, StoreError};
use crate::tls::TlsFiles;
use intake::Intake;
use listeners::{Mqtt, Web};

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
    Access(#[from] AccessError),
    #[error("cannot make the hub's TLS certificates: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot set up HTTPS: {0}")]
    Https(String),
    #[error("cannot save the access settings: {0}")]
    Settings(AccessError),
    #[error("making the certificates failed: {0}")]
    CertTask(String),
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
    api: Api,
    tracker: Tracker,
    tracker_task: JoinHandle<()>,
    /// The stats, retention and HTTP tasks.
    tasks: Vec<JoinHandle<()>>,
    mdns: Option<Mdns>,
}

impl Hub {
    /// Opens the store, starts the broker (unless an external one is configured), the hub's
    /// client, the recorder, the tracker, the API's listeners, retention and, with `demo`,
    /// the simulated home.
    pub async fn start(cfg: Config) -> Result<Hub, HubError> {
        let store = open_store(&cfg).await?;
        let access = load_access(&cfg, &store).await?;
        let tls = certificates(&cfg).await?;
        // Bound first, so a taken port fails the start before anything else runs.
        let web = Web::bind(&cfg, tls.as_ref()).await?;
        let mqtt = Mqtt::start(&cfg, &store, &access, &tls).await?;
        let (shutdown, stop) = watch::channel(false);
        let bus = Bus::default();
        let registry = Registry::new(RegistryLimits::default()).with_listening(mqtt.listening());
        registry.seed_retained(mqtt.retained().await);
        let (recorder, recorder_task) = start_recorder(&cfg, &store);
        let ingest = Ingest::new(mqtt.ingest_source(&cfg));
        let publisher = Arc::new(ingest.client());
        let (tracker, tracker_task) = Tracker::start(
            store.clone(),
            publisher.clone(),
            api::observer(&bus),
            cfg.command_timeout,
        )
        .await?;
        let listeners = [mqtt.listeners.clone(), web.listeners.clone()].concat();
        let mdns = advertise(&mqtt, &listeners, &access);
        let api = Api::new(Parts {
            registry: registry.clone(),
            tracker: tracker.clone(),
            store: store.clone(),
            recorder: recorder.shared_stats(),
            bus,
            link: mqtt.link(&ingest),
            access: access.clone(),
            reach: reach(&cfg, &listeners, tls, &mdns),
            retention_days: cfg.retention_days,
            publisher,
        });
        // Before the first message, so a device never shows under its old name.
        api.load_namings().await?;
        let intake = Intake {
            registry: registry.clone(),
            tracker: tracker.clone(),
            recorder: recorder.clone(),
            api: api.clone(),
        };
        let connected = ingest.connected();
        let ingest_task = tokio::spawn(ingest.run(Arc::new(intake), stop.clone()));
        let mut tasks = vec![
            tokio::spawn(api.clone().run_stats(stop.clone())),
            tokio::spawn(api.clone().run_topic_changes(stop.clone())),
            tokio::spawn(retention(store.clone(), cfg.retention_days, stop.clone())),
        ];
        tasks.extend(web.serve(&api, &cfg, &stop));
        let sim_task = cfg.demo.then(|| simulate(&cfg, &mqtt, &access, &stop));
        Ok(Hub {
            store,
            registry,
            recorder,
            recorder_task,
            broker: mqtt.broker,
            listeners,
            shutdown,
            ingest_task,
            connected,
            sim_task,
            api,
            tracker,
            tracker_task,
            tasks,
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
        for t in self.tasks {
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

async fn open_store(cfg: &Config) -> Result<Store, HubError> {
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| HubError::DataDir {
        path: cfg.data_dir.display().to_string(),
        source: e,
    })?;
    Ok(Store::open(&cfg.db_path()).await?)
}

/// The recorder, committing at the configured interval.
fn start_recorder(cfg: &Config, store: &Store) -> (Recorder, JoinHandle<()>) {
    let opts = RecorderOptions {
        flush_interval: cfg.flush_interval,
        pace_limit: cfg
            .limits
            .pace_limit
            .min(RecorderOptions::default().pace_limit),
        ..RecorderOptions::default()
    };
    Recorder::start(store.clone(), opts)
}

/// Credentials, rules, phones and settings; the flags' settings are saved first.
async fn load_access(cfg: &Config, store: &Store) -> Result<Access, HubError> {
    let access = Access::load(store.clone()).await?;
    if cfg.anonymous.is_some() || cfg.mdns.is_some() {
        let mut s = access.settings();
        s.anonymous = cfg.anonymous.unwrap_or(s.anonymous);
        s.mdns = cfg.mdns.unwrap_or(s.mdns);
        access.set_settings(s).await.map_err(HubError::Settings)?;
    }
    Ok(access)
}

/// The hub's CA and server certificate, when a TLS listener is on.
async fn certificates(cfg: &Config) -> Result<Option<TlsFiles>, HubError> {
    let wants_tls = cfg.https.is_some()
        || matches!(cfg.broker, BrokerMode::Embedded { mqtts, wss, .. } if mqtts.is_some() || wss.is_some());
    if !wants_tls {
        return Ok(None);
    }
    let dir = cfg.data_dir.join("tls");
    let files =
        tokio::task::spawn_blocking(move || crate::tls::ensure(&dir, &crate::tls::local_names()))
            .await
            .map_err(|e| HubError::CertTask(e.to_string()))??;
    Ok(Some(files))
}

/// Where phones and devices reach the hub.
fn reach(
    cfg: &Config,
    listeners: &[ListenerInfo],
    tls: Option<TlsFiles>,
    mdns: &Option<Mdns>,
) -> Reach {
    Reach {
        listeners: listeners.to_vec(),
        tls,
        mdns: mdns.clone(),
        public_host: cfg.public_host.clone(),
    }
}

/// mDNS for the embedded broker's LAN listeners, switched on when the setting says so.
fn advertise(mqtt: &Mqtt, listeners: &[ListenerInfo], access: &Access) -> Option<Mdns> {
    mqtt.broker.as_ref()?;
    let find = |name: &str| listeners.iter().find(|l| l.name == name).map(|l| l.addr);
    let mdns = Mdns::new(Services {
        mqtt: find("mqtt"),
        mqtts: find("mqtts"),
        http: find("http"),
    });
    let m = mdns.clone();
    let on = access.settings().mdns;
    // The daemon's start-up touches every interface; keep it off the runtime.
    tokio::task::spawn_blocking(move || m.set(on));
    Some(mdns)
}

/// The simulated home, connected like any device.
fn simulate(
    cfg: &Config,
    mqtt: &Mqtt,
    access: &Access,
    stop: &watch::Receiver<bool>,
) -> JoinHandle<Arc<SimStats>> {
    let opts = SimOptions {
        host: mqtt.public.0.clone(),
        port: mqtt.public.1,
        credentials: mqtt.credentials(access, SIM_USER),
        rooms: cfg.demo_rooms,
        flavor: cfg.demo_flavor,
        interval: Duration::from_secs(2),
        ..SimOptions::default()
    };
    tokio::spawn(sim::run(opts, stop.clone()))
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
