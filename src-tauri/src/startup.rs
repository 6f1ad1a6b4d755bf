//! Before the hub starts in this process: are the ports it would listen on free? When the
//! HTTP one answers as a Hearth hub (the service, say), the window shows that hub instead;
//! when something else holds a port, the person is told which port, what holds it when this
//! PC says, and how to give Hearth another one.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use hearth::{BrokerMode, Config};

/// A listener's address that something else holds.
pub struct Taken {
    /// What the listener is for, as the dialog says it.
    pub what: &'static str,
    /// Its flag and config key (without the dashes).
    pub key: &'static str,
    pub addr: SocketAddr,
    /// The program holding it, when this PC lets us see it.
    pub holder: Option<String>,
}

pub enum Plan {
    /// Every port is free (or picked by the system): run the hub here.
    Start,
    /// A Hearth hub answers on the HTTP port, with its dashboard at this origin.
    Attach { origin: SocketAddr },
    /// Something else holds these ports.
    Blocked(Vec<Taken>),
}

/// Looks at each listener the hub would open.
pub fn plan(cfg: &Config) -> Plan {
    let mut taken: Vec<Taken> = listeners(cfg)
        .into_iter()
        .filter(|(_, _, addr)| in_use(*addr))
        .map(|(what, key, addr)| Taken {
            what,
            key,
            addr,
            holder: None,
        })
        .collect();
    if taken.is_empty() {
        return Plan::Start;
    }
    let mut dashboard_missing = false;
    if let Some(http) = cfg.http.filter(|a| a.port() != 0) {
        let origin = loopback(http);
        match probe(origin) {
            Probe::Hearth => return Plan::Attach { origin },
            Probe::HearthWithoutDashboard => dashboard_missing = true,
            Probe::Other => {}
        }
    }
    for t in &mut taken {
        t.holder = if dashboard_missing && t.key == "http-listen" {
            Some(
                "a Hearth hub that serves no dashboard (started without ui/dist or --ui-dir)"
                    .into(),
            )
        } else {
            holder(t.addr.port())
        };
    }
    Plan::Blocked(taken)
}

/// The dialog's text for ports held by something else.
pub fn blocked_message(taken: &[Taken], config_file: &Path) -> String {
    let mut m = String::new();
    for t in taken {
        let who = t.holder.as_deref().unwrap_or("another program");
        m.push_str(&format!(
            "Port {} ({}, {}) is in use by {who}.\n",
            t.addr.port(),
            t.what,
            t.addr
        ));
    }
    m.push_str(
        "\nStop that program, or give Hearth other ports: start it with the flags below, or put \
         the same keys in ",
    );
    m.push_str(&format!("{}:\n\n", config_file.display()));
    // Two held ports side by side (9001 and 9002) must not both be told to move to 9003.
    let mut suggested = HashSet::new();
    for t in taken {
        let free = next_free(t.addr, &mut suggested);
        m.push_str(&format!(
            "  --{} {free}    ({} = \"{free}\")\n",
            t.key, t.key
        ));
    }
    m.push_str("\nAny listener but MQTT can also be turned off with the value off.");
    m
}

/// Every address the hub would listen on, with what it is for and its flag.
fn listeners(cfg: &Config) -> Vec<(&'static str, &'static str, SocketAddr)> {
    let mut v = Vec::new();
    if let BrokerMode::Embedded {
        mqtt,
        ws,
        mqtts,
        wss,
    } = &cfg.broker
    {
        v.push(("MQTT", "mqtt-listen", *mqtt));
        v.extend(mqtts.map(|a| ("MQTT over TLS", "mqtts-listen", a)));
        v.extend(ws.map(|a| ("MQTT over WebSocket", "ws-listen", a)));
        v.extend(wss.map(|a| ("MQTT over secure WebSocket", "wss-listen", a)));
    }
    v.extend(cfg.http.map(|a| ("dashboard and API", "http-listen", a)));
    v.extend(
        cfg.https
            .map(|a| ("dashboard over HTTPS", "https-listen", a)),
    );
    v
}

