//! The HTTP + WebSocket API over the core API, with its OpenAPI document, and the built
//! dashboard at `/`.
//!
//! Routes are registered through `utoipa-axum`, so the router and `/api/openapi.json` come
//! from the same annotated handlers and cannot drift apart. Every error is
//! `{"code": "...", "message": "..."}`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{broadcast, watch};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access_api::{AccessInfo, AclQuestion, MqttSetup, Pairing};
use crate::acl::Rule;
use crate::api::{Api, ApiError, BrokerStatus, ErrorKind, SeriesHistory, TopicNode};
use crate::auth::{AclTest, CreatedCredential, Credential, NewCredential, Phone, Settings};
use crate::commands::Command;
use crate::events::Event;
use crate::registry::{Device, Room};

/// Kernel send buffer of each HTTP connection.
const SEND_BUFFER_BYTES: usize = 128 * 1024;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// A WebSocket client that cannot take one message within this long is cut off.
const WS_SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a cut-off client has to drain what is already on its way and read the close
/// frame; after that it is dropped without one.
const WS_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// An error as the HTTP API answers it.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    body: ApiError,
}

impl HttpError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> HttpError {
        let kind = if status.is_server_error() {
            ErrorKind::Internal
        } else {
            ErrorKind::BadRequest
        };
        HttpError {
            status,
            body: ApiError::new(kind, code, message),
        }
    }
}

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        let status = match e.kind {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        HttpError { status, body: e }
    }
}

impl From<JsonRejection> for HttpError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            s if s.is_server_error() => return ApiError::internal(r.body_text()).into(),
            _ => "bad_json",
        };
        // Well-formed JSON of the wrong shape is as much the caller's mistake as broken JSON.
        let status = if code == "bad_json" {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        let message = match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                format!("the request body is larger than {MAX_BODY_BYTES} bytes")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                "send the body as JSON with Content-Type: application/json".to_string()
            }
            _ => r.body_text(),
        };
        HttpError::new(status, code, message)
    }
}

impl From<QueryRejection> for HttpError {
    fn from(r: QueryRejection) -> Self {
        HttpError::new(StatusCode::BAD_REQUEST, "bad_query", r.body_text())
    }
}

impl From<PathRejection> for HttpError {
    fn from(r: PathRejection) -> Self {
        HttpError::new(StatusCode::BAD_REQUEST, "bad_path", r.body_text())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

type Result<T> = std::result::Result<T, HttpError>;

#[derive(Clone)]
struct AppState {
    api: Api,
    doc: Arc<String>,
    shutdown: watch::Receiver<bool>,
    /// Served over HTTPS: cookies get `Secure`.
    secure: bool,
}

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
struct Peer(Option<std::net::IpAddr>);

/// The cookie that holds a paired phone's token.
pub const TOKEN_COOKIE: &str = "hearth_token";
/// Browsers keep a cookie at most 400 days; each visit of a phone renews it.
const TOKEN_MAX_AGE: u64 = 400 * 86_400;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hearth hub API",
        description = "Devices, history, light commands and live events of a Hearth smart-home \
                       hub. Every error is {\"code\", \"message\"}."
    ),
    tags(
        (name = "devices", description = "Devices grouped by room, lights and their commands"),
        (name = "data", description = "Topics and recorded history"),
        (name = "broker", description = "The MQTT broker"),
        (name = "events", description = "Live events over a WebSocket"),
        (name = "access", description = "Credentials, topic rules and access settings (from this PC only)"),
        (name = "phones", description = "Phone pairing; pairing and revoking from this PC only"),
    ),
    components(schemas(Event))
)]
struct ApiDoc;

