//! Who may use `/api`: a browser on this PC, or a paired phone with its token. Requests that
//! change something must come from the hub's own pages.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{HttpError, Result};

/// Who sent a request, as the guard found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A browser on this PC, at a loopback address by a loopback name.
    Local,
    /// A paired phone.
    Phone(i64),
}

/// The address a request came from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Peer(pub(super) Option<std::net::IpAddr>);

/// The cookie that holds a paired phone's token.
pub const TOKEN_COOKIE: &str = "hearth_token";
/// Browsers keep a cookie at most 400 days; each visit of a phone renews it.
pub(super) const TOKEN_MAX_AGE: u64 = 400 * 86_400;

/// Whether a `Host` header names this PC's loopback: a page reached through any other name
/// (a DNS-rebinding attack, or the PC's LAN name) is treated as coming from the LAN.
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((n, port)) if port.chars().all(|c| c.is_ascii_digit()) => n,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == TOKEN_COOKIE)
        .map(|(_, v)| v.to_string())
}

/// Paths a phone may not use: managing access is for the PC.
fn local_only(path: &str) -> bool {
    path.starts_with("/api/access") || path.starts_with("/api/phones")
}

/// Every `/api` request: from this PC, or from a phone with a valid token (401 otherwise);
/// access management from this PC only (403); requests that change something from the hub's
/// own pages only (403).
pub(super) async fn guard(
    State(s): State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    req.extensions_mut().insert(Peer(peer));
    let headers = req.headers();
    if req.method() != axum::http::Method::GET
        && req.method() != axum::http::Method::HEAD
        && let Err(e) = check_origin(headers)
    {
        return e.into_response();
    }
    let path = req.uri().path().to_string();
    let caller = if peer.is_some_and(|p| p.is_loopback()) && loopback_host(headers) {
        Caller::Local
    } else if path == "/api/pair" || path == "/api/openapi.json" {
        return next.run(req).await;
    } else {
        match cookie_token(headers) {
            Some(t) => match s.api.phone_for_token(&t, peer).await {
                Some(id) => Caller::Phone(id),
                None => return unauthorized(),
            },
            None => return unauthorized(),
        }
    };
    if caller != Caller::Local && local_only(&path) {
        return HttpError::new(
            StatusCode::FORBIDDEN,
            "local_only",
            "access and phones are managed on the hub's PC",
        )
        .into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

fn unauthorized() -> Response {
    let mut r = HttpError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this device is not paired with the hub: open the QR code on the hub's Phones page",
    )
    .into_response();
    // Drop a token that no longer works, so the page shows the pairing help.
    r.headers_mut().insert(
        header::SET_COOKIE,
        axum::http::HeaderValue::from_static(
            "hearth_token=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
        ),
    );
    r
}

/// A page from another site must not read the hub's events (cross-site WebSocket
/// hijacking): a browser's `Origin` must name the host it connects to. Clients that are not
/// browsers send no `Origin`.
pub(super) fn check_origin(headers: &HeaderMap) -> Result<()> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(HttpError::new(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "events may only be opened from the hub's own pages",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_must_match_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(check_origin(&h).is_ok());
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(check_origin(&h).is_ok());
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert_eq!(check_origin(&h).unwrap_err().status, StatusCode::FORBIDDEN);
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(check_origin(&h).is_err());
    }
}