/// Whether binding `addr` fails because another socket listens there. Other failures (an
/// address this PC does not have, a port below 1024) are left to the hub's own start, whose
/// error says them.
fn in_use(addr: SocketAddr) -> bool {
    addr.port() != 0
        && matches!(TcpListener::bind(addr), Err(e) if e.kind() == std::io::ErrorKind::AddrInUse)
}

/// The same port on this PC, for a listener on every interface.
fn loopback(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// A suggestion for another port: the next one up that is free now and not suggested to
/// another listener already.
fn next_free(addr: SocketAddr, suggested: &mut HashSet<u16>) -> SocketAddr {
    let free = (1..=50)
        .filter_map(|d| addr.port().checked_add(d))
        .filter(|p| !suggested.contains(p))
        .map(|p| SocketAddr::new(addr.ip(), p))
        .find(|a| TcpListener::bind(a).is_ok())
        .unwrap_or(SocketAddr::new(addr.ip(), 0));
    suggested.insert(free.port());
    free
}

enum Probe {
    Hearth,
    HearthWithoutDashboard,
    Other,
}

/// Asks the HTTP port for the hub's own broker status, whose shape says it is Hearth (a
/// request from this PC to a loopback name needs no token), then for the dashboard.
fn probe(addr: SocketAddr) -> Probe {
    let Some((200, body)) = get(addr, "/api/broker") else {
        return Probe::Other;
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return Probe::Other;
    };
    let hearth = v["mode"].is_string()
        && v["hubConnected"].is_boolean()
        && v["listeners"].is_array()
        && v["uptimeSecs"].is_u64();
    if !hearth {
        return Probe::Other;
    }
    match get(addr, "/") {
        Some((200, page)) if String::from_utf8_lossy(&page).contains("<html") => Probe::Hearth,
        _ => Probe::HearthWithoutDashboard,
    }
}

/// A plain HTTP/1.1 GET: the status and the body, or `None` when nothing sensible answers
/// within two seconds.
fn get(addr: SocketAddr, path: &str) -> Option<(u16, Vec<u8>)> {
    let timeout = Duration::from_secs(2);
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json, text/html\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.take(4 << 20).read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = raw[split + 4..].to_vec();
    let body = if head.contains("transfer-encoding: chunked") {
        unchunk(&body)?
    } else {
        body
    };
    Some((status, body))
}

fn unchunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line = b.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&b[..line]).ok()?.split(';').next()?;
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        let start = line + 2;
        out.extend_from_slice(b.get(start..start + size)?);
        b = b.get(start + size + 2..)?;
    }
}

/// The process listening on `port`, named as "name (process N)", when /proc lets us see its
/// sockets: a service of another user keeps its file descriptors to itself.
#[cfg(target_os = "linux")]
fn holder(port: u16) -> Option<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEXIP:HEXPORT; state 0A is LISTEN; the inode is the tenth field.
            let listening = f.get(3) == Some(&"0A");
            let on_port = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok())
                == Some(port);
            if listening && on_port {
                inodes.extend(f.get(9).map(|i| format!("socket:[{i}]")));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    for proc in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = proc
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(proc.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str()))
        });
        if holds {
            let name = std::fs::read_to_string(proc.path().join("comm")).ok()?;
            return Some(format!("{} (process {pid})", name.trim()));
        }
    }
    None
}

#[cfg(not(target_os = "linux"))]
fn holder(_port: u16) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_port_is_in_use_and_a_free_one_suggested() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        assert!(in_use(addr));
        let mut suggested = HashSet::new();
        let first = next_free(addr, &mut suggested);
        assert_ne!(first, addr);
        assert_ne!(
            next_free(addr, &mut suggested),
            first,
            "each listener its own port"
        );
        let who = holder(addr.port()).expect("this process is seen holding it");
        assert!(
            who.contains(&format!("process {}", std::process::id())),
            "{who}"
        );
        drop(l);
        assert!(!in_use(addr));
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            unchunk(b"4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n").unwrap(),
            b"{\"a\":1}"
        );
        assert!(unchunk(b"zz\r\n").is_none());
    }
}