/// The router: `/api/…`, `/ca.crt`, and the dashboard from `ui_dir` at `/` when given.
/// `secure` is for the HTTPS listener.
pub fn app(
    api: Api,
    ui_dir: Option<PathBuf>,
    shutdown: watch::Receiver<bool>,
    secure: bool,
) -> axum::Router {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list_devices))
        .routes(routes!(get_device))
        .routes(routes!(switch_light))
        .routes(routes!(light_commands))
        .routes(routes!(get_command))
        .routes(routes!(topics))
        .routes(routes!(history))
        .routes(routes!(broker))
        .routes(routes!(events))
        .routes(routes!(openapi))
        .routes(routes!(access_info))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(list_credentials, create_credential))
        .routes(routes!(delete_credential))
        .routes(routes!(revoke_credential))
        .routes(routes!(put_rules))
        .routes(routes!(put_anonymous_rules))
        .routes(routes!(test_acl))
        .routes(routes!(list_phones))
        .routes(routes!(start_pairing))
        .routes(routes!(revoke_phone))
        .routes(routes!(phone_mqtt))
        .routes(routes!(pair))
        .split_for_parts();
    let doc = Arc::new(
        doc.to_pretty_json()
            .expect("the OpenAPI document serialises"),
    );
    let state = AppState {
        api,
        doc,
        shutdown,
        secure,
    };
    let router = router
        .route("/api", axum::routing::any(no_route))
        .route("/api/{*rest}", axum::routing::any(no_route))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .route("/ca.crt", axum::routing::get(ca_certificate));
    let router = match ui_dir {
        Some(dir) => {
            let index = dir.join("index.html");
            // Unknown paths get the page itself: the dashboard routes on the client.
            router.fallback_service(
                tower_http::services::ServeDir::new(dir)
                    .fallback(tower_http::services::ServeFile::new(index)),
            )
        }
        None => router.fallback(no_dashboard),
    };
    router
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

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
async fn guard(
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

/// The hub's CA certificate, for phones and devices to trust its TLS listeners.
async fn ca_certificate(State(s): State<AppState>) -> Response {
    match s.api.ca_certificate() {
        Some(pem) => (
            [
                (header::CONTENT_TYPE, "application/x-x509-ca-cert"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"hearth-ca.crt\"",
                ),
            ],
            pem,
        )
            .into_response(),
        None => HttpError::new(
            StatusCode::NOT_FOUND,
            "no_tls",
            "TLS is off on this hub, so it has no CA certificate",
        )
        .into_response(),
    }
}

/// Serves `app` on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        // Events and small answers leave at once instead of waiting for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        // A bounded send buffer: an events client that stops reading is noticed after
        // kilobytes rather than the megabytes the kernel would otherwise buffer for it.
        let _ = socket2::SockRef::from(&*tcp).set_send_buffer_size(SEND_BUFFER_BYTES);
    });
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { crate::stopped(&mut shutdown).await })
    .await;
    if let Err(e) = result {
        tracing::error!("HTTP server stopped: {e}");
    }
}

/// Serves `app` over TLS on `listener` until `shutdown` turns true. Each connection's
/// handshake runs in its own task, with a time limit, so a slow client holds up no one.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    config: rustls::ServerConfig,
    app: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            _ = crate::stopped(&mut shutdown) => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("HTTPS accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let _ = socket2::SockRef::from(&tcp).set_send_buffer_size(SEND_BUFFER_BYTES);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let mut stop = shutdown.clone();
        conns.spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
            else {
                return;
            };
            let svc = tower::ServiceExt::map_request(
                app,
                move |mut r: axum::extract::Request<hyper::body::Incoming>| {
                    r.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                    r
                },
            );
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder
                .serve_connection_with_upgrades(TokioIo::new(tls), TowerToHyperService::new(svc));
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = crate::stopped(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
        while conns.try_join_next().is_some() {}
    }
    conns.shutdown().await;
}

async fn no_route() -> HttpError {
    HttpError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "no such API endpoint; the list is at /api/openapi.json",
    )
}

async fn no_dashboard() -> HttpError {
    HttpError::new(
        StatusCode::NOT_FOUND,
        "no_dashboard",
        "this hub serves no dashboard: build it (npm run build in ui/) or pass --ui-dir; \
         the API is under /api",
    )
}

