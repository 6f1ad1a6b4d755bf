//! Access (credentials, rules, settings) and phones (pairing, revoking, MQTT app settings).
//! The guard lets only this PC manage them; `/api/pair` is how a phone signs in.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::{AppJson, AppPath, HttpError, Result};
use super::guard::{Peer, TOKEN_COOKIE, TOKEN_MAX_AGE};
use crate::access::{AclTest, CreatedCredential, Credential, NewCredential, Phone, Settings};
use crate::acl::Rule;
use crate::api::{AccessInfo, AclQuestion, ApiError, MqttSetup, Pairing};

/// The access overview: settings, CA fingerprint, endpoints, anonymous rules.
#[utoipa::path(get, path = "/api/access", tag = "access",
    responses((status = 200, body = AccessInfo),
              (status = 403, description = "Not from this PC", body = ApiError),
              (status = 409, description = "The hub uses an external broker", body = ApiError)))]
pub(super) async fn access_info(State(s): State<AppState>) -> Result<Json<AccessInfo>> {
    Ok(Json(s.api.access_info()?))
}

/// The access settings.
#[utoipa::path(get, path = "/api/access/settings", tag = "access",
    responses((status = 200, body = Settings), (status = 403, body = ApiError)))]
pub(super) async fn get_settings(State(s): State<AppState>) -> Result<Json<Settings>> {
    Ok(Json(s.api.access_info()?.settings))
}

/// Changes the access settings. Turning anonymous access down disconnects the anonymous
/// clients it no longer allows.
#[utoipa::path(put, path = "/api/access/settings", tag = "access", request_body = Settings,
    responses((status = 200, body = Settings), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn put_settings(
    State(s): State<AppState>,
    AppJson(settings): AppJson<Settings>,
) -> Result<Json<Settings>> {
    Ok(Json(s.api.set_access_settings(settings).await?))
}

/// Every MQTT credential with its rules and live sessions.
#[utoipa::path(get, path = "/api/access/credentials", tag = "access",
    responses((status = 200, body = Vec<Credential>), (status = 403, body = ApiError)))]
pub(super) async fn list_credentials(State(s): State<AppState>) -> Result<Json<Vec<Credential>>> {
    Ok(Json(s.api.credentials().await?))
}

/// Makes a credential with its role's default rules. The password is in this answer only.
#[utoipa::path(post, path = "/api/access/credentials", tag = "access", request_body = NewCredential,
    responses((status = 201, body = CreatedCredential),
              (status = 400, description = "Bad username, password or topic", body = ApiError),
              (status = 403, body = ApiError),
              (status = 409, description = "The username is taken", body = ApiError)))]
pub(super) async fn create_credential(
    State(s): State<AppState>,
    AppJson(n): AppJson<NewCredential>,
) -> Result<(StatusCode, Json<CreatedCredential>)> {
    Ok((StatusCode::CREATED, Json(s.api.create_credential(n).await?)))
}

/// Deletes a credential and its rules, and disconnects its sessions.
#[utoipa::path(delete, path = "/api/access/credentials/{id}", tag = "access",
    params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub(super) async fn delete_credential(
    State(s): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<StatusCode> {
    s.api.delete_credential(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a credential: its sessions are disconnected before this answers, and it can no
/// longer connect.
#[utoipa::path(post, path = "/api/access/credentials/{id}/revoke", tag = "access",
    params(("id" = i64, Path)),
    responses((status = 200, body = Credential), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub(super) async fn revoke_credential(
    State(s): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Credential>> {
    Ok(Json(s.api.revoke_credential(id).await?))
}

/// Replaces a credential's rules (the first that applies decides; what none allows is
/// denied). If they changed, the credential's live sessions are disconnected before the
/// answer, so that they reconnect and subscribe under the new rules.
#[utoipa::path(put, path = "/api/access/credentials/{id}/rules", tag = "access",
    params(("id" = i64, Path)), request_body = Vec<Rule>,
    responses((status = 200, body = Vec<Rule>), (status = 400, description = "A bad filter", body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub(super) async fn put_rules(
    State(s): State<AppState>,
    AppPath(id): AppPath<i64>,
    AppJson(rules): AppJson<Vec<Rule>>,
) -> Result<Json<Vec<Rule>>> {
    Ok(Json(s.api.set_rules(Some(id), rules).await?))
}

/// Replaces the rules of anonymous LAN clients; if they changed, those connected are
/// disconnected before the answer, to reconnect under the new rules.
#[utoipa::path(put, path = "/api/access/anonymous-rules", tag = "access", request_body = Vec<Rule>,
    responses((status = 200, body = Vec<Rule>), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn put_anonymous_rules(
    State(s): State<AppState>,
    AppJson(rules): AppJson<Vec<Rule>>,
) -> Result<Json<Vec<Rule>>> {
    Ok(Json(s.api.set_rules(None, rules).await?))
}

/// "Test a topic": what the rules decide for a publish or subscribe, and which rule decides.
#[utoipa::path(post, path = "/api/access/test", tag = "access", request_body = AclQuestion,
    responses((status = 200, body = AclTest), (status = 400, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub(super) async fn test_acl(
    State(s): State<AppState>,
    AppJson(q): AppJson<AclQuestion>,
) -> Result<Json<AclTest>> {
    Ok(Json(s.api.test_acl(&q)?))
}

/// Paired phones, with when each was last seen.
#[utoipa::path(get, path = "/api/phones", tag = "phones",
    responses((status = 200, body = Vec<Phone>), (status = 403, body = ApiError)))]
pub(super) async fn list_phones(State(s): State<AppState>) -> Result<Json<Vec<Phone>>> {
    Ok(Json(s.api.phones().await?))
}

/// A fresh single-use pairing code, its URL and QR code.
#[utoipa::path(post, path = "/api/phones/pairing", tag = "phones",
    responses((status = 200, body = Pairing), (status = 403, body = ApiError),
              (status = 409, description = "The HTTP listener is off", body = ApiError)))]
pub(super) async fn start_pairing(State(s): State<AppState>) -> Result<Json<Pairing>> {
    Ok(Json(s.api.start_pairing()?))
}

/// Revokes a paired phone: its token stops working at once.
#[utoipa::path(post, path = "/api/phones/{id}/revoke", tag = "phones",
    params(("id" = i64, Path)),
    responses((status = 204, description = "Revoked"), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub(super) async fn revoke_phone(
    State(s): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<StatusCode> {
    s.api.revoke_phone(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whose MQTT app the settings are for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MqttSetupRequest {
    /// The phone's or person's name, e.g. "Ann's phone".
    name: String,
}

/// A fresh phone credential and an MQTT app's settings as a QR code.
#[utoipa::path(post, path = "/api/phones/mqtt", tag = "phones", request_body = MqttSetupRequest,
    responses((status = 200, body = MqttSetup), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn phone_mqtt(
    State(s): State<AppState>,
    AppJson(r): AppJson<MqttSetupRequest>,
) -> Result<Json<MqttSetup>> {
    Ok(Json(s.api.phone_mqtt_setup(&r.name).await?))
}

/// A phone's pairing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PairRequest {
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
pub(super) async fn pair(
    State(s): State<AppState>,
    axum::Extension(Peer(peer)): axum::Extension<Peer>,
    AppJson(r): AppJson<PairRequest>,
) -> Result<Response> {
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
