//! The hub's own certificate authority and server certificate, made on first run (rcgen) and
//! kept in `<data-dir>/tls/`: phones and devices install the CA once (the dashboard offers it
//! for download) and then trust MQTT over TLS, secure WebSocket and the HTTPS dashboard.
//!
//! The server certificate names `localhost`, the PC's hostname (bare and `.local`), loopback
//! and every LAN address the PC has at start-up. It is made again, by the same CA, when those
//! names change (a new DHCP lease) or when it has less than 30 days left.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Errors making or reading the certificates.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate: {0}")]
    Cert(#[from] rcgen::Error),
    #[error(
        "the hub's CA in {dir} cannot be read ({reason}); move that folder away to make a new CA \
         (phones and devices must then trust the new one)"
    )]
    BadCa { dir: PathBuf, reason: String },
}

/// Where the certificates are, and what the server certificate names.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// SHA-256 fingerprint of the CA certificate, colon-separated hex.
    pub ca_fingerprint: String,
    /// DNS names and addresses in the server certificate.
    pub names: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct ServerMeta {
    names: Vec<String>,
    not_after: i64,
}

const CA_YEARS: i64 = 10;
/// Within what browsers and phones accept for a server certificate.
const SERVER_DAYS: i64 = 397;
const RENEW_DAYS: i64 = 30;

/// The names the server certificate should carry on this PC right now.
pub fn local_names() -> Vec<String> {
    let mut names = vec!["localhost".to_string()];
    if let Some(host) = hostname() {
        names.push(format!("{host}.local"));
        names.push(host);
    }
    names.push("127.0.0.1".into());
    names.push("::1".into());
    for ip in lan_addresses() {
        names.push(ip.to_string());
    }
    names.dedup();
    names
}

/// The PC's host name, if it is a usable DNS label.
pub fn hostname() -> Option<String> {
    let h = gethostname::gethostname().to_string_lossy().to_string();
    let h = h.split('.').next().unwrap_or_default().to_string();
    let ok =
        !h.is_empty() && h.len() <= 63 && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(h)
}

/// The PC's non-loopback addresses that are up, IPv4 first; link-local IPv6 left out (it
/// needs a zone to be dialled).
pub fn lan_addresses() -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i.is_oper_up() && !i.is_loopback())
        .map(|i| i.ip())
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !v4.is_link_local(),
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
        })
        .collect();
    v.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    v.dedup();
    v
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path).map_err(io(path))?;
    f.write_all(contents.as_bytes()).map_err(io(path))
}

fn write_public(path: &Path, contents: &str) -> Result<(), TlsError> {
    fs::write(path, contents).map_err(io(path))
}

/// Makes the CA and server certificate if missing, renews the server certificate when its
/// names or dates call for it, and says where they are.
pub fn ensure(dir: &Path, names: &[String]) -> Result<TlsFiles, TlsError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let ca_cert = dir.join("ca.pem");
    let ca_key = dir.join("ca-key.pem");
    let server_cert = dir.join("server.pem");
    let server_key = dir.join("server-key.pem");
    let meta_path = dir.join("server.json");

    let ca_params = ca_params();
    let bad = |e: rcgen::Error| TlsError::BadCa {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    };
    let (ca_pem, ca_key_pair, fresh_ca) =
        match (fs::read_to_string(&ca_cert), fs::read_to_string(&ca_key)) {
            (Ok(cert), Ok(key)) => (cert, KeyPair::from_pem(&key).map_err(bad)?, false),
            _ => {
                let key = KeyPair::generate()?;
                let cert = ca_params.self_signed(&key)?;
                write_private(&ca_key, &key.serialize_pem())?;
                write_public(&ca_cert, &cert.pem())?;
                tracing::info!("made the hub's certificate authority in {}", dir.display());
                (cert.pem(), key, true)
            }
        };
    // A stored CA that does not parse is the user's to replace, never ours: devices trust it.
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, &ca_key_pair)
        .map_err(|e| if fresh_ca { TlsError::Cert(e) } else { bad(e) })?;

    let now = OffsetDateTime::now_utc();
    let meta: Option<ServerMeta> = fs::read(&meta_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let current = !fresh_ca
        && server_cert.is_file()
        && server_key.is_file()
        && meta.as_ref().is_some_and(|m| {
            names.iter().all(|n| m.names.contains(n))
                && m.not_after - now.unix_timestamp() > RENEW_DAYS * 86_400
        });
    if !current {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            names
                .iter()
                .find(|n| n.parse::<IpAddr>().is_err())
                .cloned()
                .unwrap_or_else(|| "localhost".into()),
        );
        dn.push(DnType::OrganizationName, "Hearth");
        params.distinguished_name = dn;
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n.clone().try_into().map(SanType::DnsName),
            })
            .collect::<Result<_, _>>()?;
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(SERVER_DAYS);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        write_private(&server_key, &key.serialize_pem())?;
        write_public(&server_cert, &cert.pem())?;
        let meta = ServerMeta {
            names: names.to_vec(),
            not_after: params.not_after.unix_timestamp(),
        };
        write_public(
            &meta_path,
            &serde_json::to_string(&meta).expect("plain struct"),
        )?;
        tracing::info!("made the server certificate for {}", names.join(", "));
    }
    let stored = match meta {
        Some(m) if current => m.names,
        _ => names.to_vec(),
    };
    Ok(TlsFiles {
        ca_fingerprint: fingerprint(&ca_pem),
        ca_cert,
        server_cert,
        server_key,
        ca_pem,
        names: stored,
    })
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    let host = hostname().unwrap_or_else(|| "this PC".into());
    dn.push(DnType::CommonName, format!("Hearth hub CA ({host})"));
    dn.push(DnType::OrganizationName, "Hearth");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(365 * CA_YEARS);
    params
}

fn fingerprint(pem: &str) -> String {
    use sha2::{Digest, Sha256};
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
        .map(|c: rustls::pki_types::CertificateDer<'static>| c.to_vec())
        .unwrap_or_default();
    Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A rustls server configuration from the server certificate and key.
pub fn server_config(files: &TlsFiles) -> Result<rustls::ServerConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.server_cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", files.server_cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&files.server_key)
        .map_err(|e| format!("{}: {e}", files.server_key.display()))?;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_and_renewed_for_new_names() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let a = ensure(dir.path(), &names).unwrap();
        assert!(a.ca_pem.contains("BEGIN CERTIFICATE"));
        assert_eq!(a.ca_fingerprint.len(), 32 * 3 - 1);
        let server = fs::read_to_string(&a.server_cert).unwrap();
        let b = ensure(dir.path(), &names).unwrap();
        assert_eq!(a.ca_pem, b.ca_pem);
        assert_eq!(
            server,
            fs::read_to_string(&b.server_cert).unwrap(),
            "nothing changed"
        );
        let more = vec!["localhost".into(), "127.0.0.1".into(), "192.168.7.7".into()];
        let c = ensure(dir.path(), &more).unwrap();
        assert_eq!(a.ca_pem, c.ca_pem, "the CA stays");
        assert_ne!(server, fs::read_to_string(&c.server_cert).unwrap());
        assert!(c.names.contains(&"192.168.7.7".to_string()));
        server_config(&c).unwrap();

        // A damaged CA is not replaced behind the user's back: devices trust it.
        fs::write(dir.path().join("ca.pem"), "garbage").unwrap();
        let e = ensure(dir.path(), &more).unwrap_err().to_string();
        assert!(e.contains("move that folder away"), "{e}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("ca-key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the CA key is private");
        }
    }
}
