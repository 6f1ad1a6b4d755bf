//! A raw-socket MQTT client: packets built byte by byte, so tests can send what a library
//! client never would (DUP retransmits, keepalive 0, malformed packets) and see exactly what
//! the broker sends back.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const CONNACK: u8 = 2;
pub const PUBLISH: u8 = 3;
pub const PUBACK: u8 = 4;
pub const PUBREC: u8 = 5;
pub const PUBREL: u8 = 6;
pub const PUBCOMP: u8 = 7;
pub const SUBACK: u8 = 9;
pub const DISCONNECT: u8 = 14;

/// One packet as received.
#[derive(Debug, Clone)]
pub struct Packet {
    pub first: u8,
    pub body: Vec<u8>,
}

impl Packet {
    pub fn kind(&self) -> u8 {
        self.first >> 4
    }
    pub fn qos(&self) -> u8 {
        (self.first >> 1) & 3
    }
    pub fn dup(&self) -> bool {
        self.first & 8 != 0
    }
    pub fn retain(&self) -> bool {
        self.first & 1 != 0
    }
    /// (session present, return/reason code) of a CONNACK.
    pub fn connack(&self) -> (bool, u8) {
        assert_eq!(self.kind(), CONNACK, "{self:?}");
        (self.body[0] & 1 == 1, self.body[1])
    }
    /// Topic, packet id and payload of a PUBLISH (`v5`: skip the properties).
    pub fn publish(&self, v5: bool) -> (String, Option<u16>, Vec<u8>) {
        assert_eq!(self.kind(), PUBLISH, "{self:?}");
        let b = &self.body;
        let tl = u16::from_be_bytes([b[0], b[1]]) as usize;
        let topic = String::from_utf8(b[2..2 + tl].to_vec()).unwrap();
        let mut i = 2 + tl;
        let pid = if self.qos() > 0 {
            i += 2;
            Some(u16::from_be_bytes([b[i - 2], b[i - 1]]))
        } else {
            None
        };
        if v5 {
            let (len, n) = read_varint(&b[i..]).expect("properties length");
            i += n + len;
        }
        (topic, pid, b[i..].to_vec())
    }
    /// The packet id of an ack.
    pub fn pid(&self) -> u16 {
        u16::from_be_bytes([self.body[0], self.body[1]])
    }
}

/// A variable byte integer at the start of `b`: its value and the bytes it took; `None`
/// while `b` holds only part of it.
fn read_varint(b: &[u8]) -> Option<(usize, usize)> {
    let mut v = 0usize;
    for (i, byte) in b.iter().enumerate().take(4) {
        v |= ((byte & 0x7f) as usize) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    assert!(b.len() < 4, "a variable byte integer longer than 4 bytes");
    None
}

fn varint(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            break;
        }
    }
}

fn string(s: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    varint(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// Options of a CONNECT.
#[derive(Debug, Clone)]
pub struct Connect<'a> {
    pub v5: bool,
    pub client_id: &'a str,
    pub keepalive: u16,
    pub clean: bool,
    /// MQTT 5 session expiry interval.
    pub session_expiry: Option<u32>,
    /// (topic, payload, qos, retain)
    pub will: Option<(&'a str, &'a [u8], u8, bool)>,
}

impl<'a> Connect<'a> {
    pub fn v311(client_id: &'a str) -> Self {
        Connect {
            v5: false,
            client_id,
            keepalive: 30,
            clean: true,
            session_expiry: None,
            will: None,
        }
    }
    pub fn v5(client_id: &'a str) -> Self {
        Connect {
            v5: true,
            ..Self::v311(client_id)
        }
    }
    /// MQTT 5 when `v5`, else 3.1.1.
    pub fn version(v5: bool, client_id: &'a str) -> Self {
        Connect {
            v5,
            ..Self::v311(client_id)
        }
    }
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        string(b"MQTT", &mut b);
        b.push(if self.v5 { 5 } else { 4 });
        let mut flags = 0u8;
        if self.clean {
            flags |= 2;
        }
        if let Some((_, _, qos, retain)) = self.will {
            flags |= 4 | (qos << 3);
            if retain {
                flags |= 0x20;
            }
        }
        b.push(flags);
        b.extend_from_slice(&self.keepalive.to_be_bytes());
        if self.v5 {
            let mut props = Vec::new();
            if let Some(s) = self.session_expiry {
                props.push(0x11);
                props.extend_from_slice(&s.to_be_bytes());
            }
            varint(props.len(), &mut b);
            b.extend_from_slice(&props);
        }
        string(self.client_id.as_bytes(), &mut b);
        if let Some((topic, payload, _, _)) = self.will {
            if self.v5 {
                b.push(0); // no will properties
            }
            string(topic.as_bytes(), &mut b);
            string(payload, &mut b);
        }
        packet(0x10, &b)
    }
}

/// A PUBLISH, encoded into a buffer the caller keeps (the benchmarks' load generator
/// encodes millions of them).
#[derive(Debug, Clone, Copy)]
pub struct Publish<'a> {
    pub v5: bool,
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: u8,
    pub pid: u16,
    pub dup: bool,
    pub retain: bool,
}