async fn method_not_allowed() -> HttpError {
    HttpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see /api/openapi.json",
    )
}

/// Every device, grouped by room.
#[utoipa::path(get, path = "/api/devices", tag = "devices",
    responses((status = 200, description = "Rooms and their devices, sorted by name", body = Vec<Room>)))]
async fn list_devices(State(s): State<AppState>) -> Json<Vec<Room>> {
    Json(s.api.devices())
}

/// One device.
#[utoipa::path(get, path = "/api/devices/{room}/{name}", tag = "devices",
    params(("room" = String, Path, description = "The room, as in home/<room>/<name>"),
           ("name" = String, Path, description = "The device's name")),
    responses((status = 200, body = Device),
              (status = 404, description = "No such device", body = ApiError)))]
async fn get_device(
    State(s): State<AppState>,
    p: std::result::Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Device>> {
    let Path((room, name)) = p?;
    Ok(Json(s.api.device(&format!("{room}/{name}"))?))
}

/// The state to switch a light to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SwitchRequest {
    /// `ON` or `OFF` (any case).
    #[schema(example = "ON")]
    state: String,
}

/// Switches a light. Answers at once with the pending (or failed) command; its fate
/// follows as `command_updated` events on `/api/events`.
#[utoipa::path(post, path = "/api/devices/{room}/{name}/switch", tag = "devices",
    params(("room" = String, Path), ("name" = String, Path)),
    request_body = SwitchRequest,
    responses((status = 202, description = "The command, pending or already failed", body = Command),
              (status = 400, description = "Malformed JSON, a state other than ON/OFF, or not a light", body = ApiError),
              (status = 404, description = "No such device", body = ApiError),
              (status = 413, description = "Body too large", body = ApiError),
              (status = 415, description = "Body not JSON", body = ApiError)))]
async fn switch_light(
    State(s): State<AppState>,
    p: std::result::Result<Path<(String, String)>, PathRejection>,
    body: std::result::Result<Json<SwitchRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Command>)> {
    let Path((room, name)) = p?;
    let Json(req) = body?;
    let on = match req.state.to_ascii_uppercase().as_str() {
        "ON" => true,
        "OFF" => false,
        _ => {
            return Err(HttpError::new(
                StatusCode::BAD_REQUEST,
                "bad_state",
                format!("state must be ON or OFF, not '{}'", req.state),
            ));
        }
    };
    let cmd = s.api.switch_light(&format!("{room}/{name}"), on)?;
    Ok((StatusCode::ACCEPTED, Json(cmd)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LogQuery {
    /// At most this many entries (1–1000) [default: 50].
    limit: Option<u32>,
    /// Only entries with ids below this one (the next page).
    before: Option<i64>,
}

/// A light's log: its commands with their outcomes, and external changes, newest first.
#[utoipa::path(get, path = "/api/devices/{room}/{name}/commands", tag = "devices",
    params(("room" = String, Path), ("name" = String, Path), LogQuery),
    responses((status = 200, body = Vec<Command>),
              (status = 400, description = "Bad limit, or not a light", body = ApiError),
              (status = 404, description = "No such device", body = ApiError)))]
async fn light_commands(
    State(s): State<AppState>,
    p: std::result::Result<Path<(String, String)>, PathRejection>,
    q: std::result::Result<Query<LogQuery>, QueryRejection>,
) -> Result<Json<Vec<Command>>> {
    let Path((room, name)) = p?;
    let Query(q) = q?;
    Ok(Json(
        s.api
            .commands(&format!("{room}/{name}"), q.limit.unwrap_or(50), q.before)
            .await?,
    ))
}

/// One command and its fate.
#[utoipa::path(get, path = "/api/commands/{id}", tag = "devices",
    params(("id" = i64, Path, description = "The id `switch` returned")),
    responses((status = 200, body = Command),
              (status = 400, description = "Not a number", body = ApiError),
              (status = 404, description = "No such command", body = ApiError)))]
