//! Devices, light switching and the command log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{AppJson, AppPath, AppQuery, HttpError, Result};
use crate::api::{ApiError, Device, DisplaySettings, NamingChange, Room};
use crate::commands::Command;

/// Every device, grouped by room.
#[utoipa::path(get, path = "/api/devices", tag = "devices",
    responses((status = 200, description = "Rooms and their devices, sorted by name", body = Vec<Room>)))]
pub(super) async fn list_devices(State(s): State<AppState>) -> Json<Vec<Room>> {
    Json(s.api.devices())
}

/// One device. A device id is `<group>/<rest>` (`kitchen/lamp`, `tasmota/plug_1`,
/// `z2m/hall/lamp`); in the path, `<rest>` is percent-encoded, `/` as `%2F`.
#[utoipa::path(get, path = "/api/devices/{group}/{rest}", tag = "devices",
    params(("group" = String, Path, description = "The id's first level: the room in home/<room>/<name>, else the convention"),
           ("rest" = String, Path, description = "The rest of the id, percent-encoded")),
    responses((status = 200, body = Device),
              (status = 404, description = "No such device", body = ApiError)))]
pub(super) async fn get_device(
    State(s): State<AppState>,
    AppPath((group, rest)): AppPath<(String, String)>,
) -> Result<Json<Device>> {
    Ok(Json(s.api.device(&format!("{group}/{rest}"))?))
}

/// Renames a device or moves it to a room. A field left out stays; `name: null` restores the
/// device's own name, `room: null` the room it suggests, `room: ""` means no room. The
/// choice is stored and outlives restarts and the device's own messages.
#[utoipa::path(patch, path = "/api/devices/{group}/{rest}", tag = "devices",
    params(("group" = String, Path), ("rest" = String, Path)),
    request_body = NamingChange,
    responses((status = 200, description = "The device as it is now", body = Device),
              (status = 400, description = "Malformed JSON, or a name or room that is empty, longer than 100 characters or has control characters", body = ApiError),
              (status = 404, description = "No such device", body = ApiError)))]
pub(super) async fn patch_device(
    State(s): State<AppState>,
    AppPath((group, rest)): AppPath<(String, String)>,
    AppJson(change): AppJson<NamingChange>,
) -> Result<Json<Device>> {
    let id = format!("{group}/{rest}");
    s.api.device(&id)?;
    Ok(Json(s.api.change_naming(&id, change).await?))
}

/// How the dashboard shows readings, for the whole household.
#[utoipa::path(get, path = "/api/preferences", tag = "devices",
    responses((status = 200, body = DisplaySettings)))]
pub(super) async fn get_preferences(State(s): State<AppState>) -> Result<Json<DisplaySettings>> {
    Ok(Json(s.api.display_settings().await?))
}

/// Changes how the dashboard shows readings: `temperatureUnit` `°C` or `°F`.
#[utoipa::path(put, path = "/api/preferences", tag = "devices",
    request_body = DisplaySettings,
    responses((status = 200, body = DisplaySettings),
              (status = 400, description = "Malformed JSON or a unit other than °C/°F", body = ApiError)))]
pub(super) async fn put_preferences(
    State(s): State<AppState>,
    AppJson(p): AppJson<DisplaySettings>,
) -> Result<Json<DisplaySettings>> {
    Ok(Json(s.api.set_display_settings(p).await?))
}

/// The household's favourite devices (ids), in the order they were starred.
#[utoipa::path(get, path = "/api/favourites", tag = "devices",
    responses((status = 200, body = Vec<String>)))]
pub(super) async fn list_favourites(State(s): State<AppState>) -> Result<Json<Vec<String>>> {
    Ok(Json(s.api.favourites().await?))
}

/// Stars a device for the whole household (every phone and this PC see it); stored.
#[utoipa::path(put, path = "/api/favourites/{group}/{rest}", tag = "devices",
    params(("group" = String, Path), ("rest" = String, Path)),
    responses((status = 200, description = "The favourites now", body = Vec<String>),
              (status = 400, description = "Already 500 favourites", body = ApiError),
              (status = 404, description = "No such device", body = ApiError)))]
pub(super) async fn star_device(
    State(s): State<AppState>,
    AppPath((group, rest)): AppPath<(String, String)>,
) -> Result<Json<Vec<String>>> {
    Ok(Json(
        s.api
            .set_favourite(&format!("{group}/{rest}"), true)
            .await?,
    ))
}

/// Unstars a device (any id, also one no longer present).
#[utoipa::path(delete, path = "/api/favourites/{group}/{rest}", tag = "devices",
    params(("group" = String, Path), ("rest" = String, Path)),
    responses((status = 200, description = "The favourites now", body = Vec<String>)))]
pub(super) async fn unstar_device(
    State(s): State<AppState>,
    AppPath((group, rest)): AppPath<(String, String)>,
) -> Result<Json<Vec<String>>> {
    Ok(Json(
        s.api
            .set_favourite(&format!("{group}/{rest}"), false)
            .await?,
    ))
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
#[utoipa::path(post, path = "/api/devices/{group}/{rest}/switch", tag = "devices",
    params(("group" = String, Path), ("rest" = String, Path)),
    request_body = SwitchRequest,
    responses((status = 202, description = "The command, pending or already failed", body = Command),
              (status = 400, description = "Malformed JSON, a state other than ON/OFF, or not a light", body = ApiError),
              (status = 404, description = "No such device", body = ApiError),
              (status = 409, description = "The light's availability says offline", body = ApiError),
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
#[utoipa::path(get, path = "/api/devices/{group}/{rest}/commands", tag = "devices",
    params(("group" = String, Path), ("rest" = String, Path), LogQuery),
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
