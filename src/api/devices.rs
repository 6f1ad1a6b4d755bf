//! Devices as the dashboard shows them: what the registry describes, with a light's state
//! and latest command from the tracker; switching lights and reading their log.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Api, ApiError, Event, MAX_LOG, ReadingEvent};
use crate::commands::{Command, LightStatus};
use crate::devices::{DeviceInfo, DeviceKind};

/// A device.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    #[serde(flatten)]
    pub info: DeviceInfo,
    /// For a light, its state as last reported.
    pub light: Option<LightStatus>,
    /// For a light, the latest command and its fate.
    pub last_command: Option<Command>,
}

/// A room and its devices, ordered by name.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub room: String,
    pub devices: Vec<Device>,
}

impl Api {
    /// What the tracker adds to a light.
    fn view(&self, info: DeviceInfo) -> Device {
        let (light, last_command) = if info.kind == DeviceKind::Light {
            let t = &self.parts().tracker;
            (t.light(&info.id), t.last_command(&info.id))
        } else {
            (None, None)
        };
        Device {
            info,
            light,
            last_command,
        }
    }

    /// Devices grouped by room, rooms and devices sorted by name.
    pub fn devices(&self) -> Vec<Room> {
        let mut rooms: Vec<Room> = Vec::new();
        for info in self.parts().registry.devices() {
            let d = self.view(info);
            match rooms.last_mut() {
                Some(r) if r.room == d.info.room => r.devices.push(d),
                _ => rooms.push(Room {
                    room: d.info.room.clone(),
                    devices: vec![d],
                }),
            }
        }
        rooms
    }

    /// One device by id (`<room>/<thing>`).
    pub fn device(&self, id: &str) -> Result<Device, ApiError> {
        let info = self
            .parts()
            .registry
            .device(id)
            .ok_or_else(|| ApiError::not_found(format!("no device '{id}'")))?;
        Ok(self.view(info))
    }

    /// Tells listeners how a device stands now (`device_updated`).
    pub fn announce_device(&self, info: DeviceInfo) {
        let bus = &self.parts().bus;
        if bus.has_listeners() {
            let d = self.view(info);
            bus.send_with(|| Event::DeviceUpdated(Box::new(d)));
        }
    }

    /// Tells listeners of a message's numeric values (`reading`).
    pub fn announce_readings(&self, topic: &str, ts_ms: i64, fields: &[(String, f64)]) {
        let bus = &self.parts().bus;
        for (field, value) in fields {
            bus.send_with(|| {
                Event::Reading(ReadingEvent {
                    topic: topic.to_string(),
                    field: field.clone(),
                    ts_ms,
                    value: *value,
                })
            });
        }
    }

    /// Switches a light; the returned command is pending (or already failed). Its fate
    /// follows as `command_updated` events.
    pub fn switch_light(&self, id: &str, on: bool) -> Result<Command, ApiError> {
        let route = self.parts().registry.light_route(id)?;
        Ok(self.parts().tracker.switch(id, &route, on))
    }

    /// One command log entry.
    pub async fn command(&self, id: i64) -> Result<Command, ApiError> {
        Ok(self.parts().tracker.command(id).await?)
    }

    /// A light's log, newest first.
    pub async fn commands(
        &self,
        light: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<Command>, ApiError> {
        if limit == 0 || limit > MAX_LOG {
            return Err(ApiError::bad_request(
                "bad_limit",
                format!("limit must be between 1 and {MAX_LOG}"),
            ));
        }
        self.parts().registry.light_route(light)?;
        Ok(self.parts().tracker.log(light, limit, before).await?)
    }
}
