//! The core API's access part: credentials and their rules, the access settings, phone
//! pairing and the hub's CA certificate. The dashboard's Access and Phones pages use it, over
//! HTTP from this PC or over IPC in the desktop window.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Api, ApiError, ErrorKind};
use crate::access::{
    Access, AclTest, CreatedCredential, Credential, NewCredential, Phone, Role, Settings, Subject,
};
use crate::acl::{Request, Rule};

/// The access overview: settings, the CA and where the hub can be reached.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessInfo {
    pub settings: Settings,
    /// Whether mDNS advertising runs right now.
    pub mdns_running: bool,
    /// The DNS-SD instance name.
    pub mdns_name: String,
    /// SHA-256 of the hub's CA certificate, to compare on a phone before trusting it.
    pub ca_fingerprint: Option<String>,
    /// Names and addresses in the server certificate.
    pub certificate_names: Vec<String>,
    /// Where phones and devices reach the hub: `mqtt`, `mqtts`, `ws`, `wss`, `http`, `https`.
    pub endpoints: Vec<Endpoint>,
    /// The rules for anonymous LAN clients (used when anonymous access is `on`).
    pub anonymous_rules: Vec<Rule>,
    /// MQTT access is the external broker's business; phones still pair here.
    pub external_broker: bool,
}

/// One listener as seen from the LAN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub name: String,
    pub url: String,
    /// Reachable from other machines (not bound to loopback).
    pub lan: bool,
}

/// A fresh pairing code and where a phone opens it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pairing {
    /// The URL the QR code holds.
    pub url: String,
    /// The same pairing at other addresses of this PC.
    pub other_urls: Vec<String>,
    pub expires_ms: i64,
    /// The QR code of `url`, as an SVG document.
    pub qr_svg: String,
    /// Whether the dashboard listens beyond this PC; a phone cannot open `url` otherwise.
    pub lan_reachable: bool,
}

/// MQTT settings for a phone app, with a fresh phone credential.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MqttSetup {
    pub credential: Credential,
    pub host: String,
    pub port: Option<u16>,
    pub tls_port: Option<u16>,
    pub ws_port: Option<u16>,
    pub wss_port: Option<u16>,
    pub username: String,
    /// Shown this once.
    pub password: String,
    /// Where the phone downloads the CA certificate for the TLS ports.
    pub ca_url: Option<String>,
    /// What the QR code holds: these settings as JSON.
    pub qr_text: String,
    pub qr_svg: String,
}

/// "Test a topic" as asked.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AclQuestion {
    /// The credential; none for anonymous LAN clients.
    pub credential: Option<i64>,
    pub request: Request,
    /// A topic to publish to, or a filter to subscribe to.
    pub topic: String,
    /// For rules with `%c`.
    pub client_id: Option<String>,
}

fn qr_svg(text: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(ApiError::internal)?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

fn host_in_url(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    }
}

impl Api {
    /// Credentials and rules: only the embedded broker uses them.
    fn mqtt_access(&self) -> Result<&Access, ApiError> {
        match self.embedded() {
            Some(_) => Ok(self.access()),
            None => Err(ApiError::new(
                ErrorKind::Conflict,
                "external_broker",
                "the hub uses an external broker: manage MQTT access there",
            )),
        }
    }

    /// Phones and settings, which the dashboard needs with either broker.
    fn access(&self) -> &Access {
        &self.parts().access
    }

    fn with_sessions(&self, mut c: Credential) -> Credential {
        if let Some(b) = self.embedded() {
            c.sessions = b.sessions_of(&c.username);
        }
        c
    }

    /// Hosts phones can use to reach this PC, best first: the name the user gave, the LAN
    /// addresses, the `.local` name; `localhost` when there is none of these.
    fn public_hosts(&self, bound: SocketAddr) -> Vec<String> {
        let mut hosts = vec![];
        if let Some(h) = &self.parts().reach.public_host {
            hosts.push(h.clone());
        }
        if bound.ip().is_unspecified() {
            hosts.extend(crate::tls::lan_addresses().into_iter().map(host_in_url));
            if let Some(h) = crate::tls::hostname() {
                hosts.push(format!("{h}.local"));
            }
        } else {
            hosts.push(host_in_url(bound.ip()));
        }
        hosts.dedup();
        if hosts.is_empty() {
            hosts.push("localhost".into());
        }
        hosts
    }