impl Publish<'_> {
    /// Appends the packet to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let pid_len = if self.qos > 0 { 2 } else { 0 };
        let len = 2 + self.topic.len() + pid_len + usize::from(self.v5) + self.payload.len();
        out.push(0x30 | (self.qos << 1) | if self.dup { 8 } else { 0 } | u8::from(self.retain));
        varint(len, out);
        string(self.topic.as_bytes(), out);
        if self.qos > 0 {
            out.extend_from_slice(&self.pid.to_be_bytes());
        }
        if self.v5 {
            out.push(0);
        }
        out.extend_from_slice(self.payload);
    }
}

/// A PUBLISH.
pub fn publish(
    v5: bool,
    topic: &str,
    payload: &[u8],
    qos: u8,
    pid: u16,
    dup: bool,
    retain: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(topic.len() + payload.len() + 8);
    Publish {
        v5,
        topic,
        payload,
        qos,
        pid,
        dup,
        retain,
    }
    .encode_into(&mut out);
    out
}

/// A SUBSCRIBE to one filter.
pub fn subscribe(v5: bool, pid: u16, filter: &str, qos: u8) -> Vec<u8> {
    let mut b = pid.to_be_bytes().to_vec();
    if v5 {
        b.push(0);
    }
    string(filter.as_bytes(), &mut b);
    b.push(qos);
    packet(0x82, &b)
}

/// PUBACK / PUBREC / PUBREL / PUBCOMP for `pid`.
pub fn ack(kind: u8, pid: u16) -> Vec<u8> {
    let first = (kind << 4) | if kind == PUBREL { 2 } else { 0 };
    packet(first, &pid.to_be_bytes())
}

pub fn disconnect() -> Vec<u8> {
    vec![0xe0, 0]
}

/// A raw connection.
pub struct Raw {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        let s = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        s.set_nodelay(true).unwrap();
        Raw { s, buf: Vec::new() }
    }

    /// Connects and completes CONNECT/CONNACK, asserting success. Returns session present.
    pub async fn handshake(addr: SocketAddr, c: &Connect<'_>) -> (Raw, bool) {
        let mut r = Raw::connect(addr).await;
        r.send(&c.encode()).await;
        let p = r.recv().await.expect("CONNACK");
        let (sp, code) = p.connack();
        assert_eq!(code, 0, "CONNACK refused for {}", c.client_id);
        (r, sp)
    }

    /// Connects until the broker accepts, returning session present. rmqtt can refuse a
    /// reconnect that follows the previous connection's close within milliseconds (CONNACK
    /// 0x03/0x88, see ARCHITECTURE.md); real clients retry, and so does this.
    pub async fn retry_handshake(addr: SocketAddr, c: &Connect<'_>) -> (Raw, bool) {
        for _ in 0..100 {
            let mut r = Raw::connect(addr).await;
            r.send(&c.encode()).await;
            if let Some(p) = r.recv().await {
                let (present, code) = p.connack();
                if code == 0 {
                    return (r, present);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} could not connect", c.client_id);
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).await.expect("write");
    }

    /// Sends, tolerating a connection the broker already closed.
    pub async fn try_send(&mut self, bytes: &[u8]) -> bool {
        self.s.write_all(bytes).await.is_ok()
    }

    /// The next packet, or `None` when the broker closed the connection. Fails the test
    /// after 10 s of silence.
    pub async fn recv(&mut self) -> Option<Packet> {
        self.recv_within(Duration::from_secs(10))
            .await
            .expect("no packet within 10 s")
    }

    /// Like `recv`, but `Err(())` when nothing arrives within `d` (for "nothing more comes").
    pub async fn recv_within(&mut self, d: Duration) -> Result<Option<Packet>, ()> {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            if let Some(p) = self.parse() {
                return Ok(Some(p));
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.s.read(&mut chunk)).await {
                Err(_) => return Err(()),
                Ok(Ok(0)) | Ok(Err(_)) => return Ok(None),
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The next packet, which must be of `kind`.
    pub async fn recv_kind(&mut self, kind: u8) -> Packet {
        let p = self.recv().await.expect("connection closed");
        assert_eq!(p.kind(), kind, "unexpected packet {p:?}");
        p
    }

    fn parse(&mut self) -> Option<Packet> {
        let (first, body) = frame(&self.buf)?;
        let p = Packet {
            first,
            body: self.buf[body.clone()].to_vec(),
        };
        self.buf.drain(..body.end);
        Some(p)
    }
}

/// The first complete packet at the start of `buf`: its first byte and where its body is
/// (the packet ends where the body does).
pub fn frame(buf: &[u8]) -> Option<(u8, std::ops::Range<usize>)> {
    let first = *buf.first()?;
    let (len, n) = read_varint(buf.get(1..)?)?;
    let body = 1 + n..1 + n + len;
    (buf.len() >= body.end).then_some((first, body))
}
