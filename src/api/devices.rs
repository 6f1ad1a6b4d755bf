//! Devices as the dashboard shows them: what the registry describes, with a light's state
//! and latest command from the tracker; switching lights and reading their log.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::{Api, ApiError, Event, MAX_LOG, ReadingEvent};
use crate::commands::{Command, LightStatus};
use crate::devices::{DeviceInfo, DeviceKind, Naming, Unit};
use crate::store::{NamingRow, StoreError};

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

/// A room and its devices, ordered by name. Devices with no room come last, under none.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub room: Option<String>,
    pub devices: Vec<Device>,
}

/// A change to a device's name or room. A field left out stays as it is; `name: null` goes
/// back to the device's own name, `room: null` to the room its topic or discovery suggests,
/// and `room: ""` says it is in no room.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamingChange {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub room: Option<Option<String>>,
}

/// A field that is present, even as `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// How the dashboard shows readings, for the whole household.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DisplaySettings {
    /// `°C` or `°F`.
    pub temperature_unit: String,
}

/// Device ids that went away (`device_removed`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RemovedDevice {
    pub id: String,
}

/// The household's favourites after a star or unstar (`favourites_changed`), so every open
/// dashboard, the phone's and the PC's, pins the same devices.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FavouritesChange {
    pub favourites: Vec<String>,
}

const TEMPERATURE_UNIT: &str = "temperature_unit";

/// One device's `device_updated` is sent at most this often (ms), unless a light's state
/// changed: a sensor reporting ten times a second costs its listeners one view a second.
const DEVICE_EVERY_MS: i64 = 1000;

/// Devices announced lately, and those whose change waits for the next tick.
#[derive(Default)]
pub(super) struct Throttle {
    last: HashMap<String, i64>,
    pending: HashSet<String>,
}