async fn get_command(
    State(s): State<AppState>,
    p: std::result::Result<Path<i64>, PathRejection>,
) -> Result<Json<Command>> {
    let Path(id) = p?;
    Ok(Json(s.api.command(id).await?))
}

/// Every topic seen, as a tree of levels with message counts and last payloads.
#[utoipa::path(get, path = "/api/topics", tag = "data",
    responses((status = 200, body = Vec<TopicNode>)))]
async fn topics(State(s): State<AppState>) -> Json<Vec<TopicNode>> {
    Json(s.api.topic_tree())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// The topic, e.g. `home/livingroom/temperature`.
    topic: String,
    /// The JSON field; empty for a plain number [default: empty].
    field: Option<String>,
    /// Start, Unix seconds, inclusive [default: 24 hours before `to`].
    from: Option<i64>,
    /// End, Unix seconds, exclusive [default: now].
    to: Option<i64>,
    /// At most this many buckets (1–10000) [default: 500].
    points: Option<usize>,
}

/// History of one series in uPlot's columnar shape, from the coarsest source that gives
/// enough points.
#[utoipa::path(get, path = "/api/history", tag = "data", params(HistoryQuery),
    responses((status = 200, body = SeriesHistory),
              (status = 400, description = "Bad range or points", body = ApiError),
              (status = 404, description = "Nothing recorded for that series", body = ApiError)))]
async fn history(
    State(s): State<AppState>,
    q: std::result::Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<SeriesHistory>> {
    let Query(q) = q?;
    let to = q.to.unwrap_or_else(|| crate::now_ms() / 1000 + 1);
    let from = q.from.unwrap_or(to.saturating_sub(86_400));
    let field = q.field.unwrap_or_default();
    let points = q.points.unwrap_or(500);
    Ok(Json(
        s.api.history(&q.topic, &field, from, to, points).await?,
    ))
}

/// The broker: clients, message rates, listeners.
#[utoipa::path(get, path = "/api/broker", tag = "broker",
    responses((status = 200, body = BrokerStatus)))]
async fn broker(State(s): State<AppState>) -> Json<BrokerStatus> {
    Json(s.api.broker_status())
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "data",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")))]
async fn openapi(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.doc.as_str().to_owned(),
    )
        .into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// Comma-separated event types to receive (`reading,light_state`) [default: all].
    types: Option<String>,
}

/// Live events. Each WebSocket text message is one `Event` as JSON, in the order the hub
/// produced them. A client that falls behind by more than the hub buffers is sent a close
/// frame (1008) and dropped; a client that stops reading is dropped.
#[utoipa::path(get, path = "/api/events", tag = "events", params(EventsQuery),
    responses((status = 101, description = "Switching to the WebSocket protocol; each message is an Event", body = Event),
              (status = 400, description = "Not a WebSocket upgrade, or an unknown event type", body = ApiError),
              (status = 403, description = "Opened from a page of another origin", body = ApiError)))]
async fn events(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: std::result::Result<Query<EventsQuery>, QueryRejection>,
    req: axum::extract::Request,
) -> Result<Response> {
    let Query(q) = q?;
    let filter = match q.types {
        Some(t) => Some(parse_types(&t)?),
        None => None,
    };
    check_origin(&headers)?;
    let (mut parts, _) = req.into_parts();
    let ws = WebSocketUpgrade::from_request_parts(&mut parts, &())
        .await
        .map_err(|r| {
            HttpError::new(
                StatusCode::BAD_REQUEST,
                "websocket_required",
                format!("open this endpoint as a WebSocket: {}", r.body_text()),
            )
        })?;
    let rx = s.api.subscribe();
    let shutdown = s.shutdown.clone();
    // A phone's stream ends when the phone is revoked.
    let phone = match parts.extensions.get::<Caller>() {
        Some(Caller::Phone(id)) => Some((*id, s.api.revocations(), s.api.clone())),
        _ => None,
    };
    Ok(ws
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| stream_events(socket, rx, filter, shutdown, phone)))
}

