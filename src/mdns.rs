//! Discovery: the hub advertises itself by mDNS/DNS-SD (the `mdns-sd` crate), so phone apps
//! and devices find it without typing an address: `_mqtt._tcp` (1883), `_secure-mqtt._tcp`
//! (8883) and the dashboard as `_http._tcp` with TXT `path` and `version`. Only listeners
//! reachable from the LAN are advertised. Turned on and off by the `mdns` setting.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use mdns_sd::{ServiceDaemon, ServiceInfo};

/// What to advertise.
#[derive(Debug, Clone, Default)]
pub struct Services {
    pub mqtt: Option<SocketAddr>,
    pub mqtts: Option<SocketAddr>,
    pub http: Option<SocketAddr>,
}

/// The advertiser; cheap to clone.
#[derive(Clone)]
pub struct Mdns {
    services: Services,
    daemon: Arc<Mutex<Option<ServiceDaemon>>>,
}

/// The DNS-SD instance name: "Hearth on <host>".
pub fn instance_name() -> String {
    format!(
        "Hearth on {}",
        crate::tls::hostname().unwrap_or_else(|| "this PC".into())
    )
}

impl Mdns {
    pub fn new(services: Services) -> Mdns {
        Mdns {
            services,
            daemon: Arc::default(),
        }
    }

    /// Starts or stops advertising.
    pub fn set(&self, on: bool) {
        let mut d = self.daemon.lock().expect("mdns lock");
        match (on, d.is_some()) {
            (true, false) => match self.start() {
                Ok(daemon) => *d = Some(daemon),
                Err(e) => tracing::warn!("mDNS advertising is off: {e}"),
            },
            (false, true) => {
                if let Some(daemon) = d.take() {
                    // Unregistering sends goodbye packets, so browsers drop the hub at once.
                    let _ = daemon.shutdown();
                }
                tracing::info!("mDNS advertising stopped");
            }
            _ => {}
        }
    }

    pub fn running(&self) -> bool {
        self.daemon.lock().expect("mdns lock").is_some()
    }

    fn start(&self) -> Result<ServiceDaemon, String> {
        let daemon = ServiceDaemon::new().map_err(|e| e.to_string())?;
        let host = format!(
            "{}.local.",
            crate::tls::hostname().unwrap_or_else(|| "hearth".into())
        );
        let instance = instance_name();
        let version = env!("CARGO_PKG_VERSION");
        let entries = [
            (
                "_mqtt._tcp.local.",
                self.services.mqtt,
                vec![("version", version)],
            ),
            (
                "_secure-mqtt._tcp.local.",
                self.services.mqtts,
                vec![("version", version)],
            ),
            (
                "_http._tcp.local.",
                self.services.http,
                vec![("path", "/"), ("version", version)],
            ),
        ];
        let mut advertised = vec![];
        for (ty, addr, txt) in entries {
            let Some(addr) = addr.filter(|a| !a.ip().is_loopback()) else {
                continue;
            };
            let info = ServiceInfo::new(ty, &instance, &host, "", addr.port(), &txt[..])
                .map_err(|e| format!("{ty}: {e}"))?
                .enable_addr_auto();
            daemon.register(info).map_err(|e| format!("{ty}: {e}"))?;
            advertised.push(format!("{ty} port {}", addr.port()));
        }
        if advertised.is_empty() {
            let _ = daemon.shutdown();
            return Err("no listener is on the LAN".into());
        }
        tracing::info!("mDNS: advertising {} as {instance}", advertised.join(", "));
        Ok(daemon)
    }
}
