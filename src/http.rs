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

use crate::api::{Api, ApiError, BrokerStatus, ErrorKind, SeriesHistory, TopicNode};
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
}

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
    ),
    components(schemas(Event))
)]
struct ApiDoc;

/// The router: `/api/…`, and the dashboard from `ui_dir` at `/` when given.
pub fn app(api: Api, ui_dir: Option<PathBuf>, shutdown: watch::Receiver<bool>) -> axum::Router {
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
        .split_for_parts();
    let doc = Arc::new(
        doc.to_pretty_json()
            .expect("the OpenAPI document serialises"),
    );
    let router = router
        .route("/api", axum::routing::any(no_route))
        .route("/api/{*rest}", axum::routing::any(no_route));
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
        .with_state(AppState { api, doc, shutdown })
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
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move { crate::stopped(&mut shutdown).await })
        .await;
    if let Err(e) = result {
        tracing::error!("HTTP server stopped: {e}");
    }
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
    Ok(ws
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| stream_events(socket, rx, filter, shutdown)))
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
) {
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