const EVENT_TYPES: [&str; 5] = [
    "reading",
    "device_updated",
    "light_state",
    "command_updated",
    "broker_stats",
];

fn parse_types(t: &str) -> Result<HashSet<&'static str>> {
    let mut set = HashSet::new();
    for name in t.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match EVENT_TYPES.iter().find(|k| **k == name) {
            Some(k) => {
                set.insert(*k);
            }
            None => {
                return Err(HttpError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_query",
                    format!(
                        "unknown event type '{name}'; known: {}",
                        EVENT_TYPES.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(set)
}

/// A page from another site must not read the hub's events (cross-site WebSocket
/// hijacking): a browser's `Origin` must name the host it connects to. Clients that are not
/// browsers send no `Origin`.
fn check_origin(headers: &HeaderMap) -> Result<()> {
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

async fn stream_events(
    socket: WebSocket,
    mut rx: broadcast::Receiver<Arc<Event>>,
    filter: Option<HashSet<&'static str>>,
    mut shutdown: watch::Receiver<bool>,
    phone: Option<(i64, watch::Receiver<u64>, Api)>,
) {
    let (phone_id, mut revocations, api) = match phone {
        Some((id, r, api)) => (Some(id), Some(r), Some(api)),
        None => (None, None, None),
    };
    let (mut tx, mut incoming) = socket.split();
    let close = |code, reason: String| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    };
    let reason = loop {
        tokio::select! {
            _ = crate::stopped(&mut shutdown) => {
                break Some((close_code::AWAY, "the hub is stopping".to_string()));
            }
            Ok(()) = async { match revocations.as_mut() { Some(r) => r.changed().await, None => std::future::pending().await } } => {
                if let (Some(id), Some(api)) = (phone_id, &api) && !api.phone_valid(id) {
                    break Some((close_code::POLICY, "this phone was revoked".to_string()));
                }
            }
            m = incoming.next() => match m {
                // Pings are answered by the WebSocket layer; other client messages mean nothing.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
                Some(Ok(_)) => {}
            },
            ev = rx.recv() => match ev {
                Ok(ev) => {
                    if filter.as_ref().is_some_and(|f| !f.contains(ev.kind())) {
                        continue;
                    }
                    let text = match serde_json::to_string(&*ev) {
                        Ok(t) => t,
                        Err(e) => {
                            tracing::error!("cannot serialise an event: {e}");
                            continue;
                        }
                    };
                    match tokio::time::timeout(WS_SEND_TIMEOUT, tx.send(Message::Text(text.into()))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break None,
                        Err(_) => break Some((close_code::POLICY, "not reading events".to_string())),
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    break Some((
                        close_code::POLICY,
                        format!("too slow: {n} events behind; reconnect and reload"),
                    ));
                }
                Err(broadcast::error::RecvError::Closed) => {
                    break Some((close_code::AWAY, "the hub is stopping".to_string()));
                }
            }
        }
    };
    if let Some((code, reason)) = reason {
        tracing::debug!("closing an events stream: {reason}");
        let _ = tokio::time::timeout(WS_CLOSE_TIMEOUT, tx.send(close(code, reason))).await;
    }
}

/// The access overview: settings, CA fingerprint, endpoints, anonymous rules.
#[utoipa::path(get, path = "/api/access", tag = "access",
    responses((status = 200, body = AccessInfo),
              (status = 403, description = "Not from this PC", body = ApiError),
              (status = 409, description = "The hub uses an external broker", body = ApiError)))]
async fn access_info(State(s): State<AppState>) -> Result<Json<AccessInfo>> {
    Ok(Json(s.api.access_info()?))
}

/// The access settings.
#[utoipa::path(get, path = "/api/access/settings", tag = "access",
    responses((status = 200, body = Settings), (status = 403, body = ApiError)))]
async fn get_settings(State(s): State<AppState>) -> Result<Json<Settings>> {
    Ok(Json(s.api.access_info()?.settings))
}

