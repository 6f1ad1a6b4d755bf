//! Topics, history, the broker's state and the API's own description.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::error::{AppJson, AppQuery, Result};
use crate::api::{
    ApiError, BrokerStatus, HistoryBatch, PublishRequest, RetainedReport, SeriesHistory,
    TopicMessage, TopicNode,
};

/// Every topic seen, as a tree of levels with message counts and last payloads.
#[utoipa::path(get, path = "/api/topics", tag = "data",
    responses((status = 200, body = Vec<TopicNode>)))]
pub(super) async fn topics(State(s): State<AppState>) -> Json<Vec<TopicNode>> {
    Json(s.api.topic_tree())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct TopicQuery {
    /// The topic, e.g. `home/livingroom/light`.
    topic: String,
}

/// A topic's last messages (at most 20, fewer when many topics are busy), oldest first,
/// with their times, QoS and retain flags.
#[utoipa::path(get, path = "/api/topics/messages", tag = "data", params(TopicQuery),
    responses((status = 200, body = Vec<TopicMessage>),
              (status = 400, description = "No topic given", body = ApiError),
              (status = 404, description = "No such topic seen", body = ApiError)))]
pub(super) async fn topic_messages(
    State(s): State<AppState>,
    AppQuery(q): AppQuery<TopicQuery>,
) -> Result<Json<Vec<TopicMessage>>> {
    Ok(Json(s.api.topic_messages(&q.topic)?))
}

/// Publishes a message through the hub's own MQTT client. Answers once it is handed to the
/// client; the hub hears it like any other message (`topics_changed`).
#[utoipa::path(post, path = "/api/publish", tag = "data", request_body = PublishRequest,
    responses((status = 202, description = "Handed to the hub's client", body = PublishRequest),
              (status = 400, description = "A wildcard or empty topic, a topic over 65,535 bytes, a payload over 256 KiB, QoS not 0–2, malformed JSON", body = ApiError),
              (status = 409, description = "The hub's client is not connected", body = ApiError),
              (status = 413, description = "Body too large", body = ApiError),
              (status = 415, description = "Body not JSON", body = ApiError)))]
pub(super) async fn publish(
    State(s): State<AppState>,
    AppJson(req): AppJson<PublishRequest>,
) -> Result<(StatusCode, Json<PublishRequest>)> {
    s.api.publish(&req)?;
    Ok((StatusCode::ACCEPTED, Json(req)))
}

/// Every retained message the broker holds, with its age and size, the usual traps flagged
/// (a retained command, a discovery config of a device not seen for 30 days, a large payload).
#[utoipa::path(get, path = "/api/topics/retained", tag = "data",
    responses((status = 200, body = RetainedReport)))]
pub(super) async fn retained(State(s): State<AppState>) -> Json<RetainedReport> {
    Json(s.api.retained_report())
}

/// Clears a topic's retained message by publishing an empty retained message (QoS 1).
#[utoipa::path(delete, path = "/api/topics/retained", tag = "data", params(TopicQuery),
    responses((status = 202, description = "The empty retained message is on its way"),
              (status = 400, description = "No topic, or not a topic name", body = ApiError),
              (status = 409, description = "The hub's client is not connected", body = ApiError)))]
pub(super) async fn clear_retained(
    State(s): State<AppState>,
    AppQuery(q): AppQuery<TopicQuery>,
) -> Result<StatusCode> {
    s.api.clear_retained(&q.topic)?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct HistoryQuery {
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
pub(super) async fn history(
    State(s): State<AppState>,
    AppQuery(q): AppQuery<HistoryQuery>,
) -> Result<Json<SeriesHistory>> {
    let to = q.to.unwrap_or_else(|| crate::now_ms() / 1000 + 1);
    let from = q.from.unwrap_or(to.saturating_sub(86_400));
    let field = q.field.unwrap_or_default();
    let points = q.points.unwrap_or(500);
    Ok(Json(
        s.api.history(&q.topic, &field, from, to, points).await?,
    ))
}

/// Many series' histories in one request, in the order asked (`null` for a series never
/// recorded): at most 500 series and 1000 buckets each. The Devices page draws every
/// sparkline from one of these.
#[utoipa::path(post, path = "/api/history/batch", tag = "data",
    request_body = HistoryBatch,
    responses((status = 200, body = Vec<Option<SeriesHistory>>),
              (status = 400, description = "No series or more than 500, bad range or points, or malformed JSON", body = ApiError),
              (status = 413, description = "Body over 256 KiB", body = ApiError),
              (status = 415, description = "Body not JSON", body = ApiError)))]
pub(super) async fn history_batch(
    State(s): State<AppState>,
    AppJson(b): AppJson<HistoryBatch>,
) -> Result<Json<Vec<Option<SeriesHistory>>>> {
    Ok(Json(s.api.history_batch(b).await?))
}

/// The broker: clients, message rates, listeners.
#[utoipa::path(get, path = "/api/broker", tag = "broker",
    responses((status = 200, body = BrokerStatus)))]
pub(super) async fn broker(State(s): State<AppState>) -> Json<BrokerStatus> {
    Json(s.api.broker_status())
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "data",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")))]
pub(super) async fn openapi(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.doc.as_str().to_owned(),
    )
        .into_response()
}
