//! The broker's listeners: rmqtt's builder with the hub's limits.

use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::time::Duration;

use rmqtt::net::{Builder, Listener};

use super::{BrokerError, BrokerLimits};
use crate::tls::TlsFiles;

/// What a listener speaks.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Tcp,
    Ws,
    Tls,
    Wss,
}

/// A bound listener (so a port-0 address has its real port) with its address, ready for
/// `MqttServer::listener_by_id`. TLS kinds need `tls` (rmqtt reads the certificate files).
pub(super) fn bind(
    limits: &BrokerLimits,
    name: &str,
    kind: Kind,
    addr: SocketAddr,
    tls: Option<&TlsFiles>,
) -> Result<(Listener, SocketAddr), BrokerError> {
    let failed = |e| BrokerError::Bind { addr, source: e };
    let b = Builder::new()
        .tls_cert(tls.map(|t| t.server_cert.display().to_string()))
        .tls_key(tls.map(|t| t.server_key.display().to_string()))
        .name(name)
        .laddr(addr)
        .reuseaddr(Some(true))
        .nodelay(true)
        .max_connections(limits.max_connections)
        .max_packet_size(limits.max_packet_bytes)
        .max_inflight(NonZeroU16::new(limits.max_inflight.max(1)).expect("at least 1"))
        .max_mqueue_len(limits.max_queued_messages)
        .max_clientid_len(limits.max_client_id_len)
        .handshake_timeout(limits.handshake_timeout)
        // Keepalive 0 means "no keepalive" (MQTT-3.1.2-22); accept it.
        .allow_zero_keepalive(true)
        // Messages without an MQTT 5 expiry never expire (rmqtt's default is 5 minutes,
        // which would also silently drop retained messages older than that at delivery).
        .message_expiry_interval(Duration::ZERO)
        // Every CONNECT goes to the `Guard` hook, which knows the anonymous setting.
        .allow_anonymous(false)
        .bind()
        .map_err(failed)?;
    let l = match kind {
        Kind::Tcp => b.tcp(),
        Kind::Ws => b.ws(),
        Kind::Tls => b.tls(),
        Kind::Wss => b.wss(),
    }
    .map_err(failed)?;
    let bound = l.local_addr().map_err(BrokerError::Start)?;
    Ok((l, bound))
}