    fn listener(&self, name: &str) -> Option<SocketAddr> {
        self.parts()
            .reach
            .listeners
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.addr)
    }

    fn endpoints(&self) -> Vec<Endpoint> {
        // Listeners on every interface share one host; looking it up lists the interfaces.
        let wildcard = self
            .public_hosts(SocketAddr::from(([0, 0, 0, 0], 0)))
            .swap_remove(0);
        self.parts()
            .reach
            .listeners
            .iter()
            .map(|l| {
                let host = if l.addr.ip().is_unspecified() {
                    wildcard.clone()
                } else {
                    self.public_hosts(l.addr).swap_remove(0)
                };
                let path = if matches!(l.name, "ws" | "wss") {
                    "/mqtt"
                } else {
                    ""
                };
                Endpoint {
                    name: l.name.to_string(),
                    url: format!("{}://{host}:{}{path}", l.name, l.addr.port()),
                    lan: !l.addr.ip().is_loopback(),
                }
            })
            .collect()
    }

    pub fn access_info(&self) -> Result<AccessInfo, ApiError> {
        let a = self.access();
        let tls = self.parts().reach.tls.as_ref();
        Ok(AccessInfo {
            settings: a.settings(),
            mdns_running: self
                .parts()
                .reach
                .mdns
                .as_ref()
                .is_some_and(|m| m.running()),
            mdns_name: crate::mdns::instance_name(),
            ca_fingerprint: tls.map(|t| t.ca_fingerprint.clone()),
            certificate_names: tls.map(|t| t.names.clone()).unwrap_or_default(),
            endpoints: self.endpoints(),
            anonymous_rules: a.rules(Subject::Anonymous)?,
            external_broker: self.mqtt_access().is_err(),
        })
    }

    pub async fn set_access_settings(&self, s: Settings) -> Result<Settings, ApiError> {
        let before = self.access().settings();
        let s = self.access().set_settings(s).await?;
        if s.mdns != before.mdns
            && let Some(m) = self.parts().reach.mdns.clone()
        {
            let on = s.mdns;
            tokio::task::spawn_blocking(move || m.set(on))
                .await
                .map_err(ApiError::internal)?;
        }
        self.enforce().await;
        Ok(s)
    }

    /// Disconnects sessions that lost their access, before answering.
    async fn enforce(&self) {
        if let Some(b) = self.embedded() {
            b.enforce(self.access()).await;
        }
    }

    pub async fn credentials(&self) -> Result<Vec<Credential>, ApiError> {
        Ok(self
            .mqtt_access()?
            .credentials()
            .await?
            .into_iter()
            .map(|c| self.with_sessions(c))
            .collect())
    }

    pub async fn create_credential(&self, n: NewCredential) -> Result<CreatedCredential, ApiError> {
        Ok(self.mqtt_access()?.create_credential(n).await?)
    }

    /// Revokes a credential and disconnects its sessions before answering.
    pub async fn revoke_credential(&self, id: i64) -> Result<Credential, ApiError> {
        let a = self.mqtt_access()?;
        a.revoke_credential(id).await?;
        self.enforce().await;
        Ok(self.with_sessions(a.credential(id).await?))
    }

    pub async fn delete_credential(&self, id: i64) -> Result<(), ApiError> {
        self.mqtt_access()?.delete_credential(id).await?;
        self.enforce().await;
        Ok(())
    }

    /// Saves a subject's rules; if they changed, its live sessions are disconnected before
    /// the answer, to reconnect under the new rules.
    pub async fn set_rules(
        &self,
        credential: Option<i64>,
        rules: Vec<Rule>,
    ) -> Result<Vec<Rule>, ApiError> {
        let subject = credential.map_or(Subject::Anonymous, Subject::Credential);
        let a = self.mqtt_access()?;
        let before = a.rules(subject)?;
        let saved = a.set_rules(subject, rules).await?;
        if saved != before
            && let Some(b) = self.embedded()
        {
            match subject {
                Subject::Anonymous => {
                    b.reconnect_subject(None).await;
                }
                Subject::Credential(id) => {
                    if let Some(u) = a.username(id) {
                        b.reconnect_subject(Some(&u)).await;
                    }
                }
            }
        }
        Ok(saved)
    }

    pub fn test_acl(&self, q: &AclQuestion) -> Result<AclTest, ApiError> {
        let subject = q.credential.map_or(Subject::Anonymous, Subject::Credential);
        Ok(self
            .mqtt_access()?
            .test(subject, q.request, &q.topic, q.client_id.as_deref())?)
    }

    pub async fn phones(&self) -> Result<Vec<Phone>, ApiError> {
        Ok(self.access().phones().await?)
    }

    /// A fresh pairing code with the URL and QR code a phone opens.
    pub fn start_pairing(&self) -> Result<Pairing, ApiError> {
        let a = self.access();
        let Some(http) = self.listener("http") else {
            return Err(ApiError::new(
                ErrorKind::Conflict,
                "no_dashboard_listener",
                "the dashboard's HTTP listener is off (http-listen), so phones cannot open it",
            ));
        };
        let (code, expires_ms) = a.start_pairing();
        let urls: Vec<String> = self
            .public_hosts(http)
            .into_iter()
            .map(|h| format!("http://{h}:{}/pair?code={code}", http.port()))
            .collect();
        let url = urls[0].clone();
        Ok(Pairing {
            lan_reachable: !http.ip().is_loopback(),
            qr_svg: qr_svg(&url)?,
            url,
            other_urls: urls[1..].to_vec(),
            expires_ms,
        })
    }

    /// Trades a pairing code for a long-lived phone token.
    pub async fn pair(
        &self,
        code: &str,
        name: &str,
        peer: Option<IpAddr>,
    ) -> Result<(String, Phone), ApiError> {
        Ok(self.access().pair(code, name, peer).await?)
    }

    /// The phone a token belongs to, if the token is valid.
    pub async fn phone_for_token(&self, token: &str, peer: Option<IpAddr>) -> Option<i64> {
        self.access().phone_for_token(token, peer).await
    }

    pub async fn revoke_phone(&self, id: i64) -> Result<(), ApiError> {
        Ok(self.access().revoke_phone(id).await?)
    }

    /// A fresh phone credential and the settings an MQTT app needs, as a QR code.
    pub async fn phone_mqtt_setup(&self, name: &str) -> Result<MqttSetup, ApiError> {
        let a = self.mqtt_access()?;
        let base: String = name
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(40)
            .collect();
        let base = base.trim_matches('-');
        let base = if base.is_empty() { "phone" } else { base };
        let username = format!("{base}-{:04x}", rand::random::<u16>());
        let created = a
            .create_credential(NewCredential {
                username: username.clone(),
                role: Role::Phone,
                password: None,
                topic: None,
                label: Some(format!("MQTT app on {}", name.trim())),
            })
            .await?;
        let mqtt = self.listener("mqtt");
        let host = mqtt
            .or(self.listener("http"))
            .map(|addr| {
                self.public_hosts(addr)
                    .into_iter()
                    .next()
                    .unwrap_or_default()
            })
            .unwrap_or_else(|| "localhost".into());
        let port = |n: &str| self.listener(n).map(|a| a.port());
        let ca_url = self
            .listener("http")
            .filter(|_| self.parts().reach.tls.is_some())
            .map(|a| format!("http://{host}:{}/ca.crt", a.port()));
        let qr_text = serde_json::json!({
            "host": host,
            "port": port("mqtt"),
            "tlsPort": port("mqtts"),
            "wsPort": port("ws"),
            "wssPort": port("wss"),
            "wsPath": "/mqtt",
            "username": username,
            "password": created.password,
            "caUrl": ca_url,
        })
        .to_string();
        Ok(MqttSetup {
            credential: created.credential,
            host,
            port: port("mqtt"),
            tls_port: port("mqtts"),
            ws_port: port("ws"),
            wss_port: port("wss"),
            username,
            password: created.password,
            ca_url,
            qr_svg: qr_svg(&qr_text)?,
            qr_text,
        })
    }

    /// The hub's CA certificate (PEM), when TLS is on.
    pub fn ca_certificate(&self) -> Option<String> {
        self.parts().reach.tls.as_ref().map(|t| t.ca_pem.clone())
    }

    /// Whether a phone is still paired (for live connections).
    pub fn phone_valid(&self, id: i64) -> bool {
        self.access().phone_valid(id)
    }

    /// Changes on every revocation.
    pub fn revocations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.access().revocations()
    }
}
