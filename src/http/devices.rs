//! Devices, light switching and the command log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{AppJson, AppPath, AppQuery, HttpError, Result};
use crate::api::{ApiError, Device, Room};
use crate::commands::Command;

/// Every device, grouped by room.
#[utoipa::path(get, path = "/api/devices", tag = "devices",
    responses((status = 200, description = "Rooms and their devices, sorted by name", body = Vec<Room>)))]
pub(super) async fn list_devices(State(s): State<AppState>) -> Json<Vec<Room>> {
    Json(s.api.devices())
}

/// One device.
#[utoipa::path(get, path = "/api/devices/{room}/{name}", tag = "devices",
    params(("room" = String, Path, description = "The room, as in home/<room>/<name>"),
           ("name" = String, Path, description = "The device's name")),
    responses((status = 200, body = Device),
              (status = 404, description = "No such device", body = ApiError)))]
pub(super) async fn get_device(
    State(s): State<AppState>,
    AppPath((room, name)): AppPath<(String, String)>,
) -> Result<Json<Device>> {
    Ok(Json(s.api.device(&format!("{room}/{name}"))?))
}

/// The state to switch a light to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SwitchRequest {
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
pub(super) async fn switch_light(
    State(s): State<AppState>,
    AppPath((room, name)): AppPath<(String, String)>,
    AppJson(req): AppJson<SwitchRequest>,
) -> Result<(StatusCode, Json<Command>)> {
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
pub(super) struct LogQuery {
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
pub(super) async fn light_commands(
    State(s): State<AppState>,
    AppPath((room, name)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<LogQuery>,
) -> Result<Json<Vec<Command>>> {
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
pub(super) async fn get_command(
    State(s): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Command>> {
    Ok(Json(s.api.command(id).await?))
}
