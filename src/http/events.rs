//! The live events over a WebSocket: each text message is one event as JSON, in the order the
//! hub produced them. A client that falls behind or stops reading is closed and dropped; a
//! phone's stream ends when the phone is revoked.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{broadcast, watch};
use utoipa::IntoParams;

use super::AppState;
use super::error::{AppQuery, HttpError, Result};
use super::guard::{Caller, check_origin};
use crate::api::{Api, ApiError, Event};

/// A WebSocket client that cannot take one message within this long is cut off.
const WS_SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a cut-off client has to drain what is already on its way and read the close
/// frame; after that it is dropped without one.
const WS_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct EventsQuery {
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
pub(super) async fn events(
    State(s): State<AppState>,
    headers: HeaderMap,
    AppQuery(q): AppQuery<EventsQuery>,
    req: axum::extract::Request,
) -> Result<Response> {
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

fn parse_types(t: &str) -> Result<HashSet<&'static str>> {
    let mut set = HashSet::new();
    for name in t.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match Event::TYPES.iter().find(|k| **k == name) {
            Some(k) => {
                set.insert(*k);
            }
            None => {
                return Err(HttpError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_query",
                    format!(
                        "unknown event type '{name}'; known: {}",
                        Event::TYPES.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(set)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_filter() {
        assert_eq!(parse_types("reading, light_state").unwrap().len(), 2);
        assert!(parse_types("reading,bogus").is_err());
    }
}