/// The most favourite devices a household keeps.
pub const MAX_FAVOURITES: usize = 500;

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

    /// Loads the household's names and rooms into the registry, at start.
    pub async fn load_namings(&self) -> Result<(), StoreError> {
        for row in self.parts().store.namings().await? {
            let naming = Naming {
                name: row.name,
                room: row.room_chosen.then_some(row.room),
            };
            // Rows were checked when saved; one that no longer passes is left out, not fatal.
            if let Err(e) = self.parts().registry.set_naming(&row.id, naming) {
                tracing::warn!("device {}: stored naming ignored: {e}", row.id);
            }
        }
        Ok(())
    }

    /// Renames a device or moves it to a room; stored, so it survives restarts.
    pub async fn change_naming(&self, id: &str, change: NamingChange) -> Result<Device, ApiError> {
        let p = self.parts();
        let current = p.registry.naming(id);
        let room_change = change.room.map(|r| match r {
            None => None,
            Some(r) if r.trim().is_empty() => Some(None),
            Some(r) => Some(Some(r.trim().to_string())),
        });
        let naming = Naming {
            name: match change.name {
                Some(n) => n.map(|n| n.trim().to_string()),
                None => current.name,
            },
            room: match room_change {
                Some(r) => r,
                None => current.room,
            },
        };
        naming.check()?;
        // Stored first: a hub that cannot store it must not show it as if it would last.
        p.store
            .save_naming(&NamingRow {
                id: id.to_string(),
                name: naming.name.clone(),
                room_chosen: naming.room.is_some(),
                room: naming.room.clone().flatten(),
            })
            .await?;
        p.registry.set_naming(id, naming)?;
        self.device(id)
    }

    /// Records the unit a series is in, without waiting: the reading path calls it.
    pub fn remember_unit(&self, topic: String, field: String, unit: Unit) {
        let store = self.parts().store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.save_unit(&topic, &field, unit.as_str()).await {
                tracing::warn!("unit of {topic} {field}: {e}");
            }
        });
    }

    /// Tells listeners a device went away (`device_removed`).
    fn announce_removed(&self, id: &str) {
        self.parts()
            .bus
            .send_with(|| Event::DeviceRemoved(RemovedDevice { id: id.to_string() }));
    }

    /// The household's display settings.
    pub async fn display_settings(&self) -> Result<DisplaySettings, ApiError> {
        let unit = self
            .parts()
            .store
            .settings()
            .await?
            .into_iter()
            .find(|(k, _)| k == TEMPERATURE_UNIT)
            .map(|(_, v)| v)
            .unwrap_or_else(|| Unit::Celsius.as_str().to_string());
        Ok(DisplaySettings {
            temperature_unit: unit,
        })
    }

    /// Changes the household's display settings.
    pub async fn set_display_settings(
        &self,
        s: DisplaySettings,
    ) -> Result<DisplaySettings, ApiError> {
        let unit = match Unit::parse(&s.temperature_unit) {
            Some(u @ (Unit::Celsius | Unit::Fahrenheit)) => u,
            _ => {
                return Err(ApiError::bad_request(
                    "bad_unit",
                    format!(
                        "temperatureUnit must be °C or °F, not '{}'",
                        s.temperature_unit
                    ),
                ));
            }
        };
        self.parts()
            .store
            .save_settings(&[(TEMPERATURE_UNIT, unit.as_str())])
            .await?;
        self.display_settings().await
    }

    /// The household's favourite devices (ids), in the order they were starred. A favourite
    /// that is not present now (a device not heard since the hub started) stays in the list.
    pub async fn favourites(&self) -> Result<Vec<String>, ApiError> {
        Ok(self.parts().store.favourites().await?)
    }

    /// Stars or unstars a device for the whole household; returns the favourites now. Only a
    /// device the hub knows can be starred; any id can be unstarred.
    pub async fn set_favourite(&self, id: &str, on: bool) -> Result<Vec<String>, ApiError> {
        if on {
            self.device(id)?;
        }
        let has = self
            .parts()
            .store
            .set_favourite(id, on, MAX_FAVOURITES)
            .await?;
        if on && !has {
            return Err(ApiError::bad_request(
                "too_many_favourites",
                format!("at most {MAX_FAVOURITES} devices can be favourites; unstar one first"),
            ));
        }
        let favourites = self.favourites().await?;
        let bus = &self.parts().bus;
        bus.send_with(|| {
            Event::FavouritesChanged(FavouritesChange {
                favourites: favourites.clone(),
            })
        });
        Ok(favourites)
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
    /// A device changed: `device_updated` (or `device_removed`) now, or, when it was sent
    /// less than a second ago and no light's state changed (`urgent`), at the next tick of
    /// [`Api::run_topic_changes`]. Nothing when nobody listens.
    pub fn device_changed(&self, id: &str, urgent: bool, now: i64) {
        if !self.has_listeners() {
            return;
        }
        {
            let mut t = self.inner.devices.lock().expect("device throttle lock");
            let recent = t.last.get(id).is_some_and(|&at| now - at < DEVICE_EVERY_MS);
            if recent && !urgent {
                t.pending.insert(id.to_string());
                return;
            }
            t.last.insert(id.to_string(), now);
            t.pending.remove(id);
        }
        self.announce_current(id, now);
    }

    /// Sends the device changes held back for a second.
    pub(super) fn flush_device_changes(&self, now: i64) {
        let due: Vec<String> = {
            let mut t = self.inner.devices.lock().expect("device throttle lock");
            let Throttle { last, pending } = &mut *t;
            let due: Vec<String> = pending
                .iter()
                .filter(|id| last.get(*id).is_none_or(|&at| now - at >= DEVICE_EVERY_MS))
                .cloned()
                .collect();
            for id in &due {
                pending.remove(id);
                last.insert(id.clone(), now);
            }
            last.retain(|id, at| now - *at < DEVICE_EVERY_MS || pending.contains(id));
            due
        };
        for id in due {
            self.announce_current(&id, now);
        }
    }

    fn announce_current(&self, id: &str, now: i64) {
        match self.parts().registry.device_at(id, now) {
            Some(info) => self.announce_device(info),
            None => self.announce_removed(id),
        }
    }

    fn announce_device(&self, info: DeviceInfo) {
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
    /// follows as `command_updated` events. A light whose availability says offline is not
    /// commanded.
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
        self.parts().registry.check_light(light)?;
        Ok(self.parts().tracker.log(light, limit, before).await?)
    }
}