/// Changes the access settings. Turning anonymous access down disconnects the anonymous
/// clients it no longer allows.
#[utoipa::path(put, path = "/api/access/settings", tag = "access", request_body = Settings,
    responses((status = 200, body = Settings), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
async fn put_settings(
    State(s): State<AppState>,
    body: std::result::Result<Json<Settings>, JsonRejection>,
) -> Result<Json<Settings>> {
    let Json(settings) = body?;
    Ok(Json(s.api.set_access_settings(settings).await?))
}

/// Every MQTT credential with its rules and live sessions.
#[utoipa::path(get, path = "/api/access/credentials", tag = "access",
    responses((status = 200, body = Vec<Credential>), (status = 403, body = ApiError)))]
async fn list_credentials(State(s): State<AppState>) -> Result<Json<Vec<Credential>>> {
    Ok(Json(s.api.credentials().await?))
}

/// Makes a credential with its role's default rules. The password is in this answer only.
#[utoipa::path(post, path = "/api/access/credentials", tag = "access", request_body = NewCredential,
    responses((status = 201, body = CreatedCredential),
              (status = 400, description = "Bad username, password or topic", body = ApiError),
              (status = 403, body = ApiError),
              (status = 409, description = "The username is taken", body = ApiError)))]
async fn create_credential(
    State(s): State<AppState>,
    body: std::result::Result<Json<NewCredential>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedCredential>)> {
    let Json(n) = body?;
    Ok((StatusCode::CREATED, Json(s.api.create_credential(n).await?)))
}

