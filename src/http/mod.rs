//! The HTTP + WebSocket API over the core API, with its OpenAPI document, and the built
//! dashboard at `/`: the router and the shared state here; the guard (`guard`), error mapping
//! and extractors (`error`), the events socket (`events`), HTTPS (`tls`) and the handlers by
//! area (`devices`, `data`, `access`) in their own files.
//!
//! Routes are registered through `utoipa-axum`, so the router and `/api/openapi.json` come
//! from the same annotated handlers and cannot drift apart. Every error is
//! `{"code": "...", "message": "..."}`.

mod access;
mod data;
mod devices;
mod error;
mod events;
mod guard;
mod tls;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::HttpError;
pub use tls::serve_tls;

use crate::api::{Api, Event};

/// Kernel send buffer of each HTTP connection.
const SEND_BUFFER_BYTES: usize = 128 * 1024;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest body of `POST /api/publish`: its payload may take up to six bytes a byte as JSON.
const PUBLISH_BODY_BYTES: usize = 6 * crate::api::MAX_PUBLISH_PAYLOAD + 4096;
/// Largest history batch: 500 series with long topics.
const MAX_BATCH_BODY_BYTES: usize = 256 * 1024;

#[derive(Clone)]
struct AppState {
    api: Api,
    doc: Arc<String>,
    shutdown: watch::Receiver<bool>,
    /// Served over HTTPS: cookies get `Secure`.
    secure: bool,
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
        (name = "access", description = "Credentials, topic rules and access settings (from this PC only)"),
        (name = "phones", description = "Phone pairing; pairing and revoking from this PC only"),
    ),
    components(schemas(Event))
)]
struct ApiDoc;

/// The `/api` routes and the OpenAPI document made from their annotations.
fn api_routes() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    use access::*;
    use data::*;
    use devices::*;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list_devices))
        .routes(routes!(get_device, patch_device))
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(switch_light))
        .routes(routes!(light_commands))
        .routes(routes!(get_command))
        .routes(routes!(topics))
        .routes(routes!(topic_messages))
        .routes(routes!(retained, clear_retained))
        .routes({
            // A payload may be up to 256 KiB, escaped in JSON.
            let (schemas, paths, method) = routes!(publish);
            (
                schemas,
                paths,
                method.layer(DefaultBodyLimit::max(PUBLISH_BODY_BYTES)),
            )
        })
        .routes(routes!(history))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(history_batch))
                .layer(DefaultBodyLimit::max(MAX_BATCH_BODY_BYTES)),
        )
        .routes(routes!(list_favourites))
        .routes(routes!(star_device, unstar_device))
        .routes(routes!(broker))
        .routes(routes!(events::events))
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
        .split_for_parts()
}

/// The OpenAPI 3.1 document of the HTTP API, as `/api/openapi.json` serves it.
pub fn openapi_document() -> String {
    api_routes()
        .1
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
}

/// The router: `/api/…`, `/ca.crt`, and the dashboard from `ui_dir` at `/` when given.
/// `secure` is for the HTTPS listener.
pub fn app(
    api: Api,
    ui_dir: Option<PathBuf>,
    shutdown: watch::Receiver<bool>,
    secure: bool,
) -> axum::Router {
    let (router, doc) = api_routes();
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
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
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

/// Sets up one accepted connection: events and small answers leave at once instead of waiting
/// for Nagle's algorithm, and a bounded send buffer means an events client that stops reading
/// is noticed after kilobytes rather than the megabytes the kernel would otherwise buffer.
fn tune(tcp: &tokio::net::TcpStream) {
    let _ = tcp.set_nodelay(true);
    let _ = socket2::SockRef::from(tcp).set_send_buffer_size(SEND_BUFFER_BYTES);
}

/// Serves `app` on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| tune(tcp));
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