/// Deletes a credential and its rules, and disconnects its sessions.
#[utoipa::path(delete, path = "/api/access/credentials/{id}", tag = "access",
    params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn delete_credential(
    State(s): State<AppState>,
    p: std::result::Result<Path<i64>, PathRejection>,
) -> Result<StatusCode> {
    let Path(id) = p?;
    s.api.delete_credential(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a credential: its sessions are disconnected before this answers, and it can no
/// longer connect.
#[utoipa::path(post, path = "/api/access/credentials/{id}/revoke", tag = "access",
    params(("id" = i64, Path)),
    responses((status = 200, body = Credential), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn revoke_credential(
    State(s): State<AppState>,
    p: std::result::Result<Path<i64>, PathRejection>,
) -> Result<Json<Credential>> {
    let Path(id) = p?;
    Ok(Json(s.api.revoke_credential(id).await?))
}

/// Replaces a credential's rules (the first that applies decides; what none allows is
/// denied). If they changed, the credential's live sessions are disconnected before the
/// answer, so that they reconnect and subscribe under the new rules.
#[utoipa::path(put, path = "/api/access/credentials/{id}/rules", tag = "access",
    params(("id" = i64, Path)), request_body = Vec<Rule>,
    responses((status = 200, body = Vec<Rule>), (status = 400, description = "A bad filter", body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn put_rules(
    State(s): State<AppState>,
    p: std::result::Result<Path<i64>, PathRejection>,
    body: std::result::Result<Json<Vec<Rule>>, JsonRejection>,
) -> Result<Json<Vec<Rule>>> {
    let Path(id) = p?;
    let Json(rules) = body?;
    Ok(Json(s.api.set_rules(Some(id), rules).await?))
}

/// Replaces the rules of anonymous LAN clients; if they changed, those connected are
/// disconnected before the answer, to reconnect under the new rules.
#[utoipa::path(put, path = "/api/access/anonymous-rules", tag = "access", request_body = Vec<Rule>,
    responses((status = 200, body = Vec<Rule>), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
async fn put_anonymous_rules(
    State(s): State<AppState>,
    body: std::result::Result<Json<Vec<Rule>>, JsonRejection>,
) -> Result<Json<Vec<Rule>>> {
    let Json(rules) = body?;
    Ok(Json(s.api.set_rules(None, rules).await?))
}

/// "Test a topic": what the rules decide for a publish or subscribe, and which rule decides.
#[utoipa::path(post, path = "/api/access/test", tag = "access", request_body = AclQuestion,
    responses((status = 200, body = AclTest), (status = 400, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn test_acl(
    State(s): State<AppState>,
    body: std::result::Result<Json<AclQuestion>, JsonRejection>,
) -> Result<Json<AclTest>> {
    let Json(q) = body?;
    Ok(Json(s.api.test_acl(&q)?))
}

/// Paired phones, with when each was last seen.
#[utoipa::path(get, path = "/api/phones", tag = "phones",
    responses((status = 200, body = Vec<Phone>), (status = 403, body = ApiError)))]
async fn list_phones(State(s): State<AppState>) -> Result<Json<Vec<Phone>>> {
    Ok(Json(s.api.phones().await?))
}

/// A fresh single-use pairing code, its URL and QR code.
#[utoipa::path(post, path = "/api/phones/pairing", tag = "phones",
    responses((status = 200, body = Pairing), (status = 403, body = ApiError),
              (status = 409, description = "The HTTP listener is off", body = ApiError)))]
async fn start_pairing(State(s): State<AppState>) -> Result<Json<Pairing>> {
    Ok(Json(s.api.start_pairing()?))
}

/// Revokes a paired phone: its token stops working at once.
#[utoipa::path(post, path = "/api/phones/{id}/revoke", tag = "phones",
    params(("id" = i64, Path)),
    responses((status = 204, description = "Revoked"), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn revoke_phone(
    State(s): State<AppState>,
    p: std::result::Result<Path<i64>, PathRejection>,
) -> Result<StatusCode> {
    let Path(id) = p?;
    s.api.revoke_phone(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whose MQTT app the settings are for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MqttSetupRequest {
    /// The phone's or person's name, e.g. "Ann's phone".
    name: String,
}

/// A fresh phone credential and an MQTT app's settings as a QR code.
#[utoipa::path(post, path = "/api/phones/mqtt", tag = "phones", request_body = MqttSetupRequest,
    responses((status = 200, body = MqttSetup), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
async fn phone_mqtt(
    State(s): State<AppState>,
    body: std::result::Result<Json<MqttSetupRequest>, JsonRejection>,
) -> Result<Json<MqttSetup>> {
    let Json(r) = body?;
    Ok(Json(s.api.phone_mqtt_setup(&r.name).await?))
}

/// A phone's pairing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PairRequest {
    /// The code from the QR code's URL.
    code: String,
    /// What to call the phone in the hub's list.
    name: Option<String>,
}

/// Trades a pairing code (single use, valid for minutes) for a long-lived token, set as an
/// HttpOnly cookie.
#[utoipa::path(post, path = "/api/pair", tag = "phones", request_body = PairRequest,
    responses((status = 200, description = "Paired; the token is in the cookie", body = Phone),
              (status = 400, description = "Malformed request", body = ApiError),
              (status = 401, description = "Unknown, used or expired code", body = ApiError)))]
async fn pair(
    State(s): State<AppState>,
    axum::Extension(Peer(peer)): axum::Extension<Peer>,
    body: std::result::Result<Json<PairRequest>, JsonRejection>,
) -> Result<Response> {
    let Json(r) = body?;
    if r.code.len() > 256 {
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "bad_pairing_code",
            "that is not a pairing code",
        ));
    }
    let (token, phone) = s
        .api
        .pair(&r.code, r.name.as_deref().unwrap_or(""), peer)
        .await?;
    let cookie = format!(
        "{TOKEN_COOKIE}={token}; Path=/; Max-Age={TOKEN_MAX_AGE}; HttpOnly; SameSite=Lax{}",
        if s.secure { "; Secure" } else { "" }
    );
    let mut resp = Json(phone).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        cookie.parse().map_err(ApiError::internal)?,
    );
    Ok(resp)
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

    #[test]
    fn event_types_filter() {
        assert_eq!(parse_types("reading, light_state").unwrap().len(), 2);
        assert!(parse_types("reading,bogus").is_err());
    }
}
